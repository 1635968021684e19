"""Typed inputs of the renderers: what `init` puts on the host cluster, what `join` puts on a member.

These are the contract between the render layer (pure) and the federation workflow (which decides
when to generate keys, mint tokens and apply). Everything is validated on construction, so a bad
value fails with one :class:`ConfigError` line naming the option, before any object is rendered.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from types import MappingProxyType
from typing import Any, Literal

from condorfed.errors import ConfigError

# One pinned HTCondor release for all three official images (same LTS line as the Python wheel).
HTCONDOR_VERSION = "24.0.4"
IMAGE_TAG = f"{HTCONDOR_VERSION}-el9"
DEFAULT_CM_IMAGE = f"htcondor/cm:{IMAGE_TAG}"
DEFAULT_SUBMIT_IMAGE = f"htcondor/submit:{IMAGE_TAG}"
DEFAULT_EXECUTE_IMAGE = f"htcondor/execute:{IMAGE_TAG}"

DEFAULT_NAMESPACE = "condor"
DEFAULT_TRUST_DOMAIN = "condorfed.local"
COLLECTOR_PORT = 9618
POOL_KEY_ID = "POOL"

# Names of the objects other layers refer to (the workflow reads/patches them; the chart reuses them).
POOL_KEY_SECRET = "condorfed-pool-signing-key"
NEGOTIATOR_CONFIGMAP = "condorfed-cm-config"
SCHEDD_CONFIGMAP = "condorfed-schedd-config"
COLLECTOR_SERVICE = "condor-collector"
CM_NAME = "condorfed-cm"
SCHEDD_NAME = "condorfed-schedd"
STARTD_SCRIPTS_CONFIGMAP = "condorfed-startd-scripts"
SCHEDD_PUBLIC_SERVICE = "condorfed-schedd-public"
STARTD_NAME = "condorfed-startd"
STARTD_CONFIGMAP = "condorfed-startd-config"
STARTD_TOKEN_SECRET = "condorfed-startd-token"
STARTD_TOKEN_KEY = "token"

ServiceType = Literal["LoadBalancer", "NodePort", "ClusterIP"]
SERVICE_TYPES: tuple[str, ...] = ("LoadBalancer", "NodePort", "ClusterIP")

_DNS1123_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_DNS1123_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_QUANTITY = re.compile(r"^[0-9]+(\.[0-9]+)?(m|k|Ki|M|Mi|G|Gi|T|Ti|P|Pi|E|Ei)?$")
# A ClassAd attribute name (STARTD_ATTRS entries and label keys turned into attributes).
_ATTR_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
# Kubernetes label key (optional DNS prefix / name) and value.
_LABEL_NAME = re.compile(r"^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$")
_LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")
_HOST = re.compile(r"^[A-Za-z0-9]([-A-Za-z0-9.]*[A-Za-z0-9])?$")


def validate_dns1123_label(value: str, what: str) -> str:
    """Return ``value`` if it is a DNS-1123 label (RFC 1123, ≤ 63 chars), else raise ConfigError."""
    if not isinstance(value, str) or len(value) > 63 or not _DNS1123_LABEL.match(value):
        raise ConfigError(
            f"{what}: {value!r} is not a DNS-1123 label "
            "(lower-case letters, digits and '-', starting and ending alphanumeric, at most 63 characters)"
        )
    return value


def validate_quantity(value: str | None, what: str) -> str | None:
    if value is not None and not _QUANTITY.match(str(value)):
        raise ConfigError(f"{what}: {value!r} is not a Kubernetes resource quantity (e.g. 500m, 4, 8Gi)")
    return value


def _validate_label_key(key: str, what: str) -> None:
    prefix, _, name = key.rpartition("/")
    if (
        not name
        or len(name) > 63
        or not _LABEL_NAME.match(name)
        or (prefix and (len(prefix) > 253 or not _DNS1123_SUBDOMAIN.match(prefix)))
    ):
        raise ConfigError(f"{what}: {key!r} is not a valid Kubernetes label key")


def _validate_label_value(value: str, what: str) -> None:
    if not isinstance(value, str) or len(value) > 63 or not _LABEL_VALUE.match(value):
        raise ConfigError(f"{what}: {value!r} is not a valid Kubernetes label value")


def _frozen_map(value: Mapping[str, str] | None) -> Mapping[str, str]:
    return MappingProxyType(dict(sorted((value or {}).items())))


def parse_host_port(value: str, what: str, default_port: int = COLLECTOR_PORT) -> tuple[str, int]:
    """Split ``HOST[:PORT]`` (IPv6 as ``[addr]:port``); ConfigError naming ``what`` if malformed."""
    text = (value or "").strip()
    host, port_text = text, ""
    if text.startswith("["):
        end = text.find("]")
        if end < 0:
            raise ConfigError(f"{what}: {value!r} has an unclosed '['")
        host, rest = text[1:end], text[end + 1 :]
        if rest and not rest.startswith(":"):
            raise ConfigError(f"{what}: {value!r} is not HOST[:PORT]")
        port_text = rest[1:]
    elif text.count(":") == 1:
        host, port_text = text.split(":")
    if not host or (not text.startswith("[") and not _HOST.match(host)):
        raise ConfigError(f"{what}: {value!r} is not HOST[:PORT]")
    if port_text:
        if not port_text.isdigit() or not 0 < int(port_text) < 65536:
            raise ConfigError(f"{what}: port {port_text!r} in {value!r} is not a TCP port")
        return host, int(port_text)
    return host, default_port


def label_attribute(key: str) -> str:
    """The startd attribute advertising a cluster label: ``FedLabel_<key, non-word characters as _>``."""
    return "FedLabel_" + re.sub(r"[^A-Za-z0-9_]", "_", key)


def member_identity(cluster: str, trust_domain: str) -> str:
    """The IDTOKEN identity (``sub``) of a member cluster's startds: ``<cluster>@<trust domain>``."""
    return f"{cluster}@{trust_domain}"


@dataclass(frozen=True)
class Images:
    """Container images; defaults are the official HTCondor images at one pinned version."""

    cm: str = DEFAULT_CM_IMAGE
    submit: str = DEFAULT_SUBMIT_IMAGE
    execute: str = DEFAULT_EXECUTE_IMAGE
    pull_policy: Literal["IfNotPresent", "Always", "Never"] = "IfNotPresent"


@dataclass(frozen=True)
class RenderedSecrets:
    """Secret material passed to the renderers. Never logged; its repr hides the bytes.

    ``pool_signing_key``: the raw bytes of the POOL signing key file as HTCondor stores it in
    ``passwords.d/POOL`` (already scrambled, i.e. what ``condor_store_cred`` would write).
    ``member_token``: the member cluster's IDTOKEN (a JWT string).
    """

    pool_signing_key: bytes | None = field(default=None, repr=False)
    member_token: str | None = field(default=None, repr=False)

    def __repr__(self) -> str:  # never show key or token bytes, even in tracebacks
        present = [n for n in ("pool_signing_key", "member_token") if getattr(self, n)]
        return f"RenderedSecrets(present={present})"


@dataclass(frozen=True)
class SecretRef:
    """A Secret an object refers to, for output that leaves the material out."""

    namespace: str
    name: str
    keys: tuple[str, ...]
    purpose: str


@dataclass(frozen=True)
class InitOptions:
    """What `condorfed init` deploys on the host cluster."""

    namespace: str = DEFAULT_NAMESPACE
    trust_domain: str = DEFAULT_TRUST_DOMAIN
    collector_service_type: ServiceType = "LoadBalancer"
    collector_address: str | None = None
    """Address member clusters use to reach the collector (HOST[:PORT]); None = the Service address."""
    collector_node_port: int | None = None
    schedd_service_type: ServiceType = "ClusterIP"
    """Expose the schedd too (LoadBalancer/NodePort): startds behind CCB connect back to it."""
    schedd_address: str | None = None
    """External HOST the schedd advertises (TCP_FORWARDING_HOST); None = its pod address."""
    images: Images = field(default_factory=Images)
    schedd_spool_size: str = "10Gi"
    storage_class: str | None = None
    joined_members: tuple[str, ...] = ()
    """Member cluster names whose identities may advertise startds (ALLOW_ADVERTISE_STARTD)."""
    revoked_identities: tuple[str, ...] = ()
    """IDTOKEN subjects (``sub``) that SEC_TOKEN_REVOCATION_EXPR rejects."""
    revoked_token_ids: tuple[str, ...] = ()
    """IDTOKEN ids (``jti``) that SEC_TOKEN_REVOCATION_EXPR rejects."""
    negotiator_config: str = ""
    """Extra negotiator config text (e.g. compiled federation policy), shipped as its own config.d file."""
    schedd_policy_config: str = ""
    """The schedd's share of the federation policy (the JOB_TRANSFORM enforcing ``require`` rules)."""
    cm_cpu: str = "1"
    cm_memory: str = "2Gi"
    schedd_cpu: str = "1"
    schedd_memory: str = "2Gi"

    def __post_init__(self) -> None:
        validate_dns1123_label(self.namespace, "--namespace")
        _validate_trust_domain(self.trust_domain)
        if self.collector_service_type not in SERVICE_TYPES:
            raise ConfigError(
                f"--collector-service-type: {self.collector_service_type!r} is not one of "
                + ", ".join(SERVICE_TYPES)
            )
        if self.collector_address is not None:
            parse_host_port(self.collector_address, "--collector-address")
        if self.schedd_service_type not in SERVICE_TYPES:
            choices = ", ".join(SERVICE_TYPES)
            raise ConfigError(f"--schedd-service-type: {self.schedd_service_type!r} is not one of {choices}")
        if self.schedd_address is not None:
            parse_host_port(self.schedd_address, "--schedd-address")
        if self.collector_node_port is not None and not 30000 <= self.collector_node_port <= 32767:
            raise ConfigError(f"collector_node_port: {self.collector_node_port} is not in 30000-32767")
        for q, what in (
            (self.schedd_spool_size, "schedd_spool_size"),
            (self.cm_cpu, "cm_cpu"),
            (self.cm_memory, "cm_memory"),
            (self.schedd_cpu, "schedd_cpu"),
            (self.schedd_memory, "schedd_memory"),
        ):
            validate_quantity(q, what)
        object.__setattr__(self, "joined_members", tuple(sorted(set(self.joined_members))))
        for name in self.joined_members:
            validate_dns1123_label(name, "joined member")
        object.__setattr__(self, "revoked_identities", tuple(sorted(set(self.revoked_identities))))
        object.__setattr__(self, "revoked_token_ids", tuple(sorted(set(self.revoked_token_ids))))
        for ident in self.revoked_identities:
            _validate_claim_text(ident, "revoked identity")
        for jti in self.revoked_token_ids:
            _validate_claim_text(jti, "revoked token id")

    @property
    def member_identities(self) -> tuple[str, ...]:
        return tuple(member_identity(m, self.trust_domain) for m in self.joined_members)


@dataclass(frozen=True)
class ClusterSettings:
    """A member cluster's own settings: what `join` and `render join` take (one option list) and what
    the registry records per member. :class:`JoinOptions`, the federation workflow's ``JoinRequest``
    and the registry's ``Member`` all hold one of these rather than repeating the fields."""

    cloud: bool = False
    provider: str = "onprem"
    labels: Mapping[str, str] = field(default_factory=dict)
    """Cluster labels: advertised in the startd ad (as FedLabel_<key> attributes) and put on the objects."""
    weight: float = 1.0
    min_cores: int = 0
    max_cores: int | None = None
    cost_per_core_hour: float = 0.0
    node_selector: Mapping[str, str] = field(default_factory=dict)
    token_lifetime: int | None = None
    """Seconds the member IDTOKEN is valid; None = no expiry (revoke with unjoin)."""
    max_job_retirement_time: int = 3600
    """Seconds a running job may keep running after a drain/rollout starts (MAXJOBRETIREMENTTIME)."""

    def __post_init__(self) -> None:
        validate_dns1123_label(self.provider, "--provider")
        labels = _frozen_map(self.labels)
        for k, v in labels.items():
            _validate_label_key(k, "--label")
            _validate_label_value(v, f"--label {k}")
        seen: dict[str, str] = {}
        for k in labels:
            attr = label_attribute(k)
            if attr.lower() in seen:  # ClassAd attribute names are case-insensitive
                raise ConfigError(f"--label: {seen[attr.lower()]!r} and {k!r} both become attribute {attr}")
            seen[attr.lower()] = k
        object.__setattr__(self, "labels", labels)
        selector = _frozen_map(self.node_selector)
        for k, v in selector.items():
            _validate_label_key(k, "--node-selector")
            _validate_label_value(v, f"--node-selector {k}")
        object.__setattr__(self, "node_selector", selector)
        if not self.weight > 0:
            raise ConfigError(f"--weight: {self.weight} must be > 0")
        if self.min_cores < 0:
            raise ConfigError(f"--min-cores: {self.min_cores} must be >= 0")
        if self.max_cores is not None and self.max_cores < self.min_cores:
            raise ConfigError(f"--max-cores: {self.max_cores} is below --min-cores {self.min_cores}")
        if self.cost_per_core_hour < 0:
            raise ConfigError(f"--cost-per-core-hour: {self.cost_per_core_hour} must be >= 0")
        if self.token_lifetime is not None and self.token_lifetime <= 0:
            raise ConfigError(f"--token-lifetime: {self.token_lifetime} must be > 0 seconds")
        if self.max_job_retirement_time < 0:
            what = "--max-job-retirement-time"
            raise ConfigError(f"{what}: {self.max_job_retirement_time} must be >= 0 seconds")

    @classmethod
    def field_names(cls) -> tuple[str, ...]:
        return tuple(f.name for f in fields(cls))

    def to_json(self) -> dict[str, Any]:
        """Plain JSON values, one key per field (the registry's member record keeps these flat)."""
        data = {name: getattr(self, name) for name in self.field_names()}
        data["labels"], data["node_selector"] = dict(self.labels), dict(self.node_selector)
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ClusterSettings:
        """The settings among ``data``'s keys (other keys are ignored; missing ones take defaults)."""
        return cls(**{k: data[k] for k in cls.field_names() if k in data})


@dataclass(frozen=True)
class JoinOptions:
    """What `condorfed join CLUSTER` deploys on a member cluster: its settings plus how to render them."""

    cluster: str
    collector: str
    """The host collector as members reach it: HOST[:PORT] (port 9618 if omitted)."""
    trust_domain: str = DEFAULT_TRUST_DOMAIN
    namespace: str = DEFAULT_NAMESPACE
    settings: ClusterSettings = field(default_factory=ClusterSettings)
    drain_margin: int = 60
    """Extra seconds beyond MAXJOBRETIREMENTTIME for the startd to vacate and the master to exit."""
    startd_noclaim_shutdown: int = 1200
    """Cloud workers only: an idle startd exits after this many seconds (a backstop for burst scale-down)."""
    cpu_limit: str | None = None
    """Pod CPU limit; unset = NUM_CPUS comes from the Downward API, which then reports node allocatable."""
    memory_limit: str | None = None
    cpu_request: str = "100m"
    memory_request: str = "256Mi"
    images: Images = field(default_factory=Images)
    ccb: bool = True
    safe_to_evict_annotation: bool = True
    """Annotate startd pods cluster-autoscaler.kubernetes.io/safe-to-evict: "false" (see docs)."""
    autoscaler_guard: bool | None = None
    """Mark the node scale-down-disabled while jobs run (needs nodes get/patch); None = on for --cloud."""
    reserved_memory_mb: int = 256
    """MB of the pod's memory kept for the condor daemons themselves (RESERVED_MEMORY)."""

    def __post_init__(self) -> None:
        validate_dns1123_label(self.cluster, "cluster name")
        validate_dns1123_label(self.namespace, "--namespace")
        _validate_trust_domain(self.trust_domain)
        parse_host_port(self.collector, "--collector")
        if not isinstance(self.settings, ClusterSettings):
            raise ConfigError(f"settings: {type(self.settings).__name__} is not ClusterSettings")
        if self.drain_margin < 0:
            raise ConfigError(f"drain_margin: {self.drain_margin} must be >= 0")
        if self.reserved_memory_mb < 0:
            raise ConfigError(f"reserved_memory_mb: {self.reserved_memory_mb} must be >= 0")
        if self.startd_noclaim_shutdown <= 0:
            raise ConfigError(f"startd_noclaim_shutdown: {self.startd_noclaim_shutdown} must be > 0")
        for q, what in (
            (self.cpu_limit, "cpu_limit"),
            (self.memory_limit, "memory_limit"),
            (self.cpu_request, "cpu_request"),
            (self.memory_request, "memory_request"),
        ):
            validate_quantity(q, what)

    @property
    def identity(self) -> str:
        return member_identity(self.cluster, self.trust_domain)

    @property
    def collector_host_port(self) -> tuple[str, int]:
        return parse_host_port(self.collector, "--collector")

    @property
    def guard_enabled(self) -> bool:
        return self.settings.cloud if self.autoscaler_guard is None else self.autoscaler_guard

    @property
    def termination_grace_period(self) -> int:
        """Pod grace period: the retirement time plus a margin, so the kubelet never kills a retiring job."""
        return self.settings.max_job_retirement_time + self.drain_margin


def _validate_trust_domain(value: str) -> None:
    if not value or not _HOST.match(value):
        raise ConfigError(f"--trust-domain: {value!r} is not a host-like name (letters, digits, '-', '.')")


def _validate_claim_text(value: str, what: str) -> None:
    # These strings are embedded in a ClassAd string literal; refuse anything that could escape it.
    if not value or any(c in value for c in '"\\\n\r'):
        raise ConfigError(f"{what}: {value!r} contains a quote, backslash or newline")
