"""Random practice graphs for exercises, and the numeric passes grading needs.

:func:`random_graph` draws a small program from a difficulty level's op shapes
(data: op name and argument pattern, never a branch on op names) with the
level's number of shared nodes, and a point where every value and adjoint is
finite and moderate, kinks are at least 0.1 away, and every path contributes.
:func:`edge_pass` is reverse accumulation with one edge changed: the values a
student's typical mistakes produce (a dropped path, a flipped local sign).
"""

from __future__ import annotations

import random
import string
from collections.abc import Mapping

import numpy as np
import sympy as sp

from ..core.graph import Graph, is_node
from ..core.ops import NUM, OPS, SYM
from ..front.sympy_io import as_expr, literal, symbol
from ..core.sweep import Interpretation, sweep

__all__ = ["LEVELS", "local_values", "edge_pass", "smooth_point", "random_graph",
           "other_points", "writable", "shared_count", "local_derivatives"]

_N, _BASIC = "n", (("add", "nn"), ("mul", "nn"), ("sub", "nn"), ("pow", ("n", 2)),
                   ("mul", (2, "n")), ("exp", "n"), ("sin", "n"), ("cos", "n"))
_MORE = (("div", "nn"), ("log", "n"), ("sqrt", "n"), ("tanh", "n"), ("sigmoid", "n"),
         ("add", ("n", 1)))
_HARD = (("pow", ("n", 3)), ("softplus", "n"), ("relu", "n"), ("mul", ("n", 0.5)))

LEVELS: dict[int, dict] = {
    1: dict(inputs=("x",), ops=_BASIC, nodes=(4, 5), shared=(1, 1), mlp=((1, 2, 1),)),
    2: dict(inputs=("x", "y"), ops=_BASIC + _MORE, nodes=(5, 7), shared=(1, 2),
            mlp=((2, 2, 1),)),
    3: dict(inputs=("x", "y"), ops=_BASIC + _MORE + _HARD, nodes=(7, 9), shared=(2, 3),
            mlp=((2, 3, 1), (2, 2, 2, 1))),
}
"""Per difficulty: inputs, op shapes (op name, argument pattern: ``n`` a node or a
literal), the range of operation nodes and of shared nodes, MLP sizes."""

_COORDS = tuple(v / 10 for v in range(-20, 21) if v and v % 5 == 0) + (0.2, -0.2, 0.8, 1.2, -0.8)
_LIMIT, _KINK_MARGIN, _MIN_ADJ = 200.0, 0.1, 0.01


# -- numeric passes -----------------------------------------------------------------
def local_values(graph: Graph, vals: Mapping) -> dict:
    """``{(consumer, position): d consumer / d argument}`` for node arguments, as floats."""
    out = {}
    for name, op, args in graph.program:
        argv = [vals[a] if is_node(a) else a for a in args]
        with np.errstate(all="ignore"):
            parts = op.partials(NUM, vals[name], *argv)
        for pos, d in enumerate(parts):
            if is_node(args[pos]):
                out[(name, pos)] = float(d)
    return out


def edge_pass(graph: Graph, vals: Mapping, output: str, edit: tuple | None = None,
              locals_: Mapping | None = None) -> dict:
    """Reverse accumulation of ``output``'s adjoints, with one edge optionally
    changed: ``edit = ((consumer, position), f)`` uses ``f(local)`` on that edge
    (a student's mistake: drop a path, flip a sign).  Iterative, over the program."""
    locals_ = local_values(graph, vals) if locals_ is None else locals_
    return sweep(graph.program, output, _Edges(locals_, edit), 1.0)


class _Edges(Interpretation):
    """Numbers whose local derivatives are read from ``locals_[(consumer,
    position)]``, one edge replaced by ``edit``; adjoints start from 0.0."""

    def __init__(self, locals_: Mapping, edit: tuple | None):
        self.locals, self.edit = locals_, edit

    def partials(self, name, op, args):
        local = [self.locals[(name, pos)] if is_node(a) else None for pos, a in enumerate(args)]
        if self.edit is not None and self.edit[0][0] == name:
            pos = self.edit[0][1]
            if 0 <= pos < len(local) and local[pos] is not None:
                local[pos] = self.edit[1](local[pos])
        return local

    def first(self, term, arg):
        return 0.0 + term


def _evaluate(graph: Graph, point: Mapping) -> dict | None:
    with np.errstate(all="ignore"):
        try:
            fw = graph.forward(point)
        except Exception:   # noqa: BLE001 - any failure means: not a usable point
            return None
    if fw.nonfinite:
        return None
    return dict(fw)


def smooth_point(graph: Graph, point: Mapping, output: str, asked=()) -> bool:
    """Finite, moderate values and adjoints, kink arguments at least 0.1 away,
    and every asked adjoint and every path's contribution clearly nonzero."""
    vals = _evaluate(graph, point)
    if vals is None:
        return False
    with np.errstate(all="ignore"):
        loc = local_values(graph, vals)
        adj = edge_pass(graph, vals, output, locals_=loc)
    numbers = list(vals.values()) + list(adj.values()) + list(loc.values())
    if not all(np.isfinite(v) and abs(v) <= _LIMIT for v in numbers):
        return False
    for name, op, args in graph.program:
        if op.kink and is_node(args[0]) and abs(vals[args[0]]) < _KINK_MARGIN:
            return False
    if any(abs(adj.get(n, 0.0)) < _MIN_ADJ for n in asked):
        return False
    return all(abs(adj.get(c, 0.0) * d) >= _MIN_ADJ / 10 for (c, _), d in loc.items()
               if c in adj)


def local_derivatives(op, args) -> tuple:
    """The local derivatives of ``op`` applied to ``args`` (node names and
    literals), one SymPy expression per argument, in the node names.

    >>> from symgrad.core.ops import OPS
    >>> local_derivatives(OPS["mul"], ("a", 2))
    (2, a)
    """
    syms = [symbol(a) if is_node(a) else literal(a) for a in args]
    return op.partials(SYM, op.apply(SYM, *syms), *syms)


# -- random programs ------------------------------------------------------------------
def _line(name: str, op_name: str, args: list) -> str:
    parts = [a if is_node(a) else repr(a) for a in args]
    form = OPS[op_name].text
    return f"{name} = {form.template.format(*([form.sep.join(parts)] if form.sep else parts))}"


def _pick_args(rng: random.Random, pattern, nodes: list, uses: dict) -> list | None:
    args = []
    for slot in pattern:
        if slot != _N:
            args.append(slot)
            continue
        unused = [n for n in nodes if not uses[n] and n not in args]
        pool = unused if unused and rng.random() < 0.6 else [n for n in nodes if n not in args]
        if not pool:
            return None
        args.append(rng.choice(pool[-3:] if pool is unused else pool))
    return args


def _random_program(rng: random.Random, level: dict) -> tuple[str, str]:
    """Program text and its output name, drawn from the level's op shapes."""
    inputs = list(level["inputs"])
    letters = iter(c for c in string.ascii_lowercase if c not in inputs and c != "e")  # e: Euler
    nodes, uses, lines, seen = list(inputs), {n: 0 for n in inputs}, [], set()
    target = rng.randint(*level["nodes"])

    def add(op_name, args):
        name = next(letters)
        lines.append(_line(name, op_name, args))
        seen.add((op_name, tuple(args)))
        for a in args:
            if is_node(a):
                uses[a] += 1
        nodes.append(name)
        uses[name] = 0
        return name

    while len(lines) + max(0, sum(not uses[n] for n in nodes) - 1) < target:
        op_name, pattern = rng.choice(level["ops"])
        args = _pick_args(rng, pattern, nodes, uses)
        if args is not None and (op_name, tuple(args)) not in seen:
            add(op_name, args)
    loose = [n for n in nodes if not uses[n]]
    while len(loose) > 1:
        a, b = loose[-2], loose[-1]
        loose = loose[:-2] + [add(rng.choice(("add", "mul")), [a, b])]
    return "\n".join(lines), nodes[-1]


def shared_count(graph: Graph) -> int:
    return sum(len({c for c, _ in graph.consumers[n]}) >= 2 for n in graph.nodes)


def _random_point(rng: random.Random, names) -> dict:
    return {n: rng.choice(_COORDS) for n in names}


def writable(op_name: str, pattern: tuple) -> bool:
    """True if the op, used with ``pattern`` (node slots ``_N``, the rest literals),
    and its derivatives with respect to the node slots are formulas a student can
    type, for the formula kinds: relu's and abs's (``step(u)``, ``sign(u)``: ops of
    the grammar) are, a Piecewise (leaky_relu's, elu's slopes) is not.  (``x**2`` is
    writable although the exponent's partial of ``x**y`` is piecewise at 0.)"""
    op = OPS[op_name]
    syms = iter(sp.symbols("u w v", real=True))
    args = [next(syms) if slot == _N else literal(slot) for slot in pattern]
    out = op.apply(SYM, *args)
    local = [d for d, slot in zip(op.partials(SYM, out, *args), pattern, strict=True) if slot == _N]
    return not any(as_expr(e).has(sp.Piecewise) for e in [out, *local])


def random_graph(rng: random.Random, level: dict, attempts: int = 400):
    from ..front.parse import parse
    for _ in range(attempts):
        text, out = _random_program(rng, level)
        g = parse(text, outputs=[out])
        lo, hi = level["shared"]
        if not lo <= shared_count(g) <= hi or set(g.inputs) != set(level["inputs"]):
            continue
        for _ in range(12):
            point = _random_point(rng, level["inputs"])
            if smooth_point(g, point, out, asked=g.nodes):
                return g, point, out
    raise RuntimeError("no well-posed exercise found; this is a bug in symgrad.teach.exercise")


def other_points(rng: random.Random, g: Graph, point: dict, out: str, n: int = 3) -> tuple:
    found = [point]
    for _ in range(60):
        if len(found) > n:
            break
        p = {k: round(v + rng.uniform(-0.3, 0.3), 3) for k, v in point.items()}
        if smooth_point(g, p, out):
            found.append(p)
    return tuple(found)
