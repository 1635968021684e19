"""Small, purely textual helpers for the ClassAd expressions in federation.yaml rules.

A rule's ``when`` is written against the *job* ad with plain attribute names
(``RequestGPUs > 0``). It ends up in two places where the job is not the only ad in scope:
``NEGOTIATOR_PRE_JOB_RANK`` (MY = slot, TARGET = job) and the job's ``Requirements``
(MY = job, TARGET = slot). Under Old ClassAd scoping an unscoped name that the job lacks would
fall back to the *other* ad, so :func:`scoped` pins every job reference to an explicit scope.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import classad2

from condorfed.errors import ConfigError

_KEYWORDS = frozenset({"true", "false", "undefined", "error", "is", "isnt", "parent"})
_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_NUMBER = re.compile(r"[0-9][0-9A-Za-z_.]*")


def check_syntax(text: str, where: str) -> None:
    """Raise :class:`ConfigError` (prefixed with ``where``) unless classad2 parses ``text``."""
    if not isinstance(text, str) or not text.strip():
        raise ConfigError(f"{where}: must be a non-empty ClassAd expression")
    try:
        classad2.ExprTree(text)
    except Exception as exc:  # classad2 raises ClassAdException (no public class)
        raise ConfigError(f"{where}: not a valid ClassAd expression: {text!r} ({exc})") from None


def _skip_string(text: str, i: int) -> int:
    """Index just past the string literal (or quoted attribute name) that starts at ``text[i]``."""
    quote = text[i]
    i += 1
    while i < len(text):
        if text[i] == "\\":
            i += 2
            continue
        if text[i] == quote:
            return i + 1
        i += 1
    return i


def _prev_nonspace(text: str, i: int) -> str:
    i -= 1
    while i >= 0 and text[i].isspace():
        i -= 1
    return text[i] if i >= 0 else ""


def _next_nonspace(text: str, i: int) -> str:
    while i < len(text) and text[i].isspace():
        i += 1
    return text[i] if i < len(text) else ""


def job_references_scope(text: str) -> set[str]:
    """Explicit scopes used in ``text`` (``{"my", "target"}`` subsets), lower case."""
    found: set[str] = set()
    i = 0
    while i < len(text):
        ch = text[i]
        if ch in "\"'":
            i = _skip_string(text, i)
            continue
        if ch.isdigit():
            i = _NUMBER.match(text, i).end()  # type: ignore[union-attr]
            continue
        m = _IDENT.match(text, i)
        if m:
            word = m.group().lower()
            if (
                word in ("my", "target")
                and _prev_nonspace(text, i) != "."
                and _next_nonspace(text, m.end()) == "."
            ):
                found.add(word)
            i = m.end()
            continue
        i += 1
    return found


def scoped(text: str, scope: str) -> str:
    """Rewrite ``text`` so that every job-attribute reference reads ``<scope>.Name``.

    Unscoped names and ``MY.Name`` (the rule author's view: MY is the job) both become
    ``<scope>.Name``; function names, keywords and selections (``a.b``'s ``b``) are left alone.
    Nested record literals (``[a = 1; b = a]``) are not supported in rules.
    """
    out: list[str] = []
    i = 0
    while i < len(text):
        ch = text[i]
        if ch in "\"'":
            j = _skip_string(text, i)
            out.append(text[i:j])
            i = j
            continue
        if ch.isdigit():
            j = _NUMBER.match(text, i).end()  # type: ignore[union-attr]
            out.append(text[i:j])
            i = j
            continue
        m = _IDENT.match(text, i)
        if not m:
            out.append(ch)
            i += 1
            continue
        word, j = m.group(), m.end()
        low = word.lower()
        if _prev_nonspace(text, i) == ".":
            out.append(word)  # a selection: the part after a dot
        elif low == "my" and _next_nonspace(text, j) == ".":
            out.append(scope)  # MY.x -> <scope>.x ; the dot follows
        elif low in _KEYWORDS or _next_nonspace(text, j) == "(":
            out.append(word)
        else:
            out.append(f"{scope}.{word}")
        i = j
    return "".join(out)


_PINNED = re.compile(r"(?<![\w.])TARGET\.([A-Za-z_][A-Za-z0-9_]*)")


def job_attribute_names(text: str) -> list[str]:
    """Job attributes ``text`` reads, in first-seen order and spelling (``text`` uses no TARGET)."""
    seen: dict[str, str] = {}
    for name in _PINNED.findall(scoped(text, "TARGET")):
        seen.setdefault(name.lower(), name)
    return list(seen.values())


def _split_top_level(text: str, op: str) -> list[str]:
    parts: list[str] = []
    depth, start, i = 0, 0, 0
    while i < len(text):
        ch = text[i]
        if ch in "\"'":
            i = _skip_string(text, i)
            continue
        if ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
        elif depth == 0 and text.startswith(op, i):
            parts.append(text[start:i])
            i += len(op)
            start = i
            continue
        i += 1
    parts.append(text[start:])
    return parts


def _strip_parens(text: str) -> str:
    text = text.strip()
    while text.startswith("(") and text.endswith(")"):
        inner = text[1:-1]
        depth = 0
        balanced = True
        for ch in inner:
            depth += ch == "("
            depth -= ch == ")"
            if depth < 0:
                balanced = False
                break
        if not balanced or depth != 0:
            break
        text = inner.strip()
    return text


_REQUEST_ATTRS = {
    "requestcpus": "cpus",
    "requestmemory": "memory",
    "requestdisk": "disk",
    "requestgpus": "gpus",
}
_NUM = r"([0-9]+(?:\.[0-9]*)?(?:[eE][+-]?[0-9]+)?)"
_ATTR = r"(?:MY\s*\.\s*)?(Request(?:Cpus|Memory|Disk|GPUs))"
_FORWARD = re.compile(rf"^{_ATTR}\s*(>=|>|==|=\?=|is)\s*{_NUM}$", re.IGNORECASE)
_REVERSE = re.compile(rf"^{_NUM}\s*(<=|<|==|=\?=|is)\s*{_ATTR}$", re.IGNORECASE)


@dataclass(frozen=True)
class RequestBounds:
    """Lower bounds on a job's request that a ``when`` implies (HTCondor units: MiB, KiB)."""

    cpus: float = 0
    memory: float = 0
    disk: float = 0
    gpus: float = 0


def implied_request_bounds(text: str) -> RequestBounds:
    """Lower bounds on RequestCpus/Memory/Disk/GPUs that every job matching ``text`` must meet.

    Decidable subset only: ``text`` is split at top-level ``&&``; each conjunct of the form
    ``RequestX op N`` or ``N op RequestX`` (op one of > >= == =?= is, resp. < <= == =?= is) with a
    numeric literal tightens a bound. Anything else (``||``, functions, other attributes)
    contributes nothing, so the result is always a sound under-approximation.
    """
    bounds = {"cpus": 0.0, "memory": 0.0, "disk": 0.0, "gpus": 0.0}
    for part in _split_top_level(_strip_parens(text), "&&"):
        conj = _strip_parens(part)
        m = _FORWARD.match(conj)
        if m:
            attr, op, num = m.group(1), m.group(2), float(m.group(3))
        else:
            m = _REVERSE.match(conj)
            if not m:
                continue
            num, op, attr = float(m.group(1)), m.group(2), m.group(3)
            op = {"<": ">", "<=": ">="}.get(op, op)
        # Request attributes are integers in practice, so "> 0" means ">= 1".
        low = float(int(num) + 1) if op == ">" else num
        key = _REQUEST_ATTRS[attr.lower()]
        bounds[key] = max(bounds[key], low)
    return RequestBounds(**bounds)
