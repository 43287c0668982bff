"""A teacher's own exercises, mixed sheets and the sheet's layout (issue: teaching studio)."""

import re
import subprocess

import pytest

import symgrad as sg
from symgrad.cli.main import main

LECTURE = "sqrt(x**2 + exp(x**2)) + cos(x**2 + exp(x**2))"


def test_the_lecture_function_as_a_teachers_backward_exercise():
    ex = sg.exercise("backward", expression=LECTURE, at={"x": 2})
    answers = ex.answers
    assert [it.key for it in ex.items] == ["e", "d", "c", "b", "a", "x"]
    # the lecture's own numbers, graded
    lecture = {"e": "1", "d": "1", "c": "-0.8223", "b": "-0.8223", "a": "-45.72", "x": "-182.9"}
    result = ex.grade(lecture)
    assert result.all_correct and result.score == 1.0
    assert answers["a"] == pytest.approx(-45.7175, rel=1e-5)
    wrong = ex.grade({**lecture, "c": "0.8223", "a": "-0.8223"})
    assert wrong.items["c"].mistake == "sign" and not wrong.items["a"].correct
    assert ex.prompt_text().startswith("Exercise (backward, on a given function)")
    assert ex.html().count('type="text"') == 6


@pytest.mark.parametrize("kind", ["forward", "local", "symbolic"])
def test_every_kind_takes_a_teachers_expression(kind):
    ex = sg.exercise(kind, expression=sg.parse("x*sin(x) + y"), at={"x": 0.5, "y": 2.0})
    assert ex.grade(ex.answers).all_correct


def test_teachers_exercise_errors_name_what_is_wrong():
    with pytest.raises(sg.InputError, match="missing x"):
        sg.exercise("backward", expression="x**2")
    with pytest.raises(sg.InputError, match="unknown 'z'"):
        sg.exercise("backward", expression="x**2", at={"x": 1, "z": 2})
    with pytest.raises(sg.InputError, match="finite number"):
        sg.exercise("forward", expression="x**2", at={"x": float("nan")})
    with pytest.raises(sg.InputError, match="kind='mlp'"):
        sg.exercise("mlp", expression="x**2", at={"x": 1})
    with pytest.raises(sg.ParseError):
        sg.exercise("forward", expression="x**", at={"x": 1})


def test_sheets_mix_kinds_and_state_the_instructions_once(tmp_path):
    sheet = sg.exercise_sheet(6, seed=2, kinds=["forward", "backward", "local"], solutions=True)
    assert [e.kind for e in sheet.exercises] == ["forward", "backward", "local"] * 2
    assert sheet.count(r"\subsection*{Instructions}") == 1
    assert sheet.count("Give each number to") == 1                 # once, not per exercise
    assert sheet.count(r"\begin{minipage}") == 6                   # an exercise never splits
    assert sheet.count(r"\newpage") == 1                           # solutions follow each other
    sheet.pdf(tmp_path / "sheet.pdf")
    with pytest.raises(sg.InputError, match="unknown exercise kind"):
        sg.exercise_sheet(2, kinds=["forward", "sideways"])
    with pytest.raises(sg.InputError, match="1..200"):
        sg.exercise_sheet(201)


def test_ten_exercises_with_solutions_take_few_pages(tmp_path):
    sheet = sg.exercise_sheet(10, seed=2, kind="backward", solutions=True)
    (tmp_path / "s.tex").write_text(str(sheet), encoding="utf-8")
    subprocess.run(["pdflatex", "-interaction=nonstopmode", "s.tex"], cwd=tmp_path,
                   capture_output=True, timeout=120)
    log = (tmp_path / "s.log").read_text(encoding="latin-1")
    pages = int(re.search(r"Output written on s\.pdf \((\d+) page", log).group(1))
    assert pages <= 12                                              # was 15 with a page per solution


def test_cli_teachers_exercise_and_mixed_sheet(capsys, tmp_path):
    assert main(["exercise", "--kind", "backward", "--expr", LECTURE, "--at", "x=2"]) == 0
    out = capsys.readouterr().out
    assert "Inputs: x = 2" in out and "[x] ∂f/∂x = ?" in out
    assert main(["exercise", "--kind", "forward,backward", "--count", "4", "--seed", "1", "--latex"]) == 0
    assert capsys.readouterr().out.count(r"\begin{minipage}") == 4
    for argv, msg in [(["exercise", "--expr", "x**2", "--count", "3"], "--count would be ignored"),
                      (["exercise", "--at", "x=1"], "add --expr"),
                      (["exercise", "--kind", "forward,backward"], "add --count"),
                      (["exercise", "--expr", "x**2"], "missing x")]:
        assert main(argv) == 2
        assert msg in capsys.readouterr().err


def test_products_that_would_mislead_get_a_cdot_and_e_prints_as_e():
    d = sg.derive(sg.parse("g = lr*w + d*f + 2*x"), lr=0.1, w=2.0, d=1.0, f=3.0, x=1.0)
    latex = d.latex()
    assert r"d \cdot f" in latex and "2 x" in latex
    text = sg.derive(sg.parse("e*x"), x=1.0).text()
    assert "a = e*x = 2.7183" in text and "1 * e = 2.7183" in text and "2.71828182845905" not in text


def test_an_omitted_function_formula_says_why():
    text = "\n".join(["a0 = sin(x)"] + [f"a{i} = sin(a{i - 1}) + a{i - 1}*x" for i in range(1, 30)])
    doc = sg.derive(sg.parse(text), x=0.3).document()
    assert "more than 120 symbols" in doc
