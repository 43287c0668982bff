"""Forward-mode derivation steps: tangents pushed from the inputs to the outputs.

:func:`tangent_steps` gives one :class:`TangentStep` per node, in topological
order, written as the chain rule over the node's ARGUMENTS (forward mode's
mirror of the backward steps' sum over consumers)::

    ċ = ∂c/∂a · ȧ + ∂c/∂b · ḃ = 1 * 4 + 1 * 218.39 = 222.39

The steps come from :func:`symgrad.core.tangent.tangent_sweep` read by
:class:`_Pushed`, which records each argument's :class:`~symgrad.show.derive.Term`
(``consumer`` the node, ``node`` the argument, ``seed`` the argument's tangent,
``local_value`` the local derivative's number); the printed local derivatives
are the backward steps' own (:func:`symgrad.show.local.generic_partials`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from numbers import Real

import numpy as np

from ..core.gradient_graph import wrt_inputs
from ..core.graph import Graph, is_node
from ..core.ops import NUM
from ..core.sweep import Interpretation, Numbers
from ..core.tangent import tangent_sweep
from ..errors import GraphError, InputError
from .local import arg_shape, generic_partials

__all__ = ["Collected", "TangentStep", "direction", "first_positions", "tangent_steps"]


@dataclass(frozen=True)
class TangentStep:
    """The tangent of ``node``: the sum over ``terms`` (one per distinct node
    argument carrying a tangent; empty for an input, whose tangent is the
    seed, and for a node that does not depend on the direction, whose tangent
    is 0) and its number ``value``."""

    node: str
    terms: tuple
    value: float


def direction(graph: Graph, wrt, tangent) -> dict:
    """The seeds ``{input: float}`` of a forward-mode derivation: ``wrt`` (one
    input name: its tangent is 1) or ``tangent`` (``{input: number}``), exactly
    one of them.

    Raises
    ------
    InputError
        Neither or both, a ``wrt`` that is not one input name, a ``tangent``
        naming something other than an input or holding a non-number.
    """
    if (wrt is None) == (tangent is None):
        raise InputError("mode='forward' needs wrt=<input name> (or tangent={input: number}), one of "
                         f"them; the inputs are {', '.join(graph.inputs) or 'none'}")
    if wrt is not None:
        if not isinstance(wrt, str):
            raise InputError(f"wrt= takes one input name for forward mode, got {wrt!r:.60}")
        try:
            return {wrt_inputs(graph, wrt)[0]: 1.0}
        except GraphError as err:                     # not an input: a bad argument here
            raise InputError(str(err)) from None
    if not isinstance(tangent, Mapping) or not tangent:
        raise InputError(f"tangent= takes a mapping {{input: number}} such as {{'x': 1}}, got {tangent!r:.60}")
    seeds = {}
    for k, v in tangent.items():
        if k not in graph.inputs or graph.op(k) is not None:
            raise InputError(f"tangent= names {k!r}, not an input; the inputs are {', '.join(graph.inputs)}")
        if isinstance(v, bool) or not isinstance(v, Real) or not math.isfinite(v):
            raise InputError(f"the tangent of {k!r} must be a finite number, got {v!r:.40}")
        seeds[k] = float(v)
    return seeds


def tangent_steps(graph: Graph, vals: Mapping, seeds: Mapping, term: type, keep=None) -> tuple:
    """One :class:`TangentStep` per node (inputs first, as seeded), in
    topological order; ``term`` is the record of one argument's share
    (:class:`symgrad.show.derive.Term`), ``keep`` limits the steps to a set of
    nodes.  The values are forward mode's own numbers (the same sweep with
    :class:`~symgrad.core.sweep.Numbers`), so they equal ``graph.tangents``."""
    with np.errstate(all="ignore"):
        numbers = tangent_sweep(graph.program, {k: np.float64(v) for k, v in seeds.items()},
                                Numbers(vals))
    rec = tangent_sweep(graph.program, {k: TangentStep(k, (), v) for k, v in seeds.items()},
                        _Pushed(vals, numbers, term))
    steps = []
    for n in graph.nodes:
        if keep is None or n in keep:
            steps.append(rec.get(n) or TangentStep(n, (), 0.0))
    return tuple(steps)


def first_positions(shape: tuple, per_node) -> list:
    """One entry per argument of an :func:`~symgrad.show.local.arg_shape`:
    ``per_node(k)`` at the first position of the k-th distinct node, None at a
    literal or a node's later position (its partials are summed into the first)."""
    seen: set = set()
    out = []
    for s in shape:
        if isinstance(s, int) and s not in seen:
            seen.add(s)
            out.append(per_node(s))
        else:
            out.append(None)
    return out


class Collected(Interpretation):
    """A sweep whose sums are lists of the recorded terms (a derivation's reading)."""

    def first(self, term, key):
        return [term]

    def add(self, total, term, key):
        total.append(term)
        return total


class _Pushed(Collected):
    """The derivation's reading of the forward sweep: a tangent is the list of
    the node's arguments' :class:`~symgrad.show.derive.Term` records, settled
    into a :class:`TangentStep` whose value the next nodes' terms read.  A node
    used at several positions of one op gets one term, the sum of its partials."""

    def __init__(self, vals: Mapping, numbers: Mapping, term: type) -> None:
        self.vals, self.numbers, self.record = vals, numbers, term

    def partials(self, name, op, args):
        shape, names = arg_shape(args)
        generic = generic_partials(op.name, shape)
        with np.errstate(all="ignore"):
            nums = op.partials(NUM, self.vals[name], *[self.vals[a] if is_node(a) else a for a in args])
        summed = [0.0] * len(names)
        for s, d in zip(shape, nums, strict=True):
            if isinstance(s, int):
                summed[s] += float(d)
        return first_positions(shape, lambda k: (generic[k], names, summed[k]))

    def term(self, seed, d, name, pos, arg):
        generic, names, value = d
        return self.record(name, arg, seed.value, generic, names, value)

    def settle(self, name, total):
        return TangentStep(name, tuple(total), float(self.numbers[name]))
