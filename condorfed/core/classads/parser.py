"""A precedence-climbing parser for ClassAd expressions, its inverse, and reference extraction.

Precedence, loosest first (as the ClassAd language defines it):
``?:`` < ``||`` < ``&&`` < ``|`` < ``^`` < ``&`` < ``== != =?= =!= is isnt``
< ``< <= > >=`` < ``<< >> >>>`` < ``+ -`` < ``* / %`` < unary ``- + ! ~`` < ``.`` ``[]`` calls.
"""

from __future__ import annotations

import functools
import math
import re

from condorfed.errors import ExpressionError

from .lexer import KEYWORDS, Token, tokenize
from .nodes import (
    AttrRef,
    Binary,
    Call,
    Cond,
    ListExpr,
    Literal,
    Node,
    RecordExpr,
    Select,
    Subscript,
    Unary,
)
from .values import ERROR, UNDEFINED

__all__ = ["parse", "references", "unparse"]

BINARY_PRECEDENCE = {
    "||": 1,
    "&&": 2,
    "|": 3,
    "^": 4,
    "&": 5,
    "==": 6, "!=": 6, "=?=": 6, "=!=": 6,
    "<": 7, "<=": 7, ">": 7, ">=": 7,
    "<<": 8, ">>": 8, ">>>": 8,
    "+": 9, "-": 9,
    "*": 10, "/": 10, "%": 10,
}  # fmt: skip
_KEYWORD_OPS = {"is": "=?=", "isnt": "=!="}
_SCOPES = {"my", "target"}


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = tokenize(text)
        self.i = 0

    # -- token helpers -------------------------------------------------------------------------
    def peek(self) -> Token:
        return self.tokens[self.i]

    def next(self) -> Token:
        tok = self.tokens[self.i]
        self.i += 1
        return tok

    def fail(self, tok: Token, what: str) -> ExpressionError:
        found = "end of text" if tok.kind == "end" else repr(self.text[tok.pos : tok.pos + 12])
        return ExpressionError(f"{what} at position {tok.pos} (found {found}) in {self.text!r}")

    def expect_op(self, op: str) -> None:
        tok = self.next()
        if tok.kind != "op" or tok.value != op:
            raise self.fail(tok, f"expected {op!r}")

    def at_op(self, op: str) -> bool:
        tok = self.peek()
        return tok.kind == "op" and tok.value == op

    # -- grammar -------------------------------------------------------------------------------
    def parse_all(self) -> Node:
        node = self.expression()
        tok = self.peek()
        if tok.kind != "end":
            raise self.fail(tok, "unexpected text after the expression")
        return node

    def expression(self) -> Node:
        cond = self.binary(1)
        if self.at_op("?"):
            self.next()
            then = self.expression()
            self.expect_op(":")
            other = self.expression()
            return Cond(cond, then, other)
        return cond

    def binary_op(self) -> str | None:
        tok = self.peek()
        if tok.kind == "op" and tok.value in BINARY_PRECEDENCE:
            return str(tok.value)
        if tok.kind == "keyword" and tok.value in _KEYWORD_OPS:
            return _KEYWORD_OPS[str(tok.value)]
        return None

    def binary(self, min_prec: int) -> Node:
        left = self.unary()
        while (op := self.binary_op()) is not None and BINARY_PRECEDENCE[op] >= min_prec:
            self.next()
            right = self.binary(BINARY_PRECEDENCE[op] + 1)  # all binary operators are left-assoc
            left = Binary(op, left, right)
        return left

    def unary(self) -> Node:
        tok = self.peek()
        if tok.kind == "op" and tok.value in ("-", "+", "!", "~"):
            self.next()
            nxt = self.peek()
            if tok.value == "-" and nxt.kind == "int" and nxt.value == 2**63:
                # "-9223372036854775808" is INT64_MIN to classad2 (any other overflow reads 0)
                self.next()
                return self.postfix(Literal(-(2**63)))
            return Unary(str(tok.value), self.unary())
        return self.postfix(self.primary())

    def postfix(self, node: Node) -> Node:
        while True:
            if self.at_op("."):
                self.next()
                tok = self.next()
                if tok.kind not in ("name", "qname", "keyword"):
                    raise self.fail(tok, "expected an attribute name after '.'")
                name = str(tok.value)
                if isinstance(node, AttrRef) and node.scope is None and node.key in _SCOPES:
                    node = AttrRef(node.key, name)
                else:
                    node = Select(node, name)
            elif self.at_op("["):
                self.next()
                index = self.expression()
                self.expect_op("]")
                node = Subscript(node, index)
            else:
                return node

    def primary(self) -> Node:
        tok = self.next()
        kind, value = tok.kind, tok.value
        if kind == "int":
            return Literal(value if value < 2**63 else 0)  # classad2 reads an overflow as 0
        if kind in ("real", "string"):
            return Literal(value)
        if kind == "keyword":
            if value in ("true", "false"):
                return Literal(value == "true")
            if value == "undefined":
                return Literal(UNDEFINED)
            if value == "error":
                return Literal(ERROR)
            raise self.fail(tok, "expected an operand")
        if kind == "qname":
            return AttrRef(None, str(value))
        if kind == "name":
            if self.at_op("("):
                self.next()
                return Call(str(value), self.items(")"))
            return AttrRef(None, str(value))
        if kind == "op":
            if value == "(":
                node = self.expression()
                self.expect_op(")")
                return node
            if value == "{":
                return ListExpr(self.items("}"))
            if value == "[":
                return self.record()
        raise self.fail(tok, "expected an operand")

    def items(self, close: str) -> tuple[Node, ...]:
        out: list[Node] = []
        if self.at_op(close):
            self.next()
            return ()
        while True:
            out.append(self.expression())
            tok = self.next()
            if tok.kind == "op" and tok.value == close:
                return tuple(out)
            if not (tok.kind == "op" and tok.value == ","):
                raise self.fail(tok, f"expected ',' or {close!r}")

    def record(self) -> RecordExpr:
        attrs: list[tuple[str, Node]] = []
        while not self.at_op("]"):
            tok = self.next()
            if tok.kind not in ("name", "qname"):
                raise self.fail(tok, "expected an attribute name in a nested ad")
            self.expect_op("=")
            attrs.append((str(tok.value), self.expression()))
            if self.at_op(";"):
                self.next()
            elif not self.at_op("]"):
                raise self.fail(self.peek(), "expected ';' or ']' in a nested ad")
        self.next()
        return RecordExpr(tuple(attrs))


@functools.lru_cache(maxsize=8192)
def parse(text: str) -> Node:
    """Parse ClassAd expression text into an AST; ExpressionError names the position."""
    if not isinstance(text, str):
        raise ExpressionError(f"expression must be text, got {type(text).__name__}")
    return _Parser(text).parse_all()


# -- unparse -----------------------------------------------------------------------------------
_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
_STRING_ESCAPES = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\t": "\\t", "\r": "\\r", "\b": "\\b", "\f": "\\f"}


def _quote(text: str, quote: str) -> str:
    out = []
    for ch in text:
        if ch == quote or ch == "\\":
            out.append("\\" + ch)
        elif ch in _STRING_ESCAPES:
            out.append(_STRING_ESCAPES[ch])
        elif ord(ch) < 32:
            out.append(f"\\{ord(ch):03o}")
        else:
            out.append(ch)
    return quote + "".join(out) + quote


def _name(name: str) -> str:
    if _IDENT.match(name) and name.lower() not in KEYWORDS:
        return name
    return _quote(name, "'")


def _literal(value: object) -> str:
    if value is UNDEFINED:
        return "undefined"
    if value is ERROR:
        return "error"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        if value == -(2**63):  # its magnitude is no int64 literal
            return "(-9223372036854775808)"
        return str(value) if value >= 0 else f"({value})"
    if isinstance(value, float):
        if value != value:
            return 'real("NaN")'
        if value in (float("inf"), float("-inf")):
            return "1e999" if value > 0 else "(-1e999)"
        text = repr(value)
        if "e" not in text and "." not in text:
            text += ".0"
        return f"({text})" if math.copysign(1.0, value) < 0 else text
    if isinstance(value, str):
        return _quote(value, '"')
    raise TypeError(f"not a ClassAd literal: {value!r}")


def _atom(node: Node) -> str:
    """Unparse a child, wrapping anything that is not atomic in parentheses."""
    text = unparse(node)
    if isinstance(node, (Binary, Cond, Unary)):
        return f"({text})"
    return text


def unparse(node: Node) -> str:
    """ClassAd text for ``node``; ``parse(unparse(n)) == n`` for every tree ``parse`` builds."""
    if isinstance(node, Literal):
        return _literal(node.value)
    if isinstance(node, AttrRef):
        prefix = {"my": "MY.", "target": "TARGET."}.get(node.scope or "", "")
        return prefix + _name(node.name)
    if isinstance(node, Unary):
        return node.op + _atom(node.operand)
    if isinstance(node, Binary):
        return f"{_atom(node.left)} {node.op} {_atom(node.right)}"
    if isinstance(node, Cond):
        return f"{_atom(node.cond)} ? {_atom(node.then)} : {_atom(node.other)}"
    if isinstance(node, Call):
        return f"{node.name}({', '.join(unparse(a) for a in node.args)})"
    if isinstance(node, ListExpr):
        return "{" + ", ".join(unparse(a) for a in node.items) + "}"
    if isinstance(node, RecordExpr):
        return "[" + "; ".join(f"{_name(k)} = {unparse(v)}" for k, v in node.attrs) + "]"
    if isinstance(node, Select):
        return f"{_atom(node.base)}.{_name(node.name)}"
    if isinstance(node, Subscript):
        return f"{_atom(node.base)}[{unparse(node.index)}]"
    raise TypeError(f"not a ClassAd AST node: {node!r}")


# -- references ----------------------------------------------------------------------------------
def walk(node: Node):
    """Yield ``node`` and every node below it."""
    stack = [node]
    while stack:
        n = stack.pop()
        yield n
        if isinstance(n, Unary):
            stack.append(n.operand)
        elif isinstance(n, Binary):
            stack.extend((n.left, n.right))
        elif isinstance(n, Cond):
            stack.extend((n.cond, n.then, n.other))
        elif isinstance(n, Call):
            stack.extend(n.args)
        elif isinstance(n, ListExpr):
            stack.extend(n.items)
        elif isinstance(n, RecordExpr):
            stack.extend(v for _, v in n.attrs)
        elif isinstance(n, Select):
            stack.append(n.base)
        elif isinstance(n, Subscript):
            stack.extend((n.base, n.index))


@functools.lru_cache(maxsize=8192)
def _references(text: str) -> frozenset[tuple[str | None, str]]:
    return frozenset((n.scope, n.key) for n in walk(parse(text)) if isinstance(n, AttrRef))


def references(text: str) -> set[tuple[str | None, str]]:
    """Attribute references in ``text`` as (scope: None | "my" | "target", lower-cased name).

    Names inside a nested ad literal are included too (over-approximation is safe for the
    autocluster signature that uses this)."""
    return set(_references(text))
