"""Old-ClassAd scoping written out: make every unscoped reference explicit.

HTCondor's daemons (without ``STRICT_CLASSAD_EVALUATION``) look an unscoped name up in the ad
being evaluated (MY) first and then in the other ad (TARGET) (HTCondor manual, "ClassAd
Evaluation Semantics"). :func:`rewrite` turns ``X`` into ``MY.X`` or ``TARGET.X`` by that rule;
:func:`old_scoping_ads` applies it to an expression *and* to every attribute value of both ads
(each value relative to its own ad), so that a strict evaluator gives the negotiator's answer.

classad2's ``ExprTree.eval(my, target)`` already implements the rule (the two ads are each
other's alternate scope), so the vectorized evaluator needs no rewriting; this module is the
written-down specification that tests/classads check both against.
"""

from __future__ import annotations

from dataclasses import replace

from .nodes import AttrRef, Binary, Call, Cond, ListExpr, Node, RecordExpr, Select, Subscript, Unary
from .parser import parse, unparse
from .values import Ad, Expr

__all__ = ["old_scoping_ads", "rewrite"]


def rewrite(node: Node, mine: Ad, other: Ad | None) -> Node:
    """``node`` with each unscoped reference X made ``MY.X`` if ``mine`` has X, else
    ``TARGET.X`` if ``other`` has it (else left alone: UNDEFINED either way)."""
    if isinstance(node, AttrRef):
        if node.scope is not None:
            return node
        if node.name in mine:
            return AttrRef("my", node.name)
        if other is not None and node.name in other:
            return AttrRef("target", node.name)
        return node
    if isinstance(node, Unary):
        return replace(node, operand=rewrite(node.operand, mine, other))
    if isinstance(node, Binary):
        return replace(node, left=rewrite(node.left, mine, other), right=rewrite(node.right, mine, other))
    if isinstance(node, Cond):
        return Cond(*(rewrite(n, mine, other) for n in (node.cond, node.then, node.other)))
    if isinstance(node, Call):
        return replace(node, args=tuple(rewrite(a, mine, other) for a in node.args))
    if isinstance(node, ListExpr):
        return ListExpr(tuple(rewrite(a, mine, other) for a in node.items))
    if isinstance(node, Select):
        return replace(node, base=rewrite(node.base, mine, other))
    if isinstance(node, Subscript):
        return Subscript(rewrite(node.base, mine, other), rewrite(node.index, mine, other))
    if isinstance(node, RecordExpr):
        return node  # names inside a nested ad are scoped by that ad
    return node


def _rewrite_ad(ad: Ad, other: Ad | None) -> Ad:
    out = Ad()
    for name, value in ad.items():
        out[name] = Expr(unparse(rewrite(parse(value), ad, other))) if isinstance(value, Expr) else value
    return out


def old_scoping_ads(text: str, my: Ad, target: Ad | None) -> tuple[str, Ad, Ad | None]:
    """The expression and both ads with every unscoped reference made explicit."""
    new_text = unparse(rewrite(parse(text), my, target))
    new_target = None if target is None else _rewrite_ad(target, my)
    return new_text, _rewrite_ad(my, target), new_target
