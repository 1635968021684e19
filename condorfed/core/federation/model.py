"""The federation model: one typed, validated view of ``federation.yaml``.

``parse_federation(data, source)`` turns the YAML mapping into frozen dataclasses, or raises a
:class:`ConfigError` whose single line names the file and the field path, e.g.
``federation.yaml: clusters[1].node.cpus: must be > 0``. The schema is documented in
``docs/federation-yaml.md``; YAML keys are camelCase, Python attributes snake_case.

Structure is checked with pydantic; meaning (unknown clusters, rule conflicts, request shapes a
``require`` can never fit, quota sums) by :mod:`condorfed.core.federation.checks`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from string import Formatter
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictInt, ValidationError
from pydantic.alias_generators import to_camel

from condorfed.core.federation.checks import check_federation
from condorfed.core.federation.expressions import check_syntax, job_references_scope
from condorfed.errors import ConfigError

ClusterType = Literal["onprem", "cloud"]
ActuatorKind = Literal["labels", "nodepool", "deployment"]
RuleKind = Literal["fill", "prefer", "require"]

#: Slot attributes that the federation itself sets on every startd (see the federation issue).
SLOT_ATTRS = ("FedCluster", "IsCloud")
#: Placeholders a node-pool command template may use.
COMMAND_PLACEHOLDERS = frozenset({"cluster", "nodegroup", "nodes", "context", "name"})
DEFAULT_NODE_LABEL = {"condorfed.io/startd": "true"}
DEFAULT_PROVISIONING_SECONDS = {"onprem": 0.0, "cloud": 240.0}

_DNS1123_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
_CLASSAD_ATTR = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_GROUP_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*$")


# --------------------------------------------------------------------------- the model


@dataclass(frozen=True)
class NodeShape:
    """One worker node. memory in MB (HTCondor's ``Memory`` unit), disk in MB, gpus a count."""

    cpus: int
    memory: int
    disk: int = 0
    gpus: int = 0


@dataclass(frozen=True)
class ActuatorSpec:
    """How the burst controller changes a cluster's capacity.

    - ``labels``: label/unlabel existing nodes with ``node_selector`` (the startd DaemonSet's
      nodeSelector). Default for on-prem clusters.
    - ``nodepool``: run ``command`` (an argv template; placeholders ``{cluster}``,
      ``{nodegroup}``, ``{nodes}``, ``{context}``, ``{name}``) without a shell.
    - ``deployment``: set the replica count of the startd Deployment ``deployment`` in
      ``namespace`` (relies on the cloud's cluster autoscaler for nodes). Default for clouds.
    """

    kind: ActuatorKind
    command: tuple[str, ...] = ()
    nodegroup: str | None = None
    cluster_name: str | None = None  # provider-side cluster name for {cluster}; default: ours
    deployment: str = "condor-startd"
    namespace: str = "condor"
    node_selector: Mapping[str, str] = field(default_factory=lambda: dict(DEFAULT_NODE_LABEL))

    def argv(self, cluster: Cluster, nodes: int) -> list[str]:
        """The node-pool command for ``nodes`` nodes, one argument per list item."""
        values = {
            "cluster": self.cluster_name or cluster.name,
            "nodegroup": self.nodegroup or "",
            "nodes": str(nodes),
            "context": cluster.context or "",
            "name": cluster.name,
        }
        return [arg.format(**values) for arg in self.command]


@dataclass(frozen=True)
class Cluster:
    """A member cluster: where startds run and what a worker node looks like."""

    name: str
    type: ClusterType
    node: NodeShape
    provider: str = ""
    context: str | None = None
    nodes: int = 0
    weight: int = 1
    min_cores: int = 0
    max_cores: int | None = None  # None: no cap
    cost_per_core_hour: float = 0.0
    provisioning_seconds: float = 0.0
    labels: Mapping[str, str | int | float | bool] = field(default_factory=dict)
    preemption_rate: float = 0.0  # spot: node losses per node-hour (the simulator uses it)
    actuator: ActuatorSpec = field(default_factory=lambda: ActuatorSpec(kind="labels"))

    @property
    def is_cloud(self) -> bool:
        return self.type == "cloud"

    @property
    def cores(self) -> int:
        """Cores provisioned now (``nodes`` × ``node.cpus``)."""
        return self.nodes * self.node.cpus

    @property
    def max_nodes(self) -> int | None:
        """The largest node count within ``max_cores`` (None: unbounded)."""
        return None if self.max_cores is None else self.max_cores // self.node.cpus

    def slot_attrs(self) -> dict[str, str | int | float | bool]:
        """Attributes every startd of this cluster advertises (labels plus FedCluster/IsCloud)."""
        return {**self.labels, "FedCluster": self.name, "IsCloud": self.is_cloud}


@dataclass(frozen=True)
class Rule:
    """One placement rule. ``when`` is a ClassAd expression over the job ad (None: always).

    ``fill``: the default cluster order (``"*"`` = every cluster not named, tied).
    ``prefer``: these clusters first for matching jobs; others stay allowed.
    ``require``: matching jobs may run only in these clusters.
    """

    kind: RuleKind
    clusters: tuple[str, ...]
    when: str | None = None

    def describe(self) -> str:
        names = ", ".join(self.clusters)
        text = f"{self.kind} [{names}]"
        return text if self.when is None else f"{text} when {self.when}"


@dataclass(frozen=True)
class GroupQuota:
    """An HTCondor accounting group. ``name`` is the full dotted name (``atlas.higgs``).

    ``quota`` is a fraction of the parent (float: ``GROUP_QUOTA_DYNAMIC_<name>``) or a number
    of cores (int: ``GROUP_QUOTA_<name>``).
    """

    name: str
    quota: float | int
    accept_surplus: bool = False
    children: tuple[GroupQuota, ...] = ()

    @property
    def is_dynamic(self) -> bool:
        return isinstance(self.quota, float)

    def walk(self) -> tuple[GroupQuota, ...]:
        """This group and its descendants, depth first, in file order."""
        out: list[GroupQuota] = [self]
        for child in self.children:
            out.extend(child.walk())
        return tuple(out)


@dataclass(frozen=True)
class FairShare:
    half_life: float = 86400.0  # PRIORITY_HALFLIFE, seconds (HTCondor's default)
    groups: tuple[GroupQuota, ...] = ()

    def all_groups(self) -> tuple[GroupQuota, ...]:
        """Every group, depth first, in file order (parents before children)."""
        return tuple(g for top in self.groups for g in top.walk())


@dataclass(frozen=True)
class Federation:
    name: str
    trust_domain: str
    clusters: tuple[Cluster, ...]
    rules: tuple[Rule, ...] = ()
    fairshare: FairShare = field(default_factory=FairShare)
    negotiator_interval: float = 60.0
    controller_interval: float = 60.0

    def cluster(self, name: str) -> Cluster:
        for c in self.clusters:
            if c.name == name:
                return c
        raise KeyError(name)

    @property
    def cluster_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.clusters)


# --------------------------------------------------------------------------- the schema


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", alias_generator=to_camel, populate_by_name=False)


class _Header(_Model):
    # Both end up in HTCondor config text (a transform sets FedPolicy = "<name>"): no quotes,
    # spaces or newlines.
    name: str = Field(min_length=1, max_length=63, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
    trust_domain: str = Field(min_length=1, max_length=253, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
    negotiator_interval: float = Field(60.0, gt=0)
    controller_interval: float = Field(60.0, gt=0)


class _NodeShape(_Model):
    cpus: StrictInt = Field(gt=0)
    memory: StrictInt = Field(gt=0)
    disk: StrictInt = Field(0, ge=0)
    gpus: StrictInt = Field(0, ge=0)


class _Actuator(_Model):
    kind: ActuatorKind | None = None
    command: list[str] | None = None
    nodegroup: str | None = None
    cluster_name: str | None = None
    deployment: str | None = None
    namespace: str | None = None
    node_selector: dict[str, str] | None = None


class _Cluster(_Model):
    name: str
    type: ClusterType
    provider: str = ""
    context: str | None = None
    nodes: StrictInt = Field(0, ge=0)
    node: _NodeShape
    weight: StrictInt = Field(1, ge=0)
    min_cores: StrictInt = Field(0, ge=0)
    max_cores: StrictInt | None = Field(None, ge=0)
    cost_per_core_hour: float = Field(0.0, ge=0)
    provisioning_seconds: float | None = Field(None, ge=0)
    labels: dict[str, Any] = Field(default_factory=dict)
    preemption_rate: float = Field(0.0, ge=0)
    actuator: _Actuator | None = None


class _FairShare(_Model):
    half_life: float = Field(86400.0, gt=0)
    groups: dict[str, Any] = Field(default_factory=dict)


class _Document(_Model):
    federation: _Header
    clusters: list[_Cluster] = Field(min_length=1)
    rules: list[dict[str, Any]] = Field(default_factory=list)
    fairshare: _FairShare = Field(default_factory=_FairShare)


_MESSAGES = {
    "greater_than": "must be > {gt}",
    "greater_than_equal": "must be >= {ge}",
    "less_than": "must be < {lt}",
    "less_than_equal": "must be <= {le}",
    "missing": "is required",
    "extra_forbidden": "unknown field",
    "int_type": "must be an integer",
    "float_type": "must be a number",
    "float_parsing": "must be a number",
    "string_type": "must be a string",
    "bool_type": "must be true or false",
    "list_type": "must be a list",
    "dict_type": "must be a mapping",
    "model_type": "must be a mapping",
    "too_short": "must not be empty",
    "string_too_short": "must not be empty",
    "literal_error": "must be one of {expected}",
    "string_pattern_mismatch": "must be letters, digits, '.', '_' and '-' (starting alphanumeric)",
    "string_too_long": "must be at most {max_length} characters",
}


def _path(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out or "(top level)"


def _first_error(exc: ValidationError, source: str) -> ConfigError:
    err = exc.errors(include_url=False)[0]
    template = _MESSAGES.get(err["type"])
    ctx = err.get("ctx") or {}
    msg = template.format(**ctx) if template else err["msg"]
    return ConfigError(f"{source}: {_path(tuple(err['loc']))}: {msg}")


# --------------------------------------------------------------------------- conversion


def _actuator(raw: _Actuator | None, ctype: str, where: str, source: str) -> ActuatorSpec:
    raw = raw or _Actuator()
    kind = raw.kind or ("labels" if ctype == "onprem" else "deployment")
    command = tuple(raw.command or ())
    if kind == "nodepool":
        if not command:
            raise ConfigError(f"{source}: {where}.command: required for kind nodepool")
        names: set[str] = set()
        for i, arg in enumerate(command):
            try:
                names |= {f for _, f, _, _ in Formatter().parse(arg) if f is not None}
            except ValueError as exc:
                raise ConfigError(f"{source}: {where}.command[{i}]: {exc}") from None
        unknown = sorted(names - COMMAND_PLACEHOLDERS)
        if unknown:
            allowed = ", ".join("{" + p + "}" for p in sorted(COMMAND_PLACEHOLDERS))
            raise ConfigError(
                f"{source}: {where}.command: unknown placeholder {{{unknown[0]}}} (allowed: {allowed})"
            )
        if "nodes" not in names:
            raise ConfigError(f"{source}: {where}.command: must contain the {{nodes}} placeholder")
    elif command:
        raise ConfigError(f"{source}: {where}.command: only allowed for kind nodepool")
    return ActuatorSpec(
        kind=kind,
        command=command,
        nodegroup=raw.nodegroup,
        cluster_name=raw.cluster_name,
        deployment=raw.deployment or "condor-startd",
        namespace=raw.namespace or "condor",
        node_selector=dict(raw.node_selector) if raw.node_selector else dict(DEFAULT_NODE_LABEL),
    )


def _labels(raw: dict[str, Any], where: str, source: str) -> dict[str, str | int | float | bool]:
    out: dict[str, str | int | float | bool] = {}
    for key, value in raw.items():
        if not _CLASSAD_ATTR.match(key):
            raise ConfigError(f"{source}: {where}.{key}: not a valid ClassAd attribute name")
        if key.lower() in {a.lower() for a in SLOT_ATTRS}:
            raise ConfigError(f"{source}: {where}.{key}: set by condorfed itself, cannot be a label")
        if not isinstance(value, str | int | float | bool):
            raise ConfigError(f"{source}: {where}.{key}: must be a string, number or boolean")
        out[key] = value
    return out


def _cluster(raw: _Cluster, i: int, source: str) -> Cluster:
    where = f"clusters[{i}]"
    if not _DNS1123_LABEL.match(raw.name):
        raise ConfigError(
            f"{source}: {where}.name: {raw.name!r} is not a DNS-1123 label "
            "(lower-case letters, digits and '-', at most 63, starting and ending alphanumeric)"
        )
    if raw.max_cores is not None and raw.min_cores > raw.max_cores:
        raise ConfigError(f"{source}: {where}.minCores: {raw.min_cores} exceeds maxCores {raw.max_cores}")
    if raw.type == "onprem" and raw.preemption_rate:
        raise ConfigError(f"{source}: {where}.preemptionRate: only cloud clusters can be preempted")
    prov = raw.provisioning_seconds
    return Cluster(
        name=raw.name,
        type=raw.type,
        node=NodeShape(raw.node.cpus, raw.node.memory, raw.node.disk, raw.node.gpus),
        provider=raw.provider,
        context=raw.context,
        nodes=raw.nodes,
        weight=raw.weight,
        min_cores=raw.min_cores,
        max_cores=raw.max_cores,
        cost_per_core_hour=raw.cost_per_core_hour,
        provisioning_seconds=DEFAULT_PROVISIONING_SECONDS[raw.type] if prov is None else float(prov),
        labels=_labels(raw.labels, f"{where}.labels", source),
        preemption_rate=raw.preemption_rate,
        actuator=_actuator(raw.actuator, raw.type, f"{where}.actuator", source),
    )


def _names(value: Any, where: str, source: str) -> tuple[str, ...]:
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not items or not all(isinstance(v, str) and v for v in items):
        raise ConfigError(f"{source}: {where}: must be a cluster name or a non-empty list of names")
    if len(set(items)) != len(items):
        raise ConfigError(f"{source}: {where}: names a cluster twice")
    return tuple(items)


def _rule(raw: dict[str, Any], i: int, source: str) -> Rule:
    where = f"rules[{i}]"
    kinds = [k for k in ("fill", "prefer", "require") if k in raw]
    extra = sorted(set(raw) - {"fill", "prefer", "require", "when"})
    if extra:
        raise ConfigError(
            f"{source}: {where}.{extra[0]}: unknown field (expected fill, prefer or require, and when)"
        )
    if len(kinds) != 1:
        raise ConfigError(f"{source}: {where}: must have exactly one of fill, prefer, require")
    kind = kinds[0]
    clusters = _names(raw[kind], f"{where}.{kind}", source)
    when = raw.get("when")
    if when is not None:
        if isinstance(when, bool):
            when = "true" if when else "false"
        if not isinstance(when, str):
            raise ConfigError(f"{source}: {where}.when: must be a ClassAd expression string")
        check_syntax(when, f"{source}: {where}.when")
        if "$(" in when:
            raise ConfigError(
                f"{source}: {where}.when: '$(' would be expanded as an HTCondor config macro; "
                "not allowed in rules"
            )
        when = when.replace("\r", " ").replace("\n", " ").strip()  # one config line
        if "target" in job_references_scope(when):
            raise ConfigError(
                f"{source}: {where}.when: is evaluated against the job ad alone; TARGET is not available"
            )
    return Rule(kind=kind, clusters=clusters, when=when)  # type: ignore[arg-type]


def _groups(raw: Any, parent: str, where: str, source: str) -> tuple[GroupQuota, ...]:
    if not isinstance(raw, dict):
        raise ConfigError(f"{source}: {where}: must be a mapping of group name to settings")
    out: list[GroupQuota] = []
    for name, spec in raw.items():
        here = f"{where}.{name}"
        if not isinstance(name, str) or not _GROUP_NAME.match(name):
            raise ConfigError(f"{source}: {here}: group names are letters, digits, '_' and '-'")
        if not isinstance(spec, dict):
            raise ConfigError(f"{source}: {here}: must be a mapping with quota, acceptSurplus, groups")
        unknown = sorted(set(spec) - {"quota", "acceptSurplus", "groups"})
        if unknown:
            raise ConfigError(f"{source}: {here}.{unknown[0]}: unknown field")
        if "quota" not in spec:
            raise ConfigError(f"{source}: {here}.quota: is required")
        quota = spec["quota"]
        if isinstance(quota, bool) or not isinstance(quota, int | float):
            raise ConfigError(f"{source}: {here}.quota: must be a fraction (0.6) or a number of cores (400)")
        if isinstance(quota, float) and not 0.0 < quota <= 1.0:
            raise ConfigError(
                f"{source}: {here}.quota: a fraction must be in (0, 1]; write a core count as an integer"
            )
        if isinstance(quota, int) and quota < 0:
            raise ConfigError(f"{source}: {here}.quota: must be >= 0")
        surplus = spec.get("acceptSurplus", False)
        if not isinstance(surplus, bool):
            raise ConfigError(f"{source}: {here}.acceptSurplus: must be true or false")
        full = f"{parent}.{name}" if parent else name
        children = _groups(spec.get("groups", {}), full, f"{here}.groups", source)
        out.append(GroupQuota(name=full, quota=quota, accept_surplus=surplus, children=children))
    return tuple(out)


def parse_federation(data: Any, source: str) -> Federation:
    """Validate ``data`` (the YAML document) and build the :class:`Federation`.

    Raises :class:`ConfigError` ``"<source>: <field path>: <problem>"`` on the first problem.
    """
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: must be a mapping with federation, clusters, rules, fairshare")
    try:
        doc = _Document.model_validate(data)
    except ValidationError as exc:
        raise _first_error(exc, source) from None
    clusters = tuple(_cluster(c, i, source) for i, c in enumerate(doc.clusters))
    seen: set[str] = set()
    for i, c in enumerate(clusters):
        if c.name in seen:
            raise ConfigError(f"{source}: clusters[{i}].name: duplicate cluster name {c.name!r}")
        seen.add(c.name)
    rules = tuple(_rule(r, i, source) for i, r in enumerate(doc.rules))
    groups = _groups(doc.fairshare.groups, "", "fairshare.groups", source)
    fed = Federation(
        name=doc.federation.name,
        trust_domain=doc.federation.trust_domain,
        clusters=clusters,
        rules=rules,
        fairshare=FairShare(half_life=doc.fairshare.half_life, groups=groups),
        negotiator_interval=doc.federation.negotiator_interval,
        controller_interval=doc.federation.controller_interval,
    )
    check_federation(fed, source)
    return fed
