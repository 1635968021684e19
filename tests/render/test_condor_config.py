"""Rendered config.d files, loaded by HTCondor's own parser (htcondor2.param in a subprocess)."""

from __future__ import annotations

import pytest

from condorfed.core.render import ClusterSettings, InitOptions, JoinOptions
from condorfed.core.render.render import cm_config_files, schedd_config_files, startd_config

from .conftest import JOIN_CASES

STARTD_PARAMS = [
    "CONDOR_HOST",
    "COLLECTOR_HOST",
    "CCB_ADDRESS",
    "DAEMON_LIST",
    "TRUST_DOMAIN",
    "STARTD_ATTRS",
    "K8sNodeName",
    "NUM_SLOTS_TYPE_1",
    "SLOT_TYPE_1",
    "SLOT_TYPE_1_PARTITIONABLE",
    "NUM_CPUS",
    "MEMORY",
    "RESERVED_MEMORY",
    "MAXJOBRETIREMENTTIME",
    "STARTD_NOCLAIM_SHUTDOWN",
    "FedCluster",
    "FedProvider",
    "IsCloud",
    "CostPerCoreHour",
    "FedWeight",
    "FedLabels",
    "FedLabel_region",
    "FedLabel_topology_kubernetes_io_zone",
]
POD_ENV = {"CONDORFED_CPUS": "8", "CONDORFED_MEMORY_MB": "30720", "CONDORFED_NODE_NAME": "node-7"}


# What the official execute image puts in config.d before ours (role and security metaknobs).
IMAGE_PREFACE = {"01-image.conf": "use role : Execute\nuse security : recommended\n"}


def test_cloud_startd_config(condor_params) -> None:
    opts = JOIN_CASES["cloud-labels-limits"]
    files = IMAGE_PREFACE | {"50-condorfed-startd.conf": startd_config(opts)}
    p = condor_params(files, [*STARTD_PARAMS, "ALLOW_ADMINISTRATOR"], POD_ENV)
    assert "root@*" in p["ALLOW_ADMINISTRATOR"]  # the preStop drain runs as root in the pod
    assert p["CONDOR_HOST"] == "203.0.113.7"
    assert p["COLLECTOR_HOST"] == "203.0.113.7:31618"
    assert p["CCB_ADDRESS"] == "203.0.113.7:31618"
    assert [d.strip() for d in p["DAEMON_LIST"].split(",")] == ["MASTER", "STARTD"]
    assert p["TRUST_DOMAIN"] == "pool.example.org"
    attrs = p["STARTD_ATTRS"].split()
    for attr in ("FedCluster", "FedProvider", "IsCloud", "CostPerCoreHour", "FedWeight", "FedLabels"):
        assert attr in attrs
    assert "FedLabel_region" in attrs and "FedLabel_topology_kubernetes_io_zone" in attrs
    # use feature : PartitionableSlot expanded by HTCondor itself: one p-slot with everything.
    assert (p["NUM_SLOTS_TYPE_1"], p["SLOT_TYPE_1"]) == ("1", "100%")
    assert p["SLOT_TYPE_1_PARTITIONABLE"].lower() == "true"
    # Sizes come from the pod's Downward API env (its limits), not from the host.
    assert (p["NUM_CPUS"], p["MEMORY"], p["RESERVED_MEMORY"]) == ("8", "30720", "256")
    assert p["MAXJOBRETIREMENTTIME"] == "7200"
    assert p["STARTD_NOCLAIM_SHUTDOWN"] == "1200"
    assert (p["FedCluster"], p["FedProvider"], p["IsCloud"]) == ('"gke-burst-1"', '"gcp"', "True")
    assert float(p["CostPerCoreHour"]) == 0.031 and float(p["FedWeight"]) == 2.5
    assert p["FedLabels"] == '"region=europe-west4,topology.kubernetes.io/zone=europe-west4-a"'
    assert p["FedLabel_region"] == '"europe-west4"'


def test_onprem_startd_config(condor_params) -> None:
    opts = JOIN_CASES["onprem-defaults"]
    p = condor_params({"50-condorfed-startd.conf": startd_config(opts)}, STARTD_PARAMS, POD_ENV)
    assert (p["CONDOR_HOST"], p["COLLECTOR_HOST"]) == ("cm.example.org", "cm.example.org:9618")
    assert p["IsCloud"] == "False"
    assert p["STARTD_NOCLAIM_SHUTDOWN"] in (None, "0")  # HTCondor default (never): cloud only
    assert "STARTD_NOCLAIM_SHUTDOWN" not in startd_config(opts)
    assert p["FedLabels"] == '""'
    assert p["STARTD_ATTRS"].split()[-7:] == [
        "FedCluster",
        "FedProvider",
        "IsCloud",
        "CostPerCoreHour",
        "FedWeight",
        "FedLabels",
        "K8sNodeName",
    ]
    # The node name comes from the pod's Downward API (spec.nodeName), for the burst controller.
    assert p["K8sNodeName"] == '"node-7"'


def test_no_ccb_when_disabled(condor_params) -> None:
    p = condor_params({"s.conf": startd_config(JOIN_CASES["onprem-guard-no-ccb"])}, ["CCB_ADDRESS"], POD_ENV)
    assert p["CCB_ADDRESS"] is None


def test_startd_attrs_evaluate_as_classad_values() -> None:
    # The advertised attributes are ClassAd expressions; classad2 must read them as typed values.
    import classad2

    text = startd_config(JOIN_CASES["cloud-labels-limits"])
    values = dict(
        line.split(" = ", 1)
        for line in text.splitlines()
        if line.startswith(("Fed", "IsCloud", "CostPerCoreHour"))
    )
    ad = classad2.ClassAd({k: classad2.ExprTree(v) for k, v in values.items()})
    assert ad.eval("FedCluster") == "gke-burst-1"
    assert ad.eval("IsCloud") is True
    assert ad.eval("CostPerCoreHour") == pytest.approx(0.031)
    assert ad.eval("FedWeight") == 2.5


CM_PARAMS = [
    "CONDOR_HOST",
    "DAEMON_LIST",
    "TRUST_DOMAIN",
    "TCP_FORWARDING_HOST",
    "ALLOW_ADVERTISE_STARTD",
    "ALLOW_ADVERTISE_MASTER",
    "SEC_TOKEN_REVOCATION_EXPR",
    "NEGOTIATOR_INTERVAL",
    "GROUP_NAMES",
]


def test_central_manager_config(condor_params) -> None:
    opts = InitOptions(
        namespace="htc",
        trust_domain="pool.example.org",
        collector_address="cm.example.org:31618",
        joined_members=("cluster-b", "cluster-a"),
        revoked_identities=("old@pool.example.org",),
        revoked_token_ids=("d4e2373c181a2ec5b799c2a5702306ac",),
        negotiator_config="NEGOTIATOR_INTERVAL = 30\nGROUP_NAMES = group_a",
    )
    # The official images use HTCondor's recommended security; load it first, as they do.
    files = {"00-image-security.conf": "use security : recommended\n", **cm_config_files(opts)}
    p = condor_params(files, CM_PARAMS)
    assert p["CONDOR_HOST"] == "condor-collector.htc.svc"
    assert [d.strip() for d in p["DAEMON_LIST"].split(",")] == ["MASTER", "COLLECTOR", "NEGOTIATOR"]
    assert p["TRUST_DOMAIN"] == "pool.example.org"
    assert p["TCP_FORWARDING_HOST"] == "cm.example.org"
    for key in ("ALLOW_ADVERTISE_STARTD", "ALLOW_ADVERTISE_MASTER"):
        tail = p[key].split()[-2:]
        assert tail == ["cluster-a@pool.example.org", "cluster-b@pool.example.org"], p[key]
        assert "condor@*" in p[key].split()  # the daemons the recommended config trusts keep their right
    assert p["SEC_TOKEN_REVOCATION_EXPR"] == (
        'sub =?= "old@pool.example.org" || jti =?= "d4e2373c181a2ec5b799c2a5702306ac"'
    )
    assert (p["NEGOTIATOR_INTERVAL"], p["GROUP_NAMES"]) == ("30", "group_a")


def test_revocation_expr_rejects_exactly_the_revoked_claims() -> None:
    import classad2

    from condorfed.core.render.render import revocation_expr

    expr = classad2.ExprTree(revocation_expr(("old@td",), ("ab" * 16,)))
    revoked = [{"sub": "old@td", "jti": "x"}, {"sub": "new@td", "jti": "ab" * 16}]
    kept = [{"sub": "new@td", "jti": "cd" * 16}, {"sub": "OLD@td", "jti": "x"}]
    assert all(expr.eval(classad2.ClassAd(c)) is True for c in revoked)
    assert all(expr.eval(classad2.ClassAd(c)) is False for c in kept)


def test_no_members_no_allow_lines(condor_params) -> None:
    p = condor_params(cm_config_files(InitOptions()), ["ALLOW_ADVERTISE_STARTD", "SEC_TOKEN_REVOCATION_EXPR"])
    assert "@" not in (p["ALLOW_ADVERTISE_STARTD"] or "")
    assert p["SEC_TOKEN_REVOCATION_EXPR"] is None


def test_schedd_config(condor_params) -> None:
    names = ["CONDOR_HOST", "DAEMON_LIST", "SPOOL", "TCP_FORWARDING_HOST"]
    p = condor_params(schedd_config_files(InitOptions()), names)
    assert p["TCP_FORWARDING_HOST"] is None
    assert p["CONDOR_HOST"] == "condor-collector.condor.svc"
    assert p["SPOOL"] == "/var/lib/condor/spool"
    assert "SCHEDD" in p["DAEMON_LIST"]


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        pytest.param({"cluster": "Cluster_A"}, "cluster name", id="uppercase-underscore"),
        pytest.param({"cluster": "a" * 64}, "cluster name", id="too-long"),
        pytest.param({"cluster": "-a"}, "cluster name", id="leading-dash"),
        pytest.param({"collector": "cm:99999"}, "--collector", id="bad-port"),
        pytest.param({"collector": "cm.example.org:x"}, "--collector", id="port-not-number"),
        pytest.param({"labels": {"bad key!": "v"}}, "--label", id="bad-label-key"),
        pytest.param({"labels": {"k": "with space"}}, "--label", id="bad-label-value"),
        pytest.param({"weight": 0}, "--weight", id="zero-weight"),
        pytest.param({"min_cores": 4, "max_cores": 2}, "--max-cores", id="max-below-min"),
        pytest.param({"trust_domain": 'x"y'}, "--trust-domain", id="quote-in-trust-domain"),
        pytest.param({"cpu_limit": "lots"}, "cpu_limit", id="bad-quantity"),
    ],
)
def test_bad_join_options_are_one_line_config_errors(kwargs: dict, match: str) -> None:
    from condorfed.errors import ConfigError

    base = {"cluster": "a", "collector": "cm.example.org"}
    settings = {k: kwargs.pop(k) for k in list(kwargs) if k in ClusterSettings.field_names()}
    with pytest.raises(ConfigError, match=match) as info:
        JoinOptions(**(base | kwargs), settings=ClusterSettings(**settings))
    assert "\n" not in str(info.value)


def test_exposed_schedd_advertises_its_external_address(condor_params) -> None:
    opts = InitOptions(schedd_service_type="LoadBalancer", schedd_address="schedd.example.org:9618")
    p = condor_params(schedd_config_files(opts), ["TCP_FORWARDING_HOST"])
    assert p["TCP_FORWARDING_HOST"] == "schedd.example.org"
