"""Fixtures for the burst tests; builders live in burst_helpers.py (a unique module name)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from burst_helpers import make_federation, make_policy


@pytest.fixture(scope="session")
def federation():
    return make_federation()


@pytest.fixture(scope="session")
def policy():
    return make_policy()


def _emulator_module():
    """The federation tests' API emulator, loaded once under the name they use (``fed_emulator``)."""
    import importlib.util

    if "fed_emulator" not in sys.modules:
        path = Path(__file__).parents[1] / "federation" / "emulator.py"
        spec = importlib.util.spec_from_file_location("fed_emulator", path)
        module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
        sys.modules["fed_emulator"] = module
        spec.loader.exec_module(module)  # type: ignore[union-attr]
    return sys.modules["fed_emulator"]


@pytest.fixture
def emulator(tmp_path):
    """One emulated API server (not Kubernetes) and a KubeClient connected to it."""
    import yaml

    from condorfed.adapters.kube import RetryPolicy, connect

    emu = _emulator_module().Emulator("burst", nodes=4, node_cpus=16).start()
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "burst", "cluster": {"server": emu.url}}],
        "users": [{"name": "tester", "user": {"token": "emulator-token"}}],
        "contexts": [{"name": "burst", "context": {"cluster": "burst", "user": "tester"}}],
        "current-context": "burst",
    }
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(yaml.safe_dump(config))
    client = connect(
        "burst", str(kubeconfig), timeout=5.0, retry=RetryPolicy(attempts=2), sleep=lambda s: None
    )
    try:
        yield emu, client, str(kubeconfig)
    finally:
        client.close()
        emu.stop()
