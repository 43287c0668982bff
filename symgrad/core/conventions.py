"""Conventions at the edges: the data behind ``docs/conventions.md``.

For every op of the table: its domain, its value (and derivative) at the edges
of that domain, its derivative at every non-differentiable point, the formula
used for numerical stability, and how PyTorch 2.13.0 and JAX 0.10.2 (x64, CPU)
behave at the same points (measured with ``benchmarks/conventions_peers.py``).
The edge and kink rows are executable: ``tests/test_conventions.py`` evaluates
each through a one-node graph (forward and reverse) and compares, and checks that
``docs/conventions.md`` is exactly :func:`markdown`'s output, so the document
cannot drift from the implementation.

Run ``python -m symgrad.core.conventions > docs/conventions.md`` to regenerate.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..errors import GraphError
from .ops import NUM, OPS, Op, changed

__all__ = ["Convention", "CONVENTIONS", "markdown", "register", "unregister"]

INF, NAN, NZ = math.inf, math.nan, -0.0
TORCH, JAX = "PyTorch 2.13.0", "JAX 0.10.2"


@dataclass(frozen=True)
class Convention:
    """One op's row.  ``points`` are ``(args, value, d value / d first arg)``."""

    domain: str
    points: tuple
    stable: str = "the plain formula"
    torch: str = "same"
    jax: str = "same"


CONVENTIONS: dict[str, Convention] = {
    "add": Convention("all reals", (((INF, -INF), NAN, 1.0), ((1.0, 2.0), 3.0, 1.0),
                                    ((NZ, NZ), NZ, 1.0), ((NZ, 0.0), 0.0, 1.0))),
    "sub": Convention("all reals", (((INF, INF), NAN, 1.0), ((NZ, 0.0), NZ, 1.0), ((0.0, 0.0), 0.0, 1.0))),
    "mul": Convention("all reals", (((0.0, INF), NAN, INF), ((2.0, 3.0), 6.0, 3.0), ((NZ, 2.0), NZ, 2.0),
                                    ((NZ, NZ), 0.0, NZ))),
    "div": Convention("divisor != 0", (((1.0, 0.0), INF, INF), ((0.0, 0.0), NAN, INF),
                                       ((-1.0, 0.0), -INF, INF), ((1.0, NZ), -INF, -INF))),
    "neg": Convention("all reals", (((INF,), -INF, -1.0), ((NZ,), 0.0, -1.0), ((0.0,), NZ, -1.0))),
    "pow": Convention(
        "base > 0; any base for an integer exponent; 0 to a power > 0",
        (((0.0, 0), 1.0, 0.0), ((0.0, 2), 0.0, 0.0), ((0.0, 0.5), 0.0, INF),
         ((0.0, -1), INF, -INF), ((-1.0, 0.5), NAN, NAN), ((-2.0, 3), -8.0, 12.0),
         ((NZ, 2), 0.0, NZ), ((NZ, 3), NZ, 0.0), ((NZ, -1), -INF, -INF)),
        "d(a**0)/da = 0 everywhere; d(a**k)/dk = a**k log(a), and 0 where a = 0 (either sign) "
        "and k >= 0 (also in the SymPy partial, a Piecewise)",
        "same (d/da of a**0 is 0; d/dk at a = 0 is 0)",
        "d(a**0.0)/da at a = 0 is nan with a float exponent; otherwise same"),
    "sum": Convention("all reals", (((1.0, 2.0, 3.0), 6.0, 1.0), ((NZ, NZ), NZ, 1.0))),
    "exp": Convention("all reals (overflows to inf above 709.78)",
                      (((710.0,), INF, INF), ((-INF,), 0.0, 0.0), ((-1000.0,), 0.0, 0.0),
                       ((NZ,), 1.0, 1.0))),
    "log": Convention("x > 0", (((0.0,), -INF, INF), ((-1.0,), NAN, -1.0), ((INF,), INF, 0.0),
                                ((NZ,), -INF, -INF))),
    "sqrt": Convention("x >= 0", (((0.0,), 0.0, INF), ((-1.0,), NAN, NAN), ((NZ,), NZ, -INF))),
    "sin": Convention("all reals", (((INF,), NAN, NAN), ((NZ,), NZ, 1.0))),
    "cos": Convention("all reals", (((INF,), NAN, NAN), ((NZ,), 1.0, 0.0))),
    "tan": Convention("x != pi/2 + k pi (float64 never hits a pole exactly)",
                      (((math.pi / 2,), 1.633123935319537e16, 2.6670937881135636e32),
                       ((NZ,), NZ, 1.0))),
    "tanh": Convention("all reals", (((1000.0,), 1.0, 0.0), ((-INF,), -1.0, 0.0), ((NZ,), NZ, 1.0))),
    "sigmoid": Convention(
        "all reals", (((-1000.0,), 0.0, 0.0), ((1000.0,), 1.0, 0.0), ((0.0,), 0.5, 0.25),
                      ((NAN,), NAN, NAN), ((NZ,), 0.5, 0.25)),
        "e = exp(-|x|); x >= 0: 1/(1+e), else e/(1+e) (never overflows)"),
    "relu": Convention(
        "all reals", (((0.0,), 0.0, 0.0), ((-INF,), 0.0, 0.0), ((NAN,), NAN, NAN), ((NZ,), 0.0, 0.0)),
        "max(x, 0) (relu(-0.0) = 0.0); derivative heaviside(x, 0)",
        "relu'(0) = 0 (same); relu'(nan) = 1", "relu'(0) = 0 (same); relu'(nan) = 0"),
    "leaky_relu": Convention(
        "all reals; slope a constant (default 0.01)",
        (((0.0, 0.01), 0.0, 0.01), ((0.0, 0.2), 0.0, 0.2), ((-INF, 0.01), -INF, 0.01),
         ((NZ, 0.01), NZ, 0.01)),
        "where(x > 0, x, slope*x)",
        "leaky_relu'(0) = slope (same)", "leaky_relu'(0) = 1 (jnp.where(x >= 0, ...))"),
    "elu": Convention(
        "all reals; alpha a constant (default 1.0)",
        (((0.0, 1.0), 0.0, 1.0), ((0.0, 0.5), 0.0, 0.5), ((-1000.0, 1.0), -1.0, 0.0),
         ((NZ, 1.0), 0.0, 1.0)),
        "where(x > 0, x, alpha*expm1(min(x, 0))); derivative y + alpha for x <= 0",
        "elu'(0) = alpha (same)", "elu'(0) = alpha (same)"),
    "softplus": Convention(
        "all reals", (((1000.0,), 1000.0, 1.0), ((-1000.0,), 0.0, 0.0),
                      ((25.0,), 25.000000000013888, 0.9999999999861121), ((NZ,), math.log(2), 0.5)),
        "max(x, 0) + log1p(exp(-|x|)) (exact, never overflows)",
        "returns x itself above threshold=20 (softplus(25) = 25.0, derivative 1.0)",
        "same (logaddexp(x, 0))"),
    "abs": Convention(
        "all reals", (((0.0,), 0.0, 0.0), ((-INF,), INF, -1.0), ((NZ,), 0.0, 0.0)),
        "|x|; derivative sign(x) (sign(-0.0) = 0.0)",
        "abs'(0) = 0 (same)", "abs'(0) = 1"),
    "logsumexp": Convention(
        "all reals", (((1000.0, 1000.0), 1000.6931471805599, 0.5), ((-INF, 0.0), 0.0, 0.0),
                      ((NZ, NZ), math.log(2), 0.5)),
        "m + log(sum(exp(x_i - m))) with m = max(x_i) (m = 0 if not finite)"),
    "wsum": Convention("all reals", (((2.0, 3.0), 6.0, 3.0), ((INF, 0.0), NAN, 0.0),
                                     ((NZ, 1.0), NZ, 1.0), ((0.0, INF), NAN, INF)),
                       torch="computed as W.T @ h (torch.nn.Linear): same values up to summation order",
                       jax="computed as jnp.dot: same values up to summation order"),
    "squared_loss": Convention(
        "all reals", (((3.0, 1.0), 2.0, 2.0), ((INF, INF), NAN, NAN), ((1e200, 0.0), INF, 1e200),
                      ((NZ, 0.0), 0.0, NZ)),
        "0.5 * sum_i (p_i - t_i)*(p_i - t_i); d/dp_i = p_i - t_i",
        "0.5 * ((p - t)**2).sum(): same (mse_loss averages instead)", "same as the formula"),
    "cross_entropy": Convention(
        "all reals; targets 0/1 (one pair) or one-hot (several)",
        (((0.0, 1.0), math.log(2), -0.5), ((1000.0, 1.0), 0.0, 0.0), ((-1000.0, 0.0), 0.0, 0.0),
         ((1000.0, 0.0), 1000.0, 1.0), ((NZ, 0.0), math.log(2), 0.5)),
        "one pair: softplus(z) - y*z, d/dz = sigmoid(z) - y; several: logsumexp(z) - sum_i y_i z_i, "
        "d/dz_i = softmax(z)_i - y_i (stable for any logits)",
        "binary_cross_entropy_with_logits / cross_entropy: same values",
        "optax.sigmoid_binary_cross_entropy / softmax_cross_entropy: same values"),
    "identity": Convention("all reals", (((NAN,), NAN, 1.0), ((NZ,), NZ, 1.0))),
    # the derivatives' own ops (gradient graphs)
    "step": Convention(
        "all reals", (((0.0,), 0.0, 0.0), ((NZ,), 0.0, 0.0), ((1e-300,), 1.0, 0.0), ((NAN,), NAN, 0.0)),
        "heaviside(x, 0) (relu's derivative, the same numbers as reverse mode)",
        "torch.heaviside(x, 0): same values", "jnp.heaviside(x, 0): same values"),
    "sign": Convention(
        "all reals", (((0.0,), 0.0, 0.0), ((NZ,), 0.0, 0.0), ((-INF,), -1.0, 0.0), ((NAN,), NAN, 0.0)),
        "sign(x), sign(-0.0) = 0.0 (abs's derivative, the same numbers as reverse mode)",
        "torch.sign: same values", "jnp.sign: same values"),
    "ifpos": Convention(
        "all reals", (((0.0, 1.0, 0.2), 0.2, 0.0), ((NZ, 1.0, 0.2), 0.2, 0.0), ((1e-300, 1.0, 0.2), 1.0, 0.0),
                      ((NAN, 1.0, 0.2), 0.2, 0.0)),
        "where(c > 0, a, b) (leaky_relu's and elu's derivatives, the same numbers as reverse mode)",
        "torch.where(c > 0, a, b): same values", "jnp.where(c > 0, a, b): same values"),
}


def _fmt(v) -> str:
    if isinstance(v, float) and math.isnan(v):
        return "nan"
    if isinstance(v, float) and math.isinf(v):
        return "inf" if v > 0 else "-inf"
    return f"{v:.15g}" if isinstance(v, float) else str(v)


def markdown() -> str:
    """The conventions document, generated from :data:`CONVENTIONS` and the op table."""
    lines = [
        "# Conventions at the edges",
        "",
        "Generated by `python -m symgrad.core.conventions > docs/conventions.md` from",
        "`symgrad/core/conventions.py` and the op table; `tests/test_conventions.py` evaluates",
        "every point below through a graph (forward and reverse mode) and checks that this",
        "file is up to date, so it cannot drift from the implementation.  Peers measured",
        f"with `python benchmarks/conventions_peers.py` ({TORCH}, {JAX} with x64, CPU).",
        "",
        "| op | domain | point | value | derivative (first argument) | stable formula / convention |"
        f" {TORCH} | {JAX} |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name, op in OPS.items():
        c = CONVENTIONS[name]
        rule = "; ".join(x for x in (c.stable if c.stable != "the plain formula" else "", op.kink) if x)
        for i, (args, value, deriv) in enumerate(c.points):
            call = f"{name}({', '.join(_fmt(a) for a in args)})"
            head = (f"`{name}`", c.domain, rule or "the plain formula", c.torch, c.jax) if i == 0 \
                else ("", "", "", "", "")
            lines.append(f"| {head[0]} | {head[1]} | `{call}` | {_fmt(value)} | {_fmt(deriv)} | "
                         f"{head[2]} | {head[3]} | {head[4]} |")
    lines += ["", "Where the derivative is undefined symgrad follows PyTorch; the SymPy side",
              "agrees: `relu`, `leaky_relu`, `elu` are SymPy functions differentiating to",
              "`Heaviside(x, 0)` and `Piecewise((1, x > 0), (slope, True))`; `Abs` to `sign(x)`;",
              "the exponent partial of `pow` is `Piecewise((0, Eq(a, 0) & (k >= 0)), (a**k*log(a), True))`.",
              "",
              "Signed zeros: `-0` in the table is -0.0, `0` is +0.0, and every value and derivative",
              "above is exact to the sign bit (the tests compare bits, not `==`).  IEEE arithmetic",
              "keeps the sign of zero (`-0.0 + -0.0 = -0.0`, `1/-0.0 = -inf`, `sqrt(-0.0) = -0.0`,",
              "odd functions `sin`, `tan`, `tanh` give -0.0); `relu`, `abs` and `elu` return +0.0",
              "at -0.0 (numpy's `maximum(-0.0, 0.0)` is +0.0), and their derivatives there are +0.0.",
              "The literals `0.0` and `-0.0` are two constants (`1/(x*0.0) - 1/(x*-0.0)` is inf at",
              "x = 1), and `2` and `2.0` are two constants as well (they print differently); the",
              "lowered code computes in float64 only, on every path and every Python version."]
    return "\n".join(lines) + "\n"


# -- adding an op ------------------------------------------------------------------------
def register(op: Op, convention) -> None:
    """Add ``op`` to the table, with its row of :data:`CONVENTIONS`.

    This is all it takes to add an op: the parser, the builder functions and
    ``symgrad.<name>``, the code generator, the SymPy bridge both ways, the
    printers, the grader and the strategies read the table (their derived
    tables are rebuilt on next use).  The formulas may use the functions the
    backends share (``m.exp``, ``m.div``, ``m.where``, ... of :data:`NUM`,
    :data:`SYM`, :data:`symgrad.numeric.mathns.MATH`).  :func:`unregister` undoes it.

    Raises
    ------
    GraphError
        If ``op`` is not an :class:`Op`, its name is not an identifier or is
        taken (an op, or the constants ``e``/``pi``), ``convention`` is not a
        :class:`Convention`, or its formulas do not give
        one partial per argument.

    Examples
    --------
    >>> from symgrad.core.ops import ATOM, MUL, Form, Op
    >>> half = Op("half", 1, lambda m, a: m.div(a, 2), lambda m, y, a: (0.5,),
    ...           Form("half({0})", ATOM, (0,)), Form("{0}/2", MUL, (MUL,)), call=True)
    >>> register(half, Convention("all reals", (((1.0,), 0.5, 0.5),)))
    >>> import symgrad as sg
    >>> sg.parse("half(x)").grad(x=3.0)
    {'x': 0.5}
    >>> unregister("half")
    """
    if not isinstance(op, Op):
        raise GraphError(f"register() takes an Op, got {type(op).__name__}")
    if not (isinstance(op.name, str) and op.name.isidentifier()) or op.name in OPS \
            or op.name in ("e", "pi"):
        raise GraphError(f"cannot register op {op.name!r}: the name must be a new identifier "
                         f"(taken: {', '.join(OPS)}, e, pi)")
    if not isinstance(convention, Convention):
        raise GraphError(f"op {op.name!r}: the conventions row must be a Convention, "
                         f"got {type(convention).__name__}")
    n = op.count_near(2)
    xs = [np.float64(0.5 + i) for i in range(n)]
    with np.errstate(all="ignore"):
        local = op.partials(NUM, op.apply(NUM, *xs), *xs)
    if len(local) != n:
        raise GraphError(f"op {op.name!r}: partials gave {len(local)} derivatives for {n} arguments")
    OPS[op.name] = op
    CONVENTIONS[op.name] = convention
    changed()


def unregister(name: str) -> None:
    """Remove an op added by :func:`register` (and its conventions row).

    Raises
    ------
    GraphError
        If ``name`` is not a registered op, or is one of the built-in ops.
    """
    if name not in OPS or name in _BUILTIN:
        raise GraphError(f"cannot unregister {name!r}: only ops added by register() can be removed")
    del OPS[name]
    CONVENTIONS.pop(name, None)
    changed()


_BUILTIN = frozenset(OPS)


if __name__ == "__main__":
    print(markdown(), end="")
