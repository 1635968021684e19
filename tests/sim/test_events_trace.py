"""The virtual clock's ordering and the JSONL trace reader."""

from __future__ import annotations

import pytest

from condorfed.errors import SimulationError
from condorfed.sim.events import EventQueue
from condorfed.sim.trace import TraceEntry, dump_trace, parse_trace, read_trace


def test_events_pop_by_time_then_priority_then_insertion():
    q = EventQueue()
    q.push(10.0, "b")
    q.push(5.0, "a")
    q.push(10.0, "negotiate", priority=5)
    q.push(10.0, "c")
    q.push(10.0, "done", priority=0)
    assert [q.pop()[1] for _ in range(5)] == ["a", "b", "c", "done", "negotiate"]
    assert q.now == 10.0


def test_events_refuse_the_past():
    q = EventQueue()
    q.push(10.0, "a")
    q.pop()
    with pytest.raises(ValueError):
        q.push(9.0, "late")


def test_trace_reads_every_field_and_defaults():
    lines = [
        '{"submit": 120, "owner": "alice", "group": "atlas", "cpus": 2, "memory": 2000, "gpus": 1, '
        '"runtime": 3600, "requirements": "TARGET.Arch == \\"X86_64\\"", "count": 10}',
        "",
        "# a comment",
        '{"submit": 0, "owner": "bob", "runtime": 60}',
    ]
    a, b = parse_trace(lines, "t.jsonl")
    assert a == TraceEntry(120.0, "alice", 3600.0, 2, 2000, 0, 1, "atlas", 'TARGET.Arch == "X86_64"', 10)
    assert (b.cpus, b.memory, b.gpus, b.group, b.requirements, b.count) == (1, 1024, 0, None, None, 1)
    assert list(parse_trace(dump_trace([a, b]), "x")) == [a, b]


BAD = {
    "not-json": ("{submit: 1}", "t.jsonl:2: not valid JSON"),
    "not-object": ("[1, 2]", "t.jsonl:2: expected a JSON object"),
    "missing-owner": ('{"submit": 1, "runtime": 5}', "t.jsonl:2: missing required field 'owner'"),
    "missing-runtime": ('{"submit": 1, "owner": "a"}', "t.jsonl:2: missing required field 'runtime'"),
    "negative-submit": (
        '{"submit": -1, "owner": "a", "runtime": 5}',
        "t.jsonl:2: field 'submit' must be >= 0",
    ),
    "fractional-cpus": ('{"submit": 1, "owner": "a", "runtime": 5, "cpus": 1.5}', "must be an integer"),
    "zero-count": ('{"submit": 1, "owner": "a", "runtime": 5, "count": 0}', "field 'count' must be >= 1"),
    "string-memory": (
        '{"submit": 1, "owner": "a", "runtime": 5, "memory": "2G"}',
        "field 'memory' must be a number",
    ),
    "bool-cpus": ('{"submit": 1, "owner": "a", "runtime": 5, "cpus": true}', "field 'cpus' must be a number"),
    "unknown-field": ('{"submit": 1, "owner": "a", "runtime": 5, "priority": 3}', "unknown field 'priority'"),
    "bad-requirements": (
        '{"submit": 1, "owner": "a", "runtime": 5, "requirements": "Cpus >"}',
        "not a ClassAd expression",
    ),
    "empty-owner": ('{"submit": 1, "owner": "", "runtime": 5}', "field 'owner' must be a non-empty string"),
}


@pytest.mark.parametrize("line,message", BAD.values(), ids=BAD.keys())
def test_a_bad_line_names_file_and_line(line, message):
    good = '{"submit": 0, "owner": "a", "runtime": 1}'
    with pytest.raises(SimulationError) as err:
        parse_trace([good, line], "t.jsonl")
    text = str(err.value)
    assert text.startswith("t.jsonl:2: ") and message in text and "\n" not in text


def test_read_trace_missing_file(tmp_path):
    with pytest.raises(SimulationError, match="cannot read trace"):
        read_trace(tmp_path / "nope.jsonl")


from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

_entries = st.builds(
    TraceEntry,
    submit=st.floats(0, 1e7, allow_nan=False),
    owner=st.text("abcdefghijklmnopqrstuvwxyz0123456789._-@é", min_size=1, max_size=12),
    runtime=st.floats(0, 1e6, allow_nan=False),
    cpus=st.integers(1, 128),
    memory=st.integers(0, 10**6),
    disk=st.integers(0, 10**6),
    gpus=st.integers(0, 8),
    group=st.none() | st.sampled_from(["atlas", "cms", "atlas.prod"]),
    requirements=st.none()
    | st.sampled_from(['TARGET.Arch == "X86_64"', "Memory > 1024", "HasAVX2 =?= true"]),
    count=st.integers(1, 10**6),
)


@settings(max_examples=60, deadline=None)
@given(st.lists(_entries, max_size=5))
def test_trace_round_trips(entries):
    assert parse_trace(list(dump_trace(entries)), "p.jsonl") == entries


@settings(max_examples=100, deadline=None)
@given(st.text(max_size=60))
def test_garbage_lines_raise_one_line_errors_or_parse(line):
    try:
        parse_trace([line], "g.jsonl")
    except SimulationError as err:
        assert str(err).startswith("g.jsonl") and "\n" not in str(err)
