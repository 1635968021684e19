"""Old-ClassAd scoping: classad2's eval, the written-out rewrite, and the vectorized evaluator agree."""

from __future__ import annotations

import classad2
from classads_oracle import oracle, same_value
from classads_strategies import ads, expression_texts
from hypothesis import HealthCheck, given, settings

from condorfed.classads import evaluate_many
from condorfed.core.classads import UNDEFINED, Ad, AdTable, Expr, compile_expr, to_classad
from condorfed.core.classads.scoping import old_scoping_ads


def test_unscoped_job_requirement_matches_slot_attribute() -> None:
    """`Requirements = Memory > 1024` in a job: the negotiator finds Memory in the slot."""
    job = Ad(Requirements=Expr("Memory > 1024"))
    slots = [Ad(Memory=512), Ad(Memory=2048)]
    ours = compile_expr("Requirements").evaluate(job, AdTable.from_ads(slots), old_scoping=True).to_list()
    assert ours == [False, True]
    # classad2 24.0 does the same MY-then-TARGET lookup, in eval() and in matches() /
    # symmetricMatch() (contrary to what DESIGN.md expected; pinned here so a change shows)...
    job_c, slots_c = to_classad(job), [to_classad(s) for s in slots]
    assert [classad2.ExprTree("Requirements").eval(job_c, s) for s in slots_c] == [False, True]
    for s in slots_c:
        s["Requirements"] = True
    assert [s.matches(job_c) for s in slots_c] == [False, True]  # s.matches: job's Requirements
    assert [job_c.symmetricMatch(s) for s in slots_c] == [False, True]
    # ...so evaluate_many gives it with either setting,
    assert evaluate_many("Requirements", job_c, slots_c) == [False, True]
    assert evaluate_many("Requirements", job_c, slots_c, old_scoping=True) == [False, True]
    # while strict scoping (MY only, as the rewrite leaves `Memory` when no ad has it) is UNDEFINED.
    assert evaluate_many("MY.Memory > 1024", job_c, slots_c) == [UNDEFINED, UNDEFINED]


def test_mine_first_even_when_undefined() -> None:
    """MY's own attribute wins even if its value is `undefined`; only a missing one falls through."""
    my, target = Ad(X=Expr("undefined"), Y=1), Ad(X=5, Y=2, Z=7)
    col = compile_expr("{X} + 0")  # a list is not compilable: classad2 path
    assert col.compilable is False
    assert compile_expr("X").evaluate(my, target).to_list() == [UNDEFINED]
    assert compile_expr("Y * 10 + Z").evaluate(my, target).to_list() == [17]
    assert compile_expr("TARGET.Y").evaluate(my, target).to_list() == [2]


def test_target_values_are_evaluated_in_their_own_ad() -> None:
    """TARGET.G = MY.K + TARGET.K * 10 + K * 100, pulled in from TARGET: MY there is TARGET."""
    my = Ad(K=1, D=Expr("Z"), F=Expr("TARGET.G"))
    target = Ad(K=2, Z=Expr("MY.K"), G=Expr("MY.K + TARGET.K * 10 + K * 100"))
    for text, expected in [
        ("D", 2),
        ("F", 212),
        ("TARGET.G", 212),
        ("G", 212),
        ("Z", 2),
        ("MY.Z", UNDEFINED),
    ]:
        assert compile_expr(text).evaluate(my, target).to_list() == [expected], text
        assert same_value(oracle(text, to_classad(my), to_classad(target)), expected), text


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(expression_texts, ads(), ads())
def test_rewrite_path_equals_classad2_and_vectorized(text, my, target):
    rewritten, my2, target2 = old_scoping_ads(text, my, target)
    via_rewrite = oracle(rewritten, to_classad(my2), to_classad(target2))
    direct = oracle(text, to_classad(my), to_classad(target))
    ours = compile_expr(text).evaluate(my, AdTable.from_ads([target]), old_scoping=True).to_list()[0]
    assert same_value(direct, via_rewrite), (text, rewritten, direct, via_rewrite)
    assert same_value(direct, ours), (text, direct, ours)
