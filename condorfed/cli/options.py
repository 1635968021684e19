"""Option parsing shared by commands."""

from __future__ import annotations

from condorfed.errors import ConfigError


def key_value_pairs(values: tuple[str, ...], option: str) -> dict[str, str]:
    """``("a=1", "b=2")`` from a repeatable ``--label K=V`` style option, as a dict."""
    out = {}
    for item in values:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise ConfigError(f"{option}: {item!r} is not KEY=VALUE")
        out[key] = value
    return out
