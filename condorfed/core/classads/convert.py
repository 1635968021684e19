"""Conversion between classad2.ClassAd and the core's Ad."""

from __future__ import annotations

import classad2

from .values import ERROR, UNDEFINED, Ad, Expr, Value

__all__ = ["from_classad", "to_classad", "to_value"]


def to_value(c: classad2.ClassAd, key: str) -> Value:
    """One attribute of a classad2 ad as a core Value (literals as Python, the rest as Expr)."""
    v = c.get(key)
    if v is True or v is False or v is UNDEFINED or v is ERROR:
        return v
    if type(v) in (int, float, str):
        return v
    return Expr(str(c.lookup(key)))


def from_classad(c: classad2.ClassAd) -> Ad:
    """A classad2 ad as an Ad; expressions, lists, nested ads and times are kept as Expr text."""
    ad = Ad()
    for key in c:
        ad[key] = to_value(c, key)
    return ad


def to_classad(ad: Ad) -> classad2.ClassAd:
    """An Ad as a classad2 ad (Expr values are parsed by classad2)."""
    c = classad2.ClassAd()
    for name, v in ad.items():
        if isinstance(v, Expr):
            c[name] = classad2.ExprTree(str(v))
        elif v is UNDEFINED or v is ERROR:
            c[name] = classad2.ExprTree("undefined" if v is UNDEFINED else "error")
        else:
            c[name] = v
    return c
