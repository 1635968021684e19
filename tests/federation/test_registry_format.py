"""The registry ConfigMap's format: records written before ClusterSettings existed still load and act.

``data/registry-before-cluster-settings.json`` is the ConfigMap ``data`` the previous code wrote (its
``Registry.to_data()`` for one joined cloud member and one revoked token id), kept byte for byte.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from condorfed.adapters.htcondor_collector import StaticStartdReader
from condorfed.core.render.options import ClusterSettings, InitOptions
from condorfed.errors import ClusterError
from condorfed.workflows import federation as fed
from condorfed.workflows.federation_registry import REGISTRY_CONFIGMAP, REGISTRY_LABELS, Member, read_registry

NS = "condor"
OLD = json.loads((Path(__file__).parent / "data" / "registry-before-cluster-settings.json").read_text())
OLD_MEMBER = json.loads(OLD["member.cluster-a.json"])
# Fields a member record gained after the old format (absent from old records: they take their default).
NEW_FIELDS = {"max_job_retirement_time": 3600, "token_expires_at": None}

OLD_SETTINGS = ClusterSettings(
    cloud=True,
    provider="aws",
    labels={"region": "eu-west-1", "site": "geneva"},
    weight=2.0,
    min_cores=8,
    max_cores=512,
    cost_per_core_hour=0.04,
    node_selector={"pool": "condor"},
    token_lifetime=2592000,
)


def put_registry(emu, data: dict[str, str]) -> None:
    meta = {"name": REGISTRY_CONFIGMAP, "namespace": NS, "labels": dict(REGISTRY_LABELS)}
    emu.put({"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta, "data": data})


def test_an_old_member_record_loads_into_cluster_settings():
    member = Member.from_json(OLD_MEMBER, "fixture")
    assert member.settings == OLD_SETTINGS
    assert (member.name, member.context, member.phase, member.token_id) == (
        "cluster-a",
        "member-a",
        "Joined",
        "0123456789abcdef0123456789abcdef",
    )


def test_a_loaded_old_record_is_written_back_in_the_same_flat_format():
    # Same keys and values as before, plus only the fields added since (at their defaults).
    assert Member.from_json(OLD_MEMBER, "fixture").to_json() == OLD_MEMBER | NEW_FIELDS


def test_the_old_registry_configmap_reads_and_round_trips(clusters, connector):
    put_registry(clusters.host, OLD)
    registry = read_registry(connector.connect("host"), NS)
    assert registry is not None
    assert registry.members["cluster-a"].settings == OLD_SETTINGS
    assert registry.revoked_token_ids == ("fedcba9876543210fedcba9876543210",)
    assert registry.init_options().trust_domain == "cm.example.org"
    data = registry.to_data()
    assert data["init.json"] == OLD["init.json"]
    assert data["revoked.json"] == OLD["revoked.json"]  # no expiry known: the old format exactly
    assert json.loads(data["member.cluster-a.json"]) == OLD_MEMBER | NEW_FIELDS


def test_status_and_forced_unjoin_work_on_an_old_registry(clusters, connector, effects):
    fed.init(
        InitOptions(collector_address="cm.example.org", trust_domain="cm.example.org"),
        host_context="host",
        connector=connector,
        effects=effects,
    )
    put_registry(clusters.host, OLD)
    reader = StaticStartdReader([])
    st = fed.status(host_context="host", connector=connector, reader_factory=lambda address: reader)
    (entry,) = st.members
    assert (entry.name, entry.cloud, entry.provider, entry.weight) == ("cluster-a", True, "aws", 2.0)
    # The recorded kube-system UID is not member-a's: only --force gets past that, and it still revokes.
    with pytest.raises(ClusterError, match="another cluster"):
        fed.unjoin("cluster-a", host_context="host", connector=connector, effects=effects)
    result = fed.unjoin("cluster-a", host_context="host", force=True, connector=connector, effects=effects)
    assert result.revoked_token_id == "0123456789abcdef0123456789abcdef"
    after = read_registry(connector.connect("host"), NS)
    assert after is not None and after.members == {}
    assert set(after.revoked_token_ids) == {OLD_MEMBER["token_id"], "fedcba9876543210fedcba9876543210"}


def test_a_rejoin_over_an_old_format_record_only_adds_the_token_expiry_then_writes_nothing(
    clusters, connector, effects
):
    fed.init(
        InitOptions(collector_address="cm.example.org", trust_domain="cm.example.org"),
        host_context="host",
        connector=connector,
        effects=effects,
    )
    request = fed.JoinRequest(
        cluster="cluster-a", cluster_context="member-a", host_context="host", settings=OLD_SETTINGS
    )
    fed.join(request, connector=connector, effects=effects)
    # Replace the record by the old code's record of this very join (its live identity values).
    data = clusters.host.get("v1", "ConfigMap", REGISTRY_CONFIGMAP, NS)["data"]
    live = json.loads(data["member.cluster-a.json"])
    old = copy.deepcopy(OLD_MEMBER)
    for key in ("server", "kube_system_uid", "joined_at", "token_id"):
        old[key] = live[key]
    put_registry(clusters.host, {**data, "member.cluster-a.json": json.dumps(old, sort_keys=True, indent=1)})
    # The first re-join records the token's expiry the old record lacked: the registry, nothing else.
    before = (clusters.host.snapshot(), clusters.member_a.snapshot())
    result = fed.join(request, connector=connector, effects=effects)
    assert result.token == "reused"
    assert {c.action for c in result.changes} == {"unchanged", "update"}
    assert [c.object for c in result.changes if c.action == "update"] == ["registry member cluster-a"]
    host_after = clusters.host.snapshot()
    assert {k for k in host_after if host_after[k] != before[0].get(k)} == {
        f"ConfigMap {NS}/{REGISTRY_CONFIGMAP}"
    }
    assert clusters.member_a.snapshot() == before[1]
    data = clusters.host.get("v1", "ConfigMap", REGISTRY_CONFIGMAP, NS)["data"]
    record = json.loads(data["member.cluster-a.json"])
    assert record == old | NEW_FIELDS | {"token_expires_at": int(effects.now()) + 2592000}
    # From then on the same join writes nothing.
    before = (clusters.host.snapshot(), clusters.member_a.snapshot())
    writes = (len(clusters.host.writes), len(clusters.member_a.writes))
    result = fed.join(request, connector=connector, effects=effects)
    assert {c.action for c in result.changes} == {"unchanged"}
    assert (clusters.host.snapshot(), clusters.member_a.snapshot()) == before
    assert (len(clusters.host.writes), len(clusters.member_a.writes)) == writes


@pytest.mark.parametrize(
    ("change", "needle"),
    [
        ({"weight": 0}, "--weight"),
        ({"labels": {"bad key!": "v"}}, "--label"),
        ({"name": None, "context": None} | {"unknown": 1}, "malformed member record"),
    ],
    ids=["zero-weight", "bad-label", "missing-fields"],
)
def test_a_malformed_member_record_is_one_line_naming_the_key(clusters, connector, change, needle):
    record = {k: v for k, v in (OLD_MEMBER | change).items() if v is not None}
    put_registry(clusters.host, {**OLD, "member.cluster-a.json": json.dumps(record)})
    with pytest.raises(ClusterError, match=needle) as info:
        read_registry(connector.connect("host"), NS)
    assert "key member.cluster-a.json" in str(info.value) and "\n" not in str(info.value)
