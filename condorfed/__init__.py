"""condorfed: federate HTCondor pools across Kubernetes clusters.

Public entry points are re-exported here; everything else is internal and may move.
"""

from __future__ import annotations

from condorfed.core.federation.planner import plan_slots  # stdlib only: keeps `import condorfed` light

__version__ = "0.1.0"

__all__ = ["__version__", "plan_slots"]
