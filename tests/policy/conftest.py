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
