"""``condorfed simulate``: JSON shape, listing, writing scenarios, and one-line errors with exit code 2."""

from __future__ import annotations

import json

import pytest

from condorfed.cli.main import main


def run(capsys, *args):
    with pytest.raises(SystemExit) as exc:
        main(["simulate", *args])
        raise SystemExit(0)
    out, err = capsys.readouterr()
    return exc.value.code, out, err


def test_json_prints_one_object(capsys, tiny_files, tmp_path):
    fed, trace = tiny_files
    code, out, _err = run(
        capsys,
        "--federation",
        str(fed),
        "--trace",
        str(trace),
        "--json",
        "--controller",
        "glideinwms",
        "--out",
        str(tmp_path / "r"),
    )
    assert code == 0
    obj = json.loads(out)
    assert obj["jobs"]["submitted"] == 56
    assert obj["controller"] == "glideinwms"
    assert (tmp_path / "r" / "report.html").is_file()


def test_list_scenarios(capsys):
    code, out, _ = run(capsys, "--list-scenarios", "--json")
    assert code == 0
    assert set(json.loads(out)["scenarios"]) == {"conference-spike", "reconstruction", "gpu-mix"}


def test_write_scenario_round_trips(capsys, tmp_path):
    from condorfed.adapters.federation_file import load_federation
    from condorfed.sim.scenarios import build_scenario
    from condorfed.sim.trace import read_trace
    from condorfed.workflows.simulate import parse_start

    code, _out, _ = run(capsys, "--scenario", "gpu-mix", "--write-scenario", str(tmp_path / "s"))
    assert code == 0
    fed = load_federation(tmp_path / "s" / "federation.yaml")
    assert [c.name for c in fed.clusters] == ["campus", "gpucloud", "cpucloud"]
    assert (
        read_trace(tmp_path / "s" / "trace.jsonl")
        == build_scenario("gpu-mix", 1, parse_start("2026-01-01")).trace
    )


BAD = {
    "unknown-scenario": (["--scenario", "nope"], "unknown scenario 'nope'"),
    "unknown-controller": (["--controller", "slurm"], "unknown controller 'slurm'"),
    "negative-horizon": (["--horizon", "-5"], "--horizon: must be a positive number"),
    "text-seed": (["--seed", "abc"], "--seed: not an integer"),
    "bad-start": (["--start", "yesterday"], "--start: not an ISO 8601 time"),
    "trace-without-federation": (["--trace", "t.jsonl"], "--federation and --trace go together"),
}


@pytest.mark.parametrize("args,message", BAD.values(), ids=BAD.keys())
def test_bad_input_is_one_line_and_exit_2(capsys, tmp_path, args, message):
    code, _out, err = run(capsys, *args, "--out", str(tmp_path / "r"))
    assert code == 2
    assert err.count("\n") == 1 and message in err and "Traceback" not in err


def test_bad_trace_line_names_file_and_line(capsys, tiny_files, tmp_path):
    fed, trace = tiny_files
    trace.write_text(trace.read_text() + '{"submit": 5, "owner": "x"}\n')
    code, _, err = run(capsys, "--federation", str(fed), "--trace", str(trace), "--out", str(tmp_path / "r"))
    assert code == 2
    assert f"{trace}:4: missing required field 'runtime'" in err and err.count("\n") == 1


def test_compare_runs_every_controller(capsys, tiny_files, tmp_path):
    fed, trace = tiny_files
    code, out, _ = run(
        capsys,
        "--federation",
        str(fed),
        "--trace",
        str(trace),
        "--compare",
        "--json",
        "--static-nodes",
        "2",
        "--out",
        str(tmp_path / "r"),
    )
    assert code == 0
    obj = json.loads(out)
    assert list(obj["comparison"]) == ["onprem-only", "static", "glideinwms", "cobald", "condorfed"]
    assert obj["comparison"]["onprem-only"]["cost"] == 0
    assert obj["comparison"]["static"]["cost"] > 0
    assert (tmp_path / "r" / "comparison.png").is_file()


def test_compare_table_piped_keeps_whole_cells(capsys, tiny_files, tmp_path):
    """Piped output (capsys is not a terminal) must not fold a cell mid-word at rich's 80 columns."""
    fed, trace = tiny_files
    code, out, _ = run(
        capsys, "--federation", str(fed), "--trace", str(trace), "--compare", "--out", str(tmp_path / "r")
    )
    assert code == 0
    header = next(line for line in out.splitlines() if "controller" in line)
    assert "fair-share deviation" in header and "utilization" in header
    for name in ("onprem-only", "glideinwms", "condorfed"):
        assert any(f"│ {name} " in line for line in out.splitlines()), name
