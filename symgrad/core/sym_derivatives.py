"""SymPy functions for the derivatives' own ops: ``step`` and ``ifpos``.

They are what the op table's ``step`` and ``ifpos`` are on the SymPy backend
(``SYM.heaviside``, ``SYM.ifpos``), so a gradient graph turned into SymPy
prints them by name and differentiates them with the numeric conventions:
``step'(x) = 0`` everywhere (also at 0, where SymPy's ``Heaviside`` would give
``DiracDelta``), ``d ifpos(c, a, b)/dc = 0``.  Each evaluates on numbers,
rewrites to Piecewise, prints to LaTeX and lambdifies to numpy.
"""

from __future__ import annotations

import sympy as sp
from sympy.core.logic import fuzzy_and

__all__ = ["step", "ifpos", "as_op_head"]


def _np(printer, name: str) -> str:
    return printer._module_format(f"numpy.{name}")


def _power(tex: str, exp) -> str:
    return tex if exp is None else f"{tex}^{{{exp}}}"


class step(sp.Function):  # noqa: N801 - SymPy function names are lower case
    """1 for x > 0, else 0 (``heaviside(x, 0)``: relu's derivative), derivative 0."""

    nargs = 1

    @classmethod
    def eval(cls, x):
        if x.is_extended_positive:
            return sp.S.One
        if x.is_extended_nonpositive:
            return sp.S.Zero
        return None

    def fdiff(self, argindex=1):
        return sp.S.Zero

    def _eval_is_extended_real(self):
        return self.args[0].is_extended_real

    def _eval_rewrite_as_Piecewise(self, x, **kwargs):
        return sp.Piecewise((1, x > 0), (0, True))

    def _eval_rewrite_as_Heaviside(self, x, **kwargs):
        return sp.Heaviside(x, 0)

    def _numpycode(self, printer):
        return f"{_np(printer, 'heaviside')}({printer._print(self.args[0])}, 0.0)"

    def _latex(self, printer, exp=None):
        return _power(rf"\operatorname{{step}}\left({printer._print(self.args[0])}\right)", exp)


class ifpos(sp.Function):  # noqa: N801
    """a where c > 0, else b; derivative 0 in c."""

    nargs = 3

    @classmethod
    def eval(cls, c, a, b):
        if c.is_extended_positive:
            return a
        if c.is_extended_nonpositive:
            return b
        if a == b:
            return a
        return None

    def fdiff(self, argindex=1):
        c = self.args[0]
        return (sp.S.Zero, ifpos(c, 1, 0), ifpos(c, 0, 1))[argindex - 1]

    def _eval_is_extended_real(self):
        return fuzzy_and(a.is_extended_real for a in self.args[1:])

    def _eval_rewrite_as_Piecewise(self, c, a, b, **kwargs):
        return sp.Piecewise((a, c > 0), (b, True))

    def _numpycode(self, printer):
        c, a, b = (printer._print(x) for x in self.args)
        return f"{_np(printer, 'where')}(({c}) > 0, {a}, {b})"

    def _latex(self, printer, exp=None):
        c, a, b = (printer._print(x) for x in self.args)
        return _power(rf"\operatorname{{ifpos}}\left({c}, {a}, {b}\right)", exp)


def as_op_head(expr: sp.Basic) -> sp.Basic:
    """``expr`` itself, or ``step(x)`` for SymPy's ``Heaviside(x, 0)``: relu's
    derivative (written with SymPy's Heaviside by the SymPy backend) printed as
    the grammar's ``step`` op, which a student can type.  Printers call this on
    each sub-expression before looking up the op that prints it."""
    if isinstance(expr, sp.Heaviside) and expr.args[1:] == (0,):
        return step(expr.args[0])
    return expr
