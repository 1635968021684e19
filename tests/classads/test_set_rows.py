"""AdTable.set_rows: patching some rows of a replaced column equals replacing the whole column."""

from __future__ import annotations

import numpy as np
import pytest

from condorfed.core.classads import AdTable, compile_expr
from condorfed.core.classads.values import Ad


def _table(n: int = 6) -> AdTable:
    return AdTable.from_ads([Ad(Name=f"s{i}", Cpus=8, Memory=4096) for i in range(n)])


@pytest.mark.parametrize(
    ("base", "rows", "values", "patched"),
    [
        (np.full(6, 8), [1, 4], np.array([3, 0]), True),  # integers into an integer column
        (np.full(6, 2.5), [0], np.array([1.5]), True),  # reals into a real column
        (np.full(6, 2.5), [0], np.array([2]), False),  # integers may make the column integral again
        (np.full(6, 8), [2], np.array([0.5]), False),  # a real turns the column real
    ],
    ids=["int-into-int", "real-into-real", "int-into-real", "real-into-int"],
)
def test_patch_equals_replacing_the_column(base, rows, values, patched):
    patched_table, whole_table = _table(), _table()
    for t in (patched_table, whole_table):
        t.set_column("Cpus", base)
    # START's per-text subsets cache columns: they must see the patch too.
    expr = compile_expr("Cpus / 2 >= 1 && Memory > 0")
    before = expr.evaluate(patched_table, Ad()).to_list()
    assert patched_table.set_rows("Cpus", np.array(rows), values) is patched
    if not patched:
        return
    full = base.astype(values.dtype).copy()
    full[rows] = values
    whole_table.set_column("Cpus", full)
    assert patched_table.column("Cpus").tolist() == whole_table.column("Cpus").tolist()
    for name in ("Cpus / 2 >= 1 && Memory > 0", "Cpus / 2", "Cpus * 1.0"):
        e = compile_expr(name)
        got, want = e.evaluate(patched_table, Ad()).to_list(), e.evaluate(whole_table, Ad()).to_list()
        assert [(type(v), v) for v in got] == [(type(v), v) for v in want]
    assert patched_table.ad(rows[0])["Cpus"] == values[0]
    assert before != expr.evaluate(patched_table, Ad()).to_list() or bool((base[rows] == values).all())


def test_a_column_never_replaced_is_not_patched():
    t = _table()
    assert t.set_rows("Cpus", np.array([0]), np.array([1])) is False
    assert t.column("Cpus").tolist() == [8] * 6
