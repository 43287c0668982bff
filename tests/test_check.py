"""sg.check: reverse vs symbolic vs finite differences (issue 3)."""

import dataclasses
import importlib

import numpy as np
import pytest
from hypothesis import given, strategies as st

import symgrad as sg
from symgrad.ops import OPS

from test_symbolic import points, smooth_graphs

check_module = importlib.import_module("symgrad.check")    # sg.check is the function
LECTURE = "sqrt(x**2 + exp(x**2)) + cos(x**2 + exp(x**2))"


def test_lecture_report():
    report = sg.check(sg.parse(LECTURE), x=2.0)
    assert report.ok and report.failed == () and report.notes == ()
    row = report["x"]
    assert row.ok and row.error < 1e-5
    assert round(row.values["reverse"], 2) == -182.87
    assert round(row.values["symbolic"], 2) == -182.87
    assert round(row.values["finite differences"], 2) == -182.87
    assert report.methods == ("reverse", "symbolic", "finite differences")


def test_report_prints_a_table():
    text = str(sg.check(sg.parse("x*y + sin(x)"), x=1.0, y=2.0))
    lines = text.splitlines()
    assert lines[0].startswith("gradient check: ok")
    assert lines[1].split() == ["input", "reverse", "symbolic", "finite", "differences",
                                "rel.", "error", "ok"]
    assert lines[2].split()[:4] == ["x", "2.5403", "2.5403", "2.5403"]
    assert lines[3].split()[:2] == ["y", "1"] and lines[3].split()[-1] == "yes"
    assert "ok" in repr(sg.check(sg.parse("x*y"), x=1.0, y=2.0))


def test_inputs_as_mapping_and_output_choice():
    g = sg.parse("a = x*y\nb = sin(x)", outputs=["a", "b"])
    report = sg.check(g, {"x": 1.0, "y": 3.0}, output="a")
    assert report.ok and report["x"].values["reverse"] == 3.0
    with pytest.raises(sg.GraphError, match="pass output"):
        sg.check(g, x=1.0, y=3.0)
    with pytest.raises(sg.InputError, match="missing"):
        sg.check(g, x=1.0, output="a")
    with pytest.raises(KeyError, match="no row 'q'"):
        report["q"]


def test_a_wrong_local_derivative_is_caught_and_named(monkeypatch):
    """Both reverse mode and the symbolic gradient use the op table; a broken
    partial makes them agree with each other and disagree with finite differences."""
    broken = dataclasses.replace(OPS["sin"], partials=lambda m, y, a: (m.sin(a),))
    monkeypatch.setitem(OPS, "sin", broken)
    report = sg.check(sg.parse("sin(x) + y"), x=1.0, y=0.5)
    assert not report.ok
    assert not report["x"].ok and report["x"].failed == ("finite differences",)
    assert report["y"].values["reverse"] == report["y"].values["symbolic"] == 1.0
    assert report.failed[0].startswith("x: reverse vs finite differences")
    assert "FAILED" in str(report) and "NO" in str(report)


def test_symbolic_disagreement_is_named(monkeypatch):
    real = check_module._compiled

    def skewed(graph, out):
        fn = real(graph, out)
        return lambda *v: {k: val * 1.1 for k, val in fn(*v).items()}

    monkeypatch.setattr(check_module, "_compiled", skewed)
    report = sg.check(sg.parse("exp(x)"), x=0.3)
    assert report["x"].failed == ("symbolic",)
    assert "reverse vs symbolic" in report.failed[0]


@pytest.mark.parametrize("text, node", [("relu(x)", "relu"), ("abs(x) + x", "abs"),
                                        ("leaky_relu(x)", "leaky_relu"), ("elu(x)*2", "elu")])
def test_kink_at_zero_is_noted_and_excused(text, node):
    report = sg.check(sg.parse(text), x=0.0)
    assert report.ok                      # reverse == symbolic; the FD straddles the kink
    assert any("non-smooth" in n and f"({node})" in n and "PyTorch" in n for n in report.notes)
    assert "straddle a kink" in report["x"].note
    assert "note: non-smooth" in str(report)


def test_fd_straddling_a_kink_near_zero_is_excused():
    report = sg.check(sg.parse("relu(x)"), x=1e-9)
    assert report.ok and report.notes == ()          # not exactly at 0: no note ...
    assert "straddle" in report["x"].note            # ... but the FD crosses the kink


def test_smooth_points_away_from_kinks_have_no_notes():
    report = sg.check(sg.parse("relu(x) + abs(x)"), x=0.5)
    assert report.ok and report.notes == () and report["x"].note == ""


def test_nonfinite_point_is_reported():
    report = sg.check(sg.parse("log(x) + y"), x=0.0, y=1.0)
    assert not report.ok
    assert any("non-finite" in n and "'a'" not in n for n in report.notes)
    assert "x" in {r.name for r in report.rows if not r.ok}
    assert report["y"].values["reverse"] == report["y"].values["symbolic"] == 1.0


def test_batches_report_the_worst_sample():
    g = sg.parse("relu(x) * y + sin(x)")
    xs = np.array([-1.0, 0.0, 0.5, 2.0])
    report = sg.check(g, x=xs, y=3.0)
    assert report.ok and report.shape == (4,)
    np.testing.assert_allclose(report["x"].values["reverse"], 3.0 * (xs > 0) + np.cos(xs))
    np.testing.assert_allclose(report["x"].values["symbolic"], report["x"].values["reverse"])
    assert report["x"].worst is not None
    assert "worst of 4 samples" in str(report)
    assert any("1 sample(s)" in n for n in report.notes)


def test_fd_step_scales_with_the_input():
    report = sg.check(sg.parse("x**3"), x=1e4)
    assert report.ok, str(report)


def test_rtol_controls_the_verdict():
    g = sg.parse("exp(exp(x))")
    assert sg.check(g, x=2.0).ok
    assert not sg.check(g, x=2.0, rtol=1e-14).ok


def test_finite_differences_helper():
    g = sg.parse("x*x*y")
    fd, straddle = check_module.finite_differences(g, {"x": 3.0, "y": 2.0}, g.outputs[0], ["x", "y"])
    assert fd["x"] == pytest.approx(12.0, rel=1e-8) and fd["y"] == pytest.approx(9.0, rel=1e-8)
    assert not straddle["x"].any()


@given(data=st.data())
def test_random_smooth_expressions_check_ok(data):
    g = data.draw(smooth_graphs())
    at = data.draw(points(g))
    report = sg.check(g, at, rtol=1e-4)
    assert report.ok, str(report) + repr([(n, g.op(n), g.args(n)) for n in g.nodes])
    assert report.notes == ()


@pytest.mark.parametrize("name", ["sin", "exp", "select", "lambda", "x.y"])
def test_input_names_that_clash_with_generated_code(name):
    import sympy as sp
    v = sp.Symbol(name)
    report = sg.check(sg.from_sympy(sp.sin(v) ** 2 + sp.exp(v)), {name: 0.4})
    assert report.ok, str(report)
