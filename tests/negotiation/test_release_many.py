"""SlotPool.release_many (a finished run's claims) leaves the pool exactly as releasing one by one."""

from __future__ import annotations

import pytest

from condorfed.core.classads.values import Ad, Expr
from condorfed.core.negotiation import SlotPool

RESOURCES = ("cpus", "memory", "disk", "gpus")


def _slots():
    def p_slot(name: str) -> Ad:
        return Ad(
            Name=name, PartitionableSlot=True, Cpus=8, Memory=32000, Disk=100 * 1024, GPUs=2,
            State="Unclaimed", Requirements=Expr("true"),
        )  # fmt: skip

    static = p_slot("slot1@n3")
    static["PartitionableSlot"] = False
    return [p_slot("slot1@n1"), p_slot("slot1@n2"), static]


# (slot, cpus, memory, disk, gpus, submitter). Memory 0.1 three times on slot 0: giving two back
# as (free + 0.1) + 0.1 and as free + (0.1 + 0.1) differs in the last bit, so the order is checked.
CLAIMS = [
    (0, 1, 0.1, 1024, 0, "a.u"),
    (0, 2, 0.1, 2048, 1, "a.u"),
    (1, 1, 1000.1, 1024, 0, "b.u"),
    (0, 1, 0.1, 512, 0, "b.u"),
    (2, 0, 0, 0, 0, "a.u"),  # the static slot, taken whole
    (1, 3, 3000.7, 1024, 1, "a.u"),
]


def _pool_with_claims():
    pool = SlotPool(_slots())
    ids = [pool.claim(s, c, m, d, g, who, None) for s, c, m, d, g, who in CLAIMS]
    return pool, ids


def _state(pool: SlotPool) -> dict:
    return {
        "cols": {r: pool.column(r).tolist() for r in RESOURCES},
        "ads": [{k: pool.ads[i][k] for k in ("Cpus", "Memory", "Disk", "GPUs")} for i in range(len(pool))],
        "claims": sorted(pool.claims),
        "claimed": pool.claimed.tolist(),
        "usage": pool.usage_by_submitter(),
        "weight": pool.total_weight(),
    }


@pytest.mark.parametrize(
    "release",
    [
        pytest.param([0, 1], id="two-claims-one-slot"),
        pytest.param([0, 1, 3], id="three-claims-one-slot"),
        pytest.param([3, 0], id="out-of-claim-order"),
        pytest.param([2, 5, 0], id="two-slots"),
        pytest.param([4, 1], id="static-slot-and-p-slot"),
        pytest.param([0, 1, 2, 3, 4, 5], id="everything"),
    ],
)
def test_release_many_equals_one_by_one(release):
    one, ids1 = _pool_with_claims()
    together, ids2 = _pool_with_claims()
    for k in release:
        one.release(ids1[k])
    together.release_many([ids2[k] for k in release])
    assert _state(together) == _state(one)


def test_claims_on_a_removed_slot_give_nothing_back():
    one, ids1 = _pool_with_claims()
    together, ids2 = _pool_with_claims()
    for pool in (one, together):
        pool.remove([1])
    # the pool forgot the removed slot's claims; the others go back
    one.release(ids1[0])
    together.release_many([ids2[0]])
    assert _state(together) == _state(one)
    assert together.column("cpus")[0] == 8 - 2 - 1  # claims 1 and 3 still hold 3 cores
