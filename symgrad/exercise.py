"""Derivation exercises: random, well-posed practice graphs with their answers.

:func:`exercise` draws a small computational graph (or a small MLP) from a seed,
picks a point where every value is finite, away from kinks and printable with
few digits, and asks for forward values, adjoints, local derivatives, the
symbolic derivative, or one backprop step.  Grading lives in
:mod:`symgrad.grading`, sheets (LaTeX, JSON, Moodle XML) in :mod:`symgrad.sheet`.
The generator reads the op table only as data: it never branches on op names.
"""

from __future__ import annotations

import random
import string
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import sympy as sp

from .errors import InputError
from .graph import Graph, is_node
from .ops import NUM, OPS, SYM
from .sympy_io import literal, symbol

__all__ = ["exercise", "exercise_from_graph", "Exercise", "Item", "KINDS", "LEVELS", "edge_pass"]

KINDS = ("forward", "backward", "local", "symbolic", "mlp")

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


@dataclass(frozen=True)
class Item:
    """One asked value.

    ``key`` is what a submission uses (``"c"``, ``"dc/da"``, ``"df/dx"``,
    ``"B2_1"``, ``"w1_1_1"``); ``what`` is ``value``, ``adjoint``, ``local`` or
    ``derivative``; ``node`` the node it is about (the argument for ``local``,
    the input for ``derivative``), ``consumer``/``position`` the edge of a local
    derivative; ``answer`` a float or a SymPy expression; ``text``/``latex`` the
    label shown in the prompt.
    """

    key: str
    what: str
    node: str
    answer: Any
    text: str
    latex: str
    consumer: str | None = None
    position: int | None = None

    @property
    def formula(self) -> bool:
        """True if the answer is a formula (local and symbolic derivatives)."""
        return self.what in ("local", "derivative")


@dataclass(eq=False)
class Exercise:
    """A derivation exercise with its answers; made by :func:`exercise`.

    Attributes
    ----------
    kind, seed, difficulty : the recipe (the same recipe gives the same exercise).
    graph : Graph
    point : dict
        The inputs, ``{name: float}``.
    items : tuple of Item
        The asked values, in the order the prompt lists them.
    digits : int
        Significant digits asked for numbers (the grading tolerance follows it).
    show_forward : bool
        Whether the prompt gives the forward values (backward kind).
    """

    kind: str
    seed: int
    difficulty: int
    graph: Graph
    point: dict
    items: tuple
    digits: int = 4
    show_forward: bool = False
    output: str = ""
    check_points: tuple = ()
    meta: dict = field(default_factory=dict)

    def __repr__(self) -> str:
        return (f"<Exercise kind={self.kind!r} seed={self.seed} difficulty={self.difficulty}: "
                f"{len(self.items)} items>")

    @property
    def answers(self) -> dict:
        """``{item key: float or SymPy expression}``."""
        return {it.key: it.answer for it in self.items}

    @property
    def values(self) -> dict:
        """Every node's forward value at the point."""
        return dict(self.graph.forward(self.point))

    def prompt_text(self) -> str:
        """The exercise as plain text."""
        from .prompts import prompt_text
        return prompt_text(self)

    def prompt_latex(self) -> str:
        """The exercise as a LaTeX fragment (needs ``amsmath``)."""
        from .prompts import prompt_latex
        return prompt_latex(self)

    def solution(self):
        """The full worked derivation (:func:`symgrad.derive`) of this exercise."""
        from .derive import derive
        if self.kind in ("local", "symbolic"):
            return derive(self.graph, symbolic=True, outputs=[self.output])
        return derive(self.graph, self.point, outputs=[self.output], quantities=self.kind == "mlp")

    def grade(self, submitted: Mapping):
        """Grade ``{item key: number or formula string}``; see :func:`symgrad.grading.grade`."""
        from .grading import grade
        return grade(self, submitted)

    def to_dict(self) -> dict:
        """A JSON-ready description: recipe, program, point, prompt and answers."""
        from .prompts import program_lines, show_answer
        return {"kind": self.kind, "seed": self.seed, "difficulty": self.difficulty,
                "program": program_lines(self.graph), "output": self.output,
                "point": dict(self.point), "digits": self.digits,
                "prompt": self.prompt_text(),
                "items": [{"key": it.key, "what": it.what, "label": it.text,
                           "answer": show_answer(it, 12)} for it in self.items]}


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
    adj = {output: 1.0}
    for name, _, args in reversed(graph.program):
        if name not in adj:
            continue
        for pos, a in enumerate(args):
            if is_node(a):
                d = locals_[(name, pos)]
                if edit is not None and edit[0] == (name, pos):
                    d = edit[1](d)
                adj[a] = adj.get(a, 0.0) + adj[name] * d
    return adj


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


# -- random programs ------------------------------------------------------------------
def _line(name: str, op_name: str, args: list) -> str:
    parts = [a if is_node(a) else repr(a) for a in args]
    return f"{name} = {OPS[op_name].text.template.format(*parts)}"


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


def _shared_count(graph: Graph) -> int:
    return sum(len({c for c, _ in graph.consumers[n]}) >= 2 for n in graph.nodes)


def _random_point(rng: random.Random, names) -> dict:
    return {n: rng.choice(_COORDS) for n in names}


def _writable(op_name: str) -> bool:
    """True if the op and its derivative are formulas a student can type (no
    Piecewise/Heaviside/sign), for the formula kinds."""
    op, u = OPS[op_name], sp.Symbol("u", real=True)
    args = [u, *[literal(v) for _, v in op.params]][:max(op.arity, 1)]
    if op.arity == 2 and not op.params:
        args = [u, sp.Symbol("w", real=True)]
    exprs = [op.apply(SYM, *args), *op.partials(SYM, op.apply(SYM, *args), *args)]
    return not any(sp.sympify(e).has(sp.Piecewise, sp.Heaviside, sp.sign, sp.Abs) for e in exprs)


def _graph_and_point(rng: random.Random, level: dict, attempts: int = 400):
    from .parse import parse
    for _ in range(attempts):
        text, out = _random_program(rng, level)
        g = parse(text, outputs=[out])
        lo, hi = level["shared"]
        if not lo <= _shared_count(g) <= hi or set(g.inputs) != set(level["inputs"]):
            continue
        for _ in range(12):
            point = _random_point(rng, level["inputs"])
            if smooth_point(g, point, out, asked=g.nodes):
                return g, point, out
    raise RuntimeError("no well-posed exercise found; this is a bug in symgrad.exercise")


def _other_points(rng: random.Random, g: Graph, point: dict, out: str, n: int = 3) -> tuple:
    found = [point]
    for _ in range(60):
        if len(found) > n:
            break
        p = {k: round(v + rng.uniform(-0.3, 0.3), 3) for k, v in point.items()}
        if smooth_point(g, p, out):
            found.append(p)
    return tuple(found)


# -- items ------------------------------------------------------------------------------
def _local_expr(op, args) -> sp.Expr:
    syms = [symbol(a) if is_node(a) else literal(a) for a in args]
    return op.partials(SYM, op.apply(SYM, *syms), *syms)


def _items(kind: str, g: Graph, point: dict, out: str) -> tuple:
    from .prompts import label
    vals = dict(g.forward(point))
    if kind == "forward":
        return tuple(Item(n, "value", n, vals[n], *label("value", n, out))
                     for n, _, _ in g.program)
    if kind == "backward":
        adj = edge_pass(g, vals, out)
        return tuple(Item(n, "adjoint", n, adj[n], *label("adjoint", n, out))
                     for n in reversed(g.nodes) if n != out)
    if kind == "local":
        items = []
        for name, op, args in g.program:
            for pos, d in enumerate(_local_expr(op, args)):
                if is_node(args[pos]):
                    key = f"d{name}/d{args[pos]}"
                    items.append(Item(key, "local", args[pos], sp.sympify(d),
                                      *label("local", args[pos], name), consumer=name, position=pos))
        return tuple(items)
    grad = g.symbolic_gradient(output=out)
    return tuple(Item(f"d{out}/d{x}", "derivative", x, grad[x], *label("derivative", x, out))
                 for x in g.inputs)


def _mlp_exercise(rng: random.Random, level: dict):
    from .mlp import mlp
    from .derive import mlp_quantities
    from .prompts import label
    sizes = list(rng.choice(level["mlp"]))
    act = rng.choice(("tanh", "sigmoid"))
    for _ in range(200):
        net = mlp(sizes, activation=act, loss="squared", seed=0)
        weights = {w: rng.choice((-1.0, -0.5, 0.5, 1.0, 1.5, -1.5, 2.0)) for w in net.weights}
        net = mlp(sizes, activation=act, loss="squared", weights=weights)
        x = [rng.choice((-1.0, -0.5, 0.5, 1.0, 2.0)) for _ in range(sizes[0])]
        feed = {k: float(v) for k, v in net.feed(x, [rng.choice((0.0, 1.0))]).items()}
        g, out = net.graph, net.graph.outputs[0]
        labels = mlp_quantities(g)
        asked = list(labels) + list(weights)
        if smooth_point(g, feed, out, asked=asked):
            break
    adj = edge_pass(g, _evaluate(g, feed), out)
    items = [Item("B" + "_".join(map(str, q[1:])), "adjoint", n, adj[n], *label("quantity", n, out, q))
             for n, q in sorted(labels.items(), key=lambda kv: kv[1])]
    items += [Item(w, "adjoint", w, adj[w], *label("adjoint", w, out))
              for w in sorted(weights, key=lambda w: -int(w[1:].split("_")[0]))]
    meta = {"sizes": sizes, "activation": act, "loss": "squared"}
    return g, feed, out, tuple(items), meta


def exercise(kind: str = "backward", seed: int = 0, difficulty: int = 1, *,
             show_forward: bool | None = None, digits: int = 4) -> Exercise:
    """A derivation exercise, the same for the same arguments.

    Parameters
    ----------
    kind
        ``forward`` (every node's value), ``backward`` (every node's adjoint),
        ``local`` (each local derivative as a formula), ``symbolic`` (the
        derivative of the function as a formula) or ``mlp`` (one backprop step of
        a small MLP: the B-quantities and dl/dw for every weight).
    seed
        Any int; different seeds give different exercises.
    difficulty
        1, 2 or 3: more nodes, more ops, more shared nodes (see :data:`LEVELS`).
    show_forward
        Backward kind: give the forward values in the prompt (default: only for
        difficulty 1).
    digits
        Significant digits asked for numbers; the grading tolerance follows.

    Returns
    -------
    Exercise

    Raises
    ------
    InputError
        An unknown kind, a difficulty outside 1..3, or bad digits.

    Examples
    --------
    >>> import symgrad as sg
    >>> ex = sg.exercise(kind="backward", seed=7)
    >>> ex.grade(ex.answers).all_correct
    True
    >>> sg.exercise(kind="backward", seed=7).answers == ex.answers
    True
    """
    if kind not in KINDS:
        raise InputError(f"unknown exercise kind {kind!r}; valid are {', '.join(KINDS)}")
    if difficulty not in LEVELS or isinstance(difficulty, bool):
        raise InputError(f"difficulty must be 1, 2 or 3, got {difficulty!r}")
    if not isinstance(digits, int) or not 2 <= digits <= 8:
        raise InputError(f"digits must be an int in 2..8, got {digits!r}")
    if not isinstance(seed, int) or isinstance(seed, bool):
        raise InputError(f"seed must be an int, got {seed!r}")
    rng = random.Random(f"symgrad-exercise:{kind}:{difficulty}:{seed}")
    level = LEVELS[difficulty]
    meta: dict = {}
    if kind == "mlp":
        g, point, out, items, meta = _mlp_exercise(rng, level)
    else:
        if kind in ("local", "symbolic"):
            level = {**level, "ops": tuple(s for s in level["ops"] if _writable(s[0]))}
        g, point, out = _graph_and_point(rng, level)
        items = _items(kind, g, point, out)
    shown = (difficulty == 1) if show_forward is None else bool(show_forward)
    return Exercise(kind, seed, difficulty, g, point, items, digits,
                    shown and kind == "backward", out, _other_points(rng, g, point, out), meta)


def exercise_from_graph(graph: Graph, point: Mapping | None = None, kind: str = "backward", *,
                        output: str | None = None, show_forward: bool = False,
                        digits: int = 4) -> Exercise:
    """An exercise on a given graph (e.g. the lecture's) instead of a random one.

    Parameters
    ----------
    graph, point
        The graph and its inputs (``point`` may be omitted for ``local`` and
        ``symbolic``; then 1.0 is used for the numeric checks).
    kind
        ``forward``, ``backward``, ``local`` or ``symbolic``.
    output, show_forward, digits
        As for :func:`exercise`.

    Returns
    -------
    Exercise

    Examples
    --------
    >>> import symgrad as sg
    >>> g = sg.parse("sqrt(x**2 + exp(x**2)) + cos(x**2 + exp(x**2))")
    >>> ex = exercise_from_graph(g, {"x": 2.0})
    >>> round(ex.answers["c"], 4)
    -0.8223
    """
    if kind not in KINDS or kind == "mlp":
        raise InputError(f"kind must be one of forward, backward, local, symbolic; got {kind!r}")
    out = graph.default_output(output)
    point = {k: float(v) for k, v in (point or {x: 1.0 for x in graph.inputs}).items()}
    rng = random.Random(repr(sorted(point.items())))
    items = _items(kind, graph, point, out)
    return Exercise(kind, -1, 0, graph, point, items, digits, show_forward and kind == "backward",
                    out, _other_points(rng, graph, point, out))
