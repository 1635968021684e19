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
