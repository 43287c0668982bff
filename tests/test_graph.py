"""Graph structure: naming, hash-consing, validation, the networkx view."""

import string

import networkx as nx
import pytest

import symgrad as sg
from symgrad.core.graph import auto_names, postorder

from corpus import LECTURE


def test_lecture_graph_structure():
    g = sg.parse(LECTURE)
    assert g.inputs == ("x",) and g.outputs == ("f",)
    assert g.nodes == ("x", "a", "b", "c", "d", "e", "f")
    assert [(g.op(n), g.args(n)) for n in g.nodes] == [
        (None, ()), ("pow", ("x", 2)), ("exp", ("a",)), ("add", ("a", "b")),
        ("sqrt", ("c",)), ("cos", ("c",)), ("add", ("d", "e"))]
    assert isinstance(g.args("a")[1], int) and isinstance(g.args("a")[0], str)
    assert dict(g.consumers)["c"] == (("d", 0), ("e", 0))
    assert dict(g.consumers)["a"] == (("b", 0), ("c", 0))


def test_networkx_view_is_read_only_and_edges_run_argument_to_consumer():
    g = sg.parse(LECTURE)
    d = g.nx
    assert isinstance(d, nx.DiGraph) and nx.is_directed_acyclic_graph(d)
    assert set(d.edges) == {("x", "a"), ("a", "b"), ("a", "c"), ("b", "c"), ("c", "d"),
                            ("c", "e"), ("d", "f"), ("e", "f")}
    assert d.nodes["c"]["op"] == "add"
    with pytest.raises(nx.NetworkXError):
        d.add_node("z")
    sq = sg.parse("x * x").nx
    assert sq.edges["x", "a"]["positions"] == "0,1"


def test_graph_is_immutable():
    g = sg.parse("x + 1")
    with pytest.raises(AttributeError):
        g.inputs = ("y",)
    with pytest.raises(AttributeError):
        g.foo = 1


def test_hash_consing_on_every_front_end():
    x = sg.variable("x")
    built = sg.Graph(sg.sin(x**2) + sg.cos(x**2))
    parsed = sg.parse("sin(x**2) + cos(x**2)")
    assert len(built.nodes) == len(parsed.nodes) == 5
    assert sg.parse("leaky_relu(x) + leaky_relu(x, 0.01)").nodes == ("x", "a", "b")


def test_auto_names_skip_taken_and_switch_to_v_numbers():
    assert auto_names(3, {"a", "c"}) == ["b", "d", "e"]
    names = auto_names(28, set())
    assert names[:26] == list(string.ascii_lowercase) and names[26:] == ["v27", "v28"]
    assert auto_names(26, {"x"})[-1] == "v26"


def test_auto_names_skip_every_name_in_the_text():
    g = sg.parse("b + sin(a)")          # nodes: b, a are inputs; sin -> c, + -> d
    assert g.inputs == ("b", "a") and g.nodes[-2:] == ("c", "d")


def test_long_expression_runs_out_of_letters():
    text = " + ".join(f"sin(x{i})" for i in range(30))
    g = sg.parse(text)
    ops = [n for n in g.nodes if not g.is_input(n)]
    assert ops[:2] == ["a", "b"] and "v27" in ops


def test_row_constructor_validates():
    g = sg.Graph({"a": ("pow", ("x", 2)), "f": ("exp", ("a",))})
    assert g.inputs == ("x",) and g.outputs == ("f",) and g.nodes == ("x", "a", "f")
    unordered = sg.Graph({"f": ("exp", ("a",)), "a": ("pow", ("x", 2))}, outputs=["f"])
    assert unordered.nodes == ("x", "a", "f")
    with pytest.raises(sg.GraphError, match="cycle"):
        sg.Graph({"a": ("sin", ("b",)), "b": ("cos", ("a",))})
    with pytest.raises(sg.GraphError, match="takes 2 argument"):
        sg.Graph({"a": ("add", ("x",))})
    with pytest.raises(sg.GraphError, match="unknown op 'sine'"):
        sg.Graph({"a": ("sine", ("x",))})
    with pytest.raises(sg.GraphError, match="unknown node 'y'"):
        sg.Graph({"a": ("add", ("x", "y"))}, inputs=["x"])
    with pytest.raises(sg.GraphError, match="duplicate"):
        sg.Graph({"x": ("sin", ("x",))}, inputs=["x"])
    with pytest.raises(sg.GraphError, match="output 'g'"):
        sg.Graph({"a": ("sin", ("x",))}, outputs=["g"])
    with pytest.raises(sg.GraphError, match="neither a node name"):
        sg.Graph({"a": ("add", ("x", [1]))})


def test_unknown_node_lookup_names_it():
    g = sg.parse("x + 1")
    with pytest.raises(sg.GraphError, match="unknown node 'q'"):
        g.op("q")


def test_postorder_is_iterative_and_first_argument_first():
    n = 200_000
    args = {f"n{i}": (f"n{i-1}",) if i else () for i in range(n)}
    order = postorder([f"n{n-1}"], args.__getitem__)
    assert order[0] == "n0" and order[-1] == f"n{n-1}" and len(order) == n
    assert postorder(["f"], {"f": ("b", "a"), "a": (), "b": ()}.__getitem__) == ["b", "a", "f"]


def test_builder_rejects_non_numbers_and_bad_names():
    x = sg.variable("x")
    with pytest.raises(TypeError, match="cannot use str"):
        x + "1"
    with pytest.raises(sg.GraphError, match="variable name"):
        sg.variable("")
    with pytest.raises(TypeError, match="truth value"):
        bool(x > 0) if hasattr(x, "__gt__") and False else bool(x)


def test_builder_named_outputs_and_multiple_outputs():
    x, y = sg.variable("x"), sg.variable("y")
    g = sg.Graph({"f": x * y, "g": sg.sin(x * y)})
    assert g.outputs == ("f", "g") and g.op("g") == "sin" and g.args("g") == ("f",)
    with pytest.raises(sg.GraphError, match="pass output="):
        g.backward(x=1.0, y=2.0)
    assert g.backward(x=1.0, y=2.0, output="g")["x"] == pytest.approx(2 * __import__("math").cos(2.0))
