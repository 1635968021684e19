"""Turning what the kubernetes client raises into one-line :class:`ClusterError`s.

Every failure names the kube context and the object (``PATCH apps/v1 DaemonSet condor/startd``), so the
CLI's single line says where it went wrong without a traceback.
"""

from __future__ import annotations

import json
import socket

import urllib3

from condorfed.errors import ClusterError

# Statuses worth another try: the API server or something in front of it is overloaded or restarting.
RETRYABLE_STATUSES = frozenset({429, 500, 502, 503, 504})


class ApiStatusError(ClusterError):
    """The API server answered with an error status (kept so callers can branch on 404/409)."""

    def __init__(self, message: str, status: int, reason: str = "", retry_after: float | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.reason = reason
        self.retry_after = retry_after  # seconds the server asked us to wait (429/503 Retry-After)


class ConflictError(ApiStatusError):
    """409: the object changed since it was read (replace) or already exists (create)."""


class NotFoundError(ApiStatusError):
    """404: the object, or its namespace, does not exist."""


class UnreachableError(ClusterError):
    """The API server could not be reached (refused, timed out, TLS or DNS failure)."""


def status_message(body: bytes | str | None) -> str:
    """The ``message`` of a Kubernetes ``Status`` body, or the first line of whatever came back."""
    if not body:
        return ""
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
    try:
        data = json.loads(text)
    except ValueError:
        return text.strip().splitlines()[0][:200] if text.strip() else ""
    if isinstance(data, dict):
        return str(data.get("message") or data.get("reason") or "")[:300]
    return ""


def status_error(
    where: str, status: int, reason: str, body: bytes | str | None, retry_after: str | None = None
) -> ApiStatusError:
    detail = status_message(body)
    text = f"{where}: HTTP {status} {reason}".rstrip()
    if detail:
        text += f": {detail}"
    cls = {404: NotFoundError, 409: ConflictError}.get(status, ApiStatusError)
    wait = float(retry_after) if retry_after and retry_after.strip().isdigit() else None
    return cls(" ".join(text.split()), status, reason, wait)


def transport_error(where: str, exc: BaseException, timeout: float) -> UnreachableError:
    """One line for a connection failure; never the urllib3 repr with its pool object."""
    root: BaseException = exc
    if isinstance(exc, urllib3.exceptions.MaxRetryError) and exc.reason is not None:
        root = exc.reason
    if isinstance(root, urllib3.exceptions.TimeoutError | socket.timeout | TimeoutError):
        why = f"timed out after {timeout:g}s"
    elif isinstance(root, urllib3.exceptions.NewConnectionError | ConnectionRefusedError):
        why = "connection refused or host unreachable"
    elif isinstance(root, urllib3.exceptions.NameResolutionError):
        why = "host name does not resolve"
    elif isinstance(root, urllib3.exceptions.SSLError):
        why = "TLS handshake failed"
    elif isinstance(root, urllib3.exceptions.ProtocolError):
        why = "connection dropped"
    else:
        why = type(root).__name__
    return UnreachableError(f"{where}: API server unreachable ({why})")


def is_retryable(exc: BaseException) -> bool:
    if isinstance(exc, UnreachableError):
        return True
    return isinstance(exc, ApiStatusError) and exc.status in RETRYABLE_STATUSES
