"""The Hessian in SymPy, read off the Hessian graph (gradient graph twice).

:func:`symbolic_hessian` differentiates the gradient graph
(:func:`symgrad.core.gradient_graph.gradient_graph`) once more with respect to
each input, as one hash-consed graph whose outputs are the second derivatives,
and turns it into SymPy: entry by entry (each entry one expression in the
inputs) or, with ``shared=True``, as assignments in the graph's order (like
``symbolic_gradient(shared=True)``: size linear in the graph, no swell).  No
``sympy.diff``; kinks keep the numeric conventions (relu'' = 0, also at 0).
"""

from __future__ import annotations

import sympy as sp

from ..core.gradient_graph import derivative_graph, wrt_inputs
from ..core.graph import Graph, is_node
from ..core.ops import SYM
from ..front.sympy_io import literal
from .gradient import symbol

__all__ = ["symbolic_hessian", "hessian_graph"]


def hessian_graph(graph: Graph, wrt=None, output: str | None = None) -> Graph:
    """One graph with ``graph``'s inputs whose outputs are the second
    derivatives ``dd{output}_d{wi}_d{wj}`` (row-major over ``wrt``): the
    gradient graph differentiated again (reverse-over-reverse)."""
    out = graph.default_output(output)
    names = wrt_inputs(graph, wrt)
    dg = derivative_graph(graph, [out], names)
    return derivative_graph(dg, dg.outputs, names)


def symbolic_hessian(graph: Graph, wrt=None, output: str | None = None, *, shared: bool = False):
    """The Hessian of ``output`` as a ``sympy.Matrix``, from the Hessian graph.

    Parameters
    ----------
    graph
        The computational graph.
    wrt
        An input name or a sequence of them (default: every input).
    output
        The node to differentiate (default: the only output).
    shared
        If False, a Matrix of expressions in the inputs.  If True,
        ``(assignments, Matrix)``: ``assignments`` are ``(Symbol, expression)``
        pairs to evaluate in order (one per node of the Hessian graph, named as
        its nodes), and the Matrix holds the symbols of the entries.

    Returns
    -------
    sympy.Matrix or tuple

    Examples
    --------
    >>> import symgrad as sg
    >>> sg.parse("x**3 * y").symbolic_hessian()
    Matrix([
    [ 6*x*y, 3*x**2],
    [3*x**2,      0]])
    >>> g = sg.parse("sqrt(x**2 + exp(x**2)) + cos(x**2 + exp(x**2))")
    >>> round(float(g.symbolic_hessian()[0, 0].subs(sg.symbolic.gradient.symbol("x"), 2)), 4)
    21943.9018
    """
    names = wrt_inputs(graph, wrt)
    hg = hessian_graph(graph, names, output)
    n = len(names)
    if not shared:
        return sp.Matrix(n, n, [hg.to_sympy(o) for o in hg.outputs])
    syms = {x: symbol(x) for x in hg.inputs}
    assignments = []
    for name, op, args in hg.program:
        syms[name] = symbol(name)
        assignments.append((syms[name], op.apply(SYM, *[syms[a] if is_node(a) else literal(a)
                                                         for a in args])))
    return assignments, sp.Matrix(n, n, [syms[o] for o in hg.outputs])
