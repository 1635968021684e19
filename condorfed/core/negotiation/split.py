"""Splitting a ClassAd expression into its top-level ``&&`` clauses (for analyze and the engine)."""

from __future__ import annotations

from functools import lru_cache

from condorfed.core.negotiation.refs import _tokens

__all__ = ["split_conjunction"]


def split_conjunction(text: str) -> list[str]:
    """Top-level ``&&`` clauses of an expression, outer parentheses stripped."""
    return list(_split(text))


@lru_cache(maxsize=4096)  # a queue has a few Requirements texts, asked for once per autocluster
def _split(text: str) -> tuple[str, ...]:
    parts: list[str] = []
    depth = 0
    current: list[str] = []
    toks = _tokens(text)
    i = 0
    while i < len(toks):
        _kind, t = toks[i]
        if t in "([{":
            depth += 1
        elif t in ")]}":
            depth -= 1
        if depth == 0 and t == "&" and i + 1 < len(toks) and toks[i + 1][1] == "&":
            parts.append("".join(current).strip())
            current = []
            i += 2
            continue
        current.append(t)
        i += 1
    parts.append("".join(current).strip())
    out = []
    for p in parts:
        while p.startswith("(") and p.endswith(")") and _balanced(p[1:-1]):
            p = p[1:-1].strip()
        if p:
            out.append(p)
    return tuple(out)


def _balanced(text: str) -> bool:
    depth = 0
    for kind, t in _tokens(text):
        if kind == "str":
            continue
        depth += t in "([{"
        depth -= t in ")]}"
        if depth < 0:
            return False
    return depth == 0
