"""Reverse mode: the adjoint d(output)/d(node) of every node.

The chain rule is written once, here: walk the flat program backwards, multiply
each node's adjoint by the op's local partials, and SUM into the arguments, so a
shared node collects the contributions of all its consumers.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from .errors import DomainError, InputError
from .forward import NodeValues, _all_finite, _scalar, evaluate, read_inputs, run_forward
from .graph import Graph, is_node
from .lower import FALLBACK, lowered
from .ops import NUM
from .sweep import Numbers, sweep

__all__ = ["backward", "grad", "adjoints", "run_passes", "mean_grad"]


def adjoints(graph: Graph, values: dict, output: str, *, strict: bool = False) -> dict:
    """The reference reverse loop: ``{node: adjoint}`` for the nodes ``output``
    depends on, by :func:`symgrad.sweep.sweep` with numbers (``values`` holds
    every node's forward value); with ``strict``, a local derivative that is not
    finite at finite arguments is a DomainError."""
    with np.errstate(all="ignore"):
        return sweep(graph.program, output, _Reference(values, strict), np.float64(1.0))


class _Reference(Numbers):
    """Numbers with literals as floats, 0-d results as scalars, and the strict
    check of each row's local derivatives (against the row's own adjoint)."""

    def __init__(self, values, strict: bool):
        super().__init__(values)
        self.strict, self.seed = strict, None

    def settle(self, name, total):
        self.seed = total
        return total

    def partials(self, name, op, args):
        vals = [self.values[a] if is_node(a) else float(a) for a in args]   # literals as floats
        local = op.partials(NUM, self.values[name], *vals)
        if self.strict:
            _check_local(name, op, args, vals, local, self.seed)
        return local

    def term(self, seed, d, name, pos, arg):
        return _scalar(seed * d)


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
    _, adj = run_passes(graph, ins, shape, out, strict)
    zero = np.float64(0.0)
    return NodeValues({n: zero if a is None else a for n, a in zip(graph.nodes, adj, strict=True)},
                      shape)


def run_passes(graph: Graph, ins: dict, shape: tuple | None, output: str,
               strict: bool = False) -> tuple[list, list]:
    """Forward values (a Mapping node -> value) and adjoints by slot (position in
    ``graph.nodes``; None where ``output`` does not depend on the node), through
    the lowered program; the reference interpreters in strict mode and where the
    scalar backend leaves nan/inf to numpy."""
    if not strict:
        low = lowered(graph)
        if shape is None:
            try:
                vals = low.values(ins, scalar=True)
                return None, low.adjoints(vals, output, scalar=True)
            except FALLBACK:                      # math raised where numpy gives nan/inf
                pass
        else:
            with np.errstate(all="ignore"):
                return low.run_arrays(ins, output)[:2]
    vals = evaluate(graph, ins, strict=strict)
    adj = adjoints(graph, vals, output, strict=strict)
    return vals, [adj.get(n) for n in graph.nodes]


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
    out = graph.default_output(output)
    if not strict and (values is None or not inputs):
        fast = lowered(graph).scalar_grad(out)          # floats in, one compiled function
        if fast is not None:
            try:
                return fast(inputs if values is None else values)
            except (TypeError, KeyError, *FALLBACK):     # not plain floats, or nan/inf ahead
                pass
    ins, shape = read_inputs(graph, values, inputs)
    _, adj = run_passes(graph, ins, shape, out, strict)
    slot = lowered(graph).slot
    if shape is None:
        return {x: 0.0 if adj[slot[x]] is None else float(adj[slot[x]]) for x in graph.inputs}
    zero = np.float64(0.0)
    return {x: np.broadcast_to(zero if adj[slot[x]] is None else adj[slot[x]], shape)
            for x in graph.inputs}


def mean_grad(graph: Graph, values: Mapping | None = None, /, *, output: str | None = None,
              wrt: Sequence[str] | None = None, **inputs) -> tuple[float, dict]:
    """The mean of ``output`` over a batch of samples and its gradient
    ``{input: d mean(output) / d input}`` for the inputs ``wrt`` (default: all; for
    one sample: the value and ``grad``).

    This is the training step of a mean loss: an MLP's layers run as matrix
    products (:mod:`symgrad.fuse`) and the weights' adjoints are averaged inside
    them, without materializing per-sample weight adjoints.

    Examples
    --------
    >>> import numpy as np, symgrad as sg
    >>> g = sg.parse("w * x")
    >>> value, gradient = mean_grad(g, w=3.0, x=np.array([1.0, 2.0, 3.0]))
    >>> value, gradient["w"], gradient["x"]
    (6.0, 2.0, 3.0)
    """
    out = graph.default_output(output)
    ins, shape = read_inputs(graph, values, inputs)
    wrt = graph.inputs if wrt is None else tuple(wrt)
    unknown = [x for x in wrt if x not in ins]
    if unknown:
        raise InputError(f"wrt names {', '.join(map(repr, unknown))}, which are not inputs; "
                         f"the graph's inputs are {', '.join(graph.inputs)}")
    low = lowered(graph)
    if shape is None:
        adj = run_passes(graph, ins, None, out)[1]
        value = float(run_forward(graph, ins, None)[out])
        return value, {x: _mean(adj[low.slot[x]]) for x in wrt}
    with np.errstate(all="ignore"):
        return low.mean_gradient(ins, out, wrt)


def _mean(a) -> float:
    return 0.0 if a is None else float(a)
