"""The federation registry: one ConfigMap on the host cluster that records the federation.

Keys: ``init.json`` (the options `init` ran with, so `join`/`unjoin` re-render the same host objects),
``revoked.json`` (token ids revoked by `unjoin` or replaced by `join`, with each token's expiry where
known: ``{"token_ids": [...], "expires_at": {id: exp}}``), and one ``member.<name>.json`` per member
cluster (name, kube context, API endpoint, ``kube-system`` UID, labels, weight, min/max cores, cost,
token id and expiry, join time...).

Revoked ids are trimmed once their token has expired (plus :data:`REVOCATION_GRACE` for clock skew):
an expired token is refused by its ``exp`` anyway. Ids without a known expiry stay: a token minted
without a lifetime never expires, and ids revoked before expiries were recorded (``revoked.json``
with ``token_ids`` only) cannot be told apart from such tokens.

It is written with create/replace and its resourceVersion (optimistic concurrency), never with
server-side apply: two `join`s racing re-read and retry instead of one silently dropping the other.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from condorfed.adapters.kube import ClusterClient, ConflictError
from condorfed.core.render.options import ClusterSettings, Images, InitOptions
from condorfed.errors import ClusterError, ConfigError

REGISTRY_CONFIGMAP = "condorfed-registry"
REGISTRY_LABELS = {"app.kubernetes.io/managed-by": "condorfed", "app.kubernetes.io/component": "registry"}
_MEMBER_PREFIX = "member."
_MEMBER_SUFFIX = ".json"
# InitOptions fields derived from the registry itself rather than stored in init.json.
_DERIVED = ("joined_members", "revoked_identities", "revoked_token_ids")
# A revoked id outlives its token's exp by this much: the collector checks exp on its own clock.
REVOCATION_GRACE = 3600


@dataclass(frozen=True)
class Member:
    """A member cluster as the registry records it: where it is, its settings, its token id.

    The record is one flat JSON object (``settings``' fields sit beside ``name``, ``context``...), the
    format the registry has always had: records written before ``settings`` existed load unchanged,
    and a field a newer version adds to :class:`ClusterSettings` takes its default where it is missing.
    """

    name: str
    context: str
    server: str
    kube_system_uid: str
    namespace: str
    joined_at: float
    phase: str = "Joining"  # Joining -> Joined; a Joining entry marks a join that did not finish
    settings: ClusterSettings = field(default_factory=ClusterSettings)
    token_id: str = ""
    token_expires_at: int | None = None
    """The token's ``exp``; None: it never expires, or the record predates this field."""

    def token_expiry_bound(self, now: float) -> int | None:
        """When the member's token stops verifying on its own (None: never). A record written before
        ``token_expires_at`` existed gives an upper bound: the token was issued by ``now``, so with a
        lifetime it expires by ``now + lifetime``; without one it never expires."""
        if self.token_expires_at is not None:
            return self.token_expires_at
        lifetime = self.settings.token_lifetime
        return None if lifetime is None else int(now) + lifetime

    def to_json(self) -> dict[str, Any]:
        data = {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.name != "settings"}
        return {**data, **self.settings.to_json()}

    @classmethod
    def from_json(cls, data: Mapping[str, Any], source: str) -> Member:
        names = {f.name for f in dataclasses.fields(cls)} - {"settings"}
        try:
            settings = ClusterSettings.from_json(data)
            return cls(**{k: v for k, v in data.items() if k in names}, settings=settings)
        except (TypeError, ConfigError) as exc:
            raise ClusterError(f"{source}: malformed member record ({exc})") from None


@dataclass(frozen=True)
class Registry:
    """The registry's content plus the resourceVersion it was read at (None = not yet created)."""

    namespace: str
    init: Mapping[str, Any]
    members: Mapping[str, Member] = field(default_factory=dict)
    revoked: Mapping[str, int | None] = field(default_factory=dict)
    """Revoked token id -> its token's ``exp`` (None: never expires, or not known)."""
    resource_version: str | None = None

    @property
    def revoked_token_ids(self) -> tuple[str, ...]:
        return tuple(sorted(self.revoked))

    def init_options(self, **overrides: Any) -> InitOptions:
        """The options `init` ran with, plus the member identities and revocations the registry holds."""
        values = dict(self.init)
        values["images"] = Images(**values.get("images", {}))
        values["joined_members"] = tuple(n for n, m in self.members.items() if m.phase == "Joined")
        values["revoked_token_ids"] = self.revoked_token_ids
        values.update(overrides)
        return InitOptions(**values)

    def with_member(self, member: Member) -> Registry:
        return dataclasses.replace(self, members={**self.members, member.name: member})

    def without_member(self, name: str, *, revoke: str = "", expires_at: int | None = None) -> Registry:
        """Drop member ``name`` (if any) and revoke token id ``revoke`` (if any), whose token expires at
        ``expires_at`` (None: never, or not known)."""
        members = {k: v for k, v in self.members.items() if k != name}
        revoked = dict(self.revoked)
        if revoke in revoked:  # revoked twice: keep the later expiry, and None (never / unknown) over any
            old = revoked[revoke]
            revoked[revoke] = None if old is None or expires_at is None else max(old, expires_at)
        elif revoke:
            revoked[revoke] = expires_at
        return dataclasses.replace(self, members=members, revoked=revoked)

    def trim_revoked(self, now: float) -> Registry:
        """Without the revoked ids whose token expired more than REVOCATION_GRACE seconds before ``now``."""
        kept = {k: v for k, v in self.revoked.items() if v is None or v + REVOCATION_GRACE > now}
        return self if len(kept) == len(self.revoked) else dataclasses.replace(self, revoked=kept)

    def to_data(self) -> dict[str, str]:
        revoked: dict[str, Any] = {"token_ids": list(self.revoked_token_ids)}
        expiries = {k: v for k, v in sorted(self.revoked.items()) if v is not None}
        if expiries:  # absent when none is known: the format of registries before expiries were kept
            revoked["expires_at"] = expiries
        data = {"init.json": _dumps(self.init), "revoked.json": _dumps(revoked)}
        for name, member in sorted(self.members.items()):
            data[f"{_MEMBER_PREFIX}{name}{_MEMBER_SUFFIX}"] = _dumps(member.to_json())
        return data


def init_record(opts: InitOptions) -> dict[str, Any]:
    """What init.json stores: the options without the parts the registry derives."""
    data = dataclasses.asdict(opts)
    for key in _DERIVED:
        data.pop(key, None)
    return data


def read_registry(client: ClusterClient, namespace: str) -> Registry | None:
    """The registry in ``namespace``, or None when `init` has not run there."""
    cm = client.get("v1", "ConfigMap", REGISTRY_CONFIGMAP, namespace)
    if cm is None:
        return None
    source = f"context {client.context!r}: ConfigMap {namespace}/{REGISTRY_CONFIGMAP}"
    data = cm.get("data") or {}
    members = {}
    for key, text in data.items():
        if key.startswith(_MEMBER_PREFIX) and key.endswith(_MEMBER_SUFFIX):
            member = Member.from_json(_loads(text, f"{source} key {key}"), f"{source} key {key}")
            members[member.name] = member
    return Registry(
        namespace=namespace,
        init=_loads(data.get("init.json", "{}"), f"{source} key init.json"),
        members=members,
        revoked=_revoked(_loads(data.get("revoked.json", "{}"), f"{source} key revoked.json"), source),
        resource_version=cm["metadata"]["resourceVersion"],
    )


def write_registry(client: ClusterClient, registry: Registry) -> Registry:
    """Create or replace the registry at the resourceVersion it was read at (ConflictError if it moved)."""
    meta: dict[str, Any] = {
        "name": REGISTRY_CONFIGMAP,
        "namespace": registry.namespace,
        "labels": dict(REGISTRY_LABELS),
    }
    obj = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta, "data": registry.to_data()}
    if registry.resource_version is None:
        live = client.create(obj)  # type: ignore[attr-defined]
    else:
        meta["resourceVersion"] = registry.resource_version
        live = client.replace(obj)  # type: ignore[attr-defined]
    return dataclasses.replace(registry, resource_version=live["metadata"]["resourceVersion"])


def update_registry(
    client: ClusterClient,
    namespace: str,
    change: Callable[[Registry | None], Registry | None],
    *,
    attempts: int = 5,
) -> Registry | None:
    """Read, change, write; on a 409 (someone else wrote in between) read again and redo the change.

    ``change`` returns the new registry, or the registry it was given to write nothing.
    """
    for _ in range(attempts):
        current = read_registry(client, namespace)
        wanted = change(current)
        if (
            wanted is None
            or wanted is current
            or (current is not None and wanted.to_data() == current.to_data())
        ):
            return current
        try:
            return write_registry(client, wanted)
        except ConflictError:
            continue
    raise ClusterError(
        f"context {client.context!r}: ConfigMap {namespace}/{REGISTRY_CONFIGMAP} kept changing "
        f"under concurrent writers ({attempts} attempts); try again"
    )


def _revoked(value: Mapping[str, Any], source: str) -> dict[str, int | None]:
    """``revoked.json``: ``token_ids`` (every revoked id) and ``expires_at`` (id -> exp, where known)."""
    ids, expiries = value.get("token_ids", []), value.get("expires_at", {})
    where = f"{source} key revoked.json"
    if not isinstance(ids, list) or not all(isinstance(i, str) and i for i in ids):
        raise ClusterError(f"{where}: token_ids is not a list of token ids")
    if not isinstance(expiries, dict) or not all(
        isinstance(v, int) and not isinstance(v, bool) for v in expiries.values()
    ):
        raise ClusterError(f"{where}: expires_at is not an object of token id -> expiry (seconds)")
    return {i: expiries.get(i) for i in ids}


def _dumps(value: Any) -> str:
    return json.dumps(value, sort_keys=True, indent=1)


def _loads(text: str, source: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except ValueError:
        raise ClusterError(f"{source}: not JSON") from None
    if not isinstance(value, dict):
        raise ClusterError(f"{source}: not a JSON object")
    return value
