"""Derivatives as graphs: the reverse pass (or a forward pass) written as a Graph.

:func:`gradient_graph` runs the one chain-rule sweep (:func:`symgrad.core.sweep.sweep`)
with an interpretation whose values are graph nodes: each op's partials are
its own formulas (``partials(m, out, *args)``) run on :class:`GraphBackend`, a
backend namespace whose functions build nodes (``m.exp(a)`` is an ``exp``
node, ``m.where(a > 0, 1, s)`` an ``ifpos`` node, ``m.step`` a ``step``
node), and products and sums are ``mul``/``add`` nodes.  Nodes are hash-consed
and the trivial ``*1``, ``+0``, ``*0``, ``--x`` are folded, so the result is
linear in the graph's size; it holds only ops of the table, so it evaluates,
prints, parses back and is differentiated again like any graph.  The kink
conventions carry over (relu'(x) is ``step(x)``, 0 at 0), and evaluating the
gradient graph computes reverse mode's numbers operation for operation.

>>> import symgrad as sg
>>> g = sg.parse("sqrt(x**2 + exp(x**2)) + cos(x**2 + exp(x**2))")
>>> dg = gradient_graph(g)
>>> dg.inputs, dg.outputs
(('x',), ('df_dx',))
>>> round(dg.forward(x=2.0)["df_dx"], 3)
-182.87
>>> round(gradient_graph(dg).forward(x=2.0)["ddf_dx_dx"], 4)
21943.9018
"""

from __future__ import annotations

import math
import operator
from collections.abc import Iterable, Sequence

import numpy as np

from ..errors import GraphError
from .graph import Assembler, Graph, is_node, literal_key, no_gc
from .ops import NUM, OPS
from .sweep import Interpretation, sweep
from .tangent import tangent_sweep

__all__ = ["gradient_graph", "derivative_graph", "tangent_graph", "wrt_inputs", "Term", "Terms",
           "GraphBackend", "graph_of"]


def wrt_inputs(graph: Graph, wrt=None) -> tuple[str, ...]:
    """The inputs to differentiate by: every input (None), one name or a sequence of names.

    Raises GraphError naming what is not an input."""
    if wrt is None:
        return graph.inputs
    names = (wrt,) if isinstance(wrt, str) else wrt
    if not isinstance(names, Iterable) or isinstance(names, (bytes, dict)):
        raise GraphError(f"wrt= takes an input name or a list of them, got {wrt!r:.80}")
    names = tuple(names)
    bad = [w for w in names if not isinstance(w, str) or w not in graph.inputs
           or graph.op(w) is not None]
    if bad or not names:
        shown = ", ".join(map(repr, bad)) if bad else "nothing"
        raise GraphError(f"cannot differentiate with respect to {shown}: not an input; "
                         f"the inputs are {', '.join(graph.inputs)}")
    if len(set(names)) != len(names):
        raise GraphError(f"wrt= names an input twice: {names!r}")
    return names


# -- graph nodes as values --------------------------------------------------------------------
_FOLD = {"add": operator.add, "sub": operator.sub, "mul": operator.mul}


def _lit(v) -> bool:
    return not isinstance(v, Term)


def _is(v, c) -> bool:
    """``v`` is the literal ``c`` (0 also matches -0.0)."""
    return not isinstance(v, Term) and v == c


class Term:
    """A node of a graph under construction: ``op(*args)`` (args: Terms and
    numbers), or an input / a named node of the differentiated graph.  Python's
    operators build nodes; a Term has no truth value (a formula that branches on
    a value must use ``m.where``)."""

    __slots__ = ("op", "args", "name", "index", "terms")
    __hash__ = object.__hash__

    def __init__(self, terms: "Terms", op, args: tuple, name, index: int):
        self.terms, self.op, self.args, self.name, self.index = terms, op, args, name, index

    def __repr__(self) -> str:
        return f"Term({self.name or self.op}#{self.index})"

    def __bool__(self):
        raise TypeError("a graph node has no truth value: write conditions with m.where(x > 0, ...)")

    def __add__(self, b):
        return self.terms.make("add", (self, b))

    def __radd__(self, a):
        return self.terms.make("add", (a, self))

    def __sub__(self, b):
        return self.terms.make("sub", (self, b))

    def __rsub__(self, a):
        return self.terms.make("sub", (a, self))

    def __mul__(self, b):
        return self.terms.make("mul", (self, b))

    def __rmul__(self, a):
        return self.terms.make("mul", (a, self))

    def __truediv__(self, b):
        return self.terms.make("div", (self, b))

    def __rtruediv__(self, a):
        return self.terms.make("div", (a, self))

    def __pow__(self, k):
        return self.terms.make("pow", (self, k))

    def __rpow__(self, a):
        return self.terms.make("pow", (a, self))

    def __neg__(self):
        return self.terms.make("neg", (self,))

    def __gt__(self, c):
        return _Positive(self, c)

    def __lt__(self, c):
        return _Positive(c - self if not _is(c, 0) else -self, 0)


class _Positive:
    """The condition ``a > c`` inside ``m.where``: becomes ``ifpos(a - c, ...)``."""

    __slots__ = ("a", "c")

    def __init__(self, a, c):
        self.a, self.c = a, c

    def __bool__(self):
        raise TypeError("a condition on a graph node has no truth value: use m.where")


class Terms:
    """The hash-consing factory of :class:`Term` values, with the trivial folds
    ``x*1 = x``, ``x*0 = 0``, ``x*-1 = -x``, ``x+0 = x``, ``0-x = -x``, ``--x = x``,
    ``x/1 = x``, ``x**1 = x``, ``x**0 = 1``, ``ifpos`` of a literal condition or
    of two equal branches, arithmetic of two literals (IEEE, as numpy) and any op
    of literals with a finite value (computed with the numeric backend: the
    executor's own number)."""

    def __init__(self) -> None:
        self._key: dict = {}
        self.all: list[Term] = []
        self.inputs: dict[str, Term] = {}
        self.m = GraphBackend(self)

    def _new(self, op, args, name=None) -> Term:
        t = Term(self, op, args, name, len(self.all))
        self.all.append(t)
        return t

    def leaf(self, name: str) -> Term:
        """An input of the graph being built."""
        t = self.inputs[name] = self._new(None, (), name)
        return t

    def named(self, name: str, op: str, args: tuple) -> Term:
        """A node of the differentiated graph, kept with its name (shared with an
        identical node built later)."""
        t = self._new(op, args, name)
        self._key.setdefault(self._keyof(op, args), t)
        return t

    @staticmethod
    def _keyof(op, args):
        return op, tuple([a.index if isinstance(a, Term) else literal_key(a) for a in args])

    def make(self, op: str, args: tuple):
        """The node ``op(*args)``, folded or shared where possible; a number when folded to one."""
        if op in _FOLDABLE:
            folded = self._fold(op, args)
            if folded is not _NOFOLD:
                return folded
        if not any(type(a) is Term for a in args) and op in OPS:
            with np.errstate(all="ignore"):
                v = float(OPS[op].apply(NUM, *map(np.float64, args)))
            if math.isfinite(v):                    # the executor's own value, bit for bit
                return v
        key = (op, tuple([a.index if type(a) is Term else literal_key(a) for a in args]))
        t = self._key.get(key)
        if t is None:
            t = self._key[key] = Term(self, op, args, None, len(self.all))
            self.all.append(t)
        return t

    def _fold(self, op, args):
        if op in _FOLD or op == "neg":
            if all(map(_lit, args)):
                return -args[0] if op == "neg" else _FOLD[op](*args)
            if op == "neg":
                a = args[0]
                return a.args[0] if a.op == "neg" else _NOFOLD
            a, b = args
            if op == "mul":
                if _is(a, 0) or _is(b, 0):
                    return 0
                if _is(a, 1) or _is(b, 1):
                    return b if _is(a, 1) else a
                if _is(a, -1) or _is(b, -1):
                    return self.make("neg", (b if _is(a, -1) else a,))
            elif _is(b, 0):
                return a
            elif _is(a, 0):
                return b if op == "add" else self.make("neg", (b,))
        elif op == "div" and _is(args[1], 1):
            return args[0]
        elif op == "pow" and (_is(args[1], 1) or _is(args[1], 0)):
            return args[0] if _is(args[1], 1) else 1
        elif op == "ifpos":
            c, a, b = args
            if _lit(c):
                return a if c > 0 else b
            if a is b or (_lit(a) and _lit(b) and literal_key(a) == literal_key(b)):
                return a
        elif op == "identity":
            return args[0]
        return _NOFOLD


_NOFOLD = object()
_FOLDABLE = frozenset({"add", "sub", "mul", "neg", "div", "pow", "ifpos", "identity"})


class GraphBackend:
    """The backend namespace whose functions build graph nodes: ``m.exp(a)`` is
    the node ``exp(a)``, for every op of the table by name, and the backends'
    shared helpers are written with ops: ``m.where(a > 0, p, q)`` is
    ``ifpos(a, p, q)``, ``m.step`` and ``m.heaviside`` are ``step``, ``m.dpow``
    (pow's d/da) is ``k * a**(k - 1)`` (masked where k == 0 when k is a node),
    ``m.dpow_k`` (pow's d/dk) is ``y * log(a)`` (masked where a == 0 and k >= 0)."""

    def __init__(self, terms: Terms) -> None:
        self._t = terms

    def __getattr__(self, name: str):
        if name.startswith("_"):
            raise AttributeError(name)
        make = self._t.make

        def build(*args):
            return make(name, args)
        build.__name__ = name
        setattr(self, name, build)                # found in the instance next time
        return build

    def where(self, cond, a, b):
        if isinstance(cond, _Positive):
            c = cond.a if _is(cond.c, 0) else cond.a - cond.c
            return self._t.make("ifpos", (c, a, b))
        if isinstance(cond, bool):
            return a if cond else b
        raise GraphError(f"gradient_graph: a condition {cond!r:.60} cannot be written as a graph "
                         "node (formulas write conditions as m.where(x > 0, a, b))")

    def ifpos(self, c, a, b):
        return self._t.make("ifpos", (c, a, b))

    def step(self, x):
        return self._t.make("step", (x,))

    heaviside = step

    def div(self, a, b):
        if _lit(a) and _lit(b) and b != 0:
            return a / b
        return self._t.make("div", (a, b))

    def pow(self, a, k):
        return self._t.make("pow", (a, k))

    def dpow(self, a, k):
        """d a**k / da: 0 where k == 0 (the numeric backend's convention)."""
        if _lit(k):
            return 0 if k == 0 else k * self.pow(a, k - 1)
        return self.ifpos(self.abs(k), k * self.pow(a, k - 1), 0)

    def dpow_k(self, out, a, k):
        """d a**k / dk = a**k log a: 0 where a == 0 and k >= 0 (as the numeric backend)."""
        full = out * self.log(a)
        if _lit(a):
            if a != 0:
                return full
            return self.ifpos(-k, full, 0) if not _lit(k) else (0 if k >= 0 else full)
        otherwise = (0 if k >= 0 else full) if _lit(k) else self.ifpos(-k, full, 0)
        return self.ifpos(self.abs(a), full, otherwise)


# -- the interpretation -----------------------------------------------------------------------
class _Nodes(Interpretation):
    """Partials, products and sums as graph nodes (the default ``*`` and ``+``
    of :class:`Term` build and fold them); a zero partial drops its edge."""

    def __init__(self, terms: Terms, value):
        self.m, self.value = terms.m, value

    def partials(self, name, op, args):
        vals = [self.value[a] if is_node(a) else a for a in args]
        local = op.partials(self.m, self.value[name], *vals)
        return [None if _is(d, 0) else d for d in local]


def _fresh(name: str, taken: set) -> str:
    out, k = name, 2
    while out in taken:
        out, k = f"{name}_{k}", k + 1
    taken.add(out)
    return out


def graph_of(inputs: Sequence[str], taken: Iterable[str], terms: Terms,
             outputs: Sequence[tuple[str, object]]) -> Graph:
    """The Graph with ``inputs`` (leaves of ``terms``) computing ``outputs``
    (``(name, Term or number)`` pairs; a number becomes ``identity(number)``):
    only the nodes the outputs need, in the order they were made (the forward
    nodes first, then the sweep's), named nodes under their names and new nodes
    auto-named around ``taken``.  Two passes over the terms, no recursion."""
    needed = bytearray(len(terms.all))
    for _, root in outputs:
        if isinstance(root, Term):
            needed[root.index] = 1
    for t in reversed(terms.all):                 # a term's arguments were made before it
        if needed[t.index]:
            for a in t.args:
                if type(a) is Term:
                    needed[a.index] = 1
    asm = Assembler()
    ref: list = [None] * len(terms.all)
    for x in inputs:
        ref[terms.inputs[x].index] = asm.input(x)
    node = asm.node
    for t in terms.all:
        if not needed[t.index] or ref[t.index] is not None:
            continue
        if t.op not in OPS:
            raise GraphError(f"gradient_graph: a derivative needs {t.op!r}, which is not an op of the "
                             "table (register it, or write the partial with ops of the table)")
        ref[t.index] = node(t.op, tuple([ref[a.index] if type(a) is Term else a for a in t.args]),
                            name=t.name)
    outs = [asm.name(ref[root.index], name) if isinstance(root, Term)
            else asm.node("identity", (root,), name=name) for name, root in outputs]
    return asm.graph(outs, taken=taken)


def _lift(graph: Graph) -> tuple[Terms, dict]:
    """Every node of ``graph`` as a Term: its inputs as leaves, its rows under their names."""
    terms = Terms()
    value = {x: terms.leaf(x) for x in graph.inputs}
    for name, op, args in graph.program:
        value[name] = terms.named(name, op.name, tuple(value[a] if is_node(a) else a for a in args))
    return terms, value


def derivative_graph(graph: Graph, outputs=None, wrt=None) -> Graph:
    """The derivatives of several outputs in one graph (hash-consed across them):
    an output ``d{o}_d{w}`` for each of ``outputs`` (default: the graph's) and each
    input ``w`` of ``wrt`` (default: all), outputs in that order (o-major).  With
    ``graph`` a gradient graph this is the Hessian as a graph."""
    if not isinstance(graph, Graph):
        raise GraphError(f"gradient_graph() needs a symgrad Graph, got {type(graph).__name__}")
    outs = graph.outputs if outputs is None else ((outputs,) if isinstance(outputs, str) else tuple(outputs))
    for o in outs:
        graph.default_output(o)                       # raises on an unknown node
    names = wrt_inputs(graph, wrt)
    taken = set(graph.nodes)
    pairs = []
    with no_gc():
        terms, value = _lift(graph)
        for o in outs:
            adj = sweep(graph.program, o, _Nodes(terms, value), 1) if graph.op(o) is not None \
                else {o: 1}
            for w in names:
                pairs.append((_fresh(f"d{o}_d{w}", taken), adj.get(w, 0)))
        return graph_of(graph.inputs, graph.nodes, terms, pairs)


def gradient_graph(graph: Graph, wrt=None, output: str | None = None) -> Graph:
    """The reverse pass of ``graph`` written as a graph.

    It has ``graph``'s inputs and one output per input of ``wrt``, named
    ``d{output}_d{input}`` (``df_dx``; suffixed ``_2``, ``_3``, ... when the name
    is taken); evaluating it gives ``graph.grad`` (the same operations, so the
    same numbers up to the sign of a zero, and where a folded ``x*0`` meets an
    infinite ``x``).  Its nodes are ``graph``'s nodes the derivative needs (under
    their names) and the adjoints' products and sums (auto-named), hash-consed:
    at most a few times ``graph``'s size.  It holds only ops of the table, so
    ``gradient_graph`` applies to it again (second derivatives).

    Parameters
    ----------
    graph
        The computational graph.
    wrt
        An input name or a sequence of them (default: every input).
    output
        The node to differentiate (default: the only output).

    Returns
    -------
    Graph

    Raises
    ------
    GraphError
        ``wrt`` names something that is not an input, ``output`` is unknown.

    Examples
    --------
    >>> import symgrad as sg
    >>> dg = sg.parse("x * sin(y)").gradient_graph()
    >>> [(n, dg.op(n), dg.args(n)) for n in dg.nodes if not dg.is_input(n)]
    [('a', 'sin', ('y',)), ('c', 'cos', ('y',)), ('db_dy', 'mul', ('x', 'c')), ('db_dx', 'identity', ('a',))]
    """
    out = graph.default_output(output) if isinstance(graph, Graph) else output
    return derivative_graph(graph, [out], wrt)


def tangent_graph(graph: Graph, directions: dict | None = None, outputs=None) -> Graph:
    """Forward mode written as a graph: the tangents of ``outputs`` (default: the
    graph's) along ``directions`` (``{input: direction input name}``; default
    ``{x: "dot_x"}`` for each input ``x``), as outputs ``t{output}``, with
    ``graph``'s inputs and then the direction inputs.  Evaluating it gives the
    jvp (of a gradient graph: a Hessian-vector product).  Built by
    :func:`symgrad.core.tangent.tangent_sweep` with the node-building
    interpretation of :func:`gradient_graph`."""
    outs = graph.outputs if outputs is None else ((outputs,) if isinstance(outputs, str) else tuple(outputs))
    outs = tuple(graph.default_output(o) for o in outs)
    directions = {x: f"dot_{x}" for x in graph.inputs} if directions is None else dict(directions)
    wrt_inputs(graph, list(directions))
    with no_gc():
        terms, value = _lift(graph)
        seeds = {}
        for x, name in directions.items():
            if not isinstance(name, str) or name in graph.nodes or name in terms.inputs:
                raise GraphError(f"direction input {name!r} for {x!r} is taken: pick another name")
            seeds[x] = terms.leaf(name)
        tan = tangent_sweep(graph.program, seeds, _Nodes(terms, value))
        taken = set(graph.nodes) | set(directions.values())
        pairs = [(_fresh(f"t{o}", taken), tan.get(o, 0)) for o in outs]
        return graph_of(graph.inputs + tuple(directions.values()), taken, terms, pairs)
