"""The first-version interface: parse/unparse, references, conversion, tables, evaluate_many."""

from __future__ import annotations

import classad2
import numpy as np
import pytest

from condorfed.classads import evaluate_many
from condorfed.core.classads import (
    ERROR,
    UNDEFINED,
    Ad,
    AdTable,
    Expr,
    compile_expr,
    from_classad,
    parse,
    references,
    to_classad,
    unparse,
)
from condorfed.errors import ExpressionError


@pytest.mark.parametrize(
    "text",
    [
        "MY.Rank + TARGET.Memory * 2 - -3",
        "a ? b : c ? d : e",
        'stringListMember(TARGET.FedCluster, "a,b")',
        "x =?= undefined || y isnt error",
        '{1, 2.5, "s\\"q"}[0]',
        "[a = 1; b = a + 1].b",
        "'odd name' + 1",
        "!(a && b) | c ^ d & e",
        "1 << 2 >> 3 >>> 4",
    ],
)
def test_unparse_round_trips_and_classad2_agrees(text: str) -> None:
    node = parse(text)
    again = unparse(node)
    assert parse(again) == node
    classad2.ExprTree(again)  # classad2 accepts what we print


@pytest.mark.parametrize("text", ["a +", "(a", "a b", "1 ? 2", "f(1,", "010"])
def test_parse_errors_name_the_position(text: str) -> None:
    with pytest.raises(ExpressionError, match="position"):
        parse(text)


def test_references_are_scoped_and_lower_cased() -> None:
    assert references("MY.Rank + TARGET.Memory - memory + f(Disk)") == {
        ("my", "rank"),
        ("target", "memory"),
        (None, "memory"),
        (None, "disk"),
    }


def test_classad_conversion_round_trip() -> None:
    c = classad2.ClassAd(
        '[A = 1; B = "x"; C = true; D = undefined; E = error; F = 1.5; G = A + 1; L = {1, 2}]'
    )
    ad = from_classad(c)
    assert ad["a"] == 1 and ad["B"] == "x" and ad["c"] is True and ad["f"] == 1.5
    assert ad["d"] is UNDEFINED and ad["e"] is ERROR
    assert isinstance(ad["G"], Expr) and isinstance(ad["L"], Expr)
    back = to_classad(ad)
    assert classad2.ExprTree("G + L[1]").eval(back) == 4


def test_table_columns_and_set_column() -> None:
    table = AdTable.from_ads([Ad(Cpus=4, Memory=8192), Ad(Cpus=2, Memory=1024.5), Ad(Cpus=1)])
    assert len(table) == 3
    assert table.column("cpus").dtype == np.int64
    assert np.isnan(table.column("Memory")[2])
    table.set_column("Cpus", np.array([3, 1, 0]))
    assert table.ad(0)["Cpus"] == 3 and list(table.ad(0)) == ["Cpus", "Memory"]
    col = compile_expr("Cpus > 0").evaluate(table, None)
    assert col.truth().tolist() == [True, True, False]


def test_compiled_expr_single_and_table() -> None:
    job = Ad(RequestMemory=2048, Requirements=Expr("TARGET.Memory >= RequestMemory"))
    slots = AdTable.from_ads([Ad(Memory=1024), Ad(Memory=4096), Ad()])
    col = compile_expr("Requirements").evaluate(job, slots)
    assert col.to_list() == [False, True, UNDEFINED]
    assert col.truth().tolist() == [False, True, False]
    assert compile_expr("TARGET.Memory / 2").evaluate(job, slots).as_float().tolist() == [512.0, 2048.0, 0.0]


def test_evaluate_many_matches_classad2_pairwise() -> None:
    slots = [classad2.ClassAd(f'[Memory = {m}; Name = "s{m}"]') for m in (512, 2048)]
    job = classad2.ClassAd("[RequestMemory = 1000; Requirements = TARGET.Memory > RequestMemory]")
    expected = [classad2.ExprTree("Requirements").eval(job, s) for s in slots]
    assert evaluate_many("Requirements", job, slots) == expected == [False, True]
    assert evaluate_many("TARGET.RequestMemory", slots, job) == [1000, 1000]


def test_reference_cycles_are_error_not_exceptions() -> None:
    assert evaluate_many("A", [classad2.ClassAd("[A = B; B = A]")], None) == [ERROR]


def test_zero_and_negative_zero_stay_apart_in_caches() -> None:
    """0.0 == -0.0 in Python, but they are different ClassAd reals (cached columns must not mix)."""
    assert compile_expr("X").evaluate(Ad(X=-0.0), None).to_list()[0].hex() == "-0x0.0p+0"
    assert compile_expr("X").evaluate(Ad(X=0.0), None).to_list()[0].hex() == "0x0.0p+0"
    assert parse("-0.0") != parse("0.0")


def test_evaluate_many_pairs_two_sequences_and_falls_back_for_lists() -> None:
    my = [classad2.ClassAd("[L = {1, 2, 3}; X = 1]"), classad2.ClassAd("[L = {4}; X = 2.5]")]
    target = [classad2.ClassAd("[Y = 10]"), classad2.ClassAd("[Y = 20]")]
    for expr in ["X + TARGET.Y", "size(L) + Y", "member(X, L)", "X * Y > 20"]:
        expected = [classad2.ExprTree(expr).eval(m, t) for m, t in zip(my, target, strict=True)]
        got = evaluate_many(expr, my, target)
        assert got == expected and [type(g) for g in got] == [type(e) for e in expected], expr


def test_attributes_referring_to_each_other_deeply() -> None:
    """A = B + B + C + C; B = C + C + D + D; ... evaluates each attribute once per call (this
    chain took exponential time before attribute values were memoized within a call)."""
    names = [f"A{k}" for k in range(16)]
    ad = Ad(
        {
            n: Expr(f"{names[k + 1]} + {names[k + 1]} + {names[min(k + 2, 15)]}")
            for k, n in enumerate(names[:-1])
        }
    )
    ad[names[-1]] = 1
    expected = classad2.ExprTree("A0").eval(to_classad(ad))
    assert compile_expr("A0").evaluate(ad, AdTable.from_ads([Ad(), Ad()])).to_list() == [expected, expected]
