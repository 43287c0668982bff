"""Exercise kinds forward_mode (every node's tangent) and hessian (second
derivatives): issue 13."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import symgrad as sg
from symgrad.errors import InputError

LECTURE = "sqrt(x**2 + exp(x**2)) + cos(x**2 + exp(x**2))"
sg.parse(LECTURE)   # warm up the parser's lazy imports before conftest's exec tripwire is set


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 10**6), difficulty=st.sampled_from([1, 2, 3]))
def test_forward_mode_answers_are_forward_modes_tangents(seed, difficulty):
    ex = sg.exercise("forward_mode", seed=seed, difficulty=difficulty)
    wrt = ex.meta["wrt"]
    tan = ex.graph.tangents(ex.point, wrt=wrt)
    assert [it.node for it in ex.items] == [n for n, _, _ in ex.graph.program]
    assert {it.key: it.answer for it in ex.items} == {f"d{n}/d{wrt}": float(tan[n])
                                                       for n, _, _ in ex.graph.program}
    assert all(it.what == "tangent" and it.wrt == wrt for it in ex.items)
    assert sg.exercise("forward_mode", seed=seed, difficulty=difficulty).answers == ex.answers
    assert ex.grade(ex.answers).all_correct


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 10**6), difficulty=st.sampled_from([1, 2, 3]))
def test_hessian_answers_are_the_hessian(seed, difficulty):
    ex = sg.exercise("hessian", seed=seed, difficulty=difficulty)
    h = ex.graph.hessian(ex.point)
    xs = ex.graph.inputs
    want = {f"d2{ex.output}/d{a}d{b}": float(h[i, j]) for i, a in enumerate(xs)
            for j, b in enumerate(xs) if j >= i}
    assert ex.answers == want
    assert any(want.values()) and all(abs(v) <= 1000 for v in want.values())
    assert ex.grade(ex.answers).all_correct
    assert sg.exercise("hessian", seed=seed, difficulty=difficulty).answers == ex.answers


def test_forward_mode_grading_right_wrong_and_feedback():
    ex = sg.exercise("forward_mode", expression=LECTURE, at={"x": 2})
    assert ex.answers["da/dx"] == 4.0 and round(ex.answers["df/dx"], 2) == -182.87
    right = {k: float(f"{v:.4g}") for k, v in ex.answers.items()}
    assert ex.grade(right).all_correct
    wrong = dict(right, **{"dc/dx": ex.values["c"], "de/dx": -right["de/dx"], "db/dx": 1.0})
    result = ex.grade(wrong)
    assert result.score == pytest.approx(3 / 6)
    assert result.items["dc/dx"].mistake == "forward_value"
    assert "forward value of c" in result.items["dc/dx"].feedback
    assert result.items["de/dx"].mistake == "sign"
    assert result.items["db/dx"].mistake == "wrong"
    # labels work as keys: ∂c/∂x
    assert ex.grade({"∂a/∂x": 4}).items["da/dx"].correct


def test_forward_mode_prompt_and_solution():
    ex = sg.exercise("forward_mode", expression="x*y + sin(x)", at={"x": 1, "y": 2}, wrt="y")
    text = ex.prompt_text()
    assert "Tangents with respect to y: ẏ = 1, ẋ = 0." in text and "[da/dy] ∂a/∂y = ?" in text
    assert r"\dot{y} = 1, \dot{x} = 0" in ex.prompt_latex()
    sol = ex.solution()
    assert sol.mode == "forward" and sol.seeds == {"y": 1.0}
    assert [s.value for s in sol.tangents if s.node in ex.graph.nodes[-1:]] == [ex.answers["dc/dy"]]
    assert ex.to_dict()["items"][0] == {"key": "da/dy", "what": "tangent", "label": "∂a/∂y",
                                        "answer": 1.0}


def test_hessian_teachers_exercise_grading_and_solution():
    ex = sg.exercise("hessian", expression="x*y**2 + sin(x)", at={"x": 1, "y": 2})
    out = ex.output
    assert ex.answers == pytest.approx({f"d2{out}/dxdx": -np.sin(1.0), f"d2{out}/dxdy": 4.0,
                                        f"d2{out}/dydy": 2.0})
    labels = [it.text for it in ex.items]
    assert labels == [f"∂²{out}/∂x²", f"∂²{out}/∂x∂y", f"∂²{out}/∂y²"]
    assert rf"\frac{{\partial^{{2}} {out}}}{{\partial x \partial y}}" in ex.prompt_latex()
    good = {f"d2{out}/dxdx": -0.8415, f"d2{out}/dxdy": 4, f"d2{out}/dydy": 2}
    assert ex.grade(good).all_correct
    bad = ex.grade({**good, f"d2{out}/dxdx": 0.8415, f"d2{out}/dydy": 3})
    assert bad.items[f"d2{out}/dxdx"].mistake == "sign" and not bad.items[f"d2{out}/dydy"].correct
    # the solution is reverse over reverse: the derivation of the gradient graph
    sol = ex.solution()
    adj = {(s.output, s.node): s.value for s in sol.backward}
    assert adj[(f"d{out}_dx", "y")] == pytest.approx(4.0) and adj[(f"d{out}_dy", "y")] == pytest.approx(2.0)


def test_lecture_second_derivative_exercise():
    ex = sg.exercise("hessian", expression=LECTURE, at={"x": 2})
    assert ex.answers["d2f/dxdx"] == pytest.approx(21943.9018, abs=1e-3)
    assert ex.grade({"d2f/dxdx": 21940}).all_correct        # 4 significant digits


@pytest.mark.parametrize("kwargs, message", [
    (dict(kind="hessian", wrt="x"), "wrt= chooses the input of a forward_mode exercise"),
    (dict(kind="forward_mode", wrt="q"), "wrt= must name one input"),
    (dict(kind="forward_mode", expression="x*y", at={"x": 1}), "missing y"),
    (dict(kind="hessian", expression="x*y"), "missing x, y"),
    (dict(kind="forward_mode", expression="x*y", at={"x": 1, "y": 2}, wrt="z"), "wrt= must name"),
])
def test_bad_arguments_name_what_is_wrong(kwargs, message):
    with pytest.raises(InputError) as err:
        sg.exercise(**kwargs)
    assert message in str(err.value)


def test_hessian_keys_stay_distinct_for_names_that_would_collide():
    # without a separator, (x, dy) and (xd, y) would both be "d2f/dxddy"
    ex = sg.exercise("hessian", expression="f = x*dy + xd*y + x*y", at={"x": 1, "dy": 2, "xd": 3, "y": 4})
    keys = [it.key for it in ex.items]
    assert len(set(keys)) == len(keys) == 10
    assert "d2f/dx,ddy" in keys and "d2f/dxd,dy" in keys
    assert ex.grade(ex.answers).all_correct
