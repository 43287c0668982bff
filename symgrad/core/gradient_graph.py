"""Derivatives as graphs: the reverse pass (or a forward pass) written as a Graph.

:func:`gradient_graph` runs the one chain-rule sweep (:func:`symgrad.core.sweep.sweep`)
with an interpretation whose values are graph nodes: each op's partials are
its own formulas (``partials(m, out, *args)``) run on :class:`symgrad.core.terms.GraphBackend`, a
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

from collections.abc import Iterable, Sequence

from ..errors import GraphError
from .graph import Assembler, Graph, is_node, no_gc
from .ops import OPS
from .sweep import Interpretation, sweep
from .tangent import tangent_sweep
from .terms import Term, Terms, is_zero

__all__ = ["gradient_graph", "derivative_graph", "tangent_graph", "wrt_inputs", "graph_of"]


def wrt_inputs(graph: Graph, wrt=None) -> tuple[str, ...]:
    """The inputs to differentiate by: every input (None), one name or a sequence of names.

    Raises GraphError naming what is not an input."""
    if wrt is None:
        return graph.inputs
    names = (wrt,) if isinstance(wrt, str) else wrt
    if not isinstance(names, Iterable) or isinstance(names, (bytes, dict)):
        raise GraphError(f"wrt= takes an input name or a list of them, got {wrt!r:.80}")
    names = tuple(names)
    inputs = set(graph.inputs)
    bad = [w for w in names if not isinstance(w, str) or w not in inputs]
    if bad or not names:
        shown = ", ".join(map(repr, bad)) if bad else "nothing"
        raise GraphError(f"cannot differentiate with respect to {shown}: not an input; "
                         f"the inputs are {', '.join(graph.inputs)}")
    if len(set(names)) != len(names):
        raise GraphError(f"wrt= names an input twice: {names!r}")
    return names


# -- the interpretation -----------------------------------------------------------------------
class _Nodes(Interpretation):
    """Partials, products and sums as graph nodes (the default ``*`` and ``+``
    of :class:`Term` build and fold them); a zero partial drops its edge."""

    def __init__(self, terms: Terms, value):
        self.m, self.value = terms.m, value

    def partials(self, name, op, args):
        vals = [self.value[a] if is_node(a) else a for a in args]
        local = op.partials(self.m, self.value[name], *vals)
        return [None if is_zero(d) else d for d in local]


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
