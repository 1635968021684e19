"""condorfed policy check | render | explain through the real entry point."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from condorfed.cli.main import main

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "federation.yaml"
SUBMIT = """\
executable = /bin/true
request_cpus = 2
request_memory = 4000
request_disk = 1000
accounting_group = {group}
request_gpus = {gpus}
queue {count}
"""


def run(args, capsys):
    main(args)
    return capsys.readouterr()


def test_check_ok_and_json(capsys):
    assert (
        "ok (federation cern: 5 clusters, 3 rules, 5 accounting groups)"
        in run(["policy", "check", str(EXAMPLE)], capsys).out
    )
    data = json.loads(run(["policy", "check", str(EXAMPLE), "--json"], capsys).out)
    assert data["valid"] is True and data["clusters"][0] == "meyrin"


def test_check_error_is_one_line_exit_2(tmp_path, capsys):
    doc = yaml.safe_load(EXAMPLE.read_text())
    doc["clusters"][1]["node"]["cpus"] = 0
    bad = tmp_path / "federation.yaml"
    bad.write_text(yaml.safe_dump(doc))
    with pytest.raises(SystemExit) as info:
        main(["policy", "check", str(bad)])
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert err == f"condorfed: {bad}: clusters[1].node.cpus: must be > 0\n"


def test_render_prints_the_config(capsys):
    out = run(["policy", "render", str(EXAMPLE)], capsys).out
    assert out.startswith("# condorfed federation policy for 'cern'")
    assert "NEGOTIATOR_PRE_JOB_RANK = 1000000000 * ($(CONDORFED_SLOT_RANK))" in out
    data = json.loads(run(["policy", "render", str(EXAMPLE), "--json"], capsys).out)
    assert data["config"] == out and data["params"]["GROUP_QUOTA_tpu"] == "512"


def test_explain_submit_file(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "250")  # one table row per line
    tpu_sub, gpu_sub = tmp_path / "tpu.sub", tmp_path / "gpu.sub"
    tpu_sub.write_text(SUBMIT.format(group="tpu", gpus=0, count=3))
    gpu_sub.write_text(SUBMIT.format(group="atlas", gpus=1, count=2))
    args = ["policy", "explain", str(EXAMPLE), "--jobs", str(tpu_sub), "--jobs", str(gpu_sub)]
    data = json.loads(run([*args, "--json"], capsys).out)
    rows = data["autoclusters"]
    assert [r["jobs"] for r in rows] == [3, 2]
    tpu, gpu = rows
    assert tpu["allowed"] == ["gcp"] and tpu["target"] == "gcp"
    assert tpu["rule"] == 'require [gcp] when AcctGroup =?= "tpu"'
    assert gpu["order"][0] == "exoscale" and gpu["target"] == "exoscale"
    assert gpu["fits"] == ["exoscale"]  # the only cluster whose nodes have a GPU
    table = run(args, capsys).out
    assert "require [gcp]" in table  # brackets survive rich's markup
