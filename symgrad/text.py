"""Plain-text and Markdown printers of a :class:`~symgrad.derive.Derivation`.

Lines look like the lecture's::

    c = a + b = 58.598
    ∂f/∂c = ∂f/∂e * ∂e/∂c + ∂f/∂d * ∂d/∂c = 1 * (-sin(c)) + 1 * 1/(2*sqrt(c)) = -0.82228

Node names print as they are, except characters that would be invisible or
break the line (:func:`symgrad.escape.visible`: ``\u202e``); op results come from each op's ``text`` Form and
local derivatives from SymPy's ``str`` printer (cached per op shape).
"""

from __future__ import annotations

import sympy as sp
from sympy.printing.str import StrPrinter

from .derive import is_placeholder
from .escape import markdown_fence, markdown_inline, visible
from .ops import Form
from .printer import Printer, format_number, sympy_prec

__all__ = ["TextPrinter", "MarkdownPrinter"]


class TextPrinter(Printer):
    """Plain Unicode text, one step per line.

    Settings: ``digits`` (significant digits; default: the derivation's),
    ``indent`` (the prefix of each step line), ``headings`` (print the
    "Forward pass" / "Backward pass" lines).

    Examples
    --------
    >>> import symgrad as sg
    >>> g = sg.parse("sqrt(x**2 + exp(x**2)) + cos(x**2 + exp(x**2))")
    >>> print(TextPrinter(digits=3, indent="").derivation(sg.derive(g, x=2.0)).splitlines()[2])
    b = exp(a) = 54.6
    """

    _default_settings = {"digits": None, "indent": "  ", "headings": True}

    def name(self, node: str) -> str:
        return visible(node)

    def form(self, op) -> Form:
        return op.text

    def expr(self, generic: sp.Expr, names: tuple) -> tuple[str, int]:
        hit = self._cache.get(generic)
        if hit is None:
            s = _Str(self.name).doprint(generic)
            hit = self._cache[generic] = (s, sympy_prec(generic))
        s, prec = hit
        for k, n in enumerate(names):
            s = s.replace(f"\x01{k}\x02", self.name(n))
        return s, prec

    def partial(self, out: str, node: str) -> str:
        return f"∂{self.name(out)}/∂{self.name(node)}"

    def quantity(self, q: tuple) -> str:
        sub = ",".join(map(str, q[1:]))
        return f"{q[0]}_{sub}" if len(q) == 2 else f"{q[0]}_{{{sub}}}"

    # -- layout -------------------------------------------------------------------
    def forward_line(self, step) -> str:
        rhs = f"{self.name(step.node)} = {self.rhs(step)}"
        return rhs if step.value is None else f"{rhs} = {self.number(step.value)[0]}"

    def backward_line(self, step) -> str:
        left, chain, subst, value = self.backward_parts(step)
        if not step.terms:
            return f"{left} = {value}"
        tail = f" = {value}" if value else ""
        return f"{left} = {' + '.join(chain)} = {self.signed_sum(subst)}{tail}"

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
        for o in d.outputs:
            lines = [self.backward_line(s) for s in d.backward if s.output == o]
            out.append((f"Backward pass: adjoints ∂{self.heading_name(o)}/∂node", lines))
        return out

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

    _default_settings = {"digits": None, "indent": "", "headings": True}

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


class _Str(StrPrinter):
    """SymPy's ``str`` printer (``full_prec=False``) writing node symbols by their
    printed names; placeholders stay for :meth:`TextPrinter.expr` to replace."""

    def __init__(self, name) -> None:
        super().__init__({"full_prec": False})
        self._name = name

    def _print_Symbol(self, expr) -> str:
        return expr.name if is_placeholder(expr) else self._name(expr.name)
