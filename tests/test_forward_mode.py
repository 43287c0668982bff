"""Forward mode: g.tangents, g.jvp, g.jacobian (issue 13)."""

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import symgrad as sg
from symgrad.core.sweep import Interpretation
from symgrad.core.tangent import tangent_sweep
from symgrad.strategies import graphs, points

from corpus import CORPUS, LECTURE

OPS_ALL = ("add", "sub", "mul", "div", "neg", "pow", "exp", "log", "sqrt", "sin", "cos", "tan",
           "tanh", "sigmoid", "relu", "leaky_relu", "elu", "softplus", "abs")


def test_lecture_tangents_line_by_line():
    """ẋ = 1, ȧ = 2x·ẋ = 4, ḃ = e^a·ȧ, ċ = ȧ + ḃ, ... ḟ = df/dx."""
    g = sg.parse(LECTURE)
    t = g.tangents(x=2.0, wrt="x")
    x = 2.0
    a = x * x
    assert t["x"] == 1.0 and t["a"] == 4.0
    assert t["b"] == pytest.approx(np.exp(a) * 4.0, rel=1e-15)
    assert t["c"] == pytest.approx(4.0 + np.exp(a) * 4.0, rel=1e-15)
    assert t["f"] == pytest.approx(g.grad(x=2.0)["x"], rel=1e-13)
    assert round(t["f"], 2) == -182.87
    assert list(t) == list(g.nodes)


@pytest.mark.parametrize("name, text, at", CORPUS, ids=[c[0] for c in CORPUS])
def test_forward_mode_equals_reverse_mode_on_every_input(name, text, at):
    g = sg.parse(text)
    grad = g.grad(at)
    for x in g.inputs:
        assert g.tangents(at, wrt=x)[g.outputs[0]] == pytest.approx(grad[x], rel=1e-12, abs=1e-14)


@settings(max_examples=60, deadline=None)
@given(st.data())
def test_random_graphs_jvp_equals_vjp(data):
    """J v (forward) = u^T J v with u = 1 (reverse): one direction, all inputs at once."""
    g = data.draw(graphs(ops=OPS_ALL, max_depth=4))
    at = data.draw(points(g))
    v = {x: data.draw(st.floats(-2, 2, allow_nan=False)) for x in g.inputs}
    value, dot = g.jvp(at, v)
    grad = g.grad(at)
    assert value == g.forward(at)[g.outputs[0]]
    want = sum(grad[x] * v[x] for x in g.inputs)
    scale = sum(abs(grad[x] * v[x]) for x in g.inputs)
    assert dot == pytest.approx(want, rel=1e-10, abs=1e-12 * max(1.0, scale))


def test_batched_tangents_and_jvp():
    g = sg.parse("x * y + sin(x)")
    xs = np.array([0.0, 1.0, 2.0])
    t = g.tangents(x=xs, y=2.0, wrt="x")
    np.testing.assert_allclose(t[g.outputs[0]], 2.0 + np.cos(xs), rtol=1e-15)
    np.testing.assert_array_equal(t["y"], np.zeros(3))
    value, dot = g.jvp({"x": xs, "y": 2.0}, {"x": 1.0, "y": np.array([0.0, 1.0, -1.0])})
    np.testing.assert_allclose(value, xs * 2.0 + np.sin(xs), rtol=1e-15)
    np.testing.assert_allclose(dot, 2.0 + np.cos(xs) + np.array([0.0, 1.0, -1.0]) * xs, rtol=1e-15)
    scalar = g.jvp({"x": 1.0, "y": 2.0}, {"y": 1.0})
    assert scalar == (2.0 + np.sin(1.0), 1.0) and all(type(v) is float for v in scalar)


def test_kink_conventions_match_reverse_mode():
    for text, want in (("relu(x)", 0.0), ("abs(x)", 0.0), ("leaky_relu(x, slope=0.2)", 0.2),
                       ("elu(x, alpha=0.5)", 0.5)):
        g = sg.parse(text)
        assert g.tangents(x=0.0)[g.outputs[0]] == want == g.grad(x=0.0)["x"]


def test_jacobian_of_a_multi_output_graph():
    x, y = sg.variable("x"), sg.variable("y")
    g = sg.Graph({"u": x * y, "v": sg.exp(x) + y, "w": y})
    J = g.jacobian(x=0.5, y=2.0)
    assert J.shape == (3, 2)
    for i, o in enumerate(g.outputs):
        grad = g.grad(x=0.5, y=2.0, output=o)
        np.testing.assert_allclose(J[i], [grad["x"], grad["y"]], rtol=1e-15)
    assert g.jacobian(x=0.5, y=2.0, outputs="v", wrt="x").tolist() == [[np.exp(0.5)]]
    batch = g.jacobian(x=np.array([0.5, 1.0]), y=2.0)
    assert batch.shape == (2, 3, 2)
    np.testing.assert_allclose(batch[0], J, rtol=1e-15)


def test_long_chain_is_linear_without_recursion():
    e = sg.variable("x")
    for _ in range(30_000):                     # deeper than any recursion limit
        e = sg.sin(e)
    g = sg.Graph(e)
    t = g.tangents(x=0.5)
    assert len(t) == 30_001
    assert t[g.outputs[0]] == pytest.approx(g.grad(x=0.5)["x"], rel=1e-12)


def test_bad_requests_are_clear_errors():
    g = sg.parse("x * y")
    with pytest.raises(sg.InputError, match="wrt=<input name> or tangent="):
        g.tangents(x=1.0, y=2.0)
    with pytest.raises(sg.InputError, match="one of them"):
        g.tangents(x=1.0, y=2.0, wrt="x", tangent={"x": 1.0})
    with pytest.raises(sg.InputError, match="'z', not an input"):
        g.jvp({"x": 1.0, "y": 2.0}, {"z": 1.0})
    with pytest.raises(sg.InputError, match="number or an array"):
        g.jvp({"x": 1.0, "y": 2.0}, {"x": "one"})
    with pytest.raises(sg.GraphError, match="not an input"):
        g.tangents(x=1.0, y=2.0, wrt="q")
    with pytest.raises(sg.InputError, match="missing input"):
        g.jvp({"x": 1.0}, {"x": 1.0})


class Recorded(Interpretation):
    """Terms recorded, not combined: what a forward-mode derivation prints."""

    def __init__(self, values):
        self.values = values

    def partials(self, name, op, args):
        return [f"d{name}/d{a}" for a in args]

    def term(self, seed, d, name, pos, arg):
        return f"{d}*{seed}"

    def first(self, term, name):
        return [term]

    def add(self, total, term, name):
        return total + [term]

    def settle(self, name, total):
        return f"dot_{name}"


def test_tangent_sweep_takes_any_interpretation():
    """The forward sweep reads the Interpretation hooks: a derivation's
    "sum over arguments" lines are one more interpretation."""
    g = sg.parse("a = sin(x)\nb = a * a\nc = exp(a)\nf = b + c")
    seen = {}

    class Spy(Recorded):
        def settle(self, name, total):
            seen[name] = total
            return super().settle(name, total)

    tan = tangent_sweep(g.program, {"x": "dot_x"}, Spy({}))
    assert seen["a"] == ["da/dx*dot_x"]
    assert seen["b"] == ["db/da*dot_a", "db/da*dot_a"]          # a shared twice: two terms
    assert seen["f"] == ["df/db*dot_b", "df/dc*dot_c"]
    assert tan["f"] == "dot_f"
