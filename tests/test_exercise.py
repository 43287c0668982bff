"""Exercises: determinism, answers vs the graph, grading and mistake feedback, sheets."""

import json
import math
import os
import xml.etree.ElementTree as ET

import numpy as np
import pytest
import sympy as sp
from hypothesis import example, given, settings, strategies as st

import symgrad as sg
from symgrad.errors import InputError
from symgrad.teach.exercise import KINDS, exercise_from_graph
from symgrad.symbolic.equivalence import evaluate
from symgrad.teach.grading import mistake_candidates
from symgrad.teach.tolerance import tolerance
from symgrad.teach.prompts import formula_text
from symgrad.front.sympy_io import symbol

from corpus import LECTURE

SEEDS = st.integers(0, 10**6)
LEVELS = st.sampled_from([1, 2, 3])
FAST = settings(max_examples=25, deadline=None)


def examples(ci: int, dev: int):
    """Hypothesis settings: few random examples in CI (the explicit @example cases
    cover every kind and difficulty), many locally."""
    return settings(max_examples=ci if os.environ.get("CI") else dev, deadline=None)


# -- determinism and variety --------------------------------------------------------------
@pytest.mark.parametrize("kind", KINDS)
def test_same_seed_same_exercise(kind):
    a, b = sg.exercise(kind=kind, seed=11, difficulty=2), sg.exercise(kind=kind, seed=11, difficulty=2)
    assert a.prompt_text() == b.prompt_text()
    assert a.prompt_latex() == b.prompt_latex()
    assert a.answers == b.answers


@pytest.mark.parametrize("kind", KINDS)
def test_seeds_give_different_exercises(kind):
    prompts = {sg.exercise(kind=kind, seed=s).prompt_text().split("\n", 1)[1] for s in range(12)}
    assert len(prompts) >= 10


@pytest.mark.parametrize("difficulty", [1, 2, 3])
def test_difficulty_controls_size_and_sharing(difficulty):
    from symgrad.teach.practice import LEVELS as LV, shared_count
    lo, hi = LV[difficulty]["shared"]
    for seed in range(8):
        ex = sg.exercise(kind="backward", seed=seed, difficulty=difficulty)
        assert lo <= shared_count(ex.graph) <= hi
        assert len(ex.graph.program) >= LV[difficulty]["nodes"][0]
        assert set(ex.graph.inputs) == set(LV[difficulty]["inputs"])


def test_harder_levels_are_bigger():
    mean = lambda d: np.mean([len(sg.exercise(seed=s, difficulty=d).graph.program) for s in range(10)])
    assert mean(1) < mean(2) < mean(3)


# -- answers are what the graph computes -------------------------------------------------
@FAST
@given(seed=SEEDS, difficulty=LEVELS)
def test_numeric_answers_match_the_graph(seed, difficulty):
    fw_ex = sg.exercise(kind="forward", seed=seed, difficulty=difficulty)
    fw = fw_ex.graph.forward(fw_ex.point)
    for key, v in fw_ex.answers.items():
        assert v == pytest.approx(fw[key])
    bw_ex = sg.exercise(kind="backward", seed=seed, difficulty=difficulty)
    bw = bw_ex.graph.backward(bw_ex.point, output=bw_ex.output)
    for key, v in bw_ex.answers.items():
        assert v == pytest.approx(bw[key], rel=1e-9, abs=1e-12)
    for v in list(fw.values()) + list(bw.values()):      # well posed: finite, printable
        assert math.isfinite(v) and abs(v) <= 200


@FAST
@given(seed=SEEDS, difficulty=LEVELS)
def test_point_is_away_from_kinks_and_short(seed, difficulty):
    ex = sg.exercise(kind="backward", seed=seed, difficulty=difficulty)
    vals = ex.graph.forward(ex.point)
    for name, op, args in ex.graph.program:
        if op.kink and isinstance(args[0], str):
            assert abs(vals[args[0]]) >= 0.1
    for v in ex.point.values():
        assert len(repr(v)) <= 5


@settings(max_examples=10, deadline=None)
@given(seed=SEEDS, difficulty=LEVELS)
def test_symbolic_and_local_answers_match(seed, difficulty):
    ex = sg.exercise(kind="symbolic", seed=seed, difficulty=difficulty)
    grad = ex.graph.grad(ex.point, output=ex.output)
    subs = {symbol(k): v for k, v in ex.point.items()}
    for it in ex.items:
        assert float(it.answer.xreplace(subs)) == pytest.approx(grad[it.node], rel=1e-9, abs=1e-12)
    loc = sg.exercise(kind="local", seed=seed, difficulty=difficulty)
    vals = loc.graph.forward(loc.point)
    subs = {symbol(k): v for k, v in vals.items()}
    for it in loc.items:                      # d consumer / d arg by finite differences
        assert it.consumer in loc.graph.nodes and it.node in loc.graph.args(it.consumer)
        assert math.isfinite(float(sp.sympify(it.answer).xreplace(subs)))


@settings(max_examples=10, deadline=None)
@given(seed=SEEDS, difficulty=LEVELS)
def test_mlp_answers_are_backprop(seed, difficulty):
    ex = sg.exercise(kind="mlp", seed=seed, difficulty=difficulty)
    bw = ex.graph.backward(ex.point)
    weights = [k for k in ex.answers if k.startswith("w")]
    assert weights and any(k.startswith("B") for k in ex.answers)
    for it in ex.items:
        assert it.answer == pytest.approx(bw[it.node])
    assert ex.answers["B1"] == pytest.approx(bw["yhat1"])


# -- grading ---------------------------------------------------------------------------------
@examples(ci=4, dev=60)
@given(kind=st.sampled_from(KINDS), seed=SEEDS, difficulty=LEVELS)
@example(kind="forward", seed=1, difficulty=1)
@example(kind="backward", seed=2, difficulty=3)
@example(kind="local", seed=3, difficulty=2)
@example(kind="symbolic", seed=4, difficulty=3)
@example(kind="mlp", seed=5, difficulty=2)
def test_own_answers_are_all_correct(kind, seed, difficulty):
    ex = sg.exercise(kind=kind, seed=seed, difficulty=difficulty)
    assert ex.grade(ex.answers).all_correct
    as_text = {k: (formula_text(v) if isinstance(v, sp.Basic) else f"{v:.{ex.digits}g}")
               for k, v in ex.answers.items()}
    result = ex.grade(as_text)
    assert result.all_correct, str(result)
    assert result.score == 1.0


def test_numbers_are_graded_to_the_asked_digits():
    ex = sg.exercise(kind="backward", seed=3, difficulty=2)
    key, v = next((k, v) for k, v in ex.answers.items() if abs(v) > 0.1)
    assert ex.grade({key: float(f"{v:.4g}")}).items[key].correct
    assert not ex.grade({key: v * 1.01}).items[key].correct


def _unambiguous(ex, item, code):
    """The value of the first candidate of ``code`` that no earlier candidate
    (nor the right answer) shares."""
    taken = [float(item.answer)]
    for c, _, v in mistake_candidates(ex, item):
        far = all(abs(v - t) > 2 * (tolerance(v, ex.digits) + tolerance(t, ex.digits)) for t in taken)
        if c == code and far:
            return v
        taken.append(v)
    return None


MESSAGES = {"missing_path": "missing path", "sign": "sign error",
            "local_derivative": "wrong local derivative", "forward_value": "forward value"}


@examples(ci=6, dev=80)
@given(kind=st.sampled_from(["backward", "mlp"]), seed=SEEDS, difficulty=LEVELS)
@example(kind="backward", seed=7, difficulty=1)
@example(kind="backward", seed=8, difficulty=2)
@example(kind="backward", seed=9, difficulty=3)
@example(kind="mlp", seed=7, difficulty=3)
def test_injected_mistakes_are_recognised(kind, seed, difficulty):
    ex = sg.exercise(kind=kind, seed=seed, difficulty=difficulty)
    seen = set()
    for item in ex.items:
        for code, phrase in MESSAGES.items():
            v = _unambiguous(ex, item, code)
            if v is None:
                continue
            verdict = ex.grade({item.key: v}).items[item.key]
            assert not verdict.correct
            assert verdict.mistake == code, (item.key, code, verdict)
            assert phrase in verdict.feedback
            seen.add(code)
    assert {"sign", "local_derivative"} <= seen
    if kind == "backward":
        assert "missing_path" in seen and "forward_value" in seen


def _lecture():
    return exercise_from_graph(sg.parse(LECTURE), {"x": 2.0})


def test_lecture_missing_path_through_shared_node():
    ex = _lecture()
    adj_c = ex.answers["c"]
    only_c = adj_c * 1.0                   # a's adjoint via c only, forgetting the path via b
    v = ex.grade({"a": only_c}).items["a"]
    assert v.mistake == "missing_path" and "missing path" in v.feedback and "b" in v.feedback
    one_consumer = 1 / (2 * math.sqrt(58.598150033144236))        # c via d only
    v = ex.grade({"c": one_consumer}).items["c"]
    assert v.mistake == "missing_path" and "through e" in v.feedback


def test_lecture_d_cos_equals_sin_is_a_wrong_local_derivative():
    ex = _lecture()
    c = 58.598150033144236
    v = ex.grade({"c": math.sin(c) + 1 / (2 * math.sqrt(c))}).items["c"]
    assert v.mistake == "local_derivative"
    assert "wrong local derivative" in v.feedback and "sin(c)" in v.feedback


def test_lecture_sign_and_forward_value():
    ex = _lecture()
    r = ex.grade({"x": 182.87, "c": 58.598, "a": -45.72})
    assert r.items["x"].mistake == "sign" and "sign error" in r.items["x"].feedback
    assert r.items["c"].mistake == "forward_value" and "forward value" in r.items["c"].feedback
    assert r.items["a"].correct


@pytest.mark.parametrize("bad", ["abc", "1/(", "__import__('os')", "", None, [1], "nan", "1e999"])
def test_unreadable_answers_get_a_message(bad):
    ex = sg.exercise(kind="backward", seed=1)
    key = ex.items[0].key
    v = ex.grade({key: bad}).items[key]
    assert not v.correct and v.mistake in ("unreadable", "missing") and v.feedback


@pytest.mark.parametrize("bad", ["sin(", "q*2", "exec('1')", "x.__class__", "", 3j])
def test_unreadable_formulas_get_a_message(bad):
    ex = sg.exercise(kind="local", seed=1)
    key = ex.items[0].key
    v = ex.grade({key: bad}).items[key]
    assert not v.correct and v.mistake in ("unreadable", "missing") and v.feedback


def test_formulas_compared_symbolically_and_numerically():
    ex = exercise_from_graph(sg.parse(LECTURE), {"x": 2.0}, kind="local")
    right = {"dd/dc": "1/(2*d)", "de/dc": "-sin(c)", "db/da": "b", "da/dx": "x + x",
             "dc/da": "1", "dc/db": "1.0", "df/dd": "1", "df/de": "1"}
    r = ex.grade(right)
    assert r.all_correct, str(r)
    r = ex.grade({"de/dc": "sin(c)", "db/da": "exp(a)", "dd/dc": "sqrt(c)"})
    assert r.items["de/dc"].mistake == "local_derivative"
    assert "wrong local derivative" in r.items["de/dc"].feedback
    assert r.items["db/da"].correct
    assert r.items["dd/dc"].mistake == "function_value"


@settings(max_examples=10, deadline=None)
@given(seed=SEEDS, difficulty=LEVELS)
def test_symbolic_sign_error(seed, difficulty):
    ex = sg.exercise(kind="symbolic", seed=seed, difficulty=difficulty)
    it = ex.items[0]
    v = ex.grade({it.key: f"-({formula_text(it.answer)})"}).items[it.key]
    points = ex.check_points or (ex.point,)
    per_point = [mistake_candidates(ex, it, i) for i in range(len(points))]
    want = evaluate(it.answer, ex.graph, points)
    codes = [c for i, (c, _, _) in enumerate(per_point[0])      # mistakes that look the same
             if all(math.isclose(pp[i][2], -w, rel_tol=1e-6, abs_tol=1e-9)
                    for pp, w in zip(per_point, want, strict=True))]
    assert v.mistake == codes[0] and "sign" in codes


def test_numbers_as_constant_formulas_and_label_keys():
    ex = _lecture()
    r = ex.grade({"∂f/∂c": "-0,8223", "df/dx": "-182.87", "a": "-45.717*1", "d": "1/1",
                  "b": "c", "e": "sin("})
    assert r.items["c"].correct and r.items["x"].correct and r.items["a"].correct
    assert r.items["d"].correct
    assert r.items["b"].mistake == "unreadable" and "not a formula" in r.items["b"].feedback
    assert r.items["e"].mistake == "unreadable"


def test_grade_result_shape():
    ex = sg.exercise(kind="forward", seed=2)
    r = ex.grade({"nonsense": 1})
    assert r.unknown == ("nonsense",) and r.score == 0 and not r.all_correct
    assert set(r.items) == set(ex.answers)
    assert "score" in str(r)
    with pytest.raises(InputError):
        ex.grade([1, 2])


@pytest.mark.parametrize("kwargs", [dict(kind="nope"), dict(difficulty=4), dict(digits=1),
                                    dict(seed="x")])
def test_bad_arguments(kwargs):
    with pytest.raises(InputError):
        sg.exercise(**kwargs)


@pytest.mark.parametrize("kind", KINDS)
def test_solution_is_a_derivation(kind):
    ex = sg.exercise(kind=kind, seed=5)
    d = ex.solution()
    assert ("Forward mode: tangents" if kind == "forward_mode" else "Backward pass") in d.text()


# -- sheets ----------------------------------------------------------------------------------
@pytest.mark.parametrize("kind", ["backward", "local", "mlp"])
def test_sheet_compiles_with_pdflatex(kind, tmp_path):
    sheet = sg.exercise_sheet(2, seed=3, kind=kind, difficulty=2, solutions=True)
    assert sheet.index(r"\newpage") < sheet.index("Solutions")
    out = sheet.pdf(tmp_path / "sheet.pdf")
    assert (tmp_path / "sheet.pdf").read_bytes().startswith(b"%PDF")
    assert str(out).endswith("sheet.pdf")


def test_sheet_without_solutions_has_no_answers():
    sheet = sg.exercise_sheet(3, seed=1)
    assert "Solutions" not in sheet and sheet.count(r"\subsection*{Exercise") == 3


@pytest.mark.parametrize("kind", KINDS)
def test_moodle_xml_one_question_per_value(kind):
    sheet = sg.exercise_sheet(2, seed=4, kind=kind, difficulty=2)
    root = ET.fromstring(sheet.moodle())
    questions = root.findall("question")
    items = [it for ex in sheet.exercises for it in ex.items]
    assert len(questions) == len(items)
    for q, it in zip(questions, items):
        assert q.get("type") == ("stack" if it.formula else "numerical")   # never shortanswer
        if not it.formula:
            right = [a for a in q.findall("answer") if a.get("fraction") == "100"]
            assert float(right[0].find("text").text) == pytest.approx(it.answer, rel=1e-4)


def test_sheet_json():
    sheet = sg.exercise_sheet(2, seed=4, kind="symbolic")
    data = json.loads(sheet.json())
    assert [e["seed"] for e in data["exercises"]] == [4000, 4001]
    assert all(isinstance(i["answer"], str) for e in data["exercises"] for i in e["items"])
    with pytest.raises(InputError):
        sg.exercise_sheet(0)
