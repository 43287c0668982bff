"""Graphviz pictures (symgrad.show.dot)."""

import xml.etree.ElementTree as ET

import pytest

import symgrad as sg
from corpus import random_program
from symgrad.show.dot import dot_source, op_symbol
from symgrad.errors import InputError, SymgradError
from symgrad.core.ops import OPS
from symgrad.show.printer import format_number

LECTURE = "sqrt(x**2 + exp(x**2)) + cos(x**2 + exp(x**2))"
sg.parse(LECTURE)   # warm up the parser's lazy imports before conftest's exec tripwire is set
def needs_dot(test):
    """Graphviz is a test requirement (.ci/run installs it): a missing dot fails."""
    return test
SVG = "{http://www.w3.org/2000/svg}"


def svg_texts(path):
    root = ET.parse(path).getroot()
    assert root.tag == f"{SVG}svg"
    return [t.text for t in root.iter(f"{SVG}text")]


def test_source_of_the_lecture():
    src = sg.draw(sg.parse(LECTURE))
    assert "rankdir=LR" in src
    assert src.count("#9ecae1") == 6 and src.count("#fdd0a2") == 7    # operations, values
    assert "58.598" not in src


def test_source_with_a_point_shows_values_and_adjoints():
    src = sg.draw(sg.parse(LECTURE), x=2.0)
    for s in ("58.598", "-0.82228", "-182.87", "∂f/∂c"):
        assert s in src


@pytest.mark.parametrize("op, want", [("add", "+"), ("mul", "×"), ("pow", "^"), ("neg", "−"),
                                      ("exp", "exp"), ("sum", "+"), ("logsumexp", "logsumexp"),
                                      ("leaky_relu", "leaky_relu"), ("identity", "identity")])
def test_op_symbols(op, want):
    assert op_symbol(OPS[op]) == want


@needs_dot
def test_lecture_svg(tmp_path):
    path = tmp_path / "lecture.svg"
    src = sg.draw(sg.parse(LECTURE), x=2.0, path=path)
    assert src.startswith("digraph")
    texts = svg_texts(path)
    assert "exp" in texts and "sqrt" in texts and "= 58.598" in texts


@needs_dot
def test_mlp_svg_in_layers(tmp_path):
    mlp = sg.mlp
    net = mlp([2, 2, 1], activation="tanh", loss="squared", seed=0)
    src = dot_source(net.graph, net.feed([1.0, 2.0], [0.5]))
    assert src.count("rank=same") >= 5
    path = tmp_path / "mlp.svg"
    sg.draw(net.graph, net.feed([1.0, 2.0], [0.5]), path=path)
    texts = svg_texts(path)
    assert "w1_0_1" in texts and "yhat1" in texts and "loss" in texts


@needs_dot
@pytest.mark.parametrize("fmt, magic", [("png", b"\x89PNG"), ("pdf", b"%PDF"), ("dot", b"digraph")])
def test_other_formats(tmp_path, fmt, magic):
    path = tmp_path / f"g.{fmt}"
    sg.draw(sg.parse("x*y + sin(x)"), path=path, format=fmt)
    assert path.read_bytes().startswith(magic)


def test_errors(tmp_path, monkeypatch):
    g = sg.parse(LECTURE)
    with pytest.raises(InputError, match="format 'jpeg'"):
        sg.draw(g, format="jpeg")
    with pytest.raises(InputError, match="scalar"):
        sg.draw(g, x=[1.0, 2.0])
    import symgrad.show.dot as dot
    monkeypatch.setattr(dot.shutil, "which", lambda exe: None)
    with pytest.raises(SymgradError, match="'dot' program was not found"):
        sg.draw(g, path=tmp_path / "g.svg")
    sg.draw(g, path=tmp_path / "g.dot", format="dot")          # the source needs no Graphviz


def test_dense_layouts_are_refused_quickly(tmp_path):
    """Issue 11 item 11: 450 random rows took 358 s in dot; now a clear error at once."""
    import time
    from symgrad.show.dot import layout_seconds
    g = sg.parse(random_program(450))
    t = time.perf_counter()
    with pytest.raises(SymgradError, match=r"Graphviz would need about \d+ s to lay out this graph"):
        sg.draw(g, path=tmp_path / "g.svg")
    assert time.perf_counter() - t < 5 and not (tmp_path / "g.svg").exists()
    assert layout_seconds(g) > 20 and layout_seconds(sg.parse(LECTURE)) < 0.1
    assert sg.draw(g).startswith("digraph")                    # the source is still there


@needs_dot
def test_dot_timeout_is_a_clear_error(tmp_path):
    g = sg.parse(random_program(120))
    with pytest.raises(SymgradError, match=r"within timeout=0.01 s|more than timeout=0.01 s"):
        sg.draw(g, path=tmp_path / "g.svg", timeout=0.01)
    from symgrad.show.dot import render
    with pytest.raises(SymgradError, match="did not finish laying out the graph within timeout=0.001 s"):
        render(dot_source(g), "svg", timeout=0.001)
    with pytest.raises(InputError, match="timeout must be a positive number"):
        sg.draw(g, timeout=0)


@needs_dot
@pytest.mark.parametrize("suffix, magic", [("png", b"\x89PNG"), ("pdf", b"%PDF"), ("svg", b"<?xml"),
                                           ("dot", b"digraph"), ("gv", b"digraph")])
def test_format_from_the_suffix(tmp_path, suffix, magic):
    """Issue 11: sg.draw(g, path="g.png") wrote SVG bytes into the .png."""
    path = tmp_path / f"g.{suffix}"
    sg.draw(sg.parse("x*y"), path=path)
    assert path.read_bytes().startswith(magic)


def test_unknown_suffix_is_an_error(tmp_path):
    with pytest.raises(InputError, match=r"cannot tell the picture format from the path .*g\.jpg"):
        sg.draw(sg.parse("x*y"), path=tmp_path / "g.jpg")
    sg.draw(sg.parse("x*y"), path=tmp_path / "g.jpg", format="dot")     # an explicit format wins
    assert (tmp_path / "g.jpg").read_bytes().startswith(b"digraph")


def _node_x(path):
    """``{label's first line: x of its text}`` of an SVG picture by dot."""
    root = ET.parse(path).getroot()
    xs = {}
    for g in root.iter(f"{SVG}g"):
        if g.get("class") == "node":
            texts = [t for t in g.iter(f"{SVG}text")]
            if texts:
                xs.setdefault(texts[0].text, float(texts[0].get("x")))
    return xs


@needs_dot
@pytest.mark.parametrize("point", [False, True])
def test_net_drawn_as_the_lecture(tmp_path, point):
    net = sg.mlp([2, 3, 2, 1], activation="tanh", seed=0)
    at = (net.feed([1.0, 0.5], [1.0]),) if point else ()
    path = tmp_path / "net.svg"
    src = sg.draw(net, *at, path=path)
    assert src == sg.draw(net.graph, *at, view="lecture")
    xs = _node_x(path)                       # parses as XML; layers from left to right
    layers = [["x1", "x2"], ["h1_1", "h1_2", "h1_3"], ["h2_1", "h2_2"], ["yhat1"], ["loss"]]
    for left, right in zip(layers, layers[1:]):
        assert max(xs[n] for n in left) < min(xs[n] for n in right), (left, right)
    assert len({xs[n] for n in layers[1]}) == 1          # one rank per layer
    texts = svg_texts(path)
    assert "tanh" in texts and "identity" in texts and texts.count("1") == 3   # a bias node per layer
    weights = [t for t in texts if t.startswith("w")]
    assert len(weights) == len(net.weights)                  # every weight labels its edge
    assert not any('[label="w' in line for line in src.splitlines())      # and is no node
    if point:
        assert f"w1_2_1 = {format_number(net.weights['w1_2_1'], 5)}" in texts
        assert "= 1" in texts and any(t.startswith("∂loss/∂h2_1 = ") for t in texts)
    else:
        assert "w1_2_1" in weights and "=" not in "".join(weights)


@needs_dot
def test_full_view_of_a_net_has_the_weights_as_inputs(tmp_path):
    net = sg.mlp([2, 2, 1], seed=0)
    path = tmp_path / "full.svg"
    src = sg.draw(net, view="full", path=path)
    assert src == dot_source(net.graph)
    xs = _node_x(path)
    assert xs["x1"] < xs["a1_1"] < xs["h1_1"] < xs["yhat1"] < xs["loss"]
    assert xs["w1_1_1"] < xs["a1_1"] and xs["w1_1_1"] == xs["w1_2_2"]      # a layer's weights: one rank
    assert svg_texts(path).count("Σ ×") == 3                                 # one weighted sum per neuron


def test_lecture_view_needs_an_mlp():
    with pytest.raises(InputError, match="view='lecture'.*not one"):
        sg.draw(sg.parse(LECTURE), view="lecture")
    with pytest.raises(InputError, match="unknown view 'slides'"):
        sg.draw(sg.mlp([1, 1], seed=0), view="slides")
    with pytest.raises(TypeError, match="Graph .* or a Net"):
        sg.draw("x**2")
