"""Where a campaign's controller state lives: a ConfigMap on the host cluster (or a local file).

The document is JSON under one key (``state.json``): the campaign's name, the controller memory
(spend, node requests still provisioning, workers seen, back-off, ``stopped``), and the last
tick's decision. A restarted controller loads it and resumes without provisioning twice.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from condorfed.errors import ClusterError, ConfigError

KEY = "state.json"
LABELS = {"app.kubernetes.io/managed-by": "condorfed", "app.kubernetes.io/component": "campaign-state"}


def configmap_name(campaign: str) -> str:
    return f"condorfed-campaign-{campaign}"


class ConfigMapStateStore:
    """A :class:`~condorfed.core.burst.ports.StateStore` in a host-cluster ConfigMap."""

    def __init__(self, client: Any, namespace: str, campaign: str) -> None:
        self.client, self.namespace, self.name = client, namespace, configmap_name(campaign)

    def load(self) -> Mapping[str, Any] | None:
        data = self.client.read_configmap(self.namespace, self.name)
        if not data or KEY not in data:
            return None
        try:
            return json.loads(data[KEY])
        except json.JSONDecodeError as exc:
            raise ClusterError(f"ConfigMap {self.namespace}/{self.name}: {KEY} is not JSON: {exc}") from None

    def save(self, document: Mapping[str, Any]) -> None:
        text = json.dumps(document, sort_keys=True, separators=(",", ":"))
        self.client.write_configmap(self.namespace, self.name, {KEY: text}, labels=LABELS)


class FileStateStore:
    """The same document in a local JSON file (offline runs, dry runs, tests). Writes are atomic."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)

    def load(self) -> Mapping[str, Any] | None:
        try:
            return json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None
        except (OSError, json.JSONDecodeError) as exc:
            raise ConfigError(f"{self.path}: cannot read campaign state: {exc}") from None

    def save(self, document: Mapping[str, Any]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=self.path.name, suffix=".tmp")
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(document, fh, sort_keys=True, indent=1)
        os.replace(tmp, self.path)


class MemoryStateStore:
    """In-process store (dry runs and tests)."""

    def __init__(self, document: Mapping[str, Any] | None = None) -> None:
        self.document = None if document is None else dict(document)
        self.saves = 0

    def load(self) -> Mapping[str, Any] | None:
        return self.document

    def save(self, document: Mapping[str, Any]) -> None:
        self.document = json.loads(json.dumps(document))
        self.saves += 1
