"""Render a chart with the real Helm engine (helm-sdkpy), without a cluster. Run by the venv's Python 3.12.

helm-sdkpy exposes Helm's install action but no client-only `template`, so the install runs
against a tiny in-process API stand-in on 127.0.0.1 that answers discovery, stores nothing and
echoes what it is sent. Helm returns the release, whose manifest is what `helm template` prints.

    python helm_render.py CHART_DIR NAMESPACE VALUES_JSON   ->  stdout: JSON list of objects
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import tempfile
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import yaml

RESOURCES = {
    "/api/v1": [
        ("namespaces", "Namespace", False),
        ("configmaps", "ConfigMap", True),
        ("secrets", "Secret", True),
        ("serviceaccounts", "ServiceAccount", True),
        ("services", "Service", True),
        ("pods", "Pod", True),
    ],
    "/apis/apps/v1": [("daemonsets", "DaemonSet", True), ("deployments", "Deployment", True)],
    "/apis/rbac.authorization.k8s.io/v1": [
        ("clusterroles", "ClusterRole", False),
        ("clusterrolebindings", "ClusterRoleBinding", False),
        ("roles", "Role", True),
        ("rolebindings", "RoleBinding", True),
    ],
}


def _resource_list(path: str) -> dict:
    group_version = path.removeprefix("/apis/").removeprefix("/api/")
    if path == "/api/v1":
        group_version = "v1"
    return {
        "kind": "APIResourceList",
        "apiVersion": "v1",
        "groupVersion": group_version,
        "resources": [
            {
                "name": name,
                "singularName": kind.lower(),
                "namespaced": namespaced,
                "kind": kind,
                "verbs": ["create", "delete", "get", "list", "patch", "update", "watch"],
            }
            for name, kind, namespaced in RESOURCES[path]
        ],
    }


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *args: object) -> None:  # keep stdout for the result
        pass

    def _send(self, code: int, body: dict) -> None:
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        path = self.path.split("?")[0]
        if path == "/version":
            return self._send(200, {"major": "1", "minor": "31", "gitVersion": "v1.31.0"})
        if path == "/api":
            return self._send(200, {"kind": "APIVersions", "versions": ["v1"]})
        if path == "/apis":
            groups = []
            for p in RESOURCES:
                if p.startswith("/apis/"):
                    name, version = p.removeprefix("/apis/").split("/")
                    gv = {"groupVersion": f"{name}/{version}", "version": version}
                    groups.append({"name": name, "versions": [gv], "preferredVersion": gv})
            return self._send(200, {"kind": "APIGroupList", "apiVersion": "v1", "groups": groups})
        if path in RESOURCES:
            return self._send(200, _resource_list(path))
        last = path.rstrip("/").split("/")[-1]
        if any(last == name for res in RESOURCES.values() for name, _, _ in res):
            return self._send(200, {"kind": "List", "apiVersion": "v1", "metadata": {}, "items": []})
        missing = {"kind": "Status", "apiVersion": "v1", "status": "Failure", "reason": "NotFound"}
        return self._send(404, missing)

    def _echo(self, code: int) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) or b"{}"
        content_type = self.headers.get("Content-Type") or ""
        if "protobuf" in content_type:  # Helm's release record (a Secret): send it back as it came
            self.send_response(code)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(raw)))
            self.end_headers()
            self.wfile.write(raw)
            return
        body = json.loads(raw)
        body.setdefault("metadata", {}).update({"resourceVersion": "1", "uid": "stand-in-uid"})
        self._send(code, body)

    def do_POST(self) -> None:
        self._echo(201)

    def do_PUT(self) -> None:
        self._echo(200)

    def do_PATCH(self) -> None:
        self._echo(200)

    def do_DELETE(self) -> None:
        self._send(200, {"kind": "Status", "apiVersion": "v1", "status": "Success"})


def main() -> None:
    chart, namespace, values_json = sys.argv[1], sys.argv[2], sys.argv[3]
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    port = server.server_address[1]
    kubeconfig = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "stand-in", "cluster": {"server": f"http://127.0.0.1:{port}"}}],
        "users": [{"name": "u", "user": {"token": "x"}}],
        "contexts": [{"name": "c", "context": {"cluster": "stand-in", "user": "u", "namespace": namespace}}],
        "current-context": "c",
    }
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "kubeconfig")
        with open(path, "w") as f:
            json.dump(kubeconfig, f)
        os.environ["HELM_CACHE_HOME"] = os.path.join(tmp, "cache")
        os.environ["HELM_CONFIG_HOME"] = os.path.join(tmp, "config")
        os.environ["HELM_DATA_HOME"] = os.path.join(tmp, "data")
        os.environ["HELM_DRIVER"] = "memory"  # the release record stays in this process
        import helm_sdkpy

        config = helm_sdkpy.Configuration(namespace=namespace, kubeconfig=path, kubecontext="c")
        result = asyncio.run(
            helm_sdkpy.Install(config).run(
                "condorfed", chart, values=json.loads(values_json), wait=False, timeout=60
            )
        )
    manifest = result.get("manifest") if isinstance(result, dict) else None
    if manifest is None:
        raise SystemExit(f"no manifest in the install result ({type(result).__name__})")
    docs = [d for d in yaml.safe_load_all(manifest) if d]
    print(json.dumps(docs))


if __name__ == "__main__":
    main()
