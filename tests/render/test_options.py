"""Option validation: property tests against the DNS-1123 and HOST[:PORT] grammars."""

from __future__ import annotations

import re

import jinja2
import pytest
from hypothesis import given
from hypothesis import strategies as st

from condorfed.core.render import ClusterSettings, JoinOptions, parse_host_port, validate_dns1123_label
from condorfed.core.render.render import render_text
from condorfed.errors import ConfigError

DNS1123 = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")


@given(st.text(alphabet="abcXYZ019-_.@ ", max_size=70))
def test_cluster_name_accepted_iff_dns1123_label(name: str) -> None:
    valid = bool(DNS1123.fullmatch(name)) and len(name) <= 63
    if valid:
        assert JoinOptions(cluster=name, collector="cm").cluster == name
    else:
        with pytest.raises(ConfigError, match="cluster name"):
            JoinOptions(cluster=name, collector="cm")


@given(st.from_regex(r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?", fullmatch=True))
def test_every_dns1123_label_is_accepted(name: str) -> None:
    assert validate_dns1123_label(name, "x") == name


@given(
    host=st.from_regex(r"[a-z0-9]([-a-z0-9.]{0,30}[a-z0-9])?", fullmatch=True),
    port=st.none() | st.integers(1, 65535),
)
def test_host_port_round_trip(host: str, port: int | None) -> None:
    text = host if port is None else f"{host}:{port}"
    assert parse_host_port(text, "--collector") == (host, 9618 if port is None else port)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("[2001:db8::1]:9620", ("2001:db8::1", 9620), id="ipv6-with-port"),
        pytest.param("[2001:db8::1]", ("2001:db8::1", 9618), id="ipv6-default-port"),
        pytest.param("203.0.113.7", ("203.0.113.7", 9618), id="ipv4"),
    ],
)
def test_host_port_examples(text: str, expected: tuple[str, int]) -> None:
    assert parse_host_port(text, "--collector") == expected


@pytest.mark.parametrize("text", ["", ":9618", "cm:0", "cm:65536", "cm:80:81", "[::1", "c m"])
def test_host_port_rejects(text: str) -> None:
    with pytest.raises(ConfigError, match="--collector"):
        parse_host_port(text, "--collector")


def test_templates_use_strict_undefined() -> None:
    # A missing template value is an error, never an empty string in a manifest.
    with pytest.raises(jinja2.UndefinedError):
        render_text("member/namespace.yaml.j2", namespace="condor")


def test_labels_that_collide_as_attributes_are_refused() -> None:
    with pytest.raises(ConfigError, match="FedLabel_a_b"):
        ClusterSettings(labels={"a.b": "x", "a_b": "y"})
    with pytest.raises(ConfigError, match="--label"):
        ClusterSettings(labels={"Zone": "x", "zone": "y"})


_label_key = st.from_regex(
    r"([a-z0-9]([-a-z0-9]{0,6}[a-z0-9])?(\.[a-z0-9]([-a-z0-9]{0,6}[a-z0-9])?)?/)?"
    r"[A-Za-z0-9]([-A-Za-z0-9_.]{0,10}[A-Za-z0-9])?",
    fullmatch=True,
)
_label_value = st.from_regex(r"([A-Za-z0-9]([-A-Za-z0-9_.]{0,10}[A-Za-z0-9])?)?", fullmatch=True)


@given(st.dictionaries(_label_key, _label_value, max_size=5))
def test_label_attributes_are_classad_strings(labels: dict[str, str]) -> None:
    import classad2

    from condorfed.core.render.options import label_attribute
    from condorfed.core.render.render import startd_config

    try:
        opts = JoinOptions(cluster="c", collector="cm", settings=ClusterSettings(labels=labels))
    except ConfigError as exc:
        assert "both become attribute" in str(exc)
        return
    lines = dict(line.split(" = ", 1) for line in startd_config(opts).splitlines() if " = " in line)
    attrs = lines["STARTD_ATTRS"].split()[1:]
    for key, value in labels.items():
        attr = label_attribute(key)
        assert attr in attrs
        assert classad2.ExprTree(lines[attr]).eval() == value
    fed = classad2.ExprTree(lines["FedLabels"]).eval()
    assert fed == ",".join(f"{k}={v}" for k, v in sorted(labels.items()))
