"""sg.check: reverse vs symbolic vs finite differences (issue 3)."""

import dataclasses
import importlib

import numpy as np
import pytest
from hypothesis import given, strategies as st

import symgrad as sg
from symgrad.core.ops import OPS

from test_symbolic import points, smooth_graphs

check_module = importlib.import_module("symgrad.symbolic.check")    # sg.check is the function
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


# -- rtol is the bound, not a multiple of it (issue 11 mutant) ---------------------------
@pytest.mark.parametrize("factor, ok", [(0.5, True), (0.99, True), (2.0, False), (50.0, False)])
def test_rtol_is_the_exact_bound(monkeypatch, factor, ok):
    """A symbolic column off by ``factor * rtol`` (relative) passes exactly when factor < 1:
    a check that compared against 10x or 100x its rtol would pass 2x and 50x."""
    real = check_module._compiled
    rtol = 1e-5

    def skewed(graph, out):
        fn = real(graph, out)
        return lambda *v: {k: val * (1 + factor * rtol) for k, val in fn(*v).items()}

    monkeypatch.setattr(check_module, "_compiled", skewed)
    report = sg.check(sg.parse("exp(x)"), x=1.0, rtol=rtol)        # |gradient| > 1: error ~ factor*rtol
    assert report["x"].error == pytest.approx(factor * rtol, rel=1e-3)
    assert report.ok is ok and (report["x"].failed == () if ok else report["x"].failed == ("symbolic",))


def test_compare_uses_rtol_itself():
    cols = {"a": {"x": 10.0, "y": 10.0}, "b": {"x": 10.0 * (1 + 3e-6), "y": 10.0 * (1 + 3e-4)}}
    report = check_module.compare(["x", "y"], cols, rtol=1e-5)
    assert report["x"].ok and not report["y"].ok
    assert not check_module.compare(["x"], cols, rtol=1e-6)["x"].ok


# -- executor paths (check(paths=True)) ---------------------------------------------------
def test_paths_report_on_the_lecture_graph():
    report = sg.check(sg.parse(LECTURE), x=2.0, paths=True)
    assert report.ok and report.paths.ok and report.paths.title == "executor paths"
    assert report.paths.methods == ("reference", "fast grad", "code", "loop", "mean gradient")
    assert report.paths["adjoint of c"].values["code"] == report.paths["adjoint of c"].values["reference"]
    assert report.paths["adjoint of x"].values["fast grad"] == pytest.approx(-182.87, abs=0.01)
    assert report.paths["value of f"].values["fast grad"] is None          # the fast grad gives adjoints only
    assert report.paths["mean adjoint of x"].values["mean gradient"] == pytest.approx(-182.87, abs=0.01)
    text = str(report)
    assert "executor paths: ok" in text and "note: fused: not run, no fusable layers" in text
    assert "note: code: ran compiled code (math)" in text
    assert sg.check(sg.parse(LECTURE), x=2.0).paths is None                 # off by default


def test_paths_report_on_a_batch_with_fused_layers():
    net = sg.mlp([2, 3, 2, 1], activation="tanh", seed=1)
    rng = np.random.default_rng(0)
    report = sg.check(net.graph, net.feed(rng.normal(size=(4, 2)), rng.normal(size=(4, 1))), paths=True)
    assert report.ok, str(report)
    paths = report.paths
    assert {"fused", "fused loop", "mean gradient"} <= set(paths.methods) and "fast grad" not in paths.methods
    assert any(n.startswith("fast grad: not run, scalar points only") for n in paths.notes)
    assert "note: fused: ran fused layers + compiled code" in str(paths)
    assert "more rows, all agreeing" in str(paths)                          # a big graph: brief table


def test_a_broken_path_is_reported_with_path_and_node(monkeypatch):
    """Perturb the instruction loop's reverse sweep: the check names the loop and
    every node whose adjoint it got wrong, and nothing else."""
    from symgrad.numeric import lower
    real = lower.loop_reverse

    def broken(rows, ns):
        run = real(rows, ns)

        def perturbed(V, G):
            run(V, G)
            G[0] = G[0] * 1.01                    # the first input's adjoint, 1% off
        return perturbed

    monkeypatch.setattr(lower, "loop_reverse", broken)
    g = sg.parse("x * y + sin(x)")
    report = sg.check(g, x=1.0, y=2.0, paths=True)
    assert not report.ok and all(r.ok for r in report.rows)              # reverse/symbolic/FD fine
    assert report.paths["adjoint of x"].failed == ("loop",)
    assert [r.name for r in report.paths.rows if not r.ok] == ["adjoint of x"]
    assert report.failed == (f"adjoint of x: reference vs loop (rel. error {report.paths['adjoint of x'].error:.1e})",)
    assert "executor paths: FAILED: adjoint of x: reference vs loop" in str(report)


def test_a_broken_fused_layer_is_reported(monkeypatch):
    from symgrad.numeric import fuse
    real = fuse.Linear.run

    def off(self, ctx, key, args):
        real(self, ctx, key, args)
        s = self.members[0]                                 # one pre-activation's value slightly off
        ctx.V[s] = ctx.V[s] + 1e-3                          # (the matrix the activation reads is not)
    monkeypatch.setattr(fuse.Linear, "run", off)
    net = sg.mlp([2, 2, 1], activation="tanh", seed=0)
    report = sg.check(net.graph, net.feed(np.ones((3, 2)), np.zeros((3, 1))), paths=True)
    bad = {(r.name, m) for r in report.paths.rows for m in r.failed}
    assert ("value of a1_1", "fused") in bad and ("value of a1_1", "fused loop") in bad
    assert all(m in ("fused", "fused loop") for _, m in bad)
    assert not report.ok and any(f.startswith("value of a1_1: reference vs fused") for f in report.failed)


def test_paths_at_a_point_where_the_scalar_backend_falls_back():
    report = sg.check(sg.parse("log(x) + y"), x=0.0, y=1.0, paths=True)
    assert report.paths.ok                          # nan/inf agree with the reference's
    assert "fast grad" not in report.paths.methods and "mean gradient" in report.paths.methods
    assert any("fast grad: not run, nan/inf ahead" in n for n in report.paths.notes)


def test_paths_rtol_is_the_exact_bound(monkeypatch):
    from symgrad.numeric import lower
    real = lower.loop_reverse
    for factor, ok in ((0.5, True), (3.0, False)):
        def skew(rows, ns, factor=factor):
            run = real(rows, ns)

            def perturbed(V, G):
                run(V, G)
                G[0] = G[0] * (1 + factor * 1e-5)
            return perturbed
        monkeypatch.setattr(lower, "loop_reverse", skew)
        report = sg.check(sg.parse("3 * x * y"), x=1.0, y=2.0, paths=True, rtol=1e-5)
        assert report.paths["adjoint of x"].ok is ok


def test_paths_argument_is_validated():
    with pytest.raises(sg.InputError, match="paths must be True or False"):
        sg.check(sg.parse("x"), x=1.0, paths="yes")
    g = sg.parse("paths * 2")                       # an input called paths: pass it in the mapping
    assert sg.check(g, {"paths": 1.5}, paths=True).ok
