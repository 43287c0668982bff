"""The chain rule, written once.

:func:`sweep` walks a flat program backwards from one output, multiplies each
node's adjoint by its op's local partial derivatives and SUMS the products into
the arguments, so a shared node collects one term per consumer (the
multivariate chain rule).  What an adjoint, a local derivative, a product and
a sum *are* is left to an :class:`Interpretation`, as JAX interprets one set of
primitives many ways: numbers (reverse mode), SymPy expressions (symbolic
gradients), lines of Python (the code generator), recorded terms (the
derivation's "sum over consumers" lines, grading a student's edges).

>>> import symgrad as sg
>>> g = sg.parse("sqrt(x**2 + exp(x**2)) + cos(x**2 + exp(x**2))")
>>> vals = dict(g.forward(x=2.0))
>>> adj = sweep(g.program, "f", Numbers(vals), 1.0)
>>> [round(float(adj[n]), 4) for n in "cax"]
[-0.8223, -45.7175, -182.8698]
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from .graph import is_node
from .ops import NUM

__all__ = ["Interpretation", "Numbers", "sweep"]


class Interpretation:
    """What the sweep does at each step; subclasses override what they need.

    ``partials(name, op, args)`` gives one local derivative per argument (any
    value at a literal's position; ``None`` at a node's position drops that
    edge).  ``term(seed, d, name, pos, arg)`` is one consumer's contribution
    ``seed * d`` to ``arg``'s adjoint, ``first(term, arg)`` starts an adjoint
    with it and ``add(total, term, arg)`` sums a further one.  ``settle(name,
    total)`` turns a node's complete adjoint into the seed its own partials are
    multiplied by (a sum of collected terms, a fresh symbol, a variable name).
    """

    def partials(self, name: str, op, args: tuple):
        raise NotImplementedError

    def term(self, seed, d, name, pos: int, arg):
        return seed * d

    def first(self, term, arg):
        return term

    def add(self, total, term, arg):
        return total + term

    def settle(self, name, total):
        return total


class Numbers(Interpretation):
    """Reverse mode with numpy numbers: ``values`` holds every node's forward value."""

    def __init__(self, values, check: Callable | None = None):
        self.values, self.check = values, check

    def partials(self, name, op, args):
        vals = [self.values[a] if is_node(a) else a for a in args]
        local = op.partials(NUM, self.values[name], *vals)
        if self.check is not None:
            self.check(name, op, args, vals, local)
        return local


def sweep(program: Iterable, output, interp: Interpretation, seed, *,
          node: Callable | None = is_node, settle_leaves: bool = False, seeds=None) -> dict:
    """Reverse accumulation over ``program`` (rows ``(name, op, args)`` in
    topological order; ``args`` mixes nodes and literals, ``node(a)`` tells
    which) from ``output``, whose adjoint is ``seed``.

    Returns ``{node: adjoint}`` for every node ``output`` depends on.  A row's
    adjoint is settled before its partials are used; the adjoints of nodes
    that are not rows (the inputs) are returned as accumulated, or settled too
    with ``settle_leaves=True``.  Iterative: no recursion, any depth.

    ``node=None`` trusts ``partials`` to give None at every literal's position.
    ``seeds`` (``{node: adjoint}``) starts further adjoints besides ``output``'s:
    a sweep over one segment of a program, below adjoints computed elsewhere
    (the fused layers' matrix products), continues from them.
    """
    adj = {output: seed}
    if seeds:
        adj.update(seeds)
    settled = set()
    partials, term_of, first, add, settle = (interp.partials, interp.term, interp.first,
                                              interp.add, interp.settle)
    # the hooks an interpretation keeps as defined here are done inline (same results)
    cls = type(interp)
    own_settle, own_term = cls.settle is not Interpretation.settle, cls.term is not Interpretation.term
    own_first, own_add = cls.first is not Interpretation.first, cls.add is not Interpretation.add
    for name, op, args in reversed(program if isinstance(program, (list, tuple)) else list(program)):
        total = adj.get(name)
        if total is None:
            continue
        own = adj[name] = settle(name, total) if own_settle else total
        if settle_leaves:
            settled.add(name)
        pos = -1
        for a, d in zip(args, partials(name, op, args), strict=True):
            pos += 1
            if d is None or (node is not None and not node(a)):
                continue
            term = term_of(own, d, name, pos, a) if own_term else own * d
            prev = adj.get(a)
            if prev is None:
                adj[a] = first(term, a) if own_first else term
            else:
                adj[a] = add(prev, term, a) if own_add else prev + term
    if settle_leaves:
        for name in [n for n in adj if n not in settled]:
            adj[name] = interp.settle(name, adj[name])
    return adj
