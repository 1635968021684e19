"""Hierarchical accounting groups: quotas, surplus sharing and the order groups negotiate in.

This follows the negotiator's hierarchical group quota algorithm:

1. :func:`assign_quotas` hands the pool (sum of slot weights) down the tree. Children with static quotas
   (``GROUP_QUOTA_<g>``) are served first; when ``NEGOTIATOR_ALLOW_QUOTA_OVERSUBSCRIPTION`` is False and
   they add up to more than the parent has, they shrink proportionally. Children with dynamic quotas
   (``GROUP_QUOTA_DYNAMIC_<g>``, fractions, scaled down if they add up to more than 1) share what is left.
   A group keeps what its children don't take (with oversubscription allowed it keeps its whole quota).
2. :func:`fairshare` gives each group ``min(requested, quota)`` and passes unused quota (surplus) up the
   tree; a group shares surplus with its children on an equal footing, in proportion to their quotas,
   but only groups with ``GROUP_ACCEPT_SURPLUS[_<g>]`` take any.
3. :func:`negotiation_order` sorts groups by ``GROUP_SORT_EXPR`` (default: starvation order, the group
   using the smallest fraction of its quota first, the root group ``<none>`` last).
4. :func:`strict_limit` caps a group's new allocation by the remaining quota of every ancestor that does
   not accept surplus (``NEGOTIATOR_STRICT_ENFORCE_QUOTA``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

from condorfed.errors import ConfigError

ROOT_GROUP = "<none>"
_TINY = 1e-5


@dataclass(frozen=True)
class GroupSpec:
    """One configured accounting group (from ``GROUP_NAMES`` and ``GROUP_*_<name>``)."""

    name: str
    static_quota: float | None = None  # GROUP_QUOTA_<name>
    dynamic_quota: float | None = None  # GROUP_QUOTA_DYNAMIC_<name>
    accept_surplus: bool = False
    autoregroup: bool = False


@dataclass
class GroupEntry:
    """Working state of one group during a negotiation cycle (mutable on purpose: one cycle owns it)."""

    name: str
    config_quota: float = 0.0
    static: bool = False
    accept_surplus: bool = False
    autoregroup: bool = False
    parent: GroupEntry | None = None
    children: list[GroupEntry] = field(default_factory=list)
    quota: float = 0.0
    subtree_quota: float = 0.0
    requested: float = 0.0
    subtree_requested: float = 0.0
    allocated: float = 0.0
    usage: float = 0.0
    subtree_usage: float = 0.0

    def walk(self) -> Iterable[GroupEntry]:
        yield self
        for child in self.children:
            yield from child.walk()


def build_tree(specs: Iterable[GroupSpec], *, root_accepts_surplus: bool = True) -> dict[str, GroupEntry]:
    """Groups by lower-cased name, root (``<none>``) included. A dotted name's parent must be configured."""
    root = GroupEntry(ROOT_GROUP, accept_surplus=root_accepts_surplus, static=False, config_quota=1.0)
    entries: dict[str, GroupEntry] = {ROOT_GROUP: root}
    spec_list = sorted(specs, key=lambda s: s.name.count("."))
    for spec in spec_list:
        key = spec.name.lower()
        if key in entries:
            raise ConfigError(f"GROUP_NAMES: group {spec.name!r} is listed twice")
        static = spec.static_quota is not None
        quota = spec.static_quota if static else (spec.dynamic_quota or 0.0)
        if quota is not None and quota < 0:
            raise ConfigError(f"GROUP_QUOTA_{spec.name}: quota must not be negative")
        entry = GroupEntry(
            spec.name,
            config_quota=float(quota or 0.0),
            static=static,
            accept_surplus=spec.accept_surplus,
            autoregroup=spec.autoregroup,
        )
        parent_name = key.rsplit(".", 1)[0] if "." in key else ROOT_GROUP
        parent = entries.get(parent_name)
        if parent is None:
            raise ConfigError(
                f"GROUP_NAMES: group {spec.name!r} has no configured parent group {parent_name!r}"
            )
        entry.parent = parent
        parent.children.append(entry)
        entries[key] = entry
    return entries


def assign_quotas(group: GroupEntry, quota: float, *, allow_oversubscription: bool) -> None:
    """Hand ``quota`` to ``group``'s subtree (step 1 of the module docstring)."""
    if quota <= 0:
        return
    group.subtree_quota = quota
    static_sum = sum(c.config_quota for c in group.children if c.static)
    dynamic_sum = sum(c.config_quota for c in group.children if not c.static)
    static_assignable = static_sum if allow_oversubscription else min(static_sum, quota)
    dynamic_assignable = max(0.0, quota - static_assignable)
    static_norm = static_sum if static_sum > 0 else 1.0
    dynamic_norm = max(dynamic_sum, 1.0)
    given = 0.0
    for child in group.children:
        if child.static:
            q = child.config_quota * (static_assignable / static_norm)
        else:
            q = child.config_quota * (dynamic_assignable / dynamic_norm)
        q = max(0.0, q)
        assign_quotas(child, q, allow_oversubscription=allow_oversubscription)
        given += q
    group.quota = quota if allow_oversubscription else max(0.0, quota - given)


def fairshare(group: GroupEntry) -> float:
    """Allocate ``min(requested, quota)`` per group and share surplus (step 2). Returns unused surplus."""
    group.allocated = min(group.requested, group.quota)
    group.requested -= group.allocated
    group.subtree_requested = group.requested
    surplus = group.quota - group.allocated
    if not group.children:
        return surplus
    for child in group.children:
        surplus += fairshare(child)
        if child.accept_surplus:
            group.subtree_requested += child.subtree_requested
    return _allocate_surplus(group, surplus)


def _surplus_rounds(
    by_quota: bool,
    members: list[GroupEntry],
    alloc: list[float],
    want: list[float],
    surplus: float,
    requested: float,
) -> tuple[float, float]:
    """Share ``surplus`` among members still wanting some, by quota (or equally), until none is left."""
    while surplus > 0:
        weights = [
            (m.subtree_quota if by_quota else 1.0) if want[i] > 0 else 0.0 for i, m in enumerate(members)
        ]
        total = sum(weights)
        if total <= 0:
            break
        all_taken = True
        given = 0.0
        for i, w in enumerate(weights):
            if w <= 0:
                continue
            share = surplus * (w / total)
            if share > want[i]:
                share = want[i]
                all_taken = False
            alloc[i] += share
            want[i] -= share
            given += share
        surplus -= given
        requested -= given
        if all_taken or surplus < 0:
            surplus = 0.0
    return surplus, requested


def _allocate_surplus(group: GroupEntry, surplus: float) -> float:
    if surplus <= 0:
        return 0.0
    if group.subtree_requested <= 0:
        return surplus
    # The group competes for surplus like one more child of itself (the last member).
    members = [*group.children, group]
    alloc = [0.0] * len(members)
    saved = (group.accept_surplus, group.subtree_quota)
    group.accept_surplus = True
    group.subtree_quota = group.quota
    requested = group.subtree_requested
    group.subtree_requested = group.requested
    if surplus >= requested:
        for i, m in enumerate(members):
            if m.accept_surplus and m.subtree_requested > 0:
                alloc[i] = m.subtree_requested
        surplus -= requested
        requested = 0.0
    else:
        want = [
            m.subtree_requested if (m.accept_surplus and m.subtree_requested > 0) else 0.0 for m in members
        ]
        surplus, requested = _surplus_rounds(True, members, alloc, want, surplus, requested)
        surplus, requested = _surplus_rounds(False, members, alloc, want, surplus, requested)
    for i, child in enumerate(members[:-1]):
        if alloc[i] > 0:
            _allocate_surplus(child, alloc[i])
    group.allocated += alloc[-1]
    group.requested -= alloc[-1]
    group.subtree_requested = requested
    group.accept_surplus, group.subtree_quota = saved
    return surplus


def compute_subtree_usage(group: GroupEntry) -> float:
    group.subtree_usage = group.usage + sum(compute_subtree_usage(c) for c in group.children)
    return group.subtree_usage


def strict_limit(group: GroupEntry, slots: float) -> float:
    """Cap ``slots`` (absolute, usage included) by every non-surplus-accepting ancestor's room (step 4)."""
    new = slots - group.usage
    if new < 0:
        return group.usage
    node: GroupEntry | None = group
    while node is not None:
        if not node.accept_surplus:
            cap = node.config_quota if node.static else node.subtree_quota
            new = min(new, max(0.0, cap - node.subtree_usage))
        node = node.parent
    return new + group.usage


def negotiation_order(
    groups: Iterable[GroupEntry],
    sort_key: Callable[[GroupEntry], float],
    *,
    autoregroup: bool,
) -> list[GroupEntry]:
    """Groups in the order they negotiate: ascending ``sort_key`` (GROUP_SORT_EXPR), ties by name.

    With autoregroup the root group always goes last (it negotiates for everybody's leftovers).
    """

    def key(g: GroupEntry) -> tuple[int, float, str]:
        last = 1 if (autoregroup and g.name == ROOT_GROUP) else 0
        return (last, sort_key(g), g.name)

    return sorted(groups, key=key)


def group_of(accounting_group: str | None, entries: Mapping[str, GroupEntry]) -> GroupEntry:
    """The configured group a submitter belongs to: the longest configured prefix, else the root group."""
    if not accounting_group:
        return entries[ROOT_GROUP]
    name = accounting_group.lower()
    while True:
        if name in entries:
            return entries[name]
        if "." not in name:
            return entries[ROOT_GROUP]
        name = name.rsplit(".", 1)[0]
