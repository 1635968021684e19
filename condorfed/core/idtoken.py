"""HTCondor IDTOKENs: mint and verify, byte-for-byte as HTCondor's own code does.

Pure: the key file's bytes, the times and the token id (``jti``) are passed in; nothing here
reads a file, a clock or a random source.

The format (checked against tokens made by ``Condor_Auth_Passwd::generate_token``):

* The signing key file (``passwords.d/POOL`` or ``passwords.d/<KID>``) holds *scrambled* bytes:
  each byte XORed with ``DE AD BE EF`` repeated. HTCondor reads the file as a C string: it stops
  at the first NUL of the file, unscrambles, and stops again at the first NUL of the result.
* For key id ``POOL`` the unscrambled key is doubled (key || key), a leftover of the old pool password.
* The HMAC key is HKDF-SHA256 of that, salt ``b"htcondor"``, info ``b"master jwt"``, 32 bytes.
* The JWT is HS256 with header ``{"alg":"HS256","kid":KID}``; claims ``iss`` (the trust domain),
  ``sub`` (the identity), ``iat``, ``exp`` (only with a lifetime), ``jti`` (32 hex characters)
  and ``scope`` (``condor:/<AUTHZ>`` space-separated, in the order given).
* HTCondor serializes JSON with picojson: keys sorted, no whitespace, and ``/`` escaped as ``\\/``.
  Reproducing a token's signature needs exactly that serialization (``picojson_dumps``).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from condorfed.errors import TokenError

SCRAMBLE_PATTERN = b"\xde\xad\xbe\xef"
POOL_KEY_ID = "POOL"
SCOPE_PREFIX = "condor:/"
_HKDF_SALT = b"htcondor"
_HKDF_INFO = b"master jwt"

# HTCondor's authorization levels (manual: "Authorization"), the values a scope may name.
AUTHZ_LEVELS: frozenset[str] = frozenset(
    {
        "READ",
        "WRITE",
        "ADMINISTRATOR",
        "CONFIG",
        "DAEMON",
        "NEGOTIATOR",
        "OWNER",
        "ADVERTISE_MASTER",
        "ADVERTISE_STARTD",
        "ADVERTISE_SCHEDD",
    }
)
_KEY_ID = re.compile(r"^[A-Za-z0-9_.-]+$")
_JTI = re.compile(r"^[0-9a-f]{32}$")


@dataclass(frozen=True)
class TokenClaims:
    """The claims of an IDTOKEN. ``authz`` are the levels without the ``condor:/`` prefix."""

    issuer: str
    subject: str
    issued_at: int
    token_id: str
    authz: tuple[str, ...]
    expires_at: int | None = None
    key_id: str = POOL_KEY_ID

    def to_payload(self) -> dict[str, object]:
        payload: dict[str, object] = {
            "iat": self.issued_at,
            "iss": self.issuer,
            "jti": self.token_id,
            "scope": " ".join(SCOPE_PREFIX + a for a in self.authz),
            "sub": self.subject,
        }
        if self.expires_at is not None:
            payload["exp"] = self.expires_at
        return payload


# ---------------------------------------------------------------- key handling


def scramble(data: bytes) -> bytes:
    """HTCondor's ``simple_scramble``: XOR with DE AD BE EF repeated (its own inverse)."""
    return bytes(b ^ SCRAMBLE_PATTERN[i % 4] for i, b in enumerate(data))


def _until_nul(data: bytes) -> bytes:
    end = data.find(b"\0")
    return data if end < 0 else data[:end]


def key_from_file_bytes(file_bytes: bytes) -> bytes:
    """The key HTCondor actually uses from a key file's bytes (C-string reads on both sides)."""
    key = _until_nul(scramble(_until_nul(file_bytes)))
    if not key:
        raise TokenError("signing key: the key file is empty (or starts with a NUL byte)")
    return key


def pool_key_file_bytes(random_bytes: bytes) -> bytes:
    """A new signing key file's content from fresh random bytes (the caller supplies the randomness).

    The key is the hex text of the random bytes, stored scrambled. Hex digits are ASCII, and
    ASCII XOR DE/AD/BE/EF is never 0, so no NUL can truncate the key on either side of the scramble.
    """
    if len(random_bytes) < 16:
        raise TokenError("signing key: at least 16 random bytes are needed")
    return scramble(random_bytes.hex().encode("ascii"))


def hmac_key(file_bytes: bytes, key_id: str = POOL_KEY_ID) -> bytes:
    """HKDF-SHA256 of the (doubled, for POOL) unscrambled key: the HS256 key."""
    key = key_from_file_bytes(file_bytes)
    if key_id == POOL_KEY_ID:
        key = key + key
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=_HKDF_SALT, info=_HKDF_INFO).derive(key)


# ---------------------------------------------------------------- serialization


def _picojson_escape(text: str) -> str:
    out = ['"']
    for ch in text:
        if ch == '"':
            out.append('\\"')
        elif ch == "\\":
            out.append("\\\\")
        elif ch == "/":
            out.append("\\/")
        elif ch == "\b":
            out.append("\\b")
        elif ch == "\f":
            out.append("\\f")
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\r":
            out.append("\\r")
        elif ch == "\t":
            out.append("\\t")
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(ch)  # picojson writes other characters as raw UTF-8
    out.append('"')
    return "".join(out)


def picojson_dumps(obj: object) -> str:
    """Serialize like picojson (HTCondor's JSON writer): sorted keys, compact, ``/`` escaped."""
    if isinstance(obj, dict):
        items = sorted(obj.items())
        return "{" + ",".join(_picojson_escape(k) + ":" + picojson_dumps(v) for k, v in items) + "}"
    if isinstance(obj, (list, tuple)):
        return "[" + ",".join(picojson_dumps(v) for v in obj) + "]"
    if isinstance(obj, bool):
        return "true" if obj else "false"
    if isinstance(obj, int):
        return str(obj)
    if isinstance(obj, str):
        return _picojson_escape(obj)
    if obj is None:
        return "null"
    raise TokenError(f"token claims: cannot serialize a {type(obj).__name__}")


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64url_decode(text: str, what: str) -> bytes:
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError) as exc:
        raise TokenError(f"token: the {what} is not base64url") from exc


# ---------------------------------------------------------------- mint / verify


def new_token_id(random_bytes: bytes) -> str:
    """A ``jti``: 32 hex characters from 16 random bytes the caller supplies."""
    if len(random_bytes) < 16:
        raise TokenError("token id: 16 random bytes are needed")
    return random_bytes[:16].hex()


def validate_authz(authz: Sequence[str]) -> tuple[str, ...]:
    levels = tuple(a.strip().upper() for a in authz)
    if not levels:
        raise TokenError("--authz: at least one authorization level is needed")
    for level in levels:
        if level not in AUTHZ_LEVELS:
            raise TokenError(f"--authz: {level!r} is not an HTCondor authorization level")
    return levels


def make_claims(
    *,
    identity: str,
    trust_domain: str,
    authz: Sequence[str],
    issued_at: int,
    token_id: str,
    lifetime: int | None = None,
    key_id: str = POOL_KEY_ID,
) -> TokenClaims:
    """Claims for a new token; ``identity`` without ``@`` gets ``@<trust domain>`` as HTCondor does."""
    if not identity or any(c.isspace() for c in identity):
        raise TokenError(f"--identity: {identity!r} is empty or contains whitespace")
    if not trust_domain or any(c.isspace() for c in trust_domain):
        raise TokenError(f"--trust-domain: {trust_domain!r} is empty or contains whitespace")
    if not _KEY_ID.match(key_id):
        raise TokenError(f"--key-id: {key_id!r} is not a key name (letters, digits, '_', '-', '.')")
    if not _JTI.match(token_id):
        raise TokenError(f"token id: {token_id!r} is not 32 lower-case hex characters")
    if lifetime is not None and lifetime <= 0:
        raise TokenError(f"--lifetime: {lifetime} must be > 0 seconds")
    subject = identity if "@" in identity else f"{identity}@{trust_domain}"
    return TokenClaims(
        issuer=trust_domain,
        subject=subject,
        issued_at=int(issued_at),
        token_id=token_id,
        authz=validate_authz(authz),
        expires_at=None if lifetime is None else int(issued_at) + int(lifetime),
        key_id=key_id,
    )


def mint(claims: TokenClaims, key_file_bytes: bytes) -> str:
    """Sign ``claims`` with the key file's bytes: the compact JWT string HTCondor would write."""
    header = picojson_dumps({"alg": "HS256", "kid": claims.key_id})
    payload = picojson_dumps(claims.to_payload())
    signing_input = _b64url(header.encode()) + "." + _b64url(payload.encode())
    signature = hmac.new(hmac_key(key_file_bytes, claims.key_id), signing_input.encode(), hashlib.sha256)
    return signing_input + "." + _b64url(signature.digest())


def decode_unverified(token: str) -> tuple[dict, dict]:
    """Header and payload of a token, without checking the signature (for inspection only)."""
    parts = token.strip().split(".")
    if len(parts) != 3:
        raise TokenError("token: not a compact JWT (three dot-separated parts)")
    try:
        header = json.loads(_b64url_decode(parts[0], "header"))
        payload = json.loads(_b64url_decode(parts[1], "payload"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise TokenError("token: header or payload is not JSON") from exc
    if not isinstance(header, dict) or not isinstance(payload, dict):
        raise TokenError("token: header or payload is not a JSON object")
    return header, payload


def verify(token: str, key_file_bytes: bytes, *, now: int | None = None) -> TokenClaims:
    """Check the signature (constant-time) and, when ``now`` is given, the expiry; return the claims."""
    header, payload = decode_unverified(token)
    if header.get("alg") != "HS256":
        raise TokenError(f"token: algorithm {header.get('alg')!r} is not HS256")
    key_id = header.get("kid", POOL_KEY_ID)
    if not isinstance(key_id, str):
        raise TokenError("token: kid is not a string")
    signing_input, _, signature_text = token.strip().rpartition(".")
    expected = hmac.new(hmac_key(key_file_bytes, key_id), signing_input.encode(), hashlib.sha256).digest()
    if not hmac.compare_digest(expected, _b64url_decode(signature_text, "signature")):
        raise TokenError(f"token: signature does not verify with signing key {key_id!r}")
    try:
        scope = str(payload.get("scope", ""))
        claims = TokenClaims(
            issuer=str(payload["iss"]),
            subject=str(payload["sub"]),
            issued_at=int(payload["iat"]),
            token_id=str(payload.get("jti", "")),
            authz=tuple(s.removeprefix(SCOPE_PREFIX) for s in scope.split() if s),
            expires_at=None if payload.get("exp") is None else int(payload["exp"]),
            key_id=key_id,
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise TokenError(f"token: claim {exc} is missing or malformed") from exc
    if now is not None and claims.expires_at is not None and now >= claims.expires_at:
        raise TokenError(f"token: expired at {claims.expires_at} (now {now})")
    return claims
