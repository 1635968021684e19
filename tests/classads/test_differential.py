"""The vectorized evaluator against classad2, on random expressions and random ads."""

from __future__ import annotations

import classad2
from classads_oracle import oracle, same_value
from classads_strategies import ads, expression_texts
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from condorfed.core.classads import AdTable, compile_expr, parse, to_classad, unparse

SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _check(text, my_ads, target_ads):
    my_c = [to_classad(a) for a in my_ads]
    target_c = [to_classad(a) for a in target_ads]
    expected = [oracle(text, m, t) for m, t in zip(my_c, target_c, strict=True)]
    got = compile_expr(text).evaluate(AdTable.from_ads(my_ads), AdTable.from_ads(target_ads)).to_list()
    for k, (e, g) in enumerate(zip(expected, got, strict=True)):
        assert same_value(e, g), (
            f"row {k}: {text!r}\nMY={my_ads[k]!r}\nTARGET={target_ads[k]!r}\n{e!r} != {g!r}"
        )


@SETTINGS
@given(expression_texts, st.lists(st.tuples(ads(), ads()), min_size=1, max_size=6))
def test_table_against_table(text, pairs):
    _check(text, [m for m, _ in pairs], [t for _, t in pairs])


@SETTINGS
@given(expression_texts, ads(), st.lists(ads(), min_size=1, max_size=6))
def test_single_ad_against_table(text, single, many):
    # MY is one ad, TARGET a table (the negotiator's job-against-slots direction), and back.
    expected = [oracle(text, to_classad(single), to_classad(t)) for t in many]
    got = compile_expr(text).evaluate(single, AdTable.from_ads(many)).to_list()
    assert all(same_value(e, g) for e, g in zip(expected, got, strict=True)), (text, expected, got)
    expected = [oracle(text, to_classad(t), to_classad(single)) for t in many]
    got = compile_expr(text).evaluate(AdTable.from_ads(many), single).to_list()
    assert all(same_value(e, g) for e, g in zip(expected, got, strict=True)), (text, expected, got)


@settings(max_examples=300, deadline=None)
@given(expression_texts)
def test_parse_unparse_round_trip_and_classad2_accepts(text):
    node = parse(text)
    assert parse(unparse(node)) == node
    classad2.ExprTree(text)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(expression_texts, ads(), ads())
def test_we_read_what_classad2_prints(text, my, target):
    """classad2's own rendering of an expression (E+00 reals, `is`, real("INF"), ...) parses,
    and means to us what it means to classad2 (the rendering itself rounds reals to 16 digits)."""
    printed = str(classad2.ExprTree(text))
    got = compile_expr(printed).evaluate(my, AdTable.from_ads([target])).to_list()[0]
    assert same_value(oracle(printed, to_classad(my), to_classad(target)), got), (text, printed)
