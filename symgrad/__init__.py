"""symgrad: one computational graph, four views of its derivative.

Forward values, reverse-mode adjoints, SymPy expressions and step-by-step
derivations of the same networkx DAG.  This module only re-exports.
"""

from importlib import import_module as _import_module
from typing import TYPE_CHECKING as _TYPE_CHECKING

from .front import builder as _builder
from .front.builder import Expr, variable
from .errors import DomainError, GraphError, InputError, ParseError, SymgradError
from .core.graph import Graph
from .front.parse import parse

if _TYPE_CHECKING:                  # the lazily re-exported names, for type checkers and IDEs
    from .symbolic.check import check
    from .show.derive import derive
    from .show.dot import draw
    from .teach.exercise import exercise
    from .nn.mlp import Net, mlp
    from .teach.sheet import exercise_sheet
    from .front.sympy_io import from_sympy

# Re-exported on first use, so that ``import symgrad`` (and parsing, evaluating and
# differentiating numerically) does not load SymPy: name -> the module defining it.
_LAZY = {"from_sympy": "front.sympy_io", "derive": "show.derive", "draw": "show.dot",
         "check": "symbolic.check", "mlp": "nn.mlp", "Net": "nn.mlp",
         "exercise": "teach.exercise", "exercise_sheet": "teach.sheet"}

# The op functions (sg.exp, sg.relu, sg.sum, ...) come from the op table; one
# registered later (symgrad.core.conventions.register) is found by __getattr__.
globals().update(_builder.exports())


def __getattr__(name: str):
    module = _LAZY.get(name)
    if module is None:
        return _builder.exported(name)
    value = globals()[name] = getattr(_import_module(f"{__name__}.{module}"), name)
    return value


def __dir__():
    return sorted(set(globals()) | set(__all__))


__version__ = "0.1.0"

__all__ = [
    "parse", "from_sympy", "variable", "Graph", "Expr",
    "exp", "log", "sqrt", "sin", "cos", "tan", "tanh", "sigmoid", "relu", "leaky_relu",
    "elu", "softplus", "abs", "sum", "logsumexp", "wsum", "squared_loss", "cross_entropy", "identity",
    "step", "sign", "ifpos",
    "SymgradError", "ParseError", "GraphError", "InputError", "DomainError",
    "derive", "draw",
    "check", "mlp", "Net",
    "exercise", "exercise_sheet",
]
