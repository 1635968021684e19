"""Opt-in end-to-end run of init / join / join again / status / unjoin against a real cluster.

Set ``CONDORFED_E2E_KUBECONFIG`` (and optionally ``CONDORFED_E2E_HOST_CONTEXT`` /
``CONDORFED_E2E_MEMBER_CONTEXT``; both default to the kubeconfig's current context, in which case the
host joins itself with a namespace of its own). See docs/federation.md for a kind recipe.
Everything lives in the namespaces ``condorfed-e2e`` and ``condorfed-e2e-startd``, deleted at the end.
"""

from __future__ import annotations

import os
import time

import pytest

from condorfed.adapters.htcondor_collector import StaticStartdReader
from condorfed.core.render.options import STARTD_NAME, ClusterSettings, InitOptions

KUBECONFIG = os.environ.get("CONDORFED_E2E_KUBECONFIG")
pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(not KUBECONFIG, reason="set CONDORFED_E2E_KUBECONFIG to run against a real cluster"),
]

HOST_NS = "condorfed-e2e"
MEMBER_NS = "condorfed-e2e-startd"


def test_federation_lifecycle_on_a_real_cluster():
    from condorfed.workflows import federation as fed

    host_ctx = os.environ.get("CONDORFED_E2E_HOST_CONTEXT")
    member_ctx = os.environ.get("CONDORFED_E2E_MEMBER_CONTEXT")
    connector = fed.Connector(kubeconfig=KUBECONFIG, timeout=20)
    host, member = connector.connect(host_ctx), connector.connect(member_ctx)
    opts = InitOptions(
        namespace=HOST_NS,
        trust_domain="e2e.condorfed.test",
        collector_service_type="ClusterIP",
        collector_address="collector.e2e.invalid",
    )
    req = fed.JoinRequest(
        cluster="e2e-member",
        cluster_context=member.context,
        host_context=host.context,
        namespace=HOST_NS,
        member_namespace=MEMBER_NS,
        settings=ClusterSettings(labels={"suite": "e2e"}),
    )
    try:
        fed.init(opts, host_context=host.context, connector=connector)
        assert {c.action for c in fed.init(opts, host_context=host.context, connector=connector).changes} == {
            "unchanged"
        }
        fed.join(req, connector=connector)
        ds = member.get("apps/v1", "DaemonSet", STARTD_NAME, MEMBER_NS)
        again = fed.join(req, connector=connector)
        assert again.token == "reused"
        assert (
            member.get("apps/v1", "DaemonSet", STARTD_NAME, MEMBER_NS)["metadata"]["resourceVersion"]
            == (ds["metadata"]["resourceVersion"])
        )
        st = fed.status(
            host_context=host.context,
            namespace=HOST_NS,
            connector=connector,
            reader_factory=lambda a: StaticStartdReader(),
        )
        assert st.members[0].reachable and st.members[0].desired is not None
        result = fed.unjoin(
            "e2e-member", host_context=host.context, namespace=HOST_NS, drain_timeout=180, connector=connector
        )
        assert result.member_cleanup == "done"
        assert member.get("apps/v1", "DaemonSet", STARTD_NAME, MEMBER_NS) is None
    finally:
        for client, ns in ((member, MEMBER_NS), (host, HOST_NS)):
            client.delete("v1", "Namespace", ns, propagation="Background")
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline and (
            host.get("v1", "Namespace", HOST_NS) or member.get("v1", "Namespace", MEMBER_NS)
        ):
            time.sleep(2)
