"""Forward mode: the value of every node.

:func:`forward` is a thin call of the executor's one road
(:func:`symgrad.numeric.lower.execute`): the lowered program, or the reference
interpreter :func:`evaluate` (:mod:`symgrad.numeric.reference`: readable, op-table
driven, numpy semantics, IEEE nan/inf instead of exceptions) in strict mode.
Scalars are evaluated as ``numpy.float64`` and returned as Python floats; arrays
broadcast elementwise.  Everything is float64: literals too (``10**400`` is inf,
not an integer), as in the lowered code.
"""

from __future__ import annotations

from collections.abc import Mapping

from ..core.graph import Graph
from .lower import execute
from .reference import NodeValues, evaluate
from .reference import read_inputs as _read_inputs

__all__ = ["forward", "NodeValues", "read_inputs", "evaluate", "run_forward", "MAX_ELEMENTS"]

#: The most elements a batch may have: inputs whose broadcast shape holds more
#: (``x`` of shape (10**5, 1) with ``y`` of shape (1, 10**5) asks for 10**10
#: elements a node) are an InputError before anything is allocated.  Raise it
#: here (``symgrad.numeric.forward.MAX_ELEMENTS = 10**9``) for bigger batches.
MAX_ELEMENTS = 10**8


def read_inputs(graph: Graph, values: Mapping | None, kwargs: Mapping) -> tuple[dict, tuple | None]:
    """Merge ``values`` and keyword inputs, check them against ``graph.inputs``, and
    convert to float64.  Returns ``(inputs, shape)``; ``shape`` is None when every
    input is a scalar, else the broadcast shape (at most :data:`MAX_ELEMENTS`
    elements)."""
    return _read_inputs(graph, values, kwargs, MAX_ELEMENTS)


def forward(graph: Graph, values: Mapping | None = None, /, *, strict: bool = False,
            **inputs) -> NodeValues:
    """The value of every node of ``graph`` at the given inputs.

    Parameters
    ----------
    graph
        The computational graph.
    values, **inputs
        Input values, as a mapping and/or keywords: floats, or arrays that
        broadcast together (a batch of samples).
    strict
        If True, raise DomainError at the first node whose value is nan or inf
        although its arguments are finite.

    Returns
    -------
    NodeValues
        ``{node: value}`` in topological order, with ``.nonfinite``.

    Raises
    ------
    InputError
        A missing or unknown input, a non-numeric value, shapes that do not broadcast.
    DomainError
        With ``strict=True`` only.

    Examples
    --------
    >>> import symgrad as sg
    >>> g = sg.parse("sqrt(x**2 + exp(x**2)) + cos(x**2 + exp(x**2))")
    >>> fw = g.forward(x=2.0)
    >>> round(fw["c"], 3), round(fw["f"], 3)
    (58.598, 7.194)
    """
    return execute(graph, values, inputs, "values", MAX_ELEMENTS, None, strict)


def run_forward(graph: Graph, ins: dict, shape: tuple | None) -> Mapping:
    """Forward values ``{node: value}`` of inputs already read (as
    :func:`read_inputs` returns them), by the executor's road; the values of
    :func:`evaluate`."""
    vals = execute(graph, ins, {}, "passes", MAX_ELEMENTS)[0]
    return dict(zip(graph.nodes, vals, strict=True)) if type(vals) is list else vals
