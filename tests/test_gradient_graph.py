"""g.gradient_graph(): the reverse pass written as a graph of the op table's ops (issue 13)."""

import math
import struct

import numpy as np
import pytest
import sympy as sp
from hypothesis import assume, given, settings, strategies as st

import symgrad as sg
from symgrad.core.gradient_graph import derivative_graph, gradient_graph, tangent_graph
from symgrad.core.graph import is_node
from symgrad.core.ops import ATOM, NEG, OPS
from symgrad.show.printer import render_form
from symgrad.strategies import graphs, points
from symgrad.teach.prompts import program_lines

from corpus import CORPUS, LECTURE, random_program

KINKED = ("add", "sub", "mul", "div", "neg", "pow", "exp", "sin", "cos", "tanh", "sigmoid",
          "relu", "leaky_relu", "elu", "softplus", "abs", "sqrt", "log")


def bits(v: float) -> bytes:
    """The float's bits, except that every nan is one nan."""
    return b"nan" if math.isnan(v) else struct.pack("<d", v)


def same_numbers(dg, g, at):
    got = dg.forward(at)
    want = g.grad(at)
    for w, o in zip(g.inputs, dg.outputs, strict=True):
        assert bits(got[o]) == bits(want[w]) or (got[o] == want[w] == 0.0), (w, got[o], want[w])


def exact_text(g) -> str:
    """The graph as program text from the op table's text forms, literals by repr
    (lossless: the derivation printers round numbers)."""
    lines = []
    for name, op, args in g.program:
        parts = [(a, ATOM) if is_node(a) else (repr(a), NEG if a < 0 else ATOM) for a in args]
        lines.append(f"{name} = {render_form(op.text, parts)}")
    return "\n".join(lines)


def test_lecture_gradient_graph_is_reverse_mode_written_out():
    g = sg.parse(LECTURE)
    dg = g.gradient_graph()
    assert dg.inputs == ("x",) and dg.outputs == ("df_dx",)
    assert dg.forward(x=2.0)["df_dx"] == g.grad(x=2.0)["x"]            # bit for bit
    assert {op.name for _, op, _ in dg.program} <= set(OPS)
    # the forward nodes it needs keep their names; the adjoints are new nodes
    assert {"a", "b", "c", "d"} <= set(dg.nodes) and "f" not in dg.nodes
    assert len(dg.program) == 13 and len(dg.program) <= 4 * len(g.program)
    lines = program_lines(dg)
    assert lines[:3] == ["a = x**2", "b = exp(a)", "c = a + b"]
    assert lines[-1] == "df_dx = m*n"


def test_lecture_second_derivative_pinned_against_sympy():
    g = sg.parse(LECTURE)
    ddg = g.gradient_graph().gradient_graph()
    assert ddg.outputs == ("ddf_dx_dx",)
    x = sp.Symbol("x")
    exact = sp.diff(sp.sqrt(x**2 + sp.exp(x**2)) + sp.cos(x**2 + sp.exp(x**2)), x, 2).subs(x, 2)
    value = ddg.forward(x=2.0)["ddf_dx_dx"]
    assert value == pytest.approx(float(exact.evalf(30)), rel=1e-12)
    assert f"{float(exact.evalf(30)):.4f}" == "21943.9018"


@pytest.mark.parametrize("name, text, at", CORPUS, ids=[c[0] for c in CORPUS])
def test_corpus_gradient_graphs_give_grad_bit_for_bit(name, text, at):
    g = sg.parse(text)
    dg = g.gradient_graph()
    assert dg.inputs == g.inputs
    same_numbers(dg, g, at)
    batch = {k: np.array([v, v / 2 + 0.1, -v]) for k, v in at.items()}
    with np.errstate(all="ignore"):
        got, want = dg.forward(batch), g.grad(batch)
    for w, o in zip(g.inputs, dg.outputs):
        np.testing.assert_array_equal(got[o], want[w])


@settings(max_examples=60, deadline=None)
@given(st.data())
def test_random_graphs_gradient_graph_equals_grad(data):
    """Bit for bit: the gradient graph performs reverse mode's operations in the
    same order (the only folds are exact: x*1, x+0, --x; x*0 only differs where x
    is infinite, and smooth points are finite)."""
    g = data.draw(graphs(ops=KINKED, max_depth=4))
    at = data.draw(points(g))
    same_numbers(g.gradient_graph(), g, at)


@settings(max_examples=30, deadline=None)
@given(st.data())
def test_random_graphs_at_kinks_keep_the_conventions(data):
    """At a kink (an input exactly 0, where relu, abs, ... of it sit on their kink)
    the gradient graph follows reverse mode's conventions: the same numbers."""
    g = data.draw(graphs(ops=("add", "mul", "sub", "relu", "abs", "leaky_relu", "elu", "sin"),
                         max_depth=3))
    at = {x: data.draw(st.sampled_from([0.0, -0.0, 0.5, -1.5])) for x in g.inputs}
    with np.errstate(all="ignore"):
        same_numbers(g.gradient_graph(), g, at)


def test_relu_and_abs_at_zero_give_zero():
    for text in ("relu(x)", "abs(x)", "relu(x) * x"):
        dg = sg.parse(text).gradient_graph()
        assert dg.forward(x=0.0)[dg.outputs[0]] == 0.0
    dg = sg.parse("leaky_relu(x, slope=0.2)").gradient_graph()
    assert dg.forward(x=0.0)[dg.outputs[0]] == 0.2
    assert [op.name for _, op, _ in sg.parse("relu(x)").gradient_graph().program] == ["step"]
    assert [op.name for _, op, _ in sg.parse("abs(x)").gradient_graph().program] == ["sign"]


@settings(max_examples=25, deadline=None)
@given(st.data())
def test_gradient_graph_text_parses_back(data):
    """The gradient graph printed with the op forms parses back to the same nodes
    (the derivatives' ops are functions of the grammar).  A constant derivative
    (``x + x``: ``identity(2)``) has no text: the grammar refuses constant assignments."""
    g = data.draw(graphs(ops=KINKED, max_depth=3, variables=("x",)))
    at = data.draw(points(g))
    dg = g.gradient_graph()
    assume(any(map(is_node, dg.args(dg.outputs[0]))))
    back = sg.parse(exact_text(dg))
    got, want = back.forward(at), dg.forward(at)
    for n in back.nodes:
        assert bits(got[n]) == bits(want[n]), n


def test_names_are_suffixed_when_taken_and_literal_derivatives_are_identity_nodes():
    g = sg.Graph({"df_dx": ("mul", ("x", 3)), "f": ("add", ("df_dx", "y"))}, outputs=["f"],
                 inputs=["x", "y", "z"])
    dg = g.gradient_graph()
    assert dg.outputs == ("df_dx_2", "df_dy", "df_dz")
    assert dg.forward(x=1.0, y=2.0, z=3.0) == {"x": 1.0, "y": 2.0, "z": 3.0, "df_dx_2": 3.0,
                                               "df_dy": 1.0, "df_dz": 0.0}
    assert dg.op("df_dz") == "identity" and dg.args("df_dz") == (0,)
    batch = dg.forward(x=np.ones(3), y=2.0, z=0.0)
    np.testing.assert_array_equal(batch["df_dy"], np.ones(3))
    assert g.gradient_graph(wrt="y", output="df_dx").outputs == ("ddf_dx_dy",)


def test_wrt_and_output_errors_name_the_problem():
    g = sg.parse("x * y")
    with pytest.raises(sg.GraphError, match="'q'.*not an input"):
        g.gradient_graph(wrt="q")
    with pytest.raises(sg.GraphError, match="not an input"):
        g.gradient_graph(wrt=[g.outputs[0]])
    with pytest.raises(sg.GraphError, match="unknown node 'nope'"):
        g.gradient_graph(output="nope")
    with pytest.raises(sg.GraphError, match="twice"):
        g.gradient_graph(wrt=["x", "x"])
    two = sg.Graph({"u": sg.variable("x") * 2, "v": sg.variable("x") + 1})
    with pytest.raises(sg.GraphError, match="pass output="):
        two.gradient_graph()
    with pytest.raises(sg.GraphError, match="needs a symgrad Graph"):
        gradient_graph("x*y")


def test_multi_output_derivative_graph_is_the_jacobian_as_a_graph():
    x, y = sg.variable("x"), sg.variable("y")
    g = sg.Graph({"u": x * y, "v": sg.sin(x) + y})
    jg = derivative_graph(g)
    assert jg.outputs == ("du_dx", "du_dy", "dv_dx", "dv_dy")
    vals = jg.forward(x=0.5, y=2.0)
    np.testing.assert_allclose([[vals["du_dx"], vals["du_dy"]], [vals["dv_dx"], vals["dv_dy"]]],
                               g.jacobian(x=0.5, y=2.0), rtol=1e-15)


def test_wsum_and_losses_have_gradient_graphs():
    for loss in ("squared", "cross_entropy"):
        net = sg.mlp([2, 3, 2], activation="tanh", loss=loss)
        g = net.graph
        rng = np.random.default_rng(1)
        at = {k: float(rng.normal()) for k in g.inputs}
        if loss == "cross_entropy":
            at.update({y: float(i == 0) for i, y in enumerate(n for n in g.inputs if n.startswith("y"))})
        same_numbers(g.gradient_graph(), g, at)


def test_size_is_linear_and_building_is_iterative():
    """A 10,000-node chain (deeper than the recursion limit): the gradient graph
    has at most 4x the operations (3x here: the forward node, its partial, the product)."""
    g = sg.parse("\n".join(["v1 = sin(x)"] + [f"v{i} = sin(v{i - 1})" for i in range(2, 10_001)]))
    dg = g.gradient_graph()
    assert len(dg.program) <= 4 * len(g.program)
    assert dg.forward(x=0.3)[dg.outputs[0]] == g.grad(x=0.3)["x"]


def test_random_program_sizes_stay_within_four_times():
    for seed in range(5):
        g = sg.parse(random_program(60, seed))
        assert len(g.gradient_graph().program) <= 4 * len(g.program)


def test_tangent_graph_is_forward_mode_written_out():
    g = sg.parse(LECTURE)
    tg = tangent_graph(g)
    assert tg.inputs == ("x", "dot_x") and tg.outputs == ("tf",)
    assert tg.forward(x=2.0, dot_x=1.0)["tf"] == pytest.approx(g.grad(x=2.0)["x"], rel=1e-14)
    g2 = sg.parse("x * sin(y)")
    tg2 = tangent_graph(g2, {"x": "u", "y": "v"})
    value = tg2.forward(x=0.4, y=1.1, u=0.3, v=-2.0)[tg2.outputs[0]]
    grad = g2.grad(x=0.4, y=1.1)
    assert value == pytest.approx(0.3 * grad["x"] - 2.0 * grad["y"], rel=1e-14)
    with pytest.raises(sg.GraphError, match="taken"):
        tangent_graph(g2, {"x": "y"})
