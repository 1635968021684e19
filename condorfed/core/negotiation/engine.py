"""One negotiation cycle: fair share (groups, pie spins) driving per-autocluster match lists.

This is the single engine behind both API levels (:func:`negotiate_demand` here, and
:func:`condorfed.core.negotiation.cycle.negotiate` on ads). Its order of work follows the negotiator:

1. Priorities are aged to ``now``; EUP = RUP x factor.
2. Without accounting groups the whole pool is one pie. With groups, quotas are assigned and
   allocated (surplus included), and groups negotiate in GROUP_SORT_EXPR order, each with its
   allocation as the pie, for up to GROUP_QUOTA_MAX_ALLOCATION_ROUNDS rounds.
3. Within a pie, submitters negotiate in EUP order, each up to its spin limit; the pie spins again
   while a spin gave something out or a submitter finished.
4. A submitter's demand is offered in order; each entry draws from its autocluster's match list. A
   miss (no candidate left) rejects the autocluster for the rest of the cycle; a candidate heavier
   than the submitter's remaining limit ends the submitter's turn in this spin.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import classad2
import numpy as np

from condorfed.core.classads.values import Ad
from condorfed.core.fairshare import accountant
from condorfed.core.fairshare.groups import (
    ROOT_GROUP,
    GroupEntry,
    assign_quotas,
    build_tree,
    compute_subtree_usage,
    fairshare,
    group_of,
    negotiation_order,
    strict_limit,
)
from condorfed.core.fairshare.pie import submitter_limits
from condorfed.core.negotiation.autocluster import significant_key, slot_side_references
from condorfed.core.negotiation.classlist import ClassMatchList
from condorfed.core.negotiation.config import NegotiatorConfig
from condorfed.core.negotiation.evaluation import Evaluator, default_evaluator
from condorfed.core.negotiation.matchlist import NO_PREEMPTION, RANK_PREEMPTION, Candidate, MatchList
from condorfed.core.negotiation.pool import SlotPool
from condorfed.core.negotiation.results import (
    GroupCycleResult,
    GroupMatch,
    GroupResult,
    JobGroup,
    SubmitterResult,
)

_EPS = 1e-3  # limits are fractional (e.g. 14.99998 of 30 slots); a whole slot within this still fits


@dataclass
class _Entry:
    demand: JobGroup
    ac: int
    left: int
    matches: list[GroupMatch] = field(default_factory=list)
    reason: str | None = None


@dataclass
class _Submitter:
    name: str
    group: GroupEntry | None
    entries: list[_Entry]
    eup: float
    limit: float = 0.0
    matched: int = 0
    matched_weight: float = 0.0

    def idle(self) -> int:
        return sum(e.left for e in self.entries if e.reason is None)


def _group_sort_key(expr: str, usage_of: Callable[[GroupEntry], float]) -> Callable[[GroupEntry], float]:
    tree = classad2.ExprTree(expr)

    def key(g: GroupEntry) -> float:
        ad = classad2.ClassAd()
        ad["AccountingGroup"] = g.name
        ad["GroupQuota"] = float(g.quota)
        ad["GroupResourcesAllocated"] = float(g.allocated)
        ad["GroupResourcesInUse"] = float(usage_of(g))
        v = tree.eval(ad)
        return float(v) if isinstance(v, int | float) and not isinstance(v, classad2.Value) else 3.4e38

    return key


class _Cycle:
    def __init__(
        self,
        pool: SlotPool,
        config: NegotiatorConfig,
        usage: accountant.UsageState,
        now: float,
        evaluator: Evaluator | None,
        running: Mapping[str, float] | None = None,
        slot_side: frozenset[str] | None = None,
    ) -> None:
        self.pool = pool
        self.cfg = config
        self.ev = evaluator or default_evaluator()
        self.state = accountant.advance(usage, now, config.priority_halflife)
        self.usage: dict[str, float] = pool.usage_by_submitter()
        for who, used in (running or {}).items():  # running jobs whose slots are not in the pool
            self.usage[who] = max(self.usage.get(who, 0.0), used)
        self.matches: list[GroupMatch] = []
        self.match_lists: dict[int, MatchList | ClassMatchList] = {}
        self.ac_keys: dict[tuple, int] = {}
        self.ac_repr: list[JobGroup] = []
        self.ac_key_of: list[tuple] = []
        self.spins = 0
        self.pool_weight = pool.total_weight()
        self.slot_side = slot_side if slot_side is not None else slot_side_for(pool, config)
        # Match lists may outlive the cycle only when no candidate could be a preemption (their
        # preemption state would depend on this cycle's priorities).
        prio = (config.preemption_requirements or "").strip().lower() not in ("", "false", "0")
        self.preemption_possible = config.consider_preemption and bool(
            (prio and (pool.alive & pool.claimed).any())
            or (pool.alive & pool.claimed & pool.rank_preemptible).any()
        )
        if config.consider_preemption and (config.preemption_requirements or "").strip().lower() not in (
            "",
            "false",
            "0",
        ):
            self._publish_remote_priorities()

    def _publish_remote_priorities(self) -> None:
        """What the negotiator adds to claimed slot ads for PREEMPTION_REQUIREMENTS/RANK:
        the current holder's effective priority and resources in use."""
        pool = self.pool
        changed = False
        for i in np.flatnonzero(pool.alive & pool.claimed):
            who = pool.remote[int(i)]
            if not who:
                continue
            ad = pool.ads[int(i)]
            prio = self.eup(who, None)
            used = self.usage.get(who, 0.0)
            if ad.get("RemoteUserPrio") != prio or ad.get("RemoteUserResourcesInUse") != used:
                ad["RemoteUserPrio"] = prio
                ad["RemoteUserResourcesInUse"] = used
                changed = True
        if changed:
            pool.structure_version += 1  # column tables must see the new attributes
            pool.attr_epoch += 1  # and cached evaluations may depend on them
            pool.layout_version += 1

    # ---- priorities and usage -----------------------------------------------------------------------
    def factor(self, name: str, group: GroupEntry | None) -> float:
        rec = self.state.get(name)
        if rec.factor is not None:
            return rec.factor
        if group is not None and group.name.lower() in self.cfg.group_prio_factors:
            return self.cfg.group_prio_factors[group.name.lower()]
        return self.cfg.default_prio_factor

    def eup(self, name: str, group: GroupEntry | None) -> float:
        return self.state.real_priority(name) * self.factor(name, group)

    def autocluster(self, demand: JobGroup) -> int:
        key = (demand.submitter, significant_key(demand.ad, self.slot_side, self.cfg.significant_attributes))
        ac = self.ac_keys.get(key)
        if ac is None:
            ac = len(self.ac_repr)
            self.ac_keys[key] = ac
            self.ac_key_of.append(key)
            self.ac_repr.append(demand)
        return ac

    # ---- matching ---------------------------------------------------------------------------------
    def match_list(self, entry: _Entry, sub: _Submitter) -> MatchList | ClassMatchList:
        ml = self.match_lists.get(entry.ac)
        if ml is None:
            remaining = sum(e.left for e in sub.entries if e.ac == entry.ac)
            cache_key = None
            if (
                self.pool.cache_matches
                and not (self.slot_side & _INJECTED)
                and not self._mentions_injected(entry)
            ):
                cache_key = (self.ev.name, self.ac_key_of[entry.ac])
            if cache_key is not None and not self.preemption_possible:
                kept = self.pool.match_lists.get(cache_key)
                if kept is not None and kept.reusable():
                    kept.reuse(remaining)
                    self.match_lists[entry.ac] = kept
                    return kept
            job = entry.demand.ad.copy()
            job["SubmitterUserPrio"] = sub.eup
            job["SubmitterUserResourcesInUse"] = self.usage.get(sub.name, 0.0)
            if sub.group is not None:
                job["SubmitterGroup"] = sub.group.name
                job["SubmitterGroupQuota"] = sub.group.quota
            if cache_key is not None and not self.preemption_possible:
                ml = ClassMatchList.for_job(job, sub.name, self.pool, self.ev, self.cfg, remaining=remaining)
            if ml is None:
                ml = MatchList(
                    job,
                    sub.name,
                    self.pool,
                    self.ev,
                    self.cfg,
                    remaining=remaining,
                    preemption_ok=True,
                    cache_key=cache_key,
                    submitter_prio=sub.eup,
                    remote_prio=lambda who: self.eup(who, None),
                )
            self.match_lists[entry.ac] = ml
            if cache_key is not None and not self.preemption_possible:
                self.pool.keep_match_list(cache_key, ml)
        return ml

    def _mentions_injected(self, entry: _Entry) -> bool:
        """Whether the job's expressions name what the engine adds to the ad (their results then
        change from cycle to cycle); remembered in the pool while the ad object is unchanged."""
        ad = entry.demand.ad
        memo = self.pool.content_classes.setdefault("mentions_injected", {})
        hit = memo.get(id(ad))
        if hit is None or hit[0] is not ad or hit[1] != ad.lower_items():
            if len(memo) > 4096:
                memo.clear()
            hit = memo[id(ad)] = (ad, dict(ad.lower_items()), _mentions(ad, _INJECTED))
        return hit[2]

    def negotiate_submitter(self, sub: _Submitter, limit: float, pie_left: list[float]) -> bool:
        """Offer the submitter's idle jobs up to ``limit``. True when it is done (nothing more to offer)."""
        used = 0.0
        for entry in sub.entries:
            if entry.left <= 0 or entry.reason is not None:
                continue
            ml = self.match_list(entry, sub)
            if ml.rejected:
                entry.reason = self._reason(ml)
                continue
            while entry.left > 0:
                if ml.min_weight is not None and used + ml.min_weight > limit + _EPS and not ml.rejected:
                    return False  # nothing in the list fits what is left of the limit: next spin
                cand = ml.peek()
                if cand is None:
                    if ml.has_skipped():
                        return False  # only slots heavier than what is left of the limit: next spin
                    ml.rejected = True
                    entry.reason = self._reason(ml)
                    break
                if used + cand.weight > limit + _EPS:
                    ml.skip(cand)  # as the negotiator does: try lighter candidates further down
                    continue
                n = 1
                if cand.state == NO_PREEMPTION and self._fitting(cand, entry.left, used, limit, 2) == 2:
                    # The slot may stay the best candidate for the next jobs too: claim them at once.
                    n = self._fitting(cand, entry.left, used, limit, ml.repeats(cand, entry.left))
                if cand.state != NO_PREEMPTION:
                    cids: tuple[int, ...] = (self._preempt(cand, sub, entry),)
                elif n == 1:
                    cids = (self.pool.claim(cand.slot, *cand.request, sub.name, entry.demand.group),)
                else:
                    cids = tuple(
                        self.pool.claim_many(cand.slot, n, *cand.request, sub.name, entry.demand.group)
                    )
                ml.taken(cand, n)
                w = cand.weight
                for _ in range(n):  # job by job: the sums come out as one match at a time makes them
                    entry.left -= 1
                    used += w
                    pie_left[0] -= w
                    sub.matched += 1
                    sub.matched_weight += w
                    self.usage[sub.name] = self.usage.get(sub.name, 0.0) + w
                    if sub.group is not None:
                        sub.group.usage += w
                prev = entry.matches[-1] if entry.matches else None
                if (
                    prev is not None
                    and prev.slot == cand.slot
                    and prev.preempting is None
                    and cand.preempting is None
                ):
                    entry.matches[-1] = GroupMatch(
                        entry.demand, cand.slot, prev.count + n, (*prev.claims, *cids), *cand.request
                    )
                else:
                    kind = (
                        None
                        if cand.state == NO_PREEMPTION
                        else ("rank" if cand.state == RANK_PREEMPTION else "priority")
                    )
                    entry.matches.append(
                        GroupMatch(
                            entry.demand,
                            cand.slot,
                            n,
                            cids,
                            *cand.request,
                            preempting=cand.preempting,
                            preemption=kind,
                        )
                    )
        return True

    @staticmethod
    def _fitting(cand: Candidate, left: int, used: float, limit: float, most: int) -> int:
        """How many jobs of weight ``cand.weight`` fit the limit one after another (at most ``most``
        and ``left``), summed as one match after another sums them."""
        n, w = 1, cand.weight
        used += w
        while n < most and n < left and used + w <= limit + _EPS:
            n += 1
            used += w
        return n

    def _preempt(self, cand, sub: _Submitter, entry: _Entry) -> int:
        """Take a claimed slot from its current holder."""
        pool, s = self.pool, cand.slot
        holder = pool.remote[s]
        if holder:
            self.usage[holder] = max(0.0, self.usage.get(holder, 0.0) - cand.weight)
        pool.drop_claims_on(s)
        pool.claimed[s] = False
        return pool.claim(s, *cand.request, sub.name, entry.demand.group)

    @staticmethod
    def _reason(ml: MatchList | ClassMatchList) -> str:
        st = ml.stats
        if st["slots"] == 0:
            return "no slots available"
        if st["job_req"] == 0:
            return "no slot satisfies the job's Requirements"
        if st["both"] == 0:
            return "no slot's START/Requirements accepts the job"
        if st["fits"] == 0:
            return "no matching slot has enough resources left"
        return "all matching slots are taken"

    # ---- pie spins ---------------------------------------------------------------------------------
    def negotiate_with_group(
        self, subs: list[_Submitter], group_quota: float, group: GroupEntry | None
    ) -> None:
        active = [s for s in subs if s.idle() > 0]
        if not active:
            return
        active.sort(key=lambda s: (s.eup, s.name))
        spin = 0
        while True:
            spin += 1
            self.spins += 1
            for ml in self.match_lists.values():
                ml.restore()
            group_usage = group.usage if group is not None else 0.0
            if group is not None and group_usage >= group_quota - _EPS:
                break
            active = [s for s in active if s.idle() > 0]
            if not active:
                break
            pie = min(self.pool_weight, group_quota)
            eups = {s.name: s.eup for s in active}
            room = (group_quota - group_usage) if group is not None else None
            limits = submitter_limits([s.name for s in active], eups, self.usage, pie, room)
            pie_left = [sum(limits.values())]
            if pie_left[0] <= 0 and not self.cfg.consider_preemption:
                break
            orig_left, orig_count = pie_left[0], len(active)
            still: list[_Submitter] = []
            for sub in active:
                if group is not None and group.usage >= group_quota - _EPS:
                    still.append(sub)
                    continue
                gu = group.usage if group is not None else 0.0
                room = (group_quota - gu) if group is not None else None
                lim = submitter_limits([s.name for s in active], eups, self.usage, pie, room)[sub.name]
                lim = min(lim, max(0.0, pie_left[0]))
                sub.limit = lim
                if spin > 1 and (lim < 1.0 - _EPS or pie_left[0] < 1.0 - _EPS):
                    still.append(sub)
                    continue
                done = self.negotiate_submitter(sub, lim, pie_left)
                if not done:
                    still.append(sub)
            active = still
            if not (
                (pie_left[0] < orig_left - 1e-9 or len(active) < orig_count)
                and active
                and self.pool.available().any()
            ):
                break

    # ---- the whole cycle ---------------------------------------------------------------------------
    def run(self, demand: Sequence[JobGroup]) -> GroupCycleResult:
        cfg = self.cfg
        entries_by_sub: dict[str, list[_Entry]] = {}
        groups_by_sub: dict[str, str | None] = {}
        for d in demand:
            if d.count <= 0 and d.running <= 0:
                continue
            entries_by_sub.setdefault(d.submitter, []).append(_Entry(d, self.autocluster(d), d.count))
            groups_by_sub.setdefault(d.submitter, d.group)
        group_results: dict[str, GroupResult] = {}
        if not cfg.groups:
            subs = [_Submitter(n, None, es, self.eup(n, None)) for n, es in entries_by_sub.items()]
            self.negotiate_with_group(subs, self.pool_weight, None)
        else:
            subs = self._run_groups(entries_by_sub, groups_by_sub, group_results)
        submitters = {}
        for sub in subs:
            submitters[sub.name] = SubmitterResult(
                sub.name, sub.eup, sub.limit, sub.matched, sub.matched_weight, self.usage.get(sub.name, 0.0)
            )
        rejected: dict[int, str] = {}
        for sub in subs:
            for e in sub.entries:
                self.matches.extend(e.matches)
                if e.left > 0:
                    rejected[id(e.demand)] = e.reason or (
                        "submitter limit reached (fair share)"
                        if sub.group is None or sub.group.name == ROOT_GROUP
                        else "group quota or submitter limit reached"
                    )
        # What is in use now is known completely (claims in the pool, running jobs): anyone not
        # holding anything any more uses nothing.
        now_used = {n: 0.0 for n in self.state.submitters} | dict(self.usage)
        final_usage = accountant.with_usage(self.state, now_used)
        # The lists reach back to this cycle (priorities of slot holders): cut that, so the cycle's
        # state is freed by reference counting, not by a garbage collection of ~10^5 objects.
        for ml in self.match_lists.values():
            ml.end_cycle()
        self.match_lists.clear()
        return GroupCycleResult(
            tuple(self.matches),
            rejected,
            submitters,
            group_results,
            final_usage,
            len(self.ac_repr),
            self.spins,
        )

    def _run_groups(self, entries_by_sub, groups_by_sub, group_results) -> list[_Submitter]:
        cfg = self.cfg
        any_surplus = cfg.accept_surplus or any(g.accept_surplus for g in cfg.groups)
        tree = build_tree(cfg.groups, root_accepts_surplus=True)
        root = tree[ROOT_GROUP]
        subs: list[_Submitter] = []
        members: dict[str, list[_Submitter]] = {name: [] for name in tree}
        for name, es in entries_by_sub.items():
            g = group_of(groups_by_sub.get(name) or _group_from_submitter(name), tree)
            sub = _Submitter(name, g, es, 0.0)
            sub.eup = self.eup(name, g)
            subs.append(sub)
            members[g.name.lower()].append(sub)
        for who, used in self.usage.items():
            g = group_of(groups_by_sub.get(who) or _group_from_submitter(who), tree)
            g.usage += used
        # Demand: what runs plus what waits, in slot weight (cores).
        for sub in subs:
            weight = sum(e.left * _request_cpus(e.demand.ad) for e in sub.entries)
            sub.group.requested += weight + self.usage.get(sub.name, 0.0)
        assign_quotas(root, self.pool_weight, allow_oversubscription=cfg.allow_quota_oversubscription)
        usage_of = lambda g: g.usage  # noqa: E731
        sort_key = _group_sort_key(cfg.group_sort_expr, usage_of)
        allocated_seen: dict[str, float] = {}
        for _round in range(cfg.max_allocation_rounds):
            for g in tree.values():
                g.allocated = 0.0
                g.subtree_requested = 0.0
            fairshare(root)
            if cfg.autoregroup:
                root.quota = root.allocated = self.pool_weight
            for g in tree.values():
                allocated_seen[g.name] = g.allocated
            for g in negotiation_order(tree.values(), sort_key, autoregroup=cfg.autoregroup):
                gsubs = members[g.name.lower()]
                if g is root and cfg.autoregroup:
                    gsubs = gsubs + [s for s in subs if s.group is not None and s.group.autoregroup]
                if g.allocated <= 0 or not gsubs:
                    continue
                if g.usage >= g.allocated and not cfg.consider_preemption:
                    continue
                target = g.allocated if any_surplus else g.quota
                slots = min(max(g.usage, target), target)
                if cfg.strict_enforce_quota:
                    compute_subtree_usage(root)
                    slots = strict_limit(g, slots)
                self.negotiate_with_group(gsubs, slots, None if (g is root and cfg.autoregroup) else g)
            for g in tree.values():
                if g.usage < g.allocated:
                    g.requested = g.usage
                else:
                    g.requested += g.allocated
            if not any(s.idle() for s in subs):
                break
        for key, g in tree.items():
            if key == ROOT_GROUP and not members[ROOT_GROUP] and not cfg.autoregroup:
                continue
            group_results[g.name] = GroupResult(g.name, g.quota, allocated_seen.get(g.name, 0.0), g.usage)
        return subs


# What the engine adds to a job ad for the slot side to see; evaluations that can see them are not cached.
_INJECTED = frozenset(
    {"submitteruserprio", "submitteruserresourcesinuse", "submittergroup", "submittergroupquota"}
)


def _mentions(job: Ad, names: frozenset[str]) -> bool:
    from condorfed.core.classads.values import Expr
    from condorfed.core.negotiation.refs import references

    for v in job.lower_items().values():
        if isinstance(v, Expr) and any(n in names for _, n in references(str(v))):
            return True
    return False


def slot_side_for(pool: SlotPool, config: NegotiatorConfig) -> frozenset[str]:
    """Job attributes the slots and the negotiator's expressions can look at (for autoclustering);
    remembered on the pool until slots come or go."""
    exprs = (
        config.pre_job_rank,
        config.post_job_rank,
        config.preemption_requirements,
        config.preemption_rank,
    )
    memo = pool.__dict__.get("_slot_side_memo")
    if memo is not None and memo[0] == (pool.structure_version, exprs):
        return memo[1]
    side = slot_side_references((pool.ads[i] for i in np.flatnonzero(pool.alive)), exprs)
    pool.__dict__["_slot_side_memo"] = ((pool.structure_version, exprs), side)
    return side


def _group_from_submitter(name: str) -> str | None:
    """A submitter named ``group_x.user@domain`` belongs to ``group_x`` (the accountant's rule)."""
    return name.split("@", 1)[0] or None


def _request_cpus(ad: Ad) -> float:
    v = ad.get("RequestCpus", 1)
    return float(v) if isinstance(v, int | float) and not isinstance(v, bool) else 1.0


def negotiate_demand(
    demand: Sequence[JobGroup],
    pool: SlotPool,
    config: NegotiatorConfig,
    usage: accountant.UsageState,
    now: float,
    *,
    evaluator: Evaluator | None = None,
    running: Mapping[str, float] | None = None,
    slot_side: frozenset[str] | None = None,
) -> GroupCycleResult:
    """One negotiation cycle over a persistent :class:`SlotPool` (the incremental API).

    ``demand`` lists each submitter's idle jobs as :class:`JobGroup` entries, in the order the schedd
    would offer them. Matches are claimed in ``pool`` (p-slots lose the resources, static slots become
    claimed); release them with ``pool.release(claim_id)`` when the jobs finish. ``usage`` is the
    accountant state before the cycle; the result's ``usage`` is aged to ``now`` with the resources in
    use after the cycle.
    """
    return _Cycle(pool, config, usage, now, evaluator, running, slot_side).run(demand)
