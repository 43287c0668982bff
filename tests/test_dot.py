"""Graphviz pictures (symgrad.dot)."""

import xml.etree.ElementTree as ET

import pytest

import symgrad as sg
from symgrad.dot import dot_source, op_symbol
from symgrad.errors import InputError, SymgradError
from symgrad.ops import OPS

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
    import symgrad.dot as dot
    monkeypatch.setattr(dot.shutil, "which", lambda exe: None)
    with pytest.raises(SymgradError, match="'dot' program was not found"):
        sg.draw(g, path=tmp_path / "g.svg")
    sg.draw(g, path=tmp_path / "g.dot", format="dot")          # the source needs no Graphviz
