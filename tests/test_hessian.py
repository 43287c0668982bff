"""Hessians: g.hessian (forward-over-reverse), g.hvp, g.symbolic_hessian, sg.check(order=2) (issue 13)."""

import dataclasses

import numpy as np
import pytest
import sympy as sp
from hypothesis import given, settings, strategies as st

import symgrad as sg
from symgrad.core.ops import OPS
from symgrad.strategies import graphs, points, smooth_at
from symgrad.symbolic.gradient import evaluate_shared, symbol
from symgrad.symbolic.hessian import hessian_graph

from corpus import CORPUS, LECTURE

SMOOTH2 = ("add", "sub", "mul", "div", "neg", "pow", "exp", "log", "sqrt", "sin", "cos", "tanh",
           "sigmoid", "softplus", "relu", "leaky_relu", "elu", "abs")
LECTURE_F2 = 21943.9017952965                   # d^2/dx^2 at x = 2 (SymPy, exact then evalf)


def test_lecture_hessian_pinned_against_sympy():
    g = sg.parse(LECTURE)
    x = sp.Symbol("x")
    exact = float(sp.diff(sp.sqrt(x**2 + sp.exp(x**2)) + sp.cos(x**2 + sp.exp(x**2)), x, 2)
                  .subs(x, 2).evalf(30))
    assert exact == pytest.approx(LECTURE_F2, rel=1e-14)
    H = g.hessian(x=2.0)
    assert H.shape == (1, 1) and H[0, 0] == pytest.approx(exact, rel=1e-12)
    S = g.symbolic_hessian()
    assert float(S[0, 0].subs(symbol("x"), 2).evalf(30)) == pytest.approx(exact, rel=1e-14)
    assert g.hvp({"x": 2.0}, {"x": 0.5})["x"] == pytest.approx(exact / 2, rel=1e-12)


@pytest.mark.parametrize("name, text, at", CORPUS, ids=[c[0] for c in CORPUS])
def test_corpus_hessians_agree_four_ways(name, text, at):
    g = sg.parse(text)
    report = sg.check(g, at, order=2)
    assert report.ok, str(report)
    assert report.methods == ("reverse-over-reverse", "forward-over-reverse", "symbolic",
                              "finite differences")
    assert [r.name for r in report.rows] == [f"{a}, {b}" for a in g.inputs for b in g.inputs]
    H = g.hessian(at)
    np.testing.assert_allclose(H, H.T, rtol=1e-9, atol=1e-12)


@settings(max_examples=40, deadline=None)
@given(st.data())
def test_random_graphs_hessians_symmetric_and_four_ways(data):
    g = data.draw(graphs(ops=SMOOTH2, max_depth=3))
    at = data.draw(points(g, order=2))
    H = g.hessian(at)
    np.testing.assert_allclose(H, H.T, rtol=1e-9, atol=1e-9)
    report = sg.check(g, at, order=2, rtol=1e-5)
    assert report.ok, str(report)


@settings(max_examples=30, deadline=None)
@given(st.data())
def test_hvp_is_the_hessian_times_the_vector(data):
    g = data.draw(graphs(ops=SMOOTH2, max_depth=3))
    at = data.draw(points(g, order=2))
    v = {x: data.draw(st.floats(-2, 2, allow_nan=False)) for x in g.inputs}
    H = g.hessian(at)
    hv = g.hvp(at, v)
    want = H @ np.array([v[x] for x in g.inputs])
    np.testing.assert_allclose([hv[x] for x in g.inputs], want, rtol=1e-9, atol=1e-9)


def test_reverse_over_reverse_graph_evaluates_the_hessian():
    g = sg.parse("x**2 * y + sin(x * y)")
    hg = hessian_graph(g)
    assert hg.outputs == ("ddf_dx_dx", "ddf_dx_dy", "ddf_dy_dx", "ddf_dy_dy") or len(hg.outputs) == 4
    vals = hg.forward(x=0.7, y=-1.2)
    H = g.hessian(x=0.7, y=-1.2)
    np.testing.assert_allclose(np.array([vals[o] for o in hg.outputs]).reshape(2, 2), H, rtol=1e-13)


def test_batched_hessian_and_wrt_subsets():
    g = sg.parse("x**3 * y + exp(y)")
    xs, ys = np.array([0.5, 1.0, -2.0]), np.array([1.0, 0.0, 0.3])
    H = g.hessian(x=xs, y=ys)
    assert H.shape == (3, 2, 2)
    for k in range(3):
        np.testing.assert_allclose(H[k], g.hessian(x=xs[k], y=ys[k]), rtol=1e-15)
    np.testing.assert_allclose(H[:, 0, 0], 6 * xs * ys, rtol=1e-15)
    assert g.hessian(x=1.0, y=2.0, wrt="y").tolist() == [[np.exp(2.0)]]
    assert g.hessian(x=1.0, y=2.0, wrt=["y", "x"])[0, 1] == 3.0
    hv = g.hvp({"x": xs, "y": ys}, {"x": 1.0})
    np.testing.assert_allclose(hv["x"], H[:, 0, 0], rtol=1e-15)


def test_symbolic_hessian_plain_and_shared():
    g = sg.parse("a = x * y\nb = sin(a)\nf = b * b + relu(x) * y")
    x, y = symbol("x"), symbol("y")
    S = g.symbolic_hessian()
    assert S.shape == (2, 2) and sp.simplify(S[0, 1] - S[1, 0]) == 0
    assert sp.simplify(S[1, 1] - sp.diff(sp.sin(x * y) ** 2, y, 2)) == 0
    assignments, M = g.symbolic_hessian(shared=True)
    f = evaluate_shared(assignments, {f"{i}{j}": M[i, j] for i in range(2) for j in range(2)}, g.inputs)
    got = f(0.4, 1.3)
    H = g.hessian(x=0.4, y=1.3)
    np.testing.assert_allclose([[got["00"], got["01"]], [got["10"], got["11"]]], H, rtol=1e-12)
    # relu'' is 0, also at the kink (no DiracDelta): the numeric convention
    assert sg.parse("relu(x) * x").symbolic_hessian()[0, 0].subs(x, 0) == 0


@pytest.mark.parametrize("loss", ["squared", "cross_entropy"])
def test_mlp_hessians_with_wsum_and_losses(loss):
    net = sg.mlp([2, 2, 2], activation="tanh", loss=loss)
    g = net.graph
    rng = np.random.default_rng(3)
    at = {k: float(rng.normal()) for k in g.inputs}
    if loss == "cross_entropy":
        at.update({y: float(i == 0) for i, y in enumerate(n for n in g.inputs if n.startswith("y"))})
    weights = [n for n in g.inputs if n.startswith("w")]
    H = g.hessian(at, wrt=weights)
    assert H.shape == (len(weights), len(weights))
    np.testing.assert_allclose(H, H.T, rtol=1e-9, atol=1e-12)
    report = sg.check(g, at, order=2)
    assert report.ok, str(report)


def test_check_order_two_names_the_failing_entry(monkeypatch):
    """A wrong second derivative of an op (tanh's partial made 1 - 2y^2 ... in the
    gradient graph) is caught by finite differences and named by its entry."""
    g = sg.parse("tanh(x) * y")
    good = sg.check(g, x=0.3, y=0.8, order=2)
    assert good.ok and good.title == "Hessian check" and good.label == "entry"
    text = str(good)
    assert text.startswith("Hessian check: ok") and "x, y" in text
    broken = dataclasses.replace(OPS["tanh"], partials=lambda m, y, a: (1 - y * y * 2,))
    monkeypatch.setitem(OPS, "tanh", broken)
    bad = sg.check(sg.parse("tanh(x) * y"), x=0.3, y=0.8, order=2)
    assert not bad.ok
    assert any(f.startswith("x, x: reverse-over-reverse vs finite differences") for f in bad.failed)
    assert "FAILED" in str(bad)


def test_check_order_is_validated_and_paths_still_run():
    g = sg.parse("x * y")
    with pytest.raises(sg.InputError, match="order must be 1"):
        sg.check(g, x=1.0, y=2.0, order=3)
    report = sg.check(g, x=1.0, y=2.0, order=2, paths=True)
    assert report.ok and report.paths is not None
    assert report["x, y"].values["reverse-over-reverse"] == 1.0


def test_second_order_points_avoid_the_kinks_of_the_derivative():
    """relu(x)*x is smooth to first order at 0 but its second derivative jumps
    there (step(x) in the gradient graph): order=2 refuses points near it."""
    g = sg.parse("relu(x - 0.5) * x")
    assert smooth_at(g, {"x": 0.4995}, order=1) is False         # relu's own kink
    g2 = sg.parse("relu(x) * relu(x)")
    assert smooth_at(g2, {"x": 0.3}, order=2)
    sq = sg.parse("abs(x) * abs(x) * abs(x)")
    assert smooth_at(sq, {"x": 0.0005}) is False
    from hypothesis.errors import InvalidArgument
    with pytest.raises(InvalidArgument, match="order"):
        smooth_at(g, {"x": 1.0}, order=3)
    with pytest.raises(InvalidArgument, match="order"):
        points(g, order=0)
