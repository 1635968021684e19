"""compile_expr(text) -> CompiledExpr: vectorized evaluation over AdTables, classad2 fallback.

The evaluator walks the AST once per call, and each node is a handful of numpy operations over
all rows at once. Attribute values that are expressions are grouped by their text and evaluated
recursively on their rows, in the scope of the ad they came from (MY and TARGET swap for a
TARGET attribute). Branches of ``&&``, ``||`` and ``?:`` are evaluated only on the rows that
reach them, as classad2 does. Rows that reach something the evaluator cannot compile (nested
ads, lists, unknown functions, reference cycles) are re-evaluated by classad2.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from . import ops
from .builtins import MEMO_FUNCTIONS, NUMERIC_FUNCTIONS, call_memo, call_numeric, type_test
from .column import T_ERROR, T_EXPR, T_MISSING, T_STR, T_UNDEF, Column, scatter, scatter_many
from .fallback import Side, eval_pairs
from .nodes import AttrRef, Binary, Call, Cond, Literal, Node, Unary
from .parser import parse
from .scope import Scope
from .table import AdTable

__all__ = ["CompiledExpr", "compile_expr"]

# Names that classad2 resolves to whole ads (the match ad's own attributes), not to values.
_AD_NAMES = frozenset({"my", "target", "other", "ad", "left", "right", "parent", "root"})
_NATIVE_ARITY = {"isundefined": 1, "iserror": 1, "ifthenelse": 3}
_COMPARE = frozenset({"==", "!=", "<", "<=", ">", ">="})
_ARITH = frozenset({"+", "-", "*", "/", "%"})
_BITWISE = frozenset({"&", "|", "^", "<<", ">>", ">>>"})


def compilable(node: Node) -> bool:
    """True if the vectorized evaluator handles every node of the tree."""
    if isinstance(node, Literal):
        return True
    if isinstance(node, AttrRef):
        return node.key not in _AD_NAMES
    if isinstance(node, Unary):
        return compilable(node.operand)
    if isinstance(node, Binary):
        return compilable(node.left) and compilable(node.right)
    if isinstance(node, Cond):
        return compilable(node.cond) and compilable(node.then) and compilable(node.other)
    if isinstance(node, Call):
        name = node.name.lower()
        ok = len(node.args) == _NATIVE_ARITY[name] if name in _NATIVE_ARITY else name in MEMO_FUNCTIONS
        return ok and all(compilable(a) for a in node.args)
    return False  # lists, nested ads, selections, subscripts


class _Ctx:
    """Where a (sub)expression is evaluated: MY and TARGET scopes over ``m`` rows, which are
    rows ``gidx`` of the top-level call (None: all of them)."""

    __slots__ = ("fallback", "gidx", "m", "memo", "my", "stack", "target")

    def __init__(self, my: Scope, target: Scope, m: int, gidx, fallback: list, stack: frozenset,
                 memo: dict | None = None):  # fmt: skip
        self.my, self.target, self.m, self.gidx = my, target, m, gidx
        self.fallback, self.stack = fallback, stack
        # Attribute values already resolved in this call: without it, expressions that refer to
        # each other (A = B + B; B = C + C; ...) cost exponential time in their depth.
        self.memo: dict = {} if memo is None else memo

    def subset(self, local: np.ndarray, *, stable: bool = False) -> _Ctx:
        gidx = local if self.gidx is None else self.gidx[local]
        return _Ctx(self.my.subset(local, stable=stable), self.target.subset(local, stable=stable),
                    len(local), gidx, self.fallback, self.stack, self.memo)  # fmt: skip

    def swapped(self, guard: tuple) -> _Ctx:
        return _Ctx(self.target, self.my, self.m, self.gidx, self.fallback, self.stack | {guard}, self.memo)

    def entered(self, guard: tuple) -> _Ctx:
        return _Ctx(self.my, self.target, self.m, self.gidx, self.fallback, self.stack | {guard}, self.memo)

    def needs_fallback(self) -> Column:
        """Mark all rows of this context for classad2; the placeholder value is never used."""
        self.fallback.append(np.arange(self.m) if self.gidx is None else self.gidx)
        return _ERROR


_UNDEF = Column.const(T_UNDEF)
_ERROR = Column.const(T_ERROR)


@functools.lru_cache(maxsize=4096)
def _literal_column(node: Literal) -> Column:
    return Column.scalar(node.value)


def _select(mask: np.ndarray, a: Column, b: Column) -> Column:
    """Row-wise ``a if mask else b``."""
    m = max(len(mask), len(a.tag), len(b.tag))
    s = None
    if a.s is not None or b.s is not None:
        sa = a.s if a.s is not None else np.full(len(a.tag), None, dtype=object)
        sb = b.s if b.s is not None else np.full(len(b.tag), None, dtype=object)
        s = ops.full(np.where(mask, sa, sb), m)
    return Column(
        ops.full(np.where(mask, a.tag, b.tag).astype(np.int8, copy=False), m),
        ops.full(np.where(mask, a.i, b.i), m),
        ops.full(np.where(mask, a.f, b.f), m),
        s,
    )


def _eval_on(node: Node, ctx: _Ctx, need: np.ndarray) -> Column:
    """Evaluate ``node`` only on the rows where ``need`` holds (others: a placeholder)."""
    if len(need) == 1 or ctx.m == 1:
        return _eval(node, ctx) if need.any() else _UNDEF
    idx = np.nonzero(need)[0]
    if len(idx) == 0:
        return _UNDEF
    if len(idx) * 4 >= ctx.m:
        # Evaluating rows that don't need it is harmless (operators are pure; a row that hits
        # a cycle or an uncompilable value is redone by classad2) and cheaper than subsetting.
        return _eval(node, ctx)
    part = _eval(node, ctx.subset(idx)).broadcast(len(idx))
    return scatter(Column.const(T_UNDEF, ctx.m), idx, part)


def _resolve(ctx: _Ctx, from_target: bool, key: str) -> Column:
    """An attribute of MY (or TARGET), with expression values evaluated in their own ad's scope."""
    scope = ctx.target if from_target else ctx.my
    raw = scope.attr(key)
    kind = raw.kind
    if kind is not None and kind != T_EXPR and kind != T_MISSING:
        return raw
    exprs = raw.tag == T_EXPR
    missing = raw.tag == T_MISSING
    if not exprs.any():
        if missing.any():
            raw = Column(np.where(missing, T_UNDEF, raw.tag).astype(np.int8), raw.i, raw.f, raw.s,
                         raw.codes, raw.pool)  # fmt: skip
        return raw
    memo_key = (from_target, key, ctx.my.key, ctx.target.key)
    hit = ctx.memo.get(memo_key)
    if hit is not None:
        return hit[2]
    col = _resolve_expressions(ctx, from_target, key, scope, raw, exprs, missing)
    ctx.memo[memo_key] = (ctx.my, ctx.target, col)  # the scopes keep their row arrays (ids) alive
    return col


def _resolve_expressions(ctx: _Ctx, from_target: bool, key: str, scope: Scope, raw: Column,
                         exprs: np.ndarray, missing: np.ndarray) -> Column:  # fmt: skip
    guard = (scope.sid, key)
    codes, pool = raw.interned()
    if len(raw.tag) == 1:  # one ad: one expression for every row
        return _eval_attr_expr(ctx, from_target, guard, str(pool[codes[0]]))
    if raw.groups is None:  # cached on the column: tables keep their columns between calls
        idx = np.nonzero(exprs)[0]
        group_codes, inverse = np.unique(codes[idx], return_inverse=True)
        inverse = inverse.reshape(-1)
        raw.groups = tuple((str(pool[c]), idx[inverse == k]) for k, c in enumerate(group_codes.tolist()))
    groups = raw.groups
    if len(groups) == 1 and len(groups[0][1]) == ctx.m:  # one expression on every row
        return _eval_attr_expr(ctx, from_target, guard, groups[0][0])
    base = Column(np.where(missing, T_UNDEF, raw.tag).astype(np.int8), raw.i, raw.f, raw.s)
    parts = [(rows, _eval_attr_expr(ctx.subset(rows, stable=True), from_target, guard, text)
              .broadcast(len(rows)))
             for text, rows in groups]  # fmt: skip
    # Expression texts are the only objects unless some row holds a string literal.
    return scatter_many(base, parts, keep_strings=bool(np.any(raw.tag == T_STR)))


def _eval_attr_expr(ctx: _Ctx, from_target: bool, guard: tuple, text: str) -> Column:
    if guard in ctx.stack:  # a reference cycle: classad2 decides (it raises -> ERROR)
        return ctx.needs_fallback()
    compiled = compile_expr(text)
    if not compiled.compilable:
        return ctx.needs_fallback()
    inner = ctx.swapped(guard) if from_target else ctx.entered(guard)
    return _eval(compiled.node, inner)


def _attr(node: AttrRef, ctx: _Ctx) -> Column:
    key = node.key
    if node.scope == "my":
        return _resolve(ctx, False, key)
    if node.scope == "target":
        return _resolve(ctx, True, key)
    # Unscoped: MY if MY has the attribute (even as `undefined`), else TARGET.
    raw = ctx.my.attr(key)
    if raw.kind is not None:
        return _resolve(ctx, raw.kind == T_MISSING, key)
    if ctx.target.attr(key).kind == T_MISSING:  # TARGET lacks it everywhere: no fall-through
        return _resolve(ctx, False, key)
    present = raw.tag != T_MISSING
    if present.all() or not present.any():
        return _resolve(ctx, not bool(present[0]), key)
    mine, theirs = np.nonzero(present)[0], np.nonzero(~present)[0]
    return scatter_many(Column.const(T_UNDEF, ctx.m), [
        (mine, _resolve(ctx.subset(mine), False, key).broadcast(len(mine))),
        (theirs, _resolve(ctx.subset(theirs), True, key).broadcast(len(theirs))),
    ])  # fmt: skip


def _cond(cond: Column, then: Node, other: Node, ctx: _Ctx, *, operator: bool) -> Column:
    t, f = ops.is_true(cond), ops.is_false(cond)
    if operator:
        # `c ? a : b` evaluates both arms when c is not a boolean or number (classad2 reaches
        # them: a reference cycle there raises); ifThenElse() does not.
        neither = ~(t | f)
        a = _eval_on(then, ctx, t | neither)
        b = _eval_on(other, ctx, f | neither)
    else:
        a = _eval_on(then, ctx, t)
        b = _eval_on(other, ctx, f)
    bad = Column(np.where(cond.tag == T_UNDEF, T_UNDEF, T_ERROR).astype(np.int8),
                 np.zeros(1, np.int64), np.zeros(1))  # fmt: skip
    return _select(t, a, _select(f, b, bad))


def _call(node: Call, ctx: _Ctx) -> Column:
    name = node.name.lower()
    if name == "ifthenelse":
        return _cond(_eval(node.args[0], ctx), node.args[1], node.args[2], ctx, operator=False)
    args = [_eval(a, ctx) for a in node.args]
    if name in ("isundefined", "iserror"):
        return type_test(name, args[0])
    if name in NUMERIC_FUNCTIONS and len(args) == 1:
        out = call_numeric(name, args[0])
        if out is not None:
            return out
    return call_memo(name, args, max([ctx.m, *(len(a.tag) for a in args)]) if args else 1)


def _eval(node: Node, ctx: _Ctx) -> Column:
    if isinstance(node, Literal):
        return _literal_column(node)
    if isinstance(node, AttrRef):
        return _attr(node, ctx)
    if isinstance(node, Binary):
        op = node.op
        left = _eval(node.left, ctx)
        if op == "&&" or op == "||":
            # classad2 skips the right side only when the left decides: false for &&, true for ||.
            need = ~ops.is_false(left) if op == "&&" else ~ops.is_true(left)
            return ops.logic(op, left, _eval_on(node.right, ctx, need))
        right = _eval(node.right, ctx)
        if op in _COMPARE:
            return ops.compare(op, left, right)
        if op in _ARITH:
            return ops.arith(op, left, right)
        if op in _BITWISE:
            return ops.bitwise(op, left, right)
        return ops.same(op, left, right)
    if isinstance(node, Unary):
        operand = _eval(node.operand, ctx)
        return ops.logical_not(operand) if node.op == "!" else ops.unary(node.op, operand)
    if isinstance(node, Cond):
        return _cond(_eval(node.cond, ctx), node.then, node.other, ctx, operator=True)
    if isinstance(node, Call):
        return _call(node, ctx)
    raise AssertionError(f"not compilable: {node!r}")  # compilable() guards this


def _rows(my: Side | None, target: Side | None) -> int:
    lengths = {len(s) for s in (my, target) if isinstance(s, AdTable)}
    if len(lengths) > 1:
        raise ValueError(f"MY and TARGET tables differ in length: {sorted(lengths)}")
    return lengths.pop() if lengths else 1


@dataclass(frozen=True)
class CompiledExpr:
    """A parsed expression, ready to evaluate against ads and tables of ads."""

    text: str
    node: Node
    compilable: bool

    def evaluate(self, my: Side | None, target: Side | None, *, old_scoping: bool = True) -> Column:
        """Evaluate with ``my`` as MY and ``target`` as TARGET (each an Ad, an AdTable or None).

        Returns one value per row (one row when neither side is a table). An unscoped name is
        looked up in MY and then in TARGET: the negotiator's Old-ClassAd scoping, which is also
        what classad2's ``ExprTree.eval(my, target)`` does, so ``old_scoping`` does not change
        the result (docs/classads.md).
        """
        n = _rows(my, target)
        if not self.compilable:
            return eval_pairs(self.text, my, target, None, n)
        ctx = _Ctx(Scope.of(my), Scope.of(target), n, None, [], frozenset())
        with np.errstate(all="ignore"):
            col = _eval(self.node, ctx).broadcast(n)
        if ctx.fallback:
            rows = np.unique(np.concatenate(ctx.fallback))
            col = scatter(col, rows, eval_pairs(self.text, my, target, rows, n))
        return col


@functools.lru_cache(maxsize=4096)
def compile_expr(text: str) -> CompiledExpr:
    """Parse (ExpressionError names the position) and compile; cached by text."""
    node = parse(str(text))
    return CompiledExpr(str(text), node, compilable(node))
