"""Pictures of the computational graph with Graphviz, as in the lecture.

Each operation is a blue circle showing the op; each value (input or result) is
an orange box with the node's name and, when a point is given, its forward
value and its adjoint.  Edges run left to right, from arguments through the
operation to its result.  An MLP's graph (:func:`symgrad.show.lecture.lecture`)
is laid out in layers; a Net is drawn as the lecture draws it
(:func:`lecture_source`: neurons, weights on the edges).
"""

from __future__ import annotations

import html
import os
import re
import shutil
import subprocess
from collections.abc import Mapping

from ..errors import InputError, SymgradError
from .escape import dot_label, dot_string, warn_confusables
from ..core.graph import Graph, is_node
from ..core.ops import OPS
from ..nn.mlp import Net
from .lecture import Lecture, lecture
from .printer import format_number

__all__ = ["draw", "dot_source", "lecture_source", "layout_seconds", "render", "svg", "svg_text", "notebook_html",
           "NOTEBOOK_SECONDS", "MAX_NOTEBOOK_WEIGHTS"]

OPERATION = {"shape": "circle", "style": "filled", "fillcolor": "#9ecae1", "color": "#3182bd",
             "fontname": "Helvetica", "width": "0.5", "fixedsize": "false"}
VALUE = {"shape": "box", "style": "rounded,filled", "fillcolor": "#fdd0a2", "color": "#e6550d",
         "fontname": "Helvetica"}
LITERAL = {"shape": "plaintext", "fontname": "Helvetica", "fontcolor": "#636363"}
FORMATS = ("svg", "png", "pdf", "dot")

_SYMBOLS = {"*": "×", "-": "−", "/": "÷", "**": "^"}
NEURON = {"shape": "circle", "style": "filled", "fillcolor": "#c7e9c0", "color": "#31a354",
          "fontname": "Helvetica", "fixedsize": "false"}
BIAS = {"shape": "circle", "style": "dashed", "color": "#636363", "fontname": "Helvetica",
        "fontcolor": "#636363"}
VIEWS = ("auto", "lecture", "full")


def op_symbol(op) -> str:
    """The short label of an op: its text template without the argument slots
    (``+``, ``×``, ``exp``), else its n-ary separator, else its name; a
    ``linear`` op (a weighted sum) is ``Σ ×``, a sum of products."""
    if op.linear:
        return "Σ " + op_symbol(OPS["mul"])
    s = re.sub(r"\{\d+\}", "", op.text.template).replace("()", "").replace("(, )", "").strip()
    s = s or op.text.sep.strip() or op.name
    return _SYMBOLS.get(s, s)


def _labels(graph: Graph, values, inputs, digits: int) -> dict:
    """``{node: [line, ...]}``: name, forward value and adjoint when a point is given."""
    if values is None and not inputs:
        return {n: [n] for n in graph.nodes}
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
        labels[n] = lines
    return labels


def _layers(found: Lecture | None) -> list:
    """The value nodes of the full picture of an MLP, rank by rank: the inputs,
    then per layer its weights, its sums and its outputs, then the targets."""
    if found is None:
        return []
    ranks = [list(found.inputs)]
    for layer in found.layers:
        ranks.append([w for ws in layer.weights for w in ws])
        ranks.append(list(layer.sums))
        if layer.outs != layer.sums:
            ranks.append(list(layer.outs))
    ranks.append(list(found.targets))
    return ranks


def _attrs(attrs: dict) -> str:
    return " ".join(f"{k}={dot_string(str(v))}" for k, v in attrs.items())


def dot_source(graph: Graph, values: Mapping | None = None, /, *, digits: int = 5, **inputs) -> str:
    """The Graphviz DOT source of the picture :func:`draw` renders.

    Nodes are identified by their position (``v3``, ``op3``), never by their
    names; every label is a quoted string escaped by :func:`symgrad.show.escape.dot_string`,
    so a name cannot add DOT attributes, HTML-like labels or links.
    """
    labels = _labels(graph, values, inputs, digits)
    ids = {n: f"v{i}" for i, n in enumerate(graph.nodes)}
    out = ["digraph symgrad {", '\tgraph [nodesep="0.25" rankdir=LR ranksep="0.35"]',
           '\tedge [arrowsize="0.7" color="#525252"]']
    node = lambda nid, label, attrs: out.append(f"\t{nid} [label={label} {_attrs(attrs)}]")
    for n in graph.inputs:
        node(ids[n], dot_label(labels[n]), VALUE)
    for name, op, args in graph.program:
        o = "o" + ids[name][1:]
        node(o, dot_string(op_symbol(op)), OPERATION)
        for i, a in enumerate(args):
            if is_node(a):
                out.append(f"\t{ids[a]} -> {o}")
            else:
                node(f"l{o[1:]}_{i}", dot_string(format_number(a, digits)), LITERAL)
                out.append(f'\tl{o[1:]}_{i} -> {o} [style=dashed]')
        node(ids[name], dot_label(labels[name]), VALUE)
        out.append(f"\t{o} -> {ids[name]}")
    for nodes in _layers(lecture(graph)):
        out.append("\t{ rank=same; " + " ".join(ids[n] + ";" for n in nodes) + " }")
    return "\n".join(out) + "\n}\n"


def lecture_source(graph: Graph, found: Lecture, values: Mapping | None = None, /, *,
                   digits: int = 5, **inputs) -> str:
    """The DOT source of the lecture's simplified picture of an MLP.

    Neurons in layers from left to right: the inputs ``x``, each hidden neuron
    ``h{l}_{j}`` with its activation inside, the predictions ``yhat{j}`` (with
    the output activation), their targets ``y{j}`` and the loss.  Each weight
    ``w{l}_{i}_{j}`` labels its edge from neuron i of layer l-1 to neuron j of
    layer l; the bias weights ``w{l}_0_{j}`` leave a dashed ``1`` node per
    layer, the dummy feature ``h{l-1}_0 = 1``.  At a point every neuron also
    shows its value and its adjoint, every edge its weight's value.
    """
    labels = _labels(graph, values, inputs, digits)
    at = values is not None or bool(inputs)
    ids = {n: f"v{i}" for i, n in enumerate(graph.nodes)}
    acts = found.activations()
    neuron = {**NEURON, "shape": "ellipse"} if at else NEURON
    ranks: list[list[str]] = [[]]        # node statements, rank by rank, top to bottom
    edges = []

    def node(nid, lines, attrs):
        ranks[-1].append(f"\t{nid} [label={dot_label(lines)} {_attrs(attrs)}]")

    for layer in found.layers:
        bias = f"b{layer.index - 1}"
        node(bias, ["1"], BIAS)
        for x in (found.inputs if layer.index == 1 else ()):
            node(ids[x], labels[x], VALUE)
        ranks.append([])
        for o, ws in zip(layer.outs, layer.weights, strict=True):
            node(ids[o], [labels[o][0], acts[o], *labels[o][1:]], neuron)
            for w, f in zip(ws, (bias, *[ids[h] for h in layer.feeds]), strict=True):
                text = f"{w} {labels[w][1]}" if at else w
                style = ' style="dashed"' if f == bias else ""
                edges.append(f"\t{f} -> {ids[o]} [headlabel={dot_string(text)}{style}]")
    for t in found.targets:
        node(ids[t], labels[t], VALUE)
    ranks.append([])
    loss = found.loss
    node(ids[loss], [labels[loss][0], op_symbol(OPS[found.loss_op]), *labels[loss][1:2]], VALUE)
    for p, t in zip(found.predictions, found.targets, strict=True):
        edges += [f"\t{ids[p]} -> {ids[loss]}", f'\t{ids[t]} -> {ids[loss]} [style="dashed"]']
    out = ["digraph symgrad {",
           '\tgraph [nodesep="0.3" rankdir=LR ranksep="1.6" splines=line ordering=out]',
           '\tedge [arrowsize="0.6" color="#525252" fontname="Helvetica" fontsize="10" '
           'labelfontsize="9" labeldistance="3.5" labelangle="12"]']
    for rank in ranks:
        out += rank
    out += edges
    for rank in ranks:
        out.append("\t{ rank=same; " + " ".join(st.split()[0] + ";" for st in rank) + " }")
    return "\n".join(out) + "\n}\n"


MAX_LAYOUT_NODES = 10_000     # dot's layout is superlinear: 3,000 chain nodes take ~2 s, 10,000 ~25 s
LAYOUT_TIMEOUT = 20.0         # seconds dot may run; also the largest estimated layout time accepted
_SUFFIXES = {"svg": "svg", "png": "png", "pdf": "pdf", "dot": "dot", "gv": "dot"}


def layout_seconds(graph: Graph) -> float:
    """An estimate of the seconds Graphviz's ``dot`` needs to lay out the picture.

    ``dot`` ranks the picture's nodes (value boxes and operation circles), puts
    a virtual node on every rank an edge crosses, then reorders each rank to
    reduce crossings, at a cost that grows with the square of a rank's width.
    The estimate ranks nodes by longest path, counts each rank's real and
    virtual nodes ``w`` and is ``nodes / 2300 + sum(w**2) / 135000`` seconds,
    fitted to dot 2.x on this project's machines (a 3,000-node chain: 2.6 s;
    a 250-line program of random sums and products: 10 s).
    """
    rank = dict.fromkeys(graph.inputs, 0)
    count = len(graph.nodes) + len(graph.program)
    for name, _, args in graph.program:
        rank[name] = 2 + max((rank[a] for a in args if is_node(a)), default=0)
    top = max(rank.values(), default=0)
    width, starts = [0] * (top + 2), [0] * (top + 3)
    for n in graph.nodes:
        width[rank[n]] += 1
    for name, _, args in graph.program:
        width[rank[name] - 1] += 1 + sum(1 for a in args if not is_node(a))
        for a in args:
            if is_node(a) and rank[name] - 1 - rank[a] > 1:      # virtual nodes in between
                starts[rank[a] + 1] += 1
                starts[rank[name] - 1] -= 1
    crossing, squares = 0, 0
    for r in range(top + 1):
        crossing += starts[r]
        squares += (width[r] + crossing) ** 2
    return count / 2300 + squares / 135_000


def draw(graph: Graph, values: Mapping | None = None, /, *, path=None, format: str = "auto",
         max_nodes: int = MAX_LAYOUT_NODES, timeout: float = LAYOUT_TIMEOUT, view: str = "auto",
         **inputs) -> str:
    """Draw the computational graph with Graphviz.

    Parameters
    ----------
    graph
        The computational graph, or a :class:`~symgrad.nn.mlp.Net` (its graph).
    view
        ``"lecture"``: an MLP as the lecture draws it (:func:`lecture_source`:
        neurons in layers with their activation inside, weights on the edges,
        a dashed ``1`` node per layer for the bias); ``"full"``: every node of
        the computational graph, the weights as input nodes feeding each
        neuron's weighted sum (the slide "a neuron as a computational graph");
        ``"auto"`` (default): ``"lecture"`` for a Net, ``"full"`` for a Graph.
    values, **inputs
        Optionally a point (scalars): each value node then shows its forward
        value and its adjoint d(output)/d(node).
    path
        If given, write the picture there (rendered by Graphviz's ``dot``).
    format
        ``"svg"``, ``"png"``, ``"pdf"`` or ``"dot"`` (the source itself);
        ``"auto"`` (default) takes it from ``path``'s suffix (``.svg``, ``.png``,
        ``.pdf``, ``.dot``/``.gv``).
    max_nodes
        Refuse to lay out (render) graphs with more nodes than this: Graphviz's
        layout time grows faster than linearly.  The DOT source has no limit.
    timeout
        Seconds ``dot`` may run.  A picture whose estimated layout time
        (:func:`layout_seconds`) exceeds it is refused before ``dot`` starts.

    Returns
    -------
    str
        The DOT source.

    Raises
    ------
    SymgradError
        If ``path`` is given and Graphviz's ``dot`` program is not installed, the
        graph has more than ``max_nodes`` nodes, its layout is estimated to take
        longer than ``timeout``, or ``dot`` fails or runs out of time.
    InputError
        On an unknown view, ``view="lecture"`` for a graph that is not an MLP's,
        an unknown format or path suffix, a ``max_nodes`` that is not a
        positive int, a ``timeout`` that is not a positive number, or missing,
        unknown or non-scalar inputs.
    TypeError
        If ``graph`` is not a :class:`Graph` or a Net.

    Warns
    -----
    ConfusableNamesWarning
        If two distinct node names print the same (Cyrillic ``х`` and Latin ``x``).

    Examples
    --------
    >>> import symgrad as sg
    >>> g = sg.parse("sqrt(x**2 + exp(x**2)) + cos(x**2 + exp(x**2))")
    >>> src = sg.draw(g, x=2.0)
    >>> "rankdir=LR" in src and "58.598" in src
    True
    >>> src = sg.draw(sg.mlp([2, 2, 1], seed=0))       # the lecture's picture
    >>> "w1_2_1" in src and "tanh" in src
    True
    """
    net = isinstance(graph, Net)
    graph = graph.graph if net else graph
    if not isinstance(graph, Graph):
        raise TypeError(f"draw() needs a symgrad Graph such as sg.parse('x**2') or a Net "
                        f"such as sg.mlp([2, 2, 1]), got {type(graph).__name__}")
    if view not in VIEWS:
        raise InputError(f"unknown view {view!r}; use one of {', '.join(map(repr, VIEWS))}")
    found = lecture(graph) if view == "lecture" or (view == "auto" and net) else None
    if view == "lecture" and found is None:
        raise InputError("view='lecture' draws an MLP (a graph made by sg.mlp, with its loss); "
                         "this graph is not one: use view='full'")
    if format != "auto" and format not in FORMATS:
        raise InputError(f"unknown picture format {format!r}; use one of {', '.join(FORMATS)} "
                         "or 'auto' (from the path's suffix)")
    if not isinstance(max_nodes, int) or isinstance(max_nodes, bool) or max_nodes < 1:
        raise InputError(f"max_nodes must be a positive int, got {max_nodes!r}")
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not timeout > 0:
        raise InputError(f"timeout must be a positive number of seconds, got {timeout!r}")
    fmt = _format(format, path)
    warn_confusables(graph.nodes, "draw")
    if path is not None and fmt != "dot":
        _check_layout(graph, max_nodes, timeout)
    if found is not None:
        source = lecture_source(graph, found, values, **inputs)
    else:
        source = dot_source(graph, values, **inputs)
    if path is None:
        return source
    data = source.encode("utf-8") if fmt == "dot" else render(source, fmt, timeout)
    with open(os.fspath(path), "wb") as f:
        f.write(data)
    return source


def _format(format: str, path) -> str:
    """The picture format: ``format``, or for ``"auto"`` the path's suffix (svg without a path)."""
    if format != "auto":
        return format
    if path is None:
        return "svg"
    suffix = os.path.splitext(os.fspath(path))[1].lstrip(".").lower()
    if suffix not in _SUFFIXES:
        raise InputError(f"cannot tell the picture format from the path {os.fspath(path)!r}; "
                         "use a .svg, .png, .pdf or .dot file, or format=")
    return _SUFFIXES[suffix]


def _check_layout(graph: Graph, max_nodes: int, timeout: float) -> None:
    if len(graph.nodes) > max_nodes:
        raise SymgradError(f"the graph has {len(graph.nodes):,} nodes, more than Graphviz can lay "
                           f"out in reasonable time (max_nodes={max_nodes:,}); use format='dot' "
                           "for the source, or raise max_nodes")
    est = layout_seconds(graph)
    if est > timeout:
        raise SymgradError(f"Graphviz would need about {est:,.0f} s to lay out this graph "
                           f"({len(graph.nodes):,} nodes, many long or crossing edges), more than "
                           f"timeout={timeout:g} s; draw a smaller part, use format='dot' for "
                           "the source, or raise timeout")


def render(source: str, fmt: str, timeout: float = LAYOUT_TIMEOUT) -> bytes:
    """``source`` rendered by Graphviz's ``dot`` as ``fmt`` bytes, within ``timeout`` seconds."""
    exe = shutil.which("dot")
    if exe is None:
        raise SymgradError("Graphviz's 'dot' program was not found on PATH; install Graphviz "
                           "(e.g. apt-get install graphviz) or use format='dot' for the source")
    try:
        run = subprocess.run([exe, f"-T{fmt}"], input=source.encode("utf-8"),
                             capture_output=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise SymgradError(f"Graphviz's dot did not finish laying out the graph within "
                           f"timeout={timeout:g} s; draw a smaller part or raise timeout") from None
    if run.returncode != 0:
        err = run.stderr.decode("utf-8", "replace").strip().splitlines()
        raise SymgradError(f"Graphviz's dot failed: {err[0] if err else 'no message'}")
    return run.stdout


NOTEBOOK_SECONDS = 2.0        # estimated layout time above which a notebook shows text, not a picture
MAX_NOTEBOOK_WEIGHTS = 400    # a Net's lecture picture: one edge per weight; more is a hairball


def _fits(obj, max_seconds: float) -> bool:
    """Whether ``obj``'s picture is small enough to lay out for a notebook: a Net
    by its weights (the lecture view draws one edge each), a Graph by
    :func:`layout_seconds`."""
    if isinstance(obj, Net):
        return len(obj.weight_names) <= MAX_NOTEBOOK_WEIGHTS
    return layout_seconds(obj) <= max_seconds


def svg(obj, *, max_seconds: float = NOTEBOOK_SECONDS) -> str | None:
    """The picture of a Graph (every node, names only) or of a Net (the lecture's
    view) as SVG text without the XML prolog and DOCTYPE, ready to inline in
    HTML; None when its layout would take Graphviz longer than ``max_seconds``
    (:func:`layout_seconds`; a Net: more than :data:`MAX_NOTEBOOK_WEIGHTS`
    weights) or Graphviz's ``dot`` is not installed.  Names are escaped:
    Graphviz writes every label as XML text.

    >>> import symgrad as sg
    >>> pic = svg(sg.parse("x*y + sin(x)"))
    >>> pic is None or (pic.startswith("<svg") and ">sin<" in pic)
    True
    """
    if not isinstance(obj, (Graph, Net)):
        raise TypeError(f"svg() draws a symgrad Graph or Net, got {type(obj).__name__}")
    if shutil.which("dot") is None or not _fits(obj, max_seconds):
        return None
    return svg_text(draw(obj), timeout=max(4 * max_seconds, 5.0))


def svg_text(source: str, timeout: float = LAYOUT_TIMEOUT) -> str:
    """DOT ``source`` rendered as SVG text to inline in HTML: without the XML
    prolog and DOCTYPE that Graphviz writes first."""
    text = render(source, "svg", timeout=timeout).decode("utf-8")
    return text[text.index("<svg"):]


def _summary(graph: Graph, limit: int = 8) -> str:
    names = lambda ns: ", ".join(ns[:limit]) + (f", ... ({len(ns):,})" if len(ns) > limit else "")
    return (f"{len(graph.nodes):,} nodes, {len(graph.program):,} operations; "
            f"inputs {names(list(graph.inputs))}; outputs {names(list(graph.outputs))}")


def notebook_html(obj) -> str:
    """A notebook's HTML for a Graph or a Net: its picture (:func:`svg`) with a
    one-line summary (a Net: sizes, activations, loss, weights), or the summary
    alone, with the reason, when the picture is too big to lay out or Graphviz
    is missing.  Every name is HTML-escaped."""
    if isinstance(obj, Net):
        head = (f"MLP {list(obj.sizes)}: activations {', '.join(obj.activations)}; "
                f"loss {obj.loss or 'none'}; {len(obj.weight_names):,} weights")
        why = f"more than {MAX_NOTEBOOK_WEIGHTS} weights to draw in a notebook"
    elif isinstance(obj, Graph):
        head = "Graph: " + _summary(obj)
        why = (f"Graphviz would need about {layout_seconds(obj):,.1f} s to lay it out "
               f"(the notebook draws pictures up to {NOTEBOOK_SECONDS:g} s)")
    else:
        raise TypeError(f"notebook_html() shows a symgrad Graph or Net, got {type(obj).__name__}")
    pic = svg(obj)
    if pic is None:
        if shutil.which("dot") is None:
            why = "Graphviz's dot is not installed"
        return (f"<div class=\"symgrad\"><p>{html.escape(head)}</p>"
                f"<p><em>No picture: {html.escape(why)}; sg.draw(..., path=\"file.svg\") "
                f"or format=\"dot\" for the source.</em></p></div>")
    return f"<div class=\"symgrad\"><p>{html.escape(head)}</p>{pic}</div>"
