"""The lecture's MLP derivation (issue 12): ``derive(net.graph, point, quantities=True)``
prints the backward pass as the slides do, in text, Markdown and LaTeX."""

import math
import subprocess

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

import symgrad as sg
from symgrad.show.derive import mlp_quantities
from symgrad.show.lecture import lecture
from symgrad.strategies import mlps, samples

WEIGHTS = {n: round(0.1 * k, 1) for k, n in enumerate(sg.mlp([2, 2, 1]).weights, 1)}   # as test_mlp


@pytest.fixture(scope="module")
def lecture_net():
    """The lecture's [2, 2, 1] network, tanh, squared loss, w = 0.1, 0.2, ..., 0.9."""
    return sg.mlp([2, 2, 1], activation="tanh", weights=WEIGHTS)


@pytest.fixture(scope="module")
def slides(lecture_net):
    return sg.derive(lecture_net.graph, lecture_net.feed([1.0, 2.0], [1.0]), quantities=True)


TEXT = """\
Forward pass at x1 = 1, x2 = 2, w1_0_1 = 0.1, w1_1_1 = 0.2, w1_2_1 = 0.3, w1_0_2 = 0.4, w1_1_2 = 0.5, w1_2_2 = 0.6, w2_0_1 = 0.7, w2_1_1 = 0.8, w2_2_1 = 0.9, y1 = 1
  a1_1 = w1_0_1 + w1_1_1*x1 + w1_2_1*x2 = 0.9
  h1_1 = tanh(a1_1) = 0.7163
  a1_2 = w1_0_2 + w1_1_2*x1 + w1_2_2*x2 = 2.1
  h1_2 = tanh(a1_2) = 0.97045
  yhat1 = w2_0_1 + w2_1_1*h1_1 + w2_2_1*h1_2 = 2.1464
  loss = squared_loss(yhat1, y1) = 0.65717
Backward pass: adjoints ∂loss/∂node as in the lecture: B_1, then B_2, B_3, ... down the layers, ∂/∂w from the top layer, ∂/∂x
  ∂loss/∂loss = 1
  B_1 = ∂loss/∂yhat1 = yhat1 - y1 = 1.1464
  B_{2,1} = ∂loss/∂h1_1 = B_1 * w2_1_1 = 1.1464 * 0.8 = 0.91716
  B_{2,2} = ∂loss/∂h1_2 = B_1 * w2_2_1 = 1.1464 * 0.9 = 1.0318
  B_{3,1} = ∂loss/∂a1_1 = B_{2,1} * (1 - tanh(a1_1)**2) = 0.91716 * 0.48692 = 0.44658
  B_{3,2} = ∂loss/∂a1_2 = B_{2,2} * (1 - tanh(a1_2)**2) = 1.0318 * 0.058223 = 0.060075
  ∂loss/∂w2_0_1 = B_1 = 1.1464
  ∂loss/∂w2_1_1 = B_1 * h1_1 = 1.1464 * 0.7163 = 0.8212
  ∂loss/∂w2_2_1 = B_1 * h1_2 = 1.1464 * 0.97045 = 1.1126
  ∂loss/∂w1_0_1 = B_{3,1} = 0.44658
  ∂loss/∂w1_1_1 = B_{3,1} * x1 = 0.44658 * 1 = 0.44658
  ∂loss/∂w1_2_1 = B_{3,1} * x2 = 0.44658 * 2 = 0.89316
  ∂loss/∂w1_0_2 = B_{3,2} = 0.060075
  ∂loss/∂w1_1_2 = B_{3,2} * x1 = 0.060075 * 1 = 0.060075
  ∂loss/∂w1_2_2 = B_{3,2} * x2 = 0.060075 * 2 = 0.12015
  ∂loss/∂x1 = B_{3,1} * w1_1_1 + B_{3,2} * w1_1_2 = 0.44658 * 0.2 + 0.060075 * 0.5 = 0.11935
  ∂loss/∂x2 = B_{3,1} * w1_2_1 + B_{3,2} * w1_2_2 = 0.44658 * 0.3 + 0.060075 * 0.6 = 0.17002
  ∂loss/∂y1 = y1 - yhat1 = -1.1464"""

LATEX_BACKWARD = r"""\frac{\partial \ell}{\partial \ell} &= 1 \\
B_{1} = \frac{\partial \ell}{\partial \hat{y}} &= \hat{y} - y = 1.1464 \\
B_{2,1} = \frac{\partial \ell}{\partial h^{1}_{1}} &= B_{1} w^{2}_{1,1} = 1.1464 \times 0.8 = 0.91716 \\
B_{2,2} = \frac{\partial \ell}{\partial h^{1}_{2}} &= B_{1} w^{2}_{2,1} = 1.1464 \times 0.9 = 1.0318 \\
B_{3,1} = \frac{\partial \ell}{\partial a^{1}_{1}} &= B_{2,1} \left(1 - \tanh\left(a^{1}_{1}\right)^{2}\right) = 0.91716 \times 0.48692 = 0.44658 \\
B_{3,2} = \frac{\partial \ell}{\partial a^{1}_{2}} &= B_{2,2} \left(1 - \tanh\left(a^{1}_{2}\right)^{2}\right) = 1.0318 \times 0.058223 = 0.060075 \\
\frac{\partial \ell}{\partial w^{2}_{0,1}} &= B_{1} = 1.1464 \\
\frac{\partial \ell}{\partial w^{2}_{1,1}} &= B_{1} h^{1}_{1} = 1.1464 \times 0.7163 = 0.8212 \\
\frac{\partial \ell}{\partial w^{2}_{2,1}} &= B_{1} h^{1}_{2} = 1.1464 \times 0.97045 = 1.1126 \\
\frac{\partial \ell}{\partial w^{1}_{0,1}} &= B_{3,1} = 0.44658 \\
\frac{\partial \ell}{\partial w^{1}_{1,1}} &= B_{3,1} x_{1} = 0.44658 \times 1 = 0.44658 \\
\frac{\partial \ell}{\partial w^{1}_{2,1}} &= B_{3,1} x_{2} = 0.44658 \times 2 = 0.89316 \\
\frac{\partial \ell}{\partial w^{1}_{0,2}} &= B_{3,2} = 0.060075 \\
\frac{\partial \ell}{\partial w^{1}_{1,2}} &= B_{3,2} x_{1} = 0.060075 \times 1 = 0.060075 \\
\frac{\partial \ell}{\partial w^{1}_{2,2}} &= B_{3,2} x_{2} = 0.060075 \times 2 = 0.12015 \\
\frac{\partial \ell}{\partial x_{1}} &= B_{3,1} w^{1}_{1,1} + B_{3,2} w^{1}_{1,2} = 0.44658 \times 0.2 + 0.060075 \times 0.5 = 0.11935 \\
\frac{\partial \ell}{\partial x_{2}} &= B_{3,1} w^{1}_{2,1} + B_{3,2} w^{1}_{2,2} = 0.44658 \times 0.3 + 0.060075 \times 0.6 = 0.17002 \\
\frac{\partial \ell}{\partial y} &= y - \hat{y} = -1.1464"""

LATEX_FORWARD = r"""a^{1}_{1} &= w^{1}_{0,1} + w^{1}_{1,1} x_{1} + w^{1}_{2,1} x_{2} = 0.9 \\
h^{1}_{1} &= \tanh\left(a^{1}_{1}\right) = 0.7163 \\
a^{1}_{2} &= w^{1}_{0,2} + w^{1}_{1,2} x_{1} + w^{1}_{2,2} x_{2} = 2.1 \\
h^{1}_{2} &= \tanh\left(a^{1}_{2}\right) = 0.97045 \\
\hat{y} &= w^{2}_{0,1} + w^{2}_{1,1} h^{1}_{1} + w^{2}_{2,1} h^{1}_{2} = 2.1464 \\
\ell &= \frac{1}{2}\left(\hat{y} - y\right)^{2} = 0.65717 \\"""


def test_the_lecture_network_text_is_pinned_line_by_line(slides):
    assert slides.text().splitlines() == TEXT.splitlines()


def test_the_lecture_network_numbers_are_the_closed_form(lecture_net, slides):
    """The pinned numbers, recomputed from the lecture's formulas by hand."""
    h1, h2 = math.tanh(0.9), math.tanh(2.1)
    yhat = 0.7 + 0.8 * h1 + 0.9 * h2
    b1 = yhat - 1.0
    b2 = [b1 * 0.8, b1 * 0.9]
    b3 = [b2[0] * (1 - h1 ** 2), b2[1] * (1 - h2 ** 2)]
    want = {"yhat1": b1, "h1_1": b2[0], "h1_2": b2[1], "a1_1": b3[0], "a1_2": b3[1],
            "w2_0_1": b1, "w2_1_1": b1 * h1, "w2_2_1": b1 * h2,
            "w1_0_1": b3[0], "w1_1_1": b3[0] * 1, "w1_2_1": b3[0] * 2,
            "w1_0_2": b3[1], "w1_1_2": b3[1] * 1, "w1_2_2": b3[1] * 2,
            "x1": b3[0] * 0.2 + b3[1] * 0.5, "x2": b3[0] * 0.3 + b3[1] * 0.6, "y1": -b1}
    got = {s.node: s.value for s in slides.backward}
    assert got.pop("loss") == 1.0
    assert got == pytest.approx(want, rel=1e-12)


def test_the_lecture_network_latex_is_pinned_line_by_line(slides):
    body = slides.latex()
    assert body.endswith(LATEX_BACKWARD)
    assert LATEX_FORWARD in body
    assert body.splitlines()[:2] == [r"x_{1} &= 1 \\", r"x_{2} &= 2 \\"]


def test_markdown_has_the_same_lines(slides):
    md = slides.markdown()
    for line in TEXT.splitlines()[8:]:
        assert line.strip() in md.splitlines()
    assert "**Backward pass: adjoints ∂loss/∂node as in the lecture" in md


def test_the_document_compiles_with_pdflatex(slides, tmp_path):
    doc = slides.document()
    assert LATEX_BACKWARD.splitlines()[4].replace(r" \\", "") in doc
    (tmp_path / "mlp.tex").write_text(doc, encoding="utf-8")
    run = subprocess.run(["pdflatex", "-interaction=nonstopmode", "-halt-on-error",
                          "-no-shell-escape", "mlp.tex"], cwd=tmp_path, capture_output=True,
                         timeout=120)
    log = run.stdout.decode("utf-8", "replace")
    assert run.returncode == 0, "\n".join(ln for ln in log.splitlines() if ln.startswith("!"))
    assert (tmp_path / "mlp.pdf").read_bytes().startswith(b"%PDF")


def test_without_quantities_the_derivation_stays_generic(lecture_net):
    d = sg.derive(lecture_net.graph, lecture_net.feed([1.0, 2.0], [1.0]))
    assert d.lecture is None and all(s.quantity is None for s in d.backward)
    text = d.text()
    assert "∂loss/∂w1_2_1 = ∂loss/∂a1_1 * ∂a1_1/∂w1_2_1 = 0.44658 * x2 = 0.89316" in text
    assert "B_" not in text
    latex = d.latex()                       # generic: the graph's names as LatexNames writes them
    assert r"\mathrm{loss}" in latex and r"\hat{y}_{1}" in latex and r"\ell" not in latex


def test_slides_only_for_the_loss_and_respect_nodes(lecture_net):
    feed = lecture_net.feed([1.0, 2.0], [1.0])
    other = sg.derive(lecture_net.graph, feed, quantities=True, outputs=["yhat1"])
    assert other.lecture is None and "B_" not in other.text()
    some = sg.derive(lecture_net.graph, feed, quantities=True, nodes=["h1_2", "w1_1_1"])
    assert [s.node for s in some.backward] == ["h1_2", "w1_1_1"]
    assert some.text().splitlines()[-1] == "  ∂loss/∂w1_1_1 = B_{3,1} * x1 = 0.44658 * 1 = 0.44658"


def test_slides_order():
    net = sg.mlp([2, 3, 3, 1], activation="tanh", seed=1)
    d = sg.derive(net.graph, net.feed([0.5, -1.0], [0.25]), quantities=True)
    order = [s.node for s in d.backward]
    assert order[:2] == ["loss", "yhat1"]
    assert order[2:14] == ["h2_1", "h2_2", "h2_3", "a2_1", "a2_2", "a2_3",
                           "h1_1", "h1_2", "h1_3", "a1_1", "a1_2", "a1_3"]
    weights = order[14:14 + len(net.weights)]
    assert [int(w[1]) for w in weights] == sorted((int(w[1]) for w in weights), reverse=True)
    assert sorted(weights) == sorted(net.weights)
    assert order[-3:] == ["x1", "x2", "y1"]


def test_deeper_net_continues_with_B4_and_B5():
    net = sg.mlp([2, 3, 3, 1], activation="tanh", seed=1)
    d = sg.derive(net.graph, net.feed([0.5, -1.0], [0.25]), quantities=True)
    assert mlp_quantities(net.graph)["h1_2"] == ("B", 4, 2)
    by = {s.node: s for s in d.backward}
    bw = net.graph.backward(net.feed([0.5, -1.0], [0.25]))
    lines = d.text(indent="").splitlines()
    b4 = next(ln for ln in lines if ln.startswith("B_{4,2} = "))
    assert b4.startswith("B_{4,2} = ∂loss/∂h1_2 = B_{3,1} * w2_2_1 + B_{3,2} * w2_2_2 + "
                         "B_{3,3} * w2_2_3 = ")
    b5 = next(ln for ln in lines if ln.startswith("B_{5,2} = "))
    assert b5.startswith("B_{5,2} = ∂loss/∂a1_2 = B_{4,2} * (1 - tanh(a1_2)**2) = ")
    w = next(ln for ln in lines if ln.startswith("∂loss/∂w1_2_3 = "))
    assert w.startswith("∂loss/∂w1_2_3 = B_{5,3} * x2 = ")
    for node in ("h1_2", "a1_2", "w1_2_3"):
        assert by[node].value == bw[node]
    want = sum(by[f"a2_{j}"].value * net.weights[f"w2_2_{j}"] for j in (1, 2, 3))
    assert by["h1_2"].value == pytest.approx(want, rel=1e-12)
    latex = d.latex()
    assert (r"B_{4,2} = \frac{\partial \ell}{\partial h^{1}_{2}} &= B_{3,1} w^{2}_{2,1} "
            r"+ B_{3,2} w^{2}_{2,2} + B_{3,3} w^{2}_{2,3} \\") in latex       # three terms per row


@pytest.mark.parametrize("k, line, tex", [
    (1, "B_1 = ∂loss/∂yhat1 = sigmoid(yhat1) - y1 = ",
     r"B_{1} = \frac{\partial \ell}{\partial \hat{y}} &= \sigma\left(\hat{y}\right) - y = "),
    (2, "B_{1,2} = ∂loss/∂yhat2 = exp(yhat2)/(exp(yhat1) + exp(yhat2)) - y2 = ",
     r"B_{1,2} = \frac{\partial \ell}{\partial \hat{y}_{2}} &= \frac{\exp\left(\hat{y}_{2}\right)}"
     r"{\exp\left(\hat{y}_{1}\right) + \exp\left(\hat{y}_{2}\right)} - y_{2} = "),
])
def test_cross_entropy_B1_is_sigmoid_or_softmax_minus_y(k, line, tex):
    net = sg.mlp([2, 2, k], activation="tanh", loss="cross_entropy", seed=3)
    y = [1.0] if k == 1 else [0.0, 1.0]
    feed = net.feed([0.5, -0.5], y)
    d = sg.derive(net.graph, feed, quantities=True)
    lines = d.text(indent="").splitlines()
    assert lines[lines.index("∂loss/∂loss = 1") + k].startswith(line)      # B_1 first
    assert tex in d.latex()
    z = np.array([d.graph.forward(feed)[f"yhat{i}"] for i in range(1, k + 1)])
    p = 1 / (1 + np.exp(-z)) if k == 1 else np.exp(z) / np.exp(z).sum()
    got = [s.value for s in d.backward if s.quantity and s.quantity[1] == 1]
    assert got == pytest.approx(list(p - np.array(y)), rel=1e-12)


def test_symbolic_slides_are_the_formulas():
    d = sg.derive(sg.mlp([2, 2, 1], activation="sigmoid", seed=0).graph, quantities=True)
    lines = d.text(indent="").splitlines()
    assert "B_{3,1} = ∂loss/∂a1_1 = B_{2,1} * sigmoid(a1_1)*(1 - sigmoid(a1_1))" in lines
    assert "∂loss/∂x2 = B_{3,1} * w1_2_1 + B_{3,2} * w1_2_2" in lines


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_every_number_is_backprop(data):
    """Random small MLPs: every value of the slides' derivation is the
    reverse-mode adjoint (the B's included), the weights' are net.backprop's
    gradient, and each line's products sum to its value."""
    net = data.draw(mlps(max_layers=2, max_width=3, losses=["squared", "cross_entropy"]))
    x, y = data.draw(samples(net))
    feed = net.feed(x, y)
    d = sg.derive(net.graph, feed, quantities=True)
    found = lecture(net.graph)
    assert d.lecture == found and [s.node for s in d.backward] == found.backward_order()
    assert len(d.backward) == len(net.graph.nodes)          # every node, once
    bw = net.graph.backward(feed)
    grad = net.backprop(x, y)
    labels = found.quantities()
    for s in d.backward:
        assert s.value == bw[s.node] or (math.isnan(s.value) and math.isnan(bw[s.node]))
        assert s.quantity == labels.get(s.node)
        if s.node in grad:
            assert s.value == pytest.approx(grad[s.node], rel=1e-9, abs=1e-12)
        if s.terms:
            total = sum(t.seed * t.local_value for t in s.terms)
            assert total == pytest.approx(s.value, rel=1e-9, abs=1e-12)
    text = d.text(indent="").splitlines()
    assert len(text) == 2 + len(d.forward) + len(d.backward)
