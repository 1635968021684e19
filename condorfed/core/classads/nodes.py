"""The ClassAd expression AST: small frozen dataclasses, hashable so they can key caches."""

from __future__ import annotations

from dataclasses import dataclass

from .values import ERROR, UNDEFINED

__all__ = [
    "AttrRef",
    "Binary",
    "Call",
    "Cond",
    "ListExpr",
    "Literal",
    "Node",
    "RecordExpr",
    "Select",
    "Subscript",
    "Unary",
]


@dataclass(frozen=True, slots=True)
class Literal:
    """A constant: bool, int, float, str, ``UNDEFINED`` or ``ERROR``."""

    value: object

    def __eq__(self, other: object) -> bool:
        # 1 == True == 1.0 in Python; ClassAd literals of different types are different nodes.
        # ... and 0.0 == -0.0, which are different ClassAd values too: compare reals by repr.
        return isinstance(other, Literal) and _key(self.value) == _key(other.value)

    def __hash__(self) -> int:
        return hash(_key(self.value))


def _key(value: object) -> tuple:
    return (type(value), repr(value)) if isinstance(value, float) else (type(value), value)


@dataclass(frozen=True, slots=True)
class AttrRef:
    """An attribute reference. ``scope`` is None (unscoped), ``"my"`` or ``"target"``;
    ``name`` keeps its spelling (ClassAd names are case-insensitive: compare ``key``)."""

    scope: str | None
    name: str

    @property
    def key(self) -> str:
        return self.name.lower()


@dataclass(frozen=True, slots=True)
class Unary:
    op: str  # "-", "+", "!", "~"
    operand: Node


@dataclass(frozen=True, slots=True)
class Binary:
    op: str  # "||", "&&", "|", "^", "&", "==", "!=", "=?=", "=!=", "<", ... "+", "-", "*", "/", "%"
    left: Node
    right: Node


@dataclass(frozen=True, slots=True)
class Cond:
    """``cond ? then : other``."""

    cond: Node
    then: Node
    other: Node


@dataclass(frozen=True, slots=True)
class Call:
    """A function call; ``name`` keeps its spelling (function names are case-insensitive)."""

    name: str
    args: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class ListExpr:
    items: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class RecordExpr:
    """A nested ad ``[a = 1; b = 2]``: attribute name -> expression, in source order."""

    attrs: tuple[tuple[str, Node], ...]


@dataclass(frozen=True, slots=True)
class Select:
    """``base.name`` where base is not MY/TARGET (e.g. a nested ad): evaluated by classad2."""

    base: Node
    name: str


@dataclass(frozen=True, slots=True)
class Subscript:
    """``base[index]``: list indexing or ad lookup by string, evaluated by classad2."""

    base: Node
    index: Node


Node = Literal | AttrRef | Unary | Binary | Cond | Call | ListExpr | RecordExpr | Select | Subscript

TRUE = Literal(True)
FALSE = Literal(False)
UNDEFINED_LITERAL = Literal(UNDEFINED)
ERROR_LITERAL = Literal(ERROR)
