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
