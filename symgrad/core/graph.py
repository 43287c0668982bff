"""The computational graph: an immutable, hash-consed DAG of named nodes.

The graph holds structure only: for each operation node its op name and its
ordered arguments (node names as ``str``, numeric literals as ``int``/``float``).
Inputs are nodes without an op.  The analyses (forward, reverse, symbolic, ...)
are free functions in their own modules; the methods here delegate to them.
"""

from __future__ import annotations

import contextlib
import copyreg
import gc
import string
import struct
import unicodedata
from operator import itemgetter
from collections.abc import Iterable, Mapping, Sequence
from numbers import Real
from typing import Any

import networkx as nx

from ..errors import GraphError
from .ops import OPS, Op
from .registry import analysis

__all__ = ["Graph", "Assembler", "postorder", "auto_names", "is_node", "no_gc", "normal_literal",
           "normal_name"]


def is_node(arg: Any) -> bool:
    """A node reference is a ``str``; anything else in an argument list is a literal."""
    return isinstance(arg, str)


def normal_name(name: Any, what: str = "a node name") -> str:
    """A node name as every front end stores it: a plain ``str`` (a ``numpy.str_`` or
    any str subclass becomes one), NFKC-normalised as Python normalises identifiers
    (PEP 3131), non-empty, printable, without surrounding spaces.

    The parser accepts only Python identifiers as names; the other doors (builder,
    Graph rows, ``from_sympy``, exercises) accept any name this function accepts.
    Lookalikes from different scripts stay distinct (Cyrillic ``х`` is not ``x``).

    >>> normal_name("\ufb01"), normal_name("e\u0301") == normal_name("\u00e9"), normal_name("x")
    ('fi', True, 'x')
    """
    if not isinstance(name, str):
        raise GraphError(f"{what} must be a str, got {type(name).__name__} {name!r:.60}")
    plain = str.__str__(name)                      # the characters, whatever the subclass says
    if not plain.isascii():
        plain = unicodedata.normalize("NFKC", plain)
    if not plain or not plain.isprintable() or plain.strip() != plain:
        raise GraphError(f"{what} must be a non-empty printable str without surrounding spaces, "
                         f"got {plain!r:.60}")
    return plain


def normal_literal(a):
    """A literal as stored: ints stay ints while exactly representable as float64
    (|a| <= 2**53), larger ones become floats, so every backend sees a machine number;
    a float subclass (``numpy.float64``) becomes a float."""
    if isinstance(a, float) and type(a) is not float:
        return float(a)
    if type(a) is int and abs(a) > 2**53:
        try:
            return float(a)
        except OverflowError:
            raise GraphError(f"the number {a!r:.30}... is too large for a float64") from None
    return a


def literal_key(a):
    """How a literal is told apart in hash-consing (a node ref is its own key): by
    type and bits, so ``x*0.0`` and ``x*-0.0`` stay two nodes (IEEE: 1/0.0 = inf,
    1/-0.0 = -inf), as do ``x**2`` and ``x**2.0`` (they print differently); every
    nan literal of one bit pattern is one literal (nan != nan otherwise)."""
    if type(a) is float:
        return float, struct.pack("<d", a)
    return type(a), a


def postorder(roots: Iterable[str], args_of) -> list[str]:
    """Every node reachable from ``roots``, each after its arguments, first argument
    first.  An explicit stack of ``(node, expanded)`` pairs: no recursion limit.
    Raises GraphError on a cycle."""
    order: list[str] = []
    done: set[str] = set()
    active: set[str] = set()
    for root in roots:
        stack = [(root, False)]
        while stack:
            node, expanded = stack.pop()
            if expanded:
                active.discard(node)
                done.add(node)
                order.append(node)
                continue
            if node in done:
                continue
            if node in active:
                raise GraphError(f"the graph has a cycle through node {node!r}")
            active.add(node)
            stack.append((node, True))
            stack.extend((a, False) for a in reversed(args_of(node)) if is_node(a) and a not in done)
    return order


@contextlib.contextmanager
def no_gc():
    """Pause the cyclic garbage collector while building large acyclic structures
    (graph building allocates millions of small tuples and holds no cycles)."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def auto_names(count: int, taken: set[str]) -> list[str]:
    """Names for ``count`` unnamed nodes in post-order: the free letters a..z, then
    ``v{n}`` for the n-th auto-named node (so ``v27`` follows ``z`` when no letter
    was taken), skipping every name in ``taken``."""
    letters = [c for c in string.ascii_lowercase if c not in taken]
    names = letters[:count]
    n = len(names)
    while len(names) < count:                     # in batches: a million names in a blink
        need = count - len(names)
        names.extend(v for v in [f"v{k}" for k in range(n + 1, n + need + 1)] if v not in taken)
        n += need
    return names


class Assembler:
    """The hash-consing node factory every front end builds through.

    Nodes are created bottom-up and referred to by opaque refs; identical
    ``(op, args)`` pairs return the same ref.  Nodes without an explicit name get
    their auto name, in creation order, in :meth:`graph`.
    """

    def __init__(self) -> None:
        self._rows: list[tuple[str | None, tuple]] = []   # per id: (op or None for an input, args)
        self._name: dict[int, str] = {}                     # id -> explicit name
        self._ref: dict[str, str] = {}                      # explicit name -> ref
        self._key: dict[tuple, str] = {}                    # (op, args) -> ref
        self._refs: list[str] = []                          # per id: its ref
        self.inputs: list[str] = []

    def _new(self, op, args, name=None) -> str:
        ref = f"\x00{len(self._rows)}"
        self._rows.append((op, args))
        self._refs.append(ref)
        if name is not None:
            self._claim(ref, name)
        return ref

    def _claim(self, ref: str, name: str) -> None:
        name = normal_name(name)
        if name in self._ref:
            raise GraphError(f"duplicate node name {name!r}")
        self._name[int(ref[1:])] = name
        self._ref[name] = ref

    def __len__(self) -> int:
        """The number of nodes made so far (inputs and operations)."""
        return len(self._rows)

    def lookup(self, name: str) -> str | None:
        """The ref of the node explicitly named ``name``, if any."""
        return self._ref.get(normal_name(name) if isinstance(name, str) else name)

    def input(self, name: str) -> str:
        """The input node ``name`` (created on first use; NFKC-normalised)."""
        if not (type(name) is str and name.isascii() and name.isprintable() and name
                and name[0] != " " != name[-1]):
            name = normal_name(name, "an input name")
        ref = self._ref.get(name)
        if ref is None:
            self.inputs.append(name)
            return self._new(None, (), name)
        if self._rows[int(ref[1:])][0] is not None:
            raise GraphError(f"{name!r} is an operation node, not an input")
        return ref

    def node(self, op: str, args: Sequence, name: str | None = None) -> str:
        """The node ``op(*args)`` (refs and literals), shared with an identical
        earlier one; ``name`` names it (see :meth:`name`)."""
        args = tuple([normal_literal(a) for a in args])
        key = (op, tuple([a if type(a) is str else literal_key(a) for a in args]))
        ref = self._key.get(key)
        if ref is None:
            spec = OPS.get(op)
            if spec is None or not spec.accepts(len(args)):
                check_call(op, args)                      # raises the detailed GraphError
            ref = self._key[key] = self._new(op, args)
            if name is not None:
                self._claim(ref, name)
            return ref
        return ref if name is None else self.name(ref, name)

    def name(self, ref: str, name: str) -> str:
        """Give node ``ref`` the name ``name``: names a still unnamed node, else adds
        the node ``name = identity(ref)``."""
        if int(ref[1:]) in self._name:
            return self.node("identity", (ref,), name)
        self._claim(ref, name)
        return ref

    def graph(self, outputs: Sequence[str], taken: Iterable[str] = ()) -> "Graph":
        """The finished Graph; ``outputs`` are refs.  Auto names are given in
        creation order, skipping ``taken`` and every explicit name."""
        explicit = self._name
        fresh = [i for i in range(len(self._rows)) if i not in explicit]
        order: list = [None] * len(self._rows)                 # creation order = post-order
        for i, name in explicit.items():
            order[i] = name
        for i, name in zip(fresh, auto_names(len(fresh), set(taken) | set(self._ref)), strict=True):
            order[i] = name
        ren = dict(zip(self._refs, order)).get                 # ren(a, a): literals stay
        rows = [(name, op, tuple(map(ren, args, args)))
                for name, (op, args) in zip(order, self._rows) if op is not None]
        return Graph._trusted(rows, tuple(self.inputs), tuple(map(ren, outputs, outputs)), order)


def _rebuild(rows, inputs, outputs, order) -> "Graph":
    """A pickled Graph back (pickles are trusted, as pickle itself requires)."""
    return Graph._trusted(rows, tuple(inputs), tuple(outputs), tuple(order))


def _op_named(name: str) -> Op:
    """The table's op ``name``, for unpickling (an Op holds lambdas: it pickles by name)."""
    spec = OPS.get(name)
    if spec is None:
        raise GraphError(f"unpickling: op {name!r} is not in the op table (was it registered?)")
    return spec


copyreg.pickle(Op, lambda op: (_op_named, (op.name,)))


def check_call(op: str, args: Sequence) -> Op:
    """The Op for ``op`` if it accepts ``args`` (count and types), else GraphError."""
    spec = OPS.get(op)
    if spec is None:
        raise GraphError(f"unknown op {op!r}; known ops: {', '.join(OPS)}")
    if not spec.accepts(len(args)):
        raise GraphError(f"op {op!r} takes {spec.wants} argument(s), got {len(args)}: {tuple(args)!r:.200}")
    for a in args:
        if not is_node(a) and (isinstance(a, bool) or not isinstance(a, Real)):
            raise GraphError(f"argument {a!r} of op {op!r} is neither a node name (str) nor a number")
    return spec


class Graph:
    """An immutable computational graph (a DAG) of named nodes.

    Build one with :func:`symgrad.front.parse`, :func:`symgrad.from_sympy`, the builder
    API (``Graph(expr)``), or directly from rows::

        Graph({"a": ("pow", ("x", 2)), "f": ("exp", ("a",))}, outputs=["f"])

    Parameters
    ----------
    spec
        A builder expression, a sequence of them, a mapping ``{output name: expr}``,
        or a mapping ``{node name: (op, args)}``.
    outputs
        For the row form: the output node names (default: the last row).
    inputs
        For the row form: the input names, in order (default: names used but not
        defined, in order of first use); an undefined name not listed is an error.

    Raises
    ------
    GraphError
        On a cycle, an unknown node or op, a duplicate name or a wrong arity.

    Examples
    --------
    >>> import symgrad as sg
    >>> g = sg.parse("sqrt(x**2 + exp(x**2)) + cos(x**2 + exp(x**2))")
    >>> g.nodes
    ('x', 'a', 'b', 'c', 'd', 'e', 'f')
    >>> g.args("c"), g.op("c")
    (('a', 'b'), 'add')
    """

    __slots__ = ("_op", "_args", "inputs", "outputs", "nodes", "_cache", "__weakref__")

    def __init__(self, spec: Any, *, outputs: Sequence[str] | None = None,
                 inputs: Sequence[str] | None = None) -> None:
        built = analysis("builder").build_graph(spec, outputs=outputs, inputs=inputs)
        for slot in ("_op", "_args", "inputs", "outputs", "nodes", "_cache"):
            object.__setattr__(self, slot, getattr(built, slot))

    @classmethod
    def _trusted(cls, rows, inputs, outputs, order) -> "Graph":
        """A graph from rows and a node order already topological (front ends only)."""
        g = cls.__new__(cls)
        g._init(rows, inputs, outputs, order)
        return g

    def _init(self, rows, inputs, outputs, order=None) -> None:
        op, args = dict.fromkeys(inputs), dict.fromkeys(inputs, ())
        op.update(zip(map(itemgetter(0), rows), map(itemgetter(1), rows)))
        args.update(zip(map(itemgetter(0), rows), map(itemgetter(2), rows)))
        object.__setattr__(self, "_op", op)
        object.__setattr__(self, "_args", args)
        object.__setattr__(self, "inputs", tuple(inputs))
        object.__setattr__(self, "outputs", tuple(outputs))
        object.__setattr__(self, "_cache", {})
        if order is None:
            order = postorder([r[0] for r in rows] + list(inputs), args.__getitem__)
        object.__setattr__(self, "nodes", tuple(order))
        if not outputs:
            raise GraphError("a graph needs at least one output")
        for o in outputs:
            if o not in op:
                raise GraphError(f"output {o!r} is not a node of the graph")

    def __setattr__(self, name, value):
        raise AttributeError("a Graph is immutable")

    # -- value semantics: structure, pickling, copies ------------------------------------
    def _structure(self) -> frozenset:
        """``{(node, op, argument keys)}``: what ``==`` compares (literals by type and
        bits: ``2``, ``2.0``, ``0.0`` and ``-0.0`` differ; nan equals nan)."""
        s = self._cache.get("structure")
        if s is None:
            s = self._cache["structure"] = frozenset(
                (n, self._op[n], tuple([a if type(a) is str else literal_key(a) for a in self._args[n]]))
                for n in self.nodes)
        return s

    def __eq__(self, other) -> bool:
        """Same inputs (in order), outputs, node names, ops and arguments."""
        if self is other:
            return True
        if not isinstance(other, Graph):
            return NotImplemented
        if (self.inputs != other.inputs or self.outputs != other.outputs
                or len(self.nodes) != len(other.nodes) or self._op != other._op):
            return False
        if self._args == other._args:             # fast (C); then the literals' types and bits
            return self._literals() == other._literals()
        return self._structure() == other._structure()   # e.g. nan literals (nan != nan)

    def _literals(self) -> dict:
        lits = self._cache.get("literals")
        if lits is None:
            lits = self._cache["literals"] = {(n, i): literal_key(a) for n, args in self._args.items()
                                              for i, a in enumerate(args) if type(a) is not str}
        return lits

    def __hash__(self) -> int:
        h = self._cache.get("hash")
        if h is None:
            h = self._cache["hash"] = hash((self.inputs, self.outputs, frozenset(self._op.items())))
        return h

    def __reduce__(self):
        rows = [(n, self._op[n], self._args[n]) for n in self.nodes if self._op[n] is not None]
        return _rebuild, (rows, self.inputs, self.outputs, self.nodes)

    def __copy__(self) -> "Graph":
        return self                               # immutable: a copy is the graph itself

    def __deepcopy__(self, memo) -> "Graph":
        return self

    def __repr__(self) -> str:
        return (f"Graph(inputs={self.inputs!r}, outputs={self.outputs!r}, "
                f"nodes={len(self.nodes)})")

    def _repr_svg_(self) -> str | None:
        """The notebook's picture (Graphviz SVG, names only), or None (text) when
        its layout would be slow; see :func:`symgrad.show.dot.svg`."""
        return analysis("dot").svg(self)

    def _repr_html_(self) -> str:
        """The picture with a summary, or the summary alone for a big graph; see
        :func:`symgrad.show.dot.notebook_html`."""
        return analysis("dot").notebook_html(self)

    def __len__(self) -> int:
        return len(self.nodes)

    def __contains__(self, name: object) -> bool:
        return name in self._op

    # -- structure ---------------------------------------------------------
    def op(self, name: str) -> str | None:
        """The op name of node ``name`` (None for an input)."""
        return self._op[self._known(name)]

    def args(self, name: str) -> tuple:
        """The ordered arguments of node ``name``: node names (str) and literals."""
        return self._args[self._known(name)]

    def is_input(self, name: str) -> bool:
        return self._op[self._known(name)] is None

    def _known(self, name: str) -> str:
        if not isinstance(name, str) or name not in self._op:
            raise GraphError(f"unknown node {name!r}; nodes: {', '.join(self.nodes[:20])}"
                             + (" ..." if len(self.nodes) > 20 else ""))
        return name

    @property
    def program(self) -> tuple:
        """The flat program: ``(name, Op, args)`` rows of the operation nodes in
        topological order (cached; what the analyses execute)."""
        prog = self._cache.get("program")
        if prog is None:
            prog = tuple((n, OPS[self._op[n]], self._args[n]) for n in self.nodes
                         if self._op[n] is not None)
            self._cache["program"] = prog
        return prog

    @property
    def consumers(self) -> Mapping[str, tuple]:
        """``{node: ((consumer, argument position), ...)}`` in topological order."""
        cons = self._cache.get("consumers")
        if cons is None:
            cons = {n: [] for n in self.nodes}
            for name, _, args in self.program:
                for i, a in enumerate(args):
                    if is_node(a):
                        cons[a].append((name, i))
            cons = {n: tuple(c) for n, c in cons.items()}
            self._cache["consumers"] = cons
        return cons

    @property
    def nx(self) -> nx.DiGraph:
        """A read-only networkx.DiGraph, an edge from each argument node to its consumer.

        Every attribute is a plain str, int, float or bool, so ``nx.write_graphml``
        and ``nx.write_gexf`` work: a node has ``input`` (bool), an operation also
        ``op`` (its op name), ``arity`` and ``arg{i}`` (float) for a literal at
        argument position i; an edge has ``positions``, the argument positions it
        fills, as text (``"0,1"`` for ``x * x``)."""
        view = self._cache.get("nx")
        if view is None:
            d = nx.DiGraph()
            for n in self.nodes:
                op, args = self._op[n], self._args[n]
                attrs = {"input": True} if op is None else {"input": False, "op": op, "arity": len(args)}
                attrs.update((f"arg{i}", float(a)) for i, a in enumerate(args) if not is_node(a))
                d.add_node(n, **attrs)
            for name, _, args in self.program:
                for i, a in enumerate(args):
                    if is_node(a):
                        if d.has_edge(a, name):
                            d.edges[a, name]["positions"] += f",{i}"
                        else:
                            d.add_edge(a, name, positions=str(i))
            view = nx.freeze(d)
            self._cache["nx"] = view
        return view

    # -- analyses (one-line delegations) ---------------------------------------
    def forward(self, values: Mapping | None = None, /, *, strict: bool = False, **inputs):
        """Forward values of every node; see :func:`symgrad.numeric.forward.forward`."""
        return analysis("forward").forward(self, values, strict=strict, **inputs)

    def backward(self, values: Mapping | None = None, /, *, output: str | None = None,
                 strict: bool = False, **inputs):
        """Adjoints d(output)/d(node) of every node; see :func:`symgrad.numeric.reverse.backward`."""
        return analysis("reverse").backward(self, values, output=output, strict=strict, **inputs)

    def grad(self, values: Mapping | None = None, /, *, output: str | None = None,
             strict: bool = False, **inputs):
        """Adjoints of the inputs only; see :func:`symgrad.numeric.reverse.grad`."""
        return analysis("reverse").grad(self, values, output=output, strict=strict, **inputs)

    def to_sympy(self, node: str | None = None):
        """SymPy expression of ``node`` (default: the only output) in the inputs."""
        return analysis("sympy_io").to_sympy(self, node)

    def symbolic_gradient(self, wrt=None, output=None, *, shared: bool = False):
        """Symbolic gradient by reverse accumulation; see :func:`symgrad.symbolic.gradient.symbolic_gradient`."""
        return analysis("symbolic").symbolic_gradient(self, wrt=wrt, output=output, shared=shared)

    def symbolic_adjoints(self, output=None):
        """Adjoint of every node in node symbols; see :func:`symgrad.symbolic.gradient.symbolic_adjoints`."""
        return analysis("symbolic").symbolic_adjoints(self, output=output)

    def gradient_graph(self, wrt=None, output: str | None = None) -> "Graph":
        """The reverse pass as a graph; see :func:`symgrad.core.gradient_graph.gradient_graph`."""
        return analysis("gradient_graph").gradient_graph(self, wrt=wrt, output=output)

    def tangents(self, values: Mapping | None = None, /, *, wrt=None, tangent=None, **inputs):
        """Forward mode: every node's tangent; see :func:`symgrad.numeric.tangents.tangents`."""
        return analysis("tangents").tangents(self, values, wrt=wrt, tangent=tangent, **inputs)

    def jvp(self, values: Mapping, tangents: Mapping, *, output: str | None = None):
        """``(output value, directional derivative)``; see :func:`symgrad.numeric.tangents.jvp`."""
        return analysis("tangents").jvp(self, values, tangents, output=output)

    def hessian(self, values: Mapping | None = None, /, *, wrt=None, output: str | None = None,
                **inputs):
        """The Hessian matrix; see :func:`symgrad.numeric.tangents.hessian`."""
        return analysis("tangents").hessian(self, values, wrt=wrt, output=output, **inputs)

    def hvp(self, values: Mapping, vector: Mapping, *, wrt=None, output: str | None = None):
        """Hessian-vector product H v; see :func:`symgrad.numeric.tangents.hvp`."""
        return analysis("tangents").hvp(self, values, vector, wrt=wrt, output=output)

    def jacobian(self, values: Mapping | None = None, /, *, outputs=None, wrt=None, **inputs):
        """The Jacobian matrix; see :func:`symgrad.numeric.tangents.jacobian`."""
        return analysis("tangents").jacobian(self, values, outputs=outputs, wrt=wrt, **inputs)

    def symbolic_hessian(self, wrt=None, output: str | None = None, *, shared: bool = False):
        """The Hessian in SymPy; see :func:`symgrad.symbolic.hessian.symbolic_hessian`."""
        return analysis("hessian").symbolic_hessian(self, wrt=wrt, output=output, shared=shared)

    # -- the graph leaves symgrad (one-line delegations) ------------------------------------
    def function(self, backend="numpy"):
        """A plain function of the inputs; see :func:`symgrad.numeric.export.function`."""
        return analysis("export").function(self, backend)

    def to_source(self, backend: str = "numpy", *, output: str | None = None,
                  free: bool = True) -> str:
        """A standalone module with forward() and grad(); see :func:`symgrad.numeric.source.to_source`."""
        return analysis("source").to_source(self, backend, output=output, free=free)

    def replay(self, values: Mapping, functions=None) -> Mapping:
        """The graph run on your objects; see :func:`symgrad.numeric.replay.replay`."""
        return analysis("replay").replay(self, values, functions)

    def to_json(self, *, indent: int | None = None) -> str:
        """The graph as JSON text; see :func:`symgrad.front.json_io.to_json`."""
        return analysis("json_io").to_json(self, indent=indent)

    @classmethod
    def from_json(cls, text, **limits) -> "Graph":
        """A graph from :meth:`to_json`'s text, validated; see :func:`symgrad.front.json_io.from_json`."""
        return analysis("json_io").from_json(text, **limits)

    def default_output(self, output: str | None = None) -> str:
        """``output`` if given (any node), else the only output."""
        if output is not None:
            return self._known(output)
        if len(self.outputs) != 1:
            shown = ", ".join(self.outputs[:10]) + (" ..." if len(self.outputs) > 10 else "")
            raise GraphError(f"the graph has outputs {shown}: pass output=...")
        return self.outputs[0]
