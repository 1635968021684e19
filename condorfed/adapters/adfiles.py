"""Reading ads from files: HTCondor's long format, its JSON, and submit descriptions.

- Long format (``condor_q -long``, ``condor_status -long``): ``Name = expression`` lines, ads separated
  by blank lines. Every value is checked by classad2's parser.
- JSON (``-json``): a list of objects; expressions appear as ``"/Expr(...)/"`` strings.
- Submit descriptions are expanded by HTCondor's own submit language (the v1 ``htcondor.Submit(...).jobs()``
  of the 24.0 wheel), including ``queue N`` / ``queue ... from/in/matching`` and the default
  Requirements condor_submit adds.

Bad input raises :class:`AdParseError` with one line naming the file and the ad index or line.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import warnings
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import classad2

from condorfed.core.classads.values import ERROR, UNDEFINED, Ad, Expr, Value
from condorfed.errors import AdParseError

_INT = re.compile(r"^[+-]?\d+$")
_REAL = re.compile(r"^[+-]?(\d+\.\d*|\.\d+|\d+)([eE][+-]?\d+)?$")
_STRING = re.compile(r'^"(?:[^"\\]|\\.)*"$')
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.]*$")
_EXPR_JSON = re.compile(r"^/Expr\((.*)\)/$", re.DOTALL)


def value_from_text(text: str) -> Value:
    """A ClassAd value from its source text: a literal when it is one, else :class:`Expr` (validated)."""
    t = text.strip()
    low = t.lower()
    if _INT.match(t):
        return int(t)
    if _REAL.match(t):
        return float(t)
    if low in ("true", "false"):
        return low == "true"
    if low == "undefined":
        return UNDEFINED
    if low == "error":
        return ERROR
    if _STRING.match(t):
        return classad2.unquote(t)
    classad2.ExprTree(t)  # raises on a syntax error
    return Expr(t)


def ad_from_classad(ad: classad2.ClassAd) -> Ad:
    """Convert a classad2 ad (literals stay Python values, the rest becomes :class:`Expr`)."""
    out = Ad()
    for name in ad.keys():  # noqa: SIM118 -- classad2 ads iterate differently
        v = ad[name]
        if isinstance(v, classad2.Value):
            out[name] = UNDEFINED if v == classad2.Value.Undefined else ERROR
        elif isinstance(v, bool | int | float | str):
            out[name] = v
        else:
            out[name] = Expr(str(ad.lookup(name)))
    return out


def _parse_long(text: str, path: str) -> list[Ad]:
    ads: list[Ad] = []
    current: Ad | None = None
    for lineno, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line:
            if current is not None:
                ads.append(current)
                current = None
            continue
        if line.startswith("#") or line.startswith("-- "):
            continue
        name, sep, rest = line.partition("=")
        name = name.strip()
        if not sep or not _NAME.match(name):
            raise AdParseError(
                f"{path}: line {lineno} (ad {len(ads)}): expected 'Name = expression', got {line!r}"
            )
        try:
            value = value_from_text(rest)
        except Exception as exc:  # classad2 raises ClassAdException / ValueError on syntax errors
            raise AdParseError(f"{path}: line {lineno} (ad {len(ads)}): cannot parse {name}: {exc}") from None
        if current is None:
            current = Ad()
        current[name] = value
    if current is not None:
        ads.append(current)
    return ads


def _json_value(v: Any, where: str) -> Value:
    if isinstance(v, bool | int | float):
        return v
    if v is None:
        return UNDEFINED
    if isinstance(v, str):
        m = _EXPR_JSON.match(v)
        if m:
            try:
                classad2.ExprTree(m.group(1))
            except Exception as exc:
                raise AdParseError(f"{where}: cannot parse expression: {exc}") from None
            return Expr(m.group(1))
        return v
    if isinstance(v, list | dict):
        return Expr(_classad_text(v))
    raise AdParseError(f"{where}: unsupported JSON value {v!r}")


def _classad_text(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int | float):
        return repr(v)
    if v is None:
        return "undefined"
    if isinstance(v, str):
        m = _EXPR_JSON.match(v)
        return m.group(1) if m else classad2.quote(v)
    if isinstance(v, list):
        return "{ " + ", ".join(_classad_text(x) for x in v) + " }"
    return "[ " + "; ".join(f"{k} = {_classad_text(x)}" for k, x in v.items()) + " ]"


def _parse_json(text: str, path: str) -> list[Ad]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise AdParseError(f"{path}: line {exc.lineno}: invalid JSON: {exc.msg}") from None
    if isinstance(data, dict):
        data = [data]
    if not isinstance(data, list):
        raise AdParseError(f"{path}: expected a JSON list of ads")
    ads = []
    for i, obj in enumerate(data):
        if not isinstance(obj, dict):
            raise AdParseError(f"{path}: ad {i}: expected a JSON object")
        ad = Ad()
        for k, v in obj.items():
            ad[k] = _json_value(v, f"{path}: ad {i}: {k}")
        ads.append(ad)
    return ads


def _read_text(path: str | os.PathLike[str]) -> str:
    try:
        return Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise AdParseError(f"{path}: cannot read: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise AdParseError(f"{path}: not a UTF-8 text file") from None


def _looks_like_submit(text: str) -> bool:
    return re.search(r"^\s*queue\b", text, re.IGNORECASE | re.MULTILINE) is not None


def read_ads(path: str | os.PathLike[str]) -> list[Ad]:
    """Ads from a long-format or JSON file."""
    text = _read_text(path)
    if text.lstrip().startswith(("[", "{")):
        return _parse_json(text, str(path))
    return _parse_long(text, str(path))


def read_submit(path: str | os.PathLike[str], owner: str | None = None) -> list[Ad]:
    """Job ads from a submit description, expanded by HTCondor's submit language (offline)."""
    text = _read_text(path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import htcondor  # v1 bindings: only they expand submit files offline in the 24.0 wheel
    directory = Path(path).resolve().parent
    try:
        with _chdir(directory):
            sub = htcondor.Submit(text)
            raw = list(sub.jobs(owner=owner or ""))
    except Exception as exc:  # the bindings raise HTCondorException/ValueError/RuntimeError
        msg = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise AdParseError(f"{path}: invalid submit description: {msg}") from None
    if not raw:
        raise AdParseError(f"{path}: the submit description queues no jobs")
    ads = []
    for job in raw:
        ad = ad_from_classad(classad2.parseOne(str(job)))
        if owner and not isinstance(ad.get("Owner"), str):
            ad["Owner"] = owner
        ads.append(ad)
    return ads


@contextlib.contextmanager
def _chdir(directory: Path):
    old = os.getcwd()
    os.chdir(directory)
    try:
        yield
    finally:
        os.chdir(old)


def read_job_file(path: str | os.PathLike[str], owner: str | None = None) -> list[Ad]:
    """Job ads from any supported file: a submit description, long format or JSON."""
    text = _read_text(path)
    if not text.lstrip().startswith(("[", "{")) and _looks_like_submit(text):
        return read_submit(path, owner)
    ads = read_ads(path)
    if owner:
        for ad in ads:
            if not isinstance(ad.get("Owner"), str):
                ad["Owner"] = owner
    return ads


def read_ad_files(paths: Iterable[str | os.PathLike[str]]) -> list[Ad]:
    """Ads from several long-format/JSON files, in order."""
    out: list[Ad] = []
    for p in paths:
        out.extend(read_ads(p))
    return out


def read_job_files(paths: Iterable[str | os.PathLike[str]], owner: str | None = None) -> list[Ad]:
    """Job ads from several files (submit descriptions included), with ClusterIds kept distinct."""
    out: list[Ad] = []
    next_cluster = 1
    for p in paths:
        ads = read_job_file(p, owner)
        if _looks_like_submit(_read_text(p)) and not _read_text(p).lstrip().startswith(("[", "{")):
            for ad in ads:  # each submit file is one cluster; number them apart
                ad["ClusterId"] = next_cluster
            next_cluster += 1
        else:
            clusters = [ad.get("ClusterId") for ad in ads if isinstance(ad.get("ClusterId"), int)]
            next_cluster = max([next_cluster, *(c + 1 for c in clusters)])
        out.extend(ads)
    return out
