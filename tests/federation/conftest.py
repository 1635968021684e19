"""Fixtures: three emulated API servers (host, member-a, member-b) and a kubeconfig naming them.

The kubeconfig also has a context whose server refuses connections (``down``) and one whose server
accepts but never answers (``silent``), for the unreachable-cluster cases.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml


def _load_emulator():
    # Tests use importlib mode (no sys.path entry per folder): load the emulator under a unique name
    # that test modules import as ``fed_emulator``.
    import importlib.util
    import sys

    if "fed_emulator" not in sys.modules:
        spec = importlib.util.spec_from_file_location("fed_emulator", Path(__file__).with_name("emulator.py"))
        module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
        sys.modules["fed_emulator"] = module
        spec.loader.exec_module(module)  # type: ignore[union-attr]
    return sys.modules["fed_emulator"]


_emu = _load_emulator()
Emulator, SilentServer, closed_port_url = _emu.Emulator, _emu.SilentServer, _emu.closed_port_url


@dataclass
class Clusters:
    kubeconfig: str
    host: Emulator
    member_a: Emulator
    member_b: Emulator
    silent: SilentServer


def write_kubeconfig(path: Path, servers: dict[str, str], current: str) -> str:
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": n, "cluster": {"server": url}} for n, url in servers.items()],
        "users": [{"name": "tester", "user": {"token": "emulator-token"}}],
        "contexts": [{"name": n, "context": {"cluster": n, "user": "tester"}} for n in servers],
        "current-context": current,
    }
    path.write_text(yaml.safe_dump(config))
    return str(path)


@pytest.fixture
def clusters(tmp_path: Path) -> Iterator[Clusters]:
    host, a, b = Emulator("host").start(), Emulator("member-a").start(), Emulator("member-b").start()
    silent = SilentServer()
    servers = {
        "host": host.url,
        "member-a": a.url,
        "member-b": b.url,
        # a second kubeconfig name for member-a's API server: the same cluster under another context
        "member-a-alias": a.url,
        "down": closed_port_url(),
        "silent": silent.url,
    }
    kubeconfig = write_kubeconfig(tmp_path / "kubeconfig", servers, current="host")
    try:
        yield Clusters(kubeconfig, host, a, b, silent)
    finally:
        for emu in (host, a, b):
            emu.stop()
        silent.close()


FAST_RETRY_ATTEMPTS = 4


@pytest.fixture
def delays() -> list[float]:
    """The backoff delays the connector's clients asked to sleep (they do not really sleep)."""
    return []


@pytest.fixture
def connector(clusters: Clusters, delays: list[float]):
    """Workflow connector for the emulators: short timeouts and quick backoff (delays are recorded)."""
    from condorfed.adapters.kube import RetryPolicy
    from condorfed.workflows.federation import Connector

    return Connector(
        kubeconfig=clusters.kubeconfig,
        timeout=0.5,
        retry=RetryPolicy(attempts=FAST_RETRY_ATTEMPTS, base=0.01, cap=0.05, deadline=10),
        probe_timeout=0.3,
        sleep=delays.append,
    )


@pytest.fixture
def effects():
    """A fixed clock and deterministic randomness; sleeping advances the monotonic clock."""
    import itertools

    from condorfed.workflows.federation import Effects

    counter = itertools.count(1)
    clock = [1000.0]

    def random_bytes(n: int) -> bytes:
        seed = next(counter)
        return bytes((seed * 7 + i) % 251 + 1 for i in range(n))

    def sleep(seconds: float) -> None:
        clock[0] += seconds

    return Effects(
        now=lambda: 1_795_316_662.0, random_bytes=random_bytes, sleep=sleep, monotonic=lambda: clock[0]
    )
