"""A small stateful API emulator for workflow tests (not Kubernetes: just enough of its HTTP API).

It serves, on 127.0.0.1, what condorfed's official-client adapter uses: discovery, namespaced and
cluster-scoped CRUD, server-side apply (``application/apply-patch+yaml`` with managedFields per field
manager; applying the same object twice changes nothing, not even the resourceVersion), merge patches,
optimistic concurrency on PUT, label selectors on list, namespace cascade on delete, a ``kube-system``
namespace with its own UID, and DaemonSet status from the Nodes it holds.

Fault injection: :meth:`Emulator.add_fault` makes matching requests fail with a status (500, 409, 429...)
or stall for a while and drop the connection (a timeout for the client), a given number of times.
Every request is counted in :attr:`Emulator.requests`.
"""

from __future__ import annotations

import base64
import copy
import itertools
import json
import re
import socket
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

# group/version -> plural -> (kind, namespaced)
RESOURCES: dict[str, dict[str, tuple[str, bool]]] = {
    "v1": {
        "namespaces": ("Namespace", False),
        "nodes": ("Node", False),
        "serviceaccounts": ("ServiceAccount", True),
        "secrets": ("Secret", True),
        "configmaps": ("ConfigMap", True),
        "services": ("Service", True),
        "persistentvolumeclaims": ("PersistentVolumeClaim", True),
        "pods": ("Pod", True),
    },
    "apps/v1": {
        "deployments": ("Deployment", True),
        "statefulsets": ("StatefulSet", True),
        "daemonsets": ("DaemonSet", True),
    },
    "rbac.authorization.k8s.io/v1": {
        "roles": ("Role", True),
        "rolebindings": ("RoleBinding", True),
        "clusterroles": ("ClusterRole", False),
        "clusterrolebindings": ("ClusterRoleBinding", False),
    },
    "coordination.k8s.io/v1": {"leases": ("Lease", True)},
    "policy/v1": {"poddisruptionbudgets": ("PodDisruptionBudget", True)},
    "scheduling.k8s.io/v1": {"priorityclasses": ("PriorityClass", False)},
}

# Fields the server owns; never part of what a manager applies.
_SERVER_META = {"uid", "resourceVersion", "creationTimestamp", "managedFields", "generation", "selfLink"}


@dataclass
class Fault:
    """Requests matching ``method`` and the ``path`` regex fail ``times`` times (None = forever)."""

    method: str
    path: str
    status: int = 500
    delay: float = 0.0
    times: int | None = 1
    dry_runs: bool = True
    """False: server-side dry runs pass, only real writes fail (a failure halfway through a run)."""
    retry_after: int | None = None
    hits: int = 0

    def matches(self, method: str, path: str, query: str = "") -> bool:
        if self.times is not None and self.hits >= self.times:
            return False
        if not self.dry_runs and "dryRun=" in query:
            return False
        return (self.method in ("*", method)) and re.search(self.path, path) is not None


@dataclass
class _Stored:
    obj: dict[str, Any]
    managed: dict[str, set[tuple[str, ...]]] = field(default_factory=dict)
    times: dict[str, str] = field(default_factory=dict)


class _ApiError(Exception):
    def __init__(self, code: int, reason: str, message: str) -> None:
        super().__init__(message)
        self.code, self.reason, self.message = code, reason, message


class Emulator:
    """One emulated API server. ``with Emulator() as emu: emu.url``."""

    def __init__(self, name: str = "emulator", nodes: int = 2, node_cpus: int = 8) -> None:
        self.name = name
        self._lock = threading.RLock()
        self._rv = itertools.count(100)
        self._store: dict[tuple[str, str, str, str], _Stored] = {}
        self.faults: list[Fault] = []
        self.requests: Counter[tuple[str, str]] = Counter()
        self.writes: list[tuple[str, str]] = []
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        for ns in ("default", "kube-system", "kube-public"):
            self.put({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}})
        for i in range(nodes):
            self.put(
                {
                    "apiVersion": "v1",
                    "kind": "Node",
                    "metadata": {"name": f"{name}-node-{i}", "labels": {"kubernetes.io/os": "linux"}},
                    "status": {"allocatable": {"cpu": str(node_cpus), "memory": "32Gi"}},
                }
            )

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> Emulator:
        emu = self

        class Handler(_Handler):
            emulator = emu

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> Emulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    # ------------------------------------------------------------------ test API

    def add_fault(
        self,
        method: str,
        path: str,
        status: int = 500,
        *,
        times: int | None = 1,
        delay: float = 0.0,
        dry_runs: bool = True,
        retry_after: int | None = None,
    ) -> Fault:
        fault = Fault(method, path, status, delay, times, dry_runs, retry_after)
        with self._lock:
            self.faults.append(fault)
        return fault

    def clear_faults(self) -> None:
        with self._lock:
            self.faults.clear()

    def put(self, obj: dict[str, Any]) -> dict[str, Any]:
        """Store an object directly (no manager), e.g. Nodes or a pre-existing namespace."""
        gv, plural, namespaced = _plural_of(obj["apiVersion"], obj["kind"])
        ns = obj["metadata"].get("namespace", "") if namespaced else ""
        with self._lock:
            stored = _Stored(copy.deepcopy(obj))
            self._stamp(stored.obj, None)
            self._store[(gv, plural, ns, obj["metadata"]["name"])] = stored
            return copy.deepcopy(stored.obj)

    def get(self, api_version: str, kind: str, name: str, namespace: str = "") -> dict[str, Any] | None:
        gv, plural, namespaced = _plural_of(api_version, kind)
        with self._lock:
            stored = self._store.get((gv, plural, namespace if namespaced else "", name))
            return None if stored is None else copy.deepcopy(stored.obj)

    def remove(self, api_version: str, kind: str, name: str, namespace: str = "") -> None:
        """Delete an object directly, e.g. a pod whose preStop drain finished."""
        gv, plural, namespaced = _plural_of(api_version, kind)
        with self._lock:
            self._store.pop((gv, plural, namespace if namespaced else "", name), None)

    def objects(self, kind: str | None = None) -> list[dict[str, Any]]:
        with self._lock:
            return [
                copy.deepcopy(s.obj)
                for s in self._store.values()
                if kind is None or s.obj.get("kind") == kind
            ]

    def snapshot(self) -> dict[str, str]:
        """``{"Kind ns/name": resourceVersion}`` of every object: equal snapshots = nothing changed."""
        with self._lock:
            return {
                f"{s.obj['kind']} {k[2] + '/' if k[2] else ''}{k[3]}": s.obj["metadata"]["resourceVersion"]
                for k, s in self._store.items()
            }

    def set_status(self, api_version: str, kind: str, name: str, namespace: str, status: dict) -> None:
        gv, plural, _ = _plural_of(api_version, kind)
        with self._lock:
            self._store[(gv, plural, namespace, name)].obj["status"] = copy.deepcopy(status)

    def kube_system_uid(self) -> str:
        return self.get("v1", "Namespace", "kube-system")["metadata"]["uid"]  # type: ignore[index]

    # ------------------------------------------------------------------ request handling

    def _stamp(self, obj: dict[str, Any], previous: dict[str, Any] | None) -> None:
        meta = obj.setdefault("metadata", {})
        if previous is None:
            meta["uid"] = str(uuid.uuid4())
            meta["creationTimestamp"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
            meta["generation"] = 1
        else:
            pm = previous["metadata"]
            meta["uid"], meta["creationTimestamp"] = pm["uid"], pm["creationTimestamp"]
            changed_spec = {k: v for k, v in obj.items() if k not in ("metadata", "status")} != {
                k: v for k, v in previous.items() if k not in ("metadata", "status")
            }
            meta["generation"] = pm.get("generation", 1) + (1 if changed_spec else 0)
        meta["resourceVersion"] = str(next(self._rv))
        if obj["kind"] == "Secret":
            _fold_string_data(obj)
        if obj["kind"] == "DaemonSet":
            self._daemonset_status(obj)

    def _daemonset_status(self, ds: dict[str, Any]) -> None:
        selector = ds.get("spec", {}).get("template", {}).get("spec", {}).get("nodeSelector") or {}
        nodes = [
            s.obj
            for k, s in self._store.items()
            if k[1] == "nodes"
            and all((s.obj["metadata"].get("labels") or {}).get(a) == b for a, b in selector.items())
        ]
        n = len(nodes)
        ds["status"] = {
            "desiredNumberScheduled": n,
            "currentNumberScheduled": n,
            "numberReady": n,
            "updatedNumberScheduled": n,
            "numberAvailable": n,
            "numberMisscheduled": 0,
            "observedGeneration": ds["metadata"]["generation"],
        }

    def handle(self, method: str, raw_path: str, headers: dict[str, str], body: bytes) -> tuple[int, Any]:
        split = urlsplit(raw_path)
        path = split.path.rstrip("/") or "/"
        query = {k: v[-1] for k, v in parse_qs(split.query).items()}
        with self._lock:
            self.requests[(method, path)] += 1
        if path == "/version":
            return 200, {"major": "1", "minor": "30", "gitVersion": "v1.30.0-condorfed-emulator"}
        if path == "/api":
            return 200, {"kind": "APIVersions", "versions": ["v1"], "serverAddressByClientCIDRs": []}
        if path == "/apis":
            groups = []
            for gv in RESOURCES:
                if "/" in gv:
                    g, v = gv.split("/")
                    ver = {"groupVersion": gv, "version": v}
                    groups.append({"name": g, "versions": [ver], "preferredVersion": ver})
            return 200, {"kind": "APIGroupList", "apiVersion": "v1", "groups": groups}
        parsed = _parse_resource_path(path)
        if parsed is None:
            return 404, _status(404, "NotFound", f"the server could not find the requested resource {path}")
        gv, rest = parsed
        if not rest:
            resources = [
                {"name": p, "singularName": k.lower(), "namespaced": nsd, "kind": k, "verbs": ["get", "list"]}
                for p, (k, nsd) in RESOURCES[gv].items()
            ]
            return 200, {"kind": "APIResourceList", "groupVersion": gv, "resources": resources}
        try:
            plural, ns, name = _split_rest(gv, rest)
            payload = json.loads(body) if body else None
            with self._lock:
                if method != "GET":
                    self.writes.append((method, path))
                return self._dispatch(method, gv, plural, ns, name, query, headers, payload)
        except _ApiError as err:
            return err.code, _status(err.code, err.reason, err.message)

    def _dispatch(
        self,
        method: str,
        gv: str,
        plural: str,
        ns: str,
        name: str | None,
        query: dict[str, str],
        headers: dict[str, str],
        payload: Any,
    ) -> tuple[int, Any]:
        kind, namespaced = RESOURCES[gv][plural]
        key = (gv, plural, ns, name or "")
        if name is None:
            if method == "GET":
                return 200, self._list(gv, plural, kind, ns, namespaced, query.get("labelSelector"))
            if method == "POST":
                return self._create(gv, plural, kind, ns, namespaced, query, payload)
            raise _ApiError(405, "MethodNotAllowed", f"{method} on a collection")
        stored = self._store.get(key)
        if method == "GET":
            if stored is None:
                raise _ApiError(404, "NotFound", f'{plural} "{name}" not found')
            return 200, copy.deepcopy(stored.obj)
        if method == "DELETE":
            if stored is None:
                raise _ApiError(404, "NotFound", f'{plural} "{name}" not found')
            del self._store[key]
            if kind == "Namespace":
                for k in [k for k in self._store if k[2] == name]:
                    del self._store[k]
            return 200, _status(200, "", "deleted", success=True)
        if method == "PUT":
            return self._replace(key, kind, ns, name, query, payload)
        if method == "PATCH":
            ctype = headers.get("content-type", "").split(";")[0].strip()
            if ctype == "application/apply-patch+yaml":
                return self._apply(key, kind, ns, namespaced, name, query, payload)
            if ctype in ("application/merge-patch+json", "application/strategic-merge-patch+json"):
                if stored is None:
                    raise _ApiError(404, "NotFound", f'{plural} "{name}" not found')
                new = copy.deepcopy(stored.obj)
                _merge_patch(new, payload)
                if new != stored.obj:
                    self._stamp(new, stored.obj)
                    stored.obj = new
                return 200, copy.deepcopy(stored.obj)
            raise _ApiError(415, "UnsupportedMediaType", f"PATCH with {ctype!r}")
        raise _ApiError(405, "MethodNotAllowed", method)

    def _require_namespace(self, ns: str) -> None:
        if ("v1", "namespaces", "", ns) not in self._store:
            raise _ApiError(404, "NotFound", f'namespaces "{ns}" not found')

    def _list(self, gv: str, plural: str, kind: str, ns: str, namespaced: bool, selector: str | None) -> dict:
        match = _selector(selector)
        items = [
            copy.deepcopy(s.obj)
            for k, s in sorted(self._store.items())
            if k[0] == gv and k[1] == plural and (not ns or k[2] == ns)
            and match(s.obj["metadata"].get("labels") or {})
        ]  # fmt: skip
        for item in items:
            item.pop("apiVersion", None)
            item.pop("kind", None)
        return {"apiVersion": gv, "kind": f"{kind}List", "metadata": {"resourceVersion": "1"}, "items": items}

    def _create(
        self, gv: str, plural: str, kind: str, ns: str, namespaced: bool, query: dict, payload: Any
    ) -> tuple[int, Any]:
        name = (payload.get("metadata") or {}).get("name")
        if not name:
            raise _ApiError(422, "Invalid", "metadata.name: Required value")
        if namespaced:
            self._require_namespace(ns)
        key = (gv, plural, ns, name)
        if key in self._store:
            raise _ApiError(409, "AlreadyExists", f'{plural} "{name}" already exists')
        obj = copy.deepcopy(payload)
        obj["apiVersion"], obj["kind"] = gv, kind
        _validate(obj)
        if namespaced:
            obj["metadata"]["namespace"] = ns
        if query.get("dryRun"):
            return 201, obj
        stored = _Stored(obj)
        self._stamp(obj, None)
        self._store[key] = stored
        return 201, copy.deepcopy(obj)

    def _replace(
        self, key: tuple, kind: str, ns: str, name: str, query: dict, payload: Any
    ) -> tuple[int, Any]:
        stored = self._store.get(key)
        if stored is None:
            raise _ApiError(404, "NotFound", f'{key[1]} "{name}" not found')
        rv = (payload.get("metadata") or {}).get("resourceVersion")
        if rv and rv != stored.obj["metadata"]["resourceVersion"]:
            raise _ApiError(
                409,
                "Conflict",
                f'Operation cannot be fulfilled on {key[1]} "{name}": the object has been modified; '
                "please apply your changes to the latest version and try again",
            )
        new = copy.deepcopy(payload)
        new["apiVersion"], new["kind"] = key[0], kind
        _validate(new)
        if ns:
            new["metadata"]["namespace"] = ns
        self._stamp(new, stored.obj)
        stored.obj = new
        return 200, copy.deepcopy(new)

    def _apply(
        self, key: tuple, kind: str, ns: str, namespaced: bool, name: str, query: dict, payload: Any
    ) -> tuple[int, Any]:
        manager = query.get("fieldManager")
        if not manager:
            raise _ApiError(422, "Invalid", "PATCH with apply-patch+yaml requires fieldManager")
        force = query.get("force") == "true"
        dry_run = bool(query.get("dryRun"))
        applied = copy.deepcopy(payload)
        if applied.get("kind") != kind or (applied.get("metadata") or {}).get("name") != name:
            raise _ApiError(400, "BadRequest", "kind or metadata.name does not match the URL")
        _validate(applied)
        if kind == "Secret":
            _fold_string_data(applied)
        if namespaced:
            self._require_namespace(ns)
            applied["metadata"]["namespace"] = ns
        paths = _leaf_paths(applied)
        stored = self._store.get(key)
        if stored is None:
            obj = copy.deepcopy(applied)
            obj.pop("status", None)
            if dry_run:
                return 201, obj
            stored = _Stored(obj, {manager: paths})
            self._stamp(obj, None)
            stored.times[manager] = obj["metadata"]["creationTimestamp"]
            _write_managed_fields(stored)
            self._store[key] = stored
            return 201, copy.deepcopy(obj)
        live = stored.obj
        managed = {m: set(p) for m, p in stored.managed.items()}
        conflicts = []
        for other, owned in managed.items():
            if other == manager:
                continue
            for p in paths & owned:
                if _get_path(live, p) != _get_path(applied, p):
                    conflicts.append((other, p))
        if conflicts and not force:
            desc = "; ".join(f'conflict with "{m}": .{".".join(p)}' for m, p in conflicts[:3])
            raise _ApiError(409, "Conflict", f"Apply failed with {len(conflicts)} conflicts: {desc}")
        for other, p in conflicts:
            managed[other].discard(p)
        new = copy.deepcopy(live)
        others = set().union(*(o for m, o in managed.items() if m != manager)) if managed else set()
        for p in managed.get(manager, set()) - paths:
            if p not in others:
                _del_path(new, p)
        for p in paths:
            _set_path(new, p, _get_path(applied, p))
        managed[manager] = paths
        managed = {m: p for m, p in managed.items() if p}
        if new == live and managed == stored.managed:
            return 200, copy.deepcopy(live)  # nothing changed: same resourceVersion
        if dry_run:
            return 200, new
        self._stamp(new, live)
        stored.obj = new
        stored.managed = managed
        stored.times[manager] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        _write_managed_fields(stored)
        return 200, copy.deepcopy(new)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # one round trip per request, not a delayed-ACK wait
    emulator: Emulator

    def log_message(self, *args: Any) -> None:  # keep test output clean
        pass

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        split = urlsplit(self.path)
        with self.emulator._lock:
            faults = self.emulator.faults
            fault = next((f for f in faults if f.matches(self.command, split.path, split.query)), None)
            if fault is not None:
                fault.hits += 1
        if fault is not None:
            if fault.delay:
                time.sleep(fault.delay)  # the client times out; the request is lost
                self.close_connection = True
                return
            code, payload = fault.status, _status(fault.status, "Injected", f"injected fault {fault.status}")
            extra = {"Retry-After": str(fault.retry_after)} if fault.retry_after is not None else {}
        else:
            headers = {k.lower(): v for k, v in self.headers.items()}
            code, payload = self.emulator.handle(self.command, self.path, headers, body)
            extra = {}
        data = json.dumps(payload).encode()
        self.send_response(code)
        for name, value in extra.items():
            self.send_header(name, value)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _serve


class SilentServer:
    """A listening socket that never answers: a client's read times out (an API server that hangs)."""

    def __init__(self) -> None:
        self._sock = socket.socket()
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(16)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._sock.getsockname()[1]}"

    def close(self) -> None:
        self._sock.close()


def closed_port_url() -> str:
    """A URL on a port nothing listens on (connection refused)."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return f"http://127.0.0.1:{port}"


# ---------------------------------------------------------------------- helpers

# Objects are checked against the real OpenAPI schemas of this Kubernetes version, as an API server
# would (422 Invalid). Validated texts are cached: most tests write the same objects.
SCHEMA_VERSION = "1.31"  # the version the render tests pin
_VALID: set[str] = set()


def _validate(obj: dict[str, Any]) -> None:
    import kubernetes_validate

    body = {k: v for k, v in obj.items() if k != "status"}
    if obj.get("kind") == "Secret":
        for key, value in (obj.get("data") or {}).items():
            try:
                base64.b64decode(str(value), validate=True)
            except ValueError:
                # field.Invalid's format, which echoes the value
                msg = f'Secret is invalid: data[{key}]: Invalid value: "{value}": illegal base64 data'
                raise _ApiError(422, "Invalid", msg) from None
    text = json.dumps(body, sort_keys=True)
    if text in _VALID:
        return
    try:
        kubernetes_validate.validate(body, SCHEMA_VERSION, strict=True)
    except kubernetes_validate.ValidationError as exc:
        where = ".".join(str(p) for p in exc.absolute_path) or "(root)"
        raise _ApiError(422, "Invalid", f"{obj.get('kind')} {where}: {exc.message}") from None
    except kubernetes_validate.SchemaNotFoundError:
        pass  # a kind these schemas do not know: accept, as for a custom resource
    _VALID.add(text)


def _status(code: int, reason: str, message: str, success: bool = False) -> dict[str, Any]:
    return {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Success" if success else "Failure",
        "message": message,
        "reason": reason,
        "code": code,
    }


def _plural_of(api_version: str, kind: str) -> tuple[str, str, bool]:
    for plural, (k, namespaced) in RESOURCES[api_version].items():
        if k == kind:
            return api_version, plural, namespaced
    raise KeyError(kind)


def _parse_resource_path(path: str) -> tuple[str, list[str]] | None:
    parts = [unquote(p) for p in path.strip("/").split("/")]
    if parts[:2] == ["api", "v1"]:
        return "v1", parts[2:]
    if parts[0] == "apis" and len(parts) >= 3 and f"{parts[1]}/{parts[2]}" in RESOURCES:
        return f"{parts[1]}/{parts[2]}", parts[3:]
    return None


def _split_rest(gv: str, rest: list[str]) -> tuple[str, str, str | None]:
    table = RESOURCES[gv]
    if rest[0] == "namespaces" and len(rest) >= 3:
        ns, plural, name = rest[1], rest[2], (rest[3] if len(rest) > 3 else None)
        if plural not in table or not table[plural][1] or len(rest) > 4:
            raise _ApiError(404, "NotFound", f"no resource {'/'.join(rest)}")
        return plural, ns, name
    plural, name = rest[0], (rest[1] if len(rest) > 1 else None)
    if plural not in table or len(rest) > 2:
        raise _ApiError(404, "NotFound", f"no resource {'/'.join(rest)}")
    return plural, "", name


def _fold_string_data(secret: dict[str, Any]) -> None:
    string_data = secret.pop("stringData", None) or {}
    if string_data:
        data = secret.setdefault("data", {})
        for k, v in string_data.items():
            data[k] = base64.b64encode(v.encode()).decode()


def _leaf_paths(obj: Any, prefix: tuple[str, ...] = ()) -> set[tuple[str, ...]]:
    out: set[tuple[str, ...]] = set()
    if isinstance(obj, dict) and obj:
        for k, v in obj.items():
            if not prefix and k in ("apiVersion", "kind", "status"):
                continue
            if prefix == ("metadata",) and (k in _SERVER_META or k in ("name", "namespace")):
                continue
            out |= _leaf_paths(v, (*prefix, k))
    elif prefix:
        out.add(prefix)
    return out


_MISSING = object()


def _get_path(obj: Any, path: tuple[str, ...]) -> Any:
    for p in path:
        if not isinstance(obj, dict) or p not in obj:
            return _MISSING
        obj = obj[p]
    return obj


def _set_path(obj: dict, path: tuple[str, ...], value: Any) -> None:
    for p in path[:-1]:
        if not isinstance(obj.get(p), dict):
            obj[p] = {}
        obj = obj[p]
    obj[path[-1]] = copy.deepcopy(value)


def _del_path(obj: dict, path: tuple[str, ...]) -> None:
    trail = []
    for p in path[:-1]:
        if not isinstance(obj.get(p), dict):
            return
        trail.append((obj, p))
        obj = obj[p]
    obj.pop(path[-1], None)
    for parent, p in reversed(trail):  # prune maps left empty
        if parent[p] == {}:
            del parent[p]


def _merge_patch(target: dict, patch: dict) -> None:
    for k, v in patch.items():
        if v is None:
            target.pop(k, None)
        elif isinstance(v, dict) and isinstance(target.get(k), dict):
            _merge_patch(target[k], v)
        else:
            target[k] = copy.deepcopy(v)


def _fields_v1(paths: set[tuple[str, ...]]) -> dict:
    tree: dict = {}
    for path in sorted(paths):
        node = tree
        for p in path:
            node = node.setdefault(f"f:{p}", {})
    return tree


def _write_managed_fields(stored: _Stored) -> None:
    stored.obj["metadata"]["managedFields"] = [
        {
            "manager": m,
            "operation": "Apply",
            "apiVersion": stored.obj["apiVersion"],
            "time": stored.times.get(m, ""),
            "fieldsType": "FieldsV1",
            "fieldsV1": _fields_v1(p),
        }
        for m, p in sorted(stored.managed.items())
    ]


_REQ = re.compile(
    r"^\s*(!?)([A-Za-z0-9./_-]+)\s*(?:(==|=|!=)\s*([A-Za-z0-9._-]*)|\s+(in|notin)\s*\(([^)]*)\))?\s*$"
)


def _selector(text: str | None):  # -> Callable[[dict], bool]
    if not text:
        return lambda labels: True
    reqs = []
    for part in re.split(r",(?![^(]*\))", text):
        m = _REQ.match(part)
        if not m:
            raise _ApiError(400, "BadRequest", f"unable to parse requirement: {part!r}")
        reqs.append(m.groups())

    def match(labels: dict[str, str]) -> bool:
        for neg, key, op, val, setop, setvals in reqs:
            if op in ("=", "=="):
                ok = labels.get(key) == val
            elif op == "!=":
                ok = labels.get(key) != val
            elif setop:
                values = {v.strip() for v in setvals.split(",")}
                ok = labels.get(key) in values if setop == "in" else labels.get(key) not in values
            else:
                ok = (key in labels) != bool(neg)
            if not ok:
                return False
        return True

    return match
