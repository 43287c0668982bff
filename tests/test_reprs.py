"""Notebook display of graphs and nets: Graph._repr_svg_/_repr_html_, Net._repr_html_."""

import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET

import pytest

import symgrad as sg
from symgrad.show import dot

SVG = "{http://www.w3.org/2000/svg}"
LECTURE = "sqrt(x**2 + exp(x**2)) + cos(x**2 + exp(x**2))"
HOSTILE = "</svg><script>alert(1)</script>"

needs_dot = pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz's dot is not installed")


def texts(root):
    return [t.text or "" for t in root.iter(f"{SVG}text")]


def clean(root):
    """No link, script or event attribute anywhere in the tree."""
    for el in root.iter():
        assert not el.tag.endswith("script") and not el.tag.endswith("}a"), el.tag
        for key, value in el.attrib.items():
            assert "href" not in key and not key.startswith("on"), (key, value)


@needs_dot
def test_graph_svg_is_the_picture_without_the_xml_prolog():
    g = sg.parse(LECTURE)
    pic = g._repr_svg_()
    assert pic.startswith("<svg") and "<?xml" not in pic and "<!DOCTYPE" not in pic
    root = ET.fromstring(pic)
    shown = texts(root)
    for name in g.nodes:                      # every node, by its name only (no values)
        assert name in shown
    assert not any(t.startswith("=") for t in shown)
    assert shown.count("exp") == 1 and shown.count("cos") == 1


@needs_dot
def test_graph_html_is_the_summary_and_the_same_picture():
    g = sg.parse(LECTURE)
    page = g._repr_html_()
    root = ET.fromstring(page)                # the whole fragment is well-formed XML
    assert "7 nodes" in "".join(root.itertext()) and "outputs f" in "".join(root.itertext())
    assert g._repr_svg_() in page


@needs_dot
def test_hostile_names_are_escaped_text_in_the_svg_and_the_html():
    g = sg.Graph({"s": ("sin", (HOSTILE,)), "f&<b>": ("mul", (HOSTILE, "s"))})
    root = ET.fromstring(g._repr_svg_())
    clean(root)
    assert HOSTILE in texts(root) and "f&<b>" in texts(root)
    html = g._repr_html_()
    assert "<script>" not in html and "</svg><script>" not in html
    root = ET.fromstring(html)
    clean(root)
    assert HOSTILE in "".join(root.itertext())


def chain(n):
    rows = {"v0": ("sin", ("x",))}
    rows.update({f"v{i}": ("sin", (f"v{i - 1}",)) for i in range(1, n)})
    return sg.Graph(rows)


def test_big_graphs_fall_back_to_text():
    g = chain(6000)
    assert dot.layout_seconds(g) > dot.NOTEBOOK_SECONDS
    assert g._repr_svg_() is None             # the notebook shows the text repr instead
    html = g._repr_html_()
    assert "<svg" not in html and "6,001 nodes" in html and "No picture" in html
    assert "s to lay it out" in html
    ET.fromstring(html)


def test_big_graph_summary_escapes_names():
    rows = {"v0": ("sin", (HOSTILE,))}
    rows.update({f"v{i}": ("sin", (f"v{i - 1}",)) for i in range(1, 6000)})
    html = sg.Graph(rows)._repr_html_()
    assert "<svg" not in html and "<script>" not in html
    root = ET.fromstring(html)
    clean(root)
    assert f"inputs {HOSTILE}" in "".join(root.itertext())      # shown, as text


def test_without_graphviz_the_notebook_shows_text(monkeypatch):
    monkeypatch.setattr(dot.shutil, "which", lambda name: None)
    g = sg.parse("x*y")
    assert g._repr_svg_() is None
    html = g._repr_html_()
    assert "<svg" not in html and "not installed" in html
    net = sg.mlp([2, 2, 1])
    assert "not installed" in net._repr_html_() and "<svg" not in net._repr_html_()


@needs_dot
def test_net_html_is_the_lecture_picture_with_its_architecture():
    net = sg.mlp([2, 3, 1], activation="relu", loss="cross_entropy", seed=0)
    html = net._repr_html_()
    root = ET.fromstring(html)
    words = "".join(root.itertext())
    assert "MLP [2, 3, 1]" in words and "relu, identity" in words and "cross_entropy" in words
    assert "13 weights" in words
    shown = texts(root)
    for w in net.weight_names:                # the lecture view: each weight labels its edge
        assert w in shown
    assert "relu" in shown and "1" in shown     # activations in the neurons, the bias node


def test_big_nets_fall_back_to_text():
    net = sg.mlp([30, 30, 1], seed=0)
    assert len(net.weight_names) > dot.MAX_NOTEBOOK_WEIGHTS
    html = net._repr_html_()
    assert "<svg" not in html and "MLP [30, 30, 1]" in html and "No picture" in html


def test_reprs_reject_other_objects():
    with pytest.raises(TypeError, match="Graph or Net"):
        dot.svg("x**2")
    with pytest.raises(TypeError, match="Graph or Net"):
        dot.notebook_html(3)


def test_import_stays_light():
    code = ("import sys, symgrad as sg; g = sg.parse('x*y'); repr(g); "
            "print(sorted(m for m in ('sympy', 'matplotlib', 'graphviz', 'symgrad.show.dot') "
            "if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
