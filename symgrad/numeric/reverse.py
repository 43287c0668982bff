"""Reverse mode: the adjoint d(output)/d(node) of every node.

The chain rule is written once, in :func:`symgrad.core.sweep.sweep`: walk the flat
program backwards, multiply each node's adjoint by the op's local partials, and
SUM into the arguments, so a shared node collects the contributions of all its
consumers.  :func:`adjoints` is that sweep with numbers (the reference, in
:mod:`symgrad.numeric.reference`); :func:`backward`, :func:`grad` and :func:`mean_grad`
are thin calls of the executor's one road (:func:`symgrad.numeric.lower.execute`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from . import forward as fwd
from ..core.graph import Graph
from .lower import execute
from .reference import NodeValues, adjoints

__all__ = ["backward", "grad", "adjoints", "run_passes", "mean_grad"]


def backward(graph: Graph, values: Mapping | None = None, /, *, output: str | None = None,
             strict: bool = False, **inputs) -> NodeValues:
    """The adjoint of every node: d(output)/d(node).

    Nodes that ``output`` does not depend on have adjoint 0.  The adjoint of a
    shared node is the sum over its consumers (the multivariate chain rule).

    Parameters
    ----------
    graph
        The computational graph.
    values, **inputs
        Input values, as for :func:`symgrad.numeric.forward.forward`.
    output
        The node to differentiate (default: the graph's only output).
    strict
        Raise DomainError on a non-finite value or local derivative.

    Returns
    -------
    NodeValues
        ``{node: adjoint}`` in topological order, with ``.nonfinite``.

    Raises
    ------
    InputError, GraphError, DomainError

    Examples
    --------
    >>> import symgrad as sg
    >>> g = sg.parse("sqrt(x**2 + exp(x**2)) + cos(x**2 + exp(x**2))")
    >>> bw = g.backward(x=2.0)
    >>> round(bw["c"], 3), round(bw["a"], 3), round(bw["x"], 2)
    (-0.822, -45.717, -182.87)
    """
    return execute(graph, values, inputs, "adjoints", fwd.MAX_ELEMENTS, output, strict)


def run_passes(graph: Graph, ins: dict, shape: tuple | None, output: str,
               strict: bool = False) -> tuple:
    """Forward values and adjoints by slot (position in ``graph.nodes``; None
    where ``output`` does not depend on the node) for inputs already read (as
    :func:`symgrad.numeric.forward.read_inputs` returns them), by the executor's road
    (:func:`symgrad.numeric.lower.execute`)."""
    return execute(graph, ins, {}, "passes", fwd.MAX_ELEMENTS, output, strict)


def grad(graph: Graph, values: Mapping | None = None, /, *, output: str | None = None,
         strict: bool = False, **inputs) -> dict:
    """``{input: d(output)/d(input)}``: the adjoints of the inputs only.

    With array inputs these are per-sample derivatives (average them for the
    gradient of a mean loss).

    Examples
    --------
    >>> import symgrad as sg
    >>> g = sg.parse("sqrt(x**2 + exp(x**2)) + cos(x**2 + exp(x**2))")
    >>> {k: round(v, 2) for k, v in g.grad(x=2.0).items()}
    {'x': -182.87}
    """
    return execute(graph, values, inputs, "grad", fwd.MAX_ELEMENTS, output, strict)


def mean_grad(graph: Graph, values: Mapping | None = None, /, *, output: str | None = None,
              wrt: Sequence[str] | None = None, **inputs) -> tuple[float, dict]:
    """The mean of ``output`` over a batch of samples and its gradient
    ``{input: d mean(output) / d input}`` for the inputs ``wrt`` (default: all; for
    one sample: the value and ``grad``).

    This is the training step of a mean loss: an MLP's layers run as matrix
    products (:mod:`symgrad.numeric.fuse`) and the weights' adjoints are averaged inside
    them, without materializing per-sample weight adjoints.

    Examples
    --------
    >>> import numpy as np, symgrad as sg
    >>> g = sg.parse("w * x")
    >>> value, gradient = mean_grad(g, w=3.0, x=np.array([1.0, 2.0, 3.0]))
    >>> value, gradient["w"], gradient["x"]
    (6.0, 2.0, 3.0)
    """
    return execute(graph, values, inputs, "mean", fwd.MAX_ELEMENTS, output, False, wrt)
