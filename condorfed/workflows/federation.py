"""`condorfed init`, `join`, `unjoin` and `status`: the federation's lifecycle on Kubernetes.

Each workflow decides first and acts once. Every read and check (contexts, names, the registry, the
``kube-system`` UID, the pool key) happens before the first write; the objects come from the render layer
(``render_init`` / ``render_join``, the same code `condorfed render` prints), are diffed against the live
ones, and only what differs is server-side applied under the field manager ``condorfed``. So a second
run changes nothing, and a failed pre-flight check leaves nothing behind.

Secret material (the pool signing key, IDTOKENs) is generated or read here, handed to the renderer and
applied in Secrets; it never appears in a result, a message or a log line.
"""

from __future__ import annotations

import base64
import dataclasses
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from condorfed.adapters.htcondor_collector import STATUS_PROJECTION, CollectorStartdReader, StartdReader
from condorfed.adapters.kube import ClusterClient, UnreachableError, object_ref
from condorfed.core import idtoken
from condorfed.core.render.options import (
    COLLECTOR_SERVICE,
    DEFAULT_NAMESPACE,
    NEGOTIATOR_CONFIGMAP,
    POOL_KEY_ID,
    POOL_KEY_SECRET,
    SCHEDD_CONFIGMAP,
    STARTD_NAME,
    STARTD_TOKEN_KEY,
    STARTD_TOKEN_SECRET,
    ClusterSettings,
    InitOptions,
    JoinOptions,
    RenderedSecrets,
    validate_dns1123_label,
)
from condorfed.core.render.render import (
    NEGOTIATOR_POLICY_FILE,
    SCHEDD_POLICY_FILE,
    join_secret_refs,
    policy_text,
    render_init,
    render_join,
)
from condorfed.errors import ClusterError, ConfigError, PoolError, TokenError
from condorfed.workflows.federation_apply import Change, dry_run, execute, plan
from condorfed.workflows.federation_common import (
    DEFAULT_CONNECTOR,
    REAL_EFFECTS,
    Connector,
    Effects,
    deletion_order,
    ordered,
    require_registry,
)
from condorfed.workflows.federation_registry import (
    Member,
    Registry,
    init_record,
    read_registry,
    update_registry,
)
from condorfed.workflows.federation_status import FederationStatus, MemberStatus, count_cores, status

__all__ = [
    "Connector",
    "Effects",
    "FederationStatus",
    "InitResult",
    "JoinRequest",
    "JoinResult",
    "MemberStatus",
    "UnjoinResult",
    "count_cores",
    "init",
    "join",
    "status",
    "unjoin",
]

MEMBER_AUTHZ = ("READ", "ADVERTISE_MASTER", "ADVERTISE_STARTD")

# ---------------------------------------------------------------------------------------------- init


@dataclass(frozen=True)
class InitResult:
    context: str
    namespace: str
    trust_domain: str
    changes: list[Change]

    def to_json(self) -> dict[str, Any]:
        return {
            "context": self.context,
            "namespace": self.namespace,
            "trust_domain": self.trust_domain,
            "changes": [c.to_json() for c in self.changes],
        }


def init(
    opts: InitOptions,
    *,
    host_context: str | None,
    connector: Connector = DEFAULT_CONNECTOR,
    effects: Effects = REAL_EFFECTS,
) -> InitResult:
    """Deploy the host objects (central manager, schedd, collector Service, pool key, config) and the
    registry. Idempotent: the pool key is generated once and reused after."""
    host = connector.connect(host_context)
    registry = read_registry(host, opts.namespace)
    if registry is not None and registry.members:
        previous = registry.init.get("trust_domain")
        if previous != opts.trust_domain:
            raise ConfigError(
                f"--trust-domain: the federation uses {previous!r} and has members whose tokens it signs; "
                "unjoin them before changing it"
            )
    pool_key = _read_pool_key(host, opts.namespace) or idtoken.pool_key_file_bytes(effects.random_bytes(32))
    now = effects.now()
    if registry is not None:
        registry = registry.trim_revoked(now)
    full = dataclasses.replace(
        opts,
        joined_members=tuple(
            n for n, m in (registry.members if registry else {}).items() if m.phase == "Joined"
        ),
        revoked_token_ids=registry.revoked_token_ids if registry else (),
        **_live_policy(host, opts.namespace),
    )
    objects = ordered(render_init(full, RenderedSecrets(pool_signing_key=pool_key)))
    steps = plan(host, objects)
    dry_run(host, steps, what=f"init in context {host.context!r}")
    changes = execute(host, steps, what=f"init in context {host.context!r}")

    def record(current: Registry | None) -> Registry:
        base = current or Registry(namespace=opts.namespace, init={})
        return dataclasses.replace(base.trim_revoked(now), init=init_record(opts))

    before = read_registry(host, opts.namespace)
    after = update_registry(host, opts.namespace, record)
    changes.append(_registry_change(host, opts.namespace, before, after))
    return InitResult(host.context, opts.namespace, opts.trust_domain, changes)


# ---------------------------------------------------------------------------------------------- join


@dataclass(frozen=True)
class JoinRequest:
    """What `condorfed join` was asked to do: the member cluster's settings, plus where and how."""

    cluster: str
    cluster_context: str | None
    host_context: str | None = None
    namespace: str = DEFAULT_NAMESPACE
    """Host namespace (registry, central manager); also the member's unless member_namespace is set."""
    member_namespace: str | None = None
    settings: ClusterSettings = field(default_factory=ClusterSettings)
    """The member's own settings: rendered into its objects and recorded in the registry as given."""
    rotate_token: bool = False
    """Mint a new token even if the one in the member's Secret is still good (the old one is revoked)."""
    wait: bool = False
    wait_timeout: float = 300.0
    wait_interval: float = 5.0
    collector_query: str | None = None
    """Collector to query for --wait (HOST[:PORT]); None = the address members use."""


@dataclass(frozen=True)
class JoinResult:
    cluster: str
    identity: str
    context: str
    changes: list[Change]
    token: str  # "minted" or "reused" (never the token itself)
    startds: int | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "cluster": self.cluster,
            "identity": self.identity,
            "context": self.context,
            "token": self.token,
            "startds": self.startds,
            "changes": [c.to_json() for c in self.changes],
        }


def join(
    req: JoinRequest,
    *,
    connector: Connector = DEFAULT_CONNECTOR,
    effects: Effects = REAL_EFFECTS,
    reader_factory: Callable[[str | None], StartdReader] = CollectorStartdReader,
) -> JoinResult:
    """Join a member cluster: every check first, then member objects, the registry entry and the
    host's ALLOW_ADVERTISE_STARTD, each applied only where it differs."""
    # ---- pre-flight: reads and checks only
    validate_dns1123_label(req.cluster, "cluster name")
    host = connector.connect(req.host_context)
    member = connector.connect(req.cluster_context)
    registry = require_registry(host, req.namespace)
    uid = member.namespace_uid()
    _refuse_duplicates(registry, req.cluster, uid, member)
    member_ns = req.member_namespace or req.namespace
    if member_ns == req.namespace and uid == host.namespace_uid():
        raise ConfigError(
            f"--member-namespace: context {member.context!r} is the host cluster itself; give its startds "
            f"a namespace of their own (e.g. --member-namespace {req.namespace}-startd)"
        )
    init_opts = registry.init_options()
    opts = JoinOptions(
        cluster=req.cluster,
        collector=_member_collector(host, init_opts),
        trust_domain=init_opts.trust_domain,
        namespace=member_ns,
        settings=req.settings,
        images=init_opts.images,
    )
    pool_key = _read_pool_key(host, req.namespace)
    if pool_key is None:
        raise ClusterError(
            f"context {host.context!r}: Secret {req.namespace}/{POOL_KEY_SECRET} is missing; "
            "re-run condorfed init"
        )
    previous = registry.members.get(req.cluster)
    token = None if req.rotate_token else _existing_token(
        member, member_ns, STARTD_TOKEN_SECRET, STARTD_TOKEN_KEY, pool_key, opts.identity, effects,
        lifetime=req.settings.token_lifetime, revoked=registry.revoked_token_ids,
    )  # fmt: skip
    minted = token is None
    if token is None:
        lifetime = req.settings.token_lifetime
        token = _mint(pool_key, opts.identity, opts.trust_domain, MEMBER_AUTHZ, lifetime, effects)
    claims = idtoken.decode_unverified(token)[1]
    token_id, now = claims["jti"], effects.now()
    member_objects = ordered(render_join(opts, RenderedSecrets(member_token=token)))
    entry = Member(
        name=req.cluster,
        context=member.context,
        server=member.server,
        kube_system_uid=uid,
        namespace=member_ns,
        joined_at=previous.joined_at if previous else effects.now(),
        phase="Joined",
        settings=req.settings,
        token_id=token_id,
        token_expires_at=claims.get("exp"),
    )
    member_steps = plan(member, member_objects)
    # A token replaced by a fresh one (expired, or another lifetime) is revoked with the new entry.
    stale = previous.token_id if previous and previous.token_id != token_id else ""
    stale_expiry = previous.token_expiry_bound(now) if previous and stale else None
    future = registry.with_member(entry).without_member("", revoke=stale, expires_at=stale_expiry)
    future = future.trim_revoked(now)
    dry_run(member, member_steps, what=f"join {req.cluster!r}")
    dry_run(host, plan(host, _host_config_objects(host, future)), what=f"join {req.cluster!r} (host config)")

    # ---- act
    changes: list[Change] = []
    new_entry = previous is None
    unfinished = new_entry or previous.phase != "Joined"  # type: ignore[union-attr]
    latest: Registry | None = registry
    if previous != entry or stale:
        pending = dataclasses.replace(entry, phase="Joining") if unfinished else entry
        latest = _record_member(host, req.namespace, pending, now, revoke=stale, expires_at=stale_expiry)
    try:
        changes += execute(member, member_steps, what=f"join {req.cluster!r}")
    except ClusterError:
        if new_entry:
            _forget_member(host, req.namespace, req.cluster, now)
        raise
    if unfinished:
        latest = _record_member(host, req.namespace, entry, now)
    # From the registry as written, so members another join added meanwhile keep their ALLOW lines.
    host_steps = plan(host, _host_config_objects(host, latest or future))
    changes += execute(host, host_steps, what=f"join {req.cluster!r} (host config)")
    changes.append(
        Change(host.context, f"registry member {req.cluster}", "unchanged" if previous == entry else "update")
    )
    startds = None
    if req.wait:
        reader = reader_factory(req.collector_query or opts.collector)
        startds = _wait_for_startds(member, opts, reader, req, effects)
    return JoinResult(
        req.cluster, opts.identity, member.context, changes, "minted" if minted else "reused", startds
    )


# ---------------------------------------------------------------------------------------------- unjoin


@dataclass(frozen=True)
class UnjoinResult:
    cluster: str
    member_cleanup: str  # "done" or why it was skipped
    revoked_token_id: str
    changes: list[Change]

    def to_json(self) -> dict[str, Any]:
        return {
            "cluster": self.cluster,
            "member_cleanup": self.member_cleanup,
            "revoked_token_id": self.revoked_token_id,
            "changes": [c.to_json() for c in self.changes],
        }


def unjoin(
    cluster: str,
    *,
    host_context: str | None,
    namespace: str = DEFAULT_NAMESPACE,
    force: bool = False,
    drain_timeout: float | None = None,
    connector: Connector = DEFAULT_CONNECTOR,
    effects: Effects = REAL_EFFECTS,
) -> UnjoinResult:
    """Drain the member's startds (deleting the DaemonSet runs each pod's preStop drain), delete what
    `join` created there, drop the member from the registry and revoke its token on the host.

    With ``force`` an unreachable member is skipped: the host-side cleanup and the revocation still run.
    """
    validate_dns1123_label(cluster, "cluster name")
    host = connector.connect(host_context)
    registry = require_registry(host, namespace)
    entry = registry.members.get(cluster)
    if entry is None:
        known = ", ".join(sorted(registry.members)) or "none"
        raise ClusterError(f"cluster {cluster!r} is not a member of the federation (members: {known})")
    init_opts = registry.init_options()
    opts = _join_options(entry, init_opts)
    changes: list[Change] = []
    cleanup = "done"
    try:
        member = connector.probe(entry.context) if force else connector.connect(entry.context)
        if member.namespace_uid() != entry.kube_system_uid:
            raise ClusterError(
                f"context {entry.context!r} now points at another cluster than {cluster!r} joined with "
                "(kube-system UID differs); fix the kubeconfig or use --force"
            )
        # The host may also be a member (in another namespace): never delete the host's namespace.
        shared = entry.namespace == namespace and member.namespace_uid() == host.namespace_uid()
        changes += _drain_and_delete(member, opts, drain_timeout, effects, keep_namespace=shared)
    except UnreachableError as exc:
        if not force:
            raise ClusterError(f"{exc}; use --force to unjoin {cluster!r} without cleaning it up") from None
        cleanup = f"skipped: {exc}"
    except ClusterError as exc:
        if not force:
            raise
        cleanup = f"skipped: {exc}"
    now = effects.now()
    revoke = {"revoke": entry.token_id, "expires_at": entry.token_expiry_bound(now)}
    future = (read_registry(host, namespace) or registry).without_member(cluster, **revoke).trim_revoked(now)
    host_steps = plan(host, _host_config_objects(host, future))
    changes += execute(host, host_steps, what=f"unjoin {cluster!r} (host config)")
    _forget_member(host, namespace, cluster, now, **revoke)
    changes.append(Change(host.context, f"registry member {cluster}", "delete"))
    return UnjoinResult(cluster, cleanup, entry.token_id, changes)


def _drain_and_delete(
    member: ClusterClient,
    opts: JoinOptions,
    drain_timeout: float | None,
    effects: Effects,
    *,
    keep_namespace: bool,
) -> list[Change]:
    changes = []
    objects = ordered(render_join(opts, None))
    daemonsets = [o for o in objects if o["kind"] == "DaemonSet"]
    for ds in daemonsets:
        meta = ds["metadata"]
        gone = member.delete("apps/v1", "DaemonSet", meta["name"], meta.get("namespace"))
        changes.append(Change(member.context, f"apps/v1 DaemonSet {meta.get('namespace')}/{meta['name']}",
                              "delete" if gone else "absent"))  # fmt: skip
        selector = ((ds.get("spec") or {}).get("selector") or {}).get("matchLabels") or {}
        bound = opts.termination_grace_period + 60 if drain_timeout is None else drain_timeout
        _wait_pods_gone(member, meta.get("namespace"), selector, bound, effects)
    secret_refs = [
        {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": r.name, "namespace": r.namespace}}
        for r in join_secret_refs(opts)
    ]
    skip = {"DaemonSet", "Namespace"} if keep_namespace else {"DaemonSet"}
    rest = [o for o in objects if o["kind"] not in skip] + secret_refs
    # Newest first; the Namespace goes last and takes whatever namespaced objects are left with it.
    for obj in deletion_order(rest):
        meta = obj["metadata"]
        gone = member.delete(obj["apiVersion"], obj["kind"], meta["name"], meta.get("namespace"))
        changes.append(Change(member.context, object_ref(obj), "delete" if gone else "absent"))
    return changes


def _wait_pods_gone(
    member: ClusterClient, namespace: str | None, selector: Mapping[str, str], bound: float, effects: Effects
) -> None:
    """Wait (bounded) until the startd pods are gone: their preStop hooks drain running jobs."""
    if not selector:
        return
    text = ",".join(f"{k}={v}" for k, v in sorted(selector.items()))
    deadline = effects.monotonic() + bound
    while member.list("v1", "Pod", namespace, text):
        if effects.monotonic() >= deadline:
            raise ClusterError(
                f"context {member.context!r}: startd pods ({text}) still draining after {bound:g}s; "
                "re-run unjoin to keep waiting, or --force"
            )
        effects.sleep(min(5.0, bound))


# ---------------------------------------------------------------------------------------------- helpers


def _refuse_duplicates(registry: Registry, name: str, uid: str, member: ClusterClient) -> None:
    for other in registry.members.values():
        if other.kube_system_uid == uid and other.name != name:
            raise ClusterError(
                f"context {member.context!r} is the cluster already joined as {other.name!r} "
                f"(same kube-system UID {uid}); unjoin {other.name!r} first"
            )
    same = registry.members.get(name)
    if same is not None and same.kube_system_uid != uid:
        raise ClusterError(
            f"cluster name {name!r} is taken by another cluster (context {same.context!r}, kube-system UID "
            f"{same.kube_system_uid}); pick another name or unjoin {name!r} first"
        )


def _member_collector(host: ClusterClient, opts: InitOptions) -> str:
    """The collector address members use: --collector-address, else the LoadBalancer's address."""
    if opts.collector_address:
        return opts.collector_address
    svc = host.get("v1", "Service", COLLECTOR_SERVICE, opts.namespace)
    ingress = (((svc or {}).get("status") or {}).get("loadBalancer") or {}).get("ingress") or []
    for item in ingress:
        if item.get("hostname") or item.get("ip"):
            return str(item.get("hostname") or item.get("ip"))
    raise ClusterError(
        f"context {host.context!r}: Service {opts.namespace}/{COLLECTOR_SERVICE} has no external address yet "
        f"(type {opts.collector_service_type}); wait for it, or re-run init with --collector-address"
    )


def _join_options(entry: Member, init_opts: InitOptions) -> JoinOptions:
    return JoinOptions(
        cluster=entry.name,
        collector=init_opts.collector_address or "collector.invalid",
        trust_domain=init_opts.trust_domain,
        namespace=entry.namespace,
        settings=entry.settings,
        images=init_opts.images,
    )


def _host_config_objects(host: ClusterClient, registry: Registry) -> list[Mapping[str, Any]]:
    """The host objects re-rendered for a registry; Secrets are left to `init` (rendered without
    material here, applying them would strip their keys)."""
    objects = render_init(registry.init_options(**_live_policy(host, registry.namespace)), None)
    return ordered([o for o in objects if o.get("kind") != "Secret"])


_POLICY_FILES = (
    (NEGOTIATOR_CONFIGMAP, NEGOTIATOR_POLICY_FILE, "negotiator_config", "the negotiator"),
    (SCHEDD_CONFIGMAP, SCHEDD_POLICY_FILE, "schedd_policy_config", "the schedd"),
)


def _live_policy(host: ClusterClient, namespace: str) -> dict[str, str]:
    """The policy `condorfed policy apply` wrote, as InitOptions fields: re-rendering the host's
    ConfigMaps (init, join, unjoin) must not reset it to empty."""
    found: dict[str, str] = {}
    for configmap, key, option, daemon in _POLICY_FILES:
        live = host.get("v1", "ConfigMap", configmap, namespace)
        text = ((live or {}).get("data") or {}).get(key)
        if text is not None:
            found[option] = policy_text(daemon, text)
    return found


def _record_member(
    host: ClusterClient,
    namespace: str,
    entry: Member,
    now: float,
    *,
    revoke: str = "",
    expires_at: int | None = None,
) -> Registry | None:
    def change(current: Registry | None) -> Registry | None:
        if current is None:
            raise ClusterError(f"context {host.context!r}: the registry disappeared during join")
        revoked = current.with_member(entry).without_member("", revoke=revoke, expires_at=expires_at)
        return revoked.trim_revoked(now)

    return update_registry(host, namespace, change)


def _forget_member(
    host: ClusterClient,
    namespace: str,
    name: str,
    now: float,
    *,
    revoke: str = "",
    expires_at: int | None = None,
) -> None:
    def change(current: Registry | None) -> Registry | None:
        if current is None:
            return None
        return current.without_member(name, revoke=revoke, expires_at=expires_at).trim_revoked(now)

    update_registry(host, namespace, change)


def _registry_change(
    host: ClusterClient, namespace: str, before: Registry | None, after: Registry | None
) -> Change:
    if before is None:
        action = "create"
    elif after is not None and before.resource_version == after.resource_version:
        action = "unchanged"
    else:
        action = "update"
    return Change(host.context, f"v1 ConfigMap {namespace}/condorfed-registry", action)  # type: ignore[arg-type]


def _read_pool_key(host: ClusterClient, namespace: str) -> bytes | None:
    secret = host.get("v1", "Secret", POOL_KEY_SECRET, namespace)
    value = ((secret or {}).get("data") or {}).get(POOL_KEY_ID)
    return base64.b64decode(value) if value else None


def _existing_token(
    client: ClusterClient,
    namespace: str,
    secret_name: str,
    key: str | None,
    pool_key: bytes,
    identity: str,
    effects: Effects,
    *,
    lifetime: int | None = None,
    revoked: Sequence[str] = (),
) -> str | None:
    """A token already in a Secret that is still good (signed by this pool key, right subject, not
    revoked, not expiring within a day, same lifetime), so a re-run does not change the Secret."""
    secret = client.get("v1", "Secret", secret_name, namespace)
    data = (secret or {}).get("data") or {}
    values = [data[key]] if key and key in data else ([] if key else list(data.values()))
    now = int(effects.now())
    for value in values:
        try:
            token = base64.b64decode(value).decode()
            claims = idtoken.verify(token, pool_key, now=now + 86400)
        except (TokenError, ValueError, UnicodeDecodeError):
            continue
        span = None if claims.expires_at is None else claims.expires_at - claims.issued_at
        if (
            claims.subject == identity
            and claims.token_id not in revoked
            and (key is None or span == lifetime)
        ):
            return token
    return None


def _mint(
    pool_key: bytes,
    identity: str,
    trust_domain: str,
    authz: Sequence[str],
    lifetime: int | None,
    effects: Effects,
) -> str:
    claims = idtoken.make_claims(
        identity=identity,
        trust_domain=trust_domain,
        authz=authz,
        issued_at=int(effects.now()),
        token_id=idtoken.new_token_id(effects.random_bytes(16)),
        lifetime=lifetime,
    )
    return idtoken.mint(claims, pool_key)


def _wait_for_startds(
    member: ClusterClient, opts: JoinOptions, reader: StartdReader, req: JoinRequest, effects: Effects
) -> int:
    """Wait (bounded) for the DaemonSet rollout, then for the member's startds in the host collector."""
    deadline = effects.monotonic() + req.wait_timeout
    constraint = f'FedCluster == "{opts.cluster}"'
    rolled_out = False
    last_error = ""
    while True:
        if not rolled_out:
            ds = member.get("apps/v1", "DaemonSet", STARTD_NAME, opts.namespace) or {}
            st = ds.get("status") or {}
            desired = st.get("desiredNumberScheduled", 0)
            rolled_out = desired > 0 and st.get("numberReady") == desired == st.get("updatedNumberScheduled")
        if rolled_out:
            try:
                ads = reader.startd_ads(constraint, STATUS_PROJECTION)
            except PoolError as exc:
                ads, last_error = [], f" (last query: {exc})"
            if ads:
                return count_cores(ads)["startds"]
        if effects.monotonic() >= deadline:
            break
        effects.sleep(req.wait_interval)
    if not rolled_out:
        raise ClusterError(
            f"join {opts.cluster!r}: DaemonSet {opts.namespace}/{STARTD_NAME} in context {member.context!r} "
            f"was not ready within {req.wait_timeout:g}s "
            "(image pull, privileged pods refused, node selector?)"
        )
    raise PoolError(
        f"join {opts.cluster!r}: no startd with {constraint} reached the collector "
        f"within {req.wait_timeout:g}s"
        f"{last_error}; likely causes: {opts.collector} is unreachable from the member's nodes (firewall, "
        f"Service address, port), or the token of {opts.identity} is not authorized "
        "(ALLOW_ADVERTISE_STARTD on the central manager)"
    )
