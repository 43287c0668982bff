"""SymPy functions for the activations SymPy lacks: relu, leaky_relu, elu.

Each differentiates with the numeric convention at its kink (relu'(0) = 0,
leaky_relu'(0) = slope, elu'(0) = alpha, as PyTorch), evaluates on numbers,
nests without Piecewise blow-up, rewrites to Piecewise, prints to LaTeX, and
lambdifies to numpy.
"""

from __future__ import annotations

import sympy as sp

__all__ = ["relu", "leaky_relu", "elu"]


def _power(tex: str, printer, exp) -> str:
    """SymPy's LaTeX printer passes ``exp`` when the function is raised to a power."""
    return tex if exp is None else f"{tex}^{{{exp}}}"


def _np(printer, name: str) -> str:
    return printer._module_format(f"numpy.{name}")


class relu(sp.Function):  # noqa: N801 - SymPy function names are lower case
    """max(x, 0), with derivative Heaviside(x, 0)."""

    nargs = 1

    @classmethod
    def eval(cls, x):
        if x.is_extended_positive:
            return x
        if x.is_extended_nonpositive:
            return sp.S.Zero
        return None

    def fdiff(self, argindex=1):
        return sp.Heaviside(self.args[0], 0)

    def _eval_is_extended_real(self):
        return self.args[0].is_extended_real

    def _eval_rewrite_as_Piecewise(self, x, **kwargs):
        return sp.Piecewise((x, x > 0), (0, True))

    def _numpycode(self, printer):
        return f"{_np(printer, 'maximum')}({printer._print(self.args[0])}, 0.0)"

    def _latex(self, printer, exp=None):
        return _power(rf"\operatorname{{relu}}\left({printer._print(self.args[0])}\right)", printer, exp)


class leaky_relu(sp.Function):  # noqa: N801
    """x for x > 0, slope * x otherwise."""

    nargs = 2

    @classmethod
    def eval(cls, x, slope):
        if x.is_extended_positive:
            return x
        if x.is_extended_nonpositive and slope.is_number:
            return slope * x
        return None

    def fdiff(self, argindex=1):
        x, slope = self.args
        if argindex == 1:
            return sp.Piecewise((1, x > 0), (slope, True))
        return sp.Piecewise((0, x > 0), (x, True))

    def _eval_is_extended_real(self):
        return self.args[0].is_extended_real

    def _eval_rewrite_as_Piecewise(self, x, slope, **kwargs):
        return sp.Piecewise((x, x > 0), (slope * x, True))

    def _numpycode(self, printer):
        x, s = (printer._print(a) for a in self.args)
        return f"{_np(printer, 'where')}(({x}) > 0, {x}, ({s})*({x}))"

    def _latex(self, printer, exp=None):
        return _power(rf"\operatorname{{leaky\_relu}}\left({printer._print(self.args[0])}\right)",
                      printer, exp)


class elu(sp.Function):  # noqa: N801
    """x for x > 0, alpha * (exp(x) - 1) otherwise."""

    nargs = 2

    @classmethod
    def eval(cls, x, alpha):
        if x.is_extended_positive:
            return x
        if x.is_extended_nonpositive and alpha.is_number:
            return alpha * (sp.exp(x) - 1)
        return None

    def fdiff(self, argindex=1):
        x, alpha = self.args
        if argindex == 1:
            return sp.Piecewise((1, x > 0), (alpha * sp.exp(x), True))
        return sp.Piecewise((0, x > 0), (sp.exp(x) - 1, True))

    def _eval_is_extended_real(self):
        return self.args[0].is_extended_real

    def _eval_rewrite_as_Piecewise(self, x, alpha, **kwargs):
        return sp.Piecewise((x, x > 0), (alpha * (sp.exp(x) - 1), True))

    def _numpycode(self, printer):
        x, a = (printer._print(a) for a in self.args)
        return (f"{_np(printer, 'where')}(({x}) > 0, {x}, ({a})*"
                f"{_np(printer, 'expm1')}({_np(printer, 'minimum')}({x}, 0.0)))")

    def _latex(self, printer, exp=None):
        return _power(rf"\operatorname{{elu}}\left({printer._print(self.args[0])}\right)", printer, exp)
