"""Executor paths: every tier of the lowered program, each run on purpose.

:mod:`symgrad.numeric.lower` picks one tier per call, by graph size, by how often the
graph was evaluated and by the kind of inputs: the fast scalar grad (one compiled
function), compiled straight-line code, the instruction loop, layers fused into
matrix products (:mod:`symgrad.numeric.fuse`) with compiled or looped segments between
them, and the mean gradient of a batch.  A user's call exercises one of them;
:func:`run_paths` runs each in turn on a fresh lowering of the graph (nothing is
shared with, or left in, the graph's cache), so that :func:`symgrad.symbolic.check.check`
with ``paths=True`` and the tests compare every tier with the reference
interpreters.

Each result records the tier that really ran (``ran``), read back from the
lowering's own caches, or why the tier does not apply at this point (``note``):
the fast grad takes scalar points only, the scalar backend leaves nan/inf to the
reference, fused layers need scalar weights and a graph that has layers (rows of
an op marked ``Op.linear`` reading the same values, with input weights).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from ..core.graph import Graph
from .lower import CODE_LIMIT, FALLBACK, FAST_LIMIT, HOT_AFTER, Lowered

__all__ = ["PATHS", "PathResult", "run_paths"]

PATHS = ("fast grad", "code", "loop", "fused", "fused loop", "mean gradient")


@dataclass(frozen=True)
class PathResult:
    """What one executor path computed.

    ``values`` and ``adjoints`` map node names to values and adjoints of the
    differentiated output (None: the path does not give them; the fast grad gives
    the inputs' adjoints only).  ``means`` maps the output and the inputs to the
    mean value and mean adjoints (the mean-gradient path).  ``ran`` names the tier
    that ran, ``""`` when the path does not apply, and ``note`` says why."""

    name: str
    ran: str = ""
    values: Mapping | None = None
    adjoints: Mapping | None = None
    means: Mapping | None = None
    note: str = ""


def run_paths(graph: Graph, inputs: Mapping, output: str, shape: tuple | None,
              paths=PATHS) -> dict:
    """``{path: PathResult}`` for each path in ``paths`` (see :data:`PATHS`).

    ``inputs`` and ``shape`` are as :func:`symgrad.numeric.forward.read_inputs` returns
    them.  At a scalar point (``shape`` None), ``code`` and ``loop`` run on the
    scalar (``math``) backend and the array paths (``fused``, ``fused loop``,
    ``mean gradient``) on 0-d arrays; with arrays, ``code`` and
    ``loop`` run on the numpy backend and the fast grad does not apply.
    """
    unknown = [p for p in paths if p not in PATHS]
    if unknown:
        raise ValueError(f"unknown executor path(s) {unknown}; the paths are {', '.join(PATHS)}")
    ins = {x: inputs[x] for x in graph.inputs}
    runners = {"fast grad": _fast_grad, "code": _generic, "loop": _generic,
               "fused": _fused, "fused loop": _fused, "mean gradient": _mean_gradient}
    out = {}
    with np.errstate(all="ignore"):
        for p in paths:
            out[p] = runners[p](p, graph, ins, output, shape)
    return out


_NO_FIT = "the inputs do not fit the fused layers (a weight is an array)"
_TOO_BIG = f"compiled for graphs of up to {CODE_LIMIT} operations only (larger ones run the loop)"


def _fresh(graph: Graph, mode: str, uses: int) -> Lowered:
    """A lowering of ``graph`` of its own (not the cached one), in ``mode``, as if
    evaluated ``uses`` times (from HOT_AFTER + 1 on, ``code`` mode compiles)."""
    low = Lowered(graph)
    low.mode = mode
    low._uses = uses
    return low


def _named(low: Lowered, slots_list: list, scalar: bool) -> dict:
    return {n: _unbatch(v, scalar) for n, v in zip(low.names, slots_list, strict=True)}


def _unbatch(v, scalar: bool):
    """A path's value; at a scalar point run as a batch of one, that one number."""
    if v is None or not scalar:
        return v
    return float(np.ravel(v)[0])


def _fast_grad(name, graph, ins, output, shape) -> PathResult:
    if shape is not None:
        return PathResult(name, note="scalar points only (the inputs are arrays)")
    low = _fresh(graph, "code", HOT_AFTER)
    fn = low.scalar_grad(output)
    if fn is None:
        return PathResult(name, note=f"graphs of up to {FAST_LIMIT} operations only")
    try:
        grads = fn({x: float(v) for x, v in ins.items()})
    except FALLBACK:
        return PathResult(name, note="nan/inf ahead: calls take the reference path here")
    ran = "one compiled function on Python floats" if output in low._grad else ""
    return PathResult(name, ran, adjoints=grads)


def _generic(name, graph, ins, output, shape) -> PathResult:
    mode = "code" if name == "code" else "loop"
    low = _fresh(graph, mode, HOT_AFTER + 1)
    if mode == "code" and len(low.rows) > CODE_LIMIT:
        return PathResult(name, note=_TOO_BIG)
    scalar = shape is None
    try:
        V = low.values(ins, scalar)
        G = low.adjoints(V, output, scalar)
    except FALLBACK:
        return PathResult(name, note="nan/inf ahead: calls take the reference path here")
    backend = "math" if scalar else "num"
    ran = "compiled code" if backend in low._fwd else "instruction loop" if ("loop", backend) in low._fwd else ""
    return PathResult(name, f"{ran} ({backend})", _named(low, V, False), _named(low, G, False))


def _batch(ins, shape):
    """Array inputs: as given; a scalar point: 0-d arrays (the array paths' batch of
    one sample; weights stay scalars, so layers fuse)."""
    return ins if shape is not None else {x: np.asarray(float(v)) for x, v in ins.items()}


def _fused(name, graph, ins, output, shape) -> PathResult:
    low = _fresh(graph, "loop" if name == "fused loop" else "code", HOT_AFTER + 1)
    if low.mode == "code" and len(low.rows) > CODE_LIMIT:
        return PathResult(name, note=_TOO_BIG)
    if not low.blocks():
        return PathResult(name, note="no fusable layers in this graph")
    info: dict = {}
    V, G = low.run_arrays(_batch(ins, shape), output, info=info)
    if not info["fused"]:                                   # a layer raised NoFuse: generic ran
        return PathResult(name, note=_NO_FIT)
    scalar = shape is None
    segments = "compiled code" if low.mode == "code" else "instruction loop"
    return PathResult(name, f"fused layers + {segments}", _named(low, V, scalar), _named(low, G, scalar))


def _mean_gradient(name, graph, ins, output, shape) -> PathResult:
    low = _fresh(graph, "code", HOT_AFTER + 1)
    info: dict = {}
    value, grads = low.mean_gradient(_batch(ins, shape), output, info=info)
    ran = "fused layers, weights averaged in them" if info["fused"] else "the generic program, averaged"
    return PathResult(name, ran, means={output: value, **grads})
