"""Revoked token ids are kept with their token's expiry and trimmed once the token has expired.

Oracle: a token whose ``exp`` has passed is refused by its expiry alone, so its id need not stay in
SEC_TOKEN_REVOCATION_EXPR beyond REVOCATION_GRACE (clock skew); a token without ``exp`` never expires,
and an id revoked before expiries were recorded is not known to expire: both stay.
"""

from __future__ import annotations

import dataclasses
import json

import pytest

from condorfed.core import idtoken
from condorfed.core.render.options import ClusterSettings, InitOptions
from condorfed.errors import ClusterError
from condorfed.workflows import federation as fed
from condorfed.workflows.federation_registry import (
    REGISTRY_CONFIGMAP,
    REVOCATION_GRACE,
    Member,
    Registry,
    read_registry,
)

NS = "condor"
DAY = 86400
T0 = 1_795_316_662  # the `effects` fixture's clock


def registry(**revoked: int | None) -> Registry:
    return Registry(namespace=NS, init={}, revoked=revoked)


@pytest.mark.parametrize(
    ("expires_at", "now", "kept"),
    [
        (None, T0 + 100 * 365 * DAY, True),  # never expires (or not known to): stays
        (T0, T0 - 1, True),  # not yet expired
        (T0, T0 + REVOCATION_GRACE - 1, True),  # expired, but within the clock-skew grace
        (T0, T0 + REVOCATION_GRACE, False),  # expired a grace period ago: trimmed
        (T0, T0 + 30 * DAY, False),
    ],
    ids=["no-expiry", "valid", "within-grace", "grace-over", "long-expired"],
)
def test_trim_drops_exactly_the_ids_whose_token_expired_a_grace_period_ago(expires_at, now, kept):
    trimmed = registry(a=expires_at, b=None).trim_revoked(now)
    assert trimmed.revoked_token_ids == (("a", "b") if kept else ("b",))


@pytest.mark.parametrize(
    ("first", "second", "stored"),
    [(T0, T0 + 5, T0 + 5), (T0 + 5, T0, T0 + 5), (None, T0, None), (T0, None, None)],
    ids=["later-wins", "earlier-ignored", "unknown-stays-unknown", "never-wins"],
)
def test_revoking_an_id_twice_keeps_the_safer_expiry(first, second, stored):
    reg = (
        registry()
        .without_member("", revoke="a", expires_at=first)
        .without_member("", revoke="a", expires_at=second)
    )
    assert reg.revoked == {"a": stored}


def test_expiries_are_stored_beside_the_id_list_old_readers_know():
    data = registry(a=T0, b=None).to_data()
    assert json.loads(data["revoked.json"]) == {"token_ids": ["a", "b"], "expires_at": {"a": T0}}
    assert json.loads(registry(b=None).to_data()["revoked.json"]) == {"token_ids": ["b"]}


def test_a_legacy_member_record_bounds_its_token_expiry_by_its_lifetime():
    base = {
        "name": "a",
        "context": "c",
        "server": "s",
        "kube_system_uid": "u",
        "namespace": NS,
        "joined_at": 0.0,
    }
    assert Member(**base, token_expires_at=T0).token_expiry_bound(T0 + 9) == T0
    # Record without token_expires_at: issued at the latest now, so it expires by now + lifetime.
    assert Member(**base, settings=ClusterSettings(token_lifetime=DAY)).token_expiry_bound(T0) == T0 + DAY
    assert Member(**base).token_expiry_bound(T0) is None  # no lifetime: the token never expires


@pytest.mark.parametrize(
    ("revoked_json", "needle"),
    [
        ({"token_ids": "abc"}, "token_ids is not a list"),
        ({"token_ids": ["a"], "expires_at": {"a": "soon"}}, "expires_at is not an object"),
    ],
    ids=["ids-not-list", "expiry-not-int"],
)
def test_a_malformed_revoked_json_is_one_line(clusters, connector, effects, revoked_json, needle):
    do_init(clusters, connector, effects)
    cm = clusters.host.get("v1", "ConfigMap", REGISTRY_CONFIGMAP, NS)
    cm["data"]["revoked.json"] = json.dumps(revoked_json)
    clusters.host.put(cm)
    with pytest.raises(ClusterError, match=needle) as info:
        read_registry(connector.connect("host"), NS)
    assert "revoked.json" in str(info.value) and "\n" not in str(info.value)


# ------------------------------------------------------------------------------ through the workflows


def at(effects, now: float):
    return dataclasses.replace(effects, now=lambda: float(now))


def do_init(clusters, connector, effects) -> None:
    opts = InitOptions(collector_address="cm.example.org", trust_domain="cm.example.org")
    fed.init(opts, host_context="host", connector=connector, effects=effects)


def join(connector, effects, name="cluster-a", context="member-a", **kw) -> fed.JoinResult:
    rotate = kw.pop("rotate_token", False)
    request = fed.JoinRequest(
        cluster=name,
        cluster_context=context,
        host_context="host",
        settings=ClusterSettings(**kw),
        rotate_token=rotate,
    )
    return fed.join(request, connector=connector, effects=effects)


def revoked_json(clusters) -> dict:
    return json.loads(clusters.host.get("v1", "ConfigMap", REGISTRY_CONFIGMAP, NS)["data"]["revoked.json"])


def revocation_expr(clusters) -> str:
    conf = clusters.host.get("v1", "ConfigMap", "condorfed-cm-config", NS)["data"][
        "60-condorfed-members.conf"
    ]
    return next((line for line in conf.splitlines() if line.startswith("SEC_TOKEN_REVOCATION_EXPR")), "")


def jti(clusters) -> str:
    import base64

    secret = clusters.member_a.get("v1", "Secret", "condorfed-startd-token", NS)
    return idtoken.decode_unverified(base64.b64decode(secret["data"]["token"]).decode())[1]["jti"]


def test_a_rotated_token_is_revoked_with_its_expiry_and_trimmed_after_it(clusters, connector, effects):
    do_init(clusters, connector, effects)
    join(connector, effects, token_lifetime=2 * DAY)
    first = jti(clusters)
    join(connector, at(effects, T0 + DAY), token_lifetime=2 * DAY, rotate_token=True)  # a day later
    second = jti(clusters)
    assert revoked_json(clusters) == {"token_ids": [first], "expires_at": {first: T0 + 2 * DAY}}
    assert f'jti =?= "{first}"' in revocation_expr(clusters)
    # A never-expiring token revoked meanwhile (cluster-b, no lifetime) must outlive the trim.
    join(connector, effects, name="cluster-b", context="member-b")
    forever = json.loads(
        clusters.host.get("v1", "ConfigMap", REGISTRY_CONFIGMAP, NS)["data"]["member.cluster-b.json"]
    )
    fed.unjoin("cluster-b", host_context="host", connector=connector, effects=effects)
    assert revoked_json(clusters)["token_ids"] == sorted([first, forever["token_id"]])
    # Well after the first token expired, unjoining cluster-a trims its id and revokes the current one.
    late = at(effects, T0 + 2 * DAY + REVOCATION_GRACE)
    fed.unjoin("cluster-a", host_context="host", connector=connector, effects=late)
    stored = revoked_json(clusters)
    assert stored == {
        "token_ids": sorted([second, forever["token_id"]]),
        "expires_at": {second: T0 + 3 * DAY},
    }
    assert first not in revocation_expr(clusters) and second in revocation_expr(clusters)
    assert forever["token_id"] in revocation_expr(clusters)


def test_init_trims_and_a_rerun_then_writes_nothing(clusters, connector, effects):
    do_init(clusters, connector, effects)
    join(connector, effects, token_lifetime=DAY)
    fed.unjoin("cluster-a", host_context="host", connector=connector, effects=effects)
    assert len(revoked_json(clusters)["token_ids"]) == 1
    late = at(effects, T0 + DAY + REVOCATION_GRACE)
    opts = InitOptions(collector_address="cm.example.org", trust_domain="cm.example.org")
    fed.init(opts, host_context="host", connector=connector, effects=late)
    assert revoked_json(clusters) == {"token_ids": []} and revocation_expr(clusters) == ""
    snapshot = clusters.host.snapshot()
    result = fed.init(opts, host_context="host", connector=connector, effects=late)
    assert clusters.host.snapshot() == snapshot and {c.action for c in result.changes} == {"unchanged"}


def test_ids_revoked_before_expiries_were_recorded_stay(clusters, connector, effects):
    do_init(clusters, connector, effects)
    cm = clusters.host.get("v1", "ConfigMap", REGISTRY_CONFIGMAP, NS)
    cm["data"]["revoked.json"] = json.dumps({"token_ids": ["legacy0123456789abcdef0123456789"]})
    clusters.host.put(cm)
    join(connector, effects, token_lifetime=DAY)
    fed.unjoin("cluster-a", host_context="host", connector=connector, effects=at(effects, T0 + 3650 * DAY))
    assert "legacy0123456789abcdef0123456789" in revoked_json(clusters)["token_ids"]
