"""``condorfed policy``: check, render, explain and apply a federation's policy.

Apply writes the compiled config into the host's central-manager ConfigMap (key
``70-condorfed-negotiator.conf``, the file ``condorfed init`` mounts into
``/etc/condor/config.d``) and into the schedd's ConfigMap (key ``70-condorfed-policy.conf``: the
``require`` transform runs in the schedd). Then it *reconfigures by rollout*: it sets the
``condorfed.io/config-hash`` pod-template annotation of the workload that mounts the file (the
central manager Deployment, the schedd StatefulSet) to the hash of its ConfigMap's files (the
value ``condorfed init`` computes the same way), so the pod is recreated and its daemons read
the new file. A workload that does not mount the key is left alone, with a warning.

Why not ``condor_reconfig``: the config files are ``subPath`` mounts, which the kubelet never
refreshes in a running pod, so a reconfig would reread the old text. Idempotent: with nothing
changed no request but the reads is sent and no pod restarts.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from condorfed.adapters.adfiles import read_job_files
from condorfed.adapters.federation_file import load_federation
from condorfed.core.federation.explain import Explanation, explain
from condorfed.core.federation.model import Federation
from condorfed.core.federation.policy import CompiledPolicy, compile_policy
from condorfed.core.render.options import (
    CM_NAME,
    DEFAULT_NAMESPACE,
    NEGOTIATOR_CONFIGMAP,
    SCHEDD_CONFIGMAP,
    SCHEDD_NAME,
)
from condorfed.core.render.render import (
    CONFIG_HASH,
    NEGOTIATOR_POLICY_FILE,
    SCHEDD_POLICY_FILE,
    config_hash,
    policy_file_text,
)
from condorfed.errors import ClusterError

NEGOTIATOR_KEY = NEGOTIATOR_POLICY_FILE
SCHEDD_KEY = SCHEDD_POLICY_FILE
FIELD_MANAGER = "condorfed-policy"


class PolicyCluster(Protocol):
    """What apply needs from the host cluster (KubeClient implements it)."""

    context: str

    def get(self, api_version: str, kind: str, name: str, namespace: str | None = None) -> dict | None: ...

    def merge_patch(
        self,
        api_version: str,
        kind: str,
        name: str,
        namespace: str | None,
        patch: Mapping[str, Any],
        *,
        field_manager: str = ...,
    ) -> dict[str, Any]: ...


@dataclass(frozen=True)
class CheckResult:
    path: str
    federation: str
    clusters: tuple[str, ...]
    rules: tuple[str, ...]
    groups: tuple[str, ...]

    def to_json(self) -> dict[str, Any]:
        return {
            "file": self.path,
            "valid": True,
            "federation": self.federation,
            "clusters": list(self.clusters),
            "rules": list(self.rules),
            "groups": list(self.groups),
        }


@dataclass(frozen=True)
class ApplyResult:
    context: str
    namespace: str
    changed: tuple[str, ...]  # "ConfigMap condor/x", "Deployment condor/y (rolled)"
    config_hash: str
    warnings: tuple[str, ...] = field(default_factory=tuple)
    dry_run: bool = False

    def to_json(self) -> dict[str, Any]:
        return {
            "context": self.context,
            "namespace": self.namespace,
            "changed": list(self.changed),
            "configHash": self.config_hash,
            "warnings": list(self.warnings),
            "dryRun": self.dry_run,
        }


def check_file(path: str | Path) -> CheckResult:
    """Load and validate ``path`` (ConfigError on the first problem) and compile it once."""
    fed = load_federation(path)
    compile_policy(fed)
    return CheckResult(
        path=str(path),
        federation=fed.name,
        clusters=fed.cluster_names,
        rules=tuple(r.describe() for r in fed.rules),
        groups=tuple(g.name for g in fed.fairshare.all_groups()),
    )


def render_file(path: str | Path) -> CompiledPolicy:
    return compile_policy(load_federation(path))


def explain_files(path: str | Path, job_files: Sequence[str | Path]) -> list[Explanation]:
    return explain(compile_policy(load_federation(path)), read_job_files(job_files))


def negotiator_file_text(policy: CompiledPolicy) -> str:
    """The negotiator's config.d file, exactly as ``condorfed init`` renders it."""
    return policy_file_text("the negotiator", policy.config_text)


def schedd_file_text(policy: CompiledPolicy) -> str:
    """The schedd's config.d file (it enforces the ``require`` rules), as ``condorfed init`` renders it."""
    return policy_file_text("the schedd", policy.config_text)


def _mounts(deployment: Mapping[str, Any], configmap: str, key: str) -> bool:
    """Whether the Deployment's pods see ``key`` of ``configmap`` (subPath, or the whole volume)."""
    spec = (deployment.get("spec") or {}).get("template", {}).get("spec", {})
    volumes = {
        v.get("name"): v
        for v in spec.get("volumes") or []
        if (v.get("configMap") or {}).get("name") == configmap
    }
    for container in spec.get("containers") or []:
        for m in container.get("volumeMounts") or []:
            vol = volumes.get(m.get("name"))
            if vol is None:
                continue
            items = (vol.get("configMap") or {}).get("items")
            if m.get("subPath") in (None, "") and not items:
                return True
            if m.get("subPath") == key:
                return True
    return False


def _apply_one(
    host: PolicyCluster,
    namespace: str,
    configmap: str,
    key: str,
    text: str,
    workload: tuple[str, str],
    dry_run: bool,
) -> tuple[list[str], list[str], str]:
    kind, name = workload
    changed: list[str] = []
    warnings: list[str] = []
    cm = host.get("v1", "ConfigMap", configmap, namespace)
    if cm is None:
        raise ClusterError(
            f"context {host.context!r}: ConfigMap {namespace}/{configmap} not found; "
            "run `condorfed init` first"
        )
    data = dict(cm.get("data") or {})
    if data.get(key) != text:
        changed.append(f"ConfigMap {namespace}/{configmap} ({key})")
        if not dry_run:
            patch = {"data": {key: text}}
            host.merge_patch("v1", "ConfigMap", configmap, namespace, patch, field_manager=FIELD_MANAGER)
        data[key] = text
    digest = config_hash(*(data[k] for k in sorted(data)))
    dep = host.get("apps/v1", kind, name, namespace)
    if dep is None:
        warnings.append(f"{kind} {namespace}/{name} not found: nothing reads the new config yet")
        return changed, warnings, digest
    if not _mounts(dep, configmap, key):
        warnings.append(f"{kind} {namespace}/{name} does not mount {key} from ConfigMap {configmap}")
        return changed, warnings, digest
    annotations = (dep.get("spec") or {}).get("template", {}).get("metadata", {}).get("annotations") or {}
    if annotations.get(CONFIG_HASH) != digest:
        changed.append(f"{kind} {namespace}/{name} (rolled)")
        if not dry_run:
            roll = {"spec": {"template": {"metadata": {"annotations": {CONFIG_HASH: digest}}}}}
            host.merge_patch("apps/v1", kind, name, namespace, roll, field_manager=FIELD_MANAGER)
    return changed, warnings, digest


def apply_policy(
    fed: Federation, host: PolicyCluster, *, namespace: str = DEFAULT_NAMESPACE, dry_run: bool = False
) -> ApplyResult:
    """Write the compiled policy to the central manager (and the schedd) and roll their pods."""
    policy = compile_policy(fed)
    text = negotiator_file_text(policy)
    changed, warnings, digest = _apply_one(
        host, namespace, NEGOTIATOR_CONFIGMAP, NEGOTIATOR_KEY, text, ("Deployment", CM_NAME), dry_run
    )
    if policy.transform is not None or host.get("v1", "ConfigMap", SCHEDD_CONFIGMAP, namespace) is not None:
        more, warn, _ = _apply_one(
            host,
            namespace,
            SCHEDD_CONFIGMAP,
            SCHEDD_KEY,
            schedd_file_text(policy),
            ("StatefulSet", SCHEDD_NAME),
            dry_run,
        )
        changed += more
        if policy.transform is not None:
            warnings += [f"{w}: the schedd does not enforce the require rules yet" for w in warn]
    return ApplyResult(host.context, namespace, tuple(changed), digest, tuple(warnings), dry_run)


def apply_policy_file(
    path: str | Path,
    *,
    host_context: str | None,
    namespace: str = DEFAULT_NAMESPACE,
    kubeconfig: str | None = None,
    dry_run: bool = False,
) -> ApplyResult:
    from condorfed.workflows.federation_common import Connector

    fed = load_federation(path)
    host = Connector(kubeconfig=kubeconfig).connect(host_context)
    return apply_policy(fed, host, namespace=namespace, dry_run=dry_run)
