"""Fair-share tests build their pools and jobs exactly as the negotiation tests do."""

from __future__ import annotations

from ..negotiation.conftest import evaluator, jobs, slots

__all__ = ["evaluator", "jobs", "slots"]
