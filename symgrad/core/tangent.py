"""The chain rule forward: tangents pushed from the inputs to the outputs.

:func:`tangent_sweep` is forward mode, the mirror of :func:`symgrad.core.sweep.sweep`:
walk the flat program in order and give each node the SUM over its arguments
of (local partial) x (the argument's tangent), so a node reading a shared node
twice gets two terms.  It reads the same :class:`~symgrad.core.sweep.Interpretation`
hooks as the reverse sweep, with the roles of node and argument swapped:
``term(tangent of arg, d, name, pos, arg)`` is one argument's contribution to
``name``'s tangent, ``first``/``add`` collect them (keyed by ``name``) and
``settle(name, total)`` turns the sum into the node's tangent.  So numbers
(forward mode), graph nodes (a tangent graph) and recorded terms (a forward
derivation) are interpretations, not further loops.

>>> import symgrad as sg
>>> from symgrad.core.sweep import Numbers
>>> g = sg.parse("sqrt(x**2 + exp(x**2)) + cos(x**2 + exp(x**2))")
>>> tan = tangent_sweep(g.program, {"x": 1.0}, Numbers(dict(g.forward(x=2.0))))
>>> round(float(tan["a"]), 4), round(float(tan["f"]), 4)
(4.0, -182.8698)
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from .graph import is_node
from .sweep import Interpretation

__all__ = ["tangent_sweep"]


def tangent_sweep(program: Iterable, seeds: Mapping, interp: Interpretation) -> dict:
    """Forward accumulation over ``program`` (rows ``(name, op, args)`` in
    topological order) from ``seeds`` (``{node: tangent}``, usually inputs).

    Returns ``{node: tangent}`` for the seeds and every node that depends on
    one; a node depending on none has no entry (its tangent is 0).  Partials
    are asked for only at rows with a tangent coming in; a partial of None drops
    that edge.  Iterative: no recursion, any depth.
    """
    tan = dict(seeds)
    partials, term, first, add, settle = (interp.partials, interp.term, interp.first,
                                          interp.add, interp.settle)
    cls = type(interp)
    own = (cls.term is not Interpretation.term, cls.first is not Interpretation.first,
           cls.add is not Interpretation.add, cls.settle is not Interpretation.settle)
    get = tan.get
    for name, op, args in program:
        local, total = None, None
        for pos, a in enumerate(args):
            t = get(a) if is_node(a) else None
            if t is None:
                continue
            if local is None:
                local = partials(name, op, args)
            d = local[pos]
            if d is None:
                continue
            piece = term(t, d, name, pos, a) if own[0] else t * d
            if total is None:
                total = first(piece, name) if own[1] else piece
            else:
                total = add(total, piece, name) if own[2] else total + piece
        if total is not None:
            tan[name] = settle(name, total) if own[3] else total
    return tan
