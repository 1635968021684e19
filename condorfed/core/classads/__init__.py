"""ClassAds for the core: parsing, Old-ClassAd scoping, vectorized evaluation, classad2 fallback."""

# HTCondor registers its extra ClassAd functions (stringListMember, ...) with the ClassAd
# library when htcondor2 is imported; without this classad2 evaluates them to ERROR.
import warnings as _warnings

with _warnings.catch_warnings():
    # htcondor2 warns when CONDOR_CONFIG is unset; the ClassAd functions don't need a config.
    _warnings.simplefilter("ignore", UserWarning)
    import htcondor2 as _htcondor2  # noqa: F401

from .column import Column
from .compiler import CompiledExpr, compile_expr
from .convert import from_classad, to_classad
from .parser import parse, references, unparse
from .table import AdTable
from .values import ERROR, UNDEFINED, Ad, Expr, Value

__all__ = [
    "ERROR",
    "UNDEFINED",
    "Ad",
    "AdTable",
    "Column",
    "CompiledExpr",
    "Expr",
    "Value",
    "compile_expr",
    "from_classad",
    "parse",
    "references",
    "to_classad",
    "unparse",
]
