"""Reading long-format ads, JSON ads and submit descriptions; one-line errors for bad input."""

from __future__ import annotations

import json

import pytest

from condorfed.adapters.adfiles import read_ads, read_job_files, read_submit
from condorfed.core.classads.values import UNDEFINED, Expr
from condorfed.core.fairshare import UsageState
from condorfed.core.negotiation import NegotiatorConfig, negotiate
from condorfed.errors import AdParseError

LONG = """\
MyType = "Machine"
Name = "slot1@a"
Cpus = 4
Memory = 8192.5
HasFileTransfer = true
Gone = undefined
START = TARGET.Owner =!= "mallory"
Requirements = START
Comment = "say \\"hi\\""

MyType = "Machine"
Name = "slot1@b"
"""


def test_long_format_literals_and_expressions(tmp_path):
    f = tmp_path / "m.ads"
    f.write_text(LONG)
    ads = read_ads(f)
    assert [a["Name"] for a in ads] == ["slot1@a", "slot1@b"]
    a = ads[0]
    assert (a["Cpus"], a["Memory"], a["HasFileTransfer"], a["Gone"]) == (4, 8192.5, True, UNDEFINED)
    assert a["START"] == Expr('TARGET.Owner =!= "mallory"') and isinstance(a["start"], Expr)
    assert a["Comment"] == 'say "hi"'


def test_json_format(tmp_path):
    f = tmp_path / "m.json"
    f.write_text(json.dumps([{"Name": "slot1@a", "Cpus": 2, "START": "/Expr(Cpus > 1)/", "L": [1, 2]}]))
    (ad,) = read_ads(f)
    assert ad["Cpus"] == 2 and ad["START"] == Expr("Cpus > 1") and isinstance(ad["L"], Expr)


@pytest.mark.parametrize(
    ("text", "where"),
    [('Name = "a"\nCpus = (4\n', "line 2 (ad 0)"), ("A = 1\n\nthis is not an attribute\n", "line 3 (ad 1)")],
    ids=["bad-expression", "no-equals"],
)
def test_malformed_long_format_names_file_and_line(tmp_path, text, where):
    f = tmp_path / "bad.ads"
    f.write_text(text)
    with pytest.raises(AdParseError) as err:
        read_ads(f)
    assert str(f) in str(err.value) and where in str(err.value) and "\n" not in str(err.value)


def test_bad_json_names_file_and_line(tmp_path):
    f = tmp_path / "bad.json"
    f.write_text('[{"Name": "a",\n "Cpus": }]')
    with pytest.raises(AdParseError, match=r"bad\.json: line 2"):
        read_ads(f)


def test_missing_file_is_an_ad_parse_error(tmp_path):
    with pytest.raises(AdParseError, match="cannot read"):
        read_ads(tmp_path / "nope.ads")


SUBMIT = """\
executable     = /bin/sleep
arguments      = 60
request_cpus   = 1
request_memory = 2 GB
queue 5
"""


def test_submit_queue_5_gives_five_ads_with_default_requirements_that_match(tmp_path):
    f = tmp_path / "job.sub"
    f.write_text(SUBMIT)
    ads = read_submit(f, owner="alice")
    assert len(ads) == 5
    assert [a["ProcId"] for a in ads] == [0, 1, 2, 3, 4]
    req = str(ads[0]["Requirements"])
    for clause in (
        'TARGET.Arch == "X86_64"',
        'TARGET.OpSys == "LINUX"',
        "TARGET.Memory >= RequestMemory",
        "TARGET.Disk >= RequestDisk",
        "TARGET.HasFileTransfer",
    ):
        assert clause in req
    assert ads[0]["Owner"] == "alice" and ads[0]["RequestMemory"] == 2048
    machines = [
        {
            "Name": f"slot{i}@wn",
            "Arch": "X86_64",
            "OpSys": "LINUX",
            "Cpus": 1,
            "Memory": 4096,
            "Disk": 10**7,
            "HasFileTransfer": True,
            "Requirements": Expr("START"),
            "START": True,
        }
        for i in range(5)
    ]
    from condorfed.core.classads.values import Ad

    result = negotiate(ads, [Ad(m) for m in machines], NegotiatorConfig(), UsageState(), 0.0)
    assert len(result.matches) == 5


def test_queue_from_list(tmp_path):
    f = tmp_path / "job.sub"
    f.write_text("executable = /bin/echo\narguments = $(item)\nqueue item in (a, b, c)\n")
    ads = read_submit(f, owner="bob")
    assert [a["Args"] for a in ads] == ["a", "b", "c"]


@pytest.mark.parametrize(
    "text",
    [
        "executable = /bin/sleep\nrequirements = (((\nqueue\n",
        "executable = /bin/sleep\nqueue foo bar baz\n",
        "executable = /bin/sleep\nqueue 1 from missing-file.txt\n",
    ],
    ids=["bad-requirements", "bad-queue", "missing-itemdata"],
)
def test_bad_submit_file_is_one_line(tmp_path, text):
    f = tmp_path / "bad.sub"
    f.write_text(text)
    with pytest.raises(AdParseError) as err:
        read_submit(f)
    assert str(f) in str(err.value) and "\n" not in str(err.value)


def test_job_files_keep_clusters_apart(tmp_path):
    a = tmp_path / "a.sub"
    a.write_text(SUBMIT)
    b = tmp_path / "b.sub"
    b.write_text(SUBMIT.replace("queue 5", "queue 2"))
    ads = read_job_files([a, b], owner="alice")
    assert sorted({(x["ClusterId"], x["ProcId"]) for x in ads}) == [(1, i) for i in range(5)] + [
        (2, 0),
        (2, 1),
    ]
