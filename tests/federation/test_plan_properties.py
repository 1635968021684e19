"""Property: after applying an object, the plan for it is `unchanged`; after changing one value, `update`."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from condorfed.adapters import kube
from condorfed.workflows.federation_apply import plan

keys = st.from_regex(r"[a-z][a-z0-9.-]{0,10}", fullmatch=True)
values = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=20)
label_values = st.from_regex(r"([a-z0-9]([a-z0-9.-]{0,8}[a-z0-9])?)?", fullmatch=True)


@pytest.fixture
def client(clusters):
    return kube.connect("host", clusters.kubeconfig, retry=kube.RetryPolicy(attempts=1))


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.dictionaries(keys, values, min_size=1, max_size=5), labels=st.dictionaries(keys, label_values))
def test_applied_objects_plan_unchanged_and_edits_plan_update(client, data, labels):
    obj = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "prop", "namespace": "default", "labels": labels},
        "data": data,
    }
    client.apply(obj)
    assert [s.change.action for s in plan(client, [obj])] == ["unchanged"]
    key = next(iter(data))
    edited = {**obj, "data": {**data, key: data[key] + "x"}}
    assert [s.change.action for s in plan(client, [edited])] == ["update"]


@pytest.mark.parametrize(
    ("desired", "live", "same"),
    [
        ("1024Mi", "1Gi", True),
        ("1000m", "1", True),
        ("0.5", "500m", True),
        ("2Gi", "2G", False),  # binary and decimal suffixes differ
        ("100m", "0.1", True),
        ("1", "2", False),
    ],
)
def test_resource_quantities_compare_by_value(desired, live, same):
    from condorfed.workflows.federation_apply import _contains

    spec = {"resources": {"requests": {"memory": desired}}}
    assert _contains({"resources": {"requests": {"memory": live}}}, spec) is same
    # outside resource maps a string is a string: ConfigMap data "1024Mi" is not "1Gi"
    assert _contains({"data": {"memory": live}}, {"data": {"memory": desired}}) is (desired == live)
