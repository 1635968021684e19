"""The campaign parser: the issue's example, defaults, and one-line errors naming the field path."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from condorfed.adapters.campaign_file import load_campaign
from condorfed.adapters.federation_file import load_federation
from condorfed.core.burst import Campaign, parse_campaign
from condorfed.errors import ConfigError

ROOT = Path(__file__).parents[2]
ISSUE_EXAMPLE = """
campaign:
  name: moriond-2027
  start: 2027-03-01T00:00:00Z
  end: 2027-03-10T00:00:00Z          # the lease: after it, drain and scale to zero
  clusters: [exoscale, tsystems]
  maxCores: 3000
  budget: 25000                       # currency units for the whole campaign
  maxBurnRate: 400                    # currency units per hour
  groups: [atlas]                     # accounting groups it serves (default: all)
  rampUp: {maxNodesPerTick: 20}
  scaleDown: {idleSeconds: 900, drain: graceful, drainDeadlineSeconds: 86400}   # drain: graceful|force
"""


def test_issue_example_parses():
    c = parse_campaign(yaml.safe_load(ISSUE_EXAMPLE), "c.yaml")
    assert c.name == "moriond-2027"
    assert c.start == dt.datetime(2027, 3, 1, tzinfo=dt.UTC).timestamp()
    assert c.end - c.start == 9 * 86400
    assert c.clusters == ("exoscale", "tsystems")
    assert (c.max_cores, c.budget, c.max_burn_rate) == (3000, 25000.0, 400.0)
    assert c.groups == ("atlas",)
    assert c.ramp_up.max_nodes_per_tick == 20
    assert (c.scale_down.idle_seconds, c.scale_down.drain, c.scale_down.drain_deadline_seconds) == (
        900.0,
        "graceful",
        86400.0,
    )


def test_example_file_loads_against_example_federation():
    fed = load_federation(ROOT / "examples" / "federation.yaml")
    c = load_campaign(ROOT / "examples" / "campaign.yaml", fed)
    assert c.clusters == ("exoscale", "tsystems")


def test_defaults():
    c = parse_campaign({"campaign": {"name": "x", "start": "2027-01-01T00:00:00Z", "end": "2027-01-02"}}, "c")
    assert c.clusters == () and c.groups == () and c.max_cores is None and c.budget is None
    assert c.ramp_up.max_nodes_per_tick == 10 and c.scale_down.drain == "graceful"
    assert c.serves_group(None) and c.serves_group("cms")


@pytest.mark.parametrize(
    ("groups", "group", "served"),
    [
        pytest.param(("atlas",), "atlas", True, id="same-group"),
        pytest.param(("atlas",), "ATLAS", True, id="case-insensitive"),
        pytest.param(("atlas",), "atlas.prod", True, id="subgroup"),
        pytest.param(("atlas",), "atlasx", False, id="prefix-is-not-subgroup"),
        pytest.param(("atlas",), None, False, id="no-group"),
    ],
)
def test_serves_group(groups, group, served):
    assert Campaign("c", 0, 1, groups=groups).serves_group(group) is served


def _doc(**changes):
    base = yaml.safe_load(ISSUE_EXAMPLE)
    for path, value in changes.items():
        node = base["campaign"]
        keys = path.split("__")
        for k in keys[:-1]:
            node = node[k]
        if value is _DELETE:
            del node[keys[-1]]
        else:
            node[keys[-1]] = value
    return base


_DELETE = object()


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        pytest.param({"name": "Moriond_2027"}, "c.yaml: campaign.name:", id="name-not-dns-label"),
        pytest.param({"start": _DELETE}, "c.yaml: campaign.start: required", id="start-missing"),
        pytest.param({"end": "next tuesday"}, "c.yaml: campaign.end: not an ISO 8601 time", id="end-garbage"),
        pytest.param(
            {"end": "2027-02-01T00:00:00Z"}, "c.yaml: campaign.end: must be after", id="end-before-start"
        ),
        pytest.param({"maxCores": -1}, "c.yaml: campaign.maxCores: must be >= 0", id="negative-max-cores"),
        pytest.param(
            {"maxCores": 2.5}, "c.yaml: campaign.maxCores: expected a whole number", id="fractional-cores"
        ),
        pytest.param(
            {"budget": "lots"}, "c.yaml: campaign.budget: expected a number", id="budget-not-number"
        ),
        pytest.param(
            {"rampUp__maxNodesPerTick": 0},
            "c.yaml: campaign.rampUp.maxNodesPerTick: must be >= 1",
            id="ramp-zero",
        ),
        pytest.param(
            {"scaleDown__drain": "eventually"}, "c.yaml: campaign.scaleDown.drain: expected", id="drain-mode"
        ),
        pytest.param(
            {"scaleDown__idle": 5}, "c.yaml: campaign.scaleDown.idle: unknown field", id="unknown-nested"
        ),
        pytest.param({"maxcores": 5}, "c.yaml: campaign.maxcores: unknown field", id="unknown-field-case"),
        pytest.param({"clusters": "exoscale,tsystems"}, None, id="single-string-is-one-name"),
        pytest.param(
            {"clusters": [1, 2]}, "c.yaml: campaign.clusters: expected a list of names", id="cluster-ints"
        ),
        pytest.param(
            {"groups": ["atlas", "atlas"]}, "c.yaml: campaign.groups: names repeat", id="group-repeat"
        ),
    ],
)
def test_errors_name_the_field(changes, message):
    if message is None:
        parse_campaign(_doc(**changes), "c.yaml")
        return
    with pytest.raises(ConfigError) as err:
        parse_campaign(_doc(**changes), "c.yaml")
    text = str(err.value)
    assert text.startswith(message), text
    assert "\n" not in text


@pytest.mark.parametrize(
    ("clusters", "message"),
    [
        pytest.param(
            ["exoscale", "nowhere"], "campaign.clusters[1]: unknown cluster 'nowhere'", id="unknown"
        ),
        pytest.param(["meyrin"], "campaign.clusters[0]: 'meyrin' is on-prem", id="onprem"),
    ],
)
def test_clusters_checked_against_the_federation(clusters, message):
    known = {"meyrin": False, "exoscale": True, "tsystems": True}
    with pytest.raises(ConfigError, match=message.replace("[", r"\[").replace("]", r"\]")):
        parse_campaign(_doc(clusters=clusters), "c.yaml", known)


def test_missing_top_level_and_bad_yaml(tmp_path):
    with pytest.raises(ConfigError, match=r"^c: campaign: required"):
        parse_campaign({}, "c")
    with pytest.raises(ConfigError, match=r"^c: \(top\): expected a mapping"):
        parse_campaign([1], "c")
    bad = tmp_path / "bad.yaml"
    bad.write_text("campaign: [unclosed\n")
    with pytest.raises(ConfigError, match=r"bad.yaml: line \d+, column \d+: invalid YAML"):
        load_campaign(bad)
    with pytest.raises(ConfigError, match="cannot read"):
        load_campaign(tmp_path / "absent.yaml")


def test_to_json_round_trips_through_the_parser():
    c = parse_campaign(yaml.safe_load(ISSUE_EXAMPLE), "c.yaml")
    again = parse_campaign({"campaign": {k: v for k, v in c.to_json().items() if v not in (None, [])}}, "j")
    assert again == c


_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=8,
)
_keys = st.sampled_from(
    [
        "name",
        "start",
        "end",
        "clusters",
        "maxCores",
        "budget",
        "maxBurnRate",
        "groups",
        "rampUp",
        "scaleDown",
        "x",
    ]
)


@settings(max_examples=150, deadline=None)
@given(st.dictionaries(_keys, _values, max_size=6))
def test_any_document_gives_a_campaign_or_one_config_error(fields):
    try:
        c = parse_campaign({"campaign": fields}, "h.yaml")
    except ConfigError as exc:
        assert str(exc).startswith("h.yaml: ") and "\n" not in str(exc)
    else:
        assert c.end > c.start
