"""federation.yaml validation: every error is one line naming the file and the field path."""

from __future__ import annotations

import pytest

from condorfed.adapters.federation_file import load_federation
from condorfed.core.federation.model import Federation, GroupQuota, parse_federation
from condorfed.errors import ConfigError


def test_example_loads(example_data):
    fed = parse_federation(example_data, "federation.yaml")
    assert isinstance(fed, Federation)
    assert fed.name == "cern" and fed.trust_domain == "cern.ch"
    assert [c.name for c in fed.clusters] == ["meyrin", "prevessin", "exoscale", "tsystems", "gcp"]
    assert [c.type for c in fed.clusters].count("onprem") == 2
    exo = fed.cluster("exoscale")
    assert exo.node.gpus == 1 and exo.max_cores == 3200 and exo.cost_per_core_hour == 0.021
    assert exo.actuator.kind == "nodepool"
    assert fed.cluster("meyrin").actuator.kind == "labels"  # per-type default
    assert [r.kind for r in fed.rules] == ["fill", "prefer", "require"]
    assert fed.rules[2].clusters == ("gcp",) and fed.rules[2].when == 'AcctGroup =?= "tpu"'
    assert fed.fairshare.half_life == 86400
    atlas = fed.fairshare.groups[0]
    assert atlas == GroupQuota(
        "atlas",
        0.6,
        True,
        (GroupQuota("atlas.prod", 0.8, True), GroupQuota("atlas.analysis", 0.2, True)),
    )
    tpu = fed.fairshare.groups[2]
    assert tpu.quota == 512 and not tpu.is_dynamic


def test_defaults(minimal_data):
    fed = parse_federation(minimal_data, "f.yaml")
    a, b = fed.clusters
    assert (a.weight, a.min_cores, a.max_cores, a.provisioning_seconds) == (1, 0, None, 0.0)
    assert b.provisioning_seconds == 240.0 and b.actuator.kind == "deployment" and b.nodes == 0
    assert fed.negotiator_interval == 60 and fed.controller_interval == 60
    assert fed.fairshare.half_life == 86400 and fed.fairshare.groups == ()
    assert b.slot_attrs() == {"FedCluster": "b", "IsCloud": True}


def test_actuator_argv_is_a_list_not_a_shell_string(example_data):
    fed = parse_federation(example_data, "f.yaml")
    ts = fed.cluster("tsystems")
    assert ts.actuator.argv(ts, 7) == [
        "openstack", "coe", "nodegroup", "resize", "cern-burst", "condor-workers", "--node-count", "7",
    ]  # fmt: skip


def _set(path, value):
    def edit(d):
        *head, last = path
        for key in head:
            d = d[key]
        if value is _DELETE:
            del d[last]
        else:
            d[last] = value

    return edit


_DELETE = object()

ERRORS = {
    "cpus-zero": (_set(["clusters", 1, "node", "cpus"], 0), "f.yaml: clusters[1].node.cpus: must be > 0"),
    "cpus-float": (
        _set(["clusters", 0, "node", "cpus"], 1.5),
        "f.yaml: clusters[0].node.cpus: must be an integer",
    ),
    "missing-node": (_set(["clusters", 0, "node"], _DELETE), "f.yaml: clusters[0].node: is required"),
    "bad-type": (
        _set(["clusters", 0, "type"], "hybrid"),
        "f.yaml: clusters[0].type: must be one of 'onprem' or 'cloud'",
    ),
    "unknown-key": (_set(["clusters", 0, "weigth"], 3), "f.yaml: clusters[0].weigth: unknown field"),
    "snake-case-key": (_set(["clusters", 0, "max_cores"], 3), "f.yaml: clusters[0].max_cores: unknown field"),
    "trust-domain": (
        _set(["federation", "trustDomain"], _DELETE),
        "f.yaml: federation.trustDomain: is required",
    ),
    "dns1123": (
        _set(["clusters", 0, "name"], "Meyrin_1"),
        "f.yaml: clusters[0].name: 'Meyrin_1' is not a DNS-1123 label",
    ),
    "duplicate": (_set(["clusters", 1, "name"], "a"), "f.yaml: clusters[1].name: duplicate cluster name 'a'"),
    "min-over-max": (
        lambda d: d["clusters"][0].update(minCores=10, maxCores=4),
        "f.yaml: clusters[0].minCores: 10 exceeds maxCores 4",
    ),
    "label-name": (
        _set(["clusters", 0, "labels"], {"bad-name": 1}),
        "f.yaml: clusters[0].labels.bad-name: not a valid",
    ),
    "label-reserved": (
        _set(["clusters", 0, "labels"], {"fedcluster": "x"}),
        "f.yaml: clusters[0].labels.fedcluster: set by",
    ),
    "nodepool-needs-command": (
        _set(["clusters", 1, "actuator"], {"kind": "nodepool"}),
        "f.yaml: clusters[1].actuator.command: required for kind nodepool",
    ),
    "nodepool-placeholder": (
        _set(["clusters", 1, "actuator"], {"kind": "nodepool", "command": ["x", "{nodez}"]}),
        "f.yaml: clusters[1].actuator.command: unknown placeholder {nodez}",
    ),
    "nodepool-needs-nodes": (
        _set(["clusters", 1, "actuator"], {"kind": "nodepool", "command": ["x", "{cluster}"]}),
        "f.yaml: clusters[1].actuator.command: must contain the {nodes} placeholder",
    ),
    "rule-two-kinds": (
        _set(["rules"], [{"fill": ["a"], "prefer": "b"}]),
        "f.yaml: rules[0]: must have exactly one of",
    ),
    "rule-unknown-key": (
        _set(["rules"], [{"require": "a", "if": "x"}]),
        "f.yaml: rules[0].if: unknown field",
    ),
    "rule-bad-expr": (
        _set(["rules"], [{"prefer": "b", "when": "RequestGPUs >"}]),
        "f.yaml: rules[0].when: not a valid ClassAd expression: 'RequestGPUs >'",
    ),
    "rule-target": (
        _set(["rules"], [{"prefer": "b", "when": "TARGET.Cpus > 2"}]),
        "f.yaml: rules[0].when: is evaluated against the job ad alone",
    ),
    "require-unknown": (
        _set(["rules"], [{"require": "gcp", "when": "true"}]),
        "f.yaml: rules[0].require: unknown cluster 'gcp' (known: a, b)",
    ),
    "star-in-require": (
        _set(["rules"], [{"require": ["*"]}]),
        "f.yaml: rules[0].require: '*' is only meaningful in fill",
    ),
    "two-fills": (
        _set(["rules"], [{"fill": ["a", "*"]}, {"fill": ["b", "a"]}]),
        "f.yaml: rules[1]: second fill for the same jobs as rules[0]",
    ),
    "fill-unreachable": (
        _set(["rules"], [{"fill": ["a", "*"]}, {"fill": ["b", "a"], "when": "RequestGPUs > 0"}]),
        "f.yaml: rules[1]: unreachable: the unconditional fill rules[0] comes first",
    ),
    "require-gpu-shape": (
        _set(["rules"], [{"require": "a", "when": "RequestGPUs > 0"}]),
        "f.yaml: rules[0]: require [a] when RequestGPUs > 0 can never be met: "
        "a nodes have gpus=0 but the jobs need at least 1",
    ),
    "require-memory-shape": (
        _set(["rules"], [{"require": ["a", "b"], "when": '(RequestMemory >= 20000) && Owner == "x"'}]),
        "a nodes have memory=8000 but the jobs need at least 20000; b nodes have memory=16000",
    ),
    "prefer-gpu-shape": (
        _set(["rules"], [{"prefer": "a", "when": "1 <= RequestGPUs"}]),
        "f.yaml: rules[0]: prefer [a] when 1 <= RequestGPUs can never be met",
    ),
    "require-no-capacity": (
        lambda d: (d["clusters"][1].update(maxCores=4), d.update(rules=[{"require": "b"}])),
        "b can have no worker (nodes=0, maxCores=4)",
    ),
    "require-disjoint": (
        _set(["rules"], [{"require": "a"}, {"require": "b", "when": "RequestGPUs > 0"}]),
        "f.yaml: rules[1]: require [b] when RequestGPUs > 0 conflicts with rules[0]: require [a]",
    ),
    "require-disjoint-same-when": (
        _set(["rules"], [{"require": "a", "when": "x == 1"}, {"require": "b", "when": "x==1"}]),
        "conflicts with rules[0]",
    ),
    "prefer-excluded": (
        _set(["rules"], [{"require": "a", "when": "x == 1"}, {"prefer": "b", "when": "x == 1"}]),
        "f.yaml: rules[1]: prefer [b] when x == 1 can never apply: rules[0] require [a] when x == 1 excludes",
    ),
    "quota-fraction-range": (
        _set(["fairshare"], {"groups": {"atlas": {"quota": 1.5}}}),
        "f.yaml: fairshare.groups.atlas.quota: a fraction must be in (0, 1]",
    ),
    "quota-missing": (
        _set(["fairshare"], {"groups": {"atlas": {}}}),
        "f.yaml: fairshare.groups.atlas.quota: is required",
    ),
    "quota-sum": (
        _set(["fairshare"], {"groups": {"atlas": {"quota": 0.7}, "cms": {"quota": 0.4}}}),
        "f.yaml: fairshare.groups: dynamic quotas of atlas, cms sum to 1.1 > 1",
    ),
    "quota-nested-sum": (
        _set(
            ["fairshare"],
            {"groups": {"atlas": {"quota": 0.5, "groups": {"x": {"quota": 0.9}, "y": {"quota": 0.2}}}}},
        ),
        "f.yaml: fairshare.groups.atlas.groups: dynamic quotas of atlas.x, atlas.y sum to 1.1 > 1",
    ),
    "quota-bool": (
        _set(["fairshare"], {"groups": {"a": {"quota": True}}}),
        "f.yaml: fairshare.groups.a.quota: must be",
    ),
    "surplus-type": (
        _set(["fairshare"], {"groups": {"a": {"quota": 1, "acceptSurplus": "yes"}}}),
        "f.yaml: fairshare.groups.a.acceptSurplus: must be true or false",
    ),
    "federation-name": (
        _set(["federation", "name"], 'ce"rn'),
        "f.yaml: federation.name: must be letters, digits",
    ),
    "trust-domain-space": (
        _set(["federation", "trustDomain"], "a b"),
        "f.yaml: federation.trustDomain: must be",
    ),
    "when-macro": (
        _set(["rules"], [{"prefer": "b", "when": 'Owner == "$(USER)"'}]),
        "f.yaml: rules[0].when: '$(' would be expanded as an HTCondor config macro",
    ),
    "halflife": (_set(["fairshare"], {"halfLife": 0}), "f.yaml: fairshare.halfLife: must be > 0"),
    "group-dup-case": (
        _set(["fairshare"], {"groups": {"atlas": {"quota": 1}, "ATLAS": {"quota": 2}}}),
        "f.yaml: fairshare.groups.ATLAS: duplicate group name",
    ),
}


@pytest.mark.parametrize("edit,message", ERRORS.values(), ids=ERRORS.keys())
def test_errors_name_the_field(edit, message, minimal_data):
    data = minimal_data
    edit(data)
    with pytest.raises(ConfigError) as info:
        parse_federation(data, "f.yaml")
    text = str(info.value)
    assert message in text
    assert "\n" not in text


ACCEPTED = {
    "require-fits-one-of-two": [{"require": ["a", "b"], "when": "RequestGPUs > 0"}],
    "undecidable-or": [{"require": "a", "when": "RequestGPUs > 0 || RequestCpus > 1"}],
    "overlapping-requires": [{"require": ["a", "b"]}, {"require": "b", "when": "RequestGPUs >= 1"}],
    "different-whens-may-be-disjoint": [
        {"require": "a", "when": "x == 1"},
        {"require": "b", "when": "x == 2"},
    ],
    "fill-per-when": [{"fill": ["b", "a"], "when": "RequestGPUs > 0"}, {"fill": ["a", "*"]}],
}


@pytest.mark.parametrize("rules", ACCEPTED.values(), ids=ACCEPTED.keys())
def test_accepted_rules(rules, minimal_data):
    data = minimal_data
    data["rules"] = rules
    assert len(parse_federation(data, "f.yaml").rules) == len(rules)


def test_multiline_when_becomes_one_line(minimal_data):
    minimal_data["rules"] = [{"prefer": "b", "when": "RequestGPUs > 0 &&\n  RequestCpus >= 1\n"}]
    assert parse_federation(minimal_data, "f.yaml").rules[0].when == "RequestGPUs > 0 &&   RequestCpus >= 1"


def test_load_federation_names_the_file(tmp_path):
    bad = tmp_path / "fed.yaml"
    bad.write_text("federation: {name: x\n")
    with pytest.raises(ConfigError, match=r"fed\.yaml: line \d+, column \d+: invalid YAML"):
        load_federation(bad)
    with pytest.raises(ConfigError, match=r"missing\.yaml: cannot read"):
        load_federation(tmp_path / "missing.yaml")
    bad.write_text("- 1\n- 2\n")
    with pytest.raises(ConfigError, match=r"fed\.yaml: must be a mapping"):
        load_federation(bad)
