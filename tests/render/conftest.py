"""Fixtures for render tests: option tables and a subprocess reader of HTCondor config."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from condorfed.core.render import ClusterSettings, InitOptions, JoinOptions

# Pinned Kubernetes version for schema validation (kubernetes-validate ships it, strict variant too).
K8S_VERSION = "1.31.0"

JOIN_CASES = {
    "onprem-defaults": JoinOptions(cluster="cluster-a", collector="cm.example.org"),
    "cloud-labels-limits": JoinOptions(
        cluster="gke-burst-1",
        collector="203.0.113.7:31618",
        trust_domain="pool.example.org",
        namespace="condor-burst",
        settings=ClusterSettings(
            cloud=True,
            provider="gcp",
            labels={"region": "europe-west4", "topology.kubernetes.io/zone": "europe-west4-a"},
            weight=2.5,
            min_cores=0,
            max_cores=512,
            cost_per_core_hour=0.031,
            node_selector={"cloud.google.com/gke-nodepool": "condor"},
            token_lifetime=86400,
            max_job_retirement_time=7200,
        ),
        cpu_limit="8",
        memory_limit="30Gi",
    ),
    "onprem-guard-no-ccb": JoinOptions(
        cluster="hpc",
        collector="collector.pool.example.org:9620",
        autoscaler_guard=True,
        ccb=False,
        safe_to_evict_annotation=False,
        settings=ClusterSettings(max_job_retirement_time=0),
    ),
}

INIT_CASES = {
    "defaults": InitOptions(),
    "nodeport-members-revoked": InitOptions(
        namespace="htc",
        trust_domain="pool.example.org",
        collector_service_type="NodePort",
        collector_address="203.0.113.7:31618",
        collector_node_port=31618,
        schedd_service_type="LoadBalancer",
        schedd_address="schedd.example.org",
        schedd_spool_size="50Gi",
        storage_class="fast-ssd",
        joined_members=("cluster-b", "cluster-a"),
        revoked_identities=("old@pool.example.org",),
        revoked_token_ids=("d4e2373c181a2ec5b799c2a5702306ac",),
        negotiator_config="NEGOTIATOR_INTERVAL = 30\nGROUP_NAMES = group_a\n",
    ),
    "clusterip": InitOptions(collector_service_type="ClusterIP"),
}


_READER = textwrap.dedent(
    """
    import json, sys
    import htcondor2
    names = json.loads(sys.argv[1])
    values = {n: htcondor2.param.get(n) for n in names}
    print(json.dumps({n: None if v is None else str(v) for n, v in values.items()}))
    """
)


@pytest.fixture
def condor_params(tmp_path: Path):
    """Load config.d files with HTCondor's own parser (in a subprocess, to keep global state out)."""

    def read(files: dict[str, str], names: list[str], env: dict[str, str] | None = None) -> dict:
        confdir = tmp_path / "config.d"
        confdir.mkdir(exist_ok=True)
        for name, text in files.items():
            (confdir / name).write_text(text)
        top = tmp_path / "condor_config"
        top.write_text(f"LOCAL_CONFIG_DIR = {confdir}\nLOCAL_CONFIG_FILE =\n")
        run_env = {k: v for k, v in os.environ.items() if not k.startswith(("_CONDOR_", "CONDORFED_"))}
        run_env.update(env or {})
        run_env["CONDOR_CONFIG"] = str(top)
        out = subprocess.run(
            [sys.executable, "-c", _READER, json.dumps(names)],
            env=run_env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert out.returncode == 0, out.stderr
        return json.loads(out.stdout.strip().splitlines()[-1])

    return read


HELM_VENV = Path.home() / ".cache" / "condorfed-helm-venv"
_PY312_CANDIDATES = ("/root/.pyenv/versions/3.12.1/bin/python", "python3.12", "python3.13")


def _find_python312() -> str | None:
    import shutil

    for candidate in _PY312_CANDIDATES:
        path = candidate if os.path.isabs(candidate) else shutil.which(candidate)
        if path and os.path.exists(path):
            return path
    return None


@pytest.fixture(scope="session")
def helm_python() -> str:
    """Python of a cached venv (Python >= 3.12) with helm-sdkpy: Helm's real engine as a library."""
    import fcntl

    HELM_VENV.parent.mkdir(parents=True, exist_ok=True)
    with open(HELM_VENV.parent / "condorfed-helm-venv.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # pytest-xdist workers: one installs, the others wait
        return _ensure_helm_venv()


def _ensure_helm_venv() -> str:
    python = HELM_VENV / "bin" / "python"
    probe = [str(python), "-c", "import helm_sdkpy, yaml"]
    if python.exists() and subprocess.run(probe, capture_output=True, check=False).returncode == 0:
        return str(python)
    base = _find_python312()
    if base is None:
        pytest.skip("helm-sdkpy needs Python >= 3.12 and none was found (tried pyenv 3.12.1, python3.12)")
    try:
        subprocess.run([base, "-m", "venv", str(HELM_VENV)], check=True, capture_output=True, timeout=120)
        subprocess.run(
            [str(python), "-m", "pip", "install", "-q", "helm-sdkpy", "pyyaml"],
            check=True,
            capture_output=True,
            timeout=600,
        )
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as exc:
        pytest.skip(f"could not install helm-sdkpy into {HELM_VENV}: {exc}")
    return str(python)


@pytest.fixture(scope="session")
def helm_template(helm_python: str):
    """Render charts/<chart> with values through Helm (install against a local API stand-in)."""
    script = Path(__file__).with_name("helm_render.py")

    def render(chart: Path, namespace: str, values: dict) -> list[dict]:
        out = subprocess.run(
            [helm_python, str(script), str(chart), namespace, json.dumps(values)],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        if out.returncode != 0:
            raise AssertionError(f"helm render failed: {out.stderr.strip().splitlines()[-3:]}")
        return json.loads(out.stdout)

    return render
