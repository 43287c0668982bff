"""What every derivation printer shares.

Settings are data (``_default_settings``; an unknown key is an error), one
function decides parentheses from a :class:`~symgrad.ops.Form`'s ``prec`` and
``binds`` (:func:`parenthesize`), and :class:`Printer` writes the lecture's
steps from a few hooks that the text and LaTeX printers fill in: how a node
name, a number, a SymPy expression and a derivative look.
"""

from __future__ import annotations

import math
from typing import Any

import sympy as sp
from sympy.printing.precedence import precedence

from .errors import InputError
from .graph import is_node
from .ops import ADD, ATOM, MUL, NEG, POW, Form

__all__ = ["Printer", "parenthesize", "sympy_prec", "render_form", "format_number"]


def parenthesize(s: str, prec: int, need: int, left: str = "(", right: str = ")") -> str:
    """``s`` (whose result binds with ``prec``) in parentheses if the slot needs
    at least ``need``: the one place that decides parentheses.

    >>> parenthesize("a + b", ADD, MUL), parenthesize("a b", MUL, MUL)
    ('(a + b)', 'a b')
    """
    return f"{left}{s}{right}" if prec < need else s


def sympy_prec(expr: sp.Expr) -> int:
    """SymPy's precedence of ``expr`` on the op table's scale (ADD, MUL, POW, ATOM);
    negative numbers and negated products bind like a sum."""
    p = precedence(expr)
    return ADD if p <= 40 else MUL if p <= 50 else POW if p <= 60 else ATOM


def render_form(form: Form, parts: list[tuple[str, int]], left: str = "(",
                right: str = ")") -> str:
    """An op's template filled with printed arguments ``(text, prec)``, each
    parenthesized as the form's ``binds`` require (n-ary forms join with ``sep``).

    >>> from symgrad.ops import OPS
    >>> render_form(OPS["mul"].text, [("a + b", ADD), ("c", ATOM)])
    '(a + b)*c'
    """
    if form.sep:
        return form.template.format(form.sep.join(parenthesize(s, p, form.binds[0], left, right)
                                                  for s, p in parts))
    wrapped = [parenthesize(s, p, need, left, right)
               for (s, p), need in zip(parts, form.binds, strict=False)]
    return form.template.format(*wrapped, *[s for s, _ in parts[len(wrapped):]])


def format_number(v: float, digits: int) -> str:
    """``v`` to ``digits`` significant digits (``58.598``, ``4``, ``-0.82228``)."""
    if math.isnan(v):
        return "nan"
    if math.isinf(v):
        return "inf" if v > 0 else "-inf"
    s = f"{v:.{digits}g}"
    return "0" if s == "-0" else s


class Printer:
    """Base class: settings handling and the lecture's layout of the steps.

    Subclasses set the hooks ``name``, ``number``, ``expr``, ``partial`` and the
    strings ``times`` (a product of two factors) and ``paren`` (left, right).
    """

    _default_settings: dict[str, Any] = {"digits": None}
    times = " * "
    chain_times = " * "
    paren = ("(", ")")

    def __init__(self, **settings: Any) -> None:
        unknown = sorted(set(settings) - set(self._default_settings))
        if unknown:
            raise InputError(f"unknown {type(self).__name__} setting(s) {', '.join(map(repr, unknown))}; "
                             f"known settings: {', '.join(self._default_settings)}")
        for key, v in settings.items():
            default = self._default_settings[key]
            if key == "digits" or type(default) is int:
                ok = (v is None and key == "digits") or (type(v) is int and 1 <= v <= 1000)
                want = "an int in 1..1000"
            else:
                ok = default is None or type(v) is type(default)
                want = f"a {type(default).__name__} such as {default!r}"
            if not ok:
                raise InputError(f"{type(self).__name__} setting {key}= must be {want}, got {v!r}")
        self._settings = {**self._default_settings, **settings}
        self._cache: dict = {}

    # -- hooks ----------------------------------------------------------------
    def name(self, node: str) -> str:
        return node

    def number(self, v: float) -> tuple[str, int]:
        s = format_number(v, self.digits)
        return s, NEG if s.startswith("-") else ATOM

    def expr(self, generic: sp.Expr, names: tuple) -> tuple[str, int]:
        raise NotImplementedError

    def partial(self, out: str, node: str) -> str:
        raise NotImplementedError

    def quantity(self, q: tuple) -> str:
        raise NotImplementedError

    # -- shared layout ----------------------------------------------------------
    _derivation_digits = 5
    _labels: dict = {}

    @property
    def digits(self) -> int:
        """Significant digits: the ``digits`` setting, else the derivation's."""
        return self._settings["digits"] or self._derivation_digits

    def wrap(self, s: str, prec: int, need: int) -> str:
        return parenthesize(s, prec, need, *self.paren)

    def arg(self, a) -> tuple[str, int]:
        """A node argument by its display name, or a literal."""
        return (self.name(a), ATOM) if is_node(a) else self.number(a)

    def rhs(self, step) -> str:
        """``op(args)`` of a forward step, from the op's template."""
        return render_form(self.form(step.op), [self.arg(a) for a in step.args], *self.paren)

    def form(self, op) -> Form:
        raise NotImplementedError

    def adjoint_name(self, step) -> str:
        """The left side of a backward step: ``B_{3,1} = d out/d node`` or ``d out/d node``."""
        d = self.partial(step.output, step.node)
        return f"{self.quantity(step.quantity)} = {d}" if step.quantity else d

    def seed_of(self, step, term) -> str:
        """The consumer's adjoint in a chain: its label, or d out / d consumer."""
        q = self._labels.get(term.consumer)
        return self.quantity(q) if q else self.partial(step.output, term.consumer)

    def chain(self, step) -> list[str]:
        """``d out/d consumer * d consumer/d node`` per term."""
        return [self.seed_of(step, t) + self.chain_times + self.partial(t.consumer, t.node)
                for t in step.terms]

    def substituted(self, step) -> list[str]:
        """``seed * local`` per term; a negative seed is written as a sign."""
        out = []
        for t in step.terms:
            seed = t.seed
            if isinstance(seed, (int, float)) or (isinstance(seed, sp.Expr) and seed.is_Number):
                v = float(seed)
                s, _ = self.number(abs(v))
                sign = "-" if v < 0 else ""              # -0.0 prints as 0
            else:
                s, sign = self.seed_of(step, t), ""
            local, prec = self.expr(t.generic, t.names)
            out.append(sign + s + self.times + self.wrap(local, prec, MUL))
        return out

    def signed_sum(self, parts: list[str]) -> str:
        """Terms joined with ``+``, or ``-`` where a term starts with a minus sign."""
        s = ""
        for i, p in enumerate(parts):
            neg = p.startswith("-")
            body = p[1:].lstrip() if neg else p
            s += ("-" if neg else "") + body if i == 0 else (" - " if neg else " + ") + body
        return s

    def value_of(self, step) -> str:
        """The adjoint's number, or in symbolic mode its expression ("" when the
        derivation did not expand it: the substituted chain rule is the answer)."""
        if step.value is not None:
            return self.number(step.value)[0]
        if step.expr is None:
            return ""
        return self.expr(step.expr, ())[0]

    def prepare(self, derivation) -> None:
        """Read the derivation's defaults (digits, quantity labels) before printing."""
        self._derivation_digits = derivation.digits
        self._labels = {s.node: s.quantity for s in derivation.backward if s.quantity}

    def backward_parts(self, step) -> tuple[str, list[str], list[str], str]:
        """(left side, chain terms, substituted terms, value) of a backward step."""
        return self.adjoint_name(step), self.chain(step), self.substituted(step), self.value_of(step)
