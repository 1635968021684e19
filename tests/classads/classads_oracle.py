"""Helpers for the ClassAd tests: the classad2 oracle and a strict value comparison."""

from __future__ import annotations

import math

import classad2
import htcondor2  # noqa: F401  (registers stringListMember & co. with classad2)

from condorfed.core.classads import ERROR


def oracle(text: str, my, target):
    """classad2's answer; classad2 raises where the C++ library yields ERROR (reference cycles)."""
    try:
        return classad2.ExprTree(text).eval(my, target)
    except classad2.ClassAdException:
        return ERROR


def same_value(a, b) -> bool:
    """Equal in value *and* type (bool is not int, 1 is not 1.0, -0.0 is not 0.0, NaN is NaN)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, float):
        return (math.isnan(a) and math.isnan(b)) or (a == b and math.copysign(1, a) == math.copysign(1, b))
    if isinstance(a, classad2.ClassAd | classad2.ExprTree):
        return str(a) == str(b)
    return a == b
