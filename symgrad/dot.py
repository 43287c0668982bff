"""Pictures of the computational graph with Graphviz, as in the lecture.

Each operation is a blue circle showing the op; each value (input or result) is
an orange box with the node's name and, when a point is given, its forward
value and its adjoint.  Edges run left to right, from arguments through the
operation to its result.  MLP graphs (node names ``x1``, ``w1_0_1``, ``a1_1``,
``h1_1``, ``yhat1``, ``y1``, ``loss``) are laid out in layers.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Mapping

from .errors import InputError, SymgradError
from .graph import Graph, is_node
from .printer import format_number

__all__ = ["draw", "dot_source"]

OPERATION = {"shape": "circle", "style": "filled", "fillcolor": "#9ecae1", "color": "#3182bd",
             "fontname": "Helvetica", "width": "0.5", "fixedsize": "false"}
VALUE = {"shape": "box", "style": "rounded,filled", "fillcolor": "#fdd0a2", "color": "#e6550d",
         "fontname": "Helvetica"}
LITERAL = {"shape": "plaintext", "fontname": "Helvetica", "fontcolor": "#636363"}
FORMATS = ("svg", "png", "pdf", "dot")

_SYMBOLS = {"*": "×", "-": "−", "/": "÷", "**": "^"}
_MLP_GROUPS = [(re.compile(p), key) for p, key in [
    (r"^x\d+$", lambda m: (0, "x")), (r"^w(\d+)_\d+_\d+$", lambda m: (2 * int(m[1]) - 1, "w")),
    (r"^a(\d+)_\d+$", lambda m: (2 * int(m[1]), "a")), (r"^h(\d+)_\d+$", lambda m: (2 * int(m[1]) + 1, "h")),
    (r"^yhat\d+$", lambda m: (10**6, "yhat")), (r"^y\d+$", lambda m: (10**6, "y")),
]]


def op_symbol(op) -> str:
    """The short label of an op: its text template without the argument slots
    (``+``, ``×``, ``exp``), else its n-ary separator, else its name."""
    s = re.sub(r"\{\d+\}", "", op.text.template).replace("()", "").replace("(, )", "").strip()
    s = s or op.text.sep.strip() or op.name
    return _SYMBOLS.get(s, s)


def _labels(graph: Graph, values, inputs, digits: int) -> dict:
    """``{node: label}``: name, forward value and adjoint when a point is given."""
    if values is None and not inputs:
        return {n: n for n in graph.nodes}
    fw = graph.forward(values, **inputs)
    if fw.shape is not None:
        raise InputError(f"draw needs scalar inputs, got arrays of shape {fw.shape}; pass one sample")
    bw = graph.backward(values, **inputs) if len(graph.outputs) == 1 else None
    out = graph.outputs[0]
    labels = {}
    for n in graph.nodes:
        lines = [n, f"= {format_number(fw[n], digits)}"]
        if bw is not None:
            lines.append(f"∂{out}/∂{n} = {format_number(bw[n], digits)}")
        labels[n] = r"\n".join(lines)
    return labels


def _layers(graph: Graph) -> dict:
    """``{(rank, kind): [node, ...]}`` for an MLP graph's value nodes, else {}."""
    groups: dict = {}
    for n in graph.nodes:
        for pattern, key in _MLP_GROUPS:
            m = pattern.match(n)
            if m:
                groups.setdefault(key(m), []).append(n)
                break
    kinds = {k for _, k in groups}
    return groups if {"w", "yhat"} <= kinds else {}


def dot_source(graph: Graph, values: Mapping | None = None, /, *, digits: int = 5, **inputs) -> str:
    """The Graphviz DOT source of the picture :func:`draw` renders."""
    import graphviz

    labels = _labels(graph, values, inputs, digits)
    dot = graphviz.Digraph("symgrad", graph_attr={"rankdir": "LR", "nodesep": "0.25",
                                                  "ranksep": "0.35"},
                           edge_attr={"color": "#525252", "arrowsize": "0.7"})
    for n in graph.inputs:
        dot.node(f"v_{n}", labels[n], **VALUE)
    for name, op, args in graph.program:
        dot.node(f"op_{name}", op_symbol(op), **OPERATION)
        for i, a in enumerate(args):
            if is_node(a):
                dot.edge(f"v_{a}", f"op_{name}")
            else:
                dot.node(f"lit_{name}_{i}", format_number(a, digits), **LITERAL)
                dot.edge(f"lit_{name}_{i}", f"op_{name}", style="dashed")
        dot.node(f"v_{name}", labels[name], **VALUE)
        dot.edge(f"op_{name}", f"v_{name}")
    for (_, kind), nodes in sorted(_layers(graph).items()):
        with dot.subgraph() as s:
            s.attr(rank="same")
            for n in nodes:
                s.node(f"v_{n}")
    return dot.source


MAX_LAYOUT_NODES = 10_000     # dot's layout is superlinear: 3,000 chain nodes take ~2 s, 10,000 ~25 s


def draw(graph: Graph, values: Mapping | None = None, /, *, path=None, format: str = "svg",
         max_nodes: int = MAX_LAYOUT_NODES, **inputs) -> str:
    """Draw the computational graph with Graphviz.

    Parameters
    ----------
    graph
        The computational graph.
    values, **inputs
        Optionally a point (scalars): each value node then shows its forward
        value and its adjoint d(output)/d(node).
    path
        If given, write the picture there (rendered by Graphviz's ``dot``).
    format
        ``"svg"``, ``"png"``, ``"pdf"`` or ``"dot"`` (the source itself).
    max_nodes
        Refuse to lay out (render) graphs with more nodes than this: Graphviz's
        layout time grows faster than linearly.  The DOT source has no limit.

    Returns
    -------
    str
        The DOT source.

    Raises
    ------
    SymgradError
        If ``path`` is given and Graphviz's ``dot`` program is not installed, or
        the graph has more than ``max_nodes`` nodes.
    InputError
        On an unknown format, a ``max_nodes`` that is not a positive int, or missing,
        unknown or non-scalar inputs.
    TypeError
        If ``graph`` is not a :class:`Graph`.

    Examples
    --------
    >>> import symgrad as sg
    >>> g = sg.parse("sqrt(x**2 + exp(x**2)) + cos(x**2 + exp(x**2))")
    >>> src = sg.draw(g, x=2.0)
    >>> "rankdir=LR" in src and "58.598" in src
    True
    """
    if not isinstance(graph, Graph):
        raise TypeError(f"draw() needs a symgrad Graph such as sg.parse('x**2'), "
                        f"got {type(graph).__name__}")
    if format not in FORMATS:
        raise InputError(f"unknown picture format {format!r}; use one of {', '.join(FORMATS)}")
    if not isinstance(max_nodes, int) or isinstance(max_nodes, bool) or max_nodes < 1:
        raise InputError(f"max_nodes must be a positive int, got {max_nodes!r}")
    if path is not None and format != "dot" and len(graph.nodes) > max_nodes:
        raise SymgradError(f"the graph has {len(graph.nodes):,} nodes, more than Graphviz can lay "
                           f"out in reasonable time (max_nodes={max_nodes:,}); use format='dot' "
                           "for the source, or raise max_nodes")
    source = dot_source(graph, values, **inputs)
    if path is None:
        return source
    if format == "dot":
        data = source.encode("utf-8")
    else:
        if shutil.which("dot") is None:
            raise SymgradError("Graphviz's 'dot' program was not found on PATH; install Graphviz "
                               "(e.g. apt-get install graphviz) or use format='dot' for the source")
        import graphviz
        data = graphviz.Source(source).pipe(format=format)
    with open(os.fspath(path), "wb") as f:
        f.write(data)
    return source
