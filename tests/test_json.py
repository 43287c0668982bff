"""Graph files: to_json / Graph.from_json round trips, literal encoding, hostile
input, the JSON Schema in docs/, and networkx's GraphML / GEXF writers (issue 14)."""

import io
import json
import math
import pathlib
import pickle

import networkx as nx
import pytest
from hypothesis import given, settings

import symgrad as sg
from corpus import CORPUS, LECTURE, random_program
from symgrad.errors import GraphError
from symgrad.strategies import graphs

SCHEMA = pathlib.Path(__file__).resolve().parent.parent / "docs" / "graph.schema.json"


def doc(nodes, inputs=("x",), outputs=("f",), **over):
    d = {"format": "symgrad-graph", "version": 1, "inputs": list(inputs), "nodes": nodes,
         "outputs": list(outputs)}
    d.update(over)
    return d


@pytest.mark.parametrize("name, text, at", CORPUS, ids=[c[0] for c in CORPUS])
def test_round_trip_corpus(name, text, at):
    g = sg.parse(text)
    h = sg.Graph.from_json(g.to_json())
    assert h == g and h.nodes == g.nodes and h.inputs == g.inputs and h.outputs == g.outputs
    assert h.grad(at) == g.grad(at)
    assert sg.Graph.from_json(g.to_json(indent=2).encode()) == g        # bytes too


@settings(max_examples=50)
@given(graphs(variables=("x", "y", "z"), max_depth=4))
def test_round_trip_random_graphs(g):
    """The node order read back is the post-order of the file's nodes (an input
    placed before its first use), which may differ from the parser's creation
    order; == compares structure, not order."""
    h = sg.Graph.from_json(g.to_json())
    assert h == g and hash(h) == hash(g) and set(h.nodes) == set(g.nodes)
    assert h.to_json() == g.to_json()


def test_literals_keep_type_and_bits():
    rows = {"a": ("pow", ("x", 2)), "b": ("pow", ("x", 2.0)), "c": ("mul", ("x", -0.0)),
            "d": ("mul", ("x", 0.0)), "e": ("add", ("x", math.nan)), "f": ("add", ("x", -math.inf)),
            "g": ("mul", ("x", 1e-300)), "h": ("sum", ("a", "b", "c", "d", "e", "f", "g"))}
    g = sg.Graph(rows, outputs=["h"])
    text = g.to_json()
    assert '"args": ["x", 2]' in text and '"args": ["x", 2.0]' in text and '["x", -0.0]' in text
    assert '{"float": "nan"}' in text and '{"float": "-inf"}' in text and "NaN" not in text
    h = sg.Graph.from_json(text)
    assert h == g
    assert type(h.args("a")[1]) is int and type(h.args("b")[1]) is float
    assert math.copysign(1, h.args("c")[1]) == -1 and math.isnan(h.args("e")[1])
    json.loads(text, parse_constant=lambda c: pytest.fail(f"non-standard JSON {c}"))


def test_equality_is_structure():
    assert sg.parse("x*0.0") != sg.parse("x*-0.0") and sg.parse("x**2") != sg.parse("x**2.0")
    assert sg.parse("x + y") != sg.parse("y + x")            # inputs in another order
    assert sg.parse("a = sin(x)\nf = a*a") != sg.parse("b = sin(x)\nf = b*b")   # names count
    nan1 = sg.Graph({"f": ("add", ("x", math.nan))})
    assert nan1 == sg.Graph({"f": ("add", ("x", float("nan")))}) and nan1 != sg.parse("x + 1")
    assert len({sg.parse(LECTURE), sg.parse(LECTURE), sg.parse("sin(x)")}) == 2
    assert sg.parse(LECTURE) != "f"


def test_unicode_and_markup_names_round_trip():
    rows = {"<b>&amp;</b>": ("sin", ("Ω",)), "}\"{": ("mul", ("<b>&amp;</b>", "Ω"))}
    g = sg.Graph(rows, outputs=['}"{'])
    assert sg.Graph.from_json(g.to_json()) == g


HOSTILE = [
    ("not json", "{nope", "not valid JSON: Expecting property name"),
    ("NaN token", '{"a": NaN}', "NaN is not JSON"),
    ("a list", "[1, 2]", "the top level must be an object"),
    ("no format", json.dumps({"version": 1}), "format: must be 'symgrad-graph'"),
    ("newer", json.dumps(doc([], version=2)), "format version 2, written by a newer symgrad"),
    ("bool version", json.dumps(doc([], version=True)), "version: must be a positive integer"),
    ("extra key", json.dumps(doc([{"name": "f", "op": "sin", "args": ["x"]}], extra=1)),
     "unknown key(s) ['extra']"),
    ("inputs not list", json.dumps({**doc([]), "inputs": "x"}), "inputs: must be a list"),
    ("input not str", json.dumps({**doc([]), "inputs": [1]}), "inputs[0]: must be a node name"),
    ("no outputs", json.dumps(doc([{"name": "f", "op": "sin", "args": ["x"]}], outputs=[])),
     "at least one output"),
    ("node not object", json.dumps(doc([["f", "sin", ["x"]]])), "nodes[0]: each node is an object"),
    ("unknown op", json.dumps(doc([{"name": "f", "op": "eval", "args": ["x"]}])),
     "nodes[0].op: unknown op 'eval'"),
    ("arity", json.dumps(doc([{"name": "f", "op": "sin", "args": ["x", "x"]}])),
     "op 'sin' takes 1 argument(s), got 2"),
    ("pair arity", json.dumps(doc([{"name": "f", "op": "wsum", "args": ["x"]}])), "takes pairs"),
    ("bool arg", json.dumps(doc([{"name": "f", "op": "sin", "args": [True]}])),
     "nodes[0].args[0]: an argument is a node name"),
    ("object arg", json.dumps(doc([{"name": "f", "op": "sin", "args": [{"float": "big"}]}])),
     "nodes[0].args[0]"),
    ("name not str", json.dumps(doc([{"name": 3, "op": "sin", "args": ["x"]}])), "nodes[0].name"),
    ("duplicate", json.dumps(doc([{"name": "f", "op": "sin", "args": ["x"]},
                                  {"name": "f", "op": "cos", "args": ["x"]}])),
     "nodes[1].name: duplicate node name 'f'"),
    ("input and node", json.dumps(doc([{"name": "x", "op": "sin", "args": ["x"]}])),
     "both an input and an operation node"),
    ("unknown node", json.dumps(doc([{"name": "f", "op": "sin", "args": ["q"]}])),
     "unknown node 'q'"),
    ("unknown output", json.dumps(doc([{"name": "f", "op": "sin", "args": ["x"]}], outputs=["g"])),
     "outputs: unknown node 'g'"),
    ("cycle", json.dumps(doc([{"name": "a", "op": "sin", "args": ["b"]},
                              {"name": "b", "op": "cos", "args": ["a"]}], outputs=["b"])),
     "cycle"),
    ("control char", json.dumps(doc([{"name": "f\u0007", "op": "sin", "args": ["x"]}], outputs=["f\u0007"])),
     "printable"),
    ("not NFKC", json.dumps(doc([{"name": "\ufb01", "op": "sin", "args": ["x"]}], outputs=["\ufb01"])),
     "not in NFKC form"),
    ("deep", "[" * 200_000 + "]" * 200_000, "nested too deeply"),
    ("bad utf8", b'{"format": "\xff"}', "not UTF-8"),
]


@pytest.mark.parametrize("name, text, message", HOSTILE, ids=[h[0] for h in HOSTILE])
def test_hostile_json_is_a_clear_graph_error(name, text, message):
    with pytest.raises(GraphError) as err:
        sg.Graph.from_json(text)
    assert message in str(err.value)
    assert str(err.value).startswith("symgrad-graph JSON")


def test_limits_refuse_before_building():
    g = sg.parse(random_program(50))
    text = g.to_json()
    with pytest.raises(GraphError, match="more than max_length=100"):
        sg.Graph.from_json(text, max_length=100)
    with pytest.raises(GraphError, match="more than max_nodes=10"):
        sg.Graph.from_json(text, max_nodes=10)
    huge = json.dumps(doc([{"name": "f", "op": "sum", "args": ["x"] * 1_000_000}]))
    with pytest.raises(GraphError, match="max_length"):
        sg.Graph.from_json(huge, max_length=1_000_000)
    with pytest.raises(GraphError, match="str or bytes"):
        sg.Graph.from_json(12)


def test_big_graph_round_trips():
    """10^5 nodes through JSON and pickle (benchmarks/export_bench.py times them)."""
    g = sg.parse(random_program(40_000))
    assert len(g) > 99_000
    h = sg.Graph.from_json(g.to_json())
    assert h == g and h.nodes == g.nodes
    p = pickle.loads(pickle.dumps(g, protocol=pickle.HIGHEST_PROTOCOL))
    assert p == g and p.nodes == g.nodes and p.program[-1][1] is g.program[-1][1]


def test_json_schema_accepts_ours_and_refuses_hostile():
    jsonschema = pytest.importorskip("jsonschema")
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)
    check = jsonschema.Draft202012Validator(schema)
    rows = {"a": ("pow", ("x", 2)), "b": ("mul", ("a", -0.0)), "f": ("add", ("b", math.inf))}
    for g in (sg.parse(LECTURE), sg.Graph(rows), sg.parse("wsum(w, x, b, 1)")):
        check.validate(json.loads(g.to_json()))
    for name, text, _ in HOSTILE:
        if name in ("newer", "bool version", "extra key", "inputs not list", "input not str",
                    "node not object", "bool arg", "object arg", "name not str", "no outputs"):
            assert not check.is_valid(json.loads(text)), name


@pytest.mark.parametrize("write, read", [(nx.write_graphml, nx.read_graphml),
                                         (nx.write_gexf, nx.read_gexf)])
def test_nx_view_writes_graphml_and_gexf(write, read):
    g = sg.parse("a = x**2\nf = leaky_relu(a, slope=0.2) * y + a")
    buf = io.BytesIO()
    write(g.nx, buf)
    back = read(io.BytesIO(buf.getvalue()))
    assert set(back.nodes) == set(g.nodes) and set(back.edges) == set(g.nx.edges)
    assert back.nodes["a"]["op"] == "pow" and str(back.nodes["x"]["input"]).lower() == "true"
