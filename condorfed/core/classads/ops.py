"""ClassAd operators over Columns, with classad2's exact semantics (probed; see tests/classads).

Rules shared by most operators: ERROR in either operand gives ERROR, else UNDEFINED gives
UNDEFINED, else a type mismatch gives ERROR. Booleans count as integers in arithmetic and
comparisons, but not in bitwise operators, unary +/- or ``%``-with-reals. Integer arithmetic
wraps at 64 bits; ``/`` and ``%`` truncate toward zero; a real result of +infinity is ERROR.
"""

from __future__ import annotations

import functools

import numpy as np

from .column import T_BOOL, T_ERROR, T_INT, T_OTHER, T_REAL, T_STR, T_UNDEF, Column

__all__ = ["arith", "bitwise", "compare", "is_false", "is_true", "logical_not", "same", "unary"]

INT64_MIN = np.iinfo(np.int64).min
INT64_MAX = np.iinfo(np.int64).max
_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


def full(arr: np.ndarray, m: int) -> np.ndarray:
    """``arr`` (length 1 or ``m``) as a writable-independent array of length ``m``: the array
    itself when it already has that length (results are never written in place)."""
    if arr.shape[0] == m:
        return arr
    return np.repeat(arr, m)


def _len(*cols: Column) -> int:
    return max(len(c.tag) for c in cols)


def _tags(tag: np.ndarray, m: int) -> np.ndarray:
    return tag if len(tag) == m else np.broadcast_to(tag, (m,))


def _propagate(a: Column, b: Column, ok: np.ndarray) -> np.ndarray:
    """Result tags where ``ok`` is False: ERROR beats UNDEFINED beats a type error (ERROR)."""
    undef = (a.tag == T_UNDEF) | (b.tag == T_UNDEF)
    err = (a.tag == T_ERROR) | (b.tag == T_ERROR)
    return np.where(undef & ~err, T_UNDEF, T_ERROR).astype(np.int8)


def _ints(c: Column) -> np.ndarray:
    return (c.tag == T_INT) | (c.tag == T_BOOL)


def _floats(c: Column, ints: np.ndarray) -> np.ndarray:
    return np.where(ints, c.i.astype(np.float64), c.f)


_INTLIKE = (T_INT, T_BOOL)
_NUMERIC = (T_INT, T_BOOL, T_REAL)


def _uniform(m: int, tag: int, ival: np.ndarray | None = None, fval: np.ndarray | None = None) -> Column:
    """A column whose rows all have type ``tag`` (the fast paths' result)."""
    ival = constant(m, np.int64, 0) if ival is None else full(ival, m)
    fval = constant(m, np.float64, 0) if fval is None else full(fval, m)
    return Column(constant(m, np.int8, tag), ival, fval, known_kind=tag)


@functools.lru_cache(maxsize=512)
def constant(m: int, dtype: type, value: int) -> np.ndarray:
    """A read-only array of ``m`` copies of ``value``, shared (columns are never written in place;
    read-only makes sure of it)."""
    arr = np.full(m, value, dtype=dtype)
    arr.flags.writeable = False
    return arr


def _as_float(c: Column) -> np.ndarray:
    return c.f if c.kind == T_REAL else c.i.astype(np.float64)


def _finish(m: int, tag: np.ndarray, ival: np.ndarray, fval: np.ndarray) -> Column:
    return Column(full(tag.astype(np.int8, copy=False), m), full(ival, m), full(fval, m))


def arith(op: str, a: Column, b: Column) -> Column:
    """``+ - * / %``."""
    m = _len(a, b)
    ka, kb = a.kind, b.kind
    if ka in _INTLIKE and kb in _INTLIKE and op in ("+", "-", "*"):
        with np.errstate(all="ignore"):
            ival = a.i + b.i if op == "+" else a.i - b.i if op == "-" else a.i * b.i
        return _uniform(m, T_INT, ival)
    if ka in _NUMERIC and kb in _NUMERIC and op != "%" and (ka == T_REAL or kb == T_REAL):
        fa, fb = _as_float(a), _as_float(b)
        with np.errstate(all="ignore"):
            fval = {"+": np.add, "-": np.subtract, "*": np.multiply, "/": np.divide}[op](fa, fb)
        inf = fval == np.inf
        if not inf.any():
            return _uniform(m, T_REAL, fval=fval)
    ai, bi = _ints(a), _ints(b)
    both_int = ai & bi
    real = (ai | (a.tag == T_REAL)) & (bi | (b.tag == T_REAL)) & ~both_int
    tag = _propagate(a, b, both_int | real)
    with np.errstate(all="ignore"):
        x, y = a.i, b.i
        if op == "+":
            ival = x + y
        elif op == "-":
            ival = x - y
        elif op == "*":
            ival = x * y
        else:
            zero = y == 0
            safe_y = np.where(zero, 1, y)
            overflow = (x == INT64_MIN) & (y == -1)
            if op == "/":
                q = np.floor_divide(x, safe_y)
                q = q + ((x - q * safe_y != 0) & ((x < 0) != (safe_y < 0)))
                ival = np.where(overflow, INT64_MAX, q)  # classad2 gives INT64_MAX here
            else:
                ival = np.where(overflow, 0, np.fmod(x, safe_y))
            both_int = both_int & ~zero
        if op == "%":
            real = np.zeros_like(real)  # % is defined on integers only
            fval = np.zeros(1)
        else:
            fx, fy = _floats(a, ai), _floats(b, bi)
            fval = {"+": np.add, "-": np.subtract, "*": np.multiply, "/": np.divide}[op](fx, fy)
            real = real & (fval != np.inf)  # classad2 turns a +inf result into ERROR
    tag = np.where(both_int, T_INT, np.where(real, T_REAL, tag))
    return _finish(m, tag, ival, fval)


def bitwise(op: str, a: Column, b: Column) -> Column:
    """``& | ^ << >> >>>``: integers only (booleans are ERROR)."""
    m = _len(a, b)
    ok = (a.tag == T_INT) & (b.tag == T_INT)
    x, y = a.i, b.i
    with np.errstate(all="ignore"):
        if op == "&":
            ival = x & y
        elif op == "|":
            ival = x | y
        elif op == "^":
            ival = x ^ y
        else:
            # Probed from classad2 (tests pin a grid): the count is masked to 6 bits, except
            # that a negative value shifted right keeps its value for counts <= 0 and becomes -1
            # for counts >= 64, and a negative value shifted right logically by 0 (mod 64) is 0.
            count = (y & 63).astype(np.uint64)
            if op == "<<":
                ival = (x.astype(np.uint64) << count).astype(np.int64)
            elif op == ">>":
                ival = x >> count.astype(np.int64)
                neg = x < 0
                ival = np.where(neg & (y <= 0), x, np.where(neg & (y >= 64), -1, ival))
            else:
                ival = (x.astype(np.uint64) >> count).astype(np.int64)
                ival = np.where((x < 0) & (count == 0), 0, ival)
    tag = np.where(ok, T_INT, _propagate(a, b, ok))
    return _finish(m, tag, ival, np.zeros(1))


def lower_strings(c: Column) -> np.ndarray:
    """The column's strings lower-cased the way strcasecmp does (ASCII only), via its pool."""
    codes, pool = c.interned()
    low = np.empty(len(pool) + 1, dtype=object)
    low[:-1] = [p.translate(_ASCII_LOWER) if isinstance(p, str) else "" for p in pool]
    low[-1] = ""
    return low[codes]  # code -1 picks the trailing ""


_COMPARISONS = {"==": np.equal, "!=": np.not_equal, "<": np.less, "<=": np.less_equal,
                ">": np.greater, ">=": np.greater_equal}  # fmt: skip


def _compare_strings(fn, a: Column, b: Column) -> np.ndarray:
    """Case-insensitive comparison of two all-string columns; a constant side is compared with
    each distinct string of the other side once."""
    if len(b.tag) == 1 or len(a.tag) == 1:
        const_b = len(b.tag) == 1
        var, const = (a, b) if const_b else (b, a)
        c = str(const.s[0]).translate(_ASCII_LOWER)  # type: ignore[index]
        codes, pool = var.interned()
        low = [str(p).translate(_ASCII_LOWER) for p in pool.tolist()]
        per = np.array([bool(fn(x, c) if const_b else fn(c, x)) for x in low] + [False], dtype=bool)
        return per[codes]
    return fn(lower_strings(a), lower_strings(b)).astype(bool)


def compare(op: str, a: Column, b: Column) -> Column:
    """``== != < <= > >=``: numbers (and booleans) numerically, strings case-insensitively."""
    m = _len(a, b)
    fn = _COMPARISONS[op]
    ka, kb = a.kind, b.kind
    if ka in _INTLIKE and kb in _INTLIKE:
        return _uniform(m, T_BOOL, fn(a.i, b.i).astype(np.int64))
    if ka in _NUMERIC and kb in _NUMERIC:
        return _uniform(m, T_BOOL, fn(_as_float(a), _as_float(b)).astype(np.int64))
    if ka == T_STR and kb == T_STR:
        return _uniform(m, T_BOOL, _compare_strings(fn, a, b).astype(np.int64))
    ai, bi = _ints(a), _ints(b)
    an, bn = ai | (a.tag == T_REAL), bi | (b.tag == T_REAL)
    num = an & bn
    strs = (a.tag == T_STR) & (b.tag == T_STR)
    both_int = ai & bi
    res = np.where(both_int, fn(a.i, b.i), fn(_floats(a, ai), _floats(b, bi)))
    if strs.any():
        sres = fn(lower_strings(a), lower_strings(b)).astype(bool)
        res = np.where(strs, sres, res)
    ok = num | strs
    tag = np.where(ok, T_BOOL, _propagate(a, b, ok))
    return _finish(m, tag, res.astype(np.int64), np.zeros(1))


def same(op: str, a: Column, b: Column) -> Column:
    """``=?=`` / ``=!=``: same type and same value (strings case-sensitive); never UNDEFINED."""
    m = _len(a, b)
    ka, kb = a.kind, b.kind
    if ka is not None and kb is not None and ka != T_STR and ka != T_OTHER:
        if ka != kb:
            eq = np.zeros(1, dtype=bool)
        elif ka in _INTLIKE:
            eq = a.i == b.i
        elif ka == T_REAL:
            eq = a.f == b.f
        else:  # both undefined or both error
            eq = np.ones(1, dtype=bool)
        if op == "=!=":
            eq = ~eq
        return _uniform(m, T_BOOL, eq.astype(np.int64))
    ta, tb = a.tag, b.tag
    eq = ta == tb
    eq = eq & np.where((ta == T_INT) | (ta == T_BOOL), a.i == b.i, True)
    eq = eq & np.where(ta == T_REAL, a.f == b.f, True)
    strs = eq & (ta == T_STR)
    if strs.any():
        sa = np.broadcast_to(a.s, (m,)) if a.s is not None else np.full(m, None)
        sb = np.broadcast_to(b.s, (m,)) if b.s is not None else np.full(m, None)
        idx = np.nonzero(np.broadcast_to(strs, (m,)))[0]
        seq = np.ones(m, dtype=bool)
        seq[idx] = [x == y for x, y in zip(sa[idx].tolist(), sb[idx].tolist(), strict=True)]
        eq = eq & seq
    if op == "=!=":
        eq = ~eq
    return _finish(m, np.full(1, T_BOOL), eq.astype(np.int64), np.zeros(1))


def is_false(c: Column) -> np.ndarray:
    """Boolean false or numeric zero."""
    k = c.kind
    if k in _INTLIKE:
        return c.i == 0
    if k == T_REAL:
        return c.f == 0.0
    if k is not None:
        return np.zeros(len(c.tag), dtype=bool)
    return (((c.tag == T_BOOL) | (c.tag == T_INT)) & (c.i == 0)) | ((c.tag == T_REAL) & (c.f == 0.0))


def is_true(c: Column) -> np.ndarray:
    """Boolean true or a non-zero number (NaN counts as true, as in classad2)."""
    k = c.kind
    if k in _INTLIKE:
        return c.i != 0
    if k == T_REAL:
        return c.f != 0.0
    if k is not None:
        return np.zeros(len(c.tag), dtype=bool)
    return (((c.tag == T_BOOL) | (c.tag == T_INT)) & (c.i != 0)) | ((c.tag == T_REAL) & (c.f != 0.0))


def is_stringy(c: Column) -> np.ndarray:
    return (c.tag == T_STR) | (c.tag == T_OTHER)


def logical_not(a: Column) -> Column:
    m = len(a.tag)
    if a.kind in _NUMERIC:
        return _uniform(m, T_BOOL, is_false(a).astype(np.int64))
    ok = is_true(a) | is_false(a)
    tag = np.where(ok, T_BOOL, np.where(a.tag == T_UNDEF, T_UNDEF, T_ERROR))
    return _finish(m, tag, is_false(a).astype(np.int64), np.zeros(1))


def unary(op: str, a: Column) -> Column:
    """Unary ``-``, ``+``, ``~`` (``!`` is :func:`logical_not`); booleans are ERROR."""
    m = len(a.tag)
    ints, reals = a.tag == T_INT, a.tag == T_REAL
    ok = ints if op == "~" else ints | reals
    with np.errstate(all="ignore"):
        if op == "-":
            ival, fval = -a.i, -a.f
        elif op == "+":
            ival, fval = a.i, a.f
        else:
            ival, fval = ~a.i, a.f
    tag = np.where(ok, a.tag, np.where(a.tag == T_UNDEF, T_UNDEF, T_ERROR))
    return _finish(m, tag, ival, fval)


def logic(op: str, left: Column, right: Column) -> Column:
    """``&&`` / ``||`` given both sides (``right`` is only read where it is needed)."""
    m = _len(left, right)
    if left.kind in _NUMERIC and right.kind in _NUMERIC:
        lt, rt = is_true(left), is_true(right)
        return _uniform(m, T_BOOL, ((lt & rt) if op == "&&" else (lt | rt)).astype(np.int64))
    lt, lf = is_true(left), is_false(left)
    rt, rf = is_true(right), is_false(right)
    lu = left.tag == T_UNDEF
    ru = right.tag == T_UNDEF
    r_bad = ~(rt | rf | ru)  # string, error, ...
    if op == "&&":
        # false && x -> false; true && x -> x as bool; undefined && false -> false.
        val = np.where(lf, False, np.where(lt, rt, False))
        tag = np.where(
            lf,
            T_BOOL,
            np.where(
                lt,
                np.where(rt | rf, T_BOOL, np.where(ru, T_UNDEF, T_ERROR)),
                np.where(lu, np.where(rf, T_BOOL, np.where(r_bad, T_ERROR, T_UNDEF)), T_ERROR),
            ),
        )
    else:
        val = np.where(lt, True, np.where(lf, rt, rt))
        tag = np.where(
            lt,
            T_BOOL,
            np.where(
                lf,
                np.where(rt | rf, T_BOOL, np.where(ru, T_UNDEF, T_ERROR)),
                np.where(lu, np.where(rt, T_BOOL, np.where(r_bad, T_ERROR, T_UNDEF)), T_ERROR),
            ),
        )
    return _finish(m, tag, val.astype(np.int64), np.zeros(1))
