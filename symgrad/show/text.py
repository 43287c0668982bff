"""Plain-text and Markdown printers of a :class:`~symgrad.show.derive.Derivation`.

Lines look like the lecture's::

    c = a + b = 58.598
    ∂f/∂c = ∂f/∂e * ∂e/∂c + ∂f/∂d * ∂d/∂c = 1 * (-sin(c)) + 1 * 1/(2*sqrt(c)) = -0.82228

Node names print as they are, except characters that would be invisible or
break the line (:func:`symgrad.show.escape.visible`: ``\u202e``).  The layout of a
step is :class:`symgrad.show.printer.Printer`'s; this module gives the hooks: each
op's ``text`` Form (in forward steps and inside local derivatives alike),
``∂f/∂c`` for a derivative and ``*`` for a product.
"""

from __future__ import annotations

import unicodedata

from sympy.printing.str import StrPrinter

from .local import is_placeholder
from .escape import markdown_fence, markdown_inline, visible
from ..core.ops import Form
from .printer import Printer, SympyForms, format_number, sum_of_products

__all__ = ["TextPrinter", "MarkdownPrinter"]


class _Str(SympyForms, StrPrinter):
    """SymPy's ``str`` printer (``full_prec=False``) with symgrad's text forms of
    the ops and node names (:class:`~symgrad.show.printer.SympyForms`)."""

    def __init__(self, printer) -> None:
        super().__init__(printer, {"full_prec": False})

    # A convention at a point (pow's exponent partial at base 0) reads as Python does.
    def _print_Piecewise(self, expr) -> str:
        *branches, (last, _) = expr.args
        text = self._print(last)
        for value, cond in reversed(branches):
            text = f"{self._print(value)} if {self._print(cond)} else {text}"
        return f"({text})"

    def _print_Equality(self, expr) -> str:
        return f"{self._print(expr.lhs)} == {self._print(expr.rhs)}"

    def _print_Unequality(self, expr) -> str:
        return f"{self._print(expr.lhs)} != {self._print(expr.rhs)}"

    def _print_And(self, expr) -> str:
        return " and ".join(self.parenthesize(a, 0) if a.is_Boolean and not a.is_Relational
                            else self._print(a) for a in expr.args)

    def _print_Or(self, expr) -> str:
        return " or ".join(self._print(a) for a in expr.args)


class TextPrinter(Printer):
    """Plain Unicode text, one step per line.

    Settings: ``digits`` (significant digits; default: the derivation's),
    ``indent`` (the prefix of each step line), ``headings`` (print the
    "Forward pass" / "Backward pass" lines), ``parseable`` (write a weighted
    sum as the grammar's call ``wsum(w1_0_1, 1, w1_1_1, x1)`` instead of
    ``w1_0_1 + w1_1_1*x1``, so the lines parse back to the same graph).

    Examples
    --------
    >>> import symgrad as sg
    >>> g = sg.parse("sqrt(x**2 + exp(x**2)) + cos(x**2 + exp(x**2))")
    >>> print(TextPrinter(digits=3, indent="").derivation(sg.derive(g, x=2.0)).splitlines()[2])
    b = exp(a) = 54.6
    """

    _default_settings = {"digits": None, "indent": "  ", "headings": True, "parseable": False}
    sympy_printer = _Str

    def name(self, node: str) -> str:
        return visible(node)

    def symbol(self, s) -> str:
        """A node's symbol by its name; a local derivative's placeholder stays
        for :meth:`~symgrad.show.printer.Printer.expr` to replace."""
        return s.name if is_placeholder(s) else self.name(s.name)

    def form(self, op) -> Form:
        if op.linear and not self._settings.get("parseable", True):
            return sum_of_products(op.text)
        return op.text

    def partial(self, out: str, node: str) -> str:
        return f"∂{self.name(out)}/∂{self.name(node)}"

    def dot(self, node: str) -> str:
        """``ȧ``: a dot above the name's first character (``ẏhat1``), precomposed
        where Unicode has the letter (NFC), else the combining dot U+0307."""
        s = self.name(node)
        return unicodedata.normalize("NFC", s[:1] + "\u0307") + s[1:]

    def quantity(self, q: tuple) -> str:
        sub = ",".join(map(str, q[1:]))
        return f"{q[0]}_{sub}" if len(q) == 2 else f"{q[0]}_{{{sub}}}"

    def heading_name(self, node: str) -> str:
        """A node name inside a heading (Markdown escapes it)."""
        return self.name(node)

    def point(self, d) -> str:
        return ", ".join(f"{self.heading_name(k)} = {format_number(v, self.digits)}"
                         for k, v in d.point.items())

    def sections(self, d) -> list[tuple[str, list[str]]]:
        """``[(heading, lines)]``: the forward pass, then one backward pass per output."""
        self.prepare(d)
        at = f" at {self.point(d)}" if d.point and not d.symbolic else ""
        out = [(f"Forward pass{at}", [self.forward_line(s) for s in d.forward])]
        if d.mode == "forward":
            return out + [(self.tangent_heading(d), [self.tangent_line(s, d.seeds) for s in d.tangents])]
        for o in d.outputs:
            lines = [self.backward_line(s) for s in d.backward if s.output == o]
            how = " as in the lecture: B_1, then B_2, B_3, ... down the layers, ∂/∂w from the top layer, ∂/∂x" \
                if d.lecture else ""
            out.append((f"Backward pass: adjoints ∂{self.heading_name(o)}/∂node{how}", lines))
        return out

    def tangent_heading(self, d) -> str:
        """``Forward mode: tangents ṅ = ∂n/∂x of every node``, or along a direction."""
        if len(d.seeds) == 1 and next(iter(d.seeds.values())) == 1.0:
            x = self.heading_name(next(iter(d.seeds)))
            return f"Forward mode: tangents ṅ = ∂n/∂{x}, summed over each node's arguments"
        along = ", ".join(f"{self.heading_name(k)} = {format_number(v, self.digits)}" for k, v in d.seeds.items())
        return f"Forward mode: tangents along the direction {along} (other inputs 0), summed over each node's arguments"

    def derivation(self, d) -> str:
        """The whole derivation as text."""
        ind = self._settings["indent"]
        parts = []
        for heading, lines in self.sections(d):
            if self._settings["headings"]:
                parts.append(heading)
            parts.extend(ind + line for line in lines)
        return "\n".join(parts)


class MarkdownPrinter(TextPrinter):
    """Markdown: a bold heading per pass and its steps in a ``text`` code block
    (names in headings have their punctuation escaped; the code fence is longer
    than any run of backticks in the block).

    Settings as :class:`TextPrinter`.

    Examples
    --------
    >>> import symgrad as sg
    >>> g = sg.parse("sqrt(x**2 + exp(x**2)) + cos(x**2 + exp(x**2))")
    >>> print(sg.derive(g, x=2.0).markdown().splitlines()[0])
    **Forward pass at x = 2**
    """

    _default_settings = {"digits": None, "indent": "", "headings": True, "parseable": False}

    def derivation(self, d) -> str:
        ind = self._settings["indent"]
        parts = []
        for heading, lines in self.sections(d):
            if self._settings["headings"]:
                parts.append(f"**{heading}**\n")
            block = "\n".join(ind + line for line in lines)
            fence = markdown_fence(block)
            parts.append(f"{fence}text\n{block}\n{fence}\n")
        return "\n".join(parts)

    def heading_name(self, node: str) -> str:
        return markdown_inline(node)
