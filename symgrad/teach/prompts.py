"""How an exercise is shown: item labels, prompts in text and LaTeX, answers.

The program lines and names come from symgrad's own printers (op templates,
:class:`symgrad.show.latex.LatexNames`), so an exercise reads like a derivation.
"""

from __future__ import annotations

import sympy as sp

from ..show.derive import ForwardStep
from ..show.escape import latex_text, visible
from ..show.lecture import lecture
from ..core.graph import Graph
from ..show.printer import format_number

__all__ = ["label", "program_lines", "prompt_text", "prompt_latex", "show_answer", "formula_text"]

_TASKS = {
    "forward": "Compute the forward value of every node.",
    "backward": "Compute the adjoint (the derivative of the output with respect to the node) "
                "of every node.  Remember: a node used by several nodes gets the sum over its "
                "consumers.",
    "local": "Give each local derivative as a formula in the node names "
             "(write e.g. -sin(c), 2*x, exp(a)).",
    "symbolic": "Give the derivative of the output with respect to each input as a formula "
                "in the inputs (you may also use node names).",
    "forward_mode": "Forward mode: compute the tangent of every node, its derivative with respect to "
                    "the input named below (that input's tangent is 1, the other inputs' 0).  "
                    "Remember: a node's tangent sums over its arguments.",
    "hessian": "Compute the second derivatives of the output with respect to the inputs (the "
               "entries of the Hessian matrix; it is symmetric, so each pair is asked once).",
    "mlp": "Do one backpropagation step for this network (squared loss "
           "l = 0.5*(yhat1 - y1)**2), in the lecture's notation: B_1 = dl/dyhat1, "
           "B_{2,i} = dl/dh_i and B_{3,i} = dl/da_i of the last hidden layer (B_4, B_5 "
           "one layer further down), and dl/dw for every weight.",
}


_TASKS_LATEX = {      # where the task itself has formulas: written as the lecture does
    "mlp": r"Do one backpropagation step for this network (squared loss "
           r"$\ell = \frac{1}{2}\left(\hat{y} - y\right)^{2}$), in the lecture's notation: "
           r"$B_{1} = \frac{\partial \ell}{\partial \hat{y}}$, "
           r"$B_{2,i} = \frac{\partial \ell}{\partial h_{i}}$ and "
           r"$B_{3,i} = \frac{\partial \ell}{\partial a_{i}}$ of the last hidden layer "
           r"($B_{4}$, $B_{5}$ one layer further down), and "
           r"$\frac{\partial \ell}{\partial w}$ for every weight.",
}


def _printers(found=None, parseable: bool = False):
    """A text and a LaTeX printer; with ``found``, an MLP
    (:func:`symgrad.show.lecture.lecture`), the LaTeX one writes its nodes as the
    lecture does (``\\ell``, ``\\hat{y}``)."""
    from ..show.latex import LatexPrinter
    from ..show.text import TextPrinter
    tx, lx = TextPrinter(parseable=parseable), LatexPrinter()
    if found is not None:
        lx.use_lecture(found)
    return tx, lx


def label(what: str, node: str, other: str, quantity: tuple | None = None,
          found=None, wrt: str | None = None) -> tuple[str, str]:
    """``(text, latex)`` label of an item (``other``: the output, the consumer
    of a local derivative, or the input of a ``tangent``; ``found``: the MLP
    (:func:`symgrad.show.lecture.lecture`) whose nodes the LaTeX label writes as
    the lecture does; ``wrt``: the second input of a ``second`` derivative)."""
    tx, lx = _printers(found)
    if what == "value":
        return tx.name(node), lx.name(node)
    if what == "tangent":                    # d node / d input: the tangent of node
        return tx.partial(node, other), lx.partial(node, other)
    if what == "second":
        return _second(tx, lx, other, node, wrt)
    if quantity is not None:
        return (f"{tx.quantity(quantity)} = {tx.partial(other, node)}",
                f"{lx.quantity(quantity)} = {lx.partial(other, node)}")
    return tx.partial(other, node), lx.partial(other, node)


def _second(tx, lx, out: str, a: str, b: str) -> tuple[str, str]:
    """``(∂²f/∂x∂y, LaTeX)`` (``∂²f/∂x²`` when ``a == b``) in the printers' names."""
    if a == b:
        return (f"∂²{tx.name(out)}/∂{tx.name(a)}²",
                rf"\frac{{\partial^{{2}} {lx.name(out)}}}{{\partial {lx.name(a)}^{{2}}}}")
    return (f"∂²{tx.name(out)}/∂{tx.name(a)}∂{tx.name(b)}",
            rf"\frac{{\partial^{{2}} {lx.name(out)}}}{{\partial {lx.name(a)} \partial {lx.name(b)}}}")


def program_lines(graph: Graph, latex: bool = False, parseable: bool = False) -> list[str]:
    """``["a = x**2", ...]``: one line per operation node, as a derivation's
    forward steps (a weighted sum written out: ``a1_1 = w1_0_1 + w1_1_1*x1``);
    ``parseable``: text that :func:`symgrad.parse` reads back to the same graph
    (``a1_1 = wsum(w1_0_1, 1, w1_1_1, x1)``)."""
    tx, lx = _printers(lecture(graph), parseable)
    pr = lx if latex else tx
    return [f"{pr.name(n)} = {pr.rhs(ForwardStep(n, op, args))}" for n, op, args in graph.program]


def formula_text(expr) -> str:
    """A SymPy expression as text that :func:`symgrad.front.parse` reads back.

    >>> import sympy as sp
    >>> formula_text(-sp.Abs(sp.Symbol("y")) * 2 + sp.E)
    'e - 2*abs(y)'
    >>> formula_text(sp.Symbol("e") * sp.E)        # a node named e: Euler's number is exp(1)
    'exp(1)*e'
    """
    printer = _GrammarPrinter()
    printer.euler = "exp(1)" if any(s.name == "e" for s in getattr(expr, "free_symbols", ())) else "e"
    return printer.doprint(expr)


class _GrammarPrinter(sp.printing.str.StrPrinter):
    """SymPy's text in symgrad's grammar: the op table's functions by their op names
    (``Abs(x)`` is ``abs(x)``), ``e``, floats in full."""

    def _print(self, expr, **kwargs):
        from ..core.sym_derivatives import as_op_head
        from ..front.sympy_io import sympy_heads
        expr = as_op_head(expr)                 # Heaviside(x, 0) is typed as step(x)
        op = sympy_heads().get(type(expr))
        if op is not None:
            return f"{op.name}({', '.join(self._print(a) for a in expr.args)})"
        return super()._print(expr, **kwargs)

    euler = "e"

    def _print_Exp1(self, expr):
        return self.euler

    def _print_Float(self, expr):
        return repr(float(expr))


def show_answer(item, digits: int) -> str | float:
    """A float rounded to ``digits`` significant digits, or the formula as text."""
    if item.formula:
        return formula_text(item.answer)
    return float(format_number(float(item.answer), digits))


def _point_text(ex) -> str:
    tx, _ = _printers()
    return ", ".join(f"{tx.name(k)} = {format_number(v, 6)}" for k, v in ex.point.items())


def prompt_text(ex) -> str:
    """The exercise as plain text: task, program, point, the asked values."""
    recipe = f"difficulty {ex.difficulty}, seed {ex.seed}" if ex.seed >= 0 else "on a given function"
    lines = [f"Exercise ({ex.kind}, {recipe})", _TASKS[ex.kind]]
    if ex.kind == "mlp":
        m = ex.meta
        lines.append(f"Network: sizes {m['sizes']}, hidden activation {m['activation']}, "
                     f"identity output, {m['loss']} loss; h0_i = x_i, and the bias weights "
                     f"(w1_0_1, w1_0_2, ..., w2_0_1, ...: weight 0 of each neuron) multiply "
                     f"the dummy feature 1.")
    lines.append("Program:")
    lines += [f"  {ln}" for ln in program_lines(ex.graph)]
    if ex.kind not in ("local", "symbolic"):
        lines.append(f"Inputs: {_point_text(ex)}")
    if ex.kind == "forward_mode":
        tx, x = _printers()[0], ex.meta["wrt"]
        others = [tx.dot(k) for k in ex.graph.inputs if k != x]
        lines.append(f"Tangents with respect to {tx.name(x)}: {tx.dot(x)} = 1"
                     + (f", {', '.join(others)} = 0" if others else "") + ".")
    if ex.show_forward:
        vals, tx = ex.values, _printers()[0]
        lines.append("Forward values: " + ", ".join(
            f"{tx.name(n)} = {format_number(vals[n], ex.digits + 1)}" for n, _, _ in ex.graph.program))
    if not any(it.formula for it in ex.items):
        lines.append(f"Give each number to {ex.digits} significant digits.")
    lines.append("Asked:")
    lines += [f"  [{visible(it.key)}] {it.text} = ?" for it in ex.items]
    return "\n".join(lines)


def task_latex(kind: str) -> str:
    """What an exercise of ``kind`` asks, in LaTeX (a sheet says it once per kind)."""
    return _TASKS_LATEX.get(kind) or latex_text(_TASKS[kind])


def prompt_latex(ex, instructions: bool = True) -> str:
    """The exercise as a LaTeX fragment (``amsmath``); no document preamble.
    ``instructions=False`` leaves out the task and the digits rule (a sheet
    states them once)."""
    _, lx = _printers(lecture(ex.graph))
    body = [task_latex(ex.kind)] if instructions else []
    if ex.kind == "mlp":
        m = ex.meta
        body.append(latex_text(f"Network: sizes {m['sizes']}, hidden activation "
                                  f"{m['activation']}, identity output, {m['loss']} loss."))
    body.append("\\begin{align*}\n" + " \\\\\n".join(
        ln.replace(" = ", " &= ", 1) for ln in program_lines(ex.graph, latex=True)) + "\n\\end{align*}")
    if ex.kind not in ("local", "symbolic"):
        at = ", ".join(f"{lx.name(k)} = {format_number(v, 6)}" for k, v in ex.point.items())
        body.append(f"Inputs: ${at}$.")
    if ex.kind == "forward_mode":
        x = ex.meta["wrt"]
        others = [lx.dot(k) for k in ex.graph.inputs if k != x]
        body.append(f"Tangents with respect to ${lx.name(x)}$: ${lx.dot(x)} = 1"
                    + (f", {', '.join(others)} = 0" if others else "") + "$.")
    if ex.show_forward:
        vals = ex.values
        body.append("Forward values: $" + ", ".join(
            f"{lx.name(n)} = {format_number(vals[n], ex.digits + 1)}"
            for n, _, _ in ex.graph.program) + "$.")
    if instructions and not any(it.formula for it in ex.items):
        body.append(f"Give each number to {ex.digits} significant digits.")
    body.append("\\begin{enumerate}\n" + "\n".join(
        f"\\item ${it.latex} = \\;?$" for it in ex.items) + "\n\\end{enumerate}")
    return "\n\n".join(body)


def answers_latex(ex) -> str:
    """The answers as a LaTeX list."""
    _, lx = _printers(lecture(ex.graph))
    rows = []
    for it in ex.items:
        ans = lx.expr(it.answer, ())[0] if it.formula else format_number(float(it.answer), ex.digits)
        rows.append(f"\\item ${it.latex} = {ans}$")
    return "\\begin{enumerate}\n" + "\n".join(rows) + "\n\\end{enumerate}"
