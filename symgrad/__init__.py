"""symgrad: one computational graph, four views of its derivative.

Forward values, reverse-mode adjoints, SymPy expressions and step-by-step
derivations of the same networkx DAG.  This module only re-exports.
"""

from .builder import OP_FUNCTIONS as _OP_FUNCTIONS, Expr, variable
from .errors import DomainError, GraphError, InputError, ParseError, SymgradError
from .graph import Graph
from .parse import parse
from .sympy_io import from_sympy
from .derive import derive
from .dot import draw
from .check import check
from .mlp import Net, mlp
from .exercise import exercise
from .sheet import exercise_sheet

exp = _OP_FUNCTIONS["exp"]
log = _OP_FUNCTIONS["log"]
sqrt = _OP_FUNCTIONS["sqrt"]
sin = _OP_FUNCTIONS["sin"]
cos = _OP_FUNCTIONS["cos"]
tan = _OP_FUNCTIONS["tan"]
tanh = _OP_FUNCTIONS["tanh"]
sigmoid = _OP_FUNCTIONS["sigmoid"]
relu = _OP_FUNCTIONS["relu"]
leaky_relu = _OP_FUNCTIONS["leaky_relu"]
elu = _OP_FUNCTIONS["elu"]
softplus = _OP_FUNCTIONS["softplus"]
abs = _OP_FUNCTIONS["abs"]  # noqa: A001 - the op's name, as numpy's np.abs
sum = _OP_FUNCTIONS["sum"]  # noqa: A001 - the n-ary sum op, as numpy's np.sum
logsumexp = _OP_FUNCTIONS["logsumexp"]
identity = _OP_FUNCTIONS["identity"]

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
