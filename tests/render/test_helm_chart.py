"""The Helm chart and `condorfed render join` agree, rendered by Helm's real engine (helm-sdkpy)."""

from __future__ import annotations

from pathlib import Path

import kubernetes_validate
import pytest

from condorfed.core.render import JoinOptions, render_join

from .conftest import JOIN_CASES, K8S_VERSION

CHART = Path(__file__).resolve().parents[2] / "charts" / "startd-daemonset"


def chart_values(opts: JoinOptions) -> dict:
    """The chart values that mean the same as these options (the mapping documented in the chart)."""
    host, port = opts.collector_host_port
    repository, _, tag = opts.images.execute.rpartition(":")
    limits = {k: v for k, v in (("cpu", opts.cpu_limit), ("memory", opts.memory_limit)) if v is not None}
    return {
        "cluster": opts.cluster,
        "collector": {"host": host, "port": port},
        "trustDomain": opts.trust_domain,
        "cloud": opts.settings.cloud,
        "provider": opts.settings.provider,
        "labels": dict(opts.settings.labels),
        "weight": opts.settings.weight,
        "costPerCoreHour": opts.settings.cost_per_core_hour,
        "nodeSelector": dict(opts.settings.node_selector),
        "maxJobRetirementTime": opts.settings.max_job_retirement_time,
        "drainMargin": opts.drain_margin,
        "startdNoclaimShutdown": opts.startd_noclaim_shutdown,
        "reservedMemoryMB": opts.reserved_memory_mb,
        "ccb": opts.ccb,
        "safeToEvictAnnotation": opts.safe_to_evict_annotation,
        "autoscalerGuard": opts.autoscaler_guard,
        "image": {"repository": repository, "tag": tag, "pullPolicy": opts.images.pull_policy},
        "resources": {"requests": {"cpu": opts.cpu_request, "memory": opts.memory_request}, "limits": limits},
        "tokenSecret": {"name": "condorfed-startd-token"},
    }


def _by_kind_name(objs: list[dict]) -> dict[tuple[str, str], dict]:
    return {(o["kind"], o["metadata"]["name"]): o for o in objs}


@pytest.mark.parametrize("case", sorted(JOIN_CASES))
def test_chart_and_cli_render_the_same_startd(case: str, helm_template) -> None:
    opts = JOIN_CASES[case]
    cli = _by_kind_name(render_join(opts))
    chart = _by_kind_name(helm_template(CHART, opts.namespace, chart_values(opts)))

    ds = ("DaemonSet", "condorfed-startd")
    assert chart[ds]["spec"] == cli[ds]["spec"]  # includes the config hash: config and scripts match too
    for cm in (("ConfigMap", "condorfed-startd-config"), ("ConfigMap", "condorfed-startd-scripts")):
        assert chart[cm]["data"] == cli[cm]["data"], cm
    sa = ("ServiceAccount", "condorfed-startd")
    assert chart[sa]["automountServiceAccountToken"] == cli[sa]["automountServiceAccountToken"]
    role = ("ClusterRole", "condorfed-startd-node-guard")
    assert (role in chart) == (role in cli) == opts.guard_enabled
    if opts.guard_enabled:
        assert chart[role]["rules"] == cli[role]["rules"]
    # The chart refers to the token Secret and never creates one.
    assert not any(kind == "Secret" for kind, _ in chart)
    for obj in chart.values():
        kubernetes_validate.validate(obj, K8S_VERSION, strict=True)


def test_comparison_can_fail(helm_template) -> None:
    # Same chart, one option different: the DaemonSet specs must differ (guards the oracle).
    opts = JOIN_CASES["onprem-defaults"]
    values = chart_values(opts) | {"maxJobRetirementTime": opts.settings.max_job_retirement_time + 1}
    chart = _by_kind_name(helm_template(CHART, opts.namespace, values))
    cli = _by_kind_name(render_join(opts))
    ds = ("DaemonSet", "condorfed-startd")
    assert chart[ds]["spec"] != cli[ds]["spec"]


@pytest.mark.parametrize(
    ("override", "needle"),
    [
        pytest.param({"cluster": "Not_A_Label"}, "/cluster", id="cluster-not-dns-label"),
        pytest.param({"bogus": 1}, "bogus", id="unknown-value"),
        pytest.param({"maxJobRetirementTime": -1}, "maxJobRetirementTime", id="negative-retirement"),
    ],
)
def test_values_schema_rejects_bad_values(override: dict, needle: str, helm_template) -> None:
    values = chart_values(JOIN_CASES["onprem-defaults"]) | override
    with pytest.raises(AssertionError, match="helm render failed") as info:
        helm_template(CHART, "condor", values)
    assert needle in str(info.value)


def test_chart_token_hash_value_matches_join_with_a_token(helm_template) -> None:
    # `join` annotates the digest of the token it mounts; the chart does the same from tokenSecret.hash.
    from condorfed.core import idtoken
    from condorfed.core.render import RenderedSecrets
    from condorfed.core.render.render import TOKEN_HASH, token_hash

    opts = JOIN_CASES["cloud-labels-limits"]
    claims = idtoken.make_claims(
        identity=opts.identity,
        trust_domain=opts.trust_domain,
        authz=["READ"],
        issued_at=1,
        token_id="ef" * 16,
    )
    token = idtoken.mint(claims, b"k" * 32)
    cli = _by_kind_name(render_join(opts, RenderedSecrets(member_token=token)))
    values = chart_values(opts)
    values["tokenSecret"] = {**values["tokenSecret"], "hash": token_hash(token)}
    chart = _by_kind_name(helm_template(CHART, opts.namespace, values))
    ds = ("DaemonSet", "condorfed-startd")
    assert chart[ds]["spec"] == cli[ds]["spec"]
    assert chart[ds]["spec"]["template"]["metadata"]["annotations"][TOKEN_HASH] == token_hash(token)
