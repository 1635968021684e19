"""Autocluster keys: equal exactly when matchmaking cannot tell the jobs apart."""

from __future__ import annotations

import pytest

from condorfed.core.classads.values import Ad, Expr
from condorfed.core.negotiation.autocluster import significant_key

SIDE = frozenset({"owner", "memory"})


@pytest.mark.parametrize(
    ("a", "b", "same"),
    [
        (Ad(RequestCpus=1, ProcId=0), Ad(RequestCpus=1, ProcId=7), True),
        (Ad(RequestCpus=1), Ad(RequestCpus=1.0), False),
        (Ad(RequestCpus=1), Ad(RequestCpus=True), False),
        (Ad(Owner="a"), Ad(Owner="b"), False),
        (Ad(Owner="a", Args="1"), Ad(Owner="a", Args="2"), True),
        (
            Ad(Requirements=Expr("Foo > 1"), Foo=Expr("Bar"), Bar=1),
            Ad(Requirements=Expr("Foo > 1"), Foo=Expr("Bar"), Bar=2),
            False,
        ),
        (
            Ad(Requirements=Expr("TARGET.Foo > 1"), Foo=1),
            Ad(Requirements=Expr("TARGET.Foo > 1"), Foo=2),
            True,
        ),
        (Ad(Requirements=Expr("x")), Ad(Requirements="x"), False),
    ],
    ids=[
        "procid-ignored",
        "int-vs-real",
        "int-vs-bool",
        "slot-side-attr",
        "unreferenced-attr",
        "nested-reference",
        "target-reference-not-job",
        "expr-vs-string",
    ],
)
def test_significant_key(a, b, same):
    assert (significant_key(a, SIDE) == significant_key(b, SIDE)) is same
