"""symgrad: one computational graph, four views of its derivative.

Forward values, reverse-mode adjoints, SymPy expressions and step-by-step
derivations of the same networkx DAG.  This module only re-exports.
"""

from .front import builder as _builder
from .front.builder import Expr, variable
from .errors import DomainError, GraphError, InputError, ParseError, SymgradError
from .core.graph import Graph
from .front.parse import parse
from .front.sympy_io import from_sympy
from .show.derive import derive
from .show.dot import draw
from .symbolic.check import check
from .nn.mlp import Net, mlp
from .teach.exercise import exercise
from .teach.sheet import exercise_sheet

# The op functions (sg.exp, sg.relu, sg.sum, ...) come from the op table; one
# registered later (symgrad.core.conventions.register) is found by __getattr__.
globals().update(_builder.exports())
__getattr__ = _builder.exported

__version__ = "0.1.0"

__all__ = [
    "parse", "from_sympy", "variable", "Graph", "Expr",
    "exp", "log", "sqrt", "sin", "cos", "tan", "tanh", "sigmoid", "relu", "leaky_relu",
    "elu", "softplus", "abs", "sum", "logsumexp", "identity",
    "SymgradError", "ParseError", "GraphError", "InputError", "DomainError",
    "derive", "draw",
    "check", "mlp", "Net",
    "exercise", "exercise_sheet",
]
