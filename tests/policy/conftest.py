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
