"""The startd's shell scripts, run for real with stand-in condor_* commands on PATH."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from condorfed.core.render.render import startd_scripts

# A stand-in condor_master: records the signals it gets; exits on TERM (graceful) or QUIT (fast).
# Python, like DaemonCore, installs its own handlers, so it also sees SIGQUIT when started as a
# background job of a non-interactive shell (which starts it with SIGQUIT ignored).
MASTER = f"""#!{sys.executable}
import os, signal, sys, time
log = os.environ["STUB_LOG"]
def note(word, code):
    def handler(signum, frame):
        with open(log, "a") as f:
            f.write(word + "\\n")
        sys.exit(code)
    return handler
signal.signal(signal.SIGTERM, note("TERM", 0))
signal.signal(signal.SIGQUIT, note("QUIT", 3))
with open(log, "a") as f:
    f.write("started\\n")
while True:
    time.sleep(0.1)
"""


def _stub(bin_dir: Path, name: str, body: str) -> None:
    path = bin_dir / name
    path.write_text("#!/bin/bash\n" + body + "\n")
    path.chmod(0o755)


@pytest.fixture
def sandbox(tmp_path: Path):
    scripts = tmp_path / "opt"
    scripts.mkdir()
    for key, text in startd_scripts().items():
        (scripts / key).write_text(text)
        (scripts / key).chmod(0o755)
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    log = tmp_path / "calls.log"
    log.touch()
    (bin_dir / "condor_master").write_text(MASTER)
    (bin_dir / "condor_master").chmod(0o755)
    _stub(bin_dir, "condor_config_val", 'echo "node-1.example.org"')
    _stub(bin_dir, "condor_drain", 'echo "drain $*" >> "$STUB_LOG"; exit "${STUB_DRAIN_RC:-0}"')
    _stub(bin_dir, "condor_off", 'echo "off $*" >> "$STUB_LOG"')
    _stub(bin_dir, "condor_who", 'printf "%b" "${STUB_WHO:-}"')
    env = {
        "PATH": f"{bin_dir}:{os.environ['PATH']}",
        "STUB_LOG": str(log),
        "CONDORFED_SCRIPTS_DIR": str(scripts),
        "CONDORFED_RUN_DIR": str(tmp_path / "run"),
        "CONDORFED_DRAIN_POLL": "0.1",
        "HOME": str(tmp_path),
    }
    return scripts, env, log


RUNNING_JOB = (
    "OWNER CLIENT SLOT JOB RUNTIME PID PROGRAM\\nalice 10.0.0.1 slot1_1 1234.0 0+00:01:00 42 /bin/sleep\\n"
)


@pytest.mark.parametrize(
    ("who_output", "ready"),
    [
        pytest.param("true\\n", True, id="ready"),
        pytest.param("false\\n", False, id="startd-not-ready"),
        pytest.param("", False, id="master-silent"),
        pytest.param("true\\nfalse\\n", False, id="mixed"),
        pytest.param("undefined\\n", False, id="undefined"),
    ],
)
def test_probe_decides_on_output_not_exit_status(sandbox, who_output: str, ready: bool) -> None:
    scripts, env, _ = sandbox
    # condor_who itself always exits 0 here, as the real one does when the startd is not ready.
    out = subprocess.run(
        ["bash", str(scripts / "probe.sh"), "1"],
        env=env | {"STUB_WHO": who_output},
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert (out.returncode == 0) is ready, out.stderr


def _wait_for(predicate, timeout: float = 20.0) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(0.05)
    return False


def test_entrypoint_drains_then_forwards_sigterm_to_master(sandbox) -> None:
    scripts, env, log = sandbox
    proc = subprocess.Popen(["bash", str(scripts / "entrypoint.sh")], env=env, stderr=subprocess.DEVNULL)
    try:
        assert _wait_for(lambda: "started" in log.read_text())
        proc.send_signal(signal.SIGTERM)
        rc = proc.wait(timeout=30)
    finally:
        proc.kill()
    lines = log.read_text().splitlines()
    assert rc == 0
    drain_at = next(i for i, line in enumerate(lines) if line.startswith("drain -graceful"))
    assert "node-1.example.org" in lines[drain_at]
    assert lines.index("TERM") > drain_at  # drained first, then the master got SIGTERM
    assert "QUIT" not in lines


def _start_master(env: dict[str, str]) -> subprocess.Popen:
    """The stand-in master under a parent shell that reaps it, as the entrypoint does in the pod."""
    run_dir = Path(env["CONDORFED_RUN_DIR"])
    run_dir.mkdir()
    pid_file = run_dir / "condor_master.pid"
    return subprocess.Popen(["bash", "-c", f'condor_master & echo $! > "{pid_file}"; wait $!'], env=env)


def test_drain_waits_for_jobs_and_is_bounded(sandbox, tmp_path: Path) -> None:
    scripts, env, log = sandbox
    master = _start_master(env)
    try:
        assert _wait_for(lambda: "started" in log.read_text())
        out = subprocess.run(
            ["bash", str(scripts / "drain.sh"), "1"],
            env=env | {"STUB_WHO": RUNNING_JOB},
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
        assert out.returncode == 1 and "fast shutdown" in out.stderr
        assert master.wait(timeout=10) == 3  # the stand-in master got SIGQUIT at the bound
    finally:
        master.kill()


def test_drain_falls_back_to_graceful_master_shutdown(sandbox) -> None:
    scripts, env, log = sandbox
    master = _start_master(env)
    try:
        assert _wait_for(lambda: "started" in log.read_text())
        out = subprocess.run(
            ["bash", str(scripts / "drain.sh"), "30"],
            env=env | {"STUB_DRAIN_RC": "1", "STUB_WHO": RUNNING_JOB},
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        # condor_drain refused -> SIGTERM to the master (graceful: jobs retire), then the wait ends
        # because the master is gone.
        assert out.returncode == 0, out.stderr
        assert master.wait(timeout=10) == 0
        assert "TERM" in log.read_text().splitlines()
    finally:
        master.kill()


def test_idle_drain_returns_at_once(sandbox) -> None:
    scripts, env, _ = sandbox
    cmd = ["bash", str(scripts / "drain.sh"), "600"]
    out = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=30, check=False)
    assert out.returncode == 0 and "drained" in out.stderr
