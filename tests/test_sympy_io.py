"""The SymPy bridge in both directions."""

import math

import numpy as np
import pytest
import sympy as sp
from hypothesis import assume, given, strategies as st

import symgrad as sg
from symgrad.strategies import expressions, points

from corpus import CORPUS

x, y = sp.symbols("x y")


def rows(g):
    return [(n, g.op(n), g.args(n)) for n in g.nodes if not g.is_input(n)]


@pytest.mark.parametrize("expr, expected", [
    (x - y, [("a", "sub", ("x", "y"))]),
    (x / y, [("a", "div", ("x", "y"))]),
    (1 / x, [("a", "div", (1, "x"))]),
    (-x, [("a", "neg", ("x",))]),
    (sp.sqrt(x), [("a", "sqrt", ("x",))]),
    (1 / sp.sqrt(x), [("a", "sqrt", ("x",)), ("b", "div", (1, "a"))]),
    (2 * x, [("a", "mul", (2, "x"))]),
    (x / 2, [("a", "mul", (0.5, "x"))]),
    (x**y, [("a", "pow", ("x", "y"))]),
    (x**-2, [("a", "pow", ("x", 2)), ("b", "div", (1, "a"))]),
    (sp.exp(x) + sp.log(y), [("a", "exp", ("x",)), ("b", "log", ("y",)), ("c", "add", ("a", "b"))]),
    (sp.Abs(x), [("a", "abs", ("x",))]),
    (sp.Max(x, 0), [("a", "relu", ("x",))]),
    (sp.pi * x, [("a", "mul", (math.pi, "x"))]),
])
def test_conversions(expr, expected):
    assert rows(sg.from_sympy(expr)) == expected


def test_several_named_outputs_share_nodes():
    g = sg.from_sympy({"f": sp.sin(x * y), "g": sp.cos(x * y)})
    assert g.outputs == ("f", "g")
    assert g.args("f") == g.args("g") == ("a",)


@pytest.mark.parametrize("bad, message", [
    (sp.Integral(x, x), "cannot convert SymPy Integral"),
    (sp.Function("q")(x), "cannot convert SymPy q"),
    (sp.gamma(x) + 1, "cannot convert SymPy gamma"),
    (sp.Integer(3), "constant"),
    ("x + 1", "takes SymPy expressions"),
    (sp.zoo * x, "not finite"),
])
def test_unsupported_sympy_is_a_graph_error(bad, message):
    with pytest.raises(sg.GraphError, match=message):
        sg.from_sympy(bad)


def test_to_sympy_any_node_and_real_symbols():
    g = sg.parse("a = x**2\nb = exp(a)\nc = a + b\nf = sqrt(c) + cos(c)")
    xr = sp.Symbol("x", real=True)
    assert g.to_sympy("c") == xr**2 + sp.exp(xr**2)
    assert g.to_sympy("x") == xr
    assert sp.diff(sg.parse("abs(x)").to_sympy(), xr) == sp.sign(xr)


def test_to_sympy_kinks_follow_the_numeric_convention():
    xr = sp.Symbol("x", real=True)
    for text, at_zero in [("relu(x)", 0), ("leaky_relu(x, 0.2)", 0.2), ("elu(x, 0.5)", 0.5), ("abs(x)", 0)]:
        d = sp.diff(sg.parse(text).to_sympy(), xr).subs(xr, 0)
        assert float(d) == pytest.approx(at_zero) == sg.parse(text).grad(x=0.0)["x"]


@pytest.mark.parametrize("case", CORPUS, ids=[c[0] for c in CORPUS])
def test_round_trip_through_sympy_keeps_values(case):
    _, text, at = case
    g = sg.parse(text)
    back = sg.from_sympy(g.to_sympy())
    assert back.forward(at)[back.outputs[0]] == pytest.approx(g.forward(at)[g.outputs[0]], rel=1e-12)


@given(st.data())
def test_random_round_trip(data):
    g = sg.parse(data.draw(expressions(max_depth=3)))
    assume(g.to_sympy().free_symbols)            # SymPy may simplify x + -x to 0
    at = data.draw(points(g))
    back = sg.from_sympy(g.to_sympy())
    at2 = {k: v for k, v in at.items() if k in back.inputs}
    with np.errstate(all="ignore"):
        assert back.forward(at2)[back.outputs[0]] == pytest.approx(g.forward(at)[g.outputs[0]], rel=1e-9, abs=1e-12)


def test_deep_sympy_expression_converts_iteratively():
    e = x
    for _ in range(5000):
        e = sp.sin(e, evaluate=False)
    g = sg.from_sympy(e)
    assert len(g.nodes) == 5001
    assert g.grad(x=0.1)["x"] == pytest.approx(sg.parse("sin(x)").grad(x=0.1)["x"] * 0 + _chain(0.1, 5000))


def _chain(v, n):
    d = 1.0
    for _ in range(n):
        d *= math.cos(v)
        v = math.sin(v)
    return d


def test_to_sympy_of_a_chain_deeper_than_sympy_can_go_is_a_clear_error():
    xb = sg.variable("x")
    e = xb
    for _ in range(20_000):
        e = sg.sin(e)
    with pytest.raises(sg.GraphError, match="nested too deeply for SymPy"):
        sg.Graph(e).to_sympy()
