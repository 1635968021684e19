"""Reading an HTCondor configuration with HTCondor's own parser.

The file is read by the htcondor bindings (``CONDOR_CONFIG=<file>``) in a short-lived child process:
HTCondor's config reader exits the process on a syntax error, and its configuration is process-global,
so reading it in-process would both risk the caller and leak into it. Metaknobs (``use feature : ...``),
macros and includes all work, because it is HTCondor that reads them.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from condorfed.errors import ConfigError

_CHILD = r"""
import json, sys, warnings
warnings.simplefilter("ignore")
import htcondor
out = {}
for key in htcondor.param.keys():
    try:
        out[key] = htcondor.param[key]
    except Exception:
        pass
sys.stdout.write(json.dumps(out))
"""


def load_params(path: str | os.PathLike[str]) -> dict[str, str]:
    """Every configuration value (HTCondor's defaults included) as HTCondor reads ``path``."""
    p = Path(path)
    if not p.is_file():
        raise ConfigError(f"{path}: no such configuration file")
    env = {k: v for k, v in os.environ.items() if not k.startswith("_CONDOR_")}
    env["CONDOR_CONFIG"] = str(p.resolve())
    try:
        proc = subprocess.run(
            [sys.executable, "-c", _CHILD], env=env, capture_output=True, text=True, timeout=60, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise ConfigError(f"{path}: could not run HTCondor's configuration reader: {exc}") from None
    if proc.returncode != 0 or not proc.stdout.strip():
        lines = [ln.strip() for ln in (proc.stderr or proc.stdout).splitlines() if ln.strip()]
        msg = next((ln for ln in lines if "Error" in ln), lines[-1] if lines else "unknown error")
        raise ConfigError(f"{path}: {msg}")
    try:
        return json.loads(proc.stdout)
    except json.JSONDecodeError:
        raise ConfigError(f"{path}: unreadable output from HTCondor's configuration reader") from None


def merge_params(*layers: dict[str, str]) -> dict[str, str]:
    """Later layers win (case-insensitive names)."""
    out: dict[str, str] = {}
    index: dict[str, str] = {}
    for layer in layers:
        for k, v in layer.items():
            old = index.get(k.upper())
            if old is not None:
                del out[old]
            index[k.upper()] = k
            out[k] = v
    return out
