"""The negotiator's configuration, with HTCondor's defaults (24.0 LTS), built from ``param`` values."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from condorfed.core.fairshare.groups import GroupSpec
from condorfed.errors import ConfigError

DEFAULT_PRE_JOB_RANK = (
    "(10000000 * My.Rank) + (1000000 * (RemoteOwner =?= UNDEFINED)) - (100000 * Cpus) - Memory"
)
DEFAULT_POST_JOB_RANK = "(RemoteOwner =?= UNDEFINED) * (ifthenElse(isUndefined(KFlops), 1000, Kflops) - SlotID - 1.0e10*(Offline=?=True))"  # noqa: E501
DEFAULT_PREEMPTION_RANK = (
    "(RemoteUserPrio * 1000000) - ifThenElse(isUndefined(TotalJobRuntime), 0, TotalJobRuntime)"
)
DEFAULT_GROUP_SORT_EXPR = 'ifThenElse(AccountingGroup=?="<none>",3.4e+38,ifThenElse(GroupQuota>0,GroupResourcesInUse/GroupQuota,3.3e+38))'  # noqa: E501


def _is_true(text: str) -> bool:
    return text.strip().lower() in ("true", "1", "yes", "t", "y", "on")


def _is_bool(text: str) -> bool:
    return text.strip().lower() in ("true", "false", "1", "0", "yes", "no", "t", "f", "y", "n", "on", "off")


@dataclass(frozen=True)
class NegotiatorConfig:
    """What the engine reads from the HTCondor configuration. Expressions are kept as ClassAd text;
    ``None`` means "not set" (an unset POST_JOB_RANK is simply not evaluated)."""

    pre_job_rank: str | None = DEFAULT_PRE_JOB_RANK
    post_job_rank: str | None = DEFAULT_POST_JOB_RANK
    preemption_requirements: str | None = "False"
    preemption_rank: str | None = DEFAULT_PREEMPTION_RANK
    consider_preemption: bool = True
    priority_halflife: float = 86400.0
    default_prio_factor: float = 1000.0
    groups: tuple[GroupSpec, ...] = ()
    group_sort_expr: str = DEFAULT_GROUP_SORT_EXPR
    accept_surplus: bool = False
    autoregroup: bool = False
    allow_quota_oversubscription: bool = True
    strict_enforce_quota: bool = True
    max_allocation_rounds: int = 3
    uid_domain: str | None = None
    strict_classad_evaluation: bool = False
    quantize_memory: int = 128
    quantize_disk: int = 1024
    quantize_cpus: int = 1
    significant_attributes: tuple[str, ...] = ()
    # Priority factors set in the configuration (GROUP_PRIO_FACTOR_<group>), by lower-case name.
    group_prio_factors: Mapping[str, float] = field(default_factory=dict)

    @classmethod
    def from_params(cls, params: Mapping[str, str], source: str = "condor config") -> NegotiatorConfig:
        """Build from ``param`` name -> value text (case-insensitive names); missing names keep defaults."""
        p = {k.upper(): str(v) for k, v in params.items() if v is not None}

        def expr(name: str, default: str | None) -> str | None:
            if name not in p:
                return default
            text = p[name].strip()
            return text or None

        def boolean(name: str, default: bool) -> bool:
            if name not in p or not p[name].strip():
                return default
            if not _is_bool(p[name]):
                raise ConfigError(f"{source}: {name} = {p[name]!r}: expected True or False")
            return _is_true(p[name])

        def number(name: str, default: float) -> float:
            if name not in p or not p[name].strip():
                return default
            try:
                return float(p[name])
            except ValueError:
                raise ConfigError(f"{source}: {name} = {p[name]!r}: expected a number") from None

        def quantum(name: str, default: int) -> int:
            text = p.get(name)
            if not text:
                return default
            m = re.search(r"quantize\s*\(\s*\w+\s*,\s*\{?\s*(\d+)", text, re.IGNORECASE)
            return int(m.group(1)) if m else default

        accept_surplus = boolean("GROUP_ACCEPT_SURPLUS", False)
        autoregroup = boolean("GROUP_AUTOREGROUP", False)
        names = [n.strip() for n in re.split(r"[,\s]+", p.get("GROUP_NAMES", "")) if n.strip()]
        specs = []
        prio_factors: dict[str, float] = {}
        for name in names:
            up = name.upper()
            static = number(f"GROUP_QUOTA_{up}", -1.0) if f"GROUP_QUOTA_{up}" in p else None
            dynamic = number(f"GROUP_QUOTA_DYNAMIC_{up}", -1.0) if f"GROUP_QUOTA_DYNAMIC_{up}" in p else None
            for label, val in ((f"GROUP_QUOTA_{name}", static), (f"GROUP_QUOTA_DYNAMIC_{name}", dynamic)):
                if val is not None and val < 0:
                    raise ConfigError(f"{source}: {label}: quota must not be negative")
            specs.append(
                GroupSpec(
                    name=name,
                    static_quota=static,
                    dynamic_quota=None if static is not None else dynamic,
                    accept_surplus=boolean(f"GROUP_ACCEPT_SURPLUS_{up}", accept_surplus),
                    autoregroup=boolean(f"GROUP_AUTOREGROUP_{up}", autoregroup),
                )
            )
            if f"GROUP_PRIO_FACTOR_{up}" in p:
                prio_factors[name.lower()] = number(f"GROUP_PRIO_FACTOR_{up}", 0.0)
        sig = tuple(a for a in re.split(r"[,\s]+", p.get("SIGNIFICANT_ATTRIBUTES", "")) if a)
        halflife = number("PRIORITY_HALFLIFE", 86400.0)
        if halflife <= 0:
            raise ConfigError(f"{source}: PRIORITY_HALFLIFE must be positive")
        return cls(
            pre_job_rank=expr("NEGOTIATOR_PRE_JOB_RANK", DEFAULT_PRE_JOB_RANK),
            post_job_rank=expr("NEGOTIATOR_POST_JOB_RANK", DEFAULT_POST_JOB_RANK),
            preemption_requirements=expr("PREEMPTION_REQUIREMENTS", "False"),
            preemption_rank=expr("PREEMPTION_RANK", DEFAULT_PREEMPTION_RANK),
            consider_preemption=boolean("NEGOTIATOR_CONSIDER_PREEMPTION", True),
            priority_halflife=halflife,
            default_prio_factor=number("DEFAULT_PRIO_FACTOR", 1000.0),
            groups=tuple(specs),
            group_sort_expr=expr("GROUP_SORT_EXPR", DEFAULT_GROUP_SORT_EXPR) or DEFAULT_GROUP_SORT_EXPR,
            accept_surplus=accept_surplus,
            autoregroup=autoregroup,
            allow_quota_oversubscription=boolean("NEGOTIATOR_ALLOW_QUOTA_OVERSUBSCRIPTION", True),
            strict_enforce_quota=boolean("NEGOTIATOR_STRICT_ENFORCE_QUOTA", True),
            max_allocation_rounds=max(1, int(number("GROUP_QUOTA_MAX_ALLOCATION_ROUNDS", 3))),
            uid_domain=(p.get("UID_DOMAIN") or None),
            strict_classad_evaluation=boolean("STRICT_CLASSAD_EVALUATION", False),
            quantize_memory=quantum("MODIFY_REQUEST_EXPR_REQUESTMEMORY", 128),
            quantize_disk=quantum("MODIFY_REQUEST_EXPR_REQUESTDISK", 1024),
            quantize_cpus=quantum("MODIFY_REQUEST_EXPR_REQUESTCPUS", 1),
            significant_attributes=sig,
            group_prio_factors=prio_factors,
        )
