"""Hypothesis strategies: random ClassAd expressions (as ASTs) and random ads."""

from __future__ import annotations

from hypothesis import strategies as st

from condorfed.core.classads import ERROR, UNDEFINED, Ad, Expr, unparse
from condorfed.core.classads.nodes import AttrRef, Binary, Call, Cond, Literal, Unary

NAMES = ["A", "b", "Cpus", "Memory", "Site"]
INTS = [0, 1, -1, 2, 3, -7, 10, 1024, 2**62, 2**63 - 1, -(2**63)]
REALS = [0.0, -0.0, 0.5, 1.5, -2.5, 2.0, 1e308, -1e308, 1e-300, 3.14159]
STRINGS = ["", "a", "A", "b", "abc", "ABC", "10", "1.5", "a,b", "b, a", "x y", 'q"t', "site1", "SITE1"]
BINARY_OPS = ["||", "&&", "|", "^", "&", "==", "!=", "=?=", "=!=", "<", "<=", ">", ">=",
              "<<", ">>", ">>>", "+", "-", "*", "/", "%"]  # fmt: skip
UNARY_OPS = ["-", "+", "!", "~"]
# name -> allowed argument counts (a wrong count now and then: classad2 says ERROR)
FUNCTIONS = {
    "isUndefined": (1,), "isError": (1,), "ifThenElse": (3, 2), "int": (1,), "real": (1,),
    "floor": (1,), "ceiling": (1,), "round": (1,), "strcmp": (2,), "stricmp": (2,),
    "toLower": (1,), "toUpper": (1,), "size": (1,), "substr": (2, 3), "strcat": (0, 1, 2, 3),
    "regexp": (2, 3), "stringListMember": (2, 3), "stringListIMember": (2,),
}  # fmt: skip

literal_values = st.one_of(
    st.sampled_from(INTS),
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.sampled_from(REALS),
    st.floats(allow_nan=False, allow_infinity=False, width=64),
    st.booleans(),
    st.sampled_from(STRINGS),
    st.just(UNDEFINED),
    st.just(ERROR),
)


def literals():
    return literal_values.map(Literal)


def attr_refs():
    return st.builds(AttrRef, st.sampled_from([None, None, "my", "target"]), st.sampled_from(NAMES))


@st.composite
def _call(draw, children):
    name = draw(st.sampled_from(sorted(FUNCTIONS)))
    arity = draw(st.sampled_from(FUNCTIONS[name]))
    args = []
    for k in range(arity):
        # regexp patterns and list arguments are usually constants in real pools
        if (name.startswith("stringList") and k >= 1) or (name == "regexp" and k == 0):
            args.append(Literal(draw(st.sampled_from(["a,b", "b, a", "site1,SITE2", "A", "^a", "[", ";"]))))
        else:
            args.append(draw(children))
    return Call(name, tuple(args))


def expressions(max_leaves: int = 12):
    leaves = st.one_of(literals(), attr_refs(), attr_refs())
    return st.recursive(
        leaves,
        lambda children: st.one_of(
            st.builds(Binary, st.sampled_from(BINARY_OPS), children, children),
            st.builds(Unary, st.sampled_from(UNARY_OPS), children),
            st.builds(Cond, children, children, children),
            _call(children),
        ),
        max_leaves=max_leaves,
    )


expression_texts = expressions().map(unparse)

# Attribute values that are expressions reference at most two names: chains of such attributes across
# both ads cost classad2 (the oracle) branching ** chain-length evaluations, which with more
# references per value runs into hours for a single example.
ad_values = st.one_of(
    literal_values,
    expressions(max_leaves=2).map(lambda n: Expr(unparse(n))),
)


@st.composite
def ads(draw):
    ad = Ad()
    for name in NAMES:
        if draw(st.booleans()):
            ad[draw(st.sampled_from([name, name.lower(), name.upper()]))] = draw(ad_values)
    return ad
