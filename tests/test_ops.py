"""One test per property, parametrised over the op table (JAX LAX_GRAD_OPS style)."""

import importlib
import math

import numpy as np
import pytest
import sympy as sp

from symgrad.core.ops import NUM, OPS, SYM

POINTS = {"real": [-1.3, -0.4, 0.35, 1.2], "positive": [0.3, 0.9, 1.7], "nonzero": [-1.5, 0.6, 2.2],
          "param": [0.2, 0.7]}


def _args(op):
    n = op.count_near(3)
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
        assert op.arity in (-1, -2) or op.arity >= 1


# -- everything else is derived from the table (issue 16) ---------------------------------
import symgrad as sg
from symgrad.front import builder
from symgrad.numeric import codeform
from symgrad import strategies
from symgrad.numeric.codegen import fn
from symgrad.numeric.lower import _NS
from symgrad.front.sympy_io import sympy_patterns
from symgrad.core.ops import sympy_heads


def _code_value(src: str, ns: dict, refs: dict):
    return fn(list(refs), src, ns)(*refs.values())      # the code generator's own compile path


@pytest.mark.parametrize("name", sorted(OPS))
def test_code_is_the_formula_bit_for_bit(name):
    """The code text derived from apply/partials computes exactly what they compute,
    on numpy (NUM) and on floats (MATH)."""
    op = OPS[name]
    for args in _points(op):
        refs = {f"v{i}": a for i, a in enumerate(args)}
        names = list(refs)
        want = op.apply(NUM, *map(np.float64, args))
        parts = op.partials(NUM, want, *map(np.float64, args))
        for backend in ("num", "math"):
            ns = _NS[backend]
            got = _code_value(codeform.apply_code(op, names), ns, refs)
            assert float(got) == float(want), (name, backend)
            for j in range(len(args)):
                d = codeform.partial_code(op, j, names, "y")
                assert float(_code_value(d, ns, {**refs, "y": float(want)})) == float(parts[j])


def test_constant_partials_stay_the_text_one_and_minus_one():
    assert [codeform.partial_code(OPS["sub"], j, ["v0", "v1"], "y") for j in (0, 1)] == ["1", "-1"]
    assert codeform.partial_code(OPS["neg"], 0, ["v0"], "y") == "-1"
    assert codeform.partial_code(OPS["identity"], 0, ["v0"], "y") == "1"
    assert codeform.partial_code(OPS["sum"], 4, [f"v{i}" for i in range(5)], "y") == "1"


def test_long_sums_stay_flat():
    """n-ary sums are written a + b + c (Python nests at most 200 parentheses)."""
    refs = [f"v{i}" for i in range(3000)]
    src = codeform.apply_code(OPS["sum"], refs)
    assert "(" not in src and src.count(" + ") == 2999
    assert codeform.apply_code(OPS["sub"], ["v0", "(-2.0)"]) == "v0 - (-2.0)"
    g = sg.Graph(sg.sum(*[sg.variable(f"x{i}") * (i + 1) for i in range(400)]))
    assert g.grad({f"x{i}": 1.0 for i in range(400)})["x399"] == 400.0


def test_code_values_refuse_truth_and_foreign_objects():
    a = codeform.Code("{0}")
    with pytest.raises(TypeError, match="no truth value"):
        bool(a > 0)
    with pytest.raises(TypeError, match="str"):
        a + "x"
    assert (-(a ** 2) * 3 - a / 2).bare == "((-({0} ** 2)) * 3) - ({0} / 2)"


def test_sympy_mapping_is_derived_from_the_table():
    heads = {k.__name__: v.name for k, v in sympy_heads().items()}
    assert heads == {"exp": "exp", "log": "log", "sin": "sin", "cos": "cos", "tan": "tan",
                     "tanh": "tanh", "relu": "relu", "leaky_relu": "leaky_relu", "elu": "elu",
                     "Abs": "abs", "step": "step", "sign": "sign", "ifpos": "ifpos"}
    compound = {op.name for forms in sympy_patterns().values() for op, _, _ in forms}
    assert compound == {"sqrt", "sigmoid", "softplus"}
    x = sp.Symbol("x")
    for name in ("sigmoid", "softplus", "sqrt", "abs", "tanh"):
        g = sg.from_sympy(OPS[name].apply(SYM, x))
        assert [op.name for _, op, _ in g.program] == [name]


def test_exports_and_default_ops_are_derived_from_the_table():
    exported = set(builder.exports())
    assert exported == {n for n in sg.__all__ if n in OPS}          # __all__ stays the contract
    assert all(getattr(sg, n) is builder.OP_FUNCTIONS[n] for n in exported)
    assert strategies.DEFAULT_OPS == ("add", "sub", "mul", "div", "neg", "pow", "exp", "log",
                                      "sqrt", "sin", "cos", "tan", "tanh", "sigmoid", "relu",
                                      "leaky_relu", "elu", "softplus", "abs")
    assert "MATH" not in vars(importlib.import_module("symgrad.core.ops"))   # the executor's backend
