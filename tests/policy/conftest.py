from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "federation.yaml"


@pytest.fixture
def example_data() -> dict:
    """A fresh, mutable copy of examples/federation.yaml as plain data."""
    return copy.deepcopy(yaml.safe_load(EXAMPLE.read_text()))


@pytest.fixture
def minimal_data() -> dict:
    """Two clusters (on-prem a: 2×4 cores; cloud b: 8 cores, 1 GPU), no rules."""
    return {
        "federation": {"name": "t", "trustDomain": "t.example"},
        "clusters": [
            {"name": "a", "type": "onprem", "nodes": 2, "node": {"cpus": 4, "memory": 8000}},
            {"name": "b", "type": "cloud", "node": {"cpus": 8, "memory": 16000, "gpus": 1}},
        ],
    }


@pytest.fixture
def rich_data(minimal_data) -> dict:
    """Four clusters and every rule shape: two prefers (max() path), conditional + default fill,
    two overlapping requires."""
    data = minimal_data
    data["clusters"] += [
        {"name": "c", "type": "cloud", "node": {"cpus": 16, "memory": 64000, "gpus": 2}},
        {"name": "d", "type": "onprem", "nodes": 3, "node": {"cpus": 8, "memory": 32000}},
    ]
    data["rules"] = [
        {"fill": ["d", "c"], "when": 'Owner == "carol"'},
        {"fill": ["a", "*", "b"]},
        {"prefer": ["b", "c"], "when": "RequestGPUs > 0"},
        {"prefer": ["c", "d"], "when": "RequestMemory >= 10000"},
        {"require": ["b", "c"], "when": "RequestGPUs >= 1"},
        {"require": ["c", "d", "b"], "when": 'AcctGroup =?= "hpc"'},
    ]
    data["fairshare"] = {"halfLife": 3600.5, "groups": {"hpc": {"quota": 100}, "physics": {"quota": 0.5}}}
    return data


def _load_emulator():
    """The federation tests' API emulator (tests/federation/emulator.py), loaded by path."""
    import importlib.util
    import sys

    name = "fed_emulator"  # the same module name tests/federation uses: one copy per process
    if name not in sys.modules:
        path = Path(__file__).resolve().parents[1] / "federation" / "emulator.py"
        spec = importlib.util.spec_from_file_location(name, path)
        module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
        sys.modules[name] = module
        spec.loader.exec_module(module)  # type: ignore[union-attr]
    return sys.modules[name]


@pytest.fixture
def host(tmp_path):
    """An emulated host API server holding what `condorfed init` deploys, and a kubeconfig for it."""
    from condorfed.core.render.options import InitOptions
    from condorfed.core.render.render import render_init

    emu = _load_emulator().Emulator("host").start()
    for obj in render_init(InitOptions()):
        emu.put(obj)
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "host", "cluster": {"server": emu.url}}],
        "users": [{"name": "tester", "user": {"token": "emulator-token"}}],
        "contexts": [{"name": "host", "context": {"cluster": "host", "user": "tester"}}],
        "current-context": "host",
    }
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(yaml.safe_dump(config))
    try:
        yield emu, str(kubeconfig)
    finally:
        emu.stop()
