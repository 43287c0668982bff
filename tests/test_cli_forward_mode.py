"""The command line of issue 13: derive --mode forward --wrt, derive --html,
symgrad hessian, and flag combinations that used to be ignored."""

import json

import pytest
from test_cli import run

import symgrad as sg
from symgrad.cli.main import main

LECTURE = "sqrt(x**2 + exp(x**2)) + cos(x**2 + exp(x**2))"
sg.parse(LECTURE)   # warm up the parser's lazy imports before conftest's exec tripwire is set


def test_derive_forward_mode_subprocess():
    status, out, err = run("derive", LECTURE, "--at", "x=2", "--mode", "forward", "--wrt", "x")
    assert status == 0 and err == ""
    lines = [ln.strip() for ln in out.splitlines()]
    assert "ȧ = ∂a/∂x · ẋ = 2*x * 1 = 4" in lines
    assert lines[-1] == "ḟ = ∂f/∂d · ḋ + ∂f/∂e · ė = 1 * 14.526 + 1 * (-197.4) = -182.87"
    assert not any(ln.startswith("Backward pass") for ln in lines)


def test_derive_forward_mode_json_and_latex(capsys):
    assert main(["derive", "x*y + sin(x)", "--at", "x=0,y=2", "--mode", "forward", "--wrt", "x",
                 "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    g = sg.parse("x*y + sin(x)")
    assert data["direction"] == {"x": 1.0}
    assert data["tangents"] == dict(g.tangents(x=0.0, y=2.0, wrt="x"))
    assert main(["derive", LECTURE, "--at", "x=2", "--mode", "forward", "--wrt", "x",
                 "--format", "latex"]) == 0
    assert r"\dot{a} &= \frac{\partial a}{\partial x} \dot{x} = 2 x \times 1 = 4" in capsys.readouterr().out


def test_derive_html_writes_the_page(capsys, tmp_path):
    path = tmp_path / "lecture.html"
    assert main(["derive", LECTURE, "--at", "x=2", "--html", str(path)]) == 0
    assert capsys.readouterr().out.strip() == f"wrote {path}"
    page = path.read_text(encoding="utf-8")
    assert page == sg.derive(sg.parse(LECTURE), x=2.0).html()


def test_hessian_text(capsys):
    assert main(["hessian", "x*y**2 + sin(x)", "--at", "x=1,y=2"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "Hessian of d at x = 1, y = 2 (row x, column y: ∂²d/∂x∂y)"
    assert out[2:5] == ["   x          y", "x  -0.841471  4", "y  4          2"]
    assert out[6] == "Hessian check: ok (rtol 1e-05)"
    assert out[7].split() == ["entry", "reverse-over-reverse", "forward-over-reverse", "symbolic",
                              "finite", "differences", "rel.", "error", "ok"]
    assert len(out) == 12


def test_hessian_json_is_the_lecture_second_derivative(capsys):
    assert main(["hessian", LECTURE, "--at", "x=2", "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["output"] == "f" and data["wrt"] == ["x"]
    assert data["hessian"][0][0] == pytest.approx(21943.9018, abs=1e-3)
    assert data["check"]["ok"] is True and data["check"]["failed"] == []
    assert set(data["check"]["rows"]["x, x"]) == {"reverse-over-reverse", "forward-over-reverse",
                                                  "symbolic", "finite differences"}


def test_hessian_subprocess():
    status, out, err = run("hessian", "x*y", "--at", "x=1,y=2")
    assert status == 0 and err == "" and "x  0  1" in out


@pytest.mark.parametrize("argv, message", [
    (["derive", LECTURE, "--symbolic", "--at", "x=2"], "--symbolic takes no point"),
    (["derive", LECTURE, "--at", "x=2", "--mode", "forward"], "--mode forward needs --wrt"),
    (["derive", LECTURE, "--at", "x=2", "--wrt", "x"], "add --mode forward"),
    (["derive", LECTURE, "--mode", "forward", "--wrt", "x"], "forward mode needs a point"),
    (["derive", LECTURE, "--mode", "forward", "--wrt", "x", "--symbolic"], "no --symbolic form"),
    (["derive", LECTURE, "--at", "x=2", "--mode", "forward", "--wrt", "q"], "'q': not an input"),
    (["derive", LECTURE, "--at", "x=2", "--mode", "sideways"], "invalid choice"),
    (["derive", LECTURE, "--at", "x=2", "--html", "a.html", "--format", "text"], "--html writes a page"),
    (["derive", LECTURE, "--at", "x=2", "--html", "a.html", "--pdf", "a.pdf"], "with --pdf"),
    (["draw", "x*y", "--format", "png"], "PNG picture needs a file"),
    (["draw", "x*y", "--format", "pdf"], "PDF picture needs a file"),
    (["hessian", "x*y", "--at", "x=1"], "y"),
    (["hessian", "x*y", "--at", "x=1,y=2", "--digits", "0"], "--digits"),
])
def test_ignored_or_bad_combinations_are_errors(capsys, argv, message):
    assert main(argv) == 2
    out, err = capsys.readouterr()
    assert out == "" and "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("symgrad: error: ") and message in lines[0]


def test_draw_dot_and_svg_still_print_without_a_file(capsys):
    assert main(["draw", "x*y", "--format", "dot"]) == 0
    assert capsys.readouterr().out.startswith("digraph")


def test_forward_mode_page(tmp_path, capsys):
    path = tmp_path / "fm.html"
    assert main(["derive", LECTURE, "--at", "x=2", "--html", str(path), "--mode", "forward", "--wrt", "x"]) == 0
    page = path.read_text(encoding="utf-8")
    assert '"second": "tangent"' in page and 'data-kind="tangent"' in page
    assert "ċ = ∂c/∂a · ȧ + ∂c/∂b · ḃ = 1 * 4 + 1 * 218.39 = 222.39" in page
    assert "Tangent pass" in page
