"""condorfed: federate HTCondor pools across Kubernetes clusters.

Public entry points are re-exported here; everything else is internal and may move.
"""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["__version__"]
