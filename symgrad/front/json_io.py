"""Graphs as JSON files: :func:`to_json` and :func:`from_json`.

The format (``docs/graph.schema.json`` is its JSON Schema)::

    {"format": "symgrad-graph", "version": 1,
     "inputs": ["x"],
     "nodes": [{"name": "a", "op": "pow", "args": ["x", 2]}, ...],   # topological order
     "outputs": ["f"]}

An argument is a node name (a JSON string) or a literal.  Literals keep their
Python type and bits: an int is a JSON integer (``2``), a float is a JSON number
written as Python's shortest round-trip ``repr`` and therefore always with a
point or an exponent (``2.0``, ``-0.0``, ``1e-300``), so ``x**2`` and ``x**2.0``,
``x*0.0`` and ``x*-0.0`` stay apart; nan and the infinities, which JSON cannot
write, are the objects ``{"float": "nan"}``, ``{"float": "inf"}``,
``{"float": "-inf"}``.

Reading validates everything by hand (no dependency) and names the place:
``nodes[3].args[1]``.  Wrong JSON, a wrong type, an unknown op, a wrong argument
count, a duplicate name, an unknown node, a cycle, a newer format version, or
input beyond the limits (``max_length`` characters, ``max_nodes`` nodes; nesting
deeper than Python's JSON reader allows) is a :class:`GraphError`.

>>> import symgrad as sg
>>> g = sg.parse("a = x**2\\nf = exp(a) * -0.0")
>>> print(g.to_json())
{"format": "symgrad-graph", "version": 1, "inputs": ["x"], "nodes": [{"name": "a", "op": "pow", "args": ["x", 2]}, {"name": "b", "op": "exp", "args": ["a"]}, {"name": "f", "op": "mul", "args": ["b", -0.0]}], "outputs": ["f"]}
>>> sg.Graph.from_json(g.to_json()) == g
True
"""

from __future__ import annotations

import json
import math

from ..core.graph import Graph, no_gc, normal_literal, normal_name
from ..core.ops import OPS
from ..errors import GraphError

__all__ = ["FORMAT", "VERSION", "to_json", "from_json", "MAX_LENGTH", "MAX_NODES"]

FORMAT, VERSION = "symgrad-graph", 1
MAX_LENGTH = 500_000_000        # characters of JSON text read at most (keyword max_length)
MAX_NODES = 10_000_000          # nodes read at most (keyword max_nodes)
_KEYS = ("format", "version", "inputs", "nodes", "outputs")
_PLAIN, _NODE_KEYS = frozenset({str, int, float}), frozenset({"name", "op", "args"})
_NONFINITE = {"nan": math.nan, "inf": math.inf, "-inf": -math.inf}


def _literal(a):
    if type(a) is float and not math.isfinite(a):
        return {"float": "nan" if a != a else "inf" if a > 0 else "-inf"}
    return a


def to_json(graph: Graph, *, indent: int | None = None) -> str:
    """The graph as JSON text (the format in the module docstring).

    >>> import symgrad as sg
    >>> sg.parse("x * y").to_json()[:60]
    '{"format": "symgrad-graph", "version": 1, "inputs": ["x", "y'
    """
    nodes = [{"name": n, "op": op.name, "args": args} for n, op, args in graph.program]
    doc = {"format": FORMAT, "version": VERSION, "inputs": list(graph.inputs), "nodes": nodes,
           "outputs": list(graph.outputs)}
    try:
        return json.dumps(doc, indent=indent, ensure_ascii=False, allow_nan=False)
    except ValueError:                       # a nan or infinite literal: written as an object
        for node in nodes:
            node["args"] = [_literal(a) for a in node["args"]]
        return json.dumps(doc, indent=indent, ensure_ascii=False, allow_nan=False)


def _fail(where: str, message: str):
    raise GraphError(f"symgrad-graph JSON, {where}: {message}" if where else
                     f"symgrad-graph JSON: {message}")


def _show(v) -> str:
    return f"{type(v).__name__} {json.dumps(v, ensure_ascii=True, default=repr)[:60]}"


def _load(text, max_length: int):
    if isinstance(text, (bytes, bytearray)):
        if len(text) > max_length:
            _fail("", f"{len(text)} bytes is more than max_length={max_length}")
        try:
            text = bytes(text).decode("utf-8")
        except UnicodeDecodeError as err:
            _fail("", f"not UTF-8 text: {err}")
    if not isinstance(text, str):
        _fail("", f"from_json() reads JSON text (str or bytes) or a parsed dict, got {type(text).__name__}")
    if len(text) > max_length:
        _fail("", f"{len(text)} characters is more than max_length={max_length}")

    def constant(name):
        _fail("", f"{name} is not JSON; write nan and infinities as {{\"float\": \"nan\"}}, "
                  "{\"float\": \"inf\"}, {\"float\": \"-inf\"}")
    try:
        return json.loads(text, parse_constant=constant)
    except json.JSONDecodeError as err:
        _fail("", f"not valid JSON: {err.msg} at line {err.lineno}, column {err.colno}")
    except RecursionError:
        _fail("", "nested too deeply (a graph file nests 4 levels)")


def _names(doc, key: str) -> list:
    v = doc[key]
    if not isinstance(v, list):
        _fail(key, f"must be a list of node names, got {_show(v)}")
    for i, n in enumerate(v):
        if not isinstance(n, str):
            _fail(f"{key}[{i}]", f"must be a node name (a string), got {_show(n)}")
    if len(set(v)) != len(v):
        dup = next(n for i, n in enumerate(v) if n in v[:i])
        _fail(key, f"names {dup!r:.60} twice")
    return v


def _arg(a, where: str):
    if isinstance(a, str) or (isinstance(a, (int, float)) and not isinstance(a, bool)):
        return a
    if isinstance(a, dict) and a.keys() == {"float"} and a["float"] in _NONFINITE:
        return _NONFINITE[a["float"]]
    _fail(where, f"an argument is a node name (string), a number, or {{\"float\": \"nan\" | "
                 f"\"inf\" | \"-inf\"}}; got {_show(a)}")


def _rows(nodes, max_nodes: int) -> dict:
    if not isinstance(nodes, list):
        _fail("nodes", f"must be a list of {{\"name\", \"op\", \"args\"}} objects, got {_show(nodes)}")
    if len(nodes) > max_nodes:
        _fail("nodes", f"{len(nodes)} nodes is more than max_nodes={max_nodes}")
    rows = {}
    plain, keys, ops = _PLAIN, _NODE_KEYS, OPS
    for i, node in enumerate(nodes):
        if type(node) is dict and node.keys() == keys:          # the common case, fast
            name, op, args = node["name"], node["op"], node["args"]
            spec = ops.get(op) if type(op) is str else None
            if (type(name) is str and name not in rows and spec is not None and type(args) is list
                    and spec.accepts(len(args)) and plain.issuperset(map(type, args))):
                rows[name] = (op, args)
                continue
        where = f"nodes[{i}]"
        if not isinstance(node, dict) or node.keys() != {"name", "op", "args"}:
            _fail(where, "each node is an object with exactly the keys name, op, args; got "
                         + (f"keys {sorted(node)!r:.80}" if isinstance(node, dict) else _show(node)))
        name, op, args = node["name"], node["op"], node["args"]
        if not isinstance(name, str):
            _fail(f"{where}.name", f"must be a string, got {_show(name)}")
        if name in rows:
            _fail(f"{where}.name", f"duplicate node name {name!r:.60}")
        if not isinstance(op, str) or op not in OPS:
            _fail(f"{where}.op", f"unknown op {op!r:.40}; known ops: {', '.join(OPS)}")
        if not isinstance(args, list):
            _fail(f"{where}.args", f"must be a list, got {_show(args)}")
        if not OPS[op].accepts(len(args)):
            _fail(f"{where}.args", f"op {op!r} takes {OPS[op].wants} argument(s), got {len(args)}")
        rows[name] = (op, [_arg(a, f"{where}.args[{j}]") for j, a in enumerate(args)])
    return rows


def from_json(text, *, max_length: int = MAX_LENGTH, max_nodes: int = MAX_NODES) -> Graph:
    """The Graph written by :func:`to_json`, validated.

    Parameters
    ----------
    text
        JSON text (``str`` or UTF-8 ``bytes``), or the already parsed ``dict``.
    max_length, max_nodes
        Limits: longer text or more nodes is refused before building anything.

    Returns
    -------
    Graph

    Raises
    ------
    GraphError
        Naming what is wrong and where (``nodes[3].op: unknown op 'foo'``): invalid
        JSON, a wrong type or key, another format, a newer version, an unknown
        op, a wrong argument count, a duplicate name, an unknown node, a cycle,
        input beyond the limits.

    Examples
    --------
    >>> import symgrad as sg
    >>> sg.Graph.from_json('{"format": "symgrad-graph", "version": 1, "inputs": ["x"], '
    ...                    '"nodes": [{"name": "f", "op": "sin", "args": ["x"]}], "outputs": ["f"]}')
    Graph(inputs=('x',), outputs=('f',), nodes=2)
    """
    with no_gc():                                # millions of small acyclic objects
        return _read(text if isinstance(text, dict) else _load(text, max_length), max_nodes)


def _read(doc, max_nodes: int) -> Graph:
    if not isinstance(doc, dict):
        _fail("", f"the top level must be an object, got {_show(doc)}")
    if doc.get("format") != FORMAT:
        _fail("format", f"must be {FORMAT!r}, got {_show(doc.get('format'))}")
    version = doc.get("version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        _fail("version", f"must be a positive integer, got {_show(version)}")
    if version > VERSION:
        _fail("version", f"this file has format version {version}, written by a newer symgrad; "
                         f"this symgrad reads version {VERSION}: upgrade symgrad")
    if set(doc) != set(_KEYS):
        extra, lack = sorted(set(doc) - set(_KEYS)), [k for k in _KEYS if k not in doc]
        _fail("", (f"unknown key(s) {extra!r:.80}" if extra else f"missing key(s) {lack!r}")
              + f"; the keys are {', '.join(_KEYS)}")
    inputs, outputs = _names(doc, "inputs"), _names(doc, "outputs")
    if not outputs:
        _fail("outputs", "a graph needs at least one output")
    rows = _rows(doc["nodes"], max_nodes)
    if not rows:
        _fail("nodes", "a graph needs at least one operation node")
    for name in rows:
        if name in inputs:
            _fail("nodes", f"{name!r:.60} is both an input and an operation node")
    for o in outputs:
        if o not in rows and o not in inputs:
            _fail("outputs", f"unknown node {o!r:.60}")
    for i, n in enumerate(inputs):
        _name(n, f"inputs[{i}]")
    table, order = _table(rows, inputs)
    try:                                         # a cycle is found here
        return Graph._trusted(table, tuple(inputs), tuple(outputs), order)
    except GraphError as err:
        _fail("nodes", str(err))


def _table(rows: dict, inputs: list) -> tuple[list, list | None]:
    """The graph's rows, and its node order when the file lists the nodes in
    topological order (as :func:`to_json` writes them): each input placed before
    its first use, as the graph's own post-order would; None otherwise (the
    graph sorts, or finds the cycle)."""
    ins, placed, order, table = set(inputs), set(), [], []
    for name, (op, args) in rows.items():
        for a in args:
            if type(a) is str and a not in placed:
                if a in ins:
                    placed.add(a)
                    order.append(a)
                elif a in rows:
                    placed.add(None)              # a forward reference: not topological
                else:
                    _fail(f"node {name!r:.60}", f"unknown node {a!r:.60} (not an input, not a node)")
        _name(name, f"node {name!r:.60}")
        table.append((name, op, tuple([a if type(a) is str else normal_literal(a) for a in args])))
        placed.add(name)
        order.append(name)
    order.extend(x for x in inputs if x not in placed)
    return table, (None if None in placed else order)


def _name(n: str, where: str) -> str:
    """A name as the graph stores it; a name the graph would change (NFKC, spaces) or
    refuse (control characters) is an error here: the file must say it exactly."""
    if n.isascii() and n.isprintable() and n and n[0] != " " != n[-1]:
        return n
    try:
        plain = normal_name(n)
    except GraphError as err:
        _fail(where, str(err))
    if plain != n:
        _fail(where, f"the name {n!r:.60} is not in NFKC form (it would read as {plain!r:.60})")
    return n

