"""Symbolic gradients by reverse accumulation (issue 3)."""

import math

import numpy as np
import pytest
import sympy as sp
from hypothesis import given, strategies as st

import symgrad as sg
from symgrad.symbolic.gradient import evaluate_shared, shared_size, symbol, symbolic_adjoints
from symgrad.front.sympy_io import sympy_values

LECTURE = "sqrt(x**2 + exp(x**2)) + cos(x**2 + exp(x**2))"
NAMES = ("x", "y", "z")


# -- a local strategy: random smooth expressions built with the builder API ----------
def _leaves():
    return st.one_of(st.sampled_from(NAMES).map(sg.variable),
                     st.sampled_from([0.5, 2, -1.5, 3]).map(lambda c: c))


_UNARY = [sg.sin, sg.cos, sg.tanh, sg.sigmoid, sg.softplus,
          lambda e: sg.exp(sg.tanh(e)),                 # bounded argument: no overflow
          lambda e: sg.log(e * e + 1), lambda e: sg.sqrt(e * e + 1),
          lambda e: e**2, lambda e: e**3, lambda e: -e,
          lambda e: e * sg.sin(e)]                      # a diamond: e used twice


def _combine(children):
    unary = st.tuples(st.sampled_from(_UNARY), children).map(lambda t: _apply1(*t))
    binary = st.tuples(st.sampled_from(["+", "-", "*", "/"]), children, children).map(
        lambda t: _apply2(*t))
    return st.one_of(unary, binary)


def _apply1(f, e):
    return f(e) if isinstance(e, sg.Expr) else f(sg.variable("x") + e)


def _apply2(op, a, b):
    if not isinstance(a, sg.Expr) and not isinstance(b, sg.Expr):
        a = sg.variable("y") * a
    if op == "/":
        return a / (b * b + 1)                           # never divides by 0
    return {"+": a + b, "-": a - b, "*": a * b}[op]


def smooth_graphs():
    """Graphs of smooth, finite-everywhere functions of x, y, z (the last ones
    drawn only if they occur)."""
    tree = st.recursive(_leaves(), _combine, max_leaves=12)
    return tree.filter(lambda e: isinstance(e, sg.Expr)).map(sg.Graph)


def points(graph):
    return st.fixed_dictionaries({n: st.floats(-2, 2) for n in graph.inputs})


def _close(a, b, tol=1e-7):
    a, b = float(a), float(b)
    return abs(a - b) <= tol * max(1.0, abs(a), abs(b))


def _numeric(expr, at):
    return float(sp.lambdify([symbol(n) for n in at], expr, "numpy")(*at.values()))


# -- the lecture ----------------------------------------------------------------------
def test_lecture_adjoint_of_c_in_node_symbols():
    adj = symbolic_adjoints(sg.parse(LECTURE))
    c = symbol("c")
    assert sp.simplify(adj["c"] - (-sp.sin(c) + 1 / (2 * sp.sqrt(c)))) == 0
    assert adj["d"] == 1 and adj["e"] == 1 and adj["f"] == 1
    assert adj["b"] == adj["c"]                     # b feeds c through an add


def test_lecture_adjoints_evaluate_to_the_lecture_numbers():
    g = sg.parse(LECTURE)
    adj, fw = symbolic_adjoints(g), g.forward(x=2.0)
    at = {symbol(n): fw[n] for n in g.nodes}
    got = {n: float(adj[n].subs(at)) for n in ("c", "a", "x")}
    assert round(got["c"], 3) == -0.822
    assert round(got["a"], 3) == -45.717
    assert round(got["x"], 2) == -182.87


def test_lecture_gradient_equals_sympy_diff():
    g = sg.parse(LECTURE)
    x = symbol("x")
    f = sympy_values(g, {"x": x})["f"]
    grad = g.symbolic_gradient()
    assert set(grad) == {"x"}
    assert sp.simplify(grad["x"] - sp.diff(f, x)) == 0
    assert round(float(grad["x"].subs(x, 2.0)), 2) == -182.87


def test_lecture_shared_form_is_small_and_evaluates():
    g = sg.parse(LECTURE)
    assignments, grad = g.symbolic_gradient(shared=True)
    assert [str(s) for s, _ in assignments] == ["a", "b", "c", "d", "adj_c", "adj_a"]
    assert all(isinstance(s, sp.Symbol) for s, _ in assignments)
    assert str(grad["x"]) == "2*adj_a*x"
    assert shared_size(assignments, grad) == 13
    assert round(float(evaluate_shared(assignments, grad, g.inputs)(2.0)["x"]), 2) == -182.87


def test_shared_form_substitutes_back_to_the_plain_form():
    g = sg.parse(LECTURE)
    assignments, grad = g.symbolic_gradient(shared=True)
    expr = grad["x"]
    for sym, value in reversed(assignments):
        expr = expr.subs(sym, value)
    assert sp.simplify(expr - g.symbolic_gradient()["x"]) == 0


# -- random expressions (hypothesis) ----------------------------------------------------
@given(data=st.data())
def test_gradient_equals_sympy_diff_numerically(data):
    g = data.draw(smooth_graphs())
    at = data.draw(points(g))
    f = sympy_values(g, {n: symbol(n) for n in g.inputs})[g.outputs[0]]
    grad = g.symbolic_gradient()
    assigned, shared = g.symbolic_gradient(shared=True)
    num_shared = evaluate_shared(assigned, shared, g.inputs)(*[at[n] for n in g.inputs])
    reverse = g.grad(at)
    for n in g.inputs:
        want = _numeric(sp.diff(f, symbol(n)), at)
        assert _close(_numeric(grad[n], at), want), (n, grad[n])
        assert _close(num_shared[n], want)
        assert _close(reverse[n], want, 1e-6)


@given(g=smooth_graphs())
def test_shared_form_size_is_linear_in_the_graph(g):
    assignments, grad = g.symbolic_gradient(shared=True)
    assert len(assignments) <= 2 * len(g.program)
    assert shared_size(assignments, grad) <= 8 * len(g.nodes) + 4


@given(g=smooth_graphs())
def test_adjoints_of_inputs_equal_the_gradient(g):
    adj = symbolic_adjoints(g)
    vals = sympy_values(g, {n: symbol(n) for n in g.inputs})
    back = {symbol(n): vals[n] for n in g.nodes if not g.is_input(n)}
    grad = g.symbolic_gradient()
    at = {n: 0.3 + 0.2 * i for i, n in enumerate(g.inputs)}
    for n in g.inputs:
        expr = adj[n]
        for name in reversed(g.nodes):                  # node symbols -> inputs
            if symbol(name) in back:
                expr = expr.xreplace({symbol(name): back[symbol(name)]})
        assert _close(_numeric(expr, at), _numeric(grad[n], at))


# -- kinks: PyTorch's convention on both sides --------------------------------------------
KINKS = [("relu(x)", 0.0), ("leaky_relu(x)", 0.01), ("leaky_relu(x, 0.2)", 0.2),
         ("abs(x)", 0.0), ("elu(x)", 1.0)]


@pytest.mark.parametrize("text, want", KINKS)
def test_kinks_at_zero_numeric_and_symbolic_agree(text, want):
    g = sg.parse(text)
    sym = g.symbolic_gradient()["x"].subs(symbol("x"), 0)
    assert float(sym) == want
    assigned, shared = g.symbolic_gradient(shared=True)
    assert float(evaluate_shared(assigned, shared, g.inputs)(0.0)["x"]) == want
    assert g.grad(x=0.0)["x"] == want


# -- API edges ---------------------------------------------------------------------------
def test_wrt_selects_and_validates():
    g = sg.parse("x*y + sin(x)")
    assert set(g.symbolic_gradient(wrt="y")) == {"y"}
    assert g.symbolic_gradient(wrt=["y"])["y"] == symbol("x")
    with pytest.raises(sg.GraphError, match="'q'.*not an input.*x, y"):
        g.symbolic_gradient(wrt="q")


def test_unused_input_and_other_outputs():
    g = sg.parse("a = x*y\nb = sin(x)\nc = a + 1", outputs=["b", "c"])
    assert g.symbolic_gradient(output="b") == {"x": sp.cos(symbol("x")), "y": 0}
    assigned, grad = g.symbolic_gradient(output="c", shared=True)
    assert grad == {"x": symbol("y"), "y": symbol("x")} and assigned == []
    with pytest.raises(sg.GraphError, match="pass output"):
        g.symbolic_gradient()
    assert g.symbolic_adjoints(output="a")["b"] == 0


def test_long_chain_is_iterative_and_linear():
    """Never recurse over user-sized data: a 3000-node chain."""
    lines = ["v0 = sin(x)"] + [f"v{i} = sin(v{i - 1}) + x" for i in range(1, 1500)]
    g = sg.parse("\n".join(lines))
    assigned, grad = g.symbolic_gradient(shared=True)
    assert len(assigned) <= 2 * len(g.program)
    got = evaluate_shared(assigned, grad, g.inputs)(0.3)["x"]
    assert math.isclose(got, g.grad(x=0.3)["x"], rel_tol=1e-9)


def test_adjoint_names_avoid_node_names():
    g = sg.parse("adj_a = x*x\na = sin(adj_a)")
    assigned, grad = g.symbolic_gradient(shared=True)
    names = [str(s) for s, _ in assigned]
    assert len(set(names)) == len(names)
    assert math.isclose(evaluate_shared(assigned, grad, g.inputs)(0.7)["x"],
                        g.grad(x=0.7)["x"], rel_tol=1e-12)


def test_batched_shared_evaluation():
    g = sg.parse(LECTURE)
    f = evaluate_shared(*g.symbolic_gradient(shared=True), g.inputs)
    xs = np.linspace(-1, 2, 7)
    np.testing.assert_allclose(f(xs)["x"], g.grad(x=xs)["x"], rtol=1e-12)
