"""Derivation steps: the lecture's forward and backward pass, as data.

:func:`derive` reads a graph (and optionally a point) and returns a
:class:`Derivation`: one :class:`ForwardStep` per operation node
(``c = a + b = 58.598``) and, per output, one :class:`BackwardStep` per node in
reverse topological order, written as the chain rule over the node's consumers
(:class:`Term`), with the local derivatives substituted, then the number::

    df/dc = df/de * de/dc + df/dd * dd/dc = 1 * (-sin(c)) + 1 * 1/(2*sqrt(c)) = -0.82228

The steps are printer-independent; :mod:`symgrad.show.text` and :mod:`symgrad.show.latex`
print them.  Arguments are referred to by node name, so no nested expression is
ever built or walked: each local derivative is one op's partial in the symbols
of its arguments, computed once per op shape (cached) from the op table.
"""

from __future__ import annotations

import functools
import importlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import sympy as sp

from ..errors import InputError
from .escape import warn_confusables
from ..numeric.forward import evaluate, read_inputs
from ..core.graph import Graph, is_node
from ..core.ops import NUM, Op
from ..core.sweep import Numbers, sweep
from ..symbolic.gradient import symbol
from .lecture import Lecture, lecture
from .local import arg_shape, generic_partials, is_placeholder, named_functions, placeholder
from .tangent_steps import Collected, TangentStep, direction, first_positions, tangent_steps

__all__ = ["derive", "Derivation", "ForwardStep", "BackwardStep", "TangentStep", "Term", "placeholder",
           "is_placeholder", "named_functions", "mlp_quantities"]


@dataclass(frozen=True)
class ForwardStep:
    """``node = op(args) = value``; ``value`` is None in symbolic mode."""

    node: str
    op: Op
    args: tuple
    value: float | None = None


@dataclass(frozen=True)
class Term:
    """One consumer's share of an adjoint: d(out)/d(consumer) * d(consumer)/d(node).

    ``seed`` is the consumer's adjoint (a float, or in symbolic mode a SymPy
    expression in node symbols).  The local derivative is ``generic`` with
    ``placeholder(k)`` standing for ``names[k]``; :attr:`local` substitutes them.
    ``local_value`` is its number (the slides' derivation only).
    """

    consumer: str
    node: str
    seed: Any
    generic: sp.Expr
    names: tuple
    local_value: float | None = None

    @property
    def local(self) -> sp.Expr:
        """d(consumer)/d(node) as a SymPy expression in node symbols."""
        return self.generic.xreplace({placeholder(k): sp.Symbol(n) for k, n in enumerate(self.names)})


@dataclass(frozen=True)
class BackwardStep:
    """The adjoint d(output)/d(node): the chain rule over ``terms`` (empty for the
    output itself, whose adjoint is 1).  ``value`` is the number (None in symbolic
    mode), ``expr`` the SymPy adjoint in node symbols (symbolic mode only), and
    ``quantity`` a lecture label such as ``("B", 2, 1)`` for B_{2,1}, or None."""

    node: str
    output: str
    terms: tuple
    value: float | None = None
    expr: sp.Expr | None = None
    quantity: tuple | None = None


@dataclass(frozen=True, eq=False)
class Derivation:
    """A structured derivation: the forward steps and the backward steps.

    ``lecture`` is the MLP found in the graph when the derivation is the
    slides' (``derive(..., quantities=True)`` of an MLP graph), else None.

    Print it with :meth:`text`, :meth:`markdown`, :meth:`latex`, :meth:`document`
    or :meth:`pdf`; each takes the printer's settings as keywords.
    """

    graph: Graph
    point: Mapping | None
    forward: tuple
    backward: tuple
    outputs: tuple
    digits: int = 5
    symbolic: bool = False
    lecture: Lecture | None = None
    mode: str = "reverse"
    tangents: tuple = ()
    seeds: Mapping | None = None

    def text(self, **settings) -> str:
        """Plain Unicode text; see :class:`symgrad.show.text.TextPrinter`."""
        return _printer("text", settings).derivation(self)

    def markdown(self, **settings) -> str:
        """Markdown; see :class:`symgrad.show.text.MarkdownPrinter`."""
        return _printer("markdown", settings).derivation(self)

    def latex(self, **settings) -> str:
        """The body of an ``align*`` environment; see :class:`symgrad.show.latex.LatexPrinter`."""
        return _printer("latex", settings).derivation(self)

    def document(self, **settings) -> str:
        """A standalone LaTeX document (function, nodes, forward, backward)."""
        return _printer("latex", settings).document(self)

    def pdf(self, path, **settings) -> str:
        """Write the document as a PDF to ``path`` with pdflatex; returns the path."""
        return _lazy("compile_pdf")(_printer("latex", settings).document(self), path)

    def html(self, **options) -> str:
        """One self-contained interactive HTML page (offline): step through the
        forward and backward pass on the picture, click a node for its lines;
        see :func:`symgrad.show.html.derivation_page`."""
        return _lazy("html")(self, **options)

    def _repr_html_(self) -> str:
        return self.html()

    def __str__(self) -> str:
        return self.text()

    def __repr__(self) -> str:
        if self.mode == "forward":
            return (f"<Forward-mode derivation along {', '.join(self.seeds)}: {len(self.forward)} "
                    f"forward and {len(self.tangents)} tangent steps>")
        return (f"<Derivation of {', '.join(self.outputs)}: {len(self.forward)} forward "
                f"and {len(self.backward)} backward steps>")

    def _repr_latex_(self) -> str:
        return "\\begin{align*}\n" + self.latex() + "\n\\end{align*}"

    def _repr_markdown_(self) -> str:
        return self.markdown()


# The printers read derivations, so this module may not import them: the
# Derivation's printing methods reach them through this lazy registry.
_LAZY = {"text": "symgrad.show.text:TextPrinter", "markdown": "symgrad.show.text:MarkdownPrinter",
         "latex": "symgrad.show.latex:LatexPrinter", "compile_pdf": "symgrad.show.latex:compile_pdf",
         "html": "symgrad.show.html:derivation_page"}


def _lazy(key: str):
    module, _, attr = _LAZY[key].partition(":")
    return getattr(importlib.import_module(module), attr)


def _printer(kind: str, settings: dict):
    return _lazy(kind)(**settings)


def derive(graph: Graph, values: Mapping | None = None, /, *, digits: int = 5,
           symbolic: bool = False, outputs: Iterable[str] | None = None,
           nodes: Iterable[str] | None = None, quantities: bool = False,
           mode: str = "reverse", wrt: str | None = None, tangent: Mapping | None = None,
           **inputs) -> Derivation:
    """The lecture-style derivation of ``graph``'s forward and backward pass.

    Parameters
    ----------
    graph
        The computational graph.
    values, **inputs
        The point, as a mapping and/or keywords (scalars).  Without a point (or
        with ``symbolic=True``) the steps carry no numbers.
    digits
        Significant digits the printers show (default 5: ``58.598``).
    symbolic
        No numbers: each adjoint is a SymPy expression in node symbols.
    outputs
        The nodes to differentiate (default: the graph's outputs).
    nodes
        Only these nodes get steps (default: every node).
    quantities
        For an MLP graph (:func:`symgrad.show.lecture.lecture`: ``sg.mlp(...).graph``)
        differentiated for its loss: the backward pass as the slides write it,
        in their order and notation -- ``B_1 = ∂loss/∂yhat1 = yhat1 - y1``, the
        ``B_{2,i} = B_1 w^2_{i,1}``, the ``B_{3,i} = B_{2,i} φ'(a_i)``, ... down the
        layers, then ``∂loss/∂w`` layer by layer from the top (``B_{3,j} x_i``),
        then ``∂loss/∂x_i``, last the targets' ``∂loss/∂y_i`` -- each line the
        formula, then its numbers, then the value.  Other graphs: ignored.
    mode
        ``"reverse"`` (default: the backward pass, adjoints summed over each
        node's consumers) or ``"forward"``: forward mode, the tangent of every
        node with respect to the input ``wrt`` (or along the direction
        ``tangent={input: number}``), summed over the node's arguments --
        ``ȧ = ∂a/∂x · ẋ = 2*x * 1 = 4`` -- in :attr:`Derivation.tangents`
        (``backward`` is then empty).  Forward mode needs a point.
    wrt, tangent
        Forward mode's direction: one input name (its tangent is 1, the
        others' 0), or a mapping ``{input: number}``; exactly one of them.

    Returns
    -------
    Derivation

    Raises
    ------
    InputError
        A missing, unknown or non-scalar input, ``digits`` outside 1..1000, or
        ``outputs``/``nodes`` that are not lists of names.
    TypeError
        If ``graph`` is not a :class:`Graph`.
    GraphError
        An unknown node in ``outputs`` or ``nodes``.

    Warns
    -----
    ConfusableNamesWarning
        If two distinct node names print the same (Cyrillic ``х`` and Latin ``x``).

    Forward mode raises InputError for an unknown ``mode``, no point, a
    missing/both/unknown ``wrt``/``tangent``, or ``wrt``/``tangent`` given in
    reverse mode.

    Examples
    --------
    >>> import symgrad as sg
    >>> g = sg.parse("sqrt(x**2 + exp(x**2)) + cos(x**2 + exp(x**2))")
    >>> d = sg.derive(g, x=2.0)
    >>> [s.node for s in d.backward]
    ['f', 'e', 'd', 'c', 'b', 'a', 'x']
    >>> print(d.text(indent="").splitlines()[-4])
    ∂f/∂c = ∂f/∂e * ∂e/∂c + ∂f/∂d * ∂d/∂c = 1 * (-sin(c)) + 1 * 1/(2*sqrt(c)) = -0.82228
    """
    if not isinstance(graph, Graph):
        raise TypeError(f"derive() needs a symgrad Graph such as sg.parse('x**2'), "
                        f"got {type(graph).__name__}")
    if not isinstance(digits, int) or isinstance(digits, bool) or not 1 <= digits <= 1000:
        raise InputError(f"digits must be a positive integer (at most 1000), got {digits!r}")
    for opt, v in (("outputs", outputs), ("nodes", nodes)):
        if v is not None and (isinstance(v, str) or not isinstance(v, Iterable)):
            raise InputError(f"{opt}= takes a list of node names such as [{v!r}], got {v!r}")
    if mode not in ("reverse", "forward"):
        raise InputError(f"mode must be 'reverse' or 'forward', got {mode!r:.40}")
    if mode == "reverse" and (wrt is not None or tangent is not None):
        raise InputError("wrt=/tangent= choose forward mode's direction; pass mode='forward' "
                         "(reverse mode differentiates with respect to every input at once)")
    seeds = direction(graph, wrt, tangent) if mode == "forward" else None
    warn_confusables(graph.nodes, "derive")
    outs = tuple(graph.default_output(o) for o in (graph.outputs if outputs is None else outputs))
    keep = None if nodes is None else {_known(graph, n) for n in nodes}
    vals = None
    point = None
    if values is not None or inputs or not graph.inputs:
        ins, shape = read_inputs(graph, values, inputs)
        if shape is not None:
            raise InputError("derive needs scalar inputs, got arrays of shape "
                             f"{shape}; pass one sample, e.g. x=2.0")
        point = {k: float(v) for k, v in ins.items()}
        if not symbolic:
            vals = evaluate(graph, ins)
    fwd = tuple(ForwardStep(n, op, args, None if vals is None else float(vals[n]))
                for n, op, args in graph.program if keep is None or n in keep)
    if seeds is not None:
        if vals is None:
            raise InputError("forward mode needs a point (e.g. x=2.0): the tangents are numbers"
                             + (", and symbolic=True has none" if symbolic else ""))
        tan = tangent_steps(graph, vals, seeds, Term, keep)
        return Derivation(graph, point, fwd, (), outs, digits, False, None, "forward", tan, seeds)
    found = lecture(graph) if quantities else None
    if found is not None and outs != (found.loss,):
        found = None                            # B_k are adjoints of the loss only
    bwd = []
    for out in outs:
        steps = _slides(graph, found, vals) if found else _backward(graph, out, vals, vals is None)
        bwd.extend(s for s in steps if keep is None or s.node in keep)
    return Derivation(graph, point, fwd, tuple(bwd), outs, digits, vals is None, found)


def _slides(graph: Graph, found: Lecture, vals: dict | None) -> list:
    """The backward steps as the slides write them, in their order
    (:meth:`~symgrad.show.lecture.Lecture.backward_order`), each labelled with
    its quantity (``B_{3,1}``): per consumer (in topological order) the local
    derivative in :func:`named_functions`'s terms and, at a point, the
    consumer's adjoint and the local derivative's number (the op table's
    numeric partial), whose products sum to the step's value."""
    out = found.loss
    numbers = None
    if vals is not None:
        with np.errstate(all="ignore"):
            numbers = sweep(graph.program, out, Numbers(vals), np.float64(1.0))
    rows = {n: (op, args) for n, op, args in graph.program}
    labels = found.quantities()
    steps = []
    for node in found.backward_order():
        terms = []
        for c in dict.fromkeys(c for c, _ in graph.consumers[node]):
            op, args = rows[c]
            shape, names = arg_shape(args)
            generic = generic_partials(op.name, shape, True)[names.index(node)]
            seed = local = None
            if numbers is not None:
                with np.errstate(all="ignore"):
                    parts = op.partials(NUM, vals[c], *[vals[a] if is_node(a) else a for a in args])
                local = float(sum(d for d, a in zip(parts, args, strict=True) if a == node))
                seed = float(numbers[c])
            terms.append(Term(c, node, seed, generic, names, local))
        value = None if numbers is None else float(numbers[node])
        steps.append(BackwardStep(node, out, tuple(terms), value, None, labels.get(node)))
    return steps


EXPAND_CHARS = 240    # symbolic mode: an adjoint is written out in full while its text is this short


@functools.lru_cache(maxsize=4096)
def _printed_size(generic: sp.Expr) -> int:
    """Characters of a cached local derivative in text, placeholders counted as 1."""
    s = sp.sstr(generic)
    return len(s) - 2 * s.count("\x01")


def _backward(graph: Graph, out: str, vals: dict | None, symbolic: bool) -> list:
    """The backward steps for ``out``, in reverse topological order: the chain
    rule sweep (:func:`symgrad.core.sweep.sweep`) read by :class:`_Chain`, which
    records each consumer's term; the numbers come from the same sweep with
    :class:`symgrad.core.sweep.Numbers`.

    In symbolic mode an adjoint is also written out in full (a SymPy expression
    in the node symbols) while its printed size stays within
    :data:`EXPAND_CHARS` characters, estimated from its consumers' sizes before
    it is built; a larger adjoint, and every adjoint below it, is left as the
    chain rule in the consumers' named adjoints (``expr`` None), so the output
    stays linear in the graph."""
    numbers = None
    if not symbolic:
        with np.errstate(all="ignore"):
            numbers = sweep(graph.program, out, Numbers(vals), np.float64(1.0))
    steps = sweep(graph.program, out, _Chain(out, numbers), [], settle_leaves=True)
    return [steps[n] for n in reversed(graph.nodes) if n in steps]


class _Chain(Collected):
    """The derivation's reading of the sweep: an adjoint is the list of its
    consumers' :class:`Term` records, and settling it gives the node's
    :class:`BackwardStep` (whose number or expression seeds the node's own terms).

    A node used at several positions of one consumer gets one term, the sum of
    its partials there (the later positions' edges are dropped)."""

    def __init__(self, out: str, numbers: dict | None) -> None:
        self.out, self.numbers = out, numbers
        self.full: dict[str, tuple | None] = {}     # symbolic: node -> (adjoint, text size) or None

    def partials(self, name, op, args):
        shape, names = arg_shape(args)
        generic = generic_partials(op.name, shape)
        return first_positions(shape, lambda k: (generic[k], names))

    def term(self, seed, d, name, pos, arg):
        value = seed.value if self.numbers is not None else seed.expr
        return Term(name, arg, value, *d)

    def settle(self, name, total):
        terms = tuple(total)
        if self.numbers is not None:
            return BackwardStep(name, self.out, terms, float(self.numbers[name]))
        full = self.full[name] = _written_out(name, self.out, terms, self.full)
        return BackwardStep(name, self.out, terms, None, full and full[0])


def _written_out(node: str, out: str, terms: tuple, full: dict) -> tuple[sp.Expr, int] | None:
    """``(adjoint in node symbols, its text length)`` if every consumer's adjoint is
    written out and the estimated and actual text are at most :data:`EXPAND_CHARS`
    characters; else None.  ``full`` maps consumers to the same pairs (or None)."""
    if node == out:
        return sp.Integer(1), 1
    size = 0
    for t in terms:
        if full[t.consumer] is None:
            return None
        size += full[t.consumer][1] + _printed_size(t.generic) + sum(map(len, t.names)) + 5
        if size > EXPAND_CHARS:
            return None
    total = sp.Add(*[t.seed * t.generic.xreplace({placeholder(k): symbol(n) for k, n in enumerate(t.names)})
                     for t in terms])
    n = len(str(total))
    return (total, n) if n <= EXPAND_CHARS else None


def mlp_quantities(graph: Graph) -> dict:
    """``{node: ("B", k, i)}``: the lecture's named quantities of an MLP graph
    (:meth:`symgrad.show.lecture.Lecture.quantities`), {} for any other graph.

    Examples
    --------
    >>> import symgrad as sg
    >>> mlp_quantities(sg.mlp([1, 1, 1], seed=0).graph)
    {'yhat1': ('B', 1), 'h1_1': ('B', 2, 1), 'a1_1': ('B', 3, 1)}
    """
    found = lecture(graph)
    return {} if found is None else found.quantities()


def _known(graph: Graph, node: str) -> str:
    graph.args(node)                   # GraphError naming the node if it is unknown
    return node
