"""The command line (symgrad.cli.main), in-process via main() and as `python -m symgrad`."""

import json
import os
import subprocess
import sys
import xml.etree.ElementTree as ET

import pytest

import symgrad as sg
from symgrad.cli.main import COMMANDS, Command, main, parse_points, register
from symgrad.errors import InputError

LECTURE = "sqrt(x**2 + exp(x**2)) + cos(x**2 + exp(x**2))"
sg.parse(LECTURE)   # warm up the parser's lazy imports before conftest's exec tripwire is set
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run(*argv):
    """`python -m symgrad ARGV` in a subprocess: (status, stdout, stderr)."""
    env = {**os.environ, "PYTHONPATH": ROOT + os.pathsep + os.environ.get("PYTHONPATH", "")}
    p = subprocess.run([sys.executable, "-m", "symgrad", *argv], capture_output=True, text=True,
                       env=env, timeout=120)
    return p.returncode, p.stdout, p.stderr


def test_derive_text_subprocess():
    status, out, err = run("derive", LECTURE, "--at", "x=2")
    assert status == 0 and err == ""
    assert "c = a + b = 58.598" in out and "= -182.87" in out
    assert "∂f/∂c = ∂f/∂e * ∂e/∂c + ∂f/∂d * ∂d/∂c" in out


@pytest.mark.parametrize("argv, message", [
    (["derive", "x**2 + (y", "--at", "x=2"], "expected"),
    (["derive", "x**2", "--at", "z=2"], "unknown input"),
    (["derive", "x**2", "--at", "x"], "name=value"),
    (["derive", "x**2", "--at", "x=two"], "not a number"),
    (["derive", "x**2", "--bogus"], "unrecognized arguments"),
    (["derive", "x**2", "--format", "yaml"], "invalid choice"),
    (["derive", "x**2", "--digits", "0", "--at", "x=1"], "digits"),
    (["frobnicate"], "invalid choice"),
    ([], "choose a command"),
    (["draw", "x*y", "-o", "graph.jpeg"], "picture format"),
])
def test_errors_are_one_line_with_status_2(capsys, argv, message):
    assert main(argv) == 2
    out, err = capsys.readouterr()
    assert out == "" and "Traceback" not in err
    lines = err.strip().splitlines()
    assert lines[0].startswith("symgrad: error: ") and message in lines[0]
    if "(y" in " ".join(argv):                          # a ParseError may add its caret line
        assert len(lines) == 3 and lines[2].strip() == "^"
    else:
        assert len(lines) == 1


def test_parse_error_subprocess():
    status, out, err = run("derive", "x**2 + (y", "--at", "x=2")
    assert status == 2 and out == "" and "Traceback" not in err
    assert err.startswith("symgrad: error: ") and err.rstrip().endswith("^")


def test_json(capsys):
    assert main(["derive", LECTURE, "--at", "x=2", "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert set(data) == {"inputs", "forward", "adjoints", "gradient"}
    assert data["inputs"] == {"x": 2.0}
    assert data["forward"]["c"] == pytest.approx(58.598150033144236)
    assert data["adjoints"]["a"] == pytest.approx(-45.71745182649577)
    assert data["gradient"] == {"x": pytest.approx(-182.86980730598307)}


def test_points_several_ways(capsys):
    for argv in (["--at", "x=1", "--at", "y=2"], ["--at", "x=1,y=2"]):
        assert main(["derive", "x*y + sin(x)", *argv, "--format", "json"]) == 0
        data = json.loads(capsys.readouterr().out)
        assert data["inputs"] == {"x": 1.0, "y": 2.0}
    assert parse_points(["x=1", "y=2,z=3"]) == {"x": 1.0, "y": 2.0, "z": 3.0}
    with pytest.raises(InputError, match="twice"):
        parse_points(["x=1", "x=2"])


def test_symbolic_json_and_formats(capsys):
    assert main(["derive", LECTURE, "--symbolic", "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["forward"]["c"] == "a + b" and "sin(c)" in data["adjoints"]["c"]
    assert main(["derive", LECTURE, "--at", "x=2", "--format", "latex"]) == 0
    assert r"\frac{\partial f}{\partial c}" in capsys.readouterr().out
    assert main(["derive", LECTURE, "--at", "x=2", "--format", "markdown", "--digits", "3"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("**Forward pass at x = 2**") and "58.6" in out
    assert main(["derive", LECTURE, "--symbolic"]) == 0      # --symbolic with --at is an error now
    assert "58.598" not in capsys.readouterr().out


def test_pdf_subprocess(tmp_path):
    pdf = tmp_path / "lecture.pdf"
    status, out, err = run("derive", LECTURE, "--at", "x=2", "--pdf", str(pdf))
    assert status == 0 and f"wrote {pdf}" in out
    assert pdf.read_bytes().startswith(b"%PDF")


def test_draw_subprocess(tmp_path):
    svg = tmp_path / "graph.svg"
    status, out, err = run("draw", LECTURE, "--at", "x=2", "-o", str(svg))
    assert status == 0, err
    assert ET.parse(svg).getroot().tag.endswith("svg")


def test_draw_prints_source(capsys):
    assert main(["draw", "x*y"]) == 0
    assert capsys.readouterr().out.startswith("digraph")


def test_unwritable_output_is_one_line(capsys, tmp_path):
    assert main(["draw", "x*y", "--format", "dot", "-o", str(tmp_path / "no" / "g.dot")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("symgrad: error: ") and len(err.strip().splitlines()) == 1


def test_help_lists_examples(capsys):
    for name in ("derive", "draw"):
        with pytest.raises(SystemExit) as exit_:
            main([name, "--help"])
        assert exit_.value.code == 0
        out = capsys.readouterr().out
        assert "examples:" in out and f"symgrad {name} " in out
    with pytest.raises(SystemExit):
        main(["--help"])
    assert "derive" in capsys.readouterr().out


def test_commands_are_a_table(capsys, monkeypatch):
    table = dict(COMMANDS)
    monkeypatch.setattr("symgrad.cli.common.COMMANDS", table)
    monkeypatch.setattr("symgrad.cli.main.COMMANDS", table)
    register(Command("hello", "say hello", lambda p: p.add_argument("who"),
                     lambda args: print(f"hello {args.who}") or 0, ("symgrad hello world",)))
    assert main(["hello", "world"]) == 0
    assert capsys.readouterr().out == "hello world\n"
    with pytest.raises(ValueError, match="already registered"):
        register(Command("hello", "", lambda p: None, lambda a: 0))


def test_console_script_entry_point_is_the_cli_main():
    """pyproject's ``symgrad`` script names a callable (the layer move once left it
    pointing at the ``symgrad.cli`` package)."""
    import importlib
    import pathlib
    import tomllib
    root = pathlib.Path(__file__).resolve().parent.parent
    target = tomllib.loads((root / "pyproject.toml").read_text())["project"]["scripts"]["symgrad"]
    module, _, attr = target.partition(":")
    entry = getattr(importlib.import_module(module), attr)
    assert callable(entry)
    with pytest.raises(SystemExit) as info:          # argparse's --help exits 0
        entry(["--help"])
    assert info.value.code == 0


def test_mlp_derive_and_draw_as_the_lecture(tmp_path):
    path = tmp_path / "net.svg"
    status, out, err = run("mlp", "2,2,1", "--x", "1,2", "--y", "1", "--derive", "--draw", str(path))
    assert status == 0 and err == ""
    assert "B_{3,1} = ∂loss/∂a1_1 = B_{2,1} * (1 - tanh(a1_1)**2) = " in out
    assert "∂loss/∂w1_2_1 = B_{3,1} * x2 = " in out
    svg = path.read_text(encoding="utf-8")
    assert svg.lstrip().startswith("<?xml") and "tanh" in svg and "w1_2_1 = " in svg


# -- a command line that reads like Unix (issue 14) ------------------------------------
def test_expression_may_start_with_a_minus(capsys):
    assert main(["derive", "-x*sin(x)", "--at", "x=1", "--format", "json"]) == 0
    got = json.loads(capsys.readouterr().out)["gradient"]["x"]
    assert got == pytest.approx(-(1.0 * 0.5403023058681398 + 0.8414709848078965))
    assert main(["derive", "--at", "x=2", "-x"]) == 0                    # after the options
    assert "= -1" in capsys.readouterr().out


def test_option_values_may_be_negative(capsys):
    assert main(["mlp", "2,2,1", "--x", "-1,0.5"]) == 0
    assert "x = [-1.0, 0.5]" in capsys.readouterr().out
    assert main(["check", "x**3", "--at", "x=-1.5"]) == 0
    assert main(["derive", "x**2", "--format", "-x"]) == 2               # still checked
    assert "invalid choice" in capsys.readouterr().err


def test_expression_from_a_file_and_from_stdin(tmp_path, capsys):
    path = tmp_path / "lecture.txt"
    path.write_text("a = x**2\nb = exp(a)\nc = a + b\nf = sqrt(c) + cos(c)\n", encoding="utf-8")
    assert main(["derive", f"@{path}", "--at", "x=2", "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["gradient"]["x"] == pytest.approx(-182.86981, rel=1e-6)
    status, out, err = run("derive", "@" + str(tmp_path / "missing.txt"), "--at", "x=2")
    assert status == 2 and "cannot read" in err and "Traceback" not in err
    env = {**os.environ, "PYTHONPATH": ROOT + os.pathsep + os.environ.get("PYTHONPATH", "")}
    p = subprocess.run([sys.executable, "-m", "symgrad", "derive", "-", "--at", "x=2", "--format",
                        "json"], input=LECTURE, capture_output=True, text=True, env=env, timeout=120)
    assert p.returncode == 0 and json.loads(p.stdout)["gradient"]["x"] == pytest.approx(-182.86981, rel=1e-6)


def test_export_json_reads_back_with_at_file(tmp_path, capsys):
    path = tmp_path / "lecture.json"
    assert main(["export", LECTURE, "--to", "json", "-o", str(path)]) == 0
    assert sg.Graph.from_json(path.read_text(encoding="utf-8")) == sg.parse(LECTURE)
    capsys.readouterr()
    assert main(["derive", f"@{path}", "--at", "x=2", "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["gradient"]["x"] == pytest.approx(-182.86981, rel=1e-6)
    assert main(["export", "x*y", "--to", "math"]) == 0
    out = capsys.readouterr().out
    assert "def forward(x, y):" in out and "return {'x': x_bar, 'y': y_bar}" in out
    assert main(["export", "x*y", "--to", "fortran"]) == 2


def test_version(capsys):
    assert main(["--version"]) == 0
    assert capsys.readouterr().out == f"symgrad {sg.__version__}\n"


def test_shell_completion_with_argcomplete(tmp_path):
    pytest.importorskip("argcomplete")
    out = tmp_path / "completions"
    env = {**os.environ, "PYTHONPATH": ROOT, "_ARGCOMPLETE": "1", "COMP_LINE": "symgrad ex",
           "COMP_POINT": "10", "_ARGCOMPLETE_STDOUT_FILENAME": str(out), "IFS": "\013"}
    p = subprocess.run([sys.executable, "-m", "symgrad"], env=env, capture_output=True, text=True,
                       timeout=120)
    assert p.returncode == 0, p.stderr
    assert set(out.read_text().split("\013")) == {"exercise", "export"}
