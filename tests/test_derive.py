"""Derivation steps (symgrad.show.derive) and their text/Markdown printing."""

import math
import time

import pytest
import sympy as sp
from hypothesis import given, settings, strategies as st

import symgrad as sg
from corpus import doubling_program
from symgrad.show.derive import BackwardStep, Derivation, ForwardStep, mlp_quantities
from symgrad.errors import GraphError, InputError
from symgrad.strategies import graphs, points
from symgrad.show.text import MarkdownPrinter, TextPrinter

LECTURE = "sqrt(x**2 + exp(x**2)) + cos(x**2 + exp(x**2))"
sg.parse(LECTURE)   # warm up the parser's lazy imports before conftest's exec tripwire is set


@pytest.fixture(scope="module")
def lecture():
    return sg.parse(LECTURE)


@pytest.fixture(scope="module")
def lecture_text(lecture):
    return sg.derive(lecture, x=2.0).text()


def line_of(text, start):
    hits = [ln.strip() for ln in text.splitlines() if ln.strip().startswith(start)]
    assert len(hits) == 1, (start, text)
    return hits[0]


@pytest.mark.parametrize("number", ["= 4", "54.598", "58.598", "7.6549", "-0.46", "7.194",
                                    "= 1", "-0.822", "-45.717", "-182.87"])
def test_lecture_text_has_every_design_number(lecture_text, number):
    assert number in lecture_text


def test_lecture_forward_lines(lecture_text):
    assert line_of(lecture_text, "c =") == "c = a + b = 58.598"
    assert line_of(lecture_text, "b =") == "b = exp(a) = 54.598"
    assert line_of(lecture_text, "a =") == "a = x**2 = 4"


def test_lecture_two_consumer_sums(lecture_text):
    c = line_of(lecture_text, "∂f/∂c =")
    assert c == ("∂f/∂c = ∂f/∂e * ∂e/∂c + ∂f/∂d * ∂d/∂c = 1 * (-sin(c)) + 1 * 1/(2*sqrt(c))"
                 " = -0.82228")
    a = line_of(lecture_text, "∂f/∂a =")
    assert a == ("∂f/∂a = ∂f/∂c * ∂c/∂a + ∂f/∂b * ∂b/∂a = -0.82228 * 1 - 0.82228 * exp(a)"
                 " = -45.717")
    assert line_of(lecture_text, "∂f/∂x =") == "∂f/∂x = ∂f/∂a * ∂a/∂x = -45.717 * 2*x = -182.87"
    assert line_of(lecture_text, "∂f/∂f =") == "∂f/∂f = 1"


def test_lecture_steps_are_structured(lecture):
    d = sg.derive(lecture, x=2.0)
    assert isinstance(d, Derivation)
    assert [s.node for s in d.forward] == ["a", "b", "c", "d", "e", "f"]
    assert all(isinstance(s, ForwardStep) for s in d.forward)
    assert [s.node for s in d.backward] == ["f", "e", "d", "c", "b", "a", "x"]
    assert all(isinstance(s, BackwardStep) for s in d.backward)
    bw = lecture.backward(x=2.0)
    for s in d.backward:
        assert s.value == pytest.approx(bw[s.node], rel=1e-12)
    c = d.backward[3]
    assert [t.consumer for t in c.terms] == ["e", "d"]
    assert c.terms[0].local == -sp.sin(sp.Symbol("c"))
    assert d.point == {"x": 2.0}


def test_terms_sum_to_the_adjoint(lecture):
    d = sg.derive(lecture, x=2.0)
    fw = lecture.forward(x=2.0)
    for s in d.backward:
        if s.terms:
            total = sum(t.seed * float(t.local.subs({sp.Symbol(n): fw[n] for n in lecture.nodes}))
                        for t in s.terms)
            assert total == pytest.approx(s.value, rel=1e-9)


def test_digits(lecture):
    text = sg.derive(lecture, x=2.0, digits=3).text()
    assert "c = a + b = 58.6" in text and "-183" in text
    assert "58.598" in sg.derive(lecture, x=2.0).text(digits=5)


def test_symbolic_mode_has_no_numbers(lecture):
    d = sg.derive(lecture, x=2.0, symbolic=True)
    assert d.symbolic and all(s.value is None for s in d.forward + d.backward)
    c = next(s for s in d.backward if s.node == "c")
    cs = [s for s in c.expr.free_symbols]
    assert sp.simplify(c.expr.subs({s: sp.Symbol("c") for s in cs})
                       - (-sp.sin(sp.Symbol("c")) + 1 / (2 * sp.sqrt(sp.Symbol("c"))))) == 0
    text = d.text()
    assert "58.598" not in text and "c = a + b" in text
    assert "= -sin(c) + 1/(2*sqrt(c))" in text


def test_symbolic_adjoints_match_numbers(lecture):
    d = sg.derive(lecture, symbolic=True)
    fw, bw = lecture.forward(x=2.0), lecture.backward(x=2.0)
    for s in d.backward:
        v = float(s.expr.subs({sym: fw[sym.name] for sym in s.expr.free_symbols}))
        assert v == pytest.approx(bw[s.node], rel=1e-9)


def test_no_point_means_symbolic(lecture):
    assert sg.derive(lecture).symbolic


def test_repeated_argument_is_one_term():
    g = sg.parse("f = x*x")
    (fx,) = [s for s in sg.derive(g, x=3.0).backward if s.node == "x"]
    assert len(fx.terms) == 1 and fx.terms[0].local == 2 * sp.Symbol("x")
    assert fx.value == 6.0


def test_outputs_and_nodes_options():
    g = sg.parse("a = x*y\nf = sin(a)\ng = a + y", outputs=["f", "g"])
    d = sg.derive(g, x=1.0, y=2.0)
    assert d.outputs == ("f", "g")
    assert {s.output for s in d.backward} == {"f", "g"}
    text = d.text()
    assert "Backward pass: adjoints ∂f/∂node" in text and "∂g/∂y" in text
    d = sg.derive(g, x=1.0, y=2.0, outputs=["g"], nodes=["a", "y"])
    assert [s.node for s in d.forward] == ["a"]
    assert [(s.output, s.node) for s in d.backward] == [("g", "a"), ("g", "y")]
    y = d.backward[1]
    assert y.value == pytest.approx(2.0)           # 1 (direct) + x * 1 (through a)


def test_errors(lecture):
    with pytest.raises(InputError, match="digits"):
        sg.derive(lecture, x=2.0, digits=0)
    with pytest.raises(InputError, match="scalar"):
        sg.derive(lecture, x=[1.0, 2.0])
    with pytest.raises(InputError, match="unknown input"):
        sg.derive(lecture, {"y": 1.0})
    with pytest.raises(GraphError, match="'zz'"):
        sg.derive(lecture, x=2.0, nodes=["zz"])
    with pytest.raises(GraphError, match="'zz'"):
        sg.derive(lecture, x=2.0, outputs=["zz"])
    with pytest.raises(InputError, match="unknown TextPrinter setting.*'colour'"):
        sg.derive(lecture, x=2.0).text(colour=True)


def test_markdown_and_repr(lecture):
    d = sg.derive(lecture, x=2.0)
    md = d.markdown()
    assert md.startswith("**Forward pass at x = 2**") and "```text" in md
    assert d._repr_markdown_() == md
    assert d._repr_latex_().startswith("\\begin{align*}")
    assert "7 backward steps" in repr(d)
    assert str(d) == d.text()
    assert TextPrinter(headings=False, indent="").derivation(d).splitlines()[0] == "a = x**2 = 4"
    assert MarkdownPrinter(headings=False).derivation(d).startswith("```text")


def test_nonfinite_values_print():
    g = sg.parse("f = log(x)")
    text = sg.derive(g, x=0.0).text()
    assert "f = log(x) = -inf" in text and "inf" in line_of(text, "∂f/∂x")


def test_long_chain_has_no_recursion_and_is_fast():
    n = 100_000
    rows = {"v1": ("sin", ("x",))}
    for i in range(2, n + 1):
        rows[f"v{i}"] = ("sin", (f"v{i - 1}",)) if i % 2 else ("mul", (f"v{i - 1}", 1.5))
    g = sg.Graph(rows, outputs=[f"v{n}"])
    start = time.perf_counter()
    d = sg.derive(g, x=0.5)
    text = d.text()
    assert len(d.backward) == n + 1 and text.count("\n") > 2 * n
    assert time.perf_counter() - start < 60


@pytest.fixture(scope="module")
def net():
    mlp = sg.mlp
    return mlp([2, 2, 1], activation="tanh", loss="squared", seed=0)


def test_mlp_quantities(net):
    g = net.graph
    labels = mlp_quantities(g)
    assert labels["yhat1"] == ("B", 1)
    assert labels["h1_1"] == ("B", 2, 1) and labels["a1_2"] == ("B", 3, 2)
    feed = net.feed([1.0, 2.0], [0.5])
    d = sg.derive(g, feed, quantities=True)
    by = {s.node: s for s in d.backward}
    fw = g.forward(feed)
    b1 = by["yhat1"].value
    assert b1 == pytest.approx(fw["yhat1"] - 0.5)
    for i in (1, 2):
        b2 = by[f"h1_{i}"].value
        assert b2 == pytest.approx(b1 * feed[f"w2_{i}_1"])
        assert by[f"a1_{i}"].value == pytest.approx(b2 * (1 - math.tanh(fw[f"a1_{i}"]) ** 2))
    text = d.text()
    assert "B_1 = ∂loss/∂yhat1" in text
    assert "B_{3,1} = ∂loss/∂a1_1 = B_{2,1} * (1 - tanh(a1_1)**2) = " in text
    assert "0.5000000" not in text
    assert not sg.derive(g, feed).backward[4].quantity


def test_deeper_mlp_quantities_and_signs():
    mlp = sg.mlp
    net = mlp([2, 3, 3, 1], activation="relu", loss="squared", seed=0)
    labels = mlp_quantities(net.graph)
    assert labels["h2_1"] == ("B", 2, 1) and labels["a2_3"] == ("B", 3, 3)
    assert labels["h1_2"] == ("B", 4, 2) and labels["a1_1"] == ("B", 5, 1)
    text = sg.derive(net.graph, net.feed([1.0, 2.0], [0.5]), quantities=True).text()
    assert "- 0 *" not in text and "B_{5,1} = ∂loss/∂a1_1 = B_{4,1} * step(a1_1) = " in text


def test_quantities_ignore_other_graphs(lecture):
    assert mlp_quantities(lecture) == {}
    assert all(s.quantity is None for s in sg.derive(lecture, x=2.0, quantities=True).backward)


@settings(max_examples=40, deadline=None)
@given(st.data())
def test_random_graphs_agree_with_reverse_mode(data):
    g = data.draw(graphs(max_depth=3))
    at = data.draw(points(g))
    d = sg.derive(g, at)
    bw = g.backward(at)
    assert {s.node: s.value for s in d.backward} == {n: bw[n] for n in d.graph.nodes
                                                     if n in {s.node for s in d.backward}}
    assert len(d.forward) == len(g.program)
    assert d.text().count("\n") >= len(d.forward) + len(d.backward)


def test_symbolic_derivation_is_linear_in_the_program():
    """Issue 11 item 10: 16 lines took 84 s and printed 8 MB; now adjoints are written out
    only while short, and the output grows linearly with the lines."""
    import time
    from symgrad.show.derive import EXPAND_CHARS
    sizes = {}
    for n in (16, 32):
        t = time.perf_counter()
        d = sg.derive(sg.parse(doubling_program(n)), symbolic=True)
        outs = [d.text(), d.latex(), d.markdown()]
        assert time.perf_counter() - t < 5
        sizes[n] = len(outs[0])
        assert all(s.expr is None or len(str(s.expr)) <= EXPAND_CHARS for s in d.backward)
        assert max(len(line) for line in outs[0].splitlines()) < 4 * EXPAND_CHARS
    assert 1.8 < sizes[32] / sizes[16] < 2.2
    first = sg.derive(sg.parse(doubling_program(16)), symbolic=True).backward
    assert first[1].expr is not None and first[-1].expr is None      # written out near the output only
    assert first[-1].terms[0].seed is None


def test_symbolic_json_gives_chain_rule_when_not_written_out():
    from symgrad.cli.main import derivation_json
    adj = derivation_json(sg.derive(sg.parse(doubling_program(16)), symbolic=True))["adjoints"]
    assert "None" not in adj.values()
    assert adj["x"] == "∂v16/∂b * (-sin(x)) + ∂v16/∂a * cos(x)"
