"""The controller's manifests: wiring between objects, options, and strict schema validation."""

from __future__ import annotations

import kubernetes_validate
import pytest
import yaml

from condorfed.core.render.controller import HOST_CONTEXT, ControllerOptions, render_controller
from condorfed.errors import ConfigError


def _by_kind(objects):
    return {o["kind"]: o for o in objects}


@pytest.mark.parametrize(
    ("opts", "volumes", "extra_args"),
    [
        pytest.param(
            ControllerOptions(),
            {"federation", "host-kubeconfig", "members-kubeconfig", "pool-token", "tmp"},
            [],
            id="defaults",
        ),
        pytest.param(
            ControllerOptions(campaign_configmap="moriond", interval=30),
            {"federation", "campaign", "host-kubeconfig", "members-kubeconfig", "pool-token", "tmp"},
            ["--campaign", "/etc/condorfed/campaign/campaign.yaml", "--interval", "30"],
            id="campaign-and-interval",
        ),
        pytest.param(
            ControllerOptions(members_kubeconfig_secret=None, pool_token_secret=None),
            {"federation", "host-kubeconfig", "tmp"},
            [],
            id="no-secrets",
        ),
    ],
)
def test_objects_are_wired_together(opts, volumes, extra_args):
    objects = render_controller(opts)
    for obj in objects:
        kubernetes_validate.validate(obj, "1.30.0", strict=True)
    k = _by_kind(objects)
    pod = k["Deployment"]["spec"]["template"]["spec"]
    assert pod["serviceAccountName"] == k["ServiceAccount"]["metadata"]["name"]
    assert k["RoleBinding"]["roleRef"]["name"] == k["Role"]["metadata"]["name"]
    assert (
        k["Service"]["spec"]["selector"].items()
        <= k["Deployment"]["spec"]["template"]["metadata"]["labels"].items()
    )
    assert {v["name"] for v in pod["volumes"]} == volumes
    mounts = {m["name"] for m in pod["containers"][0]["volumeMounts"]}
    assert mounts == volumes
    args = pod["containers"][0]["args"]
    assert args[-len(extra_args) :] == extra_args if extra_args else "--campaign" not in args
    env = {e["name"]: e.get("value") for e in pod["containers"][0]["env"]}
    paths = env["KUBECONFIG"].split(":")
    assert paths[0] == "/etc/condorfed/kubeconfig-host/config"
    assert (len(paths) == 2) == ("members-kubeconfig" in volumes)
    kubeconfig = yaml.safe_load(k["ConfigMap"]["data"]["config"])
    assert kubeconfig["current-context"] == HOST_CONTEXT == args[args.index("--host-context") + 1]
    # the Role allows what the controller does on the host: state ConfigMaps and the Lease
    rules = {tuple(r["resources"]): set(r["verbs"]) for r in k["Role"]["rules"]}
    assert {"get", "create", "patch"} <= rules[("configmaps",)]
    assert {"get", "create", "update"} <= rules[("leases",)]


@pytest.mark.parametrize(
    ("opts", "message"),
    [
        pytest.param(ControllerOptions(replicas=0), "replicas: 0 must be >= 1", id="replicas"),
        pytest.param(ControllerOptions(metrics_port=70000), "not a TCP port", id="port"),
        pytest.param(ControllerOptions(lease_seconds=2), "lease seconds: 2 must be >= 5", id="lease"),
    ],
)
def test_bad_options(opts, message):
    with pytest.raises(ConfigError, match=message):
        render_controller(opts)
