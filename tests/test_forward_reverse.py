"""Forward values and reverse-mode adjoints, checked against SymPy and finite differences."""

import math

import numpy as np
import pytest
import sympy as sp
from hypothesis import given, settings, strategies as st

import symgrad as sg
from symgrad.strategies import expressions, points, smooth_at

from corpus import CORPUS, LECTURE, LECTURE_PROGRAM


def _lecture_exact():
    """Every node of the lecture graph at x = 2, from SymPy at 30 digits."""
    x = sp.Integer(2)
    a = x**2; b = sp.exp(a); c = a + b; d = sp.sqrt(c); e = sp.cos(c); f = d + e
    adj_c = -sp.sin(c) + 1 / (2 * sp.sqrt(c))
    adj_a = adj_c * (1 + b)
    fw = dict(x=x, a=a, b=b, c=c, d=d, e=e, f=f)
    bw = dict(f=1, e=1, d=1, c=adj_c, b=adj_c, a=adj_a, x=adj_a * 2 * x)
    ev = lambda v: float(sp.N(v, 30))
    return {k: ev(v) for k, v in fw.items()}, {k: ev(v) for k, v in bw.items()}


def _builder_lecture():
    x = sg.variable("x")
    return sg.Graph(sg.sqrt(x**2 + sg.exp(x**2)) + sg.cos(x**2 + sg.exp(x**2)))


def _sympy_lecture():
    x = sp.Symbol("x")
    return sg.from_sympy(sp.sqrt(x**2 + sp.exp(x**2)) + sp.cos(x**2 + sp.exp(x**2)))


FRONT_ENDS = {"text": lambda: sg.parse(LECTURE), "program": lambda: sg.parse(LECTURE_PROGRAM),
              "builder": _builder_lecture, "sympy": _sympy_lecture}


@pytest.mark.parametrize("front_end", sorted(FRONT_ENDS))
def test_lecture_numbers_on_every_front_end(front_end):
    g = FRONT_ENDS[front_end]()
    assert g.nodes == ("x", "a", "b", "c", "d", "e", "f")
    fw_exact, bw_exact = _lecture_exact()
    fw, bw = g.forward(x=2.0), g.backward(x=2.0)
    for n in g.nodes:
        assert fw[n] == pytest.approx(fw_exact[n], rel=1e-12), n
        assert bw[n] == pytest.approx(bw_exact[n], rel=1e-12), n
    # the rounded figures of the lecture table
    assert (round(fw["b"], 3), round(fw["c"], 3), round(fw["d"], 4), round(fw["e"], 2),
            round(fw["f"], 3)) == (54.598, 58.598, 7.6549, -0.46, 7.194)
    assert (round(bw["c"], 3), round(bw["b"], 3), round(bw["a"], 3), round(bw["x"], 2)) == \
        (-0.822, -0.822, -45.717, -182.87)
    assert g.grad(x=2.0) == {"x": pytest.approx(-182.86980730598307, rel=1e-12)}


def test_results_are_mappings_of_python_floats():
    fw = sg.parse(LECTURE).forward({"x": 2})
    assert type(fw["f"]) is float and list(fw) == ["x", "a", "b", "c", "d", "e", "f"]
    assert fw.nonfinite == () and "7.19433" in repr(fw)


def _fd(g, at, name, output=None):
    h = 1e-6 * max(1.0, abs(at[name]))
    hi, lo = dict(at), dict(at)
    hi[name] += h; lo[name] -= h
    out = output or g.outputs[0]
    return (g.forward(hi)[out] - g.forward(lo)[out]) / (2 * h)


@pytest.mark.parametrize("case", CORPUS, ids=[c[0] for c in CORPUS])
def test_corpus_reverse_equals_sympy_diff_and_finite_differences(case):
    _, text, at = case
    g = sg.parse(text)
    expr = g.to_sympy()
    syms = {s.name: s for s in expr.free_symbols}
    grad = g.grad(at)
    for name in g.inputs:
        exact = float(sp.diff(expr, syms[name]).subs({syms[k]: v for k, v in at.items()}))
        assert grad[name] == pytest.approx(exact, rel=1e-9, abs=1e-12), name
        assert grad[name] == pytest.approx(_fd(g, at, name), rel=1e-5, abs=1e-6), name


@settings(max_examples=300)
@given(st.data())
def test_random_expressions_reverse_equals_sympy_and_finite_differences(data):
    g = sg.parse(data.draw(expressions(variables=("x", "y"), max_depth=4)))
    at = data.draw(points(g))
    expr = g.to_sympy()
    syms = {s.name: s for s in expr.free_symbols}
    subs = {syms[k]: v for k, v in at.items() if k in syms}
    grad = g.grad(at)
    assert g.forward(at)[g.outputs[0]] == pytest.approx(float(expr.subs(subs)), rel=1e-9, abs=1e-9)
    for name in g.inputs:
        exact = float(sp.diff(expr, syms[name]).subs(subs)) if name in syms else 0.0
        assert grad[name] == pytest.approx(exact, rel=1e-7, abs=1e-9)
        scale = max(1.0, *(abs(v) for v in g.forward(at).values()))
        assert grad[name] == pytest.approx(_fd(g, at, name), rel=1e-4, abs=1e-5 * scale)


@given(st.data())
def test_batched_evaluation_equals_per_sample(data):
    g = sg.parse(data.draw(expressions(variables=("x", "y"), max_depth=3)))
    samples = data.draw(st.lists(points(g), min_size=2, max_size=5))
    batch = {k: np.array([s[k] for s in samples]) for k in g.inputs}
    fw, bw = g.forward(batch), g.backward(batch)
    for i, s in enumerate(samples):
        one_f, one_b = g.forward(s), g.backward(s)
        for n in g.nodes:
            assert fw[n].shape == (len(samples),)
            assert fw[n][i] == pytest.approx(one_f[n], rel=1e-12, abs=1e-300)
            assert bw[n][i] == pytest.approx(one_b[n], rel=1e-12, abs=1e-300)


def test_shared_node_adjoint_sums_over_consumers():
    g = sg.parse("a = sin(x)\nb = a * a\nc = exp(a)\nf = b + c")
    bw = g.backward(x=0.7)
    a = math.sin(0.7)
    assert bw["a"] == pytest.approx(2 * a + math.exp(a))
    assert bw["x"] == pytest.approx((2 * a + math.exp(a)) * math.cos(0.7))


def test_broadcasting_gives_every_node_the_broadcast_shape():
    g = sg.parse("a = y*2\nf = a + x")
    fw = g.forward(x=np.zeros((3, 1)), y=np.arange(4.0))
    assert all(fw[n].shape == (3, 4) for n in g.nodes)
    gr = g.grad(x=np.zeros((3, 1)), y=np.arange(4.0))
    assert gr["x"].shape == (3, 4) and np.all(gr["y"] == 2.0)
    big = sg.parse(LECTURE).forward(x=np.linspace(0, 1, 10_000))
    assert big["f"].shape == (10_000,)


def test_unreached_nodes_have_zero_adjoint_and_multiple_outputs():
    g = sg.parse("u = sin(x)\nv = cos(y)", outputs=["u", "v"])
    assert g.backward(x=1.0, y=2.0, output="u")["y"] == 0.0
    assert g.grad(x=1.0, y=2.0, output="v") == {"x": 0.0, "y": pytest.approx(-math.sin(2.0))}
    assert g.backward(x=1.0, y=2.0, output="x")["x"] == 1.0


@pytest.mark.parametrize("call, message", [
    (lambda g: g.forward(), "missing input(s) 'x'"),
    (lambda g: g.forward(x=1.0, z=2.0), "unknown input(s) 'z'"),
    (lambda g: g.forward({"x": 1.0}, x=2.0), "given twice"),
    (lambda g: g.forward(x="2"), "must be a real number"),
    (lambda g: g.forward(x=1j), "real numbers"),
    (lambda g: g.forward(x=[[1.0], [1.0, 2.0]]), "rectangular"),
    (lambda g: g.forward(x=True), "must be a real number"),
])
def test_input_errors(call, message):
    with pytest.raises(sg.InputError) as info:
        call(sg.parse("sin(x)"))
    assert message in str(info.value)


def test_shape_mismatch_is_an_input_error():
    with pytest.raises(sg.InputError, match=r"do not broadcast together \(x: \(3,\), y: \(4,\)\)"):
        sg.parse("x + y").forward(x=np.ones(3), y=np.ones(4))


def test_domain_errors_give_nan_and_name_the_nodes():
    g = sg.parse("a = log(x)\nb = sqrt(y)\nf = a + b")
    fw = g.forward(x=0.0, y=-1.0)
    assert fw["a"] == -math.inf and math.isnan(fw["b"])
    assert fw.nonfinite == ("a", "b", "f")
    with pytest.raises(sg.DomainError, match=r"node 'a' \(log\) is -inf with arguments \(x=0\); log needs x > 0"):
        g.forward(x=0.0, y=1.0, strict=True)
    with pytest.raises(sg.DomainError, match="node 'b' \\(sqrt\\)"):
        g.backward(x=1.0, y=-1.0, strict=True)
    batch = g.forward(x=np.array([1.0, 0.0]), y=np.array([1.0, 1.0]))
    assert batch.nonfinite == ("a", "f")
    with pytest.raises(sg.DomainError, match=r"node 'a' \(log\) is -inf at sample 1 with arguments \(x=0\)"):
        g.forward(x=np.array([1.0, 0.0]), y=np.array([1.0, 1.0]), strict=True)


def test_strict_backward_names_an_infinite_local_derivative():
    with pytest.raises(sg.DomainError, match="local derivative"):
        sg.parse("sqrt(x)").backward(x=0.0, strict=True)
    assert sg.parse("sqrt(x)").backward(x=0.0)["x"] == math.inf


def test_overflow_and_division_follow_ieee():
    g = sg.parse("exp(x) + 1/y")
    fw = g.forward(x=1000.0, y=0.0)
    assert fw[g.outputs[0]] == math.inf
    assert math.isnan(sg.parse("x**0.5").forward(x=-1.0)["a"])


def test_strategy_points_are_smooth():
    g = sg.parse("relu(x) + log(y)")
    assert not smooth_at(g, {"x": 0.0, "y": 1.0})
    assert smooth_at(g, {"x": 0.5, "y": 1.0})
