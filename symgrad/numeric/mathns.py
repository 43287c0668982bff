"""MATH: the scalar backend of the lowered executor (:mod:`symgrad.numeric.lower`).

The op table's formulas (:mod:`symgrad.core.ops`) name backend functions (``m.exp``,
``m.where``, ...); :data:`symgrad.core.ops.NUM` implements them with numpy for the
reference interpreters and array inputs, and :data:`MATH` implements the same
functions on Python floats for the compiled scalar code, bit for bit the same
results.  It lives with the executor, not with the op table.
"""

from __future__ import annotations

import math
import operator
from types import SimpleNamespace

import numpy as np

__all__ = ["MATH"]


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
    heaviside=_m_step, ifpos=lambda c, a, b: a if c > 0 else b,
)
