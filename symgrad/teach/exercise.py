"""Derivation exercises: random, well-posed practice graphs with their answers.

:func:`exercise` draws a small computational graph (or a small MLP) from a seed,
picks a point where every value is finite, away from kinks and printable with
few digits, and asks for forward values, adjoints, local derivatives, the
symbolic derivative, or one backprop step.  Grading lives in
:mod:`symgrad.teach.grading`, sheets (LaTeX, JSON, Moodle XML) in :mod:`symgrad.teach.sheet`.
The generator reads the op table only as data: it never branches on op names.
"""

from __future__ import annotations

import math
import random
from numbers import Real
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


from ..symbolic.equivalence import exact_constants
from ..errors import InputError
from ..core.graph import Graph, is_node
from .practice import LEVELS, edge_pass, local_derivatives, other_points, random_graph, smooth_point, writable
from ..front.sympy_io import as_expr

__all__ = ["exercise", "exercise_from_graph", "Exercise", "Item", "KINDS", "LEVELS",
           "local_derivatives"]  # re-exported from symgrad.teach.practice

KINDS = ("forward", "backward", "local", "symbolic", "mlp", "forward_mode", "hessian")



@dataclass(frozen=True)
class Item:
    """One asked value.

    ``key`` is what a submission uses (``"c"``, ``"dc/da"``, ``"df/dx"``,
    ``"B2_1"``, ``"w1_1_1"``, ``"d2f/dxdy"``); ``what`` is ``value``, ``adjoint``,
    ``local``, ``derivative``, ``tangent`` (forward mode: d node/d input) or
    ``second`` (a Hessian entry); ``node`` the node it is about (the argument
    for ``local``, the input for ``derivative``, the first input for
    ``second``), ``consumer``/``position`` the edge of a local derivative;
    ``wrt`` the input of a tangent, the second input of a Hessian entry;
    ``answer`` a float or a SymPy expression; ``text``/``latex`` the label
    shown in the prompt.
    """

    key: str
    what: str
    node: str
    answer: Any
    text: str
    latex: str
    consumer: str | None = None
    position: int | None = None
    wrt: str | None = None

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
        """The full worked derivation (:func:`symgrad.show.derive`) of this exercise."""
        from ..show.derive import derive
        if self.kind in ("local", "symbolic"):
            return derive(self.graph, symbolic=True, outputs=[self.output])
        if self.kind == "forward_mode":
            return derive(self.graph, self.point, mode="forward", wrt=self.meta["wrt"])
        if self.kind == "hessian":           # reverse over reverse: the derivation of the gradient graph
            gg = self.graph.gradient_graph(output=self.output)
            return derive(gg, self.point, outputs=list(gg.outputs))
        return derive(self.graph, self.point, outputs=[self.output], quantities=self.kind == "mlp")

    def grade(self, submitted: Mapping):
        """Grade ``{item key: number or formula string}``; see :func:`symgrad.teach.grading.grade`."""
        from .grading import grade
        return grade(self, submitted)

    def html(self, **options) -> str:
        """A self-contained practice page: the student types answers and gets the
        verdicts and feedback of :meth:`grade` in the page (numbers; formulas are
        marked for ``symgrad quiz``); see :func:`symgrad.teach.page.practice_page`."""
        from .page import practice_page
        return practice_page(self, **options)

    def _repr_html_(self) -> str:
        return self.html()

    def to_dict(self) -> dict:
        """A JSON-ready description: recipe, program, point, prompt and answers."""
        from .prompts import program_lines, show_answer
        return {"kind": self.kind, "seed": self.seed, "difficulty": self.difficulty,
                "program": program_lines(self.graph, parseable=True), "output": self.output,
                "point": dict(self.point), "digits": self.digits,
                "prompt": self.prompt_text(),
                "items": [{"key": it.key, "what": it.what, "label": it.text,
                           "answer": show_answer(it, 12)} for it in self.items]}


# -- items ------------------------------------------------------------------------------
def _items(kind: str, g: Graph, point: dict, out: str, wrt: str | None = None) -> tuple:
    from .prompts import label
    if kind == "forward_mode":
        tan = g.tangents(point, wrt=wrt)
        return tuple(Item(f"d{n}/d{wrt}", "tangent", n, float(tan[n]), *label("tangent", n, wrt),
                          wrt=wrt) for n, _, _ in g.program)
    if kind == "hessian":
        return _hessian_items(g, point, out)
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
            for pos, d in enumerate(local_derivatives(op, args)):
                if is_node(args[pos]):
                    key = f"d{name}/d{args[pos]}"
                    items.append(Item(key, "local", args[pos], exact_constants(as_expr(d)),
                                      *label("local", args[pos], name), consumer=name, position=pos))
        return tuple(items)
    grad = g.symbolic_gradient(output=out)
    return tuple(Item(f"d{out}/d{x}", "derivative", x, exact_constants(grad[x]),
                      *label("derivative", x, out))
                 for x in g.inputs)


def _hessian_items(g: Graph, point: dict, out: str) -> tuple:
    """The Hessian's entries on and above the diagonal (it is symmetric), keyed
    ``d2f/dxdy`` (``d2f/dxdx`` on the diagonal); where two pairs of input names
    would give the same key (``x``, ``dy`` and ``xd``, ``y``), every key separates
    the pair with a comma: ``d2f/dx,dy``."""
    from .prompts import label
    h = g.hessian(point, output=out)
    xs = g.inputs
    pairs = [(i, a, j, b) for i, a in enumerate(xs) for j, b in enumerate(xs) if j >= i]
    sep = "" if len({f"{a}d{b}" for _, a, _, b in pairs}) == len(pairs) else ","
    return tuple(Item(f"d2{out}/d{a}{sep}d{b}", "second", a, float(h[i, j]),
                      *label("second", a, out, wrt=b), wrt=b) for i, a, j, b in pairs)


_SECOND_LIMIT = 1000.0      # a random Hessian exercise's entries are at most this large


def _hessian_exercise(rng: random.Random, level: dict):
    """A random graph and point whose Hessian is finite, moderate and not all 0."""
    for _ in range(60):
        g, point, out = random_graph(rng, level)
        items = _hessian_items(g, point, out)
        entries = [it.answer for it in items]
        if all(math.isfinite(v) and abs(v) <= _SECOND_LIMIT for v in entries) and any(entries):
            return g, point, out, items
    raise RuntimeError("no well-posed Hessian exercise found; this is a bug in symgrad.teach.exercise")


def _mlp_exercise(rng: random.Random, level: dict):
    from ..nn.mlp import mlp
    from ..show.lecture import lecture
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
        found = lecture(g)
        labels = found.quantities()
        asked = list(labels) + list(weights)
        if smooth_point(g, feed, out, asked=asked):
            break
    adj = edge_pass(g, dict(g.forward(feed)), out)     # smooth_point: finite values
    items = []
    for n in found.backward_order():                   # the slides' order: B_1, B_2, B_3, ..., dl/dw
        q = labels.get(n)
        if q is not None:
            items.append(Item("B" + "_".join(map(str, q[1:])), "adjoint", n, adj[n],
                              *label("quantity", n, out, q, found)))
        elif n in weights:
            items.append(Item(n, "adjoint", n, adj[n], *label("adjoint", n, out, None, found)))
    meta = {"sizes": sizes, "activation": act, "loss": "squared"}
    return g, feed, out, tuple(items), meta


def exercise(kind: str = "backward", seed: int = 0, difficulty: int = 1, *,
             show_forward: bool | None = None, digits: int = 4, expression=None,
             at: Mapping | None = None, wrt: str | None = None) -> Exercise:
    """A derivation exercise, the same for the same arguments.

    Parameters
    ----------
    kind
        ``forward`` (every node's value), ``backward`` (every node's adjoint),
        ``local`` (each local derivative as a formula), ``symbolic`` (the
        derivative of the function as a formula), ``mlp`` (one backprop step of
        a small MLP: the B-quantities and dl/dw for every weight),
        ``forward_mode`` (every node's tangent d node/d input, forward mode) or
        ``hessian`` (the second derivatives of the output, keys ``d2f/dxdy``,
        each pair of inputs once).
    seed
        Any int; different seeds give different exercises.
    difficulty
        1, 2 or 3: more nodes, more ops, more shared nodes (see :data:`LEVELS`).
    show_forward
        Backward kind: give the forward values in the prompt (default: only for
        difficulty 1).
    digits
        Significant digits asked for numbers; the grading tolerance follows.
    expression, at
        A teacher's own function instead of a random one: expression text (or a
        program, or a :class:`~symgrad.Graph`) and the point ``at`` (required for
        ``forward`` and ``backward``; ``local`` and ``symbolic`` check formulas at
        ``at`` or, without it, at 1.0).  Not for the ``mlp`` kind (see
        :func:`symgrad.mlp`).  ``seed`` and ``difficulty`` do not apply.
        ``forward_mode`` and ``hessian`` need ``at``.
    wrt
        ``forward_mode``: the input the tangents are taken with respect to
        (default: a random input, or the first input of ``expression``).

    Returns
    -------
    Exercise

    Raises
    ------
    InputError
        An unknown kind, a difficulty outside 1..3, or bad digits; ``at`` missing
        an input of ``expression`` or naming an unknown one.
    ParseError
        ``expression`` text that does not parse.

    Examples
    --------
    >>> import symgrad as sg
    >>> ex = sg.exercise(kind="backward", seed=7)
    >>> ex.grade(ex.answers).all_correct
    True
    >>> sg.exercise(kind="backward", seed=7).answers == ex.answers
    True
    >>> lecture = sg.exercise("backward", expression="sqrt(x**2 + exp(x**2)) + cos(x**2 + exp(x**2))",
    ...                       at={"x": 2})
    >>> round(lecture.answers["c"], 5), round(lecture.answers["x"], 3)
    (-0.82228, -182.87)
    """
    if wrt is not None and kind != "forward_mode":
        raise InputError(f"wrt= chooses the input of a forward_mode exercise, not of a {kind!r} one")
    if expression is not None:
        return _teachers(kind, expression, at, show_forward, digits, wrt)
    if kind not in KINDS:
        raise InputError(f"unknown exercise kind {kind!r}; valid are {', '.join(KINDS)}")
    if type(difficulty) is not int or difficulty not in LEVELS:    # 1.0 would seed another exercise
        raise InputError(f"difficulty must be 1, 2 or 3, got {difficulty!r}")
    if show_forward is not None and not isinstance(show_forward, bool):
        raise InputError(f"show_forward must be True, False or None, got {show_forward!r}")
    if not isinstance(digits, int) or not 2 <= digits <= 8:
        raise InputError(f"digits must be an int in 2..8, got {digits!r}")
    if not isinstance(seed, int) or isinstance(seed, bool):
        raise InputError(f"seed must be an int, got {seed!r}")
    rng = random.Random(f"symgrad-exercise:{kind}:{difficulty}:{seed}")
    level = LEVELS[difficulty]
    meta: dict = {}
    if kind == "mlp":
        g, point, out, items, meta = _mlp_exercise(rng, level)
    elif kind == "hessian":
        g, point, out, items = _hessian_exercise(rng, level)
    else:
        if kind in ("local", "symbolic"):
            level = {**level, "ops": tuple(s for s in level["ops"] if writable(*s))}
        g, point, out = random_graph(rng, level)
        if kind == "forward_mode":
            meta = {"wrt": _wrt(g, wrt) if wrt is not None else _busiest_input(rng, g, point)}
        items = _items(kind, g, point, out, meta.get("wrt"))
    shown = (difficulty == 1) if show_forward is None else bool(show_forward)
    return Exercise(kind, seed, difficulty, g, point, items, digits,
                    shown and kind == "backward", out, other_points(rng, g, point, out), meta)


def _busiest_input(rng: random.Random, g: Graph, point: dict) -> str:
    """The input most nodes' tangents depend on (ties drawn by ``rng``): a
    forward-mode exercise asks few zeros."""
    reach = {x: sum(1 for v in g.tangents(point, wrt=x).values() if v != 0) for x in g.inputs}
    most = max(reach.values())
    return rng.choice([x for x in g.inputs if reach[x] == most])


def _wrt(graph: Graph, wrt) -> str:
    """``wrt`` checked: one input name of ``graph``."""
    if not isinstance(wrt, str) or wrt not in graph.inputs or graph.op(wrt) is not None:
        raise InputError(f"wrt= must name one input of the function, got {wrt!r:.40}; "
                         f"the inputs are {', '.join(graph.inputs) or 'none'}")
    return wrt


def _teachers(kind, expression, at, show_forward, digits, wrt=None) -> Exercise:
    """A teacher's own exercise: ``expression`` (text, a program or a Graph) at ``at``."""
    from ..front.parse import parse
    if kind == "mlp":
        raise InputError("expression= makes forward, backward, local, symbolic, forward_mode or hessian "
                         "exercises; an MLP "
                         "exercise is drawn by kind='mlp' (seed, difficulty)")
    if isinstance(expression, str):
        graph = parse(expression)
    elif isinstance(expression, Graph):
        graph = expression
    else:
        raise InputError(f"expression must be text such as 'x**2 + sin(x)' or a Graph, "
                         f"got {type(expression).__name__}")
    if at is not None and not isinstance(at, Mapping):
        raise InputError(f"at must be a mapping of the inputs, such as {{'x': 2}}, got {at!r:.60}")
    point = dict(at or {})
    missing = [x for x in graph.inputs if x not in point]
    unknown = [k for k in point if k not in graph.inputs]
    if unknown or (missing and (kind not in ("local", "symbolic") or point)):
        raise InputError("at= must give every input of the expression: "
                         + (f"missing {', '.join(missing)}" if missing else "")
                         + ("; " if missing and unknown else "")
                         + (f"unknown {', '.join(map(repr, unknown))}" if unknown else "")
                         + f" (the inputs are {', '.join(graph.inputs) or 'none'})")
    for k, v in point.items():
        if isinstance(v, bool) or not isinstance(v, Real) or not math.isfinite(v):
            raise InputError(f"at: {k} must be a finite number, got {v!r:.40}")
    return exercise_from_graph(graph, point or None, kind, show_forward=bool(show_forward),
                               digits=digits, wrt=wrt)


def exercise_from_graph(graph: Graph, point: Mapping | None = None, kind: str = "backward", *,
                        output: str | None = None, show_forward: bool = False,
                        digits: int = 4, wrt: str | None = None) -> Exercise:
    """An exercise on a given graph (e.g. the lecture's) instead of a random one.

    Parameters
    ----------
    graph, point
        The graph and its inputs (``point`` may be omitted for ``local`` and
        ``symbolic``; then 1.0 is used for the numeric checks).
    kind
        ``forward``, ``backward``, ``local``, ``symbolic``, ``forward_mode`` or ``hessian``.
    output, show_forward, digits
        As for :func:`exercise`.
    wrt
        ``forward_mode``: the input (default: the first).

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
        raise InputError(f"kind must be one of {', '.join(k for k in KINDS if k != 'mlp')}; got {kind!r}")
    out = graph.default_output(output)
    point = {k: float(v) for k, v in (point or {x: 1.0 for x in graph.inputs}).items()}
    rng = random.Random(repr(sorted(point.items())))
    first = graph.inputs[0] if graph.inputs else None
    meta = {"wrt": _wrt(graph, first if wrt is None else wrt)} if kind == "forward_mode" else {}
    items = _items(kind, graph, point, out, meta.get("wrt"))
    return Exercise(kind, -1, 0, graph, point, items, digits, show_forward and kind == "backward",
                    out, other_points(rng, graph, point, out), meta)
