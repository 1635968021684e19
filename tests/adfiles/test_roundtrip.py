"""Property: any ad of literal values written in long format reads back the same (Hypothesis)."""

from __future__ import annotations

import classad2
from hypothesis import given, settings
from hypothesis import strategies as st

from condorfed.adapters.adfiles import read_ads, value_from_text
from condorfed.core.classads.values import Ad

names = st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,12}", fullmatch=True).filter(
    lambda n: n.lower() not in {"true", "false", "undefined", "error", "is", "isnt", "parent"}
)
values = st.one_of(
    st.booleans(),
    st.integers(min_value=-(2**62), max_value=2**62),
    st.floats(allow_nan=False, allow_infinity=False, width=64),
    st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=20),
)


def literal(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        return repr(v) if "e" in repr(v) or "." in repr(v) else repr(v) + ".0"
    if isinstance(v, int):
        return str(v)
    return classad2.quote(v)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.dictionaries(names, values, min_size=1, max_size=6), min_size=1, max_size=4))
def test_long_format_round_trip(tmp_path_factory, ads):
    path = tmp_path_factory.mktemp("ads") / "x.ads"
    text = "\n\n".join("\n".join(f"{k} = {literal(v)}" for k, v in ad.items()) for ad in ads) + "\n"
    path.write_text(text)
    got = read_ads(path)
    assert len(got) == len(ads)
    for want, have in zip(ads, got, strict=True):
        expected = Ad(want)
        assert set(k.lower() for k in have) == set(k.lower() for k in expected)
        for k, v in expected.items():
            assert type(have[k]) is type(v) and have[k] == v


@settings(max_examples=60, deadline=None)
@given(values)
def test_value_from_text_agrees_with_classad2(v):
    text = literal(v)
    assert value_from_text(text) == classad2.ExprTree(text).eval()
