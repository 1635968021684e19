"""The slot pool: slot ads plus the columns the engine changes (resources left on partitionable slots,
claims), kept across negotiation cycles for the simulator and the controller.

A slot is *available* when it is alive and unclaimed; a partitionable slot (``PartitionableSlot =
true``) stays available while it has resources left. Claims carve dynamic slots out of p-slots
(resources are deducted, memory and disk quantized as the default consumption policy does) or take a
whole static slot; releasing a claim gives the resources back. Slot weight is ``Cpus``, HTCondor's
default ``SLOT_WEIGHT``.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from condorfed.core.classads.values import ERROR, UNDEFINED, Ad, Expr

RESOURCES = ("cpus", "memory", "disk", "gpus")
RESOURCE_ATTRS = {"cpus": "Cpus", "memory": "Memory", "disk": "Disk", "gpus": "GPUs"}


def _num(ad: Ad, name: str, default: float = 0.0) -> float:
    v = ad.get(name)
    if isinstance(v, bool) or v is None or v is UNDEFINED or v is ERROR or isinstance(v, Expr | str):
        return default
    return float(v)


def _flag(ad: Ad, name: str) -> bool:
    v = ad.get(name)
    return v is True or (isinstance(v, int | float) and not isinstance(v, bool) and v != 0)


def slot_is_partitionable(ad: Ad) -> bool:
    """``PartitionableSlot`` when the ad has it (the startd always publishes it), else ``SlotType``."""
    if isinstance(ad.get("PartitionableSlot"), bool):
        return ad.get("PartitionableSlot") is True
    st = ad.get("SlotType")
    return isinstance(st, str) and st.lower() == "partitionable"


def slot_remote_submitter(ad: Ad) -> str | None:
    """Who holds a claimed slot, as the accountant names it (AccountingGroup, else RemoteUser/Owner)."""
    for name in ("AccountingGroup", "RemoteUser", "RemoteOwner"):
        v = ad.get(name)
        if isinstance(v, str) and not isinstance(v, Expr) and v:
            return v
    return None


def slot_is_claimed(ad: Ad) -> bool:
    state = ad.get("State")
    if isinstance(state, str) and not isinstance(state, Expr):
        if state.lower() in ("claimed", "preempting"):
            return True
        if state.lower() in ("unclaimed", "owner", "matched", "drained", "backfill"):
            return False
    return slot_remote_submitter(ad) is not None


def _may_rank_preempt(ad: Ad) -> bool:
    """Machine-RANK preemption needs a RANK that can exceed CurrentRank: an expression, or a
    constant above it. HTCondor's default RANK (0) never preempts."""
    rank = ad.get("Rank")
    if isinstance(rank, Expr):
        return True
    return _num(ad, "Rank", 0.0) > _num(ad, "CurrentRank", 0.0)


@dataclass
class MatchCache:
    """One autocluster's evaluation against every slot, valid where ``versions`` equals the pool's."""

    epoch: int
    versions: np.ndarray  # slot version the row was evaluated at; -1: never
    job_ok: np.ndarray
    slot_ok: np.ndarray
    keys: np.ndarray  # (3, n): pre, rank, post
    req: np.ndarray  # (4, n)

    def grow(self, n: int) -> None:
        k = n - len(self.versions)
        if k <= 0:
            return
        self.versions = np.concatenate([self.versions, np.full(k, -1, dtype=np.int64)])
        self.job_ok = np.concatenate([self.job_ok, np.zeros(k, dtype=bool)])
        self.slot_ok = np.concatenate([self.slot_ok, np.zeros(k, dtype=bool)])
        self.keys = np.concatenate([self.keys, np.zeros((3, k))], axis=1)
        self.req = np.concatenate([self.req, np.zeros((4, k))], axis=1)


MATCH_CACHE_ENTRIES = 256
JOURNAL_KEEP = 1 << 16  # slot changes kept for readers that look often (see SlotPool.changed_since)


# Not frozen, though never changed: one per claim, and constructing a frozen dataclass costs
# about four times as much (its __init__ makes an object.__setattr__ call per field).
@dataclass(slots=True)
class Claim:
    """Resources one match took from a slot."""

    slot: int
    cpus: float
    memory: float
    disk: float
    gpus: float
    submitter: str
    group: str | None
    whole_slot: bool  # a static slot (or a preempted claimed slot): the slot itself is claimed


def _frozen(a: np.ndarray) -> np.ndarray:
    a.flags.writeable = False
    return a


class SlotPool:
    """Columnar slot state, persistent across cycles. Slot ids are stable indices (removal marks dead).

    The pool owns copies of the ads it was given and caches evaluation results against them (per slot
    version). Change a machine by removing its slot and adding the new ad; never edit ``ads`` in place.
    """

    def __init__(self, slots: Iterable[Ad] = (), *, cache_matches: bool = True) -> None:
        """``cache_matches``: keep each autocluster's evaluation results between cycles and re-evaluate
        only slots that changed (what a long-lived pool wants; a one-cycle pool does not)."""
        self.ads: list[Ad] = []
        self.cache_matches = cache_matches
        self.match_cache: OrderedDict[tuple, MatchCache] = OrderedDict()
        self.attr_epoch = 0  # bumped when slot attributes change other than resources
        self.slot_expr_info: dict = {}  # see slotonly.py
        self.slot_value_cache: dict = {}
        self.clause_cache: dict = {}  # see slotonly.clause_truth
        self.slot_truth_cache: dict = {}  # see slotonly.slot_truth
        self.content_classes: dict = {}  # see content.py
        self.job_names_memo: dict = {}  # see slotonly.job_side_names
        self.job_value_memo: dict = {}  # see judge.Judge._job_only_value
        # Distinct expression texts per attribute over live slots (lower-case name -> text -> slots):
        # what an expression can reach through slot attributes depends on these alone.
        self._texts: dict[str, dict[str, int]] = {}
        self.layout_version = 0  # bumped when those texts change or slot attributes are edited in place
        self._signatures: dict[int, tuple] = {}  # see expr_signature
        self._signatures_epoch = 0
        # Slots with equal expression signatures share a shape id (see shapes).
        self._shape_ids: dict[tuple, int] = {}
        self._shape_rep: list[int] = []  # a slot of each shape
        self._shape = np.zeros(0, dtype=np.int64)
        self._shape_epoch = 0
        self._shape_masks: dict[int, tuple[int, np.ndarray]] = {}  # shape -> (structure_version, mask)
        self.match_lists: OrderedDict = OrderedDict()  # autocluster key -> MatchList kept across cycles
        self.clause_seen: set = set()
        self.names: list[str] = []
        self._cols: dict[str, np.ndarray] = {r: np.zeros(0) for r in RESOURCES}
        self.partitionable = np.zeros(0, dtype=bool)
        self.rank_preemptible = np.zeros(0, dtype=bool)  # could its RANK ever prefer a new job?
        self.engine_claimed = np.zeros(0, dtype=bool)  # taken whole by a match made here
        self.claimed = np.zeros(0, dtype=bool)
        self.alive = np.zeros(0, dtype=bool)
        self.version = np.zeros(0, dtype=np.int64)
        self._changes: list[int] = []  # slots whose version moved, in order (see changed_since)
        self._changes_base = 0  # journal position of _changes[0]
        self._free: tuple[tuple, np.ndarray] = ((), np.zeros(0, dtype=bool))  # see free_to_match
        self._free_ids: tuple[tuple, np.ndarray] = ((), np.zeros(0, dtype=np.int64))  # see free_ids
        self._alive_ids: tuple[int, np.ndarray] = (-1, np.zeros(0, dtype=np.int64))  # see alive_ids
        self.remote: list[str | None] = []
        self.structure_version = 0  # bumped on add/remove: column tables must be rebuilt
        self.resource_version = 0  # bumped when resource columns change: columns must be refreshed
        self.res_version = dict.fromkeys(RESOURCES, 0)  # per resource column
        self.has_attr = {r: np.zeros(0, dtype=bool) for r in RESOURCES}  # does the ad carry it at all?
        self.claims: dict[int, Claim] = {}
        self._claims_on: dict[int, set[int]] = {}  # slot -> claim ids
        self._claim_usage: dict[str, float] = {}  # submitter -> cpus held through claims made here
        self._carved = 0.0  # cpus carved out of p-slots by claims made here
        self._next_claim = 1
        self.add(slots)

    def keep_match_list(self, key: tuple, ml: object) -> None:
        self.match_lists[key] = ml
        self.match_lists.move_to_end(key)
        while len(self.match_lists) > MATCH_CACHE_ENTRIES:
            self.match_lists.popitem(last=False)

    # ---- structure -------------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self.ads)

    def add(self, slots: Iterable[Ad]) -> list[int]:
        """Add slot ads (copied: the pool updates resources in its own copies). Returns their ids."""
        new = [ad.copy() for ad in slots]
        if not new:
            return []
        start = len(self.ads)
        self.ads.extend(new)
        # One pass over the ads' lower-case dicts (a pool at scale has tens of thousands of slots).
        # Plain numbers, a bool PartitionableSlot, an "Unclaimed" State and a numeric RANK are read
        # directly; anything else goes through the module's helpers, which define the semantics.
        number = (int, float)
        defaults = {r: 1.0 if r == "cpus" else 0.0 for r in RESOURCES}
        cols: dict[str, list[float]] = {r: [] for r in RESOURCES}
        has: dict[str, list[bool]] = {r: [] for r in RESOURCES}
        partitionable: list[bool] = []
        claimed: list[bool] = []
        preemptible: list[bool] = []
        for ad in new:
            low = ad.lower_items()
            name = low.get("name")
            self.names.append(name if isinstance(name, str) else f"slot#{len(self.names)}")
            for r in RESOURCES:
                v = low.get(r)
                cols[r].append(float(v) if type(v) in number else _num(ad, r, defaults[r]))
                has[r].append(r in low)
            p = low.get("partitionableslot")
            partitionable.append(p if type(p) is bool else slot_is_partitionable(ad))
            state = low.get("state")
            is_claimed = False if type(state) is str and state.lower() == "unclaimed" else slot_is_claimed(ad)
            claimed.append(is_claimed)
            self.remote.append(slot_remote_submitter(ad) if is_claimed else None)
            rank, current = low.get("rank", 0.0), low.get("currentrank", 0.0)
            if type(rank) in number and type(current) in number:
                preemptible.append(float(rank) > float(current))
            else:
                preemptible.append(_may_rank_preempt(ad))
        for r in RESOURCES:
            self.has_attr[r] = np.concatenate([self.has_attr[r], np.array(has[r], dtype=bool)])
            self._cols[r] = np.concatenate([self._cols[r], np.array(cols[r], dtype=float)])
        self.partitionable = np.concatenate([self.partitionable, np.array(partitionable, dtype=bool)])
        self.rank_preemptible = np.concatenate([self.rank_preemptible, np.array(preemptible, dtype=bool)])
        self.engine_claimed = np.concatenate([self.engine_claimed, np.zeros(len(new), dtype=bool)])
        self.claimed = np.concatenate([self.claimed, np.array(claimed, dtype=bool)])
        self.alive = np.concatenate([self.alive, np.ones(len(new), dtype=bool)])
        self.version = np.concatenate([self.version, np.zeros(len(new), dtype=np.int64)])
        self.structure_version += 1
        shapes = [self._shape_of(start + k, self._count_texts(ad, 1)) for k, ad in enumerate(new)]
        self._shape = np.concatenate([self._shape, np.array(shapes, dtype=np.int64)])
        return list(range(start, len(self.ads)))

    def remove(self, ids: Iterable[int]) -> list[Claim]:
        """Mark slots dead (a machine left). Returns the claims that were running on them (now gone)."""
        lost = []
        for i in set(ids):
            for cid in sorted(self._claims_on.pop(i, ())):
                lost.append(self._forget(cid))
            if self.alive[i]:
                self._count_texts(self.ads[i], -1)
            self.alive[i] = False
        self.structure_version += 1
        return lost

    def _count_texts(self, ad: Ad, step: int) -> tuple:
        """Count (or uncount) the ad's expression texts; returns its expression signature."""
        sig = []
        for name, value in ad.lower_items().items():
            if type(value) is not Expr:
                continue
            sig.append((name, value))
            texts = self._texts.setdefault(name, {})
            left = texts.get(value, 0) + step
            if left > 0:
                texts[value] = left
            else:
                del texts[value]
            if (left == 1 and step > 0) or left == 0:
                self.layout_version += 1
        return tuple(sig)

    def _shape_of(self, i: int, sig: tuple) -> int:
        if self._signatures_epoch == self.attr_epoch:
            self._signatures[i] = sig
        shape = self._shape_ids.get(sig)
        if shape is None:
            shape = self._shape_ids[sig] = len(self._shape_rep)
            self._shape_rep.append(i)
        return shape

    def shapes(self) -> tuple[np.ndarray, list[int]]:
        """(shape id of every slot, a slot of each shape). Slots of one shape have the same expression
        signature, so an expression reads the same job attributes from each of them."""
        if self._shape_epoch != self.attr_epoch:  # edited in place: work the signatures out again
            self._shape_ids, self._shape_rep, self._shape_masks = {}, [], {}
            sigs = [self.expr_signature(i) for i in range(len(self.ads))]
            self._shape = np.array([self._shape_of(i, sig) for i, sig in enumerate(sigs)], dtype=np.int64)
            self._shape_epoch = self.attr_epoch
        return self._shape, self._shape_rep

    def shape_exprs(self, shape: int) -> dict[str, Expr]:
        """The expression-valued attributes (lower-case name -> text) every slot of ``shape`` has."""
        return dict(self.expr_signature(self.shapes()[1][shape]))

    def shape_mask(self, shape: int) -> np.ndarray:
        """Live slots of one shape (kept until slots come or go: do not write to it)."""
        hit = self._shape_masks.get(shape)
        if hit is None or hit[0] != self.structure_version:
            ids, _ = self.shapes()
            hit = self._shape_masks[shape] = (self.structure_version, self.alive & (ids == shape))
        return hit[1]

    def expr_signature(self, i: int) -> tuple:
        """Slot ``i``'s expression-valued attributes as ((name, text), ...): slots with equal
        signatures read the same attributes through them (cached; reset by in-place edits)."""
        if self._signatures_epoch != self.attr_epoch:
            self._signatures, self._signatures_epoch = {}, self.attr_epoch
        sig = self._signatures.get(i)
        if sig is None:
            sig = self._signatures[i] = tuple(
                (k, v) for k, v in self.ads[i].lower_items().items() if type(v) is Expr
            )
        return sig

    def expr_texts(self, name: str) -> tuple[str, ...]:
        """The distinct expression texts live slots give attribute ``name`` (lower case), sorted."""
        return tuple(sorted(self._texts.get(name, ())))

    # ---- resources -------------------------------------------------------------------------
    def _moved(self, i: int) -> None:
        self.version[i] += 1
        self.resource_version += 1
        changes = self._changes
        changes.append(i)
        if len(changes) > 2 * JOURNAL_KEEP:
            del changes[:JOURNAL_KEEP]
            self._changes_base += JOURNAL_KEEP

    def changed_since(self, mark: int) -> tuple[list[int] | None, int]:
        """The slots whose version moved (claims, releases) since journal position ``mark``, and the
        position now. None instead of slots when ``mark`` is older than the journal keeps (or -1):
        compare versions instead. Slots added or removed are not in it (``structure_version``)."""
        end = self._changes_base + len(self._changes)
        if mark < self._changes_base:
            return None, end
        return self._changes[mark - self._changes_base :], end

    def column(self, resource: str) -> np.ndarray:
        return self._cols[resource]

    def weight(self) -> np.ndarray:
        """SLOT_WEIGHT (= Cpus) of every slot."""
        return self._cols["cpus"]

    def available(self) -> np.ndarray:
        return self.alive & ~self.claimed

    def free_to_match(self) -> np.ndarray:
        """Slots that can take a job without preemption: live unclaimed slots, and live p-slots with
        cpus left (an empty p-slot takes nobody). Kept until the pool changes: do not write to it."""
        tick = (self.resource_version, self.structure_version)
        if self._free[0] != tick:
            part = self.partitionable
            self._free = (tick, self.alive & ~(part & (self._cols["cpus"] <= 0)) & (part | ~self.claimed))
        return self._free[1]

    def free_ids(self) -> np.ndarray:
        """The ids of :meth:`free_to_match`, ascending; the same array until the pool changes, so
        per-slot caches can tell a repeated question at a glance (do not write to it)."""
        tick = (self.resource_version, self.structure_version)
        if self._free_ids[0] != tick:
            self._free_ids = (tick, _frozen(np.flatnonzero(self.free_to_match())))
        return self._free_ids[1]

    def alive_ids(self) -> np.ndarray:
        """The ids of live slots, ascending; the same array until slots come or go (do not write to it)."""
        if self._alive_ids[0] != self.structure_version:
            self._alive_ids = (self.structure_version, _frozen(np.flatnonzero(self.alive)))
        return self._alive_ids[1]

    def is_free_to_match(self, i: int) -> bool:
        """:meth:`free_to_match` for slot ``i`` alone (no pass over the pool)."""
        if not self.alive[i]:
            return False
        if self.partitionable[i]:
            return bool(self._cols["cpus"][i] > 0)
        return not self.claimed[i]

    def total_weight(self) -> float:
        """The pool size the pie is cut from: every live slot's weight, claimed or not, plus the weight
        claimed out of p-slots (their dynamic slots)."""
        return float(self._cols["cpus"][self.alive].sum()) + self._carved

    def _remember(self, claim: Claim) -> int:
        cid = self._next_claim
        self._next_claim += 1
        self.claims[cid] = claim
        self._claims_on.setdefault(claim.slot, set()).add(cid)
        self._claim_usage[claim.submitter] = self._claim_usage.get(claim.submitter, 0.0) + claim.cpus
        if not claim.whole_slot:
            self._carved += claim.cpus
        else:
            self.engine_claimed[claim.slot] = True
        return cid

    def _forget(self, cid: int) -> Claim:
        claim = self.claims.pop(cid)
        on = self._claims_on.get(claim.slot)
        if on is not None:
            on.discard(cid)
            if not on:
                del self._claims_on[claim.slot]
        left = self._claim_usage.get(claim.submitter, 0.0) - claim.cpus
        if left > 1e-9:
            self._claim_usage[claim.submitter] = left
        else:
            self._claim_usage.pop(claim.submitter, None)
        if not claim.whole_slot:
            self._carved -= claim.cpus
        else:
            self.engine_claimed[claim.slot] = False
        return claim

    def drop_claims_on(self, slot: int) -> list[Claim]:
        """Forget the claims made here on ``slot`` (its job was preempted)."""
        return [self._forget(cid) for cid in sorted(self._claims_on.get(slot, set()).copy())]

    def _set_resources(self, i: int, cpus: float, memory: float, disk: float, gpus: float) -> None:
        ad, cols, versions = self.ads[i], self._cols, self.res_version
        values = ad.lower_items()
        for r, name, v in (
            ("cpus", "Cpus", cpus),
            ("memory", "Memory", memory),
            ("disk", "Disk", disk),
            ("gpus", "GPUs", gpus),
        ):
            col = cols[r]
            if col.item(i) == v:  # .item: a Python float, no numpy scalar
                continue
            col[i] = v
            versions[r] += 1
            if r not in values:  # the ad gains the attribute (a dict test costs less than a numpy write)
                self.has_attr[r][i] = True
            v = float(v)  # a Python number in the ad, as content classes key it
            ad.set_lower(r, name, int(v) if v.is_integer() else v)
        self._moved(i)

    def claim(
        self, i: int, cpus: float, memory: float, disk: float, gpus: float, submitter: str, group: str | None
    ) -> int:
        """Carve a dynamic slot out of p-slot ``i`` (or take static slot ``i`` whole). Returns a claim id."""
        if self.partitionable[i]:
            c = self._cols
            self._set_resources(
                i, c["cpus"][i] - cpus, c["memory"][i] - memory, c["disk"][i] - disk, c["gpus"][i] - gpus
            )
            claim = Claim(i, cpus, memory, disk, gpus, submitter, group, whole_slot=False)
        else:
            c = self._cols
            claim = Claim(i, c["cpus"][i], c["memory"][i], c["disk"][i], c["gpus"][i], submitter, group, True)
            self.claimed[i] = True
            self.remote[i] = submitter
            self._moved(i)
        return self._remember(claim)

    def claim_many(
        self,
        i: int,
        n: int,
        cpus: float,
        memory: float,
        disk: float,
        gpus: float,
        submitter: str,
        group: str | None,
    ) -> list[int]:
        """``n`` claims of the same request on p-slot ``i``: the same claims and end state as ``n``
        calls of :meth:`claim` (the resources are taken one request at a time, as those would), with
        the slot written once."""
        claim = Claim(i, cpus, memory, disk, gpus, submitter, group, whole_slot=False)
        ids = [self._remember(claim) for _ in range(n)]
        self._set_resources(i, *self.left_after(i, (cpus, memory, disk, gpus), n))
        return ids

    def left_after(self, i: int, request: tuple[float, ...], claims: int) -> list[float]:
        """P-slot ``i``'s resources after ``claims`` more claims of ``request``, subtracted one claim at
        a time as :meth:`claim` does (so the floats are the ones the slot will hold)."""
        c = self._cols
        cpus, memory, disk, gpus = (
            c["cpus"].item(i),
            c["memory"].item(i),
            c["disk"].item(i),
            c["gpus"].item(i),
        )
        dc, dm, dd, dg = request
        for _ in range(claims):  # unrolled: a claim path
            cpus, memory, disk, gpus = cpus - dc, memory - dm, disk - dd, gpus - dg
        return [cpus, memory, disk, gpus]

    def release(self, claim_id: int) -> None:
        """A job finished: its dynamic slot's resources go back to the p-slot, or the static slot is free."""
        claim = self._forget(claim_id)
        i = claim.slot
        if not self.alive[i]:
            return
        if claim.whole_slot:
            self.claimed[i] = False
            self.remote[i] = None
            self._moved(i)
        else:
            c = self._cols
            self._set_resources(
                i,
                c["cpus"][i] + claim.cpus,
                c["memory"][i] + claim.memory,
                c["disk"][i] + claim.disk,
                c["gpus"][i] + claim.gpus,
            )

    def release_many(self, claim_ids: Iterable[int]) -> None:
        """Release several claims (a finished batch of jobs): the same end state as :meth:`release`
        one by one, with each p-slot's resources written once. The sums are taken in claim order from
        the slot's column, exactly the additions one release after another would make."""
        back: dict[int, list[float]] = {}  # p-slot -> resources after the releases so far
        c = self._cols
        for cid in claim_ids:
            claim = self.claims[cid]
            if claim.whole_slot:
                self.release(cid)
                continue
            self._forget(cid)
            i = claim.slot
            if not self.alive[i]:
                continue  # the machine left: nothing goes back
            acc = back.get(i)
            if acc is None:
                acc = back[i] = [c["cpus"][i], c["memory"][i], c["disk"][i], c["gpus"][i]]
            acc[0] += claim.cpus
            acc[1] += claim.memory
            acc[2] += claim.disk
            acc[3] += claim.gpus
        for i, (cpus, memory, disk, gpus) in back.items():
            self._set_resources(i, cpus, memory, disk, gpus)

    def usage_by_submitter(self) -> dict[str, float]:
        """Weighted resources in use per submitter: claims made here plus slots claimed in the input ads."""
        out: dict[str, float] = dict(self._claim_usage)
        for i in np.flatnonzero(self.alive & self.claimed).tolist():
            if i in self._claims_on:
                continue  # claimed through a claim made here: already counted
            who = self.remote[i]
            if who:
                out[who] = out.get(who, 0.0) + float(self._cols["cpus"][i])
        return out

    def slot_ids(self, rows: Sequence[int] | np.ndarray) -> list[str]:
        return [self.names[int(i)] for i in rows]
