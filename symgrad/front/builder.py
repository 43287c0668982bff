"""The builder front end: expression handles with Python operators.

>>> import symgrad as sg
>>> x = sg.variable("x")
>>> g = sg.Graph(sg.sqrt(x**2 + sg.exp(x**2)) + sg.cos(x**2 + sg.exp(x**2)))
>>> g.nodes
('x', 'a', 'b', 'c', 'd', 'e', 'f')

Handles are light records ``(op, args)``; nothing is evaluated and nothing is
named until ``Graph(expr)`` walks them (iteratively, so a chain of a million
handles is fine), shares identical subexpressions and names the nodes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from numbers import Real
from typing import Any

import numpy as np

from ..errors import GraphError
from ..core.graph import Assembler, Graph, check_call, is_node, no_gc, normal_literal, normal_name
from ..core.ops import ATOM, NEG, NUM, OPS, Derived

__all__ = ["Expr", "variable", "build_graph", "OP_FUNCTIONS", "exports", "exported"]


class Expr:
    """A handle on a node under construction: an input (``op`` None) or an op
    applied to handles and numbers.  Supports ``+ - * / **`` and unary minus."""

    __slots__ = ("op", "args", "name")

    def __init__(self, op: str | None, args: tuple = (), name: str | None = None):
        if op is None:
            if args or not isinstance(name, str):
                raise TypeError(f"an input Expr has a str name and no args, got name {name!r} and "
                                f"args {args!r:.60}; use sg.variable('x')")
        elif op not in OPS:
            raise GraphError(f"unknown op {op!r}; ops: {', '.join(OPS)}")
        elif not isinstance(args, tuple) or not OPS[op].accepts(len(args)) or not all(
                isinstance(a, Expr) or (isinstance(a, Real) and not isinstance(a, bool)) for a in args):
            raise TypeError(f"Expr({op!r}, args) needs a tuple of {OPS[op].wants} Exprs or numbers, got "
                            f"{args!r:.80}; build expressions with sg.variable(...) and ops")
        self.op, self.args, self.name = op, args, name

    def __repr__(self) -> str:
        """The expression as text (the grammar's), shortened past 200 characters:
        ``Expr(x*sin(x))``; an input is ``variable('x')``."""
        if self.op is None:
            return f"variable({self.name!r})"
        return f"Expr({_text(self, 200)})"

    def __pos__(self): return self

    def __bool__(self):
        raise TypeError("a symgrad expression has no truth value (it is not evaluated)")


def _text(root: "Expr", limit: int) -> str:
    """``root`` written with the op table's text forms, iteratively (any depth);
    a shared sub-expression is written at each use; cut at about ``limit`` characters."""
    done: dict[int, tuple[str, int]] = {}
    stack = [(root, False)]
    while stack:
        e, ready = stack.pop()
        if id(e) in done:
            continue
        if e.op is None:
            done[id(e)] = (e.name, ATOM)
        elif not ready:
            stack.append((e, True))
            stack.extend((a, False) for a in e.args if isinstance(a, Expr))
        else:
            form = OPS[e.op].text
            parts = [done[id(a)] if isinstance(a, Expr) else (repr(a), NEG if a < 0 else ATOM)
                     for a in e.args]
            binds = (form.binds * len(parts)) if form.sep else form.binds
            shown = [f"({t})" if p < need else t for (t, p), need in zip(parts, binds, strict=False)]
            text = form.template.format(form.sep.join(shown)) if form.sep else form.template.format(*shown)
            done[id(e)] = (text if len(text) <= limit else text[:limit] + " ...", form.prec)
    return done[id(root)][0]


_OPERATORS = {"add": "add", "sub": "sub", "mul": "mul", "truediv": "div", "pow": "pow"}
"""Python's binary operators on handles -> the ops they build (and ``-x``: neg)."""


def _operator(op: str, swap: bool):
    if swap:
        return lambda self, o: _apply(op, o, self)
    return lambda self, o: _apply(op, self, o)


for _dunder, _op in _OPERATORS.items():
    setattr(Expr, f"__{_dunder}__", _operator(_op, False))
    setattr(Expr, f"__r{_dunder}__", _operator(_op, True))
Expr.__neg__ = lambda self: _apply("neg", self)
del _dunder, _op


def variable(name: str) -> Expr:
    """An input variable named ``name``.

    Any non-empty printable str without surrounding spaces is a name (printers
    escape it); it is NFKC-normalised as Python normalises identifiers, and a
    ``numpy.str_`` becomes a plain str.

    Raises
    ------
    GraphError
        If ``name`` is not a non-empty string of printable characters.

    Examples
    --------
    >>> import symgrad as sg
    >>> sg.Graph(sg.variable("\ufb01") * sg.variable("fi")).inputs     # the ligature is fi
    ('fi',)
    """
    return Expr(None, (), normal_name(name, "a variable name"))


def _operand(v: Any, op: str):
    if isinstance(v, Expr):
        return v
    if isinstance(v, Real) and not isinstance(v, bool):
        return normal_literal(int(v)) if isinstance(v, (int, np.integer)) else float(v)
    raise TypeError(f"cannot use {type(v).__name__} {v!r} in a symgrad expression ({op}); "
                    "use numbers and sg.variable(...)")


def _apply(op: str, *args) -> Expr | float:
    vals = tuple(_operand(a, op) for a in args)
    spec = OPS[op]
    if not spec.accepts(len(vals)):
        raise GraphError(f"{op}() takes {spec.wants} argument(s), got {len(vals)}")
    if not any(isinstance(v, Expr) for v in vals):      # all constants: a number
        with np.errstate(all="ignore"):
            return float(spec.apply(NUM, *map(float, vals)))
    return Expr(op, vals)


def _function(op_name: str):
    spec = OPS[op_name]
    params = spec.params

    def fn(*args, **kwargs):
        nfixed = spec.arity - len(params) if spec.arity >= 0 else len(args)
        given = list(args[nfixed:])
        for key in kwargs:
            if key not in dict(params):
                raise TypeError(f"{op_name}() has no parameter {key!r}")
        full = list(args[:nfixed])
        for i, (p, default) in enumerate(params):
            v = given[i] if i < len(given) else kwargs.get(p, default)
            if isinstance(v, Expr):
                raise TypeError(f"{op_name}()'s {p} must be a number")
            full.append(v)
        if len(given) > len(params):
            raise GraphError(f"{op_name}() takes {nfixed} argument(s), got {len(args)}")
        return _apply(op_name, *full)

    sig = ", ".join(["x"] if spec.arity == 1 or params else ["*xs"] if spec.arity < 0 else ["a", "b"])
    sig += "".join(f", {p}={d}" for p, d in params)
    fn.__name__ = fn.__qualname__ = op_name
    fn.__doc__ = f"{op_name}({sig}): the {op_name} op as a builder function. {spec.doc}".strip()
    return fn


_MADE: dict = {}          # op name -> (Op, its builder function): one function per op


def _functions() -> dict:
    out = {}
    for name, op in OPS.items():
        made = _MADE.get(name)
        if made is None or made[0] is not op:
            made = _MADE[name] = (op, _function(name))
        out[name] = made[1]
    return out


OP_FUNCTIONS: Mapping = Derived(_functions)
"""``{op name: builder function}`` for every op of the table."""


def exports() -> dict:
    """The builder functions ``symgrad`` exports: every op that Python's operators
    on handles do not build (``sg.exp``, ``sg.relu``, ``sg.sum``, ...)."""
    made = set(_OPERATORS.values()) | {"neg"}
    return {name: f for name, f in OP_FUNCTIONS.items() if name not in made}


def exported(name: str):
    """``symgrad.<name>`` for an op registered after import (module ``__getattr__``)."""
    f = exports().get(name)
    if f is None:
        raise AttributeError(f"module 'symgrad' has no attribute {name!r}")
    return f


def _build_exprs(outputs: Sequence[Expr], names: Sequence[str | None]):
    asm = Assembler()
    ref: dict[int, str] = {}
    for root, out_name in zip(outputs, names, strict=True):
        stack = [(root, False)]
        while stack:
            e, expanded = stack.pop()
            if id(e) in ref:
                continue
            if e.op is None:
                ref[id(e)] = asm.input(e.name)
            elif expanded:
                args = [ref[id(a)] if isinstance(a, Expr) else a for a in e.args]
                ref[id(e)] = asm.node(e.op, args)
            else:
                stack.append((e, True))
                stack.extend((a, False) for a in reversed(e.args)
                             if isinstance(a, Expr) and id(a) not in ref)
        if out_name is not None:
            ref[id(root)] = asm.name(ref[id(root)], out_name)
    return asm, [ref[id(o)] for o in outputs]


def build_graph(spec: Any, *, outputs=None, inputs=None) -> Graph:
    """The Graph for ``Graph(spec)``; see :class:`symgrad.Graph`."""
    if isinstance(spec, Expr):
        spec = [spec]
    if isinstance(spec, Mapping) and spec and all(isinstance(v, Expr) for v in spec.values()):
        exprs, names = list(spec.values()), [normal_name(k, "an output name") for k in spec]
    elif isinstance(spec, Sequence) and not isinstance(spec, str) and spec \
            and all(isinstance(v, Expr) for v in spec):
        exprs, names = list(spec), [None] * len(spec)
    elif isinstance(spec, Mapping):
        rows, ins, outs = _row_parts(spec, outputs, inputs)
        return Graph._trusted(rows, ins, outs, None)
    else:
        raise GraphError(f"Graph() takes builder expressions (sg.variable(...) and ops), a "
                         f"list or dict of them, or rows {{name: (op, args)}}; got {type(spec).__name__}")
    if outputs is not None or inputs is not None:
        raise GraphError("outputs= and inputs= apply to the row form; name outputs with a dict")
    with no_gc():
        asm, outs = _build_exprs(exprs, names)
        return asm.graph(outs)


def _row_parts(rows: Mapping, outputs, inputs):
    """Validate ``{name: (op, args)}`` rows."""
    if not rows:
        raise GraphError("a graph needs at least one node")
    defined = {}
    for name, row in rows.items():
        if not isinstance(name, str) or not name:
            raise GraphError(f"node names are non-empty str, got {name!r:.60}")
        name = normal_name(name)
        if name in defined:
            raise GraphError(f"duplicate node name {name!r} (names are NFKC-normalised)")
        if not (isinstance(row, Sequence) and len(row) == 2 and isinstance(row[1], Sequence)
                and not isinstance(row[1], str)):
            raise GraphError(f"node {name!r}: a row is (op, args), got {row!r:.80}")
        op, args = row
        try:
            check_call(op, tuple(args))
        except GraphError as exc:
            raise GraphError(f"node {name!r}: {exc}") from None
        defined[name] = (op, tuple(normal_name(a) if is_node(a) else normal_literal(a) for a in args))
    used = []
    for name, (_, args) in defined.items():
        used.extend(a for a in args if is_node(a) and a not in defined and a not in used)
    inputs, outputs = ([n] if isinstance(n, str) else n for n in (inputs, outputs))  # one name
    for opt, names in (("inputs", inputs), ("outputs", outputs)):
        if names is not None and (not isinstance(names, Sequence)
                                  or not all(isinstance(n, str) for n in names)):
            raise GraphError(f"{opt}= takes a list of node names such as ['x'], got {names!r:.80}")
    inputs, outputs = (None if n is None else [normal_name(x) for x in n] for n in (inputs, outputs))
    if inputs is None:
        ins = tuple(used)
    else:
        ins = tuple(inputs)
        clash = [i for i in ins if i in defined]
        if clash:
            raise GraphError(f"{clash[0]!r} is both an input and an operation node (duplicate name)")
        unknown = [u for u in used if u not in ins]
        if unknown:
            raise GraphError(f"unknown node {unknown[0]!r}: not defined and not an input")
    outs = tuple(outputs) if outputs is not None else (list(defined)[-1],)
    for o in outs:
        if o not in defined and o not in ins:
            raise GraphError(f"output {o!r} is not a node")
    return [(n, op, args) for n, (op, args) in defined.items()], ins, outs

