"""What the rendered objects must say: privilege only where needed, drain, probes, secrets."""

from __future__ import annotations

import base64
import json

import pytest
import yaml

from condorfed.core import idtoken
from condorfed.core.render import JoinOptions, RenderedSecrets, render_init, render_join
from condorfed.core.render.render import startd_scripts

from .conftest import INIT_CASES, JOIN_CASES

TOKEN = idtoken.mint(
    idtoken.make_claims(
        identity="cluster-a",
        trust_domain="condorfed.local",
        authz=["READ", "ADVERTISE_MASTER", "ADVERTISE_STARTD"],
        issued_at=1_800_000_000,
        token_id="0123456789abcdef0123456789abcdef",
    ),
    b"k" * 32,
)
POOL_KEY = idtoken.pool_key_file_bytes(bytes(range(7, 39)))


def _kind(objs: list[dict], kind: str) -> dict:
    return next(o for o in objs if o["kind"] == kind)


def _pod(objs: list[dict], kind: str = "DaemonSet") -> dict:
    return _kind(objs, kind)["spec"]["template"]


@pytest.mark.parametrize("case", sorted(JOIN_CASES))
def test_startd_daemonset_shape(case: str) -> None:
    opts = JOIN_CASES[case]
    pod = _pod(render_join(opts))
    spec = pod["spec"]
    (ctr,) = spec["containers"]
    assert ctr["securityContext"] == {"privileged": True}
    assert spec["hostNetwork"] is True and spec["dnsPolicy"] == "ClusterFirstWithHostNet"
    assert spec["terminationGracePeriodSeconds"] == opts.settings.max_job_retirement_time + opts.drain_margin
    assert spec["nodeSelector"] == dict(opts.settings.node_selector)
    assert ctr["image"] == opts.images.execute and ctr["image"].startswith("htcondor/execute:")
    assert ctr["command"] == ["/bin/bash", "/opt/condorfed/entrypoint.sh"]
    # Probes run condor_who through the script that checks its output, not its exit status.
    for probe in ("livenessProbe", "readinessProbe", "startupProbe"):
        assert ctr[probe]["exec"]["command"][:2] == ["/bin/bash", "/opt/condorfed/probe.sh"]
    # preStop drain is bounded inside the grace period, and leaves time for the SIGTERM path.
    pre_stop = ctr["lifecycle"]["preStop"]["exec"]["command"]
    assert pre_stop[:2] == ["/bin/bash", "/opt/condorfed/drain.sh"]
    env = {e["name"]: e for e in ctr["env"]}
    drain = int(pre_stop[2])
    assert drain == int(env["CONDORFED_DRAIN_TIMEOUT"]["value"]) >= opts.settings.max_job_retirement_time
    stop_path = int(env["CONDORFED_SHUTDOWN_TIMEOUT"]["value"]) + int(env["CONDORFED_STOP_TIMEOUT"]["value"])
    assert drain + stop_path <= spec["terminationGracePeriodSeconds"]
    # NUM_CPUS / MEMORY from the pod's own limits (Downward API), not the node's total.
    assert env["CONDORFED_CPUS"]["valueFrom"]["resourceFieldRef"]["resource"] == "limits.cpu"
    assert env["CONDORFED_MEMORY_MB"]["valueFrom"]["resourceFieldRef"] == {
        "containerName": "startd",
        "resource": "limits.memory",
        "divisor": "1Mi",
    }
    mounts = {m["mountPath"]: m for m in ctr["volumeMounts"]}
    assert "/etc/condor/tokens-orig.d" in mounts
    assert "/etc/condor/config.d/50-condorfed-startd.conf" in mounts
    annotations = pod["metadata"]["annotations"]
    if opts.safe_to_evict_annotation:
        assert annotations["cluster-autoscaler.kubernetes.io/safe-to-evict"] == "false"
    else:
        assert "cluster-autoscaler.kubernetes.io/safe-to-evict" not in annotations


def test_privilege_only_in_member_namespace() -> None:
    ns = _kind(render_join(JOIN_CASES["onprem-defaults"]), "Namespace")
    assert ns["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "privileged"
    host = render_init(INIT_CASES["defaults"])
    assert not any("pod-security" in k for k in _kind(host, "Namespace")["metadata"]["labels"])
    for kind in ("Deployment", "StatefulSet"):
        for ctr in _pod(host, kind)["spec"]["containers"]:
            assert "securityContext" not in ctr or not ctr["securityContext"].get("privileged")
        assert _pod(host, kind)["spec"].get("hostNetwork") is not True


@pytest.mark.parametrize("case", sorted(JOIN_CASES))
def test_member_rbac_is_least_privilege(case: str) -> None:
    opts = JOIN_CASES[case]
    objs = render_join(opts)
    roles = [o for o in objs if o["kind"] in ("Role", "ClusterRole")]
    bindings = [o for o in objs if o["kind"].endswith("Binding")]
    assert all(b["roleRef"]["name"] != "cluster-admin" for b in bindings)
    sa = _kind(objs, "ServiceAccount")
    if not opts.guard_enabled:
        assert roles == [] and bindings == [] and sa["automountServiceAccountToken"] is False
        return
    (role,) = roles
    assert role["rules"] == [{"apiGroups": [""], "resources": ["nodes"], "verbs": ["get", "patch"]}]
    assert sa["automountServiceAccountToken"] is True


def test_host_rbac_is_least_privilege() -> None:
    objs = render_init(INIT_CASES["defaults"])
    (role,) = [o for o in objs if o["kind"] == "Role"]
    for rule in role["rules"]:
        assert rule["resourceNames"] and set(rule["verbs"]) <= {"get", "watch"}
    assert not [o for o in objs if o["kind"] in ("ClusterRole", "ClusterRoleBinding")]


@pytest.mark.parametrize("service_type", ["LoadBalancer", "NodePort", "ClusterIP"])
def test_collector_service(service_type: str) -> None:
    from condorfed.core.render import InitOptions

    svc = _kind(render_init(InitOptions(collector_service_type=service_type)), "Service")
    assert svc["metadata"]["name"] == "condor-collector"
    assert svc["spec"]["type"] == service_type
    assert svc["spec"]["ports"][0]["port"] == 9618


def test_schedd_spool_on_pvc_and_pool_key_mounted() -> None:
    objs = render_init(INIT_CASES["nodeport-members-revoked"])
    sts = _kind(objs, "StatefulSet")
    (claim,) = sts["spec"]["volumeClaimTemplates"]
    assert claim["spec"]["resources"]["requests"]["storage"] == "50Gi"
    assert claim["spec"]["storageClassName"] == "fast-ssd"
    (ctr,) = sts["spec"]["template"]["spec"]["containers"]
    mounts = {m["name"]: m["mountPath"] for m in ctr["volumeMounts"]}
    assert mounts["spool"] == "/var/lib/condor/spool"
    cm = _pod(objs, "Deployment")["spec"]
    cm_mounts = {m["name"]: m for m in cm["containers"][0]["volumeMounts"]}
    assert cm_mounts["pool-key"]["mountPath"] == "/etc/condor/passwords.d/POOL"
    (key_vol,) = [v for v in cm["volumes"] if v["name"] == "pool-key"]
    assert key_vol["secret"]["defaultMode"] == 0o600  # HTCondor refuses group/world-readable keys


def _dump(objs: list[dict]) -> str:
    return yaml.safe_dump_all(objs) + json.dumps(objs)


def test_default_output_carries_no_secret_material() -> None:
    secrets = RenderedSecrets(pool_signing_key=POOL_KEY, member_token=TOKEN)
    forbidden = [TOKEN, base64.b64encode(TOKEN.encode()).decode(), base64.b64encode(POOL_KEY).decode()]
    forbidden += [TOKEN.split(".")[2]]  # the signature alone
    refs_only = _dump(
        render_join(JOIN_CASES["onprem-defaults"], None) + render_init(INIT_CASES["defaults"], None)
    )
    for needle in forbidden:
        assert needle not in refs_only
    with_secrets = _dump(
        render_join(JOIN_CASES["onprem-defaults"], secrets) + render_init(INIT_CASES["defaults"], secrets)
    )
    assert base64.b64encode(TOKEN.encode()).decode() in with_secrets
    assert base64.b64encode(POOL_KEY).decode() in with_secrets


def test_secret_round_trips_to_the_exact_bytes() -> None:
    secrets = RenderedSecrets(pool_signing_key=POOL_KEY, member_token=TOKEN)
    tok = _kind(render_join(JOIN_CASES["onprem-defaults"], secrets), "Secret")
    assert base64.b64decode(tok["data"]["token"]).decode() == TOKEN
    assert idtoken.verify(base64.b64decode(tok["data"]["token"]).decode(), b"k" * 32).subject == (
        "cluster-a@condorfed.local"
    )
    key = _kind(render_init(INIT_CASES["defaults"], secrets), "Secret")
    assert base64.b64decode(key["data"]["POOL"]) == POOL_KEY
    assert "POOL" not in repr(secrets) and TOKEN not in repr(secrets)


def test_config_change_rolls_the_pods() -> None:
    a = _pod(render_join(JoinOptions(cluster="a", collector="cm")))["metadata"]["annotations"]
    b = _pod(render_join(JoinOptions(cluster="a", collector="cm2")))["metadata"]["annotations"]
    assert a["condorfed.io/config-hash"] != b["condorfed.io/config-hash"]
    members0 = render_init(INIT_CASES["defaults"])
    from condorfed.core.render import InitOptions

    members1 = render_init(InitOptions(joined_members=("cluster-a",)))
    assert (
        _pod(members0, "Deployment")["metadata"]["annotations"]
        != _pod(members1, "Deployment")["metadata"]["annotations"]
    )


def test_rendering_is_deterministic() -> None:
    opts = JOIN_CASES["cloud-labels-limits"]
    assert render_join(opts) == render_join(opts)


def test_scripts_shipped_in_package_match_scripts_dir() -> None:
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    from condorfed.core.render.render import STARTD_SCRIPTS

    shipped = startd_scripts()
    for key, name in STARTD_SCRIPTS.items():
        assert shipped[key] == (root / "scripts" / name).read_text(), name
        chart_copy = root / "charts" / "startd-daemonset" / "files" / key
        if chart_copy.exists():
            assert chart_copy.read_text() == shipped[key], f"chart copy of {name}"


def test_schedd_exposed_only_on_request() -> None:
    names = {o["metadata"]["name"] for o in render_init(INIT_CASES["defaults"]) if o["kind"] == "Service"}
    assert names == {"condor-collector", "condorfed-schedd"}
    exposed = [o for o in render_init(INIT_CASES["nodeport-members-revoked"]) if o["kind"] == "Service"]
    (public,) = [o for o in exposed if o["metadata"]["name"] == "condorfed-schedd-public"]
    assert public["spec"]["type"] == "LoadBalancer"
    assert public["spec"]["selector"] == {"app.kubernetes.io/name": "condorfed-schedd"}


def test_the_token_hash_annotation_names_the_token_only_when_it_is_rendered() -> None:
    from condorfed.core.render.render import CONFIG_HASH, TOKEN_HASH, token_hash

    opts = JOIN_CASES["onprem-defaults"]
    without = _pod(render_join(opts))["metadata"]["annotations"]
    with_token = _pod(render_join(opts, RenderedSecrets(member_token=TOKEN)))["metadata"]["annotations"]
    assert TOKEN_HASH not in without
    assert with_token[TOKEN_HASH] == token_hash(TOKEN)
    assert with_token[CONFIG_HASH] == without[CONFIG_HASH]
    jti = idtoken.decode_unverified(TOKEN)[1]["jti"]
    assert len(with_token[TOKEN_HASH]) == 16 and with_token[TOKEN_HASH] not in (TOKEN, jti)


def _token(jti: str, issued_at: int = 1_800_000_000, key: bytes = b"k" * 32) -> str:
    claims = idtoken.make_claims(
        identity="cluster-a",
        trust_domain="condorfed.local",
        authz=["READ"],
        issued_at=issued_at,
        token_id=jti,
    )
    return idtoken.mint(claims, key)


@pytest.mark.parametrize(
    ("a", "b", "same"),
    [
        pytest.param(_token("ab" * 16), _token("ab" * 16, issued_at=1), True, id="same-jti-same-hash"),
        pytest.param(_token("ab" * 16), _token("cd" * 16), False, id="new-jti-new-hash"),
        pytest.param(_token("ab" * 16), _token("ab" * 16, key=b"x" * 32), True, id="identity-not-signature"),
    ],
)  # fmt: skip
def test_token_hash_follows_the_token_id(a: str, b: str, same: bool) -> None:
    from condorfed.core.render.render import token_hash

    assert (token_hash(a) == token_hash(b)) is same
