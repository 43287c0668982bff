"""Property fuzzing of every text boundary: the only outcomes are a Graph or a
ParseError with a position inside the text, quickly, with nothing executed
(the conftest tripwires fail the test if parsing reaches eval/exec/sympify)."""

import time

import numpy as np
from hypothesis import given, strategies as st

import symgrad as sg
from symgrad.errors import ParseError, SymgradError
from symgrad.strategies import expressions

TOKENS = ["x", "y", "e", "pi", "1", "2.5", "1e-3", "1e999", "+", "-", "*", "/", "**", "(", ")",
          ",", "=", ";", "\n", " ", "exp", "log", "sqrt", "sin(", "relu(", "leaky_relu(",
          "slope=", "alpha=", "__import__", ".", "[", "]", "lambda", ":", "'", '"', "#", "\\",
          "\t", "{", "}", "@", "!", "α", "x_1", "0", "9" * 30, "..."]

soup = st.lists(st.sampled_from(TOKENS), max_size=40).map("".join)
unicode_text = st.text(max_size=80)


@st.composite
def mutated(draw):
    """A valid expression with a few characters inserted, deleted or replaced."""
    text = list(draw(expressions(max_depth=3)))
    for _ in range(draw(st.integers(1, 4))):
        i = draw(st.integers(0, len(text)))
        kind = draw(st.sampled_from(["insert", "delete", "replace"]))
        ch = draw(st.sampled_from(TOKENS + list("()+-*/=,;.")))
        if kind == "insert" or not text:
            text.insert(i, ch)
        elif kind == "delete":
            del text[min(i, len(text) - 1)]
        else:
            text[min(i, len(text) - 1)] = ch
    return "".join(text)


def outcome_is_graph_or_positioned_error(text: str) -> None:
    start = time.perf_counter()
    try:
        g = sg.parse(text)
    except ParseError as err:
        assert 0 <= err.offset <= len(text)
        assert 1 <= err.line and 1 <= err.column
        assert "^" in str(err)
    else:
        assert isinstance(g, sg.Graph)
        with np.errstate(all="ignore"):
            try:
                g.backward({k: 0.5 for k in g.inputs}, output=g.outputs[-1])
            except SymgradError:
                pass
    assert time.perf_counter() - start < 2.0


@given(soup)
def test_token_soup(text):
    outcome_is_graph_or_positioned_error(text)


@given(unicode_text)
def test_random_unicode(text):
    outcome_is_graph_or_positioned_error(text)


@given(mutated())
def test_mutated_valid_expressions(text):
    outcome_is_graph_or_positioned_error(text)


EXERCISES = {kind: sg.exercise(kind=kind, seed=3) for kind in ("backward", "local", "symbolic")}
answers = st.one_of(soup, unicode_text, mutated(), st.floats(allow_nan=True), st.integers(),
                    st.none(), st.lists(st.integers(), max_size=2))


@given(st.sampled_from(sorted(EXERCISES)), answers)
def test_grading_never_raises(kind, answer):
    ex = EXERCISES[kind]
    start = time.perf_counter()
    result = ex.grade({item: answer for item in ex.answers})
    assert set(result.items) == set(ex.answers)
    for verdict in result.items.values():
        assert isinstance(verdict.correct, bool) and verdict.feedback
    assert 0.0 <= result.score <= 1.0
    assert time.perf_counter() - start < 5.0


@given(st.one_of(soup, mutated()), st.sampled_from(["x=1", "x=2,y=3", "x=", "=", "x=abc", "x=1e999"]),
       st.sampled_from(["derive", "check", "draw"]))
def test_cli_gives_an_exit_status_and_no_traceback(text, at, command):
    import contextlib
    import io

    from symgrad.cli.main import main
    out_buf, err_buf = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out_buf), contextlib.redirect_stderr(err_buf):
        try:
            code = main([command, text, "--at", at] + (["--format", "dot"] if command == "draw" else []))
        except SystemExit as exc:          # argparse usage errors
            code = exc.code
    out, errors = out_buf.getvalue(), err_buf.getvalue()
    assert code in (0, 1, 2)
    assert "Traceback" not in errors and "Traceback" not in out
    if code == 2:
        assert errors.startswith("symgrad: ") or errors.startswith("usage:")
        assert len(errors.strip().splitlines()) <= 4
