"""init / join / unjoin / status with the official client over real HTTP against the API emulator."""

from __future__ import annotations

import base64
import dataclasses
import json

import pytest

from condorfed.adapters.htcondor_collector import StaticStartdReader
from condorfed.core import idtoken
from condorfed.core.classads import Ad
from condorfed.core.render.options import ClusterSettings, InitOptions
from condorfed.core.render.render import CONFIG_HASH, TOKEN_HASH, token_hash
from condorfed.errors import ClusterError, ConfigError, PoolError
from condorfed.workflows import federation as fed
from condorfed.workflows.federation_registry import REGISTRY_CONFIGMAP

NS = "condor"


def do_init(clusters, connector, effects, **kw) -> fed.InitResult:
    opts = InitOptions(collector_address="cm.example.org", trust_domain="cm.example.org", **kw)
    return fed.init(opts, host_context="host", connector=connector, effects=effects)


def req(name="cluster-a", context="member-a", **kw) -> fed.JoinRequest:
    """A join request; keyword arguments naming ClusterSettings fields go into its settings."""
    settings = {k: kw.pop(k) for k in list(kw) if k in ClusterSettings.field_names()}
    return fed.JoinRequest(
        cluster=name, cluster_context=context, host_context="host", settings=ClusterSettings(**settings), **kw
    )


def registry_data(clusters) -> dict[str, str]:
    return clusters.host.get("v1", "ConfigMap", REGISTRY_CONFIGMAP, NS)["data"]


def members_conf(clusters) -> str:
    cm = clusters.host.get("v1", "ConfigMap", "condorfed-cm-config", NS)
    return cm["data"]["60-condorfed-members.conf"]


def config_value(conf: str, name: str) -> str:
    """The right-hand side of ``NAME = ...`` in a config.d file ("" when absent)."""
    for line in conf.splitlines():
        key, sep, value = line.partition("=")
        if sep and key.strip() == name:
            return value.strip()
    return ""


def allowed(clusters, name: str = "ALLOW_ADVERTISE_STARTD") -> set[str]:
    """The identities a member config line allows (macro references like $(ALLOW_DAEMON) left out)."""
    return {w for w in config_value(members_conf(clusters), name).split() if "@" in w}


def revocation(clusters) -> str:
    return config_value(members_conf(clusters), "SEC_TOKEN_REVOCATION_EXPR")


def pool_key(clusters) -> bytes:
    secret = clusters.host.get("v1", "Secret", "condorfed-pool-signing-key", NS)
    return base64.b64decode(secret["data"]["POOL"])


def member_token(emu) -> str:
    return base64.b64decode(emu.get("v1", "Secret", "condorfed-startd-token", NS)["data"]["token"]).decode()


@pytest.fixture
def joined(clusters, connector, effects):
    do_init(clusters, connector, effects)
    fed.join(req(labels={"site": "geneva"}, weight=2.0, max_cores=64), connector=connector, effects=effects)
    return clusters


# ------------------------------------------------------------------------------------------ init


def test_init_applies_host_objects_and_registry(clusters, connector, effects):
    result = do_init(clusters, connector, effects)
    kinds = {o["kind"] for o in clusters.host.objects()}
    assert {"Deployment", "StatefulSet", "Service", "Secret", "ConfigMap"} <= kinds
    assert json.loads(registry_data(clusters)["init.json"])["trust_domain"] == "cm.example.org"
    assert all(c.action == "create" for c in result.changes)
    # the generated key is a usable HTCondor signing key, and nothing about it is in the result
    assert len(idtoken.key_from_file_bytes(pool_key(clusters))) == 64
    assert base64.b64encode(pool_key(clusters)).decode() not in json.dumps(result.to_json())


def test_init_twice_changes_nothing(clusters, connector, effects):
    do_init(clusters, connector, effects)
    before, writes = clusters.host.snapshot(), len(clusters.host.writes)
    result = do_init(clusters, connector, effects)
    assert clusters.host.snapshot() == before
    assert len(clusters.host.writes) == writes  # decided from a diff: not even a no-op apply was sent
    assert {c.action for c in result.changes} == {"unchanged"}


# ------------------------------------------------------------------------------------------ join


def test_join_applies_member_objects_registry_and_host_authorization(joined):
    member = joined.member_a
    ds = member.get("apps/v1", "DaemonSet", "condorfed-startd", NS)
    assert ds["metadata"]["managedFields"][0]["manager"] == "condorfed"
    record = json.loads(registry_data(joined)["member.cluster-a.json"])
    assert record["kube_system_uid"] == member.kube_system_uid()
    assert record["server"] == member.url
    assert (record["labels"], record["weight"], record["max_cores"], record["phase"]) == (
        {"site": "geneva"}, 2.0, 64, "Joined"
    )  # fmt: skip
    assert allowed(joined) == allowed(joined, "ALLOW_ADVERTISE_MASTER") == {"cluster-a@cm.example.org"}
    startd_line = config_value(members_conf(joined), "ALLOW_ADVERTISE_STARTD")
    assert startd_line.startswith("$(ALLOW_ADVERTISE_STARTD)")  # appended to, not replacing, the default
    claims = idtoken.verify(member_token(member), pool_key(joined))
    assert claims.subject == "cluster-a@cm.example.org"
    assert claims.issuer == "cm.example.org"
    assert claims.authz == ("READ", "ADVERTISE_MASTER", "ADVERTISE_STARTD")
    assert record["token_id"] == claims.token_id


def test_join_twice_changes_nothing(joined, connector, effects):
    before = (joined.host.snapshot(), joined.member_a.snapshot())
    result = fed.join(
        req(labels={"site": "geneva"}, weight=2.0, max_cores=64), connector=connector, effects=effects
    )
    assert (joined.host.snapshot(), joined.member_a.snapshot()) == before
    assert result.token == "reused"
    assert {c.action for c in result.changes} == {"unchanged"}


def test_join_with_new_options_updates_in_place(joined, connector, effects):
    uid_before = joined.member_a.get("apps/v1", "DaemonSet", "condorfed-startd", NS)["metadata"]["uid"]
    fed.join(req(labels={"site": "meyrin"}, weight=2.0, max_cores=64), connector=connector, effects=effects)
    after = joined.member_a.get("apps/v1", "DaemonSet", "condorfed-startd", NS)
    assert after["metadata"]["uid"] == uid_before
    assert json.loads(registry_data(joined)["member.cluster-a.json"])["labels"] == {"site": "meyrin"}


def test_transient_500s_and_a_timeout_are_retried_with_backoff(clusters, connector, effects, delays):
    do_init(clusters, connector, effects)
    clusters.member_a.add_fault("PATCH", "/daemonsets/condorfed-startd$", 500, times=2)
    clusters.member_a.add_fault("GET", "/namespaces/kube-system$", delay=0.8, times=1)
    fed.join(req(), connector=connector, effects=effects)
    assert clusters.member_a.get("apps/v1", "DaemonSet", "condorfed-startd", NS) is not None
    assert delays[:3] == [0.01, 0.01, 0.02]  # timeout retry, then the 500s back off


def test_persistent_500_rolls_back_and_leaves_nothing_half_applied(clusters, connector, effects):
    do_init(clusters, connector, effects)
    host_before, member_before = clusters.host.snapshot(), clusters.member_a.snapshot()
    clusters.member_a.add_fault("PATCH", "/daemonsets/condorfed-startd$", 500, times=None)
    with pytest.raises(ClusterError) as err:
        fed.join(req(), connector=connector, effects=effects)
    msg = str(err.value)
    assert "\n" not in msg
    assert "DaemonSet condor/condorfed-startd" in msg and "gave up after 4 attempts" in msg
    assert "rolled back" in msg
    assert clusters.member_a.snapshot() == member_before  # namespace, secret, configmaps deleted again
    assert clusters.host.snapshot().keys() == host_before.keys()
    assert "member.cluster-a.json" not in registry_data(clusters)
    assert allowed(clusters) == set()
    clusters.member_a.clear_faults()  # the same join, re-run, now succeeds
    fed.join(req(), connector=connector, effects=effects)
    assert allowed(clusters) == {"cluster-a@cm.example.org"}


def test_registry_conflict_is_reread_and_retried(clusters, connector, effects):
    do_init(clusters, connector, effects)
    clusters.host.add_fault("PUT", f"/configmaps/{REGISTRY_CONFIGMAP}$", 409, times=1)
    fed.join(req(), connector=connector, effects=effects)
    assert "member.cluster-a.json" in registry_data(clusters)


@pytest.mark.parametrize(
    ("case", "request_", "error", "match"),
    [
        ("invalid name", req(name="Cluster_A"), ConfigError, "not a DNS-1123 label"),
        ("unknown member context", req(context="nope"), ClusterError, "'nope' not found"),
        ("unreachable member (refused)", req(context="down"), ClusterError, "'down'.*unreachable"),
        ("unreachable member (hangs)", req(context="silent"), ClusterError, "'silent'.*timed out after 0.5s"),
    ],
    ids=lambda v: v if isinstance(v, str) else "",
)
def test_preflight_failures_write_nothing(clusters, connector, effects, case, request_, error, match):
    do_init(clusters, connector, effects)
    before = (clusters.host.snapshot(), clusters.member_a.snapshot())
    host_writes = len(clusters.host.writes)
    with pytest.raises(error, match=match) as err:
        fed.join(request_, connector=connector, effects=effects)
    assert "\n" not in str(err.value)
    assert (clusters.host.snapshot(), clusters.member_a.snapshot()) == before
    assert len(clusters.host.writes) == host_writes


def test_join_before_init_is_refused(clusters, connector, effects):
    with pytest.raises(ClusterError, match=r"no federation in namespace 'condor'.*run condorfed init"):
        fed.join(req(), connector=connector, effects=effects)
    assert clusters.member_a.writes == [] and clusters.host.writes == []


def test_same_cluster_under_two_names_is_refused(joined, connector, effects):
    before = (joined.host.snapshot(), joined.member_a.snapshot())
    with pytest.raises(ClusterError, match=r"already joined as 'cluster-a'.*same kube-system UID"):
        fed.join(req(name="cluster-a2", context="member-a-alias"), connector=connector, effects=effects)
    assert (joined.host.snapshot(), joined.member_a.snapshot()) == before


def test_a_name_taken_by_another_cluster_is_refused(joined, connector, effects):
    with pytest.raises(ClusterError, match="'cluster-a' is taken by another cluster"):
        fed.join(req(name="cluster-a", context="member-b"), connector=connector, effects=effects)
    assert joined.member_b.writes == []


# ------------------------------------------------------------------------------------------ --wait


def startd_ads(cluster: str, machines: int = 2, cpus: int = 8, claimed: int = 3) -> list[Ad]:
    ads = []
    for i in range(machines):
        machine = f"{cluster}-node-{i}"
        common = {"Machine": machine, "FedCluster": cluster}
        ads.append(Ad(Name=f"slot1@{machine}", SlotType="Partitionable", PartitionableSlot=True,
                      Cpus=cpus - claimed, TotalSlotCpus=cpus, State="Unclaimed", **common))  # fmt: skip
        ads.append(Ad(Name=f"slot1_1@{machine}", SlotType="Dynamic", Cpus=claimed, State="Claimed", **common))
    return ads


def test_join_wait_returns_when_startds_report(clusters, connector, effects):
    do_init(clusters, connector, effects)
    reader = StaticStartdReader(startd_ads("cluster-a") + startd_ads("cluster-b"))
    result = fed.join(req(wait=True), connector=connector, effects=effects, reader_factory=lambda a: reader)
    assert result.startds == 2


def test_join_wait_names_likely_causes_when_no_startd_shows_up(clusters, connector, effects):
    do_init(clusters, connector, effects)
    reader = StaticStartdReader(startd_ads("cluster-b"))
    with pytest.raises(PoolError) as err:
        fed.join(
            req(wait=True, wait_timeout=30, wait_interval=5),
            connector=connector,
            effects=effects,
            reader_factory=lambda a: reader,
        )
    msg = str(err.value)
    assert 'FedCluster == "cluster-a"' in msg and "within 30s" in msg
    assert "cm.example.org is unreachable from the member" in msg and "not authorized" in msg
    assert reader.queries == 7  # t = 0, 5, ..., 30: bounded by the timeout
    # the join itself stays in place: the operator fixes the network and re-runs with --wait
    assert "member.cluster-a.json" in registry_data(clusters)


# ------------------------------------------------------------------------------------------ unjoin


def test_unjoin_removes_member_objects_registry_entry_and_revokes(joined, connector, effects):
    token_id = idtoken.decode_unverified(member_token(joined.member_a))[1]["jti"]
    result = fed.unjoin("cluster-a", host_context="host", connector=connector, effects=effects)
    assert result.member_cleanup == "done"
    assert result.revoked_token_id == token_id
    assert joined.member_a.get("v1", "Namespace", NS) is None
    assert joined.member_a.objects("DaemonSet") == [] and joined.member_a.objects("Secret") == []
    assert "member.cluster-a.json" not in registry_data(joined)
    assert allowed(joined) == set()
    assert revocation(joined) == f'jti =?= "{token_id}"'
    assert json.loads(registry_data(joined)["revoked.json"])["token_ids"] == [token_id]


def test_rejoin_after_unjoin_gets_a_fresh_token(joined, connector, effects):
    old = idtoken.decode_unverified(member_token(joined.member_a))[1]["jti"]
    fed.unjoin("cluster-a", host_context="host", connector=connector, effects=effects)
    result = fed.join(req(), connector=connector, effects=effects)
    new = idtoken.decode_unverified(member_token(joined.member_a))[1]["jti"]
    assert result.token == "minted" and new != old
    assert allowed(joined) == {"cluster-a@cm.example.org"} and old in revocation(joined)


def test_unjoin_of_unreachable_member_needs_force(joined, connector, effects):
    joined.member_a.stop()
    with pytest.raises(ClusterError, match=r"unreachable.*use --force"):
        fed.unjoin("cluster-a", host_context="host", connector=connector, effects=effects)
    assert "member.cluster-a.json" in registry_data(joined)
    result = fed.unjoin("cluster-a", host_context="host", force=True, connector=connector, effects=effects)
    assert result.member_cleanup.startswith("skipped:")
    assert "member.cluster-a.json" not in registry_data(joined)
    assert allowed(joined) == set() and result.revoked_token_id in revocation(joined)


def test_unjoin_of_a_non_member_is_refused(joined, connector, effects):
    with pytest.raises(ClusterError, match=r"'cluster-z' is not a member.*cluster-a"):
        fed.unjoin("cluster-z", host_context="host", connector=connector, effects=effects)


# ------------------------------------------------------------------------------------------ status


def test_status_reports_members_cores_and_unreachable_ones(joined, connector, effects):
    fed.join(req(name="cluster-b", context="member-b", cloud=True), connector=connector, effects=effects)
    joined.member_b.stop()
    reader = StaticStartdReader(startd_ads("cluster-a") + startd_ads("cluster-b", machines=1, claimed=0))
    st = fed.status(host_context="host", connector=connector, reader_factory=lambda a: reader)
    a, b = st.members
    assert (a.name, a.reachable, a.desired, a.ready, a.updated) == ("cluster-a", True, 2, 2, 2)
    assert (a.startds, a.cores_total, a.cores_claimed, a.cores_unclaimed) == (2, 16, 6, 10)
    assert (a.cloud, a.weight) == (False, 2.0)
    assert (b.name, b.reachable, b.cloud) == ("cluster-b", False, True)
    assert "unreachable" in b.error
    assert (b.startds, b.cores_total) == (1, 8)  # the collector still knows its startds
    assert st.totals == {
        "startds": 3,
        "cores_total": 24,
        "cores_claimed": 6,
        "cores_unclaimed": 18,
        "members": 2,
        "reachable": 1,
    }
    assert st.collector == "cm.example.org"


def test_status_survives_an_unreachable_collector(joined, connector):
    class Down:
        def startd_ads(self, constraint=None, projection=()):
            raise PoolError("collector cm.example.org: startd query failed: connection refused")

    st = fed.status(host_context="host", connector=connector, reader_factory=lambda a: Down())
    assert st.collector_error and st.members[0].reachable and st.members[0].startds == 0


def test_the_host_joins_itself_only_in_a_namespace_of_its_own(clusters, connector, effects):
    do_init(clusters, connector, effects)
    before = clusters.host.snapshot()
    with pytest.raises(ConfigError, match="is the host cluster itself"):
        fed.join(req(name="central", context="host"), connector=connector, effects=effects)
    assert clusters.host.snapshot() == before
    fed.join(req(name="central", context="host", member_namespace="condor-startd"), connector=connector,
             effects=effects)  # fmt: skip
    assert clusters.host.get("apps/v1", "DaemonSet", "condorfed-startd", "condor-startd") is not None
    fed.unjoin("central", host_context="host", connector=connector, effects=effects)
    assert clusters.host.get("v1", "Namespace", "condor-startd") is None
    assert clusters.host.get("apps/v1", "Deployment", "condorfed-cm", NS) is not None  # the host is intact


def test_unjoin_waits_for_startd_pods_to_drain_within_a_bound(joined, connector, effects):
    ds = joined.member_a.get("apps/v1", "DaemonSet", "condorfed-startd", NS)
    labels = ds["spec"]["selector"]["matchLabels"]
    meta = {"name": "startd-x", "namespace": NS, "labels": labels}
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": meta}
    joined.member_a.put(pod)
    with pytest.raises(ClusterError, match=r"still draining after 20s.*re-run unjoin"):
        fed.unjoin("cluster-a", host_context="host", drain_timeout=20, connector=connector, effects=effects)
    assert joined.member_a.get("apps/v1", "DaemonSet", "condorfed-startd", NS) is None  # drain started
    assert "member.cluster-a.json" in registry_data(joined)  # nothing else removed yet
    joined.member_a.remove("v1", "Pod", "startd-x", NS)  # its preStop drain finished
    result = fed.unjoin("cluster-a", host_context="host", connector=connector, effects=effects)
    assert result.member_cleanup == "done"
    assert joined.member_a.get("v1", "Namespace", NS) is None


def test_two_members_are_both_authorized(joined, connector, effects):
    fed.join(req(name="cluster-b", context="member-b"), connector=connector, effects=effects)
    assert allowed(joined) == {"cluster-a@cm.example.org", "cluster-b@cm.example.org"}
    fed.unjoin("cluster-a", host_context="host", connector=connector, effects=effects)
    assert allowed(joined) == {"cluster-b@cm.example.org"}


def test_init_after_join_keeps_the_members_authorized_and_changes_nothing(joined, connector, effects):
    before = joined.host.snapshot()
    result = do_init(joined, connector, effects)
    assert joined.host.snapshot() == before
    assert {c.action for c in result.changes} == {"unchanged"}
    assert allowed(joined) == {"cluster-a@cm.example.org"}


def test_an_update_the_server_refuses_is_caught_by_a_dry_run_before_any_write(joined, connector, effects):
    before = (joined.host.snapshot(), joined.member_a.snapshot())
    joined.member_a.add_fault("PATCH", "/daemonsets/condorfed-startd$", 403, times=None)  # RBAC says no
    with pytest.raises(ClusterError, match=r"refused in a dry run, nothing was written.*HTTP 403") as err:
        fed.join(
            req(labels={"site": "meyrin"}, weight=2.0, max_cores=64), connector=connector, effects=effects
        )
    assert "attempts" not in str(err.value)  # a 403 is not retried
    assert (joined.host.snapshot(), joined.member_a.snapshot()) == before  # not even the ConfigMap changed


@pytest.mark.parametrize("finish", ["re-run join", "unjoin"])
def test_a_join_that_failed_halfway_can_be_rerun_or_undone(clusters, connector, effects, finish):
    do_init(clusters, connector, effects)
    # the member side goes through, then the host's config write keeps failing
    clusters.host.add_fault("PATCH", "/configmaps/condorfed-cm-config$", 503, times=None, dry_runs=False)
    with pytest.raises(ClusterError, match=r"host config\) stopped.*503"):
        fed.join(req(), connector=connector, effects=effects)
    clusters.host.clear_faults()
    assert allowed(clusters) == set()
    assert clusters.member_a.get("apps/v1", "DaemonSet", "condorfed-startd", NS) is not None  # half done
    if finish == "re-run join":
        fed.join(req(), connector=connector, effects=effects)
        assert allowed(clusters) == {"cluster-a@cm.example.org"}
        assert json.loads(registry_data(clusters)["member.cluster-a.json"])["phase"] == "Joined"
    else:
        fed.unjoin("cluster-a", host_context="host", connector=connector, effects=effects)
        assert clusters.member_a.get("v1", "Namespace", NS) is None
        assert "member.cluster-a.json" not in registry_data(clusters)


def test_init_and_join_keep_the_policy_that_policy_apply_wrote(joined, connector, effects):
    from pathlib import Path

    from condorfed.adapters.federation_file import load_federation
    from condorfed.core.render.options import NEGOTIATOR_CONFIGMAP, SCHEDD_CONFIGMAP
    from condorfed.workflows.policy import NEGOTIATOR_KEY, SCHEDD_KEY, apply_policy

    example = Path(__file__).resolve().parents[2] / "examples" / "federation.yaml"
    apply_policy(load_federation(example), connector.connect("host"), namespace=NS)

    def policy_files():
        neg = joined.host.get("v1", "ConfigMap", NEGOTIATOR_CONFIGMAP, NS)["data"][NEGOTIATOR_KEY]
        schedd = joined.host.get("v1", "ConfigMap", SCHEDD_CONFIGMAP, NS)["data"][SCHEDD_KEY]
        return neg, schedd

    applied = policy_files()
    assert "NEGOTIATOR_PRE_JOB_RANK" in applied[0] and "JOB_TRANSFORM" in applied[1]
    do_init(joined, connector, effects)
    assert policy_files() == applied
    fed.join(req("cluster-b", "member-b"), connector=connector, effects=effects)
    assert policy_files() == applied


# ------------------------------------------------------------------------------------------ token rotation


def startd_pod_annotations(emu) -> dict[str, str]:
    ds = emu.get("apps/v1", "DaemonSet", "condorfed-startd", NS)
    return ds["spec"]["template"]["metadata"]["annotations"]


JOINED = {"labels": {"site": "geneva"}, "weight": 2.0, "max_cores": 64}  # what the `joined` fixture asked


def test_the_startd_pod_template_names_its_token_by_a_digest_of_its_id(joined):
    annotations = startd_pod_annotations(joined.member_a)
    token = member_token(joined.member_a)
    assert annotations[TOKEN_HASH] == token_hash(token)
    jti = idtoken.decode_unverified(token)[1]["jti"]
    dumped = json.dumps(joined.member_a.get("apps/v1", "DaemonSet", "condorfed-startd", NS))
    assert token not in dumped and token.split(".")[2] not in dumped and jti not in dumped


@pytest.mark.parametrize(
    ("case", "change"),
    [
        ("--rotate-token", {"rotate_token": True}),
        ("new token lifetime", {"token_lifetime": 30 * 86400}),
    ],
    ids=lambda v: v if isinstance(v, str) else "",
)
def test_a_rotated_token_rolls_the_startds_and_a_rerun_writes_nothing(
    joined, connector, effects, case, change
):
    before = startd_pod_annotations(joined.member_a)
    old_jti = idtoken.decode_unverified(member_token(joined.member_a))[1]["jti"]
    result = fed.join(req(**JOINED, **change), connector=connector, effects=effects)
    assert result.token == "minted"
    after = startd_pod_annotations(joined.member_a)
    new = member_token(joined.member_a)
    assert after[TOKEN_HASH] == token_hash(new) != before[TOKEN_HASH]
    assert after[CONFIG_HASH] == before[CONFIG_HASH]  # only the token changed
    assert f'jti =?= "{old_jti}"' in revocation(joined)
    # The same join again: the new token is reused, nothing is written anywhere.
    snapshots = (joined.host.snapshot(), joined.member_a.snapshot())
    writes = (len(joined.host.writes), len(joined.member_a.writes))
    again = fed.join(req(**JOINED, **{k: v for k, v in change.items() if k != "rotate_token"}),
                     connector=connector, effects=effects)  # fmt: skip
    assert again.token == "reused" and {c.action for c in again.changes} == {"unchanged"}
    assert (joined.host.snapshot(), joined.member_a.snapshot()) == snapshots
    assert (len(joined.host.writes), len(joined.member_a.writes)) == writes
    assert startd_pod_annotations(joined.member_a)[TOKEN_HASH] == after[TOKEN_HASH]


def test_a_token_near_expiry_is_reissued_on_rerun_and_rolls_the_startds(clusters, connector, effects):
    do_init(clusters, connector, effects)
    fed.join(req(token_lifetime=2 * 86400), connector=connector, effects=effects)
    before = startd_pod_annotations(clusters.member_a)[TOKEN_HASH]
    # Half a day later the token still has more than a day left: kept, nothing rolls.
    later = dataclasses.replace(effects, now=lambda: effects.now() + 43200)
    assert fed.join(req(token_lifetime=2 * 86400), connector=connector, effects=later).token == "reused"
    assert startd_pod_annotations(clusters.member_a)[TOKEN_HASH] == before
    # A day and a half later it is within a day of expiring: re-issued, and the DaemonSet rolls.
    late = dataclasses.replace(effects, now=lambda: effects.now() + 1.5 * 86400)
    assert fed.join(req(token_lifetime=2 * 86400), connector=connector, effects=late).token == "minted"
    assert startd_pod_annotations(clusters.member_a)[TOKEN_HASH] == token_hash(
        member_token(clusters.member_a)
    )
    assert startd_pod_annotations(clusters.member_a)[TOKEN_HASH] != before
