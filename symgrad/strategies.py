"""Hypothesis strategies for testing gradient code against symgrad.

Test your own gradient function on random graphs (shared nodes included) at
smooth points, with symgrad's reverse mode as the reference; see
``docs/strategies.md`` for more (MLPs with :func:`mlps` and :func:`samples`).

>>> import math
>>> from hypothesis import given, settings, strategies as st
>>> from symgrad.strategies import graphs, points
>>> def my_grad(g, at):                     # yours; here: central differences
...     h = 1e-6
...     out = {}
...     for x in g.inputs:
...         up, down = dict(at, **{x: at[x] + h}), dict(at, **{x: at[x] - h})
...         out[x] = (g.forward(up)[g.outputs[0]] - g.forward(down)[g.outputs[0]]) / (2 * h)
...     return out
>>> @settings(max_examples=20, derandomize=True, deadline=None)
... @given(st.data())
... def test_mine(data):
...     g = data.draw(graphs(variables=("x",), max_depth=3))
...     at = data.draw(points(g))
...     want, got = g.grad(at), my_grad(g, at)
...     assert all(math.isclose(got[x], want[x], rel_tol=1e-4, abs_tol=1e-4) for x in want)
>>> test_mine()

This module (and only this one) imports hypothesis; it is not imported by
``import symgrad``.  The factories are keyword-only and validate their
arguments (``InvalidArgument``).  Expression text is written with the op
table's own text forms and precedences, so drawing text also exercises the
parser's precedence rules.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence

import numpy as np
from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument

from .core.graph import Graph, is_node
from .core.ops import ATOM, DERIVATIVE_OPS, NEG, OPS, TEXT_FUNCTIONS, derived
from .front.reader import BINOPS

__all__ = ["expressions", "graphs", "points", "mlps", "samples", "smooth_at", "DEFAULT_OPS"]


@derived
def _default_ops() -> tuple:
    """The ops text can write with a fixed number of arguments: the grammar's operators
    (``+ - * / **`` and unary minus) and its function calls, in table order.  Built-in:
    ``("add", "sub", "mul", "div", "neg", "pow", "exp", "log", "sqrt", "sin", "cos",
    "tan", "tanh", "sigmoid", "relu", "leaky_relu", "elu", "softplus", "abs")``."""
    written = {item[1] for item, _ in BINOPS.values()} | {"neg"}
    return tuple(n for n, op in OPS.items() if op.arity >= 0 and (op.call or n in written)
                 and n not in DERIVATIVE_OPS)


def __getattr__(name: str):
    if name == "DEFAULT_OPS":       # derived from the op table (and kept up to date by register)
        return _default_ops()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
_POW_EXPONENTS = (2, 3, 0.5, -1, 1.5, -2)


def _wrap(text: str, prec: int, need: int) -> str:
    return f"({text})" if prec < need else text


def _render(op_name: str, parts: Sequence[tuple[str, int]]) -> tuple[str, int]:
    """Text of ``op(parts)`` with the fewest parentheses its Form allows."""
    form = OPS[op_name].text
    binds = form.binds if OPS[op_name].arity >= 0 else form.binds * len(parts)
    shown = [_wrap(t, p, b) for (t, p), b in zip(parts, binds, strict=True)]
    if OPS[op_name].arity < 0:
        shown = [form.sep.join(shown)]
    return form.template.format(*shown), form.prec


def _number(v: float) -> tuple[str, int]:
    text = repr(v) if isinstance(v, float) else str(v)
    return text, (NEG if text.startswith("-") else ATOM)


def _positive(part: tuple[str, int], c: float) -> tuple[str, int]:
    """``part**2 + c``: an argument that is > 0 wherever ``part`` is finite."""
    return _render("add", [_render("pow", [part, ("2", ATOM)]), _number(c)])


@st.composite
def _tree(draw, variables, ops, max_depth, pool, root=False):
    """One expression as (text, precedence), at most ``max_depth`` ops deep."""
    if max_depth <= 0 or (not root and draw(st.integers(0, 4)) == 0):
        kind = draw(st.integers(0, 5))
        if pool and kind == 0:
            return draw(st.sampled_from(pool))
        if kind == 1:
            return _number(draw(st.sampled_from([0.5, 1, 2, 3, 1.5])))
        return draw(st.sampled_from([(v, ATOM) for v in variables]))
    op = OPS[draw(st.sampled_from(ops))]
    sub = lambda: draw(_tree(variables, ops, max_depth - 1, pool))
    if op.name == "pow":                       # a constant exponent or a node exponent
        base = _positive(sub(), draw(st.sampled_from([0.5, 1.0])))
        k = draw(st.one_of(st.sampled_from(_POW_EXPONENTS).map(_number), st.just(None)))
        return _render("pow", [base, k if k is not None else sub()])
    parts = []
    n = op.count_near(draw(st.integers(1, 4))) - len(op.params)
    for dom in (op.domain * n if op.arity < 0 else op.domain + ("real",) * 2)[:n]:
        part = sub()
        if dom in ("positive", "nonzero"):
            part = _positive(part, draw(st.sampled_from([0.25, 1.0])))
        parts.append(part)
    if op.name in TEXT_FUNCTIONS:
        extra = [_number(d)[0] for _, d in op.params]
        text = f"{op.name}({', '.join([p[0] for p in parts] + extra)})"
        return text, ATOM
    return _render(op.name, parts)


def _check_names(variables) -> tuple:
    if isinstance(variables, str) or not isinstance(variables, Sequence) or not variables:
        raise InvalidArgument(f"variables must be a non-empty sequence of names, got {variables!r}")
    for v in variables:
        if not (isinstance(v, str) and v.isidentifier()) or v in TEXT_FUNCTIONS or v in ("e", "pi"):
            raise InvalidArgument(f"variable name {v!r} is not usable in expression text")
    return tuple(variables)


def expressions(*, variables: Sequence[str] = ("x", "y"), ops: Sequence[str] | None = None,
                max_depth: int = 4, shared: bool = True) -> st.SearchStrategy[str]:
    """Expression text over ``variables`` using ``ops`` (default: all the text ops).

    Arguments of ``log``, ``sqrt``, divisors and ``pow`` bases are drawn as
    ``u**2 + c`` (c > 0) so that most draws are finite somewhere.  With
    ``shared=True`` a sub-expression may occur several times, which the parser
    turns into one node with several consumers.
    """
    variables = _check_names(variables)
    ops = tuple(_default_ops() if ops is None else ops)
    bad = [o for o in ops if o not in _default_ops() and o not in TEXT_FUNCTIONS]
    if bad or not ops:
        raise InvalidArgument(f"unknown or unsupported ops {bad!r}; choose from {_default_ops()} "
                              f"or the other functions of the grammar ({', '.join(n for n in TEXT_FUNCTIONS if n not in _default_ops())})")
    if not isinstance(max_depth, int) or not 0 <= max_depth <= 12:
        raise InvalidArgument(f"max_depth must be an int in 0..12, got {max_depth!r}")

    @st.composite
    def build(draw):
        pool = []
        if shared and max_depth >= 2 and draw(st.booleans()):
            text, prec = draw(_tree(variables, ops, max_depth // 2, []))
            pool.append((f"({text})" if prec < ATOM else text, ATOM))
        text, prec = draw(_tree(variables, ops, max_depth, pool, root=True))
        if not any(_mentions(text, v) for v in variables):
            text = _render("add", [(text, prec), (variables[0], ATOM)])[0]
        return text

    return build()


def _mentions(text: str, name: str) -> bool:
    return re.search(rf"(?<![\w.]){re.escape(name)}(?!\w)", text) is not None


def graphs(*, variables: Sequence[str] = ("x", "y"), ops: Sequence[str] | None = None,
           max_depth: int = 4, shared: bool = True) -> st.SearchStrategy[Graph]:
    """Graphs parsed from :func:`expressions` (texts the parser refuses, such as a
    constant subexpression that overflows, ``exp(exp(9))``, are not drawn)."""
    return expressions(variables=variables, ops=ops, max_depth=max_depth,
                       shared=shared).map(_parsed).filter(lambda g: g is not None)


def _parsed(text: str) -> Graph | None:
    from .errors import ParseError
    from .front.parse import parse
    try:
        return parse(text)
    except ParseError:
        return None


def smooth_at(graph: Graph, at: dict, *, margin: float = 1e-3, limit: float = 1e4,
              order: int = 1) -> bool:
    """True if every node value and adjoint is finite and at most ``limit`` in size, and
    every op with a kink has its first argument at least ``margin`` from it.  With
    ``order=2`` the same holds for the gradient graph (``graph.gradient_graph()``:
    the kinks of the derivative, such as relu's step, are kinks of the second
    derivative) and the Hessian is finite and at most ``limit``: the point is
    smooth to second order."""
    if not isinstance(graph, Graph):
        raise InvalidArgument(f"smooth_at() needs a symgrad Graph, got {type(graph).__name__}")
    _check_int("order", order, 1, 2)
    if not _smooth(graph, at, margin, limit):
        return False
    if order == 1:
        return True
    with np.errstate(all="ignore"):
        try:
            dg = graph.gradient_graph()
            hess = graph.hessian(at)
        except Exception:
            return False
    return _smooth(dg, at, margin, limit, adjoints=False) and bool(np.all(np.abs(hess) <= limit))


def _smooth(graph: Graph, at: dict, margin: float, limit: float, adjoints: bool = True) -> bool:
    """Values (and adjoints) finite and at most ``limit``, every kinked op's argument
    at least ``margin`` from its kink."""
    with np.errstate(all="ignore"):
        try:
            passes = [graph.forward(at)] + ([graph.backward(at)] if adjoints else [])
        except Exception:
            return False
    if any(p.nonfinite or any(abs(p[n]) > limit for n in graph.nodes) for p in passes):
        return False
    return _away_from_kinks(graph, passes[0], margin)


def _away_from_kinks(graph: Graph, fw, margin: float) -> bool:
    for name, op, args in graph.program:
        if op.kink and is_node(args[0]) and abs(fw[args[0]]) < margin:
            return False
    return True


def points(graph: Graph, *, smooth: bool = True, low: float = -2.0,
           high: float = 2.0, order: int = 1) -> st.SearchStrategy[dict]:
    """Input mappings ``{name: float}`` for ``graph`` in ``[low, high]``; with
    ``smooth=True`` only points where the graph is finite, not huge, and away
    from kinks (see :func:`smooth_at`); ``order=2``: smooth to second order
    (also the gradient graph and the Hessian), for tests of Hessians."""
    if not isinstance(graph, Graph):
        raise InvalidArgument(f"points() needs a symgrad Graph, got {type(graph).__name__}")
    _check_int("order", order, 1, 2)
    if not (math.isfinite(low) and math.isfinite(high) and low < high):
        raise InvalidArgument(f"need finite low < high, got {low!r}, {high!r}")
    coord = st.floats(low, high, allow_nan=False, allow_infinity=False).map(lambda v: round(v, 3))
    base = st.fixed_dictionaries({name: coord for name in graph.inputs})
    if not smooth:
        return base
    return base.filter(lambda at: smooth_at(graph, at, order=order))


def _check_int(name: str, v, lo: int, hi: int) -> int:
    if not isinstance(v, int) or isinstance(v, bool) or not lo <= v <= hi:
        raise InvalidArgument(f"{name} must be an int in {lo}..{hi}, got {v!r}")
    return v


def _check_choices(name: str, given, valid: Sequence) -> tuple:
    if isinstance(given, str) or not isinstance(given, Sequence) or not given:
        raise InvalidArgument(f"{name} must be a non-empty sequence, got {given!r}")
    bad = [g for g in given if g not in valid]
    if bad:
        raise InvalidArgument(f"unknown {name} {bad!r}; choose from {list(valid)!r}")
    return tuple(given)


def mlps(*, max_layers: int = 2, max_width: int = 3, activations: Sequence[str] | None = None,
         losses: Sequence[str | None] | None = None, max_outputs: int = 2):
    """MLPs (:class:`symgrad.nn.mlp.Net`) with 0..``max_layers`` hidden layers.

    Parameters
    ----------
    max_layers
        Largest number of hidden layers (0..6).
    max_width
        Largest number of inputs and of neurons per hidden layer (1..16).
    activations
        Hidden activations to draw from, one per layer (default: every
        activation of :func:`symgrad.nn.mlp`).
    losses
        Losses to draw from: ``"squared"``, ``"cross_entropy"``, ``None``
        (default: the two losses).
    max_outputs
        Largest number of outputs K (1..8); without a loss K is 1.

    Returns
    -------
    SearchStrategy[Net]
        Seeded nets; pair them with :func:`samples` for inputs and targets.

    Raises
    ------
    InvalidArgument
        An argument out of range or an unknown activation or loss.

    Examples
    --------
    >>> from hypothesis import given, settings
    >>> from symgrad.strategies import mlps, samples
    >>> @settings(max_examples=5, derandomize=True, deadline=None)
    ... @given(st.data())
    ... def test_backprop(data):
    ...     net = data.draw(mlps(max_layers=1, activations=["tanh"]))
    ...     x, y = data.draw(samples(net))
    ...     assert net.check(x, y).ok
    >>> test_backprop()
    """
    from .nn.mlp import ACTIVATIONS, LOSSES, mlp
    _check_int("max_layers", max_layers, 0, 6)
    _check_int("max_width", max_width, 1, 16)
    _check_int("max_outputs", max_outputs, 1, 8)
    acts = _check_choices("activations", ACTIVATIONS if activations is None else activations,
                          ACTIVATIONS)
    loss_names = _check_choices("losses", tuple(LOSSES) if losses is None else losses,
                                (*LOSSES, None))

    @st.composite
    def build(draw):
        hidden = draw(st.integers(0, max_layers))
        loss = draw(st.sampled_from(loss_names))
        k = draw(st.integers(1, max_outputs)) if loss is not None else 1
        sizes = [draw(st.integers(1, max_width)) for _ in range(hidden + 1)] + [k]
        layer_acts = [draw(st.sampled_from(acts)) for _ in range(hidden)]
        return mlp(sizes, activation=layer_acts, loss=loss, seed=draw(st.integers(0, 2**16)))

    return build()


def samples(net, *, low: float = -2.0, high: float = 2.0) -> st.SearchStrategy[tuple]:
    """One sample ``(x, y)`` for ``net``.

    Parameters
    ----------
    net
        A :class:`symgrad.nn.mlp.Net` (e.g. drawn from :func:`mlps`).
    low, high
        The range of the inputs (and of squared-loss targets); values are
        rounded to 3 decimals.

    Returns
    -------
    SearchStrategy[tuple]
        ``(x, y)``: ``x`` a list of ``D`` floats; ``y`` 0/1 for binary
        cross-entropy, one-hot for softmax, reals for the squared loss, None
        without a loss.

    Raises
    ------
    InvalidArgument
        ``net`` is not a Net, or the range is not finite with ``low < high``.
    """
    from .nn.mlp import Net
    if not isinstance(net, Net):
        raise InvalidArgument(f"samples() needs a symgrad Net, got {type(net).__name__}")
    if not (math.isfinite(low) and math.isfinite(high) and low < high):
        raise InvalidArgument(f"need finite low < high, got {low!r}, {high!r}")
    d, k = net.sizes[0], net.sizes[-1]
    coord = st.floats(low, high, allow_nan=False, allow_infinity=False).map(lambda v: round(v, 3))
    xs = st.lists(coord, min_size=d, max_size=d)
    if net.loss is None:
        ys = st.none()
    elif net.loss == "squared":
        ys = st.lists(coord, min_size=k, max_size=k)
    elif k == 1:
        ys = st.sampled_from([[0.0], [1.0]])
    else:
        ys = st.integers(0, k - 1).map(lambda i: [float(j == i) for j in range(k)])
    return st.tuples(xs, ys)
