"""Tokenizer for the ClassAd expression language (the subset classad2 parses in an ad value)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from condorfed.errors import ExpressionError

__all__ = ["Token", "tokenize"]

KEYWORDS = {"true", "false", "undefined", "error", "is", "isnt"}

# Longest operators first so that "=?=" wins over "=" and ">>>" over ">>".
_OPERATORS = (
    "=?=", "=!=", ">>>",
    "||", "&&", "==", "!=", "<=", ">=", "<<", ">>",
    "<", ">", "+", "-", "*", "/", "%", "!", "~", "|", "^", "&", "?", ":",
    ".", ",", "(", ")", "[", "]", "{", "}", ";", "=",
)  # fmt: skip

_TOKEN = re.compile(
    r"""
    (?P<ws>\s+|//[^\n]*|/\*.*?\*/)
  | (?P<real>(?:\d+\.\d+|\.\d+)(?:[eE][+-]?\d+)?|\d+[eE][+-]?\d+)
  | (?P<int>\d+)
  | (?P<name>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<string>"(?:[^"\\]|\\.)*")
  | (?P<qname>'(?:[^'\\]|\\.)*')
  | (?P<op>"""
    + "|".join(re.escape(op) for op in _OPERATORS)
    + r""")
    """,
    re.VERBOSE | re.DOTALL,
)

_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "b": "\b", "f": "\f", "a": "\a", "v": "\v"}


@dataclass(frozen=True, slots=True)
class Token:
    kind: str  # "int", "real", "string", "name", "qname", "keyword", "op", "end"
    value: object
    pos: int


def unescape(body: str, text: str, pos: int) -> str:
    """Decode ClassAd string escapes: \\n \\t ..., \\\\, \\", \\', and octal \\ooo."""
    out: list[str] = []
    i = 0
    while i < len(body):
        ch = body[i]
        if ch != "\\":
            out.append(ch)
            i += 1
            continue
        nxt = body[i + 1]
        if nxt in _ESCAPES:
            out.append(_ESCAPES[nxt])
            i += 2
        elif nxt in "01234567":
            digits = re.match(r"[0-3][0-7]{0,2}|[4-7][0-7]?", body[i + 1 :])
            if digits is None:  # pragma: no cover - the alternatives cover every octal digit
                raise ExpressionError(f"bad octal escape at position {pos + i} in {text!r}")
            code = int(digits.group(0), 8)
            if code == 0:
                raise ExpressionError(f"NUL character in string at position {pos + i} in {text!r}")
            out.append(chr(code))
            i += 1 + len(digits.group(0))
        else:  # \\ \" \' and any other escaped character stand for themselves
            out.append(nxt)
            i += 2
    return "".join(out)


def tokenize(text: str) -> list[Token]:
    tokens: list[Token] = []
    pos = 0
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None:
            raise ExpressionError(f"unexpected character {text[pos]!r} at position {pos} in {text!r}")
        kind = m.lastgroup
        raw = m.group(0)
        if kind == "ws":
            pass
        elif kind == "int":
            if len(raw) > 1 and raw[0] == "0":
                raise ExpressionError(f"octal-looking integer {raw!r} at position {pos} in {text!r}")
            # Out-of-range literals are kept as is; the parser maps them as classad2 does.
            tokens.append(Token("int", int(raw), pos))
        elif kind == "real":
            tokens.append(Token("real", float(raw), pos))
        elif kind == "name":
            low = raw.lower()
            tokens.append(Token("keyword", low, pos) if low in KEYWORDS else Token("name", raw, pos))
        elif kind == "string":
            tokens.append(Token("string", unescape(raw[1:-1], text, pos), pos))
        elif kind == "qname":
            tokens.append(Token("qname", unescape(raw[1:-1], text, pos), pos))
        else:
            tokens.append(Token("op", raw, pos))
        pos = m.end()
    tokens.append(Token("end", None, len(text)))
    return tokens
