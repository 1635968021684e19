"""Any edit of a valid federation.yaml either loads or fails with one ConfigError line naming the file."""

from __future__ import annotations

import copy

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from condorfed.core.federation.model import Federation, parse_federation
from condorfed.errors import ConfigError

junk = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-5, 100000),
    st.floats(-2, 2, allow_nan=True),
    st.text(max_size=12),
    st.lists(st.sampled_from(["meyrin", "gcp", "*", "nope", 3]), max_size=3),
    st.dictionaries(
        st.sampled_from(["quota", "cpus", "kind", "x"]), st.integers(0, 3) | st.text(max_size=3), max_size=2
    ),
)


def _paths(node, prefix=()):
    yield prefix
    if isinstance(node, dict):
        for k, v in node.items():
            yield from _paths(v, (*prefix, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from _paths(v, (*prefix, i))


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_edits_load_or_fail_with_one_line(example_data, data):
    doc = copy.deepcopy(example_data)
    paths = [p for p in _paths(doc) if p]
    for _ in range(data.draw(st.integers(1, 3))):
        path = data.draw(st.sampled_from(paths))
        node = doc
        try:
            for key in path[:-1]:
                node = node[key]
            if data.draw(st.booleans()) and isinstance(node, dict):
                node.pop(path[-1], None)
            else:
                node[path[-1]] = data.draw(junk)
        except (KeyError, IndexError, TypeError):
            continue  # an earlier edit removed or replaced the parent
    try:
        fed = parse_federation(doc, "f.yaml")
    except ConfigError as exc:
        text = str(exc)
        assert text.startswith("f.yaml: ") and "\n" not in text
    else:
        assert isinstance(fed, Federation)
