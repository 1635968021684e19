"""The burst controller's pure core: campaigns, observations, demand, limits and ``decide()``.

``decide(state, policy, campaign, now) -> list[Action]`` (and ``step`` for the next memory).
"""

from condorfed.core.burst.actions import (
    ACTION_KINDS,
    Action,
    BackOff,
    Cancel,
    Drain,
    Remove,
    ScaleUp,
    describe,
)
from condorfed.core.burst.campaign import Backoff, Campaign, RampUp, ScaleDown, parse_campaign
from condorfed.core.burst.decide import Decision, campaign_clusters, decide, step
from condorfed.core.burst.demand import ClusterDemand, Demand, is_free, unmet_demand
from condorfed.core.burst.policy import BurstPolicy, ClusterShape
from condorfed.core.burst.state import (
    ClusterMemory,
    ControllerMemory,
    JobGroup,
    ObservedState,
    Worker,
    WorkerMemory,
    group_jobs,
)

__all__ = [
    "ACTION_KINDS",
    "Action",
    "BackOff",
    "Backoff",
    "BurstPolicy",
    "Campaign",
    "Cancel",
    "ClusterDemand",
    "ClusterMemory",
    "ClusterShape",
    "ControllerMemory",
    "Decision",
    "Demand",
    "Drain",
    "JobGroup",
    "ObservedState",
    "RampUp",
    "Remove",
    "ScaleDown",
    "ScaleUp",
    "Worker",
    "WorkerMemory",
    "campaign_clusters",
    "decide",
    "describe",
    "group_jobs",
    "is_free",
    "parse_campaign",
    "step",
    "unmet_demand",
]
