"""Forward mode, Hessians and Jacobians with numbers.

Forward mode pushes tangents from the inputs: a node's tangent is the sum over
its arguments of (local partial) x (the argument's tangent), with the partials
of the op table on numpy (:data:`symgrad.core.ops.NUM`): the one forward sweep
(:func:`symgrad.core.tangent.tangent_sweep`) with the reverse mode's
:class:`~symgrad.core.sweep.Numbers` interpretation.  Several directions go in
one pass: a tangent carries the directions on a leading axis, in front of the
batch axes of the values.

The Hessian is forward-over-reverse: the tangent graph of the gradient graph
(:func:`symgrad.core.gradient_graph.tangent_graph` of
:func:`symgrad.core.gradient_graph.gradient_graph`, built once per graph and
cached) computes Hessian-vector products and runs on the executor like any
graph (compiled scalar code for a point); the Hessian is its products with the
unit vectors, a Hessian-vector product one pass without forming the matrix.

>>> import symgrad as sg
>>> g = sg.parse("sqrt(x**2 + exp(x**2)) + cos(x**2 + exp(x**2))")
>>> round(g.tangents(x=2.0, wrt="x")["f"], 3)
-182.87
>>> round(float(g.hessian(x=2.0)[0, 0]), 4)
21943.9018
"""

from __future__ import annotations

import threading
from collections.abc import Mapping

import numpy as np

from ..core.gradient_graph import derivative_graph, tangent_graph, wrt_inputs
from ..core.graph import Graph
from ..core.sweep import Numbers
from ..core.tangent import tangent_sweep
from ..errors import InputError
from .export import function
from .forward import read_inputs
from .lower import built
from .reference import NodeValues

__all__ = ["tangents", "jvp", "hessian", "hvp", "jacobian", "cached_gradient_graph", "hvp_graph"]


def cached_gradient_graph(graph: Graph, wrt: tuple, output: str) -> Graph:
    """``graph.gradient_graph(wrt, output)``, built once per graph (graphs are
    immutable; the gradient graph keeps its own lowered program)."""
    key = ("gradient_graph", wrt, output)
    dg = graph._cache.get(key)
    if dg is None:
        dg = graph._cache[key] = derivative_graph(graph, [output], wrt)
    return dg


def _values(graph: Graph, values, inputs) -> tuple[dict, tuple]:
    """Every node's forward value as float64 (arrays for a batch) and the batch shape."""
    ins, shape = read_inputs(graph, values, inputs)
    fw = graph.forward(ins)
    shape = () if shape is None else tuple(shape)
    vals = {n: np.float64(fw[n]) if not shape else np.asarray(fw[n]) for n in fw}
    return vals, shape


def _push(graph: Graph, vals: dict, seeds: dict) -> dict:
    with np.errstate(all="ignore"):
        return tangent_sweep(graph.program, seeds, Numbers(vals))


def _direction(graph: Graph, tangent: Mapping) -> dict:
    if not isinstance(tangent, Mapping):
        raise InputError(f"tangent= takes a mapping {{input: direction}}, got {type(tangent).__name__}")
    bad = [k for k in tangent if k not in graph.inputs or graph.op(k) is not None]
    if bad:
        raise InputError(f"tangent= names {', '.join(map(repr, bad))}, not an input; "
                         f"the inputs are {', '.join(graph.inputs)}")
    seeds = {}
    for k, v in tangent.items():
        try:
            seeds[k] = np.asarray(v, dtype=float)
        except (TypeError, ValueError):
            raise InputError(f"tangent of {k!r} must be a number or an array, got {v!r:.60}") from None
        if seeds[k].ndim == 0:
            seeds[k] = np.float64(seeds[k])
    return seeds


def tangents(graph: Graph, values: Mapping | None = None, /, *, wrt: str | None = None,
             tangent: Mapping | None = None, **inputs) -> NodeValues:
    """Forward mode: the tangent of every node, d node / d ``wrt`` (or along the
    direction ``tangent``).

    Parameters
    ----------
    graph
        The computational graph.
    values, **inputs
        Input values, as for :func:`symgrad.numeric.forward.forward` (arrays: a batch).
    wrt
        The input to differentiate by (default: the only input).
    tangent
        Instead of ``wrt``: a direction ``{input: tangent}`` (inputs not named
        have tangent 0; a tangent may be an array broadcasting with the batch).

    Returns
    -------
    NodeValues
        ``{node: tangent}`` in topological order (0 where a node does not depend
        on the direction), floats for scalars.

    Raises
    ------
    InputError, GraphError
        Bad inputs, both or neither of ``wrt``/``tangent`` on a graph with
        several inputs, ``wrt`` not an input.

    Examples
    --------
    >>> import symgrad as sg
    >>> g = sg.parse("x * y + sin(x)")
    >>> t = g.tangents(x=0.0, y=2.0, wrt="x")
    >>> t["x"], t["y"], t[g.outputs[0]]
    (1.0, 0.0, 3.0)
    >>> g.tangents(x=0.0, y=2.0, tangent={"x": 1.0, "y": 1.0})[g.outputs[0]]
    3.0
    """
    if (wrt is None) == (tangent is None) and not (wrt is None and len(graph.inputs) == 1):
        raise InputError("tangents() takes wrt=<input name> or tangent={input: direction}, one of them"
                         f" (the graph's inputs are {', '.join(graph.inputs)})")
    if tangent is None:
        seeds = {wrt_inputs(graph, wrt or graph.inputs[0])[0]: np.float64(1.0)}
    else:
        seeds = _direction(graph, tangent)
    vals, shape = _values(graph, values, inputs)
    tan = _push(graph, vals, seeds)
    full = np.broadcast_shapes(shape, *[np.shape(t) for t in seeds.values()])
    data = {n: tan.get(n, 0.0) for n in graph.nodes}
    return NodeValues(data, full or None)


def jvp(graph: Graph, values: Mapping, tangents: Mapping, *, output: str | None = None) -> tuple:
    """``(output value, directional derivative)`` along ``tangents`` by forward mode.

    Examples
    --------
    >>> import symgrad as sg
    >>> g = sg.parse("sqrt(x**2 + exp(x**2)) + cos(x**2 + exp(x**2))")
    >>> value, dot = g.jvp({"x": 2.0}, {"x": 1.0})
    >>> round(value, 4), round(dot, 2)
    (7.1943, -182.87)
    """
    out = graph.default_output(output)
    if not isinstance(values, Mapping):
        raise InputError(f"jvp() takes the inputs as a mapping {{name: value}}, got {type(values).__name__}")
    seeds = _direction(graph, tangents)
    vals, shape = _values(graph, values, {})
    tan = _push(graph, vals, seeds)
    value, dot = vals[out], tan.get(out, 0.0)
    full = np.broadcast_shapes(shape, *[np.shape(t) for t in seeds.values()])
    if not full:
        return float(value), float(dot)
    return np.broadcast_to(value, full), np.broadcast_to(dot, full)


def _axes(n: int, shape: tuple) -> list:
    """One-hot directions on a leading axis: ``e_i`` of shape ``(n, 1, ..., 1)``."""
    eye = np.eye(n)
    return [eye[i].reshape((n,) + (1,) * len(shape)) for i in range(n)]


def _stack(tan: dict, names, n: int, shape: tuple) -> np.ndarray:
    """``out[i, j]`` = the j-th direction's tangent of ``names[i]``, batch axes last."""
    out = np.zeros((len(names), n) + shape)
    for i, name in enumerate(names):
        t = tan.get(name)
        if t is not None:
            out[i] = np.broadcast_to(t, (n,) + shape)
    return out


def hvp_graph(graph: Graph, wrt: tuple, output: str) -> tuple[Graph, tuple]:
    """``(graph, directions)``: the tangent graph of the gradient graph (forward
    over reverse, :func:`symgrad.core.gradient_graph.tangent_graph`), whose
    outputs are ``H v`` for the direction inputs ``directions`` (``v_x``, one per
    input of ``wrt``; suffixed if taken).  Built once per graph, lowered like any graph."""
    key = ("hvp_graph", wrt, output)
    hit = graph._cache.get(key)
    if hit is None:
        dg = cached_gradient_graph(graph, wrt, output)
        taken, dirs = set(dg.nodes), {}
        for w in wrt:
            name, k = f"v_{w}", 2
            while name in taken:
                name, k = f"v_{w}_{k}", k + 1
            taken.add(name)
            dirs[w] = name
        hit = graph._cache[key] = (tangent_graph(dg, dirs, dg.outputs), tuple(dirs.values()))
    return hit


def hessian(graph: Graph, values: Mapping | None = None, /, *, wrt=None,
            output: str | None = None, **inputs) -> np.ndarray:
    """The Hessian of ``output`` by forward-over-reverse: the Hessian-vector
    products ``H e_j`` of the tangent graph of the gradient graph (:func:`hvp_graph`),
    run by the executor: one compiled scalar pass per input for a point, one
    batched pass with every direction on a leading axis otherwise.

    Parameters
    ----------
    graph
        The computational graph.
    values, **inputs
        Input values (arrays: a batch).
    wrt
        An input name or a sequence of them (default: every input, in ``graph.inputs`` order).
    output
        The node to differentiate (default: the only output).

    Returns
    -------
    numpy.ndarray
        Shape ``(n, n)``, or ``(*batch, n, n)`` for batched inputs;
        ``H[..., i, j] = d^2 output / d wrt[i] d wrt[j]``.

    Examples
    --------
    >>> import symgrad as sg
    >>> sg.parse("x**2 * y").hessian(x=1.0, y=3.0)
    array([[6., 2.],
           [2., 0.]])
    """
    out = graph.default_output(output)
    names = wrt_inputs(graph, wrt)
    hv, dirs = hvp_graph(graph, names, out)
    ins, shape = read_inputs(graph, values, inputs)
    n = len(names)
    if shape is None and n <= _SCALAR_PASSES:
        columns, run = [], dict(ins)
        for j in range(n):
            run.update({d: float(i == j) for i, d in enumerate(dirs)})
            fw = hv.forward(run)
            columns.append([fw[o] for o in hv.outputs])
        return np.array(columns).T
    shape = tuple(shape or ())
    run = {**ins, **dict(zip(dirs, _axes(n, shape), strict=True))}
    # one batched pass over all directions, through the graph's numpy function (its
    # outputs only: no per-node results to assemble; the same values as forward)
    fn = built(hv._cache, "hessian numpy", _LOCK, lambda: function(hv, "numpy"))
    with np.errstate(all="ignore"):
        outs = fn(*[run[x] for x in hv.inputs])
    outs = (outs,) if len(hv.outputs) == 1 else outs
    H = np.empty((len(outs), n) + shape)
    for k, o in enumerate(outs):
        H[k] = o                                    # broadcasts a constant entry
    return np.moveaxis(H, (0, 1), (-2, -1))


_LOCK = threading.Lock()


_SCALAR_PASSES = 8      # up to this many inputs, a point's Hessian is columns of compiled scalar passes


def hvp(graph: Graph, values: Mapping, vector: Mapping, *, wrt=None,
        output: str | None = None) -> dict:
    """The Hessian-vector product ``H v`` without forming ``H``: one pass of the
    tangent graph of the gradient graph (:func:`hvp_graph`) with ``v`` as its
    direction.

    Returns ``{input: (H v)[input]}`` for the inputs of ``wrt`` (default: all);
    ``vector`` maps those inputs to components (missing ones are 0; arrays
    broadcast with the batch).

    Examples
    --------
    >>> import symgrad as sg
    >>> sg.parse("x**2 * y").hvp({"x": 1.0, "y": 3.0}, {"x": 1.0, "y": 1.0})
    {'x': 8.0, 'y': 2.0}
    """
    out = graph.default_output(output)
    names = wrt_inputs(graph, wrt)
    if not isinstance(values, Mapping):
        raise InputError(f"hvp() takes the inputs as a mapping {{name: value}}, got {type(values).__name__}")
    seeds = _direction(graph, vector)
    extra = [k for k in seeds if k not in names]
    if extra:
        raise InputError(f"vector= names {', '.join(map(repr, extra))}, not among wrt= {names!r}")
    hv, dirs = hvp_graph(graph, names, out)
    ins, _ = read_inputs(graph, values, {})
    fw = hv.forward({**ins, **{d: seeds.get(w, 0.0) for w, d in zip(names, dirs)}})
    return {w: fw[o] for w, o in zip(names, hv.outputs, strict=True)}


def jacobian(graph: Graph, values: Mapping | None = None, /, *, outputs=None, wrt=None,
             **inputs) -> np.ndarray:
    """The Jacobian of ``outputs`` (default: the graph's) with respect to ``wrt``
    (default: every input) by forward mode, all directions in one pass.

    Returns
    -------
    numpy.ndarray
        Shape ``(len(outputs), n)``, or ``(*batch, len(outputs), n)`` for batched inputs.

    Examples
    --------
    >>> import symgrad as sg
    >>> x, y = sg.variable("x"), sg.variable("y")
    >>> g = sg.Graph({"u": x * y, "v": x + y})
    >>> g.jacobian(x=2.0, y=3.0)
    array([[3., 2.],
           [1., 1.]])
    """
    outs = graph.outputs if outputs is None else ((outputs,) if isinstance(outputs, str) else tuple(outputs))
    outs = tuple(graph.default_output(o) for o in outs)
    names = wrt_inputs(graph, wrt)
    vals, shape = _values(graph, values, inputs)
    n = len(names)
    tan = _push(graph, vals, dict(zip(names, _axes(n, shape), strict=True)))
    return np.moveaxis(_stack(tan, outs, n, shape), (0, 1), (-2, -1))
