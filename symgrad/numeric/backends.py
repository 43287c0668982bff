"""The op table's backend functions for numpy, math, JAX and PyTorch, as source.

The op table's formulas (:mod:`symgrad.core.ops`) call a handful of backend
functions (``m.exp``, ``m.sigmoid``, ``m.where``, ``m.dpow``, ...).  Here they are
written ONCE, as Python source over a few primitives (``where``, ``maximum``,
``exp``, ``log1p``, ...), so the same text serves two purposes:

* :func:`namespace` compiles it into the namespace a :func:`symgrad.numeric.export.function`
  runs on;
* :func:`prelude` is the same text at the top of a module written by
  :func:`symgrad.numeric.source.to_source`, which therefore imports only the
  backend (no symgrad).

Each backend contributes a short head (its imports and the primitives it names
differently); the body derives the stable forms of :data:`symgrad.core.ops.NUM`
from them (sigmoid through ``exp(-|x|)``, softplus through ``log1p``,
logsumexp shifted by the maximum), so numpy's namespace computes exactly what
symgrad's own forward pass computes.  Any other namespace or module providing
``exp log sin cos tan tanh sqrt`` and ``where`` (plus, if it has them,
``maximum minimum log1p expm1 isfinite sign heaviside power``) gets the same body
(:func:`complete`).

>>> ns = namespace("math")
>>> ns.sigmoid(-1000.0), round(ns.softplus(0.0), 6), ns.relu(-2.0)
(0.0, 0.693147, 0.0)
"""

from __future__ import annotations

import functools
import types
from collections.abc import Mapping
from types import SimpleNamespace

from ..errors import InputError

__all__ = ["BACKENDS", "namespace", "prelude", "complete", "FUNCTIONS"]

_HEADS = {
    "numpy": '''\
import numpy as xp
from numpy import exp, log, sin, cos, tan, tanh, sqrt, log1p, expm1, sign, where, isfinite
from numpy import maximum, minimum, inf, nan, ones_like, zeros_like
pow, div = xp.power, xp.divide


def step(x):
    return xp.heaviside(x, 0.0)
''',
    "jax": '''\
import jax.numpy as xp
from jax.numpy import exp, log, sin, cos, tan, tanh, sqrt, log1p, expm1, sign, where, isfinite
from jax.numpy import maximum, minimum, inf, nan, ones_like, zeros_like
pow, div = xp.power, xp.divide


def step(x):
    return xp.heaviside(x, 0.0)
''',
    "torch": '''\
import torch as xp

inf, nan = float("inf"), float("nan")
ones_like, zeros_like = xp.ones_like, xp.zeros_like


def _t(v, like=None):
    """A number as a tensor (of ``like``'s dtype, else float64); tensors pass."""
    if isinstance(v, xp.Tensor):
        return v
    return xp.as_tensor(v, dtype=like.dtype if isinstance(like, xp.Tensor) else xp.float64)


def _unary(f):
    return lambda x: f(_t(x))


exp, log, sin, cos, tan, tanh, sqrt, log1p, expm1, sign, isfinite = map(_unary, (
    xp.exp, xp.log, xp.sin, xp.cos, xp.tan, xp.tanh, xp.sqrt, xp.log1p, xp.expm1, xp.sign,
    xp.isfinite))


def where(c, a, b):
    if not isinstance(c, xp.Tensor):
        return a if c else b
    return xp.where(c, _t(a, b), _t(b, a))     # two numbers: float64, not torch's float32


def maximum(a, b):
    return xp.maximum(_t(a, b), _t(b, a))


def minimum(a, b):
    return xp.minimum(_t(a, b), _t(b, a))


def pow(a, k):
    return xp.pow(a, k) if isinstance(a, xp.Tensor) or isinstance(k, xp.Tensor) else a ** k


def div(a, b):
    return a / b


def step(x):
    x = _t(x)
    return xp.where(xp.isnan(x), x, xp.heaviside(x, xp.zeros_like(x)))   # nan stays nan
''',
    "math": '''\
import math as xp
from math import exp, log, sin, cos, tan, tanh, sqrt, log1p, expm1, isfinite, inf, nan
pow = xp.pow


def where(c, a, b):
    return a if c else b


def maximum(a, b):
    return a if a > b or a != a else b       # as numpy: nan wins


def minimum(a, b):
    return a if a < b or a != a else b


def sign(x):
    return 1.0 if x > 0 else -1.0 if x < 0 else x if x != x else 0.0


def step(x):
    return 1.0 if x > 0 else x if x != x else 0.0


def div(a, b):
    return a / b


def ones_like(x):
    return 1.0


def zeros_like(x):
    return 0.0
''',
}

_BODY = '''

def relu(x):
    return maximum(x, 0.0)


def sigmoid(x):
    e = exp(-abs(x))                      # never overflows
    return where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def softplus(x):
    return maximum(x, 0.0) + log1p(exp(-abs(x)))


def leaky_relu(x, slope):
    return where(x > 0, x, slope * x)


def expm1_neg(x):
    return expm1(minimum(x, 0.0))


def elu(x, alpha):
    return where(x > 0, x, alpha * expm1(minimum(x, 0.0)))


def heaviside(x):                         # the step op: 1 for x > 0, else 0 (relu's derivative)
    return step(x)


def ifpos(c, a, b):                       # the ifpos op: a where c > 0, else b
    return where(c > 0, a, b)


def logsumexp(*xs):
    top = xs[0]
    for x in xs[1:]:
        top = maximum(top, x)
    top = where(isfinite(top), top, 0.0)
    total = exp(xs[0] - top)
    for x in xs[1:]:
        total = total + exp(x - top)
    return top + log(total)
'''

_POW = '''

def dpow(a, k):                           # d a**k / da; 0 when k == 0 (as PyTorch)
    return where(k == 0, 0.0, k * pow(a, k - 1))


def dpow_k(out, a, k):                    # d a**k / dk; 0 where a == 0 and k >= 0 (as PyTorch)
    return where((a == 0) & (k >= 0), 0.0, out * log(a))
'''

# Python floats: where() evaluates both branches, and math raises where numpy warns
_TAILS = {"math": '''

def dpow(a, k):
    return 0.0 if k == 0 else k * pow(a, k - 1)


def dpow_k(out, a, k):
    return 0.0 if a == 0 and k >= 0 else out * log(a)
'''}

BACKENDS = tuple(_HEADS)
"""The backends known by name: ``numpy``, ``jax``, ``torch``, ``math``."""

FUNCTIONS = ("exp", "log", "sin", "cos", "tan", "tanh", "sqrt", "abs", "sign", "pow", "div",
             "where", "step", "relu", "sigmoid", "softplus", "leaky_relu", "elu", "logsumexp",
             "expm1_neg", "dpow", "dpow_k", "heaviside", "ifpos")
"""The functions the op table's formulas call on a backend namespace."""


def prelude(backend: str) -> str:
    """The source defining every function of :data:`FUNCTIONS` for ``backend``
    (importing only the backend's own package)."""
    if backend not in _HEADS:
        raise InputError(f"unknown backend {backend!r}; known: {', '.join(BACKENDS)} "
                         "(or pass a namespace or module)")
    return _HEADS[backend] + _BODY + _TAILS.get(backend, _POW)


def _run(source: str, ns: dict, filename: str) -> dict:
    """Run our own constant module source (no user text) in ``ns``: its code object
    called as a function, as :func:`symgrad.numeric.codegen.define` makes functions."""
    ns.setdefault("__builtins__", __builtins__)
    ns.setdefault("__name__", "symgrad_backend")
    types.FunctionType(compile(source, filename, "exec"), ns)()
    return ns


@functools.lru_cache(maxsize=None)
def _named(backend: str) -> SimpleNamespace:
    return _public(_run(prelude(backend), {}, f"<symgrad backend {backend}>"))


def _public(ns: dict) -> SimpleNamespace:
    """The namespace's functions, with Python's ``abs`` (which every backend's
    numbers implement: ``__abs__``) unless it has its own."""
    return SimpleNamespace(**{"abs": abs, **{k: v for k, v in ns.items() if not k.startswith("__")}})


def namespace(backend) -> SimpleNamespace:
    """The namespace of :data:`FUNCTIONS` for ``backend``: a name of
    :data:`BACKENDS`, or any namespace/module (see :func:`complete`)."""
    if isinstance(backend, str):
        return _named(backend)
    return complete(backend)


_PRIMITIVES = ("exp", "log", "sin", "cos", "tan", "tanh", "sqrt", "where")
_OPTIONAL = {   # name: fallback source over the primitives
    "log1p": "def log1p(x):\n    return log(1.0 + x)\n",
    "expm1": "def expm1(x):\n    return exp(x) - 1.0\n",
    "maximum": "def maximum(a, b):\n    return where((a > b) | (a != a), a, b)\n",
    "minimum": "def minimum(a, b):\n    return where((a < b) | (a != a), a, b)\n",
    "isfinite": "def isfinite(x):\n    return x - x == 0\n",
    "sign": "def sign(x):\n    return where(x > 0, 1.0, where(x < 0, -1.0, 0.0 * x))\n",
    "step": "def step(x):\n    return where(x > 0, 1.0, 0.0 * x)\n",
    "pow": "def pow(a, k):\n    return a ** k\n",
    "div": "def div(a, b):\n    return a / b\n",
    "ones_like": "def ones_like(x):\n    return 0.0 * x + 1.0\n",
    "zeros_like": "def zeros_like(x):\n    return 0.0 * x\n",
}
_ALIASES = {"pow": "power", "step": "heaviside", "div": "divide"}


def complete(base) -> SimpleNamespace:
    """The op table's functions from any namespace, module or mapping ``base``
    providing at least ``exp log sin cos tan tanh sqrt where``: its own
    ``log1p expm1 maximum minimum isfinite sign pow`` (or ``power``) are used when
    present, the rest is the same body as the named backends.  A function of
    :data:`FUNCTIONS` that ``base`` defines itself (``sigmoid``, ``relu``, ...)
    wins.

    >>> import numpy as np
    >>> ns = complete(np)
    >>> float(ns.sigmoid(np.float64(1000.0))), float(ns.elu(np.float64(-1.0), 1.0))
    (1.0, -0.6321205588285577)
    """
    get = base.get if isinstance(base, Mapping) else lambda n, d=None: getattr(base, n, d)
    missing = [n for n in _PRIMITIVES if get(n) is None]
    if missing:
        raise InputError(f"the backend {getattr(base, '__name__', type(base).__name__)!r} lacks "
                         f"{', '.join(missing)}: a backend namespace needs at least "
                         f"{', '.join(_PRIMITIVES)}")
    ns = {n: get(n) for n in _PRIMITIVES}
    source = []
    for n, fallback in _OPTIONAL.items():
        own = get(n) if get(n) is not None else get(_ALIASES.get(n, ""), None)
        if n == "step" and own is not None:
            ns["_heaviside"], source = own, source + ["def step(x):\n    return _heaviside(x, 0.0)\n"]
        elif own is not None:
            ns[n] = own
        else:
            source.append(fallback)
    ns = _run("\n\n".join(source) + _BODY + _POW, ns, "<symgrad backend>")
    ns.update((n, get(n)) for n in FUNCTIONS
              if get(n) is not None and n not in ("pow", "step", "div", "heaviside"))   # other signatures
    ns.setdefault("inf", float("inf"))
    ns.setdefault("nan", float("nan"))
    return _public(ns)
