"""The text front end: grammar forms, programs, errors with positions, bounds."""

import time

import pytest

import symgrad as sg
from symgrad.errors import ParseError

from corpus import LECTURE, LECTURE_PROGRAM


def rows(g):
    return [(n, g.op(n), g.args(n)) for n in g.nodes if not g.is_input(n)]


@pytest.mark.parametrize("text, expected", [
    ("x + y * z", [("a", "mul", ("y", "z")), ("b", "add", ("x", "a"))]),
    ("x - y - z", [("a", "sub", ("x", "y")), ("b", "sub", ("a", "z"))]),
    ("x / y / z", [("a", "div", ("x", "y")), ("b", "div", ("a", "z"))]),
    ("-x**2", [("a", "pow", ("x", 2)), ("b", "neg", ("a",))]),
    ("(-x)**2", [("a", "neg", ("x",)), ("b", "pow", ("a", 2))]),
    ("x**y**2", [("a", "pow", ("y", 2)), ("b", "pow", ("x", "a"))]),
    ("x**-1", [("a", "pow", ("x", -1))]),
    ("2*x", [("a", "mul", (2, "x"))]),
    ("x*1e-3", [("a", "mul", ("x", 0.001))]),
    ("x + .5", [("a", "add", ("x", 0.5))]),
    ("+x * 3", [("a", "mul", ("x", 3))]),
    ("pi*x", [("a", "mul", (3.141592653589793, "x"))]),
    ("e**x", [("a", "pow", (2.718281828459045, "x"))]),
    ("2**3*x", [("a", "mul", (8, "x"))]),
    ("x/(2*3)", [("a", "div", ("x", 6))]),
    ("leaky_relu(x)", [("a", "leaky_relu", ("x", 0.01))]),
    ("leaky_relu(x, 0.2)", [("a", "leaky_relu", ("x", 0.2))]),
    ("leaky_relu(x, slope=0.2)", [("a", "leaky_relu", ("x", 0.2))]),
    ("elu(x, alpha=2)", [("a", "elu", ("x", 2))]),
    ("elu(x)", [("a", "elu", ("x", 1.0))]),
    ("abs(x) # a comment", [("a", "abs", ("x",))]),
    ("sigmoid(x)+relu(x)+softplus(x)+tanh(x)+tan(x)+log(x)+sin(x)",
     [("a", "sigmoid", ("x",)), ("b", "relu", ("x",)), ("c", "add", ("a", "b")),
      ("d", "softplus", ("x",)), ("e", "add", ("c", "d")), ("f", "tanh", ("x",)),
      ("g", "add", ("e", "f")), ("h", "tan", ("x",)), ("i", "add", ("g", "h")),
      ("j", "log", ("x",)), ("k", "add", ("i", "j")), ("l", "sin", ("x",)),
      ("m", "add", ("k", "l"))]),
])
def test_grammar_forms(text, expected):
    assert rows(sg.parse(text)) == expected


def test_lecture_expression_and_program_give_the_same_graph():
    a, b = sg.parse(LECTURE), sg.parse(LECTURE_PROGRAM)
    assert rows(a) == rows(b)
    assert b.outputs == ("f",)


def test_program_forms():
    g = sg.parse("a = x*y; b = sin(a)\n\nc = a + b\n")
    assert g.outputs == ("c",) and g.inputs == ("x", "y")
    g = sg.parse("a = x**2\nb = x**2\nf = a + b")          # b names a copy of a
    assert g.op("b") == "identity" and g.args("b") == ("a",)
    g = sg.parse("u = sin(x)\nv = cos(x)", outputs=["u", "v"])
    assert g.outputs == ("u", "v")
    g = sg.parse("d = x*2\ne = d + 1\nf = e * e")               # e assigned: a node, not Euler's e
    assert g.args("f") == ("e", "e")
    g = sg.parse("a = x + 1\na*2")                               # last line may be bare
    assert g.outputs == ("b",)


@pytest.mark.parametrize("text, message, offset", [
    ("", "empty text", 0),
    ("x +", "unexpected the end of the text", 3),
    ("x + * y", "unexpected '*'", 4),
    ("(x + 1", "expected", 6),
    ("x + 1)", "unexpected ')'", 5),
    ("sine(x)", "unknown function 'sine'; did you mean 'sin'?", 0),
    ("foo(x)", "known functions: exp, log, sqrt", 0),
    ("exp + 1", "'exp' is a function", 0),
    ("sin(x, y)", "sin() takes 1 argument", 0),
    ("leaky_relu(x, y)", "slope must be a constant", 14),
    ("leaky_relu(x, alpha=1)", "no parameter 'alpha'", 14),
    ("x.real", "unexpected character '.'", 1),
    ("x[0]", "unexpected character '['", 1),
    ("x @ y", "unexpected character '@'", 2),
    ("2 + 3", "constant", 0),
    ("a = x\na = y", "assigned twice", 6),
    ("b = a + 1\na = x", "used before it is assigned", 4),
    ("a = x\nb + 1\nc = a", "has no effect", 6),
    ("a = 3", "is a constant", 4),
    ("exp = x", "cannot assign to 'exp'", 0),
    ("x ** 10**7", "exponent", 5),
    ("9**9**9**9", "exponent", 6),
    ("x * 1e999", "too large", 4),
    ("1/0 + x", "not a finite number", 0),
])
def test_errors_have_positions_and_messages(text, message, offset):
    with pytest.raises(ParseError) as info:
        sg.parse(text)
    err = info.value
    assert message in str(err)
    assert err.offset == offset
    assert err.line >= 1 and err.column >= 1
    assert "^" in str(err).splitlines()[-1]


def test_error_position_on_a_later_line():
    with pytest.raises(ParseError) as info:
        sg.parse("a = x + 1\nb = a ++ * 2")
    assert (info.value.line, info.value.column) == (2, 10)
    assert str(info.value).splitlines()[1].strip() == "b = a ++ * 2"


@pytest.mark.parametrize("payload", [
    "__import__('os').system('echo pwned')", "x.__class__", "(lambda: 1)()",
    "[x for x in y]", "x[0]", "open('/etc/passwd')", "exec('1')", "x if y else z",
    "x; import os", "x = 1; del x", "{x: 1}", "'abc'", "x.y.z", "x == y", "`x`",
    "eval('2')", "getattr(x, 'y')", "x := 1", "x | y", "~x", "x % y", "x // y",
])
def test_injection_payloads_are_rejected_and_nothing_runs(payload, monkeypatch):
    import builtins
    calls = []
    monkeypatch.setattr(builtins, "eval", lambda *a, **k: calls.append(a))
    monkeypatch.setattr(builtins, "exec", lambda *a, **k: calls.append(a))
    start = time.perf_counter()
    with pytest.raises(ParseError):
        sg.parse(payload)
    assert time.perf_counter() - start < 1.0
    assert not calls


def test_keywords_and_builtins_are_plain_names():
    g = sg.parse("lambda + if * print")
    assert g.inputs == ("lambda", "if", "print")


def test_unicode_names():
    g = sg.parse("α * x_1 + β")
    assert g.inputs == ("α", "x_1", "β")


def test_nesting_limit_is_a_parse_error_not_a_crash():
    deep = "(" * 10_000 + "x" + ")" * 10_000
    start = time.perf_counter()
    with pytest.raises(ParseError, match="nested deeper than 1000"):
        sg.parse(deep)
    assert time.perf_counter() - start < 1.0
    ok = "(" * 900 + "x" + ")" * 900
    assert sg.parse(ok).nodes == ("x",)
    with pytest.raises(ParseError, match="nested deeper"):
        sg.parse("-" * 1500 + "x")
    with pytest.raises(ParseError, match="nested deeper"):
        sg.parse("sin(" * 1001 + "x" + ")" * 1001)
    with pytest.raises(ParseError, match="nested deeper"):
        sg.parse("x" + "**x" * 1200)
    assert len(sg.parse("(" * 50 + "x" + ")" * 50, max_depth=60).nodes) == 1
    with pytest.raises(ParseError):
        sg.parse("(" * 50 + "x" + ")" * 50, max_depth=10)


def test_length_limit():
    huge = "x" + " + x" * 2_600_000            # > 10 MB
    start = time.perf_counter()
    with pytest.raises(ParseError, match="longer than the limit"):
        sg.parse(huge)
    assert time.perf_counter() - start < 1.0
    with pytest.raises(ParseError, match="longer than the limit"):
        sg.parse("x + y", max_length=3)


def test_flat_sum_of_100000_terms_parses():
    text = " + ".join(f"x{i}*w{i}" for i in range(100_000))
    start = time.perf_counter()
    g = sg.parse(text)
    assert len(g.inputs) == 200_000
    assert len(g.nodes) == 200_000 + 100_000 + 99_999
    assert time.perf_counter() - start < 30


def test_parse_rejects_non_text():
    with pytest.raises(ParseError, match="reads a str"):
        sg.parse(b"x + 1")


def test_unknown_output():
    with pytest.raises(ParseError, match="output 'q'"):
        sg.parse("a = x + 1", outputs=["q"])


def test_duplicate_output():
    with pytest.raises(ParseError, match="output 'a' is listed twice"):
        sg.parse("a = x + 1", outputs=["a", "a"])


def test_longest_sum_of_one_name_is_refused_before_building():
    """Issue 11 item 13: ``x+x+...`` at the length limit is refused in the time of reading
    (the written operations bound the nodes), not after building half a million nodes."""
    import time
    text = "+".join(["x"] * 1_000_000)
    start = time.process_time()
    with pytest.raises(ParseError, match=r"writes 999,999 operations on 1 names, more than 500,000 nodes"):
        sg.parse(text)
    assert time.process_time() - start < 5
