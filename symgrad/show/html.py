"""A derivation as one self-contained, interactive HTML page.

:func:`derivation_page` (``d.html()``) writes ONE file that works offline: the
graph as inline SVG laid out by Graphviz (the picture of :func:`symgrad.draw`,
with values and adjoints), the steps as text, inline CSS and a little plain
JavaScript; no network, no CDN (a Content-Security-Policy forbids every
external load).  Buttons and the arrow keys step through the forward pass, then
the backward pass: each step reveals its line and the number on its node.
Clicking a node shows its forward line and its chain-rule line (the sum over
its consumers), and marks the consumers.  A check panel compares reverse mode,
the symbolic derivative and finite differences (:func:`symgrad.check`).
Without JavaScript the page shows every step and every number.

Every name and number is HTML-escaped where it is written (names are user
data); the page's data travels as JSON inside a ``<script
type="application/json">`` element, with ``<`` escaped so that no name can close
the element.
"""

from __future__ import annotations

import html
import json
import re

from .dot import dot_source, layout_seconds, svg_text
from .text import TextPrinter

__all__ = ["derivation_page", "page", "inline_svg", "MAX_PICTURE_SECONDS"]

MAX_PICTURE_SECONDS = 4.0      # estimated Graphviz layout time above which the page has no picture

_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Helvetica,Arial,sans-serif;margin:1.5em;color:#222}
h1{font-size:1.3em;margin:0 0 .6em}
h2{font-size:1.05em;margin:.2em 0 .4em}
#controls{margin:.5em 0;display:flex;gap:.4em;align-items:center;flex-wrap:wrap}
button{font:inherit;padding:.25em .8em;border:1px solid #3182bd;background:#eef5fb;border-radius:4px;cursor:pointer}
button:disabled{opacity:.45;cursor:default}
#status{margin-left:.6em;color:#555}
#picture{overflow:auto;border:1px solid #ddd;border-radius:4px;padding:.3em;margin-bottom:.6em}
#picture svg{min-width:40em;height:auto}
#picture g.node{cursor:pointer}
#picture g.node.selected path,#picture g.node.selected ellipse{stroke:#d62728;stroke-width:3px}
#picture g.node.consumer path,#picture g.node.consumer ellipse{stroke:#2ca02c;stroke-width:3px}
#picture g.node.current path,#picture g.node.current ellipse{stroke:#9467bd;stroke-width:3px}
.js #picture text.hidden{visibility:hidden}
#panel{max-width:60em;border:1px solid #ddd;border-radius:4px;padding:.5em .8em;background:#fafafa}
#panel p{margin:.3em 0}
code,pre{font-family:ui-monospace,"DejaVu Sans Mono",Menlo,Consolas,monospace;font-size:.92em}
ol#steps{padding-left:2.2em}
ol#steps li{margin:.15em 0}
ol#steps li.current{background:#f3e9fb}
.js ol#steps li.future{display:none}
li.backward code{color:#8c2d04}
#nopicture{color:#8c2d04}
table{border-collapse:collapse}
"""

_JS = r"""
(function () {
  "use strict";
  document.documentElement.classList.add("js");
  var D = JSON.parse(document.getElementById("symgrad-data").textContent);
  var steps = Array.prototype.slice.call(document.querySelectorAll("#steps li"));
  var boxes = {}, ops = {};
  var shown = 0;
  Array.prototype.forEach.call(document.querySelectorAll("#picture g.node"), function (g) {
    var title = g.querySelector("title"); if (!title) return;
    var id = title.textContent, name = D.nodes[parseInt(id.slice(1), 10)];
    if (name === undefined) return;
    if (id.charAt(0) === "v") boxes[name] = g; else if (id.charAt(0) === "o") ops[name] = g;
    if (id.charAt(0) === "v" || id.charAt(0) === "o") {
      g.setAttribute(id.charAt(0) === "v" ? "data-node" : "data-op", name);
      g.addEventListener("click", function () { select(name); });
    }
  });
  function texts(name) {
    var g = boxes[name]; return g ? g.querySelectorAll("text") : [];
  }
  function render() {
    var known = {}, adjoint = {}, current = steps[shown - 1];
    D.inputs.forEach(function (n) { known[n] = true; });
    steps.forEach(function (li, i) {
      var done = i < shown;
      li.classList.toggle("future", !done);
      li.classList.toggle("current", i === shown - 1);
      if (done && li.getAttribute("data-kind") === "forward") known[li.getAttribute("data-node")] = true;
      if (done && li.getAttribute("data-kind") === D.second) adjoint[li.getAttribute("data-node")] = true;
    });
    D.nodes.forEach(function (n) {
      var t = texts(n);
      if (t.length > 1) t[1].classList.toggle("hidden", !known[n]);
      if (t.length > 2) {
        if (D.labels[n] !== undefined) t[2].textContent = D.labels[n];   // forward mode: the tangent
        t[2].classList.toggle("hidden", !adjoint[n]);
      }
      var g = boxes[n]; if (g) g.classList.remove("current");
    });
    if (current && boxes[current.getAttribute("data-node")])
      boxes[current.getAttribute("data-node")].classList.add("current");
    var nf = D.forward;
    var where = shown === 0 ? "start: the inputs are given" :
      shown <= nf ? "forward pass, step " + shown + " of " + nf :
      (D.second === "tangent" ? "tangent pass, step " : "backward pass, step ") + (shown - nf) +
      " of " + (steps.length - nf);
    document.getElementById("status").textContent = where;
    document.getElementById("prev").disabled = shown === 0;
    document.getElementById("next").disabled = shown === steps.length;
  }
  function go(k) { shown = Math.max(0, Math.min(steps.length, k)); render(); }
  function select(name) {
    var info = D.info[name];
    Object.keys(boxes).forEach(function (n) { boxes[n].classList.remove("selected", "consumer"); });
    if (boxes[name]) boxes[name].classList.add("selected");
    info.consumers.forEach(function (c) { if (boxes[c]) boxes[c].classList.add("consumer"); });
    document.getElementById("panel-title").textContent = "Node " + name;
    document.getElementById("panel-forward").textContent = info.forward || (name + " is an input");
    document.getElementById("panel-backward").textContent = info.backward ||
      (D.second === "tangent" ? "" : "no adjoint: the output does not depend on it");
    document.getElementById("panel-consumers").textContent = info.consumers.length ?
      "consumers: " + info.consumers.join(", ") : "consumers: none (an output)";
  }
  document.getElementById("prev").addEventListener("click", function () { go(shown - 1); });
  document.getElementById("next").addEventListener("click", function () { go(shown + 1); });
  document.getElementById("reset").addEventListener("click", function () { go(0); });
  document.getElementById("forward").addEventListener("click", function () { go(D.forward); });
  document.getElementById("backward").addEventListener("click", function () { go(steps.length); });
  document.addEventListener("keydown", function (e) {
    if (e.key === "ArrowRight") go(shown + 1);
    else if (e.key === "ArrowLeft") go(shown - 1);
    else if (e.key === "Home") go(0);
    else if (e.key === "End") go(steps.length);
  });
  window.symgrad = {go: go, select: select, shown: function () { return shown; }};
  render();
})();
"""


def _json(data) -> str:
    """JSON safe inside a ``<script>`` element: ``<``, ``>`` and ``&`` escaped."""
    s = json.dumps(data, ensure_ascii=False, allow_nan=False)
    return s.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def page(title: str, css: str, body: str, data, script: str) -> str:
    """One self-contained HTML page: ``title`` (escaped here), inline ``css``,
    the ``body`` HTML (its text escaped by the caller), ``data`` as JSON in
    ``<script type="application/json" id="symgrad-data">`` and the inline
    ``script``; a Content-Security-Policy forbids every external load."""
    esc = html.escape
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{esc(title)}</title>
<style>{css}</style>
</head>
<body>
<h1>{esc(title)}</h1>
{body}
<script type="application/json" id="symgrad-data">{_json(data)}</script>
<script>{script}</script>
</body>
</html>
"""


def inline_svg(graph, point=None, digits: int = 5, max_height: str = "75vh") -> str | None:
    """The picture as inline SVG fitting the page's width (no XML prolog or
    DOCTYPE), with values and adjoints at ``point``; None when Graphviz would take
    longer than :data:`MAX_PICTURE_SECONDS`."""
    if layout_seconds(graph) > MAX_PICTURE_SECONDS:
        return None
    svg = svg_text(dot_source(graph, point, digits=digits) if point is not None else dot_source(graph))
    # fit the page's width (the viewBox keeps the proportions); Graphviz writes pt sizes
    return re.sub(r'^<svg width="[\d.]+pt" height="[\d.]+pt"',
                  f'<svg width="100%" style="max-height:{max_height}"', svg, count=1)


def derivation_page(d, *, check: bool = True, title: str | None = None) -> str:
    """The derivation ``d`` as one self-contained HTML page (see the module).

    ``check`` adds the panel comparing reverse mode, the symbolic derivative
    and finite differences (numeric derivations of one output only).
    """
    graph = d.graph
    p = TextPrinter(digits=d.digits, indent="")
    p.prepare(d)
    fwd = [(s.node, p.forward_line(s)) for s in d.forward]
    tangent = getattr(d, "mode", "reverse") == "forward"       # then the second pass is the tangents'
    if tangent:
        bwd = [(s.node, p.tangent_line(s, d.seeds)) for s in d.tangents]
        labels = {s.node: f"{p.dot(s.node)} = {p.number(s.value)[0]}" for s in d.tangents}
    else:
        bwd = [(s.node, p.backward_line(s)) for s in d.backward]
        labels = {}
    consumers = graph.consumers
    info = {n: {"forward": None, "backward": None,
                "consumers": list(dict.fromkeys(c for c, _ in consumers[n]))} for n in graph.nodes}
    for n, line in fwd:
        info[n]["forward"] = line
    for n, line in bwd:
        info[n]["backward"] = line if info[n]["backward"] is None else info[n]["backward"] + "\n" + line
    if d.point is not None:
        for n in graph.inputs:
            info[n]["forward"] = f"{n} = {p.number(d.point[n])[0]} (given)"
    data = {"nodes": list(graph.nodes), "inputs": list(graph.inputs), "forward": len(fwd), "info": info,
            "second": "tangent" if tangent else "backward", "labels": labels}
    esc = html.escape
    heading = title or (f"Derivation of {', '.join(d.outputs)}"
                        + (f" at {p.point(d)}" if d.point else ""))
    numeric = d.point is not None and not d.symbolic
    svg = inline_svg(graph, d.point if numeric else None, d.digits)
    picture = svg if svg is not None else (
        f'<p id="nopicture">The graph has {len(graph.nodes):,} nodes: too large to lay out here '
        f"(Graphviz would take more than {MAX_PICTURE_SECONDS:g} s). Every step is listed below.</p>")
    items = [f'<li class="step forward" data-kind="forward" data-node="{esc(n)}"><code>{esc(line)}</code></li>'
             for n, line in fwd]
    kind = "tangent" if tangent else "backward"
    items += [f'<li class="step backward" data-kind="{kind}" data-node="{esc(n)}"><code>{esc(line)}</code></li>'
              for n, line in bwd]
    check_html = ""
    if check and numeric and len(d.outputs) == 1 and graph.inputs:
        from ..symbolic.check import check as run_check
        report = run_check(graph, d.point, output=d.outputs[0])
        check_html = ('<section id="check"><h2>Check: reverse mode, symbolic, finite differences</h2>'
                      f"<pre>{esc(str(report))}</pre></section>")
    return page(heading, _CSS, f"""<div id="controls">
<button id="reset" type="button">Start</button>
<button id="prev" type="button">&#x25C0; Back</button>
<button id="next" type="button">Step &#x25B6;</button>
<button id="forward" type="button">Forward pass</button>
<button id="backward" type="button">{"Tangent pass" if tangent else "Backward pass"}</button>
<span id="status">every step is shown</span>
</div>
<div id="layout">
<div id="picture">{picture}</div>
<div id="panel"><h2 id="panel-title">Click a node</h2>
<p id="panel-forward">Its forward line appears here,</p>
<p id="panel-backward">its chain-rule line (the sum over its consumers) here.</p>
<p id="panel-consumers"></p></div>
</div>
<h2>Steps</h2>
<ol id="steps">
{chr(10).join(items)}
</ol>
{check_html}""", data, _JS)
