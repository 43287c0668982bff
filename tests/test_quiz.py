"""The teaching command line: `symgrad quiz` in a real pseudo-terminal, and the
exercise, check and mlp subcommands."""

import json
import subprocess
import sys
import xml.etree.ElementTree as ET

import pytest

import symgrad as sg
from symgrad.cli.main import main

import pexpect

SYMGRAD = [sys.executable, "-m", "symgrad"]


def _spawn(*args):
    # generous timeout: a loaded CI machine may take long to import and start; nothing
    # below depends on timing (the quiz notices Ctrl-C whenever it arrives)
    return pexpect.spawn(sys.executable, ["-m", "symgrad", *args], encoding="utf-8", timeout=180,
                         dimensions=(50, 200))


def test_quiz_in_a_terminal_with_right_and_wrong_answers():
    ex = sg.exercise(kind="backward", seed=7)
    child = _spawn("quiz", "--seed", "7")
    child.expect_exact("Answer each question")
    right = 0
    for i, it in enumerate(ex.items):
        child.expect_exact(f"{it.text} = ")
        v = it.answer
        if i == 1:
            child.sendline(f"{-v:.4g}")                # a sign error
            child.expect_exact("sign error")
            child.expect_exact("the answer is")
        elif i == 2:
            child.sendline("banana")                   # a name, not a number: asked again
            child.expect_exact("give a number")
            child.expect_exact("try again")
            child.expect_exact(f"{it.text} = ")
            child.sendline("skip")                     # shows the answer, not an attempt
            child.expect_exact("skipped: the answer is")
        else:
            child.sendline(f"{v:.4g}")
            child.expect_exact("correct!")
            right += 1
    child.expect_exact(f"score: {right} of {len(ex.items)} correct")
    child.expect_exact("Solution:")
    child.expect_exact("Backward pass")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0


def test_quiz_formula_answers_in_a_terminal():
    ex = sg.exercise(kind="local", seed=2)
    child = _spawn("quiz", "--kind", "local", "--seed", "2", "--no-solution")
    first = ex.items[0]
    child.expect_exact(f"{first.text} = ")
    child.sendline(str(first.answer))
    child.expect_exact("correct")
    for it in ex.items[1:]:
        child.expect_exact(f"{it.text} = ")
        child.sendline("exp(")                         # a typo: the caret, the same item again
        child.expect_exact("^")
        child.expect_exact("try again")
        child.expect_exact(f"{it.text} = ")
        child.sendline("")                             # an empty line asks again
        child.expect_exact("type an answer")
        child.expect_exact(f"{it.text} = ")
        child.sendline("skip")
        child.expect_exact("skipped")
    child.expect_exact(f"score: 1 of {len(ex.items)} correct (")
    child.expect_exact(f"{len(ex.items) - 1} skipped")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
    assert "Solution:" not in child.before


def test_quiz_end_of_input_is_graceful():
    child = _spawn("quiz", "--seed", "3")
    child.expect_exact("Answer each question")
    child.expect_exact(" = ")
    child.sendeof()
    child.expect_exact("quiz ended at end of input")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 2
    assert "Traceback" not in child.before


def test_quiz_ctrl_c_is_graceful():
    """Issue 10: this failed under CPU load.  The cause was a race in input(): a
    SIGINT arriving between writing the prompt and the blocking read was acted on
    only after the next Enter.  The quiz's reader now polls, so Ctrl-C is noticed
    whenever it arrives, and the test has no tight timeout."""
    child = _spawn("quiz", "--seed", "3")
    child.expect_exact("Answer each question")
    child.expect_exact(" = ")
    child.sendintr()
    child.expect_exact("quiz interrupted")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 130
    assert "Traceback" not in child.before


def test_quiz_closed_stdin_is_one_line_exit_2():
    r = subprocess.run(["/bin/sh", "-c", f"'{sys.executable}' -m symgrad quiz --seed 3 <&-"],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert r.stderr.strip().splitlines() == [
        "symgrad: error: the quiz reads answers from standard input, which is closed"]


def test_quiz_piped_answers_and_eof():
    ex = sg.exercise(kind="forward", seed=1)
    first = f"{ex.items[0].answer:.4g}"
    r = subprocess.run([*SYMGRAD, "quiz", "--kind", "forward", "--seed", "1"], input=first + "\n",
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert "correct!" in r.stdout
    assert r.stdout.rstrip().splitlines()[-1] == "quiz ended at end of input: 1 of 1 answered correct, 0 skipped."


def _scripted(lines):
    feed = iter(lines)

    def read(prompt):
        line = next(feed)
        if isinstance(line, BaseException):
            raise line
        return line
    return read


def test_quiz_ctrl_c_deterministic():
    from symgrad.cli.teach import quiz
    ex = sg.exercise(kind="backward", seed=7)
    said = []
    status = quiz(ex, read=_scripted([f"{ex.items[0].answer:.4g}", KeyboardInterrupt()]),
                  write=said.append)
    assert status == 130
    assert said[-1].strip() == "quiz interrupted: 1 of 1 answered correct, 0 skipped."


def test_quiz_typo_does_not_consume_or_reveal():
    from symgrad.cli.teach import quiz
    ex = sg.exercise(kind="symbolic", seed=0)
    it = ex.items[0]
    said = []
    status = quiz(ex, read=_scripted(["exp(", "hello(x)", "", str(it.answer), EOFError()]),
                  write=said.append, solution=False)
    text = "\n".join(said)
    assert text.count("try again") == 2 and "type an answer" in text
    assert "the answer is" not in text and "correct!" in text
    assert status == (0 if len(ex.items) == 1 else 2)


def test_quiz_skip_is_not_an_attempt():
    from symgrad.cli.teach import SKIP, quiz
    ex = sg.exercise(kind="forward", seed=1)
    said = []
    answers = [SKIP] + [f"{it.answer:.4g}" for it in ex.items[1:]]
    assert quiz(ex, read=_scripted(answers), write=said.append, solution=False) == 0
    n = len(ex.items)
    assert said[-1].strip() == f"score: {n - 1} of {n} correct ({(n - 1) / n:.0%}); 1 skipped."
    assert any(s.startswith("  skipped: the answer is") for s in said)


# -- exercise / check / mlp -------------------------------------------------------------
def _run(*args):
    return subprocess.run([*SYMGRAD, *args], capture_output=True, text=True, timeout=60)


def test_exercise_prints_prompt_and_solution(capsys):
    assert main(["exercise", "--seed", "7", "--solution"]) == 0
    out = capsys.readouterr().out
    assert sg.exercise(seed=7).prompt_text() in out
    assert "Answers:" in out and "Backward pass" in out


def test_exercise_json_and_moodle(capsys, tmp_path):
    assert main(["exercise", "--kind", "forward", "--seed", "1", "--count", "3", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert len(data["exercises"]) == 3
    path = tmp_path / "quiz.xml"
    assert main(["exercise", "--kind", "mlp", "--seed", "1", "--count", "2", "--moodle", str(path)]) == 0
    root = ET.parse(path).getroot()
    n = sum(len(e.items) for e in sg.exercise_sheet(2, 1, "mlp").exercises)
    assert len(root.findall("question")) == n
    assert main(["exercise", "--kind", "symbolic", "--seed", "1", "--count", "2", "--moodle", str(path),
                 "--cloze", "--solution"]) == 0
    root = ET.parse(path).getroot()
    assert [q.get("type") for q in root.findall("question")] == ["cloze", "cloze"]
    assert all(q.find("generalfeedback/text").text.startswith("<pre>") for q in root.iter("question"))
    assert main(["exercise", "--kind", "local", "--seed", "1", "--moodle", str(path),
                 "--formulas", "numeric"]) == 0
    assert {q.get("type") for q in ET.parse(path).getroot().iter("question")} == {"numerical"}
    capsys.readouterr()
    assert main(["exercise", "--kind", "forward", "--seed", "1", "--json", "--solution"]) == 0
    assert "Forward pass" in json.loads(capsys.readouterr().out)["exercises"][0]["solution"]


def test_exercise_pdf(tmp_path):
    path = tmp_path / "sheet.pdf"
    assert main(["exercise", "--count", "2", "--seed", "4", "--solution", "--pdf", str(path)]) == 0
    assert path.read_bytes().startswith(b"%PDF")


def test_check_command(capsys):
    assert main(["check", "sqrt(x**2 + exp(x**2)) + cos(x**2 + exp(x**2))", "--at", "x=2"]) == 0
    assert "-182.87" in capsys.readouterr().out
    assert main(["check", "x*y", "--at", "x=1,y=2", "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["ok"] and data["rows"]["x"]["reverse"] == 2.0


def test_mlp_command(capsys):
    assert main(["mlp", "2,2,1", "--activation", "tanh", "--loss", "squared", "--check"]) == 0
    assert "gradient check: ok" in capsys.readouterr().out
    assert main(["mlp", "1,2,1", "--derive", "--x", "0.5", "--y", "1"]) == 0
    assert "∂loss/∂w1_1_1" in capsys.readouterr().out
    assert main(["mlp", "2,2,1"]) == 0
    assert "dloss/dw1_0_1" in capsys.readouterr().out


@pytest.mark.parametrize("args", [
    ["exercise", "--kind", "nope"],
    ["exercise", "--count", "0"],
    ["exercise", "--pdf", "a.pdf", "--json"],
    ["check", "x +", "--at", "x=1"],
    ["check", "x*y", "--at", "x=1"],
    ["mlp", "2,x,1"],
    ["mlp", "2,2,1", "--activation", "swish"],
    ["mlp", "2,2,1", "--x", "1"],
    ["quiz", "--difficulty", "9"],
    ["exercise", "--moodle", ""],
    ["exercise", "--pdf", ""],
    ["exercise", "--formulas", "numeric"],
])
def test_errors_are_one_line_exit_2(args):
    r = _run(*args)
    assert r.returncode == 2
    assert r.stderr.startswith("symgrad: error:") and "Traceback" not in r.stderr
    assert len([ln for ln in r.stderr.splitlines() if ln.strip()]) <= 3   # a caret line allowed


@pytest.mark.parametrize("command", ["exercise", "quiz", "check", "mlp"])
def test_help_lists_examples(command):
    r = _run(command, "--help")
    assert r.returncode == 0
    assert "examples:" in r.stdout and f"symgrad {command}" in r.stdout.split("examples:")[1]
