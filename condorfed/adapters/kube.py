"""The one place that talks to Kubernetes API servers, through the official ``kubernetes`` client.

- :func:`connect` loads a kubeconfig context the way kubectl does (``KUBECONFIG``, exec plugins, the
  current context when none is named); an unknown context is a :class:`ClusterError` naming it.
- :class:`KubeClient` is a small generic API on plain object dicts: server-side apply under a field
  manager, get/list/delete, create/replace with optimistic concurrency, merge patches, plus helpers the
  burst actuators and campaign state reuse (node labels, Deployment scale, ConfigMaps, Leases).
- Every request has a bounded (connect, read) timeout. 429/5xx answers and transport failures are retried
  with exponential backoff inside a total deadline; every failure becomes one line naming the context and
  the object (see :mod:`condorfed.adapters.kube_errors`).

Object dicts use the wire format (``apiVersion``, ``kind``, ``metadata``...), so what ``render`` prints is
exactly what is applied.
"""

from __future__ import annotations

import base64
import contextlib
import json
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable
from urllib.parse import quote

import urllib3

from condorfed.adapters.kube_errors import (
    ApiStatusError,
    ConflictError,
    NotFoundError,
    UnreachableError,
    is_retryable,
    status_error,
    transport_error,
)
from condorfed.errors import ClusterError

__all__ = [
    "FIELD_MANAGER",
    "ApiStatusError",
    "ClusterClient",
    "ConflictError",
    "KubeClient",
    "NotFoundError",
    "RetryPolicy",
    "UnreachableError",
    "connect",
    "list_contexts",
    "object_ref",
]

log = logging.getLogger(__name__)

FIELD_MANAGER = "condorfed"

# (apiVersion, kind) -> (plural, namespaced). Kinds not listed are found through API discovery.
KINDS: dict[tuple[str, str], tuple[str, bool]] = {
    ("v1", "Namespace"): ("namespaces", False),
    ("v1", "Node"): ("nodes", False),
    ("v1", "ServiceAccount"): ("serviceaccounts", True),
    ("v1", "Secret"): ("secrets", True),
    ("v1", "ConfigMap"): ("configmaps", True),
    ("v1", "Service"): ("services", True),
    ("v1", "PersistentVolumeClaim"): ("persistentvolumeclaims", True),
    ("v1", "Pod"): ("pods", True),
    ("apps/v1", "Deployment"): ("deployments", True),
    ("apps/v1", "StatefulSet"): ("statefulsets", True),
    ("apps/v1", "DaemonSet"): ("daemonsets", True),
    ("rbac.authorization.k8s.io/v1", "Role"): ("roles", True),
    ("rbac.authorization.k8s.io/v1", "RoleBinding"): ("rolebindings", True),
    ("rbac.authorization.k8s.io/v1", "ClusterRole"): ("clusterroles", False),
    ("rbac.authorization.k8s.io/v1", "ClusterRoleBinding"): ("clusterrolebindings", False),
    ("coordination.k8s.io/v1", "Lease"): ("leases", True),
    ("policy/v1", "PodDisruptionBudget"): ("poddisruptionbudgets", True),
    ("scheduling.k8s.io/v1", "PriorityClass"): ("priorityclasses", False),
}


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff: ``base * 2**n`` capped at ``cap`` seconds, at most ``attempts`` tries and
    never past ``deadline`` seconds after the first try."""

    attempts: int = 5
    base: float = 0.25
    cap: float = 4.0
    deadline: float = 60.0

    def delay(self, attempt: int) -> float:
        return min(self.cap, self.base * (2**attempt))


def object_ref(obj: Mapping[str, Any]) -> str:
    """``apps/v1 DaemonSet condor/startd``: how objects are named in messages."""
    meta = obj.get("metadata") or {}
    ns = meta.get("namespace")
    name = meta.get("name", "?")
    return f"{obj.get('apiVersion', '?')} {obj.get('kind', '?')} {ns + '/' if ns else ''}{name}"


@runtime_checkable
class ClusterClient(Protocol):
    """What workflows need from a cluster; :class:`KubeClient` implements it, tests may fake it."""

    context: str
    server: str

    def apply(
        self, obj: Mapping[str, Any], *, field_manager: str = ..., force: bool = ..., dry_run: bool = ...
    ) -> dict[str, Any]: ...

    def get(self, api_version: str, kind: str, name: str, namespace: str | None = None) -> dict | None: ...

    def list(
        self, api_version: str, kind: str, namespace: str | None = None, label_selector: str | None = None
    ) -> list[dict[str, Any]]: ...

    def delete(self, api_version: str, kind: str, name: str, namespace: str | None = None) -> bool: ...

    def create(self, obj: Mapping[str, Any]) -> dict[str, Any]: ...

    def replace(self, obj: Mapping[str, Any]) -> dict[str, Any]: ...

    def namespace_uid(self, name: str = "kube-system") -> str: ...


def list_contexts(kubeconfig: str | None = None) -> tuple[list[str], str | None]:
    """Context names in the kubeconfig (``KUBECONFIG`` rules when None) and the current context."""
    from kubernetes import config as kconfig

    try:
        contexts, current = kconfig.list_kube_config_contexts(config_file=kubeconfig)
    except kconfig.ConfigException as exc:
        raise ClusterError(f"kubeconfig {kubeconfig or '$KUBECONFIG'}: {_first_line(exc)}") from None
    except OSError as exc:
        raise ClusterError(f"kubeconfig {kubeconfig or '$KUBECONFIG'}: {exc.strerror}") from None
    names = [c["name"] for c in contexts or []]
    return names, (current or {}).get("name")


def connect(
    context: str | None,
    kubeconfig: str | None = None,
    *,
    timeout: float = 10.0,
    retry: RetryPolicy = RetryPolicy(),
    sleep: Callable[[float], None] = time.sleep,
) -> KubeClient:
    """A client for one kubeconfig context (the current one when ``context`` is None).

    Loading reads only the kubeconfig (and runs exec credential plugins); no request is sent yet.
    """
    from kubernetes import client as kclient
    from kubernetes import config as kconfig

    names, current = list_contexts(kubeconfig)
    name = context or current
    if name is None:
        raise ClusterError(f"kubeconfig {kubeconfig or '$KUBECONFIG'}: no current context; pass a context")
    if name not in names:
        known = ", ".join(sorted(names)) or "none"
        raise ClusterError(
            f"kube context {name!r} not found in kubeconfig {kubeconfig or '$KUBECONFIG'} (known: {known})"
        )
    cfg = kclient.Configuration()
    try:
        kconfig.load_kube_config(
            config_file=kubeconfig, context=name, client_configuration=cfg, persist_config=False
        )
    except (kconfig.ConfigException, OSError, ValueError) as exc:
        raise ClusterError(f"kube context {name!r}: cannot load credentials: {_first_line(exc)}") from None
    # Retries are ours (with backoff and a deadline); urllib3's own would hide failures and multiply waits.
    cfg.retries = False
    return KubeClient(kclient.ApiClient(cfg), context=name, timeout=timeout, retry=retry, sleep=sleep)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0]


class KubeClient:
    """A Kubernetes API client for one context, speaking object dicts (see the module doc)."""

    def __init__(
        self,
        api: Any,
        *,
        context: str,
        timeout: float = 10.0,
        retry: RetryPolicy = RetryPolicy(),
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._api = api
        self.context = context
        self.server: str = api.configuration.host
        self.timeout = timeout
        self.retry = retry
        self._sleep = sleep
        self._discovered: dict[tuple[str, str], tuple[str, bool]] = {}

    def close(self) -> None:
        self._api.close()

    def __enter__(self) -> KubeClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ----------------------------------------------------------------- generic object API

    def apply(
        self,
        obj: Mapping[str, Any],
        *,
        field_manager: str = FIELD_MANAGER,
        force: bool = True,
        dry_run: bool = False,
    ) -> dict[str, Any]:
        """Server-side apply ``obj`` under ``field_manager``; returns the live object.

        ``force`` takes over fields another manager set (right for objects condorfed owns); without it a
        conflict is a ClusterError naming the other manager. Applying an unchanged object is a no-op.
        """
        api_version, kind, name, ns = _identity(obj)
        query = [("fieldManager", field_manager)]
        if force:
            query.append(("force", "true"))
        if dry_run:
            query.append(("dryRun", "All"))
        body = {k: v for k, v in obj.items() if k != "status"}
        path = self._path(api_version, kind, ns, name)
        return self._request(
            "PATCH",
            path,
            query,
            body,
            content_type="application/apply-patch+yaml",
            what=f"apply {object_ref(obj)}",
            # With force a 409 is a transient "object modified"; without, a field-manager conflict.
            retry_conflicts=force,
            secrets=_secret_values(obj),
        )

    def get(self, api_version: str, kind: str, name: str, namespace: str | None = None) -> dict | None:
        """The live object, or None when it (or its namespace) does not exist."""
        path = self._path(api_version, kind, namespace, name)
        try:
            return self._request("GET", path, what=f"get {_ref(api_version, kind, name, namespace)}")
        except NotFoundError:
            return None

    def list(
        self,
        api_version: str,
        kind: str,
        namespace: str | None = None,
        label_selector: str | None = None,
    ) -> list[dict[str, Any]]:
        """Objects of a kind (in one namespace, or all when None), filtered by a label selector."""
        path = self._path(api_version, kind, namespace, None)
        query = [("labelSelector", label_selector)] if label_selector else []
        where = f"list {api_version} {kind}" + (f" in namespace {namespace}" if namespace else "")
        data = self._request("GET", path, query, what=where)
        items = data.get("items") or []
        for item in items:  # list items carry no apiVersion/kind on the wire
            item.setdefault("apiVersion", api_version)
            item.setdefault("kind", kind)
        return items

    def delete(
        self,
        api_version: str,
        kind: str,
        name: str,
        namespace: str | None = None,
        *,
        propagation: str = "Foreground",
        grace_period_seconds: int | None = None,
    ) -> bool:
        """Delete an object; True if it existed. Foreground propagation waits for dependents (pods)."""
        path = self._path(api_version, kind, namespace, name)
        body: dict[str, Any] = {"apiVersion": "v1", "kind": "DeleteOptions", "propagationPolicy": propagation}
        if grace_period_seconds is not None:
            body["gracePeriodSeconds"] = grace_period_seconds
        try:
            what = f"delete {_ref(api_version, kind, name, namespace)}"
            self._request("DELETE", path, body=body, what=what)
        except NotFoundError:
            return False
        return True

    def create(self, obj: Mapping[str, Any]) -> dict[str, Any]:
        """Create ``obj``; :class:`ConflictError` if it already exists."""
        api_version, kind, _name, ns = _identity(obj)
        path = self._path(api_version, kind, ns, None)
        return self._request(
            "POST", path, body=dict(obj), what=f"create {object_ref(obj)}", secrets=_secret_values(obj)
        )

    def replace(self, obj: Mapping[str, Any]) -> dict[str, Any]:
        """Replace ``obj``; with ``metadata.resourceVersion`` set, :class:`ConflictError` when it changed."""
        api_version, kind, name, ns = _identity(obj)
        path = self._path(api_version, kind, ns, name)
        return self._request(
            "PUT", path, body=dict(obj), what=f"replace {object_ref(obj)}", secrets=_secret_values(obj)
        )

    def merge_patch(
        self,
        api_version: str,
        kind: str,
        name: str,
        namespace: str | None,
        patch: Mapping[str, Any],
        *,
        field_manager: str = FIELD_MANAGER,
    ) -> dict[str, Any]:
        """JSON merge patch (RFC 7386): keys set to None are removed."""
        path = self._path(api_version, kind, namespace, name)
        return self._request(
            "PATCH",
            path,
            [("fieldManager", field_manager)],
            dict(patch),
            content_type="application/merge-patch+json",
            what=f"patch {_ref(api_version, kind, name, namespace)}",
            retry_conflicts=True,
        )

    def namespace_uid(self, name: str = "kube-system") -> str:
        """The UID of a namespace: ``kube-system``'s identifies a cluster across kubeconfig names."""
        ns = self.get("v1", "Namespace", name)
        if ns is None:
            raise ClusterError(f"context {self.context!r}: namespace {name} not found")
        return str(ns["metadata"]["uid"])

    def version(self) -> dict[str, Any]:
        """``/version`` of the API server: a cheap reachability probe."""
        return self._request("GET", "/version", what="get /version")

    # ----------------------------------------------------------------- helpers for actuators and state

    def label_node(
        self, name: str, labels: Mapping[str, str | None], *, field_manager: str = FIELD_MANAGER
    ) -> dict[str, Any]:
        """Set (or, with None, remove) labels on a Node."""
        return self.merge_patch(
            "v1", "Node", name, None, {"metadata": {"labels": dict(labels)}}, field_manager=field_manager
        )

    def scale_deployment(
        self, namespace: str, name: str, replicas: int, *, field_manager: str = FIELD_MANAGER
    ) -> dict[str, Any]:
        """Set a Deployment's ``spec.replicas``."""
        if replicas < 0:
            raise ClusterError(f"scale apps/v1 Deployment {namespace}/{name}: replicas {replicas} < 0")
        return self.merge_patch(
            "apps/v1", "Deployment", name, namespace, {"spec": {"replicas": int(replicas)}},
            field_manager=field_manager,
        )  # fmt: skip

    def read_configmap(self, namespace: str, name: str) -> dict[str, str] | None:
        """A ConfigMap's ``data``, or None when it does not exist."""
        cm = self.get("v1", "ConfigMap", name, namespace)
        return None if cm is None else dict(cm.get("data") or {})

    def write_configmap(
        self,
        namespace: str,
        name: str,
        data: Mapping[str, str],
        *,
        labels: Mapping[str, str] | None = None,
        field_manager: str = FIELD_MANAGER,
    ) -> dict[str, Any]:
        """Apply a ConfigMap whose ``data`` is exactly ``data`` (keys this manager set before are dropped)."""
        meta: dict[str, Any] = {"name": name, "namespace": namespace}
        if labels:
            meta["labels"] = dict(labels)
        obj = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta, "data": dict(data)}
        return self.apply(obj, field_manager=field_manager)

    def get_lease(self, namespace: str, name: str) -> dict | None:
        return self.get("coordination.k8s.io/v1", "Lease", name, namespace)

    def create_lease(self, namespace: str, name: str, spec: Mapping[str, Any]) -> dict[str, Any]:
        """Create a Lease; :class:`ConflictError` if someone else created it first."""
        obj = {
            "apiVersion": "coordination.k8s.io/v1",
            "kind": "Lease",
            "metadata": {"name": name, "namespace": namespace},
            "spec": dict(spec),
        }
        return self.create(obj)

    def replace_lease(self, lease: Mapping[str, Any], spec: Mapping[str, Any]) -> dict[str, Any]:
        """Replace a Lease read earlier; :class:`ConflictError` if it changed since (lost the race)."""
        meta = lease["metadata"]
        obj = {
            "apiVersion": "coordination.k8s.io/v1",
            "kind": "Lease",
            "metadata": {
                "name": meta["name"],
                "namespace": meta["namespace"],
                "resourceVersion": meta["resourceVersion"],
            },
            "spec": dict(spec),
        }
        return self.replace(obj)

    # ----------------------------------------------------------------- plumbing

    def _resource(self, api_version: str, kind: str) -> tuple[str, bool]:
        key = (api_version, kind)
        if key in KINDS:
            return KINDS[key]
        if key not in self._discovered:
            base = "/api/v1" if api_version == "v1" else f"/apis/{api_version}"
            found = self._request("GET", base, what=f"discover {api_version}")
            for res in found.get("resources") or []:
                if "/" not in res.get("name", "") and res.get("kind") == kind:
                    self._discovered[key] = (res["name"], bool(res.get("namespaced")))
                    break
            else:
                raise ClusterError(
                    f"context {self.context!r}: the API server does not serve {api_version} {kind}"
                )
        return self._discovered[key]

    def _path(self, api_version: str, kind: str, namespace: str | None, name: str | None) -> str:
        plural, namespaced = self._resource(api_version, kind)
        base = "/api/v1" if api_version == "v1" else f"/apis/{api_version}"
        if namespaced and namespace:
            base += f"/namespaces/{quote(namespace, safe='')}"
        elif namespaced and name is not None:
            raise ClusterError(f"context {self.context!r}: {api_version} {kind} {name} needs a namespace")
        path = f"{base}/{plural}"
        return path if name is None else f"{path}/{quote(name, safe='')}"

    def _request(
        self,
        method: str,
        path: str,
        query: Sequence[tuple[str, str]] = (),
        body: Any = None,
        *,
        content_type: str = "application/json",
        what: str,
        retry_conflicts: bool = False,
        secrets: Sequence[str] = (),
    ) -> dict[str, Any]:
        where = f"context {self.context!r}: {what}"
        start = time.monotonic()
        attempt = 0
        while True:
            try:
                return self._once(method, path, query, body, content_type, where)
            except ClusterError as raw:
                exc = _redacted(raw, secrets)
                attempt += 1
                again = is_retryable(exc) or (retry_conflicts and isinstance(exc, ConflictError))
                delay = self.retry.delay(attempt - 1)
                if isinstance(exc, ApiStatusError) and exc.retry_after is not None:
                    delay = max(delay, min(exc.retry_after, self.retry.cap))  # the server knows best
                out_of_time = time.monotonic() - start + delay + self.timeout > self.retry.deadline
                if not again or attempt >= self.retry.attempts or out_of_time:
                    if attempt > 1:
                        raise type(exc)(*_with_attempts(exc, attempt)) from None
                    raise exc from None
                log.debug("%s failed (%s); retry %d in %.2fs", where, exc, attempt, delay)
                self._sleep(delay)

    def _once(
        self,
        method: str,
        path: str,
        query: Sequence[tuple[str, str]],
        body: Any,
        content_type: str,
        where: str,
    ) -> dict[str, Any]:
        headers = {"Accept": "application/json", "Content-Type": content_type}
        request = self._api.param_serialize(
            method=method,
            resource_path=path,
            query_params=list(query),
            header_params=headers,
            body=body,
            auth_settings=["BearerToken"],
        )
        try:
            resp = self._api.call_api(*request, _request_timeout=(self.timeout, self.timeout))
            data = resp.read()
        except urllib3.exceptions.HTTPError as exc:
            raise transport_error(where, exc, self.timeout) from None
        except OSError as exc:
            raise transport_error(where, exc, self.timeout) from None
        except Exception as exc:  # the client wraps TLS failures in ApiException(status=0)
            if getattr(exc, "status", None) == 0:
                raise UnreachableError(f"{where}: API server unreachable ({_first_line(exc)})") from None
            raise
        if not 200 <= resp.status <= 299:
            raise status_error(where, resp.status, resp.reason or "", data, resp.headers.get("Retry-After"))
        if not data:
            return {}
        try:
            return json.loads(data)
        except ValueError:
            raise ClusterError(f"{where}: the API server sent a body that is not JSON") from None


def _secret_values(obj: Mapping[str, Any]) -> list[str]:
    """A Secret's values, base64 and decoded: an API server's error text may echo them."""
    if obj.get("kind") != "Secret":
        return []
    values = [str(v) for v in (obj.get("stringData") or {}).values()]
    for v in (obj.get("data") or {}).values():
        values.append(str(v))
        with contextlib.suppress(ValueError, UnicodeDecodeError):
            values.append(base64.b64decode(str(v)).decode("utf-8"))
    return [v for v in values if len(v) >= 4]


def _redacted(exc: ClusterError, secrets: Sequence[str]) -> ClusterError:
    text = str(exc)
    if not any(s in text for s in secrets):
        return exc
    for s in secrets:
        text = text.replace(s, "<redacted>")
    if isinstance(exc, ApiStatusError):
        return type(exc)(text, exc.status, exc.reason, exc.retry_after)
    return type(exc)(text)


def _with_attempts(exc: ClusterError, attempts: int) -> tuple:
    msg = f"{exc} (gave up after {attempts} attempts)"
    if isinstance(exc, ApiStatusError):
        return (msg, exc.status, exc.reason, exc.retry_after)
    return (msg,)


def _identity(obj: Mapping[str, Any]) -> tuple[str, str, str, str | None]:
    meta = obj.get("metadata") or {}
    if not obj.get("apiVersion") or not obj.get("kind") or not meta.get("name"):
        raise ClusterError(f"object {object_ref(obj)} lacks apiVersion, kind or metadata.name")
    return obj["apiVersion"], obj["kind"], meta["name"], meta.get("namespace")


def _ref(api_version: str, kind: str, name: str, namespace: str | None) -> str:
    return f"{api_version} {kind} {namespace + '/' if namespace else ''}{name}"
