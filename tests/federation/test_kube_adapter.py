"""The kube adapter with the official client over real HTTP against the emulator."""

from __future__ import annotations

import pytest

from condorfed.adapters import kube
from condorfed.adapters.kube_errors import ConflictError, UnreachableError
from condorfed.errors import ClusterError

FAST = kube.RetryPolicy(attempts=4, base=0.01, cap=0.05, deadline=20)


def cm(name: str, data: dict[str, str], ns: str = "default") -> dict:
    meta = {"name": name, "namespace": ns}
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta, "data": data}


def test_apply_twice_changes_nothing(clusters):
    c = kube.connect("host", clusters.kubeconfig, retry=FAST)
    first = c.apply(cm("x", {"a": "1"}))
    second = c.apply(cm("x", {"a": "1"}))
    assert first["metadata"]["resourceVersion"] == second["metadata"]["resourceVersion"]
    assert [m["manager"] for m in second["metadata"]["managedFields"]] == ["condorfed"]
    third = c.apply(cm("x", {"b": "2"}))
    assert third["data"] == {"b": "2"}  # a field this manager no longer applies is removed
    assert third["metadata"]["resourceVersion"] != second["metadata"]["resourceVersion"]


def test_get_missing_is_none_and_delete_missing_is_false(clusters):
    c = kube.connect("host", clusters.kubeconfig, retry=FAST)
    assert c.get("v1", "ConfigMap", "nope", "default") is None
    assert c.delete("v1", "ConfigMap", "nope", "default") is False


def test_list_with_label_selector(clusters):
    c = kube.connect("host", clusters.kubeconfig, retry=FAST)
    for name, tier in (("a", "x"), ("b", "y")):
        obj = cm(name, {})
        obj["metadata"]["labels"] = {"tier": tier}
        c.apply(obj)
    assert [o["metadata"]["name"] for o in c.list("v1", "ConfigMap", "default", "tier=y")] == ["b"]
    assert {o["metadata"]["name"] for o in c.list("v1", "ConfigMap", "default", "tier")} == {"a", "b"}


def test_500s_are_retried_with_backoff(clusters):
    delays: list[float] = []
    c = kube.connect("host", clusters.kubeconfig, retry=FAST, sleep=delays.append)
    clusters.host.add_fault("PATCH", "/configmaps/x$", 500, times=2)
    c.apply(cm("x", {"a": "1"}))
    assert delays == [0.01, 0.02]
    assert clusters.host.get("v1", "ConfigMap", "x", "default")["data"] == {"a": "1"}


def test_persistent_500_is_one_line_cluster_error(clusters):
    c = kube.connect("host", clusters.kubeconfig, retry=FAST, sleep=lambda s: None)
    clusters.host.add_fault("PATCH", "/configmaps/x$", 503, times=None)
    with pytest.raises(ClusterError) as err:
        c.apply(cm("x", {"a": "1"}))
    msg = str(err.value)
    assert "\n" not in msg
    assert "'host'" in msg and "v1 ConfigMap default/x" in msg and "503" in msg and "4 attempts" in msg


def test_timeout_is_retried(clusters):
    c = kube.connect("host", clusters.kubeconfig, timeout=0.3, retry=FAST)
    clusters.host.add_fault("GET", "/configmaps/x$", delay=1.0, times=1)
    c.apply(cm("x", {"a": "1"}))
    assert c.get("v1", "ConfigMap", "x", "default")["data"] == {"a": "1"}


def test_replace_with_stale_resource_version_conflicts(clusters):
    c = kube.connect("host", clusters.kubeconfig, retry=FAST)
    lease = c.create_lease("default", "leader", {"holderIdentity": "a"})
    c.replace_lease(lease, {"holderIdentity": "b"})
    with pytest.raises(ConflictError):
        c.replace_lease(lease, {"holderIdentity": "c"})  # stale resourceVersion
    with pytest.raises(ConflictError):
        c.create_lease("default", "leader", {"holderIdentity": "d"})


def test_injected_409_on_apply_is_retried(clusters):
    c = kube.connect("host", clusters.kubeconfig, retry=FAST, sleep=lambda s: None)
    clusters.host.add_fault("PATCH", "/configmaps/x$", 409, times=1)
    assert c.apply(cm("x", {"a": "1"}))["data"] == {"a": "1"}


def test_unknown_context_names_it(clusters):
    with pytest.raises(ClusterError, match="'nope' not found"):
        kube.connect("nope", clusters.kubeconfig)


def test_refused_and_silent_servers_are_unreachable(clusters):
    for ctx in ("down", "silent"):
        c = kube.connect(ctx, clusters.kubeconfig, timeout=0.3, retry=kube.RetryPolicy(attempts=1))
        with pytest.raises(UnreachableError, match=f"'{ctx}'.*unreachable"):
            c.namespace_uid()


def test_node_labels_scale_and_configmap_helpers(clusters):
    c = kube.connect("host", clusters.kubeconfig, retry=FAST)
    node = c.list("v1", "Node")[0]["metadata"]["name"]
    c.label_node(node, {"condorfed.io/burst": "yes"})
    assert c.get("v1", "Node", node)["metadata"]["labels"]["condorfed.io/burst"] == "yes"
    c.label_node(node, {"condorfed.io/burst": None})
    assert "condorfed.io/burst" not in c.get("v1", "Node", node)["metadata"]["labels"]
    c.write_configmap("default", "state", {"k": "v"})
    assert c.read_configmap("default", "state") == {"k": "v"}
    assert c.read_configmap("default", "missing") is None
    dep = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "d", "namespace": "default"},
        "spec": {"replicas": 1, "selector": {"matchLabels": {"a": "b"}}, "template": {}},
    }
    c.apply(dep)
    assert c.scale_deployment("default", "d", 3)["spec"]["replicas"] == 3


def test_an_invalid_object_is_refused_once_with_the_field_named(clusters):
    c = kube.connect("host", clusters.kubeconfig, retry=FAST, sleep=lambda s: None)
    bad = cm("x", {"a": "1"})
    bad["spec"] = {"replicas": 1}  # ConfigMaps have no spec
    with pytest.raises(ClusterError, match=r"HTTP 422.*ConfigMap.*'spec' was unexpected") as err:
        c.apply(bad)
    assert "attempts" not in str(err.value)  # a 422 is not retried
    assert clusters.host.get("v1", "ConfigMap", "x", "default") is None


def test_secret_values_echoed_in_an_error_are_redacted(clusters):
    c = kube.connect("host", clusters.kubeconfig, retry=FAST, sleep=lambda s: None)
    secret = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "s", "namespace": "default"},
        "data": {"token": "not base64 !!"},  # the emulator's 422 message echoes the bad value
    }
    with pytest.raises(ClusterError) as err:
        c.apply(secret)
    assert "422" in str(err.value) and "not base64 !!" not in str(err.value)


def test_429_waits_as_long_as_retry_after_says_within_the_cap(clusters):
    delays: list[float] = []
    policy = kube.RetryPolicy(attempts=4, base=0.01, cap=2.0, deadline=20)
    c = kube.connect("host", clusters.kubeconfig, retry=policy, sleep=delays.append)
    clusters.host.add_fault("GET", "/configmaps/x$", 429, times=1, retry_after=1)
    clusters.host.add_fault("GET", "/configmaps/y$", 429, times=1, retry_after=30)
    assert c.get("v1", "ConfigMap", "x", "default") is None
    assert c.get("v1", "ConfigMap", "y", "default") is None
    assert delays == [1.0, 2.0]  # Retry-After honoured, but never beyond the policy's cap
