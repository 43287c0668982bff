"""The parser never reaches eval, exec, sympify or parse_expr (see conftest's tripwires)."""

import builtins
import importlib

import pytest
import sympy

import symgrad as sg

from conftest import TRIPPED
from corpus import CORPUS


def test_tripwires_are_armed_during_the_suite():
    assert getattr(builtins.eval, "__wrapped__", None) is not None
    assert getattr(builtins.exec, "__wrapped__", None) is not None
    assert getattr(sympy.sympify, "__wrapped__", None) is not None


def test_tripwire_fires_when_called_under_the_parser(monkeypatch):
    """Prove the tripwire works: make the parser's number rule call eval (from a
    function compiled as if it lived in symgrad/front/parse.py)."""
    parse_module = importlib.import_module("symgrad.front.parse")
    original = parse_module._Build.number
    scope = {"builtins": builtins, "original": original}
    code = compile("def evil(self, c):\n    builtins.eval('1')\n    return original(self, c)\n",
                   parse_module.__file__, "exec")
    builtins.exec.__wrapped__(code, scope)
    monkeypatch.setattr(parse_module._Build, "number", scope["evil"])
    before = len(TRIPPED)
    with pytest.raises(AssertionError, match="eval called while parsing"):
        sg.parse("x + 1")
    del TRIPPED[before:]          # this trip was on purpose


@pytest.mark.parametrize("text", [c[1] for c in CORPUS] + [
    "__import__('os')", "x.__class__.__mro__", "(lambda: 0)()", "[i for i in x]", "x[0]",
    "open('f')", "exec('x')", "eval('x')", "globals()", "x; y", "'s' + x", "x if y else z",
])
def test_every_corpus_text_and_payload_parses_without_eval(text):
    try:
        sg.parse(text)
    except sg.ParseError:
        pass
