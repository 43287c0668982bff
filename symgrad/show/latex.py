r"""LaTeX printer of a :class:`~symgrad.show.derive.Derivation`, documents and PDFs.

``latex()`` is the body of an ``align*`` environment, one step per line::

    \frac{\partial f}{\partial c} &= \frac{\partial f}{\partial e} \frac{\partial e}{\partial c} + ...

The layout of a step is :class:`symgrad.show.printer.Printer`'s; this module gives
the hooks.  Every op prints from its ``latex`` Form (parenthesized by
:func:`~symgrad.show.printer.parenthesize`), in a forward step and inside a local
derivative alike: ``e = \cos\left(c\right)`` and ``-\sin\left(c\right)``
(SymPy's LaTeX printer lays out the arithmetic, whose forms are the same).
Node names come from :class:`LatexNames`, which typesets them: ``w1_0_1`` as ``w^{1}_{0,1}``,
``a1_2`` as ``a^{1}_{2}``, ``yhat1`` as ``\hat{y}_{1}``, ``x1`` as ``x_{1}``,
``alpha`` as ``\alpha``.
"""

from __future__ import annotations

import math

import os
import re
import shutil
import subprocess
import tempfile

from sympy.core.function import AppliedUndef
from sympy.printing.latex import LatexPrinter as _SympyLatexPrinter, translate

from .derive import ForwardStep
from ..errors import SymgradError
from .escape import greek_word, latex_math_text, latex_text
from ..core.graph import is_node
from ..core.ops import ATOM, MUL, NEG, Form
from .printer import SympyForms, format_number
from .text import TextPrinter

__all__ = ["LatexPrinter", "LatexNames", "compile_pdf", "preamble", "lecture_names"]

_LAYER = re.compile(r"^([A-Za-z]+?)(\d+)_(\d+)(?:_(\d+))?$")
_INDEXED = re.compile(r"^([A-Za-z]+?)(\d+)$")
_WORD = re.compile(r"^[A-Za-z]+$")
_ASCII_NAME = re.compile(r"^[A-Za-z0-9_]+$")


class LatexNames:
    r"""Display names of nodes in LaTeX (a small naming object, cached).

    Examples
    --------
    >>> names = LatexNames()
    >>> [names(n) for n in ["w1_0_1", "a1_2", "h1_2", "yhat1", "x1", "alpha", "loss", "c"]]
    ['w^{1}_{0,1}', 'a^{1}_{2}', 'h^{1}_{2}', '\\hat{y}_{1}', 'x_{1}', '\\alpha', '\\mathrm{loss}', 'c']
    """

    def __init__(self, overrides: dict | None = None) -> None:
        self._names = dict(overrides or {})

    def __call__(self, name: str) -> str:
        s = self._names.get(name)
        if s is None:
            s = self._names[name] = self._typeset(name)
        return s

    @staticmethod
    def _base(word: str) -> str:
        t = translate(word).replace(r"\mathscr{", r"\mathcal{")    # no rsfs fonts needed
        return t if t != word or len(word) == 1 else rf"\mathrm{{{word}}}"

    def _typeset(self, name: str) -> str:
        word = "".join(c if c.isascii() else _greek_alone(name, i) for i, c in enumerate(name))
        if not _ASCII_NAME.match(word):             # anything else is text, escaped
            return latex_math_text(name)
        m = _LAYER.match(word)
        if m:
            base, layer, i, j = m.groups()
            sub = f"{i},{j}" if j is not None else i
            return f"{self._base(base)}^{{{layer}}}_{{{sub}}}"
        head, _, rest = word.partition("_")
        if rest and head:
            subs = ",".join(self._word(p) for p in rest.split("_") if p)
            return f"{self._word(head)}_{{{subs}}}" if subs else self._word(head)
        return self._word(word)

    def _word(self, name: str) -> str:
        m = _INDEXED.match(name)
        if m:
            return f"{self._base(m[1])}_{{{m[2]}}}"
        if _WORD.match(name):
            return self._base(name)
        return name if name.isdigit() else r"\mathrm{" + name.replace("_", r"\_") + "}"


def lecture_names(found) -> dict:
    r"""LaTeX names of an MLP's nodes that differ from :class:`LatexNames`'s: the
    loss is ``\ell``, a single prediction ``\hat{y}`` and its target ``y``
    (several: ``\hat{y}_{i}``, ``y_{i}``);
    ``found`` is a :class:`symgrad.show.lecture.Lecture`.

    >>> import symgrad as sg
    >>> from symgrad.show.lecture import lecture
    >>> lecture_names(lecture(sg.mlp([2, 1], seed=0).graph))
    {'loss': '\\ell', 'yhat1': '\\hat{y}', 'y1': 'y'}
    """
    names = {found.loss: r"\ell"}
    if len(found.predictions) == 1:
        names[found.predictions[0]] = r"\hat{y}"
        names[found.targets[0]] = "y"
    return names


def _greek_alone(name: str, i: int) -> str:
    """The word of the Greek letter ``name[i]`` if no letter touches it (``α1``,
    ``x_α``), else NUL, which sends the name to the text path (``Δw``)."""
    word = greek_word(name[i])
    touching = any(0 <= j < len(name) and name[j].isalpha() for j in (i - 1, i + 1))
    return "\x00" if word is None or touching else word


class _SympyLatex(SympyForms, _SympyLatexPrinter):
    r"""SymPy's LaTeX printer with symgrad's LaTeX forms of the ops and node names
    (:class:`~symgrad.show.printer.SympyForms`); a SymPy function that is no op
    (``sign``) is written in the same call style, ``\operatorname{sign}\left(x\right)``."""

    def _print_Function(self, expr, exp=None):
        if hasattr(self, "_print_" + expr.func.__name__) and not isinstance(expr, AppliedUndef):
            return super()._print_Function(expr, exp)
        args = ", ".join(self._print(a) for a in expr.args)
        s = rf"{self._hprint_Function(expr.func.__name__)}\left({args}\right)"
        return self._power(s, exp)


class LatexPrinter(TextPrinter):
    r"""LaTeX: ``align*`` bodies, a standalone document.

    Settings: ``digits`` (default: the derivation's), ``names`` (a mapping of
    node name to LaTeX, overriding :class:`LatexNames`), ``per_line`` (terms per
    line before a sum wraps), ``title`` (of the document).

    Examples
    --------
    >>> import symgrad as sg
    >>> g = sg.parse("sqrt(x**2 + exp(x**2)) + cos(x**2 + exp(x**2))")
    >>> print(sg.derive(g, x=2.0).latex().splitlines()[2])
    b &= \exp\left(a\right) = 54.598 \\
    """

    _default_settings = {"digits": None, "names": None, "per_line": 3, "title": None}
    times = r" \times "
    chain_times = " "
    dot_times = " "
    paren = (r"\left(", r"\right)")
    constants = {math.e: "e", math.pi: r"\pi"}
    align = "&"
    row_sep = " \\\\\n"
    continued = r"&\qquad "
    sympy_printer = _SympyLatex

    def __init__(self, **settings) -> None:
        super().__init__(**settings)
        self._names = LatexNames(self._settings["names"])

    def name(self, node: str) -> str:
        return self._names(node)

    def prepare(self, derivation) -> None:
        """As :meth:`Printer.prepare`; the slides' derivation of an MLP also
        writes its nodes as the lecture does (:func:`lecture_names`)."""
        super().prepare(derivation)
        if derivation.lecture is not None:
            self.use_lecture(derivation.lecture)

    def use_lecture(self, found) -> None:
        """Write the nodes of the lecture's network ``found`` as the lecture does
        (:func:`lecture_names`), below the ``names`` setting."""
        self._names = LatexNames({**lecture_names(found), **(self._settings["names"] or {})})
        self._cache.clear()

    def form(self, op) -> Form:
        return op.latex

    def number(self, v: float) -> tuple[str, int]:
        s = format_number(v, self.digits)
        if s in ("inf", "-inf", "nan"):
            s = {"inf": r"\infty", "-inf": r"-\infty", "nan": r"\mathrm{nan}"}[s]
        elif "e" in s:
            mant, ex = s.split("e")
            s = rf"{mant} \cdot 10^{{{int(ex)}}}"
            return s, NEG if s.startswith("-") else MUL
        return s, NEG if s.startswith("-") else ATOM

    def partial(self, out: str, node: str) -> str:
        return rf"\frac{{\partial {self.name(out)}}}{{\partial {self.name(node)}}}"

    def dot(self, node: str) -> str:
        return rf"\dot{{{self.name(node)}}}"

    def quantity(self, q: tuple) -> str:
        return f"{q[0]}_{{{','.join(map(str, q[1:]))}}}"

    def per_line(self) -> int:
        return int(self._settings["per_line"])

    def input_lines(self, d) -> list[str]:
        if not d.point or d.symbolic:
            return []
        return [self.equation(self.name(k), [self.number(v)[0]]) for k, v in d.point.items()]

    def derivation(self, d) -> str:
        """The forward then the backward steps, as the body of an ``align*``."""
        self.prepare(d)
        lines = self.input_lines(d) + [self.forward_line(s) for s in d.forward]
        lines += [self.backward_line(s) for s in d.backward]
        lines += [self.tangent_line(s, d.seeds) for s in d.tangents]
        return " \\\\\n".join(lines)

    # -- document ------------------------------------------------------------------
    def function(self, d, output: str) -> str | None:
        """The output as one formula in the inputs, if it is small when inlined."""
        g = d.graph
        size = {n: 1 for n in g.inputs}
        for n, _, args in g.program:
            size[n] = 1 + sum(size[a] if is_node(a) else 1 for a in args)
            if size[n] > 10**6:
                size[n] = 10**6
        if size[output] > 120:
            return None
        return _SympyLatex(self).doprint(g.to_sympy(output))

    def node_table(self, d) -> str:
        """The graph's nodes in topological order: definition and consumers."""
        g = d.graph
        define = {n: f"${self.rhs(ForwardStep(n, op, args))}$" for n, op, args in g.program}
        rows = []
        for n in g.nodes:
            definition = define.get(n, "input")
            users = ", ".join(f"${self.name(c)}$" for c in dict.fromkeys(c for c, _ in g.consumers[n]))
            rows.append(f"${self.name(n)}$ & {definition} & {users or 'output'} \\\\")
        head = ("\\begin{longtable}{lll}\n"
                "node & definition & used by \\\\ \\hline\n\\endhead")
        return head + "\n" + "\n".join(rows) + "\n\\end{longtable}"

    def shared(self, d, output: str) -> str:
        """A sentence naming the nodes with several consumers (their adjoints are sums)."""
        users = {}
        for s in d.backward:
            if s.output == output and len(s.terms) > 1:
                users[s.node] = ", ".join(f"${self.name(t.consumer)}$" for t in s.terms)
        if not users or len(users) > 12:
            return ""
        listed = "; ".join(f"${self.name(n)}$ (by {u})" for n, u in users.items())
        return f" Nodes used more than once: {listed}. Their adjoints sum over these consumers."

    def tangent_text(self, d) -> str:
        """The forward-mode section's sentence: the direction and the rule."""
        if len(d.seeds) == 1 and next(iter(d.seeds.values())) == 1.0:
            x = next(iter(d.seeds))
            what = rf"The tangent $\dot{{v}} = {self.partial('v', x)}$ of each node $v$"
        else:
            along = ", ".join(f"{self.dot(k)} = {self.number(v)[0]}" for k, v in d.seeds.items())
            what = (rf"The tangent $\dot{{v}}$ of each node $v$ along the direction ${along}$ "
                    "(the other inputs' tangents are 0)")
        return (what + ", in topological order: the chain rule sums over the node's arguments, "
                "then the local derivatives and the arguments' tangents are substituted.")

    def document(self, d) -> str:
        """A standalone LaTeX document: function, node list, forward, backward."""
        self.prepare(d)
        title = self._settings["title"] or ("Forward pass and forward-mode tangents" if d.mode == "forward"
                                            else "Forward and backward pass")
        body = [r"\section*{" + latex_text(title) + "}", r"\subsection*{Function}"]
        for o in d.outputs:
            formula = self.function(d, o)
            if formula is not None:
                body.append(rf"\[ {self.name(o)} = {formula} \]")
            else:
                body.append(f"${self.name(o)}$ written as one formula in the inputs would have more "
                            "than 120 symbols (shared nodes repeated), so it is given by the "
                            "computational graph below.")
        if d.point and not d.symbolic:
            at = ", ".join(f"{self.name(k)} = {self.number(v)[0]}" for k, v in d.point.items())
            body.append(f"evaluated at ${at}$.")
        body += [r"\subsection*{Computational graph}",
                 "Each node is an input or one operation on earlier nodes; a node used "
                 "twice is one node.\n", self.node_table(d)]
        fwd = self.input_lines(d) + [self.forward_line(s) for s in d.forward]
        body += [r"\subsection*{Forward pass}", _align(fwd)]
        if d.mode == "forward":
            steps = [self.tangent_line(s, d.seeds) for s in d.tangents]
            body += [r"\subsection*{Forward mode}", self.tangent_text(d), _align(steps, r"\\[0.6ex]")]
        for o in d.outputs if d.mode == "reverse" else ():
            steps = [self.backward_line(s) for s in d.backward if s.output == o]
            how = (rf"The adjoint ${self.partial(o, 'v')}$ of each node $v$, in reverse order: "
                   "the chain rule sums over the node's consumers, then the local derivatives "
                   "are substituted." + self.shared(d, o))
            if d.lecture is not None:
                how = (rf"The adjoints ${self.partial(o, 'v')}$ in the lecture's order and notation: "
                       rf"$B_{{1}} = {self.partial(o, d.lecture.predictions[0])}$, then $B_{{2}}$, "
                       "$B_{3}$, ... down the layers, the weights' gradients from the top layer, "
                       "the inputs'; each as its formula, its numbers and its value.")
            body += [r"\subsection*{Backward pass}", how, _align(steps, r"\\[0.6ex]")]
        return _PREAMBLE + "\n\n".join(body) + "\n\\end{document}\n"


def preamble(margin: str = "1.8cm") -> str:
    r"""The LaTeX preamble of every symgrad document (derivations, sheets): what
    the printers emit -- T1 fonts for accented letters (:mod:`symgrad.show.escape`),
    ``amsmath``/``amssymb`` (``\text``, ``\boldsymbol``, ``\mathfrak``) and
    ``longtable``.  SymPy's ``\mathscr`` (for a name such as ``xscr``) is
    written ``\mathcal`` (:class:`LatexNames`), which needs no extra fonts."""
    return ("\\documentclass[11pt]{article}\n"
            f"\\usepackage[a4paper,margin={margin}]{{geometry}}\n"
            "\\usepackage[T1]{fontenc}\n\\usepackage{lmodern}\n"
            "\\usepackage{amsmath,amssymb}\n\\usepackage{longtable}\n"
            "\\allowdisplaybreaks\n\\setlength{\\parindent}{0pt}\n\\begin{document}\n")


_PREAMBLE = preamble()


def _align(lines: list[str], sep: str = r"\\") -> str:
    if not lines:
        return "(no steps)"
    return "\\begin{align*}\n" + f" {sep}\n".join(lines) + "\n\\end{align*}"


def compile_pdf(source: str, path, *, timeout: float = 120.0) -> str:
    """Compile LaTeX ``source`` with ``pdflatex -halt-on-error`` and write the PDF
    to ``path``; returns the path.

    Raises
    ------
    SymgradError
        If pdflatex is not installed, fails, or times out (the message quotes
        the first LaTeX error).
    """
    exe = shutil.which("pdflatex")
    if exe is None:
        raise SymgradError("pdflatex was not found on PATH; install TeX Live (e.g. apt-get install "
                           "texlive-latex-base texlive-latex-recommended) or use document() "
                           "to get the LaTeX source")
    path = os.fspath(path)
    with tempfile.TemporaryDirectory() as tmp:
        with open(os.path.join(tmp, "derivation.tex"), "w", encoding="utf-8") as f:
            f.write(source)
        try:
            run = subprocess.run([exe, "-interaction=nonstopmode", "-halt-on-error",
                                  "-no-shell-escape", "derivation.tex"], cwd=tmp,
                                 capture_output=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            raise SymgradError(f"pdflatex took longer than {timeout:g} s; "
                               "derive fewer nodes (nodes=[...])") from None
        pdf = os.path.join(tmp, "derivation.pdf")
        if run.returncode != 0 or not os.path.exists(pdf):
            log = run.stdout.decode("utf-8", "replace")
            first = next((ln for ln in log.splitlines() if ln.startswith("!")), "unknown error")
            raise SymgradError(f"pdflatex failed: {first}; the source is document()'s output")
        shutil.copyfile(pdf, path)
    return path
