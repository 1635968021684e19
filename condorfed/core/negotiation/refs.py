"""Attribute references in ClassAd expression text, found with a small tokenizer.

Used for significant attributes (autoclustering) and by the classad2 evaluation path, which rewrites
unscoped references the way the negotiator's Old-ClassAd lookup resolves them. Over-reporting a
reference is harmless here (an autocluster splits needlessly); missing one is not, so the tokenizer
is deliberately simple and conservative.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import lru_cache

_TOKEN = re.compile(
    r"""(?P<str>"(?:[^"\\]|\\.)*")
      | (?P<num>(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)
      | (?P<id>[A-Za-z_][A-Za-z0-9_]*)
      | (?P<ws>\s+)
      | (?P<other>.)""",
    re.VERBOSE | re.DOTALL,
)
_KEYWORDS = frozenset({"true", "false", "undefined", "error", "is", "isnt", "parent"})
_SCOPES = frozenset({"my", "target"})


@lru_cache(maxsize=65536)
def _tokens(text: str) -> tuple[tuple[str, str], ...]:
    return tuple((m.lastgroup or "other", m.group()) for m in _TOKEN.finditer(text))


def _attr_positions(tokens: tuple[tuple[str, str], ...]) -> list[tuple[int, str | None, str]]:
    """(token index, scope or None, name) for each attribute reference."""
    out: list[tuple[int, str | None, str]] = []
    n = len(tokens)

    def next_sig(i: int) -> str:
        while i < n and tokens[i][0] == "ws":
            i += 1
        return tokens[i][1] if i < n else ""

    def prev_sig(i: int) -> int:
        i -= 1
        while i >= 0 and tokens[i][0] == "ws":
            i -= 1
        return i

    for i, (kind, text) in enumerate(tokens):
        if kind != "id":
            continue
        low = text.lower()
        if low in _KEYWORDS or next_sig(i + 1) == "(":
            continue
        if low in _SCOPES and next_sig(i + 1) == ".":
            continue
        p = prev_sig(i)
        if p >= 0 and tokens[p][1] == ".":
            q = prev_sig(p)
            if q >= 0 and tokens[q][0] == "id" and tokens[q][1].lower() in _SCOPES:
                out.append((i, tokens[q][1].lower(), low))
            continue  # a selection from a nested ad (x.y): y is no attribute of either ad
        out.append((i, None, low))
    return out


@lru_cache(maxsize=65536)
def references(text: str) -> frozenset[tuple[str | None, str]]:
    """Attribute references as (scope: "my" | "target" | None, lower-case name)."""
    return frozenset((scope, name) for _, scope, name in _attr_positions(_tokens(text)))


def rewrite_unscoped(text: str, to_target: Callable[[str], bool]) -> str:
    """Prefix ``TARGET.`` to each unscoped reference ``name`` for which ``to_target(name)`` holds."""
    tokens = _tokens(text)
    positions = {i for i, scope, name in _attr_positions(tokens) if scope is None and to_target(name)}
    if not positions:
        return text
    return "".join(("TARGET." + t if i in positions else t) for i, (_, t) in enumerate(tokens))
