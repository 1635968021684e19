"""Job ads and idle queues of the simulation, grouped the way the negotiator groups them.

Jobs of a trace entry are identical, so the simulator keeps them as counted *batches*, and all
entries with the same job ad (owner, group, request, Requirements) share one queue: one
autocluster. A batch is split when only part of it is matched.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from condorfed.core.classads.values import Ad, Expr
from condorfed.sim.trace import TraceEntry

UID_DOMAIN = "sim.condorfed"
NO_GROUP = "<none>"


@dataclass(slots=True)
class Batch:
    """``count`` jobs of trace entry ``entry``, idle since ``idle_since`` (or running)."""

    entry: int
    count: int
    submit: float
    runtime: float
    idle_since: float
    waited: float = 0.0  # idle seconds accumulated before ``idle_since``
    restarts: int = 0


@dataclass(slots=True)
class JobQueue:
    """The idle jobs of one autocluster, oldest first."""

    key: int
    ad: Ad
    submitter: str
    group: str | None
    cpus: int
    memory: int
    disk: int  # KiB
    gpus: int
    idle: deque[Batch] = field(default_factory=deque)
    idle_count: int = 0

    def take(self, count: int, now: float) -> list[Batch]:
        """Pop ``count`` jobs from the front, splitting a batch if needed; their wait is booked."""
        taken: list[Batch] = []
        need = count
        while need > 0:
            if not self.idle:
                raise AssertionError(
                    f"autocluster {self.key}: asked for {count} jobs, {self.idle_count} idle"
                )
            head = self.idle[0]
            if head.count <= need:
                self.idle.popleft()
                piece = head
            else:
                head.count -= need
                piece = Batch(
                    head.entry, need, head.submit, head.runtime, head.idle_since, head.waited, head.restarts
                )
            piece.waited += now - piece.idle_since
            taken.append(piece)
            need -= piece.count
        self.idle_count -= count
        return taken

    def requeue_front(self, batches: list[Batch], now: float) -> None:
        """Evicted jobs go back to idle ahead of newer ones (their QDate is older)."""
        for b in sorted(batches, key=lambda b: (b.submit, b.entry), reverse=True):
            b.idle_since = now
            b.restarts += 1
            self.idle.appendleft(b)
            self.idle_count += b.count


def job_key(entry: TraceEntry) -> tuple:
    return (entry.owner, entry.group, entry.cpus, entry.memory, entry.disk, entry.gpus, entry.requirements)


def submitter_of(entry: TraceEntry) -> str:
    """HTCondor's submitter name: AccountingGroup (group.user) if set, else User."""
    if entry.group:
        return f"{entry.group}.{entry.owner}"
    return f"{entry.owner}@{UID_DOMAIN}"


def job_ad(entry: TraceEntry, cluster_id: int) -> Ad:
    """A job ad as condor_submit would make it, including its default resource Requirements."""
    clauses = []
    if entry.requirements:
        clauses.append(f"({entry.requirements})")
    clauses += [
        "(TARGET.Cpus >= RequestCpus)",
        "(TARGET.Memory >= RequestMemory)",
        "(TARGET.Disk >= RequestDisk)",
    ]
    if entry.gpus:
        clauses.append("(TARGET.GPUs >= RequestGPUs)")
    ad = Ad(
        MyType="Job",
        ClusterId=cluster_id,
        ProcId=0,
        JobStatus=1,
        JobUniverse=5,
        Owner=entry.owner,
        User=f"{entry.owner}@{UID_DOMAIN}",
        RequestCpus=entry.cpus,
        RequestMemory=entry.memory,
        RequestDisk=entry.disk * 1024,  # KiB, HTCondor's unit
        RequestGPUs=entry.gpus,
        Rank=0.0,
        Requirements=Expr(" && ".join(clauses)),
    )
    if entry.group:
        ad["AcctGroup"] = entry.group
        ad["AcctGroupUser"] = entry.owner
        ad["AccountingGroup"] = f"{entry.group}.{entry.owner}"
    return ad


def build_queues(
    trace: list[TraceEntry], transform: Callable[[Ad], Ad] | None = None
) -> tuple[list[JobQueue], list[int]]:
    """One queue per distinct job ad, and for each trace entry the key of its queue."""
    keys: dict[tuple, int] = {}
    queues: list[JobQueue] = []
    entry_key: list[int] = []
    for e in trace:
        k = job_key(e)
        idx = keys.get(k)
        if idx is None:
            idx = len(queues)
            keys[k] = idx
            ad = job_ad(e, cluster_id=idx + 1)
            if transform is not None:
                ad = transform(ad)
            queues.append(
                JobQueue(idx, ad, submitter_of(e), e.group, e.cpus, e.memory, e.disk * 1024, e.gpus)
            )
        entry_key.append(idx)
    return queues, entry_key
