"""Symbolic gradients by reverse accumulation over the graph, without swell.

The chain rule runs over the flat program exactly as in :mod:`symgrad.numeric.reverse`,
but with the :data:`~symgrad.core.ops.SYM` backend: each op's local derivatives are
SymPy expressions, and a shared node's adjoint is the sum over its consumers.
Nothing calls ``sympy.diff``.

Three views of the same computation:

- :func:`symbolic_gradient` -- ``{input: SymPy expression in the inputs}``;
- ``symbolic_gradient(..., shared=True)`` -- ``(assignments, gradient)`` like
  ``sympy.cse``: one assignment per forward node and per adjoint, so its size
  grows linearly with the graph;
- :func:`symbolic_adjoints` -- every node's adjoint in terms of the node symbols
  (the lecture's ``df/dc = -sin(c) + 1/(2*sqrt(c))``).
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping

import numpy as np
import sympy as sp

from ..errors import GraphError
from ..core.graph import Graph, is_node
from ..core.ops import NUM, SYM, Derived
from ..front.sympy_io import literal, sympy_heads, sympy_values
from ..core.sweep import Interpretation, sweep

__all__ = ["symbolic_gradient", "symbolic_adjoints", "shared_size", "evaluate_shared", "symbol"]


def symbol(name: str) -> sp.Symbol:
    """The SymPy symbol of a node, input or adjoint: real, as every graph value is."""
    return sp.Symbol(name, real=True)


def _wrt(graph: Graph, wrt) -> tuple[str, ...]:
    """The inputs to differentiate by: all inputs, one name or a sequence of names."""
    if wrt is None:
        return graph.inputs
    if not isinstance(wrt, (str, Iterable)):
        raise GraphError(f"wrt= takes an input name or a list of them, got {wrt!r}")
    names = (wrt,) if isinstance(wrt, str) else tuple(wrt)
    bad = [w for w in names if w not in graph.inputs]
    if bad:
        raise GraphError(f"cannot differentiate with respect to {', '.join(map(repr, bad))}: "
                         f"not an input; the inputs are {', '.join(graph.inputs)}")
    return names


class _Terms(Interpretation):
    """SymPy adjoints: a node's terms are collected in a list (one per consumer)
    and settled as one ``sp.Add``.  ``value_of[node]`` is what stands for a node
    inside local derivatives and ``out_of(name, op, argvals)`` what stands for
    the op's own result."""

    def __init__(self, value_of: Mapping, out_of):
        self.value_of, self.out_of = value_of, out_of

    def partials(self, name, op, args):
        argvals = [self.value_of[a] if is_node(a) else literal(a) for a in args]
        return op.partials(SYM, self.out_of(name, op, argvals), *argvals)

    def first(self, term, arg):
        return [term]

    def add(self, total, term, arg):
        total.append(term)                                   # shared node: sum over uses
        return total

    def settle(self, name, total):
        return sp.Add(*total)


def _accumulate(graph: Graph, output: str, value_of: Mapping, out_of) -> dict:
    """The reverse sweep with SymPy: ``{node: adjoint expression}``."""
    return sweep(graph.program, output, _Terms(value_of, out_of), [sp.Integer(1)],
                 settle_leaves=True)


def symbolic_adjoints(graph: Graph, output: str | None = None) -> dict:
    """The adjoint d(output)/d(node) of every node, in terms of the node symbols.

    Each local derivative is written in its op's argument symbols (``out`` is the
    op applied to them), and adjoints are multiplied down the graph and summed
    over consumers, exactly as reverse mode does with numbers.  Nodes that the
    output does not depend on get 0.

    Parameters
    ----------
    graph
        The computational graph.
    output
        The node to differentiate (default: the only output).

    Returns
    -------
    dict
        ``{node: SymPy expression}`` in topological order; the symbols are
        ``sympy.Symbol(node name, real=True)``.

    Examples
    --------
    >>> import symgrad as sg
    >>> g = sg.parse("sqrt(x**2 + exp(x**2)) + cos(x**2 + exp(x**2))")
    >>> adj = sg.symbolic.gradient.symbolic_adjoints(g)
    >>> adj["c"]
    -sin(c) + 1/(2*sqrt(c))
    >>> adj["x"]
    2*x*((-sin(c) + 1/(2*sqrt(c)))*exp(a) - sin(c) + 1/(2*sqrt(c)))
    """
    out = graph.default_output(output)
    syms = {n: symbol(n) for n in graph.nodes}
    adj = _accumulate(graph, out, syms, lambda name, op, argvals: op.apply(SYM, *argvals))
    return {n: adj.get(n, sp.Integer(0)) for n in graph.nodes}


def symbolic_gradient(graph: Graph, wrt=None, output: str | None = None, *,
                      shared: bool = False):
    """The gradient of ``output`` with respect to inputs, as SymPy expressions.

    Built by reverse accumulation over the graph with each op's SymPy local
    derivatives (never ``sympy.diff`` of a flattened expression); kinks follow
    the numeric convention (``relu'(0) = 0``, as PyTorch).

    Parameters
    ----------
    graph
        The computational graph.
    wrt
        An input name or a sequence of them (default: every input).
    output
        The node to differentiate (default: the only output).
    shared
        If False, return ``{input: expression in the inputs}``.  If True, return
        ``(assignments, gradient)``: ``assignments`` is a list of
        ``(Symbol, expression)`` pairs to evaluate in order (forward nodes under
        their node names, adjoints as ``adj_<node>``), and ``gradient`` maps each
        input to an expression in the inputs and those symbols, like
        ``sympy.cse`` output.  Its size grows linearly with the graph.

    Returns
    -------
    dict or tuple
        See ``shared``.

    Raises
    ------
    GraphError
        If ``wrt`` names something that is not an input, or ``output`` is unknown.

    Examples
    --------
    >>> import symgrad as sg
    >>> g = sg.parse("sqrt(x**2 + exp(x**2)) + cos(x**2 + exp(x**2))")
    >>> grad = g.symbolic_gradient()
    >>> round(float(grad["x"].subs(sg.symbolic.gradient.symbol("x"), 2.0)), 2)
    -182.87
    >>> assignments, grad = g.symbolic_gradient(shared=True)
    >>> for sym, expr in assignments:
    ...     print(sym, "=", expr)
    a = x**2
    b = exp(a)
    c = a + b
    d = sqrt(c)
    adj_c = -sin(c) + 1/(2*d)
    adj_a = adj_c*b + adj_c
    >>> grad
    {'x': 2*adj_a*x}
    """
    out = graph.default_output(output)
    names = _wrt(graph, wrt)
    if shared:
        return _shared_gradient(graph, out, names)
    if graph.is_input(out):
        return {w: sp.Integer(int(w == out)) for w in names}
    vals = sympy_values(graph, {n: symbol(n) for n in graph.inputs}, upto=out)
    adj = _accumulate(graph, out, vals, lambda name, op, argvals: vals[name])
    return {w: adj.get(w, sp.Integer(0)) for w in names}


def _fresh(base: str, taken: set) -> sp.Symbol:
    name = base
    while name in taken:
        name = "_" + name
    taken.add(name)
    return symbol(name)


class _Shared(_Terms):
    """Adjoints as assignments: a node's collected terms are settled as a fresh
    symbol ``adj_<node>`` assigned their sum (atoms inlined); zero local
    derivatives drop their edge."""

    def __init__(self, syms: Mapping, taken: set):
        super().__init__(syms, lambda name, op, argvals: syms[name])
        self.taken, self.assignments = taken, []

    def partials(self, name, op, args):
        return [None if d == 0 else d for d in super().partials(name, op, args)]

    def settle(self, name, total):
        seed = sp.Add(*total)
        if seed.is_Atom:
            return seed
        sym = _fresh(f"adj_{name}", self.taken)
        self.assignments.append((sym, seed))
        return sym


def _shared_gradient(graph: Graph, out: str, names: tuple) -> tuple[list, dict]:
    """Reverse accumulation emitting one assignment per adjoint (atoms inlined),
    after the forward assignments; unused assignments are dropped."""
    syms = {n: symbol(n) for n in graph.nodes}
    forward = [(syms[n], op.apply(SYM, *[syms[a] if is_node(a) else literal(a) for a in args]))
               for n, op, args in graph.program]
    shared = _Shared(syms, set(graph.nodes))
    terms = sweep(graph.program, out, shared, [sp.Integer(1)])
    gradient = {w: sp.Add(*terms.get(w, [sp.Integer(int(w == out))])) for w in names}
    return _prune(forward + shared.assignments, gradient.values()), gradient


def _prune(assignments: list, roots: Iterable) -> list:
    """Only the assignments the ``roots`` need, in their order (one backward pass)."""
    needed = set().union(*(e.free_symbols for e in roots))
    kept = []
    for sym, expr in reversed(assignments):
        if sym in needed:
            kept.append((sym, expr))
            needed |= expr.free_symbols
    kept.reverse()
    return kept


def shared_size(assignments: list, gradient: Mapping) -> int:
    """Total ``sympy.count_ops`` of a shared form: assignments plus gradient.

    Examples
    --------
    >>> import symgrad as sg
    >>> g = sg.parse("sqrt(x**2 + exp(x**2)) + cos(x**2 + exp(x**2))")
    >>> shared_size(*g.symbolic_gradient(shared=True))
    13
    """
    return (sum(sp.count_ops(e) for _, e in assignments)
            + sum(sp.count_ops(e) for e in gradient.values()))


def evaluate_shared(assignments: list, gradient: Mapping, inputs: Iterable[str]):
    """A numpy function of the inputs (positional, in ``inputs`` order) returning
    ``{name: value}`` for the shared form: the assignments are evaluated in order,
    each SymPy expression by :func:`sympy_numeric` (a walk over its tree with
    numpy's functions: no code generation, no ``exec``).

    Examples
    --------
    >>> import symgrad as sg
    >>> g = sg.parse("sqrt(x**2 + exp(x**2)) + cos(x**2 + exp(x**2))")
    >>> f = evaluate_shared(*g.symbolic_gradient(shared=True), g.inputs)
    >>> round(float(f(2.0)["x"]), 2)
    -182.87
    """
    keys = list(gradient)
    args = [symbol(n) for n in inputs]

    def run(*vals):
        env = {a: np.float64(v) if np.ndim(v) == 0 else np.asarray(v, float)
               for a, v in zip(args, vals, strict=True)}
        with np.errstate(all="ignore"):
            for sym, expr in assignments:
                env[sym] = sympy_numeric(expr, env)
            return {k: sympy_numeric(gradient[k], env) for k in keys}
    return run


def _piecewise(*pairs):
    value = pairs[-1][0]
    for v, cond in reversed(pairs[:-1]):
        value = np.where(cond, v, value)
    return value


_SYMPY_NUMERIC = {      # SymPy's own arithmetic and the functions partials produce
    sp.Add: lambda *xs: functools.reduce(np.add, xs), sp.Mul: lambda *xs: functools.reduce(np.multiply, xs),
    sp.Pow: np.power, sp.sinh: np.sinh, sp.cosh: np.cosh,
    sp.sign: np.sign, sp.Heaviside: lambda x, h0=0.5: np.heaviside(x, h0),
    sp.StrictGreaterThan: np.greater, sp.GreaterThan: np.greater_equal,
    sp.StrictLessThan: np.less, sp.LessThan: np.less_equal, sp.Equality: np.equal,
    sp.Unequality: np.not_equal, sp.Max: lambda *xs: functools.reduce(np.maximum, xs),
    sp.Min: lambda *xs: functools.reduce(np.minimum, xs),
    sp.And: lambda *xs: functools.reduce(np.logical_and, xs),       # pow's d/dk: Eq(a, 0) & (k >= 0)
    sp.Or: lambda *xs: functools.reduce(np.logical_or, xs), sp.Not: np.logical_not,
}

_NUMERIC = Derived(lambda: {**_SYMPY_NUMERIC, **{
    head: functools.partial(_apply_num, op) for head, op in sympy_heads().items()}})
"""SymPy function class -> numpy function: the table's own functions (exp, relu,
Abs, ...) run their op's formula on NUM; the rest is SymPy's arithmetic."""


def _apply_num(op, *args):
    return op.apply(NUM, *args)


def sympy_numeric(expr: sp.Expr, env: Mapping):
    """The numeric value of a SymPy expression, symbols looked up in ``env``:
    an iterative post-order walk applying numpy's functions (IEEE nan/inf like
    numpy).  Raises GraphError on a SymPy function it has no numpy form for."""
    done: dict = {}
    stack = [(expr, False)]
    while stack:
        e, expanded = stack.pop()
        if e in done:
            continue
        if e.is_Symbol:
            done[e] = env[e]
        elif e.is_Number or e.is_NumberSymbol or e in (sp.true, sp.false):
            done[e] = bool(e) if e in (sp.true, sp.false) else np.float64(float(e))
        elif isinstance(e, sp.Piecewise):
            if expanded:
                done[e] = _piecewise(*[(done[p.expr], done[p.cond]) for p in e.args])
            else:
                stack.append((e, True))
                stack.extend((x, False) for p in e.args for x in (p.expr, p.cond))
        elif expanded:
            fn = _NUMERIC.get(e.func)
            if fn is None:
                raise GraphError(f"no numeric form for SymPy {e.func.__name__} in {str(e)[:60]!r}")
            done[e] = fn(*[done[a] for a in e.args])
        else:
            stack.append((e, True))
            stack.extend((a, False) for a in e.args)
    return done[expr]
