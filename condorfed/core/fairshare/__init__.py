"""Fair share as HTCondor's negotiator does it: the accountant (RUP/EUP, half-life, priority factors),
hierarchical accounting-group quotas with surplus sharing, and the pie spin.

Everything here is pure; :mod:`condorfed.core.negotiation` drives it during a negotiation cycle.
"""

from condorfed.core.fairshare.accountant import (
    MIN_PRIORITY,
    SubmitterUsage,
    UsageState,
    advance,
    decay,
    with_usage,
)
from condorfed.core.fairshare.groups import (
    ROOT_GROUP,
    GroupEntry,
    GroupSpec,
    assign_quotas,
    build_tree,
    fairshare,
    group_of,
    negotiation_order,
    strict_limit,
)
from condorfed.core.fairshare.pie import shares, submitter_limits

__all__ = [
    "MIN_PRIORITY",
    "ROOT_GROUP",
    "GroupEntry",
    "GroupSpec",
    "SubmitterUsage",
    "UsageState",
    "advance",
    "assign_quotas",
    "build_tree",
    "decay",
    "fairshare",
    "group_of",
    "negotiation_order",
    "shares",
    "strict_limit",
    "submitter_limits",
    "with_usage",
]
