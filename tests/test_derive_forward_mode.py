"""The forward-mode derivation (sg.derive(..., mode="forward")) and the derivation
of a derivative (sg.derive(g.gradient_graph(), ...)): issue 13."""

import math
import subprocess

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import symgrad as sg
from symgrad.errors import InputError
from symgrad.strategies import graphs, points

LECTURE = "sqrt(x**2 + exp(x**2)) + cos(x**2 + exp(x**2))"
sg.parse(LECTURE)   # warm up the parser's lazy imports before conftest's exec tripwire is set

LECTURE_TEXT = [
    "ẋ = 1",
    "ȧ = ∂a/∂x · ẋ = 2*x * 1 = 4",
    "ḃ = ∂b/∂a · ȧ = exp(a) * 4 = 218.39",
    "ċ = ∂c/∂a · ȧ + ∂c/∂b · ḃ = 1 * 4 + 1 * 218.39 = 222.39",
    "ḋ = ∂d/∂c · ċ = 1/(2*sqrt(c)) * 222.39 = 14.526",
    "ė = ∂e/∂c · ċ = -sin(c) * 222.39 = -197.4",
    "ḟ = ∂f/∂d · ḋ + ∂f/∂e · ė = 1 * 14.526 + 1 * (-197.4) = -182.87",
]

LECTURE_LATEX = [
    r"\dot{x} &= 1",
    r"\dot{a} &= \frac{\partial a}{\partial x} \dot{x} = 2 x \times 1 = 4",
    r"\dot{b} &= \frac{\partial b}{\partial a} \dot{a} = \exp\left(a\right) \times 4 = 218.39",
    (r"\dot{c} &= \frac{\partial c}{\partial a} \dot{a} + \frac{\partial c}{\partial b} \dot{b} "
     r"= 1 \times 4 + 1 \times 218.39 = 222.39"),
    r"\dot{d} &= \frac{\partial d}{\partial c} \dot{c} = \frac{1}{2 \sqrt{c}} \times 222.39 = 14.526",
    r"\dot{e} &= \frac{\partial e}{\partial c} \dot{c} = -\sin\left(c\right) \times 222.39 = -197.4",
    (r"\dot{f} &= \frac{\partial f}{\partial d} \dot{d} + \frac{\partial f}{\partial e} \dot{e} "
     r"= 1 \times 14.526 + 1 \times \left(-197.4\right) = -182.87"),
]


def lecture_forward():
    return sg.derive(sg.parse(LECTURE), x=2.0, mode="forward", wrt="x")


def test_lecture_forward_mode_text_pinned():
    d = lecture_forward()
    lines = d.text(indent="").splitlines()
    assert lines[0] == "Forward pass at x = 2" and lines[3] == "c = a + b = 58.598"
    assert lines[7] == "Forward mode: tangents ṅ = ∂n/∂x, summed over each node's arguments"
    assert lines[8:] == LECTURE_TEXT
    assert d.backward == () and d.mode == "forward" and d.seeds == {"x": 1.0}
    assert [s.node for s in d.tangents] == ["x", "a", "b", "c", "d", "e", "f"]
    assert repr(d) == "<Forward-mode derivation along x: 6 forward and 7 tangent steps>"


def test_lecture_forward_mode_latex_pinned():
    body = lecture_forward().latex().split(" \\\\\n")
    assert body[:2] == [r"x &= 2", r"a &= x^{2} = 4"]
    assert body[7:] == LECTURE_LATEX


def test_markdown_has_the_tangent_block():
    md = lecture_forward().markdown()
    assert "**Forward mode: tangents ṅ = ∂n/∂x, summed over each node's arguments**" in md
    assert "\n".join(LECTURE_TEXT) in md


def test_lecture_forward_mode_document_compiles(tmp_path):
    doc = lecture_forward().document()
    assert r"\subsection*{Forward mode}" in doc and r"\subsection*{Backward pass}" not in doc
    for line in LECTURE_LATEX:
        assert line in doc
    (tmp_path / "fwd.tex").write_text(doc, encoding="utf-8")
    run = subprocess.run(["pdflatex", "-interaction=nonstopmode", "-halt-on-error",
                          "-no-shell-escape", "fwd.tex"], cwd=tmp_path, capture_output=True, timeout=120,
                         check=False)
    log = run.stdout.decode("utf-8", "replace")
    assert run.returncode == 0, "\n".join(ln for ln in log.splitlines() if ln.startswith("!"))
    assert (tmp_path / "fwd.pdf").stat().st_size > 1000


def test_direction_two_inputs_and_unreached_nodes():
    g = sg.parse("x*y + sin(x)*x")
    d = sg.derive(g, x=1.0, y=2.0, mode="forward", tangent={"x": 1, "y": -0.5})
    lines = d.text(indent="").splitlines()
    assert "along the direction x = 1, y = -0.5 (other inputs 0)" in lines[5]
    assert lines[6:9] == ["ẋ = 1", "ẏ = -0.5", "ȧ = ∂a/∂x · ẋ + ∂a/∂y · ẏ = y * 1 + x * (-0.5) = 1.5"]
    # with respect to y, the nodes reading only x have tangent 0 and no terms
    d = sg.derive(g, x=1.0, y=2.0, mode="forward", wrt="y")
    text = d.text(indent="").splitlines()
    assert text[6:] == ["ẋ = 0", "ẏ = 1", "ȧ = ∂a/∂y · ẏ = x * 1 = 1", "ḃ = 0", "ċ = 0",
                        "ḋ = ∂d/∂a · ȧ = 1 * 1 = 1"]


def test_a_node_read_twice_by_one_op_is_one_term():
    d = sg.derive(sg.parse("x*x"), x=3.0, mode="forward", wrt="x")
    assert d.text(indent="").splitlines()[-1] == "ȧ = ∂a/∂x · ẋ = 2*x * 1 = 6"


@pytest.mark.parametrize("kwargs, message", [
    ({"mode": "forward"}, "needs wrt=<input name>"),
    ({"mode": "forward", "wrt": "x", "tangent": {"x": 1}}, "one of them"),
    ({"mode": "sideways", "wrt": "x"}, "mode must be 'reverse' or 'forward'"),
    ({"wrt": "x"}, "pass mode='forward'"),
    ({"mode": "forward", "wrt": "q"}, "'q': not an input"),
    ({"mode": "forward", "wrt": ["x"]}, "one input name"),
    ({"mode": "forward", "tangent": {"q": 1}}, "names 'q', not an input"),
    ({"mode": "forward", "tangent": {"x": math.nan}}, "finite number"),
    ({"mode": "forward", "tangent": {}}, "mapping"),
])
def test_bad_forward_mode_arguments(kwargs, message):
    with pytest.raises(InputError, match=None) as err:
        sg.derive(sg.parse(LECTURE), x=2.0, **kwargs)
    assert message in str(err.value)


def test_forward_mode_needs_a_point():
    with pytest.raises(InputError, match="forward mode needs a point"):
        sg.derive(sg.parse(LECTURE), mode="forward", wrt="x")
    with pytest.raises(InputError, match="symbolic=True"):
        sg.derive(sg.parse(LECTURE), x=2.0, symbolic=True, mode="forward", wrt="x")


OPS = ("add", "sub", "mul", "div", "neg", "exp", "log", "sqrt", "sin", "cos", "tanh", "sigmoid",
       "relu", "abs", "softplus")


@settings(max_examples=40, deadline=None)
@given(st.data())
def test_derivation_numbers_are_forward_modes(data):
    """Every tangent step's value IS g.tangents' number (the same sweep), and its
    terms' seed * local products sum to it to rounding."""
    g = data.draw(graphs(ops=OPS, max_depth=4))
    at = data.draw(points(g))
    wrt = data.draw(st.sampled_from(g.inputs))
    d = sg.derive(g, at, mode="forward", wrt=wrt)
    want = g.tangents(at, wrt=wrt)
    assert [s.node for s in d.tangents] == list(g.nodes)
    for s in d.tangents:
        assert s.value == float(want[s.node])
        if s.terms:
            products = [t.seed * t.local_value for t in s.terms]
            assert math.fsum(products) == pytest.approx(s.value, rel=1e-9,
                                                        abs=1e-12 * max(1.0, sum(map(abs, products))))
    assert len(d.text().splitlines()) == 2 + len(g.program) + len(g.nodes)


def test_derivation_of_a_derivative():
    """The gradient graph is a graph like any other: its derivation is f''(2)."""
    gg = sg.parse(LECTURE).gradient_graph()
    d = sg.derive(gg, x=2.0)
    assert d.outputs == ("df_dx",)
    fwd = {s.node: s.value for s in d.forward}
    assert fwd["df_dx"] == pytest.approx(-182.8698, abs=1e-4)
    last = d.text(indent="").splitlines()[-1]
    assert last.startswith("∂df_dx/∂x = ∂df_dx/∂n * ∂n/∂x + ∂df_dx/∂a * ∂a/∂x = ")
    assert last.endswith("= 21944")
    step = next(s for s in d.backward if s.node == "x")
    assert step.value == pytest.approx(21943.9018, abs=1e-3)
    # forward over the gradient graph gives the same second derivative
    fwd_mode = sg.derive(gg, x=2.0, mode="forward", wrt="x")
    assert fwd_mode.tangents[-1].node == "df_dx"
    assert fwd_mode.tangents[-1].value == pytest.approx(step.value, rel=1e-12)
