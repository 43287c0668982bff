"""One test per property, parametrised over the op table (JAX LAX_GRAD_OPS style)."""

import math

import numpy as np
import pytest
import sympy as sp

from symgrad.ops import NUM, OPS, SYM

POINTS = {"real": [-1.3, -0.4, 0.35, 1.2], "positive": [0.3, 0.9, 1.7], "nonzero": [-1.5, 0.6, 2.2],
          "param": [0.2, 0.7]}


def _args(op):
    n = 3 if op.arity < 0 else op.arity
    doms = list(op.domain) + ["real"] * n
    return [POINTS[d] for d in doms[:n]]


def _points(op):
    grids = _args(op)
    return [tuple(g[(i + j) % len(g)] for j, g in enumerate(grids)) for i in range(3)]


def _fd(op, args, i, h=1e-6):
    hi = list(args); lo = list(args)
    hi[i] += h; lo[i] -= h
    return (float(op.apply(NUM, *map(np.float64, hi))) - float(op.apply(NUM, *map(np.float64, lo)))) / (2 * h)


@pytest.mark.parametrize("name", sorted(OPS))
def test_partials_match_finite_differences(name):
    op = OPS[name]
    for args in _points(op):
        vals = list(map(np.float64, args))
        out = op.apply(NUM, *vals)
        local = op.partials(NUM, out, *vals)
        assert len(local) == len(args)
        for i in range(len(args)):
            assert float(local[i]) == pytest.approx(_fd(op, args, i), rel=1e-5, abs=1e-7), (name, args, i)


@pytest.mark.parametrize("name", sorted(OPS))
def test_symbolic_form_matches_numeric_and_its_derivative(name):
    op = OPS[name]
    syms = sp.symbols(f"s0:{len(_args(op))}", real=True)
    expr = op.apply(SYM, *syms)
    sym_partials = op.partials(SYM, expr, *syms)
    for args in _points(op):
        subs = dict(zip(syms, args))
        num = float(op.apply(NUM, *map(np.float64, args)))
        assert float(expr.subs(subs)) == pytest.approx(num, rel=1e-12)
        for i, s in enumerate(syms):
            by_sympy = float(sp.diff(expr, s).subs(subs))
            by_table = float(sp.sympify(sym_partials[i]).subs(subs))
            assert by_table == pytest.approx(by_sympy, rel=1e-10, abs=1e-12), (name, i)


@pytest.mark.parametrize("name", ["relu", "abs", "leaky_relu", "elu"])
def test_kink_convention_is_the_same_numerically_and_symbolically(name):
    """relu, abs, leaky_relu, elu at exactly 0: numeric == table's SymPy partial == sympy.diff."""
    op = OPS[name]
    x = sp.Symbol("x", real=True)
    extra = [d for _, d in op.params]
    num = float(op.partials(NUM, op.apply(NUM, np.float64(0.0), *extra), np.float64(0.0), *extra)[0])
    sym_table = op.partials(SYM, op.apply(SYM, x, *extra), x, *map(sp.Float, extra))[0]
    by_table = float(sp.sympify(sym_table).subs(x, 0))
    by_diff = float(sp.diff(op.apply(SYM, x, *map(sp.Float, extra)), x).subs(x, 0))
    assert num == by_table == pytest.approx(by_diff)
    expected = {"relu": 0.0, "abs": 0.0, "leaky_relu": 0.01, "elu": 1.0}[name]
    assert num == pytest.approx(expected)


def test_pytorch_conventions_pinned():
    zero = np.float64(0.0)
    assert float(OPS["relu"].partials(NUM, zero, zero)[0]) == 0.0
    assert float(OPS["abs"].partials(NUM, zero, zero)[0]) == 0.0
    assert float(OPS["leaky_relu"].partials(NUM, zero, zero, 0.2)[0]) == 0.2
    assert float(OPS["elu"].partials(NUM, zero, zero, 0.5)[0]) == 0.5
    assert math.isinf(float(OPS["sqrt"].partials(NUM, zero, zero)[0]))
    assert float(OPS["pow"].partials(NUM, np.float64(1.0), zero, 0)[0]) == 0.0   # d(a**0)/da at 0


def test_stable_forms_do_not_overflow():
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        assert float(NUM.sigmoid(np.float64(-1000.0))) == 0.0
        assert float(NUM.sigmoid(np.float64(1000.0))) == 1.0
        assert float(NUM.softplus(np.float64(1000.0))) == 1000.0
        assert float(NUM.softplus(np.float64(-1000.0))) == 0.0
        assert float(NUM.logsumexp(np.float64(1000.0), np.float64(1000.0))) == pytest.approx(1000 + math.log(2))
        assert float(OPS["elu"].apply(NUM, np.float64(-1000.0), 1.0)) == -1.0


def test_every_op_is_declared_once_with_its_forms():
    for name, op in OPS.items():
        assert op.name == name
        assert op.text.template and op.latex.template
        assert op.arity == -1 or op.arity >= 1
