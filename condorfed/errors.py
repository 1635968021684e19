"""condorfed's error hierarchy.

Every error a user can cause derives from :class:`CondorfedError`; the CLI turns it into one
line on stderr and exit code 2 (see ``condorfed.cli.main``). Anything else is a bug and keeps
its traceback.
"""

from __future__ import annotations


class CondorfedError(Exception):
    """Root of every user-facing condorfed error. ``str(err)`` is the one line shown."""

    exit_code = 2


class ConfigError(CondorfedError):
    """A configuration file (federation.yaml, campaign.yaml, condor config) is invalid."""


class AdParseError(CondorfedError):
    """A ClassAd file, JSON ad dump or submit description could not be read."""


class ExpressionError(CondorfedError):
    """A ClassAd expression could not be parsed."""


class ClusterError(CondorfedError):
    """A Kubernetes cluster refused, failed or could not be reached."""


class PoolError(CondorfedError):
    """The HTCondor pool (collector, schedd, startd) refused, failed or could not be reached."""


class TokenError(CondorfedError):
    """An IDTOKEN or signing key is malformed or does not verify."""


class SimulationError(CondorfedError):
    """A simulation input is invalid, or a run broke one of its invariants."""
