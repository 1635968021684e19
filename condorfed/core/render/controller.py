"""The burst controller's manifests for the host cluster: pure, options in, object dicts out.

Objects, in apply order: ServiceAccount, Role, RoleBinding (campaign-state ConfigMaps and the
leader Lease in the controller's namespace), a ConfigMap with a kubeconfig context for the host
cluster (the pod's service-account token), the Deployment (``condorfed controller run``), and a
Service for ``/metrics``. The federation file (and an optional campaign file) come from
ConfigMaps; member-cluster credentials from a kubeconfig Secret; the pool's IDTOKEN from a
Secret. Only their names appear here, never their contents.
"""

from __future__ import annotations

from dataclasses import dataclass

from condorfed.core.render.render import _common_labels, _objects
from condorfed.errors import ConfigError

HOST_CONTEXT = "condorfed-host"


@dataclass(frozen=True)
class ControllerOptions:
    """What the controller Deployment needs. Names are of objects that must exist (or are rendered)."""

    namespace: str = "condor"
    name: str = "condorfed-controller"
    image: str = "ghcr.io/condorfed/condorfed:0.1.0"
    replicas: int = 2
    federation_configmap: str = "condorfed-federation"
    campaign_configmap: str | None = None
    members_kubeconfig_secret: str | None = "condorfed-member-kubeconfigs"
    pool_token_secret: str | None = "condorfed-controller-token"
    pool: str | None = None  # collector HOST[:PORT]; default: the collector Service in the namespace
    metrics_port: int = 9090
    interval: float | None = None
    lease_seconds: int = 15
    cpu_request: str = "100m"
    memory_request: str = "256Mi"
    memory_limit: str = "1Gi"

    def validate(self) -> None:
        if self.replicas < 1:
            raise ConfigError(f"controller replicas: {self.replicas} must be >= 1")
        if not 1 <= self.metrics_port <= 65535:
            raise ConfigError(f"controller metrics port: {self.metrics_port} is not a TCP port")
        if self.lease_seconds < 5:
            raise ConfigError(f"controller lease seconds: {self.lease_seconds} must be >= 5")


def controller_args(opts: ControllerOptions) -> list[str]:
    args = [
        "controller",
        "run",
        "--federation",
        "/etc/condorfed/federation/federation.yaml",
        "--host-context",
        HOST_CONTEXT,
        "--namespace",
        opts.namespace,
        "--identity",
        "$(POD_NAME)",
        "--lease-name",
        opts.name,
        "--lease-seconds",
        str(opts.lease_seconds),
        "--metrics-address",
        "0.0.0.0",
        "--metrics-port",
        str(opts.metrics_port),
        "--pool",
        opts.pool or f"condor-collector.{opts.namespace}.svc:9618",
    ]
    if opts.campaign_configmap:
        args += ["--campaign", "/etc/condorfed/campaign/campaign.yaml"]
    if opts.interval is not None:
        args += ["--interval", f"{opts.interval:g}"]
    return args


def render_controller(opts: ControllerOptions) -> list[dict]:
    """The controller's objects for the host cluster (see the module doc)."""
    opts.validate()
    labels = _common_labels("condorfed-controller", {"app.kubernetes.io/component": "burst-controller"})
    selector = {"app.kubernetes.io/name": "condorfed-controller", "app.kubernetes.io/part-of": "condorfed"}
    kubeconfig_configmap = f"{opts.name}-kubeconfig"
    paths = ["/etc/condorfed/kubeconfig-host/config"]
    if opts.members_kubeconfig_secret:
        paths.append("/etc/condorfed/kubeconfig-members/config")
    ctx = dict(
        name=opts.name,
        namespace=opts.namespace,
        labels=labels,
        selector=selector,
        image=opts.image,
        replicas=opts.replicas,
        args=controller_args(opts),
        metrics_port=opts.metrics_port,
        federation_configmap=opts.federation_configmap,
        campaign_configmap=opts.campaign_configmap,
        members_kubeconfig_secret=opts.members_kubeconfig_secret,
        pool_token_secret=opts.pool_token_secret,
        kubeconfig_configmap=kubeconfig_configmap,
        kubeconfig_path=":".join(paths),
        host_context=HOST_CONTEXT,
        resources={
            "requests": {"cpu": opts.cpu_request, "memory": opts.memory_request},
            "limits": {"memory": opts.memory_limit},
        },
    )
    objects: list[dict] = []
    for template in ("rbac", "kubeconfig", "deployment", "service"):
        objects += _objects(f"host/controller-{template}.yaml.j2", **ctx)
    return objects
