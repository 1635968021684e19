"""The simulator's virtual clock: an event heap ordered by (time, sequence).

Ties at the same instant are broken first by a small priority class (state changes such as a
finished job or a booted node before the negotiation cycle and the controller that observe
them), then by the insertion sequence, so two runs with the same inputs and seed pop events in
exactly the same order.
"""

from __future__ import annotations

import heapq
from typing import Any


class EventQueue:
    """A min-heap of ``(time, priority, seq, kind, payload)`` with a monotonic virtual clock."""

    __slots__ = ("_heap", "_seq", "now")

    def __init__(self) -> None:
        self._heap: list[tuple[float, int, int, str, Any]] = []
        self._seq = 0
        self.now = 0.0

    def push(self, time: float, kind: str, payload: Any = None, priority: int = 0) -> None:
        if time < self.now:
            raise ValueError(f"event {kind!r} scheduled in the past ({time} < {self.now})")
        heapq.heappush(self._heap, (time, priority, self._seq, kind, payload))
        self._seq += 1

    def pop(self) -> tuple[float, str, Any]:
        time, _prio, _seq, kind, payload = heapq.heappop(self._heap)
        self.now = time
        return time, kind, payload

    def peek_time(self) -> float | None:
        return self._heap[0][0] if self._heap else None

    def __len__(self) -> int:
        return len(self._heap)
