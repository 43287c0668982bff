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
import operator
from collections.abc import Mapping
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Callable

import numpy as np


__all__ = ["Op", "Form", "OPS", "NUM", "SYM", "ADD", "NEG", "MUL", "POW", "ATOM", "TEXT_FUNCTIONS",
           "ANY", "PAIRS", "pairs", "DERIVATIVE_OPS",
           "changed", "derived", "Derived", "sympy_heads",
           "on_change"]

ADD, NEG, MUL, POW, ATOM = 10, 15, 20, 30, 100      # binding strength, printers only
ANY, PAIRS = -1, -2     # arities: any number >= 1; pairs (a_1, b_1, a_2, b_2, ...), at least one


def pairs(xs) -> list:
    """``[(a_1, b_1), (a_2, b_2), ...]`` of a pair op's arguments ``a_1, b_1, a_2, ...``."""
    return list(zip(xs[0::2], xs[1::2], strict=True))


def _total(terms):
    return functools.reduce(operator.add, terms)


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
    heaviside=lambda x: np.heaviside(x, 0.0), ifpos=lambda c, a, b: np.where(c > 0, a, b),
)


class _LazyNamespace:
    """A namespace built on first use: SymPy is imported when symbolic work starts,
    not when the op table is (numbers alone never load it)."""

    def __init__(self, build: Callable[[], SimpleNamespace]) -> None:
        self.__dict__["_build"] = build

    def __getattr__(self, name: str):
        if name.startswith("__") or "_build" not in self.__dict__:
            raise AttributeError(name)           # built already (or a probe for a dunder)
        self.__dict__.update(vars(self.__dict__.pop("_build")()))
        return getattr(self, name)

    def __repr__(self) -> str:
        return f"SYM({', '.join(k for k in self.__dict__ if k != '_build')})"


def _sympy_namespace() -> SimpleNamespace:
    import sympy as sp

    from . import sym_derivatives as symd
    from . import sym_functions as symf

    def where(cond, a, b):
        return sp.Piecewise((a, cond), (b, True))

    def dpow_k(out, a, k):
        """d a**k / dk = a**k log a, and 0 where a == 0 and k >= 0 (as the numeric side
        and PyTorch).  SymPy drops the first piece where it can tell a != 0."""
        return sp.Piecewise((0, sp.And(sp.Eq(a, 0), k >= 0)), (out * sp.log(a), True))

    return SimpleNamespace(
        exp=sp.exp, log=sp.log, sin=sp.sin, cos=sp.cos, tan=sp.tan, tanh=sp.tanh,
        sqrt=sp.sqrt, abs=sp.Abs, sign=sp.sign, pow=lambda a, k: a**k, div=lambda a, b: a / b,
        where=where, step=lambda x: sp.Heaviside(x, 0),
        relu=symf.relu, leaky_relu=symf.leaky_relu, elu=symf.elu,
        sigmoid=lambda x: 1 / (1 + sp.exp(-x)), softplus=lambda x: sp.log(1 + sp.exp(x)),
        logsumexp=lambda *xs: sp.log(sp.Add(*[sp.exp(x) for x in xs])),
        expm1_neg=lambda x: sp.exp(x) - 1,
        dpow=lambda a, k: k * a ** (k - 1), dpow_k=dpow_k,
        heaviside=symd.step, ifpos=symd.ifpos,
    )


SYM = _LazyNamespace(_sympy_namespace)


@dataclass(frozen=True)
class Form:
    """How a printer writes an op: a template over the printed arguments
    (``{0}``, ``{1}``; n-ary ops get the arguments joined with ``sep`` as ``{0}``),
    the precedence of the result and the least precedence each argument may have
    to appear without parentheses.  A pair op's form may write each pair with
    ``pair`` (``"{0} {1}"``: ``binds`` then holds the pair's two bindings) before
    joining; a factor printed as ``1`` is not written (``w_0 1`` is ``w_0``)."""

    template: str
    prec: int
    binds: tuple
    sep: str = ""
    pair: str = ""


@dataclass(frozen=True)
class Op:
    """One operation of the table.

    ``arity`` is the number of arguments (:data:`ANY` = -1: any number >= 1;
    :data:`PAIRS` = -2: pairs ``a_1, b_1, a_2, b_2, ...``, at least one).  ``linear``
    marks an op that IS a sum of products of its pairs, ``sum_i a_i b_i`` (a
    neuron's weighted sum): executors may run a layer of them as one matrix
    product (:mod:`symgrad.numeric.fuse`).  ``params`` names
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
    linear: bool = False

    def accepts(self, n: int) -> bool:
        if self.arity == PAIRS:
            return n >= 2 and n % 2 == 0
        return n >= 1 if self.arity < 0 else n == self.arity

    def count_near(self, n: int) -> int:
        """An argument count the op accepts, ``n`` if it can (pairs: rounded up to even)."""
        if self.arity >= 0:
            return self.arity
        return max(2, n + n % 2) if self.arity == PAIRS else max(1, n)

    @property
    def wants(self) -> str:
        """The argument count in words, for error messages."""
        return {ANY: "at least 1", PAIRS: "pairs of (an even number of, at least 2)"}.get(
            self.arity, str(self.arity))


def _fn(name, apply, partials, latex, arity=1, **kw):
    """A function-call op: ``name(x)`` in text, ``latex`` in LaTeX."""
    slots = ", ".join("{%d}" % i for i in range(arity))
    return Op(name, arity, apply, partials, Form(f"{name}({slots})", ATOM, (0,) * arity),
              Form(latex, ATOM, (0,) * arity), call=True, **kw)


_OPS = [
    Op("add", 2, lambda m, a, b: a + b, lambda m, y, a, b: (1, 1),
       Form("{0} + {1}", ADD, (ADD, ADD)), Form("{0} + {1}", ADD, (ADD, ADD)), doc="a + b"),
    Op("sub", 2, lambda m, a, b: a - b, lambda m, y, a, b: (1, -1),
       Form("{0} - {1}", ADD, (ADD, ADD + 1)), Form("{0} - {1}", ADD, (ADD, ADD + 1)), doc="a - b"),
    Op("mul", 2, lambda m, a, b: a * b, lambda m, y, a, b: (b, a),
       Form("{0}*{1}", MUL, (MUL, MUL + 1)), Form(r"{0} {1}", MUL, (MUL, MUL + 1)), doc="a * b"),
    Op("div", 2, lambda m, a, b: m.div(a, b), lambda m, y, a, b: (m.div(1, b), -m.div(y, b)),
       Form("{0}/{1}", MUL, (MUL, MUL + 1)), Form(r"\frac{{{0}}}{{{1}}}", ATOM, (0, 0)),
       domain=("real", "nonzero"), valid="a nonzero divisor", doc="a / b"),
    Op("neg", 1, lambda m, a: -a, lambda m, y, a: (-1,),
       Form("-{0}", NEG, (MUL,)), Form("-{0}", NEG, (MUL,)), doc="-a"),
    Op("pow", 2, lambda m, a, k: m.pow(a, k), lambda m, y, a, k: (m.dpow(a, k), m.dpow_k(y, a, k)),
       Form("{0}**{1}", POW, (POW + 1, POW)), Form("{0}^{{{1}}}", POW, (POW + 1, 0)),
       kink="d(a**0)/da = 0 everywhere, also at a = 0 (as PyTorch); d(a**k)/dk = 0 where a = 0 and k >= 0 (as PyTorch)",
       domain=("positive", "real"), valid="a base > 0 (or an integer exponent; 0 only to a power > 0)",
       doc="a ** k (k a constant or a node)"),
    Op("sum", -1, lambda m, *xs: functools.reduce(lambda s, t: s + t, xs),
       lambda m, y, *xs: (1,) * len(xs),
       Form("{0}", ADD, (ADD,), " + "), Form("{0}", ADD, (ADD,), " + "), doc="n-ary sum"),
    _fn("exp", lambda m, a: m.exp(a), lambda m, y, a: (y,), r"\exp\left({0}\right)",
        valid="x <= 709.78 (exp overflows float64 above)"),
    _fn("log", lambda m, a: m.log(a), lambda m, y, a: (m.div(1, a),), r"\log\left({0}\right)",
        domain=("positive",), valid="x > 0"),
    _fn("sqrt", lambda m, a: m.sqrt(a), lambda m, y, a: (m.div(1, 2 * y),), r"\sqrt{{{0}}}",
        domain=("positive",), valid="x >= 0", kink="sqrt'(0) = inf"),
    _fn("sin", lambda m, a: m.sin(a), lambda m, y, a: (m.cos(a),), r"\sin\left({0}\right)"),
    _fn("cos", lambda m, a: m.cos(a), lambda m, y, a: (-m.sin(a),), r"\cos\left({0}\right)"),
    _fn("tan", lambda m, a: m.tan(a), lambda m, y, a: (1 + y * y,), r"\tan\left({0}\right)",
        valid="x != pi/2 + k pi"),
    _fn("tanh", lambda m, a: m.tanh(a), lambda m, y, a: (1 - y * y,), r"\tanh\left({0}\right)"),
    _fn("sigmoid", lambda m, a: m.sigmoid(a), lambda m, y, a: (y * (1 - y),),
        r"\sigma\left({0}\right)", doc="1 / (1 + exp(-x)), stable for any x"),
    _fn("relu", lambda m, a: m.relu(a), lambda m, y, a: (m.step(a),),
        r"\operatorname{{relu}}\left({0}\right)", kink="relu'(0) = 0, as PyTorch and JAX"),
    _fn("leaky_relu", lambda m, a, s: m.leaky_relu(a, s),
        lambda m, y, a, s: (m.where(a > 0, 1, s), m.where(a > 0, 0, a)),
        r"\operatorname{{leaky\_relu}}\left({0}\right)", arity=2, params=(("slope", 0.01),),
        domain=("real", "param"), kink="leaky_relu'(0) = slope, as PyTorch"),
    _fn("elu", lambda m, a, al: m.elu(a, al),
        lambda m, y, a, al: (m.where(a > 0, 1, y + al), m.where(a > 0, 0, m.expm1_neg(a))),
        r"\operatorname{{elu}}\left({0}\right)", arity=2, params=(("alpha", 1.0),),
        domain=("real", "param"), kink="elu'(0) = alpha, as PyTorch"),
    _fn("softplus", lambda m, a: m.softplus(a), lambda m, y, a: (m.sigmoid(a),),
        r"\operatorname{{softplus}}\left({0}\right)", doc="log(1 + exp(x)), stable for any x"),
    _fn("abs", lambda m, a: m.abs(a), lambda m, y, a: (m.sign(a),), r"\left|{0}\right|",
        kink="abs'(0) = 0, as PyTorch and JAX"),
    Op("logsumexp", -1, lambda m, *xs: m.logsumexp(*xs),
       lambda m, y, *xs: tuple(m.exp(x - y) for x in xs),
       Form("logsumexp({0})", ATOM, (0,), ", "),
       Form(r"\log\sum e^{{\left({0}\right)}}", ATOM, (0,), ", "),
       doc="log(sum(exp(x_i))), stable (softmax cross-entropy)"),
    Op("wsum", PAIRS, lambda m, *xs: _total([w * h for w, h in pairs(xs)]),
       lambda m, y, *xs: tuple(xs[i ^ 1] for i in range(len(xs))),
       Form("wsum({0})", ATOM, (0,), ", "), Form("{0}", ADD, (MUL, MUL + 1), " + ", "{0} {1}"),
       call=True, linear=True,
       doc="weighted sum w_1*h_1 + w_2*h_2 + ... of pairs (w_i, h_i): a neuron's a = sum_i w_i h_i "
           "(the bias as the pair (w_0, 1))"),
    Op("squared_loss", PAIRS,
       lambda m, *xs: m.div(_total([(p - t) * (p - t) for p, t in pairs(xs)]), 2),
       lambda m, y, *xs: tuple(d for p, t in pairs(xs) for d in (p - t, t - p)),
       Form("squared_loss({0})", ATOM, (0,), ", "),
       Form(r"\frac{{1}}{{2}}{0}", ADD, (ADD, ADD + 1), r" + \frac{1}{2}", r"\left({0} - {1}\right)^{{2}}"),
       call=True, doc="0.5 * sum_i (yhat_i - y_i)**2 of pairs (yhat_i, y_i); d/dyhat_i = yhat_i - y_i (B_1)"),
    Op("cross_entropy", PAIRS, lambda m, *xs: _cross_entropy(m, xs), lambda m, y, *xs: _dcross_entropy(m, xs),
       Form("cross_entropy({0})", ATOM, (0,), ", "),
       Form(r"\operatorname{{CE}}\left({0}\right)", ATOM, (0,), ", "),
       call=True, doc="cross-entropy from logits, pairs (z_i, y_i): one pair: softplus(z) - y*z "
                      "(binary, sigmoid); several: logsumexp(z) - sum_i y_i*z_i (softmax); "
                      "d/dz_i = sigmoid(z) - y or softmax(z)_i - y_i (B_1)"),
    Op("identity", 1, lambda m, a: a, lambda m, y, a: (1,),
       Form("{0}", ATOM, (0,)), Form("{0}", ATOM, (0,)), doc="a copy: a named alias of a node"),
]

def _cross_entropy(m, xs):
    (z, y), *more = pairs(xs)
    if not more:
        return m.softplus(z) - y * z
    zs, ys = xs[0::2], xs[1::2]
    return m.logsumexp(*zs) - _total([yi * zi for zi, yi in zip(zs, ys)])


def _dcross_entropy(m, xs):
    zs, ys = xs[0::2], xs[1::2]
    if len(zs) == 1:
        return (m.sigmoid(zs[0]) - ys[0], -zs[0])
    top = m.logsumexp(*zs)
    return tuple(d for zi, yi in zip(zs, ys) for d in (m.exp(zi - top) - yi, -zi))


# -- the derivatives' own ops: what the partials above are written with, as ops of the
# table, so that a derivative is itself a graph (``g.gradient_graph()``) that evaluates,
# prints, parses back and is differentiated again.  Each keeps the kink convention of the
# partial it writes (relu'(0) = 0 is step(0) = 0, abs'(0) = 0 is sign(0) = 0), so a
# gradient graph computes reverse mode's numbers.
_DERIVATIVE_OPS = [
    _fn("step", lambda m, a: m.heaviside(a), lambda m, y, a: (0,), r"\operatorname{{step}}\left({0}\right)",
        kink="step'(x) = 0 everywhere, also at 0 (as relu'' in PyTorch and JAX)",
        doc="heaviside(x, 0): 1 for x > 0, else 0 (relu's derivative)"),
    _fn("sign", lambda m, a: m.sign(a), lambda m, y, a: (0,), r"\operatorname{{sign}}\left({0}\right)",
        kink="sign'(x) = 0 everywhere, also at 0", doc="-1, 0 or 1 (abs's derivative; sign(0) = 0)"),
    _fn("ifpos", lambda m, c, a, b: m.ifpos(c, a, b),
        lambda m, y, c, a, b: (0, m.ifpos(c, 1, 0), m.ifpos(c, 0, 1)),
        r"\operatorname{{ifpos}}\left({0}, {1}, {2}\right)", arity=3,
        kink="d/dc = 0 everywhere, also at c = 0", domain=("nonzero", "real", "real"),
        doc="a where c > 0, else b (leaky_relu's and elu's slopes: ifpos(x, 1, slope))"),
]
DERIVATIVE_OPS = tuple(op.name for op in _DERIVATIVE_OPS)
"""The ops that write derivatives (:func:`symgrad.core.gradient_graph.gradient_graph`);
random expressions (:mod:`symgrad.strategies`) do not draw them."""

OPS: dict[str, Op] = {op.name: op for op in _OPS + _DERIVATIVE_OPS}


# -- everything else is derived from the table ----------------------------------------------
# Derived tables (the grammar's functions, the SymPy mapping, the builder functions,
# ...) are computed on first use and again after conventions.register()/unregister() changed
# the table: they compare the table's version with the one they were built at.

_VERSION = [0]
_HOOKS: list = []


def on_change(hook: Callable[[], None]) -> Callable[[], None]:
    """Call ``hook()`` whenever :func:`symgrad.core.conventions.register`/``unregister`` change the table:
    for a module's own cache keyed by op name (``functools.lru_cache``'s
    ``cache_clear``).  Returns ``hook``."""
    _HOOKS.append(hook)
    return hook


def changed() -> None:
    _VERSION[0] += 1
    for hook in _HOOKS:
        hook()


def derived(build: Callable[[], object]) -> Callable[[], object]:
    """``build()`` computed once, and again after the op table changes: the way
    every module derives its own table from :data:`OPS`."""
    box = [(-1, None)]

    def get():
        seen, value = box[0]
        if seen != _VERSION[0]:
            version = _VERSION[0]
            value = build()
            box[0] = (version, value)
        return value
    get.__name__ = getattr(build, "__name__", "derived")
    get.__doc__ = build.__doc__
    return get


class Derived(Mapping):
    """A read-only mapping derived from :data:`OPS` by ``build()`` (see :func:`derived`)."""

    def __init__(self, build: Callable[[], dict]):
        self._get = derived(build)

    def __getitem__(self, key):
        return self._get()[key]

    def __contains__(self, key) -> bool:
        return key in self._get()

    def get(self, key, default=None):
        return self._get().get(key, default)

    def __iter__(self):
        return iter(self._get())

    def __len__(self) -> int:
        return len(self._get())

    def __repr__(self) -> str:
        return f"Derived({self._get()!r})"


TEXT_FUNCTIONS: Mapping[str, Op] = Derived(lambda: {n: op for n, op in OPS.items() if op.call})
"""Functions callable by name in text (``op.call``), in table order: the grammar's list."""


@derived
def sympy_heads() -> dict:
    """``{SymPy function class: op}`` for each function op whose SymPy formula is one
    function of its arguments (``sin(x)``, ``Abs(x)``, ``leaky_relu(x, slope)``):
    read off the table by applying each op to SymPy symbols.  (``sigmoid`` and
    ``softplus`` are formulas of other heads; ``add``/``mul``/``pow`` are SymPy's
    arithmetic.)

    >>> import sympy as sp
    >>> sympy_heads()[sp.cos].name, sympy_heads()[sp.Abs].name
    ('cos', 'abs')
    """
    import sympy as sp
    heads = {}
    for op in OPS.values():
        if op.call and op.arity >= 1:
            xs = sp.symbols(f"h0:{op.arity}", real=True)
            e = op.apply(SYM, *xs)
            if isinstance(e, sp.Function) and e.args == xs:
                heads.setdefault(type(e), op)
    return heads
