"""``condorfed negotiate`` / ``analyze`` on the example pool snapshot, and their error handling."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from condorfed.cli.main import cli, main

ROOT = Path(__file__).resolve().parents[2]
POOL = ROOT / "examples" / "pool"
NOW = "1795300000"


def run(args: list[str]):
    return CliRunner().invoke(cli, args, catch_exceptions=False)


def example_args() -> list[str]:
    return [
        "--jobs",
        str(POOL / "jobs.ads"),
        "--jobs",
        str(POOL / "analysis.sub"),
        "--machines",
        str(POOL / "machines.ads"),
        "--config",
        str(POOL / "condor_config"),
        "--now",
        NOW,
        "--owner",
        "dave",
    ]


def test_negotiate_json_shape_on_example_pool(tmp_path):
    out = tmp_path / "usage.json"
    res = run(
        [
            "negotiate",
            *example_args(),
            "--usage",
            str(POOL / "usage.json"),
            "--write-usage",
            str(out),
            "--json",
        ]
    )
    assert res.exit_code == 0, res.output
    data = json.loads(res.output)
    assert set(data) == {"matches", "unmatched", "submitters", "groups"}
    assert data["matches"] and set(data["matches"][0]) == {"job", "slot", "submitter", "group"}
    assert {"eup", "limit", "matched"} <= set(next(iter(data["submitters"].values())))
    assert {"quota", "allocated"} == set(data["groups"]["atlas"])
    assert all(set(u) == {"job", "reason"} for u in data["unmatched"])
    # carol's site whitelist names no site of the pool
    assert {u["reason"] for u in data["unmatched"] if u["job"].startswith("303.")} == {
        "no slot satisfies the job's Requirements"
    }
    state = json.loads(out.read_text())
    assert state["time"] == float(NOW)
    assert state["submitters"]["atlas.atlasprd"]["priority"] < 18.0  # aged one hour


def test_negotiate_table_output():
    res = run(["negotiate", *example_args()])
    assert res.exit_code == 0, res.output
    assert "Matches" in res.output and "Submitters" in res.output and "Accounting groups" in res.output


def test_analyze_explains_clauses():
    res = run(["analyze", str(POOL / "analysis.sub"), "--machines", str(POOL / "machines.ads"), "--json"])
    assert res.exit_code == 0, res.output
    data = json.loads(res.output)
    clauses = {c["clause"]: c["matching_slots"] for c in data["clauses"]}
    assert clauses['TARGET.Arch == "X86_64"'] == data["slots"]
    cloud = [s for s in data["rejected_by_slot_requirements"] if "gcp" in s]
    assert cloud  # cloud slots START only jobs that allow the cloud


@pytest.mark.parametrize(
    ("content", "message"),
    [("Cpus = (\n", "line 1"), ("[{]", "invalid JSON")],
    ids=["long-format", "json"],
)
def test_bad_machine_file_is_one_line_and_exit_2(tmp_path, capsys, content, message):
    bad = tmp_path / "bad.ads"
    bad.write_text(content)
    with pytest.raises(SystemExit) as exit_info:
        main(["negotiate", "--jobs", str(POOL / "jobs.ads"), "--machines", str(bad), "--now", NOW])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and str(bad) in err and message in err


def test_bad_config_is_one_line_and_exit_2(tmp_path, capsys):
    conf = tmp_path / "condor_config"
    conf.write_text("GROUP_NAMES = a\nthis is ( not config\n")
    with pytest.raises(SystemExit) as exit_info:
        main(["negotiate", *example_args()[:6], "--config", str(conf)])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and str(conf) in err


@pytest.mark.skipif(not (ROOT / "examples" / "federation.yaml").is_file(), reason="no example federation")
def test_federation_policy_is_layered_on_the_config():
    res = run(
        ["negotiate", *example_args(), "--federation", str(ROOT / "examples" / "federation.yaml"), "--json"]
    )
    assert res.exit_code == 0, res.output
    with_policy = json.loads(res.output)["groups"]
    without = json.loads(run(["negotiate", *example_args(), "--json"]).output)["groups"]
    assert with_policy and set(with_policy) != set(without)  # the federation's GROUP_NAMES win
