"""Load-time checks of a federation's meaning (the structure is already valid).

What is checked (each failure is one :class:`ConfigError` naming the rule or field):

- every cluster a rule names exists; ``"*"`` appears only in ``fill``, at most once;
- at most one ``fill`` per distinct ``when`` (two would give two default orders), and no
  ``fill`` after an unconditional one (the first matching fill wins, so it is unreachable);
- ``require`` and ``prefer``: at least one named cluster can ever hold a job the rule applies
  to. A cluster can hold work if it can have nodes (on-prem: ``nodes > 0``; cloud: ``maxCores``
  unset or at least one node's cores), and its node shape covers the request *lower bounds*
  that ``when`` implies. Bounds are derived only from top-level ``&&`` conjuncts comparing
  ``RequestCpus``/``RequestMemory``/``RequestDisk``/``RequestGPUs`` with a number (see
  :func:`~condorfed.core.federation.expressions.implied_request_bounds`); anything else is
  undecidable here and accepted;
- two ``require`` rules that can match the same job leave it at least one cluster. "Can match
  the same job" is decided only when it is certain: one of them is unconditional, or both have
  the same ``when`` text (whitespace-insensitive);
- a ``prefer`` is not made pointless by a ``require`` in the same sense (all preferred clusters
  excluded for every job the prefer applies to);
- ``fairshare``: dynamic quotas of siblings sum to at most 1; group names are unique
  case-insensitively (HTCondor compares them without case).
"""

from __future__ import annotations

from itertools import combinations
from typing import TYPE_CHECKING

from condorfed.core.federation.expressions import implied_request_bounds
from condorfed.errors import ConfigError

if TYPE_CHECKING:
    from condorfed.core.federation.model import Cluster, Federation, GroupQuota, Rule


def _norm(when: str | None) -> str | None:
    return None if when is None else "".join(when.split())


def _can_hold_work(c: Cluster) -> bool:
    if c.type == "onprem":
        return c.nodes > 0 and (c.max_cores is None or c.max_cores >= c.node.cpus)
    return c.max_cores is None or c.max_cores >= c.node.cpus


def _shape_misfit(c: Cluster, when: str | None) -> str | None:
    """Why a job matching ``when`` can never fit one of ``c``'s nodes (None: it may fit)."""
    if not _can_hold_work(c):
        return f"{c.name} can have no worker (nodes={c.nodes}, maxCores={c.max_cores})"
    if when is None:
        return None
    b = implied_request_bounds(when)
    n = c.node
    # Slot units: Memory MiB as in the node shape; Disk KiB, the node's disk is MB.
    for label, need, have in (
        ("cpus", b.cpus, n.cpus),
        ("memory", b.memory, n.memory),
        ("disk", b.disk, n.disk * 1024),
        ("gpus", b.gpus, n.gpus),
    ):
        if need > have:
            return f"{c.name} nodes have {label}={have:g} but the jobs need at least {need:g}"
    return None


def _check_references(fed: Federation, source: str) -> None:
    known = set(fed.cluster_names)
    for i, rule in enumerate(fed.rules):
        where = f"{source}: rules[{i}].{rule.kind}"
        for name in rule.clusters:
            if name == "*":
                if rule.kind != "fill":
                    raise ConfigError(f"{where}: '*' is only meaningful in fill")
                continue
            if name not in known:
                raise ConfigError(
                    f"{where}: unknown cluster {name!r} (known: {', '.join(fed.cluster_names)})"
                )


def _check_fill(fed: Federation, source: str) -> None:
    seen: dict[str | None, int] = {}
    for i, rule in enumerate(fed.rules):
        if rule.kind != "fill":
            continue
        key = _norm(rule.when)
        if key in seen:
            raise ConfigError(
                f"{source}: rules[{i}]: second fill for the same jobs as rules[{seen[key]}] "
                "(one default order per when)"
            )
        if None in seen:  # the first matching fill wins: nothing after an unconditional one
            raise ConfigError(
                f"{source}: rules[{i}]: unreachable: the unconditional fill rules[{seen[None]}] "
                "comes first (put conditional fills before it)"
            )
        seen[key] = i


def _check_satisfiable(fed: Federation, source: str) -> None:
    for i, rule in enumerate(fed.rules):
        if rule.kind == "fill":
            continue
        reasons = [_shape_misfit(fed.cluster(n), rule.when) for n in rule.clusters]
        if all(r is not None for r in reasons):
            raise ConfigError(
                f"{source}: rules[{i}]: {rule.describe()} can never be met: {'; '.join(reasons)}"
            )  # type: ignore[arg-type]


def _same_jobs(a: Rule, b: Rule) -> bool:
    """Certainly some job matches both (when one is unconditional or the whens are equal)."""
    return a.when is None or b.when is None or _norm(a.when) == _norm(b.when)


def _covers(require: Rule, other: Rule) -> bool:
    """Every job ``other`` applies to is also subject to ``require``."""
    return require.when is None or _norm(require.when) == _norm(other.when)


def _check_conflicts(fed: Federation, source: str) -> None:
    indexed = list(enumerate(fed.rules))
    requires = [(i, r) for i, r in indexed if r.kind == "require"]
    for (i, a), (j, b) in combinations(requires, 2):
        if _same_jobs(a, b) and not set(a.clusters) & set(b.clusters):
            raise ConfigError(
                f"{source}: rules[{j}]: {b.describe()} conflicts with rules[{i}]: {a.describe()} "
                "(a job matching both could run nowhere)"
            )
    for j, pref in indexed:
        if pref.kind != "prefer":
            continue
        for i, req in requires:
            if _covers(req, pref) and not set(pref.clusters) & set(req.clusters):
                raise ConfigError(
                    f"{source}: rules[{j}]: {pref.describe()} can never apply: rules[{i}] "
                    f"{req.describe()} excludes all its clusters"
                )


def _check_groups(groups: tuple[GroupQuota, ...], where: str, source: str) -> None:
    seen: set[str] = set()
    for g in groups:
        short = g.name.rsplit(".", 1)[-1]
        if short.lower() in seen:
            raise ConfigError(f"{source}: {where}.{short}: duplicate group name (HTCondor ignores case)")
        seen.add(short.lower())
    total = sum(float(g.quota) for g in groups if g.is_dynamic)
    if total > 1.0 + 1e-9:
        names = ", ".join(g.name for g in groups if g.is_dynamic)
        raise ConfigError(f"{source}: {where}: dynamic quotas of {names} sum to {total:g} > 1")
    for g in groups:
        _check_groups(g.children, f"{where}.{g.name.rsplit('.', 1)[-1]}.groups", source)


def check_federation(fed: Federation, source: str) -> None:
    """Raise :class:`ConfigError` for the first conflicting or unsatisfiable setting."""
    _check_references(fed, source)
    _check_fill(fed, source)
    _check_satisfiable(fed, source)
    _check_conflicts(fed, source)
    _check_groups(fed.fairshare.groups, "fairshare.groups", source)
