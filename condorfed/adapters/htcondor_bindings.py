"""What the live-pool adapters share: the htcondor2 module, loaded on first use or injected by tests."""

from __future__ import annotations

from typing import Any


class Bindings:
    """Base of the adapters that talk to daemons through htcondor2.

    ``htcondor`` replaces the module (tests pass an in-memory fake of the htcondor2 boundary); otherwise
    it is imported on first use, so commands that never reach a pool do not load it.
    """

    def __init__(self, pool: str | None = None, *, htcondor: Any = None) -> None:
        self.pool = pool
        self._htc = htcondor

    @property
    def htc(self) -> Any:
        if self._htc is None:
            import htcondor2

            self._htc = htcondor2
        return self._htc


def first_line(exc: BaseException) -> str:
    """An exception's first line, for one-line errors (HTCondor's messages can span several)."""
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]
