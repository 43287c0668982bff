"""The graph as a standalone Python module: ``forward(...)`` and ``grad(...)``.

The forward lines are the op table's ``apply`` formulas as code
(:mod:`symgrad.numeric.codeform`); the reverse lines are the one chain-rule sweep
(:func:`symgrad.core.sweep.sweep`) with an interpretation that writes one line per
node, the sum over consumers visible; the module's top is the backend's prelude
(:mod:`symgrad.numeric.backends`), so it imports only numpy, math, jax or torch.
Node names that are plain identifiers are the variable names; other nodes
become ``v0``, ``v1``, ... (no user text reaches the code otherwise; input names
appear only as ``repr`` string keys of ``grad``'s result).
"""

from __future__ import annotations

import ast
import keyword
import re

from ..core.graph import Graph, is_node
from ..core.sweep import Interpretation, sweep
from ..errors import InputError
from .backends import BACKENDS, prelude
from .codeform import apply_code, partial_code
from .export import free_dead, literal_source

__all__ = ["to_source"]

_TAKEN = frozenset({"xp", "forward", "grad", "abs", "inf", "nan", "ones_like", "zeros_like",
                    "maximum", "minimum", "log1p", "expm1", "isfinite", "heaviside", "power",
                    "math", "numpy", "jax", "torch", "np", "jnp"})


def _variables(graph: Graph, reserved: set) -> tuple[dict, dict]:
    """Variable names for values and adjoints: the node's own name where it is a
    plain identifier that collides with nothing, else ``v{i}``; adjoints
    ``{name}_bar`` (underscores added on a collision)."""
    var, used = {}, set(reserved)
    for n in graph.nodes:
        if (n.isidentifier() and n.isascii() and not keyword.iskeyword(n) and not n.startswith("_")
                and n not in used):
            var[n] = n
            used.add(n)
    i = 0
    for n in graph.nodes:
        if n not in var:
            while f"v{i}" in used:
                i += 1
            var[n] = f"v{i}"
            used.add(var[n])
    bar = {}
    for n in graph.nodes:
        b = f"{var[n]}_bar"
        while b in used:
            b += "_"
        bar[n] = b
        used.add(b)
    return var, bar


def _atom(text: str) -> bool:
    """Whether ``text`` needs no parentheses as a factor: a name, a number or one call."""
    if re.fullmatch(r"[\w.]+", text):
        return True
    m = re.match(r"[A-Za-z_]\w*\(", text)
    if not m or not text.endswith(")"):
        return False
    depth = 0
    for i in range(m.end() - 1, len(text)):
        depth += {"(": 1, ")": -1}.get(text[i], 0)
        if depth == 0:
            return i == len(text) - 1
    return False


class _SourceLines(Interpretation):
    """The sweep as source: an adjoint is the list of its terms until it is
    settled, then one line ``c_bar = d_bar * (...) + e_bar * (...)``."""

    def __init__(self, var: dict, bar: dict, lines: list):
        self.var, self.bar, self.lines = var, bar, lines

    def partials(self, name, op, args):
        refs = [self.var[a] if is_node(a) else literal_source(a) for a in args]
        return [partial_code(op, j, refs, self.var[name]) if is_node(a) else None
                for j, a in enumerate(args)]

    def term(self, seed, d, name, pos, arg):
        if d in ("1", "-1"):
            return seed if d == "1" else f"-{seed}"
        return f"{seed} * {d if _atom(d) else f'({d})'}"

    def first(self, term, arg):
        return [term]

    def add(self, total, term, arg):
        total.append(term)
        return total

    def settle(self, name, total):
        text = total[0] + "".join(f" - {t[1:]}" if t.startswith("-") else f" + {t}"
                                  for t in total[1:])
        self.lines.append(f"{self.bar[name]} = {text}")
        return self.bar[name]


def _forward_lines(graph: Graph, var: dict, rows) -> list:
    return [f"{var[name]} = {apply_code(op, [var[a] if is_node(a) else literal_source(a) for a in args])}"
            for name, op, args in rows]


def _defined(source: str) -> set:
    """The names a prelude (our own constant text) defines at module level."""
    names = set()
    for node in ast.parse(source).body:
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names.update((a.asname or a.name).split(".")[0] for a in node.names)
        elif isinstance(node, ast.Assign):
            names.update(n.id for t in node.targets for n in ast.walk(t) if isinstance(n, ast.Name))
    return names


def _ancestors(graph: Graph, output: str) -> list:
    need, rows = {output}, []
    for row in reversed(graph.program):
        if row[0] in need:
            rows.append(row)
            need.update(a for a in row[2] if is_node(a))
    return rows[::-1]


def _def(name: str, params: str, doc: str, body: list) -> str:
    return (f"def {name}({params}):\n    \"\"\"{doc}\"\"\"\n"
            + "\n".join("    " + ln for ln in body) + "\n")


def to_source(graph: Graph, backend: str = "numpy", *, output: str | None = None,
              free: bool = True) -> str:
    """A standalone Python module computing the graph with ``backend``: ``forward``
    (the outputs' values) and ``grad`` (the inputs' adjoints of ``output``, by
    reverse mode written out: one line per node, the chain rule's sum over
    consumers visible).  It imports only the backend (numpy, math, jax or torch).

    Parameters
    ----------
    graph
        The computational graph.
    backend
        ``"numpy"``, ``"math"``, ``"jax"`` or ``"torch"``.
    output
        The output ``grad`` differentiates (default: the only output).
    free
        Delete each value after its last use (``del a, b`` lines): on batches the
        allocator reuses the memory, as fast as :func:`symgrad.numeric.export.function`
        (which does the same).  ``free=False`` writes the lecture's lines only.

    Returns
    -------
    str
        The module's source.  Node names that are plain identifiers are its
        variable names (adjoints get ``_bar``); other nodes are ``v0``, ``v1``, ...

    Raises
    ------
    InputError
        For an unknown backend.

    Examples
    --------
    >>> import symgrad as sg
    >>> src = sg.parse("sqrt(x**2 + exp(x**2)) + cos(x**2 + exp(x**2))").to_source("math", free=False)
    >>> print(src[src.index("def grad"):])  # doctest: +NORMALIZE_WHITESPACE
    def grad(x):
        \"\"\"The adjoints d output / d input (reverse mode, one line per node).\"\"\"
        a = pow(x, 2)
        b = exp(a)
        c = a + b
        d = sqrt(c)
        e = cos(c)
        f = d + e
        f_bar = ones_like(f)
        e_bar = f_bar
        d_bar = f_bar
        c_bar = e_bar * (-sin(c)) + d_bar * div(1, 2 * d)
        b_bar = c_bar
        a_bar = c_bar + b_bar * b
        x_bar = a_bar * dpow(x, 2)
        return {'x': x_bar}
    """
    if not isinstance(backend, str) or backend not in BACKENDS:
        raise InputError(f"to_source writes for {', '.join(BACKENDS)}, got {backend!r:.60}")
    out = graph.default_output(output)
    head = prelude(backend)
    var, bar = _variables(graph, set(_TAKEN) | _defined(head))
    params = ", ".join(var[x] for x in graph.inputs)
    outs = [var[o] for o in graph.outputs]
    fw = _forward_lines(graph, var, graph.program)
    fw.append("return " + (outs[0] if len(outs) == 1 else ", ".join(outs)))
    rows = _ancestors(graph, out)
    gr = _forward_lines(graph, var, rows)
    adj = sweep(rows, out, _SourceLines(var, bar, gr), [f"ones_like({var[out]})"])
    leaves = _SourceLines(var, bar, gr)
    for x in graph.inputs:                   # the sweep settles rows; the inputs here
        if x in adj:
            leaves.settle(x, adj[x])
        else:
            gr.append(f"{bar[x]} = zeros_like({var[x]})")
    gr.append("return {" + ", ".join(f"{x!r}: {bar[x]}" for x in graph.inputs) + "}")
    oname = "the outputs" if len(outs) > 1 else "the output"
    doc = (f'"""A computational graph exported by symgrad for {backend}: forward() gives {oname}, '
           f'grad() the\ngradient by reverse mode. Standalone: it imports only {backend}.\n"""\n\n')
    if free:                                      # batches: temporaries freed after their last use
        fw, gr = free_dead(fw), free_dead(gr)
    return (doc + head + _BODY_SEP
            + _def("forward", params, f"The value of {oname}.", fw) + "\n\n"
            + _def("grad", params, "The adjoints d output / d input (reverse mode, one line per node).", gr))


_BODY_SEP = "\n\n"
