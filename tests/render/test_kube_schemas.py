"""Every rendered object validates against the Kubernetes OpenAPI schemas (strict) at a pinned version."""

from __future__ import annotations

import kubernetes_validate
import pytest

from condorfed.core import idtoken
from condorfed.core.render import RenderedSecrets, render_init, render_join

from .conftest import INIT_CASES, JOIN_CASES, K8S_VERSION

POOL_KEY = b"\x8e\x9c\xce\x8b" * 8
# A real token: the renderer reads its jti for the DaemonSet's token-hash annotation.
TOKEN = idtoken.mint(
    idtoken.make_claims(
        identity="cluster-a",
        trust_domain="condorfed.local",
        authz=("READ",),
        issued_at=1_700_000_000,
        token_id="ab" * 16,
    ),
    POOL_KEY,
)
SECRETS = RenderedSecrets(pool_signing_key=POOL_KEY, member_token=TOKEN)


def _ids(objs: list[dict]) -> list[str]:
    return [f"{o['kind']}/{o['metadata']['name']}" for o in objs]


@pytest.mark.parametrize("secrets", [None, SECRETS], ids=["refs-only", "with-secrets"])
@pytest.mark.parametrize("case", sorted(JOIN_CASES))
def test_join_objects_validate(case: str, secrets: RenderedSecrets | None) -> None:
    objs = render_join(JOIN_CASES[case], secrets)
    assert objs
    for obj in objs:
        kubernetes_validate.validate(obj, K8S_VERSION, strict=True)


@pytest.mark.parametrize("secrets", [None, SECRETS], ids=["refs-only", "with-secrets"])
@pytest.mark.parametrize("case", sorted(INIT_CASES))
def test_init_objects_validate(case: str, secrets: RenderedSecrets | None) -> None:
    objs = render_init(INIT_CASES[case], secrets)
    assert objs
    for obj in objs:
        kubernetes_validate.validate(obj, K8S_VERSION, strict=True)


def test_validator_is_strict_enough_to_fail() -> None:
    # The oracle must be able to say no: an unknown field and a wrong type are both refused.
    ds = next(o for o in render_join(JOIN_CASES["onprem-defaults"]) if o["kind"] == "DaemonSet")
    ds["spec"]["template"]["spec"]["hostNetwrok"] = True
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(ds, K8S_VERSION, strict=True)
    del ds["spec"]["template"]["spec"]["hostNetwrok"]
    ds["spec"]["template"]["spec"]["terminationGracePeriodSeconds"] = "3660"
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(ds, K8S_VERSION, strict=True)


def test_expected_member_objects() -> None:
    assert _ids(render_join(JOIN_CASES["onprem-defaults"], SECRETS)) == [
        "Namespace/condor",
        "ServiceAccount/condorfed-startd",
        "Secret/condorfed-startd-token",
        "ConfigMap/condorfed-startd-config",
        "ConfigMap/condorfed-startd-scripts",
        "DaemonSet/condorfed-startd",
    ]
    # Cloud members get the autoscaler guard, and with it the only RBAC the startd ever has.
    cloud = _ids(render_join(JOIN_CASES["cloud-labels-limits"], None))
    assert "ClusterRole/condorfed-startd-node-guard" in cloud
    assert "ClusterRoleBinding/condorfed-startd-node-guard" in cloud
    assert not any(i.startswith("Secret/") for i in cloud)


def test_expected_host_objects() -> None:
    assert _ids(render_init(INIT_CASES["defaults"], SECRETS)) == [
        "Namespace/condor",
        "ServiceAccount/condorfed-cm",
        "Role/condorfed-cm",
        "RoleBinding/condorfed-cm",
        "ServiceAccount/condorfed-schedd",
        "Secret/condorfed-pool-signing-key",
        "ConfigMap/condorfed-cm-config",
        "ConfigMap/condorfed-schedd-config",
        "Service/condor-collector",
        "Service/condorfed-schedd",
        "Deployment/condorfed-cm",
        "StatefulSet/condorfed-schedd",
    ]
