"""AdTable.take slices the parent's columns lazily; a subset must still see the values the
parent had when it was taken (oracle: the same subset built directly from the ads)."""

import numpy as np

from condorfed.core.classads import AdTable, compile_expr
from condorfed.core.classads.values import Ad, Expr


def _ads() -> list[Ad]:
    return [
        Ad({"Cpus": i % 5, "Memory": 1000 * i, "Name": f"slot{i}", "Start": Expr("Cpus > 1")})
        for i in range(12)
    ]


def test_subset_keeps_values_replaced_before_take_not_after() -> None:
    table = AdTable.from_ads(_ads())
    table.attr("Memory")  # encoded before the take
    table.set_column("Cpus", np.arange(12) + 100)
    rows = np.array([3, 1, 7])
    sub = table.take(rows)
    table.set_column("Cpus", np.zeros(12, dtype=np.int64))
    table.set_column("Memory", np.zeros(12, dtype=np.int64))
    assert sub.column("Cpus").tolist() == [103, 101, 107]
    assert sub.column("Memory").tolist() == [3000, 1000, 7000]
    assert compile_expr("Start").evaluate(sub, None).to_list() == [True, True, True]


def test_columns_encoded_after_take_match_direct_table() -> None:
    ads = _ads()
    table = AdTable.from_ads(ads)
    rows = [11, 0, 5, 5]
    sub = table.take(rows)
    direct = AdTable.from_ads([ads[r] for r in rows])
    for text in ("Name", "Memory / 1000 + Cpus", "Start", "Missing"):
        got = compile_expr(text).evaluate(sub, None).to_list()
        assert got == compile_expr(text).evaluate(direct, None).to_list(), text
    # Encoding in the subset also fills the parent's cache for the next subset.
    assert "name" in table._cols
    nested = sub.take([1, 2])
    assert nested.column("Memory").tolist() == [0, 5000]
