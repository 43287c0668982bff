"""What every derivation printer shares.

Settings are data (``_default_settings``; an unknown key is an error), one
function decides parentheses from a :class:`~symgrad.core.ops.Form`'s ``prec`` and
``binds`` (:func:`parenthesize`), and :class:`Printer` lays out the lecture's
steps once (:meth:`Printer.forward_line`, :meth:`Printer.backward_line`) from a
few hooks that each output language fills in: how a node name, a number, an op,
a derivative symbol, a product and a line look.

A local derivative or a symbolic adjoint is a SymPy expression; it prints
through SymPy's printer for the arithmetic layout (sums, products, fractions,
powers: the same text as the op table's forms), but every op of the table
prints from the printer's own form of that op (:class:`SympyForms`), found from
the SymPy heads the op table produces (:func:`sympy_heads`): so ``cos(c)`` in a
forward step and ``-sin(c)`` in its derivative come from one source.
"""

from __future__ import annotations

import functools
import math
import re
from typing import Any, Callable

import sympy as sp
from sympy.printing.precedence import precedence

from ..errors import InputError
from ..core.graph import is_node
from ..core.sym_derivatives import as_op_head
from ..core.ops import ADD, ATOM, MUL, NEG, OPS, POW, SYM, Form, Op
from ..core.ops import sympy_heads as _ops_sympy_heads
from .local import named_functions

__all__ = ["Printer", "SympyForms", "parenthesize", "sympy_prec", "render_form", "juxtapose", "format_number",
           "sympy_heads", "op_computing", "sum_of_products"]


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

    >>> from symgrad.core.ops import OPS
    >>> render_form(OPS["mul"].text, [("a + b", ADD), ("c", ATOM)])
    '(a + b)*c'
    """
    if form.pair:                       # a pair op: each pair by its own template, then joined
        done = []
        product = form.pair in _product_templates()
        for (a, pa), (b, pb) in zip(parts[0::2], parts[1::2], strict=True):
            a, b = parenthesize(a, pa, form.binds[0], left, right), parenthesize(b, pb, form.binds[1], left, right)
            done.append(a if b == "1" and product else
                        juxtapose(a, b) if form.pair == "{0} {1}" else form.pair.format(a, b))
        return form.template.format(form.sep.join(done))
    if form.sep:
        return form.template.format(form.sep.join(parenthesize(s, p, form.binds[0], left, right)
                                                  for s, p in parts))
    wrapped = [parenthesize(s, p, need, left, right)
               for (s, p), need in zip(parts, form.binds, strict=False)]
    if form.template == "{0} {1}":                 # a product written by juxtaposition
        return juxtapose(*wrapped)
    return form.template.format(*wrapped, *[s for s, _ in parts[len(wrapped):]])


def juxtapose(a: str, b: str) -> str:
    """A product written side by side (LaTeX), with ``\\cdot`` where that would
    mislead: after a word (``lr w`` would read ``lrw``), after ``d`` (``d f`` reads
    as a differential), between digits (``2 3`` would read 23).  Single letters
    (``a b``), a number before a letter (``2 x``), a subscripted name (``w_{1} x``)
    or a command (``\\sin``) stay side by side.

    >>> print(juxtapose("lr", "w"), "|", juxtapose("d", "f"), "|", juxtapose("a", "b"), "|",
    ...       juxtapose("2", "x"), "|", juxtapose("2", "3"), "|", juxtapose("w_{1}", "x_{1}"))
    lr \\cdot w | d \\cdot f | a b | 2 x | 2 \\cdot 3 | w_{1} x_{1}
    """
    last, first = a[-1:], b[:1]
    word = re.search(r"[A-Za-z]+$", a)
    if (word and (len(word.group()) > 1 or a == "d") and (first.isalnum() or first == "-")) or \
            (last.isdigit() and (first.isdigit() or first in "-.")):
        return f"{a} \\cdot {b}"
    return f"{a} {b}"


def _product(a, b):
    return a * b


def _sum(a, b):
    return a + b


def _product_templates() -> set:
    """The product op's templates (text and LaTeX): a pair written with one of
    them drops a factor printed as ``1`` (``w_0 1`` is ``w_0``)."""
    mul = op_computing(_product, 2)
    return {mul.text.template, mul.latex.template}


def sum_of_products(form: Form) -> Form:
    """The text form of a ``linear`` pair op (a weighted sum) written out as a
    sum of products, from the product op's and the addition op's own forms:
    ``w1_0_1 + w1_1_1*x1 + w1_2_1*x2``."""
    mul, add = op_computing(_product, 2), op_computing(_sum, 2)
    return Form("{0}", add.text.prec, mul.text.binds, add.text.template.format("", ""),
                mul.text.template)


def format_number(v: float, digits: int) -> str:
    """``v`` to ``digits`` significant digits (``58.598``, ``4``, ``-0.82228``)."""
    if math.isnan(v):
        return "nan"
    if math.isinf(v):
        return "inf" if v > 0 else "-inf"
    s = f"{v:.{digits}g}"
    return "0" if s == "-0" else s


sympy_heads = _ops_sympy_heads     # derived from the op table (symgrad.core.ops), kept current by register()


@functools.lru_cache(maxsize=None)
def op_computing(formula: Callable, arity: int = 1) -> Op:
    """The op of the table whose SymPy formula is ``formula`` (a lambda over
    ``arity`` symbols): how a printer finds the op that writes, say, a negation.

    >>> op_computing(lambda a: -a).name, op_computing(lambda a, b: a**b, 2).name
    ('neg', 'pow')
    """
    xs = sp.symbols(f"h0:{arity}", real=True)
    want = formula(*xs)
    for op in OPS.values():
        if op.accepts(arity) and op.arity == arity and op.apply(SYM, *xs) == want:
            return op
    raise LookupError(f"no op of the table computes {want}")


class SympyForms:
    """Mixin for a SymPy printer class: symbols print by the symgrad printer's
    :meth:`Printer.symbol`, every op of
    the table (:func:`sympy_heads`) from the printer's own form of it, a
    negated product or fraction from the negation op's form, and a power of
    an op from the power op's form.  Construct it as ``cls(printer, settings)``."""

    def __init__(self, printer: "Printer", settings: dict | None = None) -> None:
        self._slides = printer._lecture is not None
        super().__init__({**(settings or {}), **({"order": "none"} if self._slides else {})})
        self._sg = printer

    # The slides' derivation writes sums with their positive terms first
    # (``yhat1 - y1``, ``sigmoid(z) - y``) and products with sums last
    # (``sigmoid(a)*(1 - sigmoid(a))``), as the lecture does.
    def _print_Add(self, expr, order=None):
        if self._slides:
            terms = sorted(expr.as_ordered_terms(), key=lambda t: t.could_extract_minus_sign())
            expr = sp.Add(*terms, evaluate=False)
        return super()._print_Add(expr, order=order)

    def _form(self, op: Op, parts: list[tuple[str, int]]) -> str:
        return render_form(self._sg.form(op), parts, *self._sg.paren)

    def _print_Float(self, expr) -> str:
        """The constants ``e`` and ``pi`` (which the grammar reads as floats) by name."""
        name = self._sg.constant(float(expr))
        return name if name is not None else super()._print_Float(expr)

    def _print_Symbol(self, expr, *args, **kwargs) -> str:
        return self._sg.symbol(expr)

    def _print(self, expr, **kwargs):
        expr = as_op_head(expr)                 # Heaviside(x, 0) prints as the step op
        op = sympy_heads().get(type(expr)) or named_functions()[1].get(type(expr))
        if op is None:
            return super()._print(expr, **kwargs)
        s = self._form(op, [(self._print(a), sympy_prec(a)) for a in expr.args])
        return self._power(s, kwargs.get("exp"))

    def _power(self, s: str, exp) -> str:
        """``s`` (an atom) to the printed power ``exp`` (SymPy passes ``exp=`` for
        a power of a function), if any."""
        if exp is None:
            return s
        return self._form(op_computing(lambda a, b: a**b, 2), [(s, ATOM), (str(exp), ATOM)])

    def _negated(self, s: str, body_prec: int) -> str:
        """SymPy's ``-body`` written with the negation op's form instead of its own sign."""
        if not s.startswith("-"):
            return s
        return self._form(op_computing(lambda a: -a), [(s[1:].lstrip(), body_prec)])

    def _print_Mul(self, expr, *args, **kwargs):
        if self._slides and isinstance(expr, sp.Mul):
            factors = sorted(expr.as_ordered_factors(), key=lambda f: f.is_Add)
            expr = sp.Mul(*factors, evaluate=False)
        s = super()._print_Mul(expr, *args, **kwargs)
        if isinstance(expr, sp.Mul) and expr.could_extract_minus_sign():
            return self._negated(s, ATOM if (-expr).is_Add else MUL)   # SymPy wrapped a sum
        return s

    def _print_Rational(self, expr):
        return self._negated(super()._print_Rational(expr), MUL)


class Printer:
    """Base class: settings handling and the lecture's layout of the steps,
    written once (:meth:`forward_line`, :meth:`backward_line`, :meth:`equation`).

    An output language is a set of hooks: the methods ``name`` (a node), ``dot``
    (its tangent),
    ``number``, ``form`` (an op's template), ``partial`` (a derivative symbol),
    ``quantity`` (a lecture label), ``per_line`` (wrapping), the SymPy printer
    class ``sympy_printer`` (local derivatives), and the strings ``times``,
    ``chain_times``, ``dot_times`` (products), ``paren``, ``align``, ``row_sep`` and
    ``continued`` (the line's marks).
    """

    _default_settings: dict[str, Any] = {"digits": None}

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
    times = " * "                       # a consumer's adjoint times a local derivative
    dot_times = " · "                   # forward mode: d node/d argument times the argument's tangent
    chain_times = " * "                 # d out/d consumer times d consumer/d node
    paren = ("(", ")")                  # parentheses around an argument
    align = ""                          # the mark before a step's first "=" (LaTeX: "&")
    row_sep = "\n"                      # between the rows of a wrapped step
    continued = "    "                  # the start of a wrapped sum's continuation row
    sympy_printer: type | None = None   # a SympyForms printer class (SymPy expressions)

    def name(self, node: str) -> str:
        return node

    def symbol(self, s: sp.Symbol) -> str:
        """A SymPy symbol inside an expression: a node's symbol by its name."""
        return self.name(s.name)

    def number(self, v: float) -> tuple[str, int]:
        s = format_number(v, self.digits)
        return s, NEG if s.startswith("-") else ATOM

    def form(self, op) -> Form:
        """How this language writes ``op`` (the op table's ``text`` or ``latex`` Form)."""
        raise NotImplementedError

    def partial(self, out: str, node: str) -> str:
        raise NotImplementedError

    def quantity(self, q: tuple) -> str:
        raise NotImplementedError

    def dot(self, node: str) -> str:
        """A node's tangent (forward mode), Newton's dot over its name."""
        raise NotImplementedError

    def per_line(self) -> int | None:
        """Terms per row of a wrapped sum; None: a step is always one line."""
        return None

    def expr(self, generic: sp.Expr, names: tuple) -> tuple[str, int]:
        """A SymPy expression (a local derivative in placeholders, whose k-th is
        ``names[k]``, or an adjoint in node symbols) as ``(text, prec)``,
        printed once per expression by :attr:`sympy_printer`."""
        hit = self._cache.get(generic)
        if hit is None:
            s = self.sympy_printer(self).doprint(generic)
            hit = self._cache[generic] = (s, sympy_prec(generic))
        s, prec = hit
        for k, n in enumerate(names):
            s = s.replace(f"\x01{k}\x02", self.name(n))
        return s, prec

    # -- shared layout ----------------------------------------------------------
    _derivation_digits = 5
    _labels: dict = {}
    _lecture = None

    @property
    def digits(self) -> int:
        """Significant digits: the ``digits`` setting, else the derivation's."""
        return self._settings["digits"] or self._derivation_digits

    def wrap(self, s: str, prec: int, need: int) -> str:
        """``s`` in this language's parentheses if the slot needs them."""
        return parenthesize(s, prec, need, *self.paren)

    constants: dict = {math.e: "e", math.pi: "pi"}     # how this language names them

    def constant(self, v: float) -> str | None:
        """The name of the constant ``v`` (``e``, ``pi``: the grammar reads them as
        these floats), or None: a literal ``e`` prints as ``e``, not 2.7183."""
        return self.constants.get(v) if type(v) is float else None

    def arg(self, a) -> tuple[str, int]:
        """A node argument by its display name, or a literal (a constant by name)."""
        if is_node(a):
            return self.name(a), ATOM
        name = self.constant(a)
        return (name, ATOM) if name is not None else self.number(a)

    def rhs(self, step) -> str:
        """``op(args)`` of a forward step, from the op's template."""
        return render_form(self.form(step.op), [self.arg(a) for a in step.args], *self.paren)

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
        """Read the derivation's defaults (digits, quantity labels, whether it
        is the slides' derivation) before printing."""
        self._derivation_digits = derivation.digits
        self._lecture = derivation.lecture
        self._labels = {} if self._lecture is None else self._lecture.quantities()

    def backward_parts(self, step) -> tuple[str, list[str], list[str], str]:
        """(left side, chain terms, substituted terms, value) of a backward step."""
        return self.adjoint_name(step), self.chain(step), self.substituted(step), self.value_of(step)

    # -- the one layout of a step --------------------------------------------------
    def forward_line(self, step) -> str:
        """``node = op(args) = value`` (no value in symbolic mode)."""
        sides = [self.rhs(step)]
        if step.value is not None:
            sides.append(self.number(step.value)[0])
        return self.equation(self.name(step.node), sides)

    def backward_line(self, step) -> str:
        """``d out/d node = sum over consumers of d out/d consumer * d consumer/d node
        = the local derivatives substituted = value``; the output's own step is
        ``d out/d out = 1``.  Without a value (a symbolic adjoint not written
        out) the substituted sum is the answer."""
        if self._lecture is not None:
            return self.slides_line(step)
        left, chain, subst, value = self.backward_parts(step)
        if not step.terms:
            return self.equation(left, [value])
        return self.equation(left, [chain, subst] + ([value] if value else []))

    def slides_line(self, step) -> str:
        """A step of the slides' derivation: ``B_{3,1} = d loss/d a1_1 =
        B_{2,1} * (1 - tanh(a1_1)**2) = 0.087927 * 0.96162 = 0.084552``.  Per
        consumer, its label (``B_{2,1}``; none for the loss itself, whose
        adjoint is 1) times the local derivative (none where it is 1); then the
        same products in numbers (left out where they would only repeat the
        value); then the value."""
        left = self.adjoint_name(step)
        if not step.terms:
            return self.equation(left, ["1"])
        formula, numbers = [], []
        for t in step.terms:
            seed = None if t.consumer == step.output else (self.seed_of(step, t), ATOM)
            local = None if t.generic == 1 else self.expr(t.generic, t.names)
            formula.append(self.product(seed, local, self.chain_times))
            if t.seed is not None:
                numbers.append(self.product(seed and self.number(t.seed),
                                            local and self.number(t.local_value), self.times))
        value = self.value_of(step)
        sides = [formula]
        if numbers and [self.signed_sum(numbers)] != [value]:
            sides.append(numbers)
        return self.equation(left, sides + ([value] if value else []))

    def tangent_line(self, step, seeds) -> str:
        """Forward mode: ``ċ = ∂c/∂a · ȧ + ∂c/∂b · ḃ = local * tangent + ... = value``,
        the sum over the node's arguments carrying a tangent; an input's line is
        its seed (``ẋ = 1``), a node depending on no seeded input has ``ċ = 0``."""
        left = self.dot(step.node)
        if not step.terms:
            return self.equation(left, [self.number(seeds.get(step.node, 0.0))[0]])
        chain = [self.partial(t.consumer, t.node) + self.dot_times + self.dot(t.node) for t in step.terms]
        subst = []
        for t in step.terms:
            local, prec = self.expr(t.generic, t.names)
            subst.append(self.product((local, prec), self.number(t.seed), self.times))
        return self.equation(left, [chain, subst, self.number(step.value)[0]])

    def product(self, a: tuple | None, b: tuple | None, times: str) -> str:
        """``a times b`` of two printed factors ``(text, prec)`` (the second
        parenthesized as a product needs); a missing factor is 1."""
        if a is None and b is None:
            return "1"
        if a is None or b is None:
            return (a or b)[0]
        return a[0] + times + self.wrap(b[0], b[1], MUL + 1 if b[1] == NEG else MUL)

    def equation(self, left: str, sides: list) -> str:
        """``left = side = side ...``, each side a string or a sum (a list of
        terms).  A printer that wraps (:meth:`per_line`) writes a step whose
        first sum has more than two terms as rows of ``per_line`` terms, each
        side starting a row with ``=``."""
        n = self.per_line()
        if n is None or isinstance(sides[0], str) or len(sides[0]) <= 2:
            rhs = " = ".join(s if isinstance(s, str) else self.signed_sum(s) for s in sides)
            return f"{left} {self.align}= {rhs}"
        rows = []
        for i, side in enumerate(sides):
            lines = [side] if isinstance(side, str) else self.wrapped(side, n)
            for j, line in enumerate(lines):
                start = self.continued if j else f"{self.align}= " if i else f"{left} {self.align}= "
                rows.append(start + line)
        return self.row_sep.join(rows)

    def wrapped(self, parts: list[str], n: int) -> list[str]:
        """A sum of ``parts`` in rows of ``n`` terms (continuation rows signed)."""
        lines = []
        for i in range(0, len(parts), max(1, n)):
            s = self.signed_sum(parts[i:i + max(1, n)])
            if i:
                s = ("- " + s[1:].lstrip()) if s.startswith("-") else "+ " + s
            lines.append(s)
        return lines
