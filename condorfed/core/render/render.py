"""Entry points: options in, list of Kubernetes object dicts out.

Pure: no cluster, no clock, no randomness. The only reads are of the package's own templates,
which are part of the code. Secrets are rendered only when their material is passed in; without
it, the objects refer to them by name and ``*_secret_refs`` lists what must exist.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Mapping
from functools import cache
from importlib import resources
from typing import Any

import jinja2
import yaml

from condorfed.core import idtoken
from condorfed.core.render import options as o
from condorfed.core.render.options import InitOptions, JoinOptions, RenderedSecrets, SecretRef

STARTD_CONFIG_FILE = "50-condorfed-startd.conf"
CM_CONFIG_FILES = ("50-condorfed-cm.conf", "60-condorfed-members.conf", "70-condorfed-negotiator.conf")
SCHEDD_CONFIG_FILE = "50-condorfed-schedd.conf"
SCHEDD_POLICY_FILE = "70-condorfed-policy.conf"
NEGOTIATOR_POLICY_FILE = CM_CONFIG_FILES[-1]
SPOOL_DIR = "/var/lib/condor/spool"
# ConfigMap key -> file under condorfed/templates/member/scripts (byte-identical copies of scripts/).
STARTD_SCRIPTS = {
    "entrypoint.sh": "startd-entrypoint.sh",
    "probe.sh": "startd-probe.sh",
    "drain.sh": "startd-drain.sh",
    "node-guard.sh": "node-guard.sh",
}
SAFE_TO_EVICT = "cluster-autoscaler.kubernetes.io/safe-to-evict"
CONFIG_HASH = "condorfed.io/config-hash"
# Digest of the mounted IDTOKEN's identity: a new token rolls the startds (they copy it at start).
TOKEN_HASH = "condorfed.io/token-hash"
GUARD_ROLE = "condorfed-startd-node-guard"
_PSA = "pod-security.kubernetes.io/"
_DAEMON_READY = "[ \"$(condor_who -wait:5 '{e}' -af '{e}' | tr -d '[:space:]')\" = true ]"


@cache
def _env() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("condorfed", "templates"),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        autoescape=False,
    )
    tojson = env.filters["tojson"]

    def strict_tojson(eval_ctx: Any, value: Any, indent: int | None = None) -> Any:
        # Built-in tojson hands an Undefined to json.dumps (TypeError); fail as StrictUndefined should.
        if isinstance(value, jinja2.Undefined):
            value._fail_with_undefined_error()
        return tojson(eval_ctx, value, indent)

    env.filters["tojson"] = jinja2.pass_eval_context(strict_tojson)
    return env


def render_text(template: str, **context: Any) -> str:
    """Render one template (path under condorfed/templates) to text."""
    return _env().get_template(template).render(**context)


def _objects(template: str, **context: Any) -> list[dict]:
    return [doc for doc in yaml.safe_load_all(render_text(template, **context)) if doc]


@cache
def startd_scripts() -> dict[str, str]:
    """The startd's scripts, as shipped in the package (ConfigMap key -> text)."""
    base = resources.files("condorfed").joinpath("templates", "member", "scripts")
    return {key: base.joinpath(name).read_text(encoding="utf-8") for key, name in STARTD_SCRIPTS.items()}


def config_hash(*texts: str) -> str:
    """First 16 hex digits of SHA-256 over the texts: a pod-template annotation that rolls pods on change."""
    return hashlib.sha256("".join(texts).encode("utf-8")).hexdigest()[:16]


def token_hash(token: str) -> str:
    """Digest of a token's identity, its ``jti`` (issuer, subject and times for a token without one).

    Never of the token itself: the annotation is readable by anyone who can read the DaemonSet.
    """
    _, claims = idtoken.decode_unverified(token)
    jti = claims.get("jti")
    fields = ("jti", jti) if jti else tuple(str(claims.get(k, "")) for k in ("iss", "sub", "iat", "exp"))
    return config_hash("\0".join(map(str, fields)))


def _b64(data: bytes | str) -> str:
    raw = data.encode("utf-8") if isinstance(data, str) else data
    return base64.b64encode(raw).decode("ascii")


def _common_labels(component: str, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    labels = {
        "app.kubernetes.io/name": component,
        "app.kubernetes.io/part-of": "condorfed",
        "app.kubernetes.io/managed-by": "condorfed",
    }
    labels.update(extra or {})
    return labels


def _resources(cpu_req: str, mem_req: str, cpu_lim: str | None, mem_lim: str | None) -> dict:
    res: dict[str, dict[str, str]] = {"requests": {"cpu": cpu_req, "memory": mem_req}}
    limits = {k: v for k, v in (("cpu", cpu_lim), ("memory", mem_lim)) if v is not None}
    if limits:
        res["limits"] = limits
    return res


# ---------------------------------------------------------------- member cluster (join)


def startd_config(opts: JoinOptions) -> str:
    """The startd's config.d file text."""
    host, port = opts.collector_host_port
    cs = opts.settings
    label_attrs = [(o.label_attribute(k), v) for k, v in cs.labels.items()]
    attrs = [
        "FedCluster",
        "FedProvider",
        "IsCloud",
        "CostPerCoreHour",
        "FedWeight",
        "FedLabels",
        "K8sNodeName",
    ]
    attrs += [a for a, _ in label_attrs]
    return render_text(
        "condor/startd.conf.j2",
        cluster=opts.cluster,
        collector_host=host,
        collector_port=port,
        trust_domain=opts.trust_domain,
        ccb=opts.ccb,
        reserved_memory_mb=opts.reserved_memory_mb,
        max_job_retirement_time=cs.max_job_retirement_time,
        cloud=cs.cloud,
        startd_noclaim_shutdown=opts.startd_noclaim_shutdown,
        provider=cs.provider,
        cost_per_core_hour=repr(float(cs.cost_per_core_hour)),
        weight=repr(float(cs.weight)),
        fed_labels=",".join(f"{k}={v}" for k, v in cs.labels.items()),
        label_attrs=label_attrs,
        startd_attrs=attrs,
    )


def join_context(opts: JoinOptions, token: str | None = None) -> dict[str, Any]:
    """Template values for the member objects (also what the Helm chart's values map to).

    With the member ``token`` the pod template also carries :data:`TOKEN_HASH`, so replacing the token
    rolls the startds; without it (objects printed for GitOps, no token yet) it is left out.
    """
    config = startd_config(opts)
    scripts = startd_scripts()
    selector = {"app.kubernetes.io/name": o.STARTD_NAME, "condorfed.io/cluster": opts.cluster}
    annotations = {CONFIG_HASH: config_hash(config, *(scripts[k] for k in sorted(scripts)))}
    if token:
        annotations[TOKEN_HASH] = token_hash(token)
    if opts.safe_to_evict_annotation:
        annotations[SAFE_TO_EVICT] = "false"
    margin = opts.drain_margin
    cluster_labels = {"condorfed.io/cluster": opts.cluster, **opts.settings.labels}
    return {
        "namespace": opts.namespace,
        "name": o.STARTD_NAME,
        "identity": opts.identity,
        "labels": _common_labels(o.STARTD_NAME, cluster_labels),
        "namespace_labels": _common_labels(
            o.STARTD_NAME,
            {
                "condorfed.io/cluster": opts.cluster,
                _PSA + "enforce": "privileged",
                _PSA + "enforce-version": "latest",
                _PSA + "audit": "privileged",
                _PSA + "warn": "privileged",
            },
        ),
        "selector": selector,
        "pod_annotations": annotations,
        "guard": opts.guard_enabled,
        "guard_role": GUARD_ROLE,
        "grace": opts.termination_grace_period,
        "drain_timeout": opts.settings.max_job_retirement_time + margin // 2,
        "shutdown_timeout": max(margin // 4, 5),
        "stop_timeout": max(margin // 4, 5),
        "node_selector": dict(opts.settings.node_selector),
        "image": opts.images.execute,
        "pull_policy": opts.images.pull_policy,
        "resources": _resources(opts.cpu_request, opts.memory_request, opts.cpu_limit, opts.memory_limit),
        "config_map": o.STARTD_CONFIGMAP,
        "config_files": {STARTD_CONFIG_FILE: config},
        "config_file_names": [STARTD_CONFIG_FILE],
        "scripts_map": o.STARTD_SCRIPTS_CONFIGMAP,
        "scripts": scripts,
        "token_secret": o.STARTD_TOKEN_SECRET,
        "token_key": o.STARTD_TOKEN_KEY,
    }


def join_secret_refs(opts: JoinOptions) -> list[SecretRef]:
    """Secrets the member objects mount; rendered only when material is passed in."""
    purpose = f"IDTOKEN of {opts.identity} (READ, ADVERTISE_MASTER, ADVERTISE_STARTD)"
    return [SecretRef(opts.namespace, o.STARTD_TOKEN_SECRET, (o.STARTD_TOKEN_KEY,), purpose)]


def render_join(opts: JoinOptions, secrets: RenderedSecrets | None = None) -> list[dict]:
    """Member-cluster objects for `condorfed join`, in apply order.

    Namespace, ServiceAccount, (guard ClusterRole/Binding), (token Secret), ConfigMaps, DaemonSet.
    The token Secret, and the DaemonSet's token-hash annotation, only when ``secrets.member_token`` is
    given.
    """
    ctx = join_context(opts, secrets.member_token if secrets is not None else None)
    objs = _objects("member/namespace.yaml.j2", **ctx)
    objs += _objects("member/serviceaccount.yaml.j2", **ctx)
    if ctx["guard"]:
        objs += _objects("member/rbac.yaml.j2", **ctx)
    if secrets is not None and secrets.member_token:
        objs += _objects("member/token-secret.yaml.j2", token_b64=_b64(secrets.member_token.strip()), **ctx)
    objs += _objects("member/configmap.yaml.j2", **ctx)
    objs += _objects("member/daemonset.yaml.j2", **ctx)
    return objs


# ---------------------------------------------------------------- host cluster (init)


def revocation_expr(identities: tuple[str, ...], token_ids: tuple[str, ...]) -> str:
    """SEC_TOKEN_REVOCATION_EXPR rejecting tokens by subject and by id ("" when nothing is revoked)."""
    terms = [f'sub =?= "{s}"' for s in identities] + [f'jti =?= "{j}"' for j in token_ids]
    return " || ".join(terms)


def cm_config_files(opts: InitOptions) -> dict[str, str]:
    """The central manager's config.d files (name -> text)."""
    collector_service = f"{o.COLLECTOR_SERVICE}.{opts.namespace}.svc"
    forwarding_host = None
    if opts.collector_address:
        forwarding_host = o.parse_host_port(opts.collector_address, "--collector-address")[0]
    cm = render_text(
        "condor/cm.conf.j2",
        collector_service=collector_service,
        trust_domain=opts.trust_domain,
        forwarding_host=forwarding_host,
    )
    members = render_text(
        "condor/members.conf.j2",
        trust_domain=opts.trust_domain,
        identities=list(opts.member_identities),
        revocation_expr=revocation_expr(opts.revoked_identities, opts.revoked_token_ids),
    )
    negotiator = policy_file_text("the negotiator", opts.negotiator_config)
    return dict(zip(CM_CONFIG_FILES, (cm, members, negotiator), strict=True))


def _policy_header(daemon: str) -> str:
    return f"# Federation policy for {daemon} (condorfed policy apply).\n"


def policy_file_text(daemon: str, text: str) -> str:
    """A policy config.d file: `condorfed policy apply` writes it, `init` renders what it is given."""
    body = _policy_header(daemon) + text
    return body if body.endswith("\n") else body + "\n"


def policy_text(daemon: str, file_text: str) -> str:
    """The policy inside a file :func:`policy_file_text` made (so re-rendering keeps it)."""
    return file_text.removeprefix(_policy_header(daemon))


def schedd_config_files(opts: InitOptions) -> dict[str, str]:
    forwarding_host = None
    if opts.schedd_address:
        forwarding_host = o.parse_host_port(opts.schedd_address, "--schedd-address")[0]
    text = render_text(
        "condor/schedd.conf.j2",
        collector_service=f"{o.COLLECTOR_SERVICE}.{opts.namespace}.svc",
        trust_domain=opts.trust_domain,
        spool_dir=SPOOL_DIR,
        forwarding_host=forwarding_host,
    )
    return {
        SCHEDD_CONFIG_FILE: text,
        SCHEDD_POLICY_FILE: policy_file_text("the schedd", opts.schedd_policy_config),
    }


def init_context(opts: InitOptions) -> dict[str, Any]:
    cm_files = cm_config_files(opts)
    schedd_files = schedd_config_files(opts)
    return {
        "namespace": opts.namespace,
        "labels": _common_labels("condorfed"),
        "cm_name": o.CM_NAME,
        "schedd_name": o.SCHEDD_NAME,
        "cm_selector": {"app.kubernetes.io/name": o.CM_NAME},
        "schedd_selector": {"app.kubernetes.io/name": o.SCHEDD_NAME},
        "cm_annotations": {CONFIG_HASH: config_hash(*(cm_files[k] for k in sorted(cm_files)))},
        "schedd_annotations": {CONFIG_HASH: config_hash(*schedd_files.values())},
        "cm_config_map": o.NEGOTIATOR_CONFIGMAP,
        "schedd_config_map": o.SCHEDD_CONFIGMAP,
        "cm_files": cm_files,
        "schedd_files": schedd_files,
        "cm_file_names": sorted(cm_files),
        "schedd_file_names": sorted(schedd_files),
        "collector_service": o.COLLECTOR_SERVICE,
        "collector_port": o.COLLECTOR_PORT,
        "service_type": opts.collector_service_type,
        "schedd_service_type": opts.schedd_service_type,
        "schedd_public_service": o.SCHEDD_PUBLIC_SERVICE,
        "node_port": opts.collector_node_port if opts.collector_service_type != "ClusterIP" else None,
        "pool_key_secret": o.POOL_KEY_SECRET,
        "pool_key_id": o.POOL_KEY_ID,
        "cm_image": opts.images.cm,
        "submit_image": opts.images.submit,
        "pull_policy": opts.images.pull_policy,
        "cm_resources": _resources(opts.cm_cpu, opts.cm_memory, None, opts.cm_memory),
        "schedd_resources": _resources(opts.schedd_cpu, opts.schedd_memory, None, opts.schedd_memory),
        "cm_liveness": _DAEMON_READY.format(
            e='IsReady && COLLECTOR_State =?= "Ready" && NEGOTIATOR_State =?= "Ready"'
        ),
        "schedd_liveness": _DAEMON_READY.format(e='IsReady && SCHEDD_State =?= "Ready"'),
        "spool_dir": SPOOL_DIR,
        "spool_size": opts.schedd_spool_size,
        "storage_class": opts.storage_class,
    }


def init_secret_refs(opts: InitOptions) -> list[SecretRef]:
    """Secrets the host objects mount; rendered only when material is passed in."""
    return [
        SecretRef(
            opts.namespace,
            o.POOL_KEY_SECRET,
            (o.POOL_KEY_ID,),
            "pool signing key, mounted as passwords.d/POOL in the central manager and the schedd",
        )
    ]


def render_init(opts: InitOptions, secrets: RenderedSecrets | None = None) -> list[dict]:
    """Host-cluster objects for `condorfed init`, in apply order.

    Namespace, ServiceAccounts/Role/RoleBinding, (pool key Secret), ConfigMaps, Services,
    central manager Deployment, schedd StatefulSet. The federation registry is not rendered
    here: the federation workflow owns it.
    """
    ctx = init_context(opts)
    objs = _objects("host/namespace.yaml.j2", **ctx)
    objs += _objects("host/rbac.yaml.j2", **ctx)
    if secrets is not None and secrets.pool_signing_key:
        objs += _objects("host/pool-key-secret.yaml.j2", pool_key_b64=_b64(secrets.pool_signing_key), **ctx)
    objs += _objects("host/configmaps.yaml.j2", **ctx)
    objs += _objects("host/services.yaml.j2", **ctx)
    objs += _objects("host/central-manager.yaml.j2", **ctx)
    objs += _objects("host/schedd.yaml.j2", **ctx)
    return objs
