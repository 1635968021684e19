"""Fixtures for the simulator tests: a deliberately naive matchmaker *for tests only*.

The product simulator always uses condorfed's negotiation engine (``condorfed.sim.engine``).
Tests of the simulator's own mechanics (clock, cost, waits, preemption, invariants) use this
first-fit stand-in so that their hand-computed expectations do not depend on fair-share detail.
"""

from __future__ import annotations

import classad2
import pytest

from condorfed.core.classads.values import Ad, Expr
from condorfed.sim.ports import Demand, Grant


def _classad(ad: Ad) -> classad2.ClassAd:
    c = classad2.ClassAd()
    for k, v in ad.items():
        c[k] = classad2.ExprTree(str(v)) if isinstance(v, Expr) else v
    return c


class FirstFit:
    """Demand in the given order, slots in id order, resources only plus the job's Requirements."""

    def __init__(self) -> None:
        self.slots: dict[int, list] = {}
        self.usage_calls = 0
        self._cache: dict = {}
        self.claims: dict[int, tuple] = {}
        self._next = 1

    def add_slot(self, slot: int, ad: Ad) -> None:
        self.slots[slot] = [ad, int(ad["Cpus"]), int(ad["Memory"]), int(ad["Disk"]), int(ad["GPUs"]), True]

    def close_slot(self, slot: int) -> None:
        self.slots[slot][5] = False

    def remove_slot(self, slot: int) -> None:
        self.slots.pop(slot, None)

    def release(self, slot: int, claims: tuple[int, ...]) -> None:
        for cid in claims:
            sid, c, m, dk, g = self.claims.pop(cid)
            if sid in self.slots:
                s = self.slots[sid]
                s[1] += c
                s[2] += m
                s[3] += dk
                s[4] += g

    def account(self, running, now: float) -> None:
        self.usage_calls += 1

    def can_match(self, job: Ad, slot: Ad) -> bool:
        key = (id(job), str(slot.get("FedCluster")), int(slot["GPUs"]) > 0)
        hit = self._cache.get(key)
        if hit is None:
            hit = self._cache[key] = bool(_classad(job).matches(_classad(slot)))
        return hit

    def negotiate(self, demand: list[Demand], running, now: float) -> list[Grant]:
        self.usage_calls += 1
        grants = []
        for d in demand:
            if d.count == 0:
                continue
            c, m, dk, g = (
                int(d.ad[a]) for a in ("RequestCpus", "RequestMemory", "RequestDisk", "RequestGPUs")
            )
            left = d.count
            for sid in sorted(self.slots):
                s = self.slots[sid]
                if left == 0:
                    break
                if not s[5] or not self.can_match(d.ad, s[0]):
                    continue
                fit = min(
                    s[1] // max(c, 1),
                    s[2] // m if m else left,
                    s[3] // dk if dk else left,
                    s[4] // g if g else left,
                )
                n = min(fit, left)
                if n <= 0:
                    continue
                s[1] -= n * c
                s[2] -= n * m
                s[3] -= n * dk
                s[4] -= n * g
                left -= n
                ids = tuple(range(self._next, self._next + n))
                self._next += n
                for cid in ids:
                    self.claims[cid] = (sid, c, m, dk, g)
                grants.append(Grant(d.key, sid, n, c, m, dk, g, ids))
        return grants


@pytest.fixture
def first_fit() -> FirstFit:
    return FirstFit()


@pytest.fixture
def make_first_fit() -> type[FirstFit]:
    return FirstFit


TINY_FEDERATION = """\
federation: {name: tiny, trustDomain: tiny.example, negotiatorInterval: 60, controllerInterval: 60}
clusters:
  - {name: site, type: onprem, nodes: 2, node: {cpus: 4, memory: 16000}}
  - {name: burst, type: cloud, nodes: 0, node: {cpus: 4, memory: 16000}, maxCores: 16,
     costPerCoreHour: 0.1, provisioningSeconds: 120}
rules:
  - fill: [site, "*"]
  - require: site
    when: 'AcctGroup =?= "local"'
fairshare:
  halfLife: 3600
  groups:
    physics: {quota: 0.7, acceptSurplus: true}
    local: {quota: 0.3, acceptSurplus: true}
"""

TINY_TRACE = """\
{"submit": 0, "owner": "ann", "group": "physics", "cpus": 1, "memory": 1000, "runtime": 900, "count": 40}
{"submit": 0, "owner": "lou", "group": "local", "cpus": 1, "memory": 1000, "runtime": 600, "count": 10}
{"submit": 1800, "owner": "ann", "group": "physics", "cpus": 2, "memory": 2000, "runtime": 300, "count": 6}
"""


@pytest.fixture
def tiny_files(tmp_path):
    fed = tmp_path / "federation.yaml"
    trace = tmp_path / "trace.jsonl"
    fed.write_text(TINY_FEDERATION)
    trace.write_text(TINY_TRACE)
    return fed, trace
