"""IDTOKEN known-answer tests (tokens made by HTCondor's own Condor_Auth_Passwd::generate_token)."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from condorfed.core import idtoken
from condorfed.errors import TokenError

VECTOR_A = (
    "eyJhbGciOiJIUzI1NiIsImtpZCI6IlBPT0wifQ."
    "eyJleHAiOjE4MjY4NTI2NjIsImlhdCI6MTc5NTMxNjY2MiwiaXNzIjoiY20uZXhhbXBsZS5vcmciLCJqdGkiOiJkNGUyMzcz"
    "YzE4MWEyZWM1Yjc5OWMyYTU3MDIzMDZhYyIsInNjb3BlIjoiY29uZG9yOlwvUkVBRCBjb25kb3I6XC9BRFZFUlRJU0VfU1RB"
    "UlREIGNvbmRvcjpcL0FEVkVSVElTRV9NQVNURVIiLCJzdWIiOiJjbHVzdGVyLWFAY20uZXhhbXBsZS5vcmcifQ."
    "qVu1Tk65KmiDQ2c99W6mp6MnVoW2OwJZxEgC9Xuc3yQ"
)
KEY_A = b"kat-signing-key-0123456789abcdef"
VECTOR_B = (
    "eyJhbGciOiJIUzI1NiIsImtpZCI6IktBVDEifQ."
    "eyJpYXQiOjE3OTUzMTY2NjIsImlzcyI6ImNtLmV4YW1wbGUub3JnIiwianRpIjoiZTEyNjAyN2RhYTk2MDI3MDUwYTQwMDNm"
    "NzZmNmFiYTMiLCJzY29wZSI6ImNvbmRvcjpcL0FEVkVSVElTRV9TVEFSVEQiLCJzdWIiOiJjbHVzdGVyLWFAY20uZXhhbXBs"
    "ZS5vcmcifQ."
    "dOJljWRhAgSHR4fC1o6Njqz271mMIipqckc8IuU6oIQ"
)
KEY_B = b"cluster-a-named-key-for-kat-test"

VECTORS = [
    pytest.param(VECTOR_A, KEY_A, "POOL", id="A-pool-key-with-exp"),
    pytest.param(VECTOR_B, KEY_B, "KAT1", id="B-named-key-no-exp"),
]


@pytest.mark.parametrize(("token", "key", "kid"), VECTORS)
def test_verifier_accepts_htcondor_tokens(token: str, key: bytes, kid: str) -> None:
    claims = idtoken.verify(token, key)
    assert claims.key_id == kid
    assert claims.issuer == "cm.example.org"
    assert claims.subject == "cluster-a@cm.example.org"


def test_vector_a_claims_decoded() -> None:
    claims = idtoken.verify(VECTOR_A, KEY_A)
    assert claims.authz == ("READ", "ADVERTISE_STARTD", "ADVERTISE_MASTER")
    assert (claims.issued_at, claims.expires_at) == (1795316662, 1826852662)
    assert claims.token_id == "d4e2373c181a2ec5b799c2a5702306ac"


@pytest.mark.parametrize(("token", "key", "kid"), VECTORS)
def test_reminted_token_is_byte_identical(token: str, key: bytes, kid: str) -> None:
    _, payload = idtoken.decode_unverified(token)
    lifetime = payload["exp"] - payload["iat"] if "exp" in payload else None
    claims = idtoken.make_claims(
        identity=payload["sub"],
        trust_domain=payload["iss"],
        authz=[s.removeprefix("condor:/") for s in payload["scope"].split()],
        issued_at=payload["iat"],
        token_id=payload["jti"],
        lifetime=lifetime,
        key_id=kid,
    )
    minted = idtoken.mint(claims, key)
    assert minted == token  # header, payload (picojson: sorted, "\/") and signature bytes
    assert minted.rsplit(".", 1)[1] == token.rsplit(".", 1)[1]


def test_plain_json_serialization_would_not_reproduce_the_signature() -> None:
    # Guards the reason picojson_dumps exists: json.dumps does not escape "/" and the signature differs.
    _, payload = idtoken.decode_unverified(VECTOR_A)
    assert json.dumps(payload, sort_keys=True, separators=(",", ":")) != idtoken.picojson_dumps(payload)


@pytest.mark.parametrize(
    ("token", "key"),
    [
        pytest.param(VECTOR_A, KEY_B, id="A-with-wrong-key"),
        pytest.param(VECTOR_B, KEY_A, id="B-with-wrong-key"),
        pytest.param(VECTOR_A.replace(".qVu1", ".qVu2"), KEY_A, id="A-signature-tampered"),
        pytest.param(VECTOR_A[:-1] + ("A" if VECTOR_A[-1] != "A" else "B"), KEY_A, id="A-last-char"),
    ],
)
def test_verifier_rejects_wrong_key_or_tampering(token: str, key: bytes) -> None:
    with pytest.raises(TokenError, match="signature"):
        idtoken.verify(token, key)


def test_tampered_payload_is_rejected() -> None:
    header, _, sig = VECTOR_B.split(".")
    payload = idtoken.picojson_dumps(
        {"iat": 1, "iss": "cm.example.org", "jti": "0" * 32, "scope": "condor:/ADMINISTRATOR", "sub": "x@y"}
    )
    forged = header + "." + idtoken._b64url(payload.encode()) + "." + sig
    with pytest.raises(TokenError, match="signature"):
        idtoken.verify(forged, KEY_B)


def test_expiry_checked_against_given_now() -> None:
    idtoken.verify(VECTOR_A, KEY_A, now=1826852661)
    with pytest.raises(TokenError, match="expired"):
        idtoken.verify(VECTOR_A, KEY_A, now=1826852662)
    idtoken.verify(VECTOR_B, KEY_B, now=4_000_000_000)  # no exp claim: never expires


def test_pool_key_is_doubled_named_key_is_not() -> None:
    raw = idtoken.scramble(b"k3y")
    assert idtoken.hmac_key(raw, "POOL") != idtoken.hmac_key(raw, "OTHER")
    assert idtoken.hmac_key(idtoken.scramble(b"k3yk3y"), "OTHER") == idtoken.hmac_key(raw, "POOL")


def test_key_file_is_read_as_a_c_string() -> None:
    # HTCondor stops at the first NUL of the file (8.4-era trailing NULs) and again after unscrambling.
    assert idtoken.hmac_key(KEY_A + b"\0\0garbage") == idtoken.hmac_key(KEY_A)
    stop_after_unscramble = KEY_A[:4] + idtoken.scramble(b"\0\0\0\0\0")[4:5] + b"tail"
    assert idtoken.key_from_file_bytes(stop_after_unscramble) == idtoken.scramble(KEY_A[:4])
    with pytest.raises(TokenError, match="empty"):
        idtoken.key_from_file_bytes(b"\0abc")


def test_generated_pool_key_has_no_nul_on_either_side() -> None:
    data = idtoken.pool_key_file_bytes(bytes(range(32)))  # includes 0x00 in the randomness
    assert b"\0" not in data
    assert idtoken.key_from_file_bytes(data) == bytes(range(32)).hex().encode()


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        pytest.param({"authz": []}, "at least one", id="no-authz"),
        pytest.param({"authz": ["READ", "SUPERUSER"]}, "SUPERUSER", id="unknown-authz"),
        pytest.param({"identity": "a b"}, "--identity", id="identity-space"),
        pytest.param({"token_id": "xyz"}, "token id", id="bad-jti"),
        pytest.param({"lifetime": 0}, "--lifetime", id="zero-lifetime"),
        pytest.param({"key_id": "../etc"}, "--key-id", id="bad-kid"),
    ],
)
def test_make_claims_rejects_bad_input(kwargs: dict, match: str) -> None:
    base = {
        "identity": "c1",
        "trust_domain": "td",
        "authz": ["READ"],
        "issued_at": 1,
        "token_id": "a" * 32,
    }
    with pytest.raises(TokenError, match=match):
        idtoken.make_claims(**(base | kwargs))


def test_identity_without_domain_gets_trust_domain() -> None:
    claims = idtoken.make_claims(
        identity="c1", trust_domain="td.org", authz=["read"], issued_at=5, token_id="b" * 32, lifetime=10
    )
    assert (claims.subject, claims.authz, claims.expires_at) == ("c1@td.org", ("READ",), 15)


@pytest.mark.parametrize("bad", ["", "abc", "a.b", "a.b.c.d", "!!!.@@@.###"])
def test_malformed_tokens_are_one_line_errors(bad: str) -> None:
    with pytest.raises(TokenError):
        idtoken.verify(bad, KEY_A)


_text = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=20)
_json = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**62), 2**62) | _text,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(_text, children, max_size=4),
    max_leaves=12,
)


@given(_json)
def test_picojson_output_is_json_that_round_trips(value: object) -> None:
    text = idtoken.picojson_dumps(value)
    assert json.loads(text) == value
    assert "/" not in text.replace("\\/", "")


@given(
    key=st.binary(min_size=1, max_size=64).filter(lambda b: b[0] != 0 and idtoken.scramble(b)[0] != 0),
    authz=st.lists(st.sampled_from(sorted(idtoken.AUTHZ_LEVELS)), min_size=1, max_size=4),
    iat=st.integers(0, 2**40),
    lifetime=st.none() | st.integers(1, 2**30),
    kid=st.sampled_from(["POOL", "KAT1", "cluster-a"]),
)
def test_mint_then_verify_round_trips(
    key: bytes, authz: list, iat: int, lifetime: int | None, kid: str
) -> None:
    claims = idtoken.make_claims(
        identity="m@td",
        trust_domain="td",
        authz=authz,
        issued_at=iat,
        token_id="c" * 32,
        lifetime=lifetime,
        key_id=kid,
    )
    assert idtoken.verify(idtoken.mint(claims, key), key) == claims
