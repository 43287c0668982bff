"""Reverse mode: the adjoint d(output)/d(node) of every node.

The chain rule is written once, here: walk the flat program backwards, multiply
each node's adjoint by the op's local partials, and SUM into the arguments, so a
shared node collects the contributions of all its consumers.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from .errors import DomainError
from .forward import NodeValues, _all_finite, _scalar, evaluate, read_inputs
from .graph import Graph, is_node
from .ops import NUM

__all__ = ["backward", "grad", "adjoints"]


def adjoints(graph: Graph, values: dict, output: str, *, strict: bool = False) -> dict:
    """The raw reverse loop: ``{node: adjoint}`` for the nodes ``output`` depends on.

    ``values`` holds every node's forward value.
    """
    adj = {output: np.float64(1.0)}
    with np.errstate(all="ignore"):
        for name, op, args in reversed(graph.program):
            seed = adj.get(name)
            if seed is None:
                continue
            vals = [values[a] if is_node(a) else a for a in args]
            local = op.partials(NUM, values[name], *vals)
            for a, d in zip(args, local, strict=True):
                if is_node(a):                        # a node, not a literal
                    contrib = _scalar(seed * d)
                    prev = adj.get(a)
                    adj[a] = contrib if prev is None else prev + contrib   # shared: sum over uses
            if strict:
                _check_local(name, op, args, vals, local, seed)
    return adj


def _check_local(name, op, args, vals, local, seed) -> None:
    for a, d in zip(args, local, strict=True):
        if is_node(a) and not _all_finite(d) and _all_finite(seed) and all(map(_all_finite, vals)):
            shown = ", ".join(f"{b}={float(np.ravel(v)[0]):.6g}" if is_node(b) else repr(b)
                              for b, v in zip(args, vals, strict=True))
            raise DomainError(f"node {name!r} ({op.name}): the local derivative with respect to "
                              f"{a!r} is not finite at ({shown}); {op.kink or op.valid}. "
                              "strict=False gives nan/inf instead")


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
        Input values, as for :func:`symgrad.forward.forward`.
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
    out = graph.default_output(output)
    ins, shape = read_inputs(graph, values, inputs)
    vals = evaluate(graph, ins, strict=strict)
    adj = adjoints(graph, vals, out, strict=strict)
    zero = np.float64(0.0)
    return NodeValues({n: adj.get(n, zero) for n in graph.nodes}, shape)


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
    bw = backward(graph, values, output=output, strict=strict, **inputs)
    return {name: bw[name] for name in graph.inputs}
