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
