"""The federation registry: one ConfigMap on the host cluster that records the federation.

Keys: ``init.json`` (the options `init` ran with, so `join`/`unjoin` re-render the same host objects),
``revoked.json`` (token ids revoked by `unjoin`), and one ``member.<name>.json`` per member cluster
(name, kube context, API endpoint, ``kube-system`` UID, labels, weight, min/max cores, cost, join time...).

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
    revoked_token_ids: tuple[str, ...] = ()
    resource_version: str | None = None

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

    def without_member(self, name: str, *, revoke: str = "") -> Registry:
        members = {k: v for k, v in self.members.items() if k != name}
        revoked = tuple(sorted({*self.revoked_token_ids, revoke} - {""}))
        return dataclasses.replace(self, members=members, revoked_token_ids=revoked)

    def to_data(self) -> dict[str, str]:
        data = {
            "init.json": _dumps(self.init),
            "revoked.json": _dumps({"token_ids": list(self.revoked_token_ids)}),
        }
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
    revoked = _loads(data.get("revoked.json", "{}"), f"{source} key revoked.json").get("token_ids", [])
    return Registry(
        namespace=namespace,
        init=_loads(data.get("init.json", "{}"), f"{source} key init.json"),
        members=members,
        revoked_token_ids=tuple(revoked),
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
