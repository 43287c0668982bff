"""THE op table: every operation declared once.

Each :class:`Op` gives its numeric and symbolic meaning through one pair of
formulas, ``apply(m, *args)`` and ``partials(m, out, *args)``, written against a
backend namespace ``m``: :data:`NUM` (numpy, with numerically stable forms) or
:data:`SYM` (SymPy, plain formulas).  So the numeric derivative and the symbolic
derivative are the same formula, and a convention at a non-differentiable point
is stated once (``step`` is ``heaviside(x, 0)`` on both sides: relu'(0) = 0, as
PyTorch).  No other module branches on op names: dispatch is ``OPS[name]``.
"""

from __future__ import annotations

import functools
import math
import operator
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Callable

import numpy as np
import sympy as sp

from . import sym_functions as _symf

__all__ = ["Op", "Form", "OPS", "NUM", "SYM", "MATH", "ADD", "NEG", "MUL", "POW", "ATOM", "TEXT_FUNCTIONS"]

ADD, NEG, MUL, POW, ATOM = 10, 15, 20, 30, 100      # binding strength, printers only


def _sigmoid(x):
    e = np.exp(-np.abs(x))                           # never overflows
    return np.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def _softplus(x):
    return np.maximum(x, 0.0) + np.log1p(np.exp(-np.abs(x)))


def _logsumexp(*xs):
    top = functools.reduce(np.maximum, xs)
    top = np.where(np.isfinite(top), top, 0.0)
    # left to right, starting from the first term: builtin sum() is compensated
    # for floats since Python 3.12, which would break bit-exactness (issue 11)
    return top + np.log(functools.reduce(operator.add, [np.exp(x - top) for x in xs]))


def _dpow(a, k):
    """d a**k / da; 0 when k == 0 (as PyTorch), also at a == 0."""
    return np.where(np.equal(k, 0), 0.0, k * np.power(a, np.subtract(k, 1)))


def _dpow_k(out, a, k):
    """d a**k / dk = a**k log a; 0 where a == 0 and k >= 0, as PyTorch."""
    return np.where(np.equal(a, 0) & np.greater_equal(k, 0), 0.0, out * np.log(a))


NUM = SimpleNamespace(
    exp=np.exp, log=np.log, sin=np.sin, cos=np.cos, tan=np.tan, tanh=np.tanh,
    sqrt=np.sqrt, abs=np.abs, sign=np.sign, pow=np.power, div=np.divide,
    where=np.where, step=lambda x: np.heaviside(x, 0.0),
    relu=lambda x: np.maximum(x, 0.0), sigmoid=_sigmoid, softplus=_softplus,
    leaky_relu=lambda x, s: np.where(x > 0, x, s * x),
    elu=lambda x, al: np.where(x > 0, x, al * np.expm1(np.minimum(x, 0.0))),
    logsumexp=_logsumexp, expm1_neg=lambda x: np.expm1(np.minimum(x, 0.0)),
    dpow=_dpow, dpow_k=_dpow_k,
)


# -- the scalar backend of the lowered code (symgrad.lower) --------------------
# Python floats: arithmetic and sqrt are IEEE correctly rounded, so Python gives
# numpy's bits; transcendental functions call numpy's own kernel on the float
# (~0.1 us, bit for bit the reference's value; libm's math.exp differs in the last
# bit on ~4% of inputs).  Where numpy would return nan/inf with a warning, these
# raise (ValueError, ArithmeticError) and the lowered scalar program falls back to
# the numpy reference interpreter, so IEEE results stay exactly the same.

def _exact(f, lo=-math.inf, hi=math.inf):
    """numpy's kernel ``f`` on a float, raising outside ``lo < x < hi`` (and on nan)."""
    def g(x):
        if not lo < x < hi:
            raise ValueError(f"{f.__name__}({x}) is left to numpy")
        return float(f(x))
    g.__name__ = f.__name__
    return g


def _m_pow(a, k):
    if k == 2:                              # numpy's power squares: a * a, bit for bit
        return a * a
    if k == 1:
        return a
    math.pow(a, k)                          # raises wherever numpy would warn (overflow, domain)
    return float(np.power(a, k))


_m_exp, _m_log = _exact(np.exp, hi=709.0), _exact(np.log, lo=0.0)


def _m_sigmoid(x):
    e = _m_exp(-abs(x))
    return 1.0 / (1.0 + e) if x >= 0 else e / (1.0 + e)


def _m_step(x):
    return 1.0 if x > 0 else (0.0 if x <= 0 else x)          # nan stays nan


def _m_sign(x):
    return 1.0 if x > 0 else (-1.0 if x < 0 else (0.0 if x == 0 else x))   # +-0 -> 0.0 (numpy), nan -> nan


def _m_logsumexp(*xs):
    top = xs[0]
    for x in xs[1:]:
        top = x if (x > top or x != x) else top              # np.maximum: nan wins
    top = top if math.isfinite(top) else 0.0
    total = _m_exp(xs[0] - top)
    for x in xs[1:]:                                         # not sum(): see _logsumexp
        total += _m_exp(x - top)
    return top + _m_log(total)


MATH = SimpleNamespace(
    exp=_m_exp, log=_m_log, sin=_exact(np.sin), cos=_exact(np.cos), tan=_exact(np.tan),
    tanh=lambda x: float(np.tanh(x)), sqrt=math.sqrt, abs=abs, sign=_m_sign, pow=_m_pow,
    div=operator.truediv, where=lambda c, a, b: a if c else b, step=_m_step,
    relu=lambda x: x if x > 0.0 or x != x else 0.0, sigmoid=_m_sigmoid,   # relu(-0.0) = 0.0
    leaky_relu=lambda x, s: x if x > 0 else s * x,
    elu=lambda x, al: x if x > 0 else al * float(np.expm1(0.0 if x >= 0.0 else x)),
    softplus=lambda x: (0.0 if x <= 0 else x) + float(np.log1p(_m_exp(-abs(x)))),
    logsumexp=_m_logsumexp, expm1_neg=lambda x: float(np.expm1(0.0 if x >= 0.0 else x)),
    dpow=lambda a, k: 0.0 if k == 0 else k * _m_pow(a, k - 1),
    dpow_k=lambda out, a, k: 0.0 if a == 0 and k >= 0 else out * _m_log(a),
)

def _sym_where(cond, a, b):
    return sp.Piecewise((a, cond), (b, True))


def _sym_dpow_k(out, a, k):
    """d a**k / dk = a**k log a, and 0 where a == 0 and k >= 0 (as the numeric side
    and PyTorch).  SymPy drops the first piece where it can tell a != 0."""
    return sp.Piecewise((0, sp.And(sp.Eq(a, 0), k >= 0)), (out * sp.log(a), True))


SYM = SimpleNamespace(
    exp=sp.exp, log=sp.log, sin=sp.sin, cos=sp.cos, tan=sp.tan, tanh=sp.tanh,
    sqrt=sp.sqrt, abs=sp.Abs, sign=sp.sign, pow=lambda a, k: a**k, div=lambda a, b: a / b,
    where=_sym_where, step=lambda x: sp.Heaviside(x, 0),
    relu=_symf.relu, leaky_relu=_symf.leaky_relu, elu=_symf.elu,
    sigmoid=lambda x: 1 / (1 + sp.exp(-x)), softplus=lambda x: sp.log(1 + sp.exp(x)),
    logsumexp=lambda *xs: sp.log(sp.Add(*[sp.exp(x) for x in xs])),
    expm1_neg=lambda x: sp.exp(x) - 1,
    dpow=lambda a, k: k * a ** (k - 1), dpow_k=_sym_dpow_k,
)


@dataclass(frozen=True)
class Form:
    """How a printer writes an op: a template over the printed arguments
    (``{0}``, ``{1}``; n-ary ops get the arguments joined with ``sep`` as ``{0}``),
    the precedence of the result and the least precedence each argument may have
    to appear without parentheses."""

    template: str
    prec: int
    binds: tuple
    sep: str = ""


@dataclass(frozen=True)
class Op:
    """One operation of the table.

    ``arity`` is the number of arguments (-1: any number >= 1).  ``params`` names
    trailing arguments that must be constants, with their defaults (leaky_relu's
    ``slope``).  ``domain`` gives, per argument, where tests draw points
    (``real``, ``positive``, ``nonzero``, ``param``); ``valid`` says in words where
    the op is finite, for error messages; ``kink`` states the convention where the
    derivative is undefined.
    """

    name: str
    arity: int
    apply: Callable
    partials: Callable
    text: Form
    latex: Form
    call: bool = False
    params: tuple = ()
    kink: str = ""
    domain: tuple = ("real",)
    valid: str = "finite arguments"
    doc: str = ""
    # Code templates for the lowered executor (symgrad.lower): a Python expression
    # over the arguments "{0}", "{1}" (n-ary: all arguments joined by code_sep as
    # "{0}") whose names resolve in a backend (MATH for floats, NUM for arrays);
    # dcode holds one local partial per argument, "{y}" being the output (n-ary:
    # one template, "{0}" the argument).  The same formulas as apply/partials.
    code: str = ""
    dcode: tuple = ()
    code_sep: str = ", "

    def accepts(self, n: int) -> bool:
        return n >= 1 if self.arity < 0 else n == self.arity


def _fn(name, apply, partials, latex, arity=1, **kw):
    """A function-call op: ``name(x)`` in text, ``latex`` in LaTeX."""
    slots = ", ".join("{%d}" % i for i in range(arity))
    return Op(name, arity, apply, partials, Form(f"{name}({slots})", ATOM, (0,) * arity),
              Form(latex, ATOM, (0,) * arity), call=True, **kw)


_OPS = [
    Op("add", 2, lambda m, a, b: a + b, lambda m, y, a, b: (1, 1),
       Form("{0} + {1}", ADD, (ADD, ADD)), Form("{0} + {1}", ADD, (ADD, ADD)), doc="a + b",
       code="{0} + {1}", dcode=("1", "1")),
    Op("sub", 2, lambda m, a, b: a - b, lambda m, y, a, b: (1, -1),
       Form("{0} - {1}", ADD, (ADD, ADD + 1)), Form("{0} - {1}", ADD, (ADD, ADD + 1)), doc="a - b",
       code="{0} - {1}", dcode=("1", "-1")),
    Op("mul", 2, lambda m, a, b: a * b, lambda m, y, a, b: (b, a),
       Form("{0}*{1}", MUL, (MUL, MUL + 1)), Form(r"{0} {1}", MUL, (MUL, MUL + 1)), doc="a * b",
       code="{0} * {1}", dcode=("{1}", "{0}")),
    Op("div", 2, lambda m, a, b: m.div(a, b), lambda m, y, a, b: (m.div(1, b), -m.div(y, b)),
       Form("{0}/{1}", MUL, (MUL, MUL + 1)), Form(r"\frac{{{0}}}{{{1}}}", ATOM, (0, 0)),
       domain=("real", "nonzero"), valid="a nonzero divisor", doc="a / b",
       code="div({0}, {1})", dcode=("div(1, {1})", "-div({y}, {1})")),
    Op("neg", 1, lambda m, a: -a, lambda m, y, a: (-1,),
       Form("-{0}", NEG, (MUL,)), Form("-{0}", NEG, (MUL,)), doc="-a",
       code="-{0}", dcode=("-1",)),
    Op("pow", 2, lambda m, a, k: m.pow(a, k), lambda m, y, a, k: (m.dpow(a, k), m.dpow_k(y, a, k)),
       Form("{0}**{1}", POW, (POW + 1, POW)), Form("{0}^{{{1}}}", POW, (POW + 1, 0)),
       kink="d(a**0)/da = 0 everywhere, also at a = 0 (as PyTorch); d(a**k)/dk = 0 where a = 0 and k >= 0 (as PyTorch)",
       domain=("positive", "real"), valid="a base > 0 (or an integer exponent; 0 only to a power > 0)",
       doc="a ** k (k a constant or a node)",
       code="pow({0}, {1})", dcode=("dpow({0}, {1})", "dpow_k({y}, {0}, {1})")),
    Op("sum", -1, lambda m, *xs: functools.reduce(lambda s, t: s + t, xs),
       lambda m, y, *xs: (1,) * len(xs),
       Form("{0}", ADD, (ADD,), " + "), Form("{0}", ADD, (ADD,), " + "), doc="n-ary sum",
       code="{0}", dcode=("1",), code_sep=" + "),
    _fn("exp", lambda m, a: m.exp(a), lambda m, y, a: (y,), r"\exp\left({0}\right)",
        code="exp({0})", dcode=("{y}",), valid="x <= 709.78 (exp overflows float64 above)"),
    _fn("log", lambda m, a: m.log(a), lambda m, y, a: (m.div(1, a),), r"\log\left({0}\right)",
        domain=("positive",), valid="x > 0", code="log({0})", dcode=("div(1, {0})",)),
    _fn("sqrt", lambda m, a: m.sqrt(a), lambda m, y, a: (m.div(1, 2 * y),), r"\sqrt{{{0}}}",
        domain=("positive",), valid="x >= 0", kink="sqrt'(0) = inf",
        code="sqrt({0})", dcode=("div(1, 2 * {y})",)),
    _fn("sin", lambda m, a: m.sin(a), lambda m, y, a: (m.cos(a),), r"\sin\left({0}\right)",
        code="sin({0})", dcode=("cos({0})",)),
    _fn("cos", lambda m, a: m.cos(a), lambda m, y, a: (-m.sin(a),), r"\cos\left({0}\right)",
        code="cos({0})", dcode=("-sin({0})",)),
    _fn("tan", lambda m, a: m.tan(a), lambda m, y, a: (1 + y * y,), r"\tan\left({0}\right)",
        valid="x != pi/2 + k pi",
        code="tan({0})", dcode=("1 + {y} * {y}",)),
    _fn("tanh", lambda m, a: m.tanh(a), lambda m, y, a: (1 - y * y,), r"\tanh\left({0}\right)",
        code="tanh({0})", dcode=("1 - {y} * {y}",)),
    _fn("sigmoid", lambda m, a: m.sigmoid(a), lambda m, y, a: (y * (1 - y),),
        r"\sigma\left({0}\right)", doc="1 / (1 + exp(-x)), stable for any x",
        code="sigmoid({0})", dcode=("{y} * (1 - {y})",)),
    _fn("relu", lambda m, a: m.relu(a), lambda m, y, a: (m.step(a),),
        r"\operatorname{{relu}}\left({0}\right)", kink="relu'(0) = 0, as PyTorch and JAX",
        code="relu({0})", dcode=("step({0})",)),
    _fn("leaky_relu", lambda m, a, s: m.leaky_relu(a, s),
        lambda m, y, a, s: (m.where(a > 0, 1, s), m.where(a > 0, 0, a)),
        r"\operatorname{{leaky\_relu}}\left({0}\right)", arity=2, params=(("slope", 0.01),),
        domain=("real", "param"), kink="leaky_relu'(0) = slope, as PyTorch",
        code="where({0} > 0, {0}, {1} * {0})", dcode=("where({0} > 0, 1, {1})", "where({0} > 0, 0, {0})")),
    _fn("elu", lambda m, a, al: m.elu(a, al),
        lambda m, y, a, al: (m.where(a > 0, 1, y + al), m.where(a > 0, 0, m.expm1_neg(a))),
        r"\operatorname{{elu}}\left({0}\right)", arity=2, params=(("alpha", 1.0),),
        domain=("real", "param"), kink="elu'(0) = alpha, as PyTorch",
        code="where({0} > 0, {0}, {1} * expm1_neg({0}))",
        dcode=("where({0} > 0, 1, {y} + {1})", "where({0} > 0, 0, expm1_neg({0}))")),
    _fn("softplus", lambda m, a: m.softplus(a), lambda m, y, a: (m.sigmoid(a),),
        r"\operatorname{{softplus}}\left({0}\right)", doc="log(1 + exp(x)), stable for any x",
        code="softplus({0})", dcode=("sigmoid({0})",)),
    _fn("abs", lambda m, a: m.abs(a), lambda m, y, a: (m.sign(a),), r"\left|{0}\right|",
        kink="abs'(0) = 0, as PyTorch and JAX",
        code="abs({0})", dcode=("sign({0})",)),
    Op("logsumexp", -1, lambda m, *xs: m.logsumexp(*xs),
       lambda m, y, *xs: tuple(m.exp(x - y) for x in xs),
       Form("logsumexp({0})", ATOM, (0,), ", "),
       Form(r"\log\sum e^{{\left({0}\right)}}", ATOM, (0,), ", "),
       doc="log(sum(exp(x_i))), stable (softmax cross-entropy)",
       code="logsumexp({0})", dcode=("exp({0} - {y})",)),
    Op("identity", 1, lambda m, a: a, lambda m, y, a: (1,),
       Form("{0}", ATOM, (0,)), Form("{0}", ATOM, (0,)), doc="a copy: a named alias of a node",
       code="{0}", dcode=("1",)),
]

OPS: dict[str, Op] = {op.name: op for op in _OPS}

# Functions callable by name in text, in the order the grammar documents them.
TEXT_FUNCTIONS: dict[str, Op] = {name: op for name, op in OPS.items() if op.call}
