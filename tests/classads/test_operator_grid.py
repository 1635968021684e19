"""Every binary and unary operator over a grid of typed values, against classad2 (the oracle)."""

from __future__ import annotations

import itertools

import pytest
from classads_oracle import oracle, same_value

from condorfed.classads import evaluate_many
from condorfed.core.classads import Ad

VALUES = ["1", "0", "-7", "2", "1.5", "-2.5", "0.0", "-0.0", "1e308", "true", "false", '"a"', '"A"',
          '"10"', '""', "undefined", "error", "(-9223372036854775808)", "9223372036854775807",
          'real("NaN")', 'real("INF")']  # fmt: skip
BINARY = ["||", "&&", "|", "^", "&", "==", "!=", "=?=", "=!=", "is", "isnt", "<", "<=", ">", ">=",
          "<<", ">>", ">>>", "+", "-", "*", "/", "%"]  # fmt: skip
SHIFT_COUNTS = [-130, -65, -64, -63, -2, -1, 0, 1, 2, 62, 63, 64, 65, 127, 128]


def _agree(texts: list[str]) -> None:
    bad = []
    for text in texts:
        expected = oracle(text, None, None)
        got = evaluate_many(text, Ad(), None)[0]
        if not same_value(expected, got):
            bad.append(f"{text}: classad2 {expected!r}, ours {got!r}")
    assert not bad, "\n".join(bad[:20])


@pytest.mark.parametrize("op", BINARY)
def test_binary_operator_grid(op: str) -> None:
    _agree([f"({a}) {op} ({b})" for a, b in itertools.product(VALUES, VALUES)])


@pytest.mark.parametrize("op", ["-", "+", "!", "~"])
def test_unary_operator_grid(op: str) -> None:
    _agree([f"{op}({a})" for a in VALUES])


def test_conditional_grid() -> None:
    _agree([f"({c}) ? 10 : 20" for c in VALUES] + [f"ifThenElse({c}, 10, 20)" for c in VALUES])


@pytest.mark.parametrize("op", ["<<", ">>", ">>>"])
def test_shift_counts(op: str) -> None:
    values = ["1", "-2", "-7", "12345", "(-9223372036854775808)", "9223372036854775807"]
    _agree([f"({a}) {op} ({c})" for a in values for c in SHIFT_COUNTS])


FUNCTION_ARGS = ["1", "-7", "1.5", "-1.5", "2.5", "-2.5", "0.5", "1e30", "-0.0", "true", "false", '"12"',
                 '"-3.7"', '"1e3"', '"abc"', '" 12"', '"12abc"', '""', "undefined", "error",
                 'real("INF")', 'real("NaN")']  # fmt: skip


@pytest.mark.parametrize(
    "name",
    ["int", "real", "floor", "ceiling", "round", "isUndefined", "isError", "toLower", "toUpper", "size"],
)
def test_unary_builtin_grid(name: str) -> None:
    _agree([f"{name}({a})" for a in FUNCTION_ARGS])
