"""Compile a federation's rules and fair share into HTCondor configuration, and route jobs.

One source of truth, two readers:

- :func:`compile_policy` produces the central manager's ``config.d`` text (and the same values
  as a param dict). HTCondor's negotiator and condorfed's engine both read it.
- :func:`route` / :meth:`CompiledPolicy.route` answer the same question in Python for one job
  ad (allowed clusters, cluster order, the deciding rule) for the burst controller, ``policy
  explain`` and tests. Its ranks are, by construction and by test, the numbers the compiled
  ``NEGOTIATOR_PRE_JOB_RANK`` gives each cluster's slots.

Rank construction (C clusters, B = C + 2):

- *fill* score of a cluster: the first matching ``fill`` rule (file order) lists entries
  e_0..e_m; entry k scores m + 1 - k (``"*"``: every cluster the rule does not name, tied);
  clusters the rule does not cover score 0, as do all clusters when no fill matches.
- *prefer* score: prefer rule i of P (file order), cluster j within it, scores
  (P - i)·B + (B - 1 - j); a cluster takes its best score over the matching prefer rules, 0 if none.
- federation rank = prefer·B + fill, so any preferred cluster beats every non-preferred one and
  an earlier prefer rule beats a later one.
- ``NEGOTIATOR_PRE_JOB_RANK = 1e9 · federation rank + HTCondor's default pre-job rank``: the
  default terms (startd Rank, unclaimed first, small slots first) only break ties.

A ``when`` is true exactly when HTCondor's EvalBool says so on the job ad: boolean true or a
non-zero number; undefined, error and strings are false.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from condorfed.core.classads import Ad, Expr, compile_expr, references
from condorfed.core.federation.expressions import job_attribute_names, scoped
from condorfed.core.federation.model import Federation, Rule

#: HTCondor 24's default NEGOTIATOR_PRE_JOB_RANK (tests check it against htcondor2.param).
HTCONDOR_DEFAULT_PRE_JOB_RANK = (
    "(10000000 * My.Rank) + (1000000 * (RemoteOwner =?= UNDEFINED)) - (100000 * Cpus) - Memory"
)
RANK_SCALE = 1_000_000_000
_CACHE_LIMIT = 65536
_MISSING = object()
RANK_MACRO = "CONDORFED_SLOT_RANK"
#: Where the transform keeps the job's own Requirements.
USER_REQ_ATTR = "FedUserRequirements"
TRANSFORM_NAME = "CondorfedRequire"
#: Set by the transform so it is applied once (and visible in condor_q -af).
MARKER_ATTR = "FedPolicy"


def _truth(when: str, scope: str) -> str:
    """ClassAd text that is true exactly where EvalBool(when) is true (never undefined)."""
    return f"(ifThenElse({scoped(when, scope)}, true, false) =?= true)"


def _fmt(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(float(value))


@dataclass(frozen=True)
class Routing:
    """Where a job may run and in which order.

    ``allowed``: clusters the job may run in (file order). ``order``: the allowed clusters, best
    first (ties in file order). ``tiers``: the same, grouped into tied tiers. ``ranks``: the
    federation rank of every cluster (the compiled rank / 1e9). ``rule``: the rule that decided
    (the first matching require, else prefer, else fill; None: no rule matched, all tied).
    ``matched``: indexes of every rule whose ``when`` held.
    """

    allowed: tuple[str, ...]
    order: tuple[str, ...]
    tiers: tuple[tuple[str, ...], ...]
    ranks: Mapping[str, int]
    rule: str | None
    matched: tuple[int, ...] = ()


@dataclass(frozen=True)
class CompiledPolicy:
    """A federation compiled into HTCondor configuration.

    ``params`` holds every knob with macros expanded (what ``htcondor2.param`` returns after
    reading ``config_text``); ``config_text`` is the file for the central manager's config.d.
    """

    federation: Federation = field(repr=False)
    config_text: str = field(repr=False)
    params: dict[str, str] = field(repr=False)
    slot_rank: str  # the federation part of the rank (MY = slot, TARGET = job)
    pre_job_rank: str = field(repr=False)
    job_requirements: str | None  # clause ANDed into each job's Requirements by the transform
    transform: str | None = field(repr=False)  # body of JOB_TRANSFORM_CondorfedRequire
    _fill: tuple[tuple[Rule, dict[str, int]], ...] = field(repr=False, default=())
    _prefer: tuple[tuple[Rule, dict[str, int]], ...] = field(repr=False, default=())
    _refs: tuple[str, ...] = field(repr=False, default=())
    _hits_cache: dict[tuple, tuple[bool, ...]] = field(repr=False, compare=False, default_factory=dict)
    _routing_cache: dict[tuple[bool, ...], Routing] = field(repr=False, compare=False, default_factory=dict)

    def route(self, job: Ad) -> Routing:
        """Allowed clusters, order and deciding rule for ``job`` (see :class:`Routing`).

        Memoized: the answer depends only on which ``when`` conditions hold, and those only on
        the job attributes the conditions reference.
        """
        key = self._value_key(job)
        hits = None if key is None else self._hits_cache.get(key)
        if hits is None:
            hits = tuple(_holds(r.when, job) for r in self.federation.rules)
            if key is not None:
                if len(self._hits_cache) >= _CACHE_LIMIT:
                    self._hits_cache.clear()
                self._hits_cache[key] = hits
        routing = self._routing_cache.get(hits)
        if routing is None:
            routing = self._routing_cache[hits] = self._route_hits(hits)
        return routing

    def _value_key(self, job: Ad) -> tuple | None:
        values = job.lower_items()
        key = []
        for name in self._refs:
            v = values.get(name, _MISSING)
            if isinstance(v, Expr):
                return None  # an expression may reference anything: evaluate every time
            key.append((type(v), v))
        return tuple(key)

    def _route_hits(self, hits: tuple[bool, ...]) -> Routing:
        fed = self.federation
        names = fed.cluster_names
        allowed = set(names)
        decided: str | None = None
        for rule, hit in zip(fed.rules, hits, strict=True):
            if hit and rule.kind == "require":
                allowed &= set(rule.clusters)
                decided = decided or rule.describe()
        held = {id(rule) for rule, hit in zip(fed.rules, hits, strict=True) if hit}
        fill = dict.fromkeys(names, 0)
        fill_rule = None
        for rule, scores in self._fill:
            if id(rule) in held:
                fill, fill_rule = scores, rule.describe()
                break
        prefer = dict.fromkeys(names, 0)
        prefer_rule = None
        for rule, scores in self._prefer:
            if id(rule) in held:
                prefer_rule = prefer_rule or rule.describe()
                prefer = {n: max(prefer[n], scores[n]) for n in names}
        base = len(names) + 2
        ranks = {n: prefer[n] * base + fill[n] for n in names}
        if decided is None:
            decided = prefer_rule or fill_rule
        ok = [n for n in names if n in allowed]
        order = tuple(sorted(ok, key=lambda n: -ranks[n]))  # stable: ties keep file order
        tiers: list[tuple[str, ...]] = []
        for n in order:
            if tiers and ranks[tiers[-1][0]] == ranks[n]:
                tiers[-1] = (*tiers[-1], n)
            else:
                tiers.append((n,))
        matched = tuple(i for i, hit in enumerate(hits) if hit)
        return Routing(tuple(ok), order, tuple(tiers), ranks, decided, matched)

    def apply_to_job(self, job: Ad) -> Ad:
        """The job ad as the schedd's transform leaves it: the require clause ANDed in, once."""
        if self.job_requirements is None or job.get(MARKER_ATTR) is not None:
            return job
        out = job.copy()
        original = job.get("Requirements")
        clause = self.job_requirements
        if original is not None:  # COPY of a missing attribute copies nothing: MY.x is undefined
            out[USER_REQ_ATTR] = original
        out["Requirements"] = Expr(f"(MY.{USER_REQ_ATTR}) && {clause}")
        out[MARKER_ATTR] = self.federation.name
        return out

    #: Aliases some readers look for (the simulator's ``compiled_policy``).
    transform_job = apply_to_job
    apply_job_transform = apply_to_job


def _holds(when: str | None, job: Ad) -> bool:
    if when is None:
        return True
    return bool(compile_expr(when).evaluate(job, None).truth()[0])


def _fill_scores(fed: Federation, rule: Rule) -> dict[str, int]:
    named = {c for c in rule.clusters if c != "*"}
    m = len(rule.clusters) - 1
    scores = dict.fromkeys(fed.cluster_names, 0)
    for k, entry in enumerate(rule.clusters):
        targets = [c for c in fed.cluster_names if c not in named] if entry == "*" else [entry]
        for c in targets:
            scores[c] = m + 1 - k
    return scores


def _prefer_scores(fed: Federation, rule: Rule, i: int, count: int) -> dict[str, int]:
    base = len(fed.clusters) + 2
    scores = dict.fromkeys(fed.cluster_names, 0)
    for j, c in enumerate(rule.clusters):
        scores[c] = (count - i) * base + (base - 1 - j)
    return scores


def _score_sum(scores: Mapping[str, int]) -> str:
    terms = [f'(MY.FedCluster =?= "{c}") * {s}' for c, s in scores.items() if s]
    return " + ".join(terms) if terms else "0"


def _slot_rank(fed: Federation, fills, prefers) -> str:
    base = len(fed.clusters) + 2
    fill_expr = "0"
    for rule, scores in reversed(fills):  # built inside out: the first matching fill wins
        body = _score_sum(scores)
        if rule.when is None:
            fill_expr = body
        else:
            fill_expr = f"ifThenElse({_truth(rule.when, 'TARGET')}, {body}, {fill_expr})"
    prefer_terms = []
    for rule, scores in prefers:
        body = f"({_score_sum(scores)})"
        prefer_terms.append(body if rule.when is None else f"{_truth(rule.when, 'TARGET')} * {body}")
    if not prefer_terms:
        return fill_expr
    prefer_expr = prefer_terms[0] if len(prefer_terms) == 1 else "max({" + ", ".join(prefer_terms) + "})"
    return f"({prefer_expr}) * {base} + ({fill_expr})"


def _require_clause(fed: Federation) -> str | None:
    parts = []
    for rule in fed.rules:
        if rule.kind != "require":
            continue
        where = " || ".join(f'TARGET.FedCluster =?= "{c}"' for c in rule.clusters)
        parts.append(f"({where})" if rule.when is None else f"(!{_truth(rule.when, 'MY')} || {where})")
    return " && ".join(parts) if parts else None


def _group_params(fed: Federation) -> dict[str, str]:
    groups = fed.fairshare.all_groups()
    params: dict[str, str] = {"PRIORITY_HALFLIFE": _fmt(fed.fairshare.half_life)}
    if not groups:
        return params
    params["GROUP_NAMES"] = ", ".join(g.name for g in groups)
    for g in groups:
        if g.is_dynamic:
            params[f"GROUP_QUOTA_DYNAMIC_{g.name}"] = repr(float(g.quota))
        else:
            params[f"GROUP_QUOTA_{g.name}"] = str(int(g.quota))
        params[f"GROUP_ACCEPT_SURPLUS_{g.name}"] = "True" if g.accept_surplus else "False"
    return params


def _significant_attributes(fed: Federation) -> list[str]:
    seen: dict[str, str] = {}
    for rule in fed.rules:
        for name in job_attribute_names(rule.when) if rule.when else ():
            seen.setdefault(name.lower(), name)
    return list(seen.values())


def _when_references(fed: Federation) -> tuple[str, ...]:
    """Lower-case job attribute names the rule conditions read (what route()'s answer depends on)."""
    names: set[str] = set()
    for rule in fed.rules:
        if rule.when is not None:
            names |= {name for scope, name in references(rule.when) if scope in (None, "my")}
    return tuple(sorted(names))


def compile_policy(fed: Federation) -> CompiledPolicy:
    """Compile ``fed`` into HTCondor config text plus the same values as a dict."""
    fills = tuple((r, _fill_scores(fed, r)) for r in fed.rules if r.kind == "fill")
    prefer_rules = [r for r in fed.rules if r.kind == "prefer"]
    prefers = tuple((r, _prefer_scores(fed, r, i, len(prefer_rules))) for i, r in enumerate(prefer_rules))
    slot_rank = _slot_rank(fed, fills, prefers)
    pre_job_rank = f"{RANK_SCALE} * ({slot_rank}) + ({HTCONDOR_DEFAULT_PRE_JOB_RANK})"
    clause = _require_clause(fed)
    transform = None
    if clause is not None:
        # COPY instead of $(MY.Requirements): no macro in the body, so HTCondor's config
        # parser hands it over verbatim (the schedd reads transforms unexpanded anyway).
        transform = (
            f"REQUIREMENTS MY.{MARKER_ATTR} =?= undefined\n"
            f"COPY Requirements {USER_REQ_ATTR}\n"
            f"SET Requirements (MY.{USER_REQ_ATTR}) && {clause}\n"
            f'SET {MARKER_ATTR} "{fed.name}"'
        )

    lines = [
        f"# condorfed federation policy for {fed.name!r} ({fed.trust_domain}).",
        "# Generated by `condorfed policy render`; edit federation.yaml instead of this file.",
        "",
        "# Slot order: fill order and prefer rules first (FedCluster is set on every startd),",
        "# HTCondor's default pre-job rank only breaks ties.",
        f"{RANK_MACRO} = {slot_rank}",
        f"NEGOTIATOR_PRE_JOB_RANK = {RANK_SCALE} * ($({RANK_MACRO})) + ({HTCONDOR_DEFAULT_PRE_JOB_RANK})",
        f"NEGOTIATOR_INTERVAL = {_fmt(fed.negotiator_interval)}",
    ]
    significant = _significant_attributes(fed)
    if significant:
        lines += [
            "# Job attributes the rules read: autoclusters must not merge jobs that differ in them.",
            f"ADD_SIGNIFICANT_ATTRIBUTES = $(ADD_SIGNIFICANT_ATTRIBUTES) {' '.join(significant)}",
        ]
    params: dict[str, str] = {
        RANK_MACRO: slot_rank,
        "NEGOTIATOR_PRE_JOB_RANK": pre_job_rank,
        "NEGOTIATOR_INTERVAL": _fmt(fed.negotiator_interval),
    }
    if clause is not None:
        assert transform is not None
        lines += [
            "",
            "# require rules, enforced by the schedd: a transform ANDs this clause into every new",
            "# job's Requirements (the clause carries each rule's condition, so it stays right if",
            "# the job is edited later).",
            f"JOB_TRANSFORM_NAMES = $(JOB_TRANSFORM_NAMES) {TRANSFORM_NAME}",
            f"JOB_TRANSFORM_{TRANSFORM_NAME} @=end",
            *(f"   {line}" for line in transform.splitlines()),
            "@end",
        ]
        params[f"JOB_TRANSFORM_{TRANSFORM_NAME}"] = transform
    group = _group_params(fed)
    lines += ["", "# Fair share: accounting groups and quotas (quota fractions are dynamic quotas)."]
    lines += [f"{k} = {v}" for k, v in group.items()]
    params.update(group)
    return CompiledPolicy(
        federation=fed,
        config_text="\n".join(lines) + "\n",
        params=params,
        slot_rank=slot_rank,
        pre_job_rank=pre_job_rank,
        job_requirements=clause,
        transform=transform,
        _fill=fills,
        _prefer=prefers,
        _refs=_when_references(fed),
    )


def route(fed_or_policy: Federation | CompiledPolicy, job: Ad) -> Routing:
    """Convenience: :meth:`CompiledPolicy.route` for a federation or a compiled policy."""
    policy = fed_or_policy if isinstance(fed_or_policy, CompiledPolicy) else compile_policy(fed_or_policy)
    return policy.route(job)
