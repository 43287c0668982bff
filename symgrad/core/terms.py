"""Graph nodes as values: the node-building backend of gradient graphs.

A :class:`Term` is a node of a graph under construction; Python's operators on
Terms and the functions of :class:`GraphBackend` (``m.exp``, ``m.where``,
``m.dpow``, ...) build nodes, so an op's ``partials(m, out, *args)`` formula
run on this backend writes its local derivatives as nodes of ops of the table.
:class:`Terms` hash-conses them and folds the trivial ones (``x*1``, ``x+0``,
``x*0``, ``--x``, ops of literals).  :mod:`symgrad.core.gradient_graph` turns
them into a Graph.

>>> t = Terms()
>>> x = t.leaf("x")
>>> (x * 1 + 0) is x, -(-x) is x, t.m.exp(x) is t.m.exp(x)
(True, True, True)
>>> t.m.where(x > 0, 1, 0.2).op
'ifpos'
"""

from __future__ import annotations

import math
import operator

import numpy as np

from ..errors import GraphError
from .graph import literal_key
from .ops import NUM, OPS

__all__ = ["Term", "Terms", "GraphBackend", "is_zero"]

_FOLD = {"add": operator.add, "sub": operator.sub, "mul": operator.mul}


def _lit(v) -> bool:
    return not isinstance(v, Term)


def _is(v, c) -> bool:
    """``v`` is the literal ``c`` (0 also matches -0.0)."""
    return not isinstance(v, Term) and v == c


class Term:
    """A node of a graph under construction: ``op(*args)`` (args: Terms and
    numbers), or an input / a named node of the differentiated graph.  Python's
    operators build nodes; a Term has no truth value (a formula that branches on
    a value must use ``m.where``)."""

    __slots__ = ("op", "args", "name", "index", "terms")
    __hash__ = object.__hash__

    def __init__(self, terms: "Terms", op, args: tuple, name, index: int):
        self.terms, self.op, self.args, self.name, self.index = terms, op, args, name, index

    def __repr__(self) -> str:
        return f"Term({self.name or self.op}#{self.index})"

    def __bool__(self):
        raise TypeError("a graph node has no truth value: write conditions with m.where(x > 0, ...)")

    def __add__(self, b):
        return self.terms.make("add", (self, b))

    def __radd__(self, a):
        return self.terms.make("add", (a, self))

    def __sub__(self, b):
        return self.terms.make("sub", (self, b))

    def __rsub__(self, a):
        return self.terms.make("sub", (a, self))

    def __mul__(self, b):
        return self.terms.make("mul", (self, b))

    def __rmul__(self, a):
        return self.terms.make("mul", (a, self))

    def __truediv__(self, b):
        return self.terms.make("div", (self, b))

    def __rtruediv__(self, a):
        return self.terms.make("div", (a, self))

    def __pow__(self, k):
        return self.terms.make("pow", (self, k))

    def __rpow__(self, a):
        return self.terms.make("pow", (a, self))

    def __neg__(self):
        return self.terms.make("neg", (self,))

    def __gt__(self, c):
        return _Positive(self, c)

    def __lt__(self, c):
        return _Positive(c - self if not _is(c, 0) else -self, 0)


class _Positive:
    """The condition ``a > c`` inside ``m.where``: becomes ``ifpos(a - c, ...)``."""

    __slots__ = ("a", "c")

    def __init__(self, a, c):
        self.a, self.c = a, c

    def __bool__(self):
        raise TypeError("a condition on a graph node has no truth value: use m.where")


class Terms:
    """The hash-consing factory of :class:`Term` values, with the trivial folds
    ``x*1 = x``, ``x*0 = 0``, ``x*-1 = -x``, ``x+0 = x``, ``0-x = -x``, ``--x = x``,
    ``x/1 = x``, ``x**1 = x``, ``x**0 = 1``, ``ifpos`` of a literal condition or
    of two equal branches, arithmetic of two literals (IEEE, as numpy) and any op
    of literals with a finite value (computed with the numeric backend: the
    executor's own number)."""

    def __init__(self) -> None:
        self._key: dict = {}
        self.all: list[Term] = []
        self.inputs: dict[str, Term] = {}
        self.m = GraphBackend(self)

    def _new(self, op, args, name=None) -> Term:
        t = Term(self, op, args, name, len(self.all))
        self.all.append(t)
        return t

    def leaf(self, name: str) -> Term:
        """An input of the graph being built."""
        t = self.inputs[name] = self._new(None, (), name)
        return t

    def named(self, name: str, op: str, args: tuple) -> Term:
        """A node of the differentiated graph, kept with its name (shared with an
        identical node built later)."""
        t = self._new(op, args, name)
        self._key.setdefault(self._keyof(op, args), t)
        return t

    @staticmethod
    def _keyof(op, args):
        return op, tuple([a.index if isinstance(a, Term) else literal_key(a) for a in args])

    def make(self, op: str, args: tuple):
        """The node ``op(*args)``, folded or shared where possible; a number when folded to one."""
        if op in _FOLDABLE:
            folded = self._fold(op, args)
            if folded is not _NOFOLD:
                return folded
        if not any(type(a) is Term for a in args) and op in OPS:
            with np.errstate(all="ignore"):
                v = float(OPS[op].apply(NUM, *map(np.float64, args)))
            if math.isfinite(v):                    # the executor's own value, bit for bit
                return v
        key = (op, tuple([a.index if type(a) is Term else literal_key(a) for a in args]))
        t = self._key.get(key)
        if t is None:
            t = self._key[key] = Term(self, op, args, None, len(self.all))
            self.all.append(t)
        return t

    def _fold(self, op, args):
        if op in _FOLD or op == "neg":
            if all(map(_lit, args)):
                return -args[0] if op == "neg" else _FOLD[op](*args)
            if op == "neg":
                a = args[0]
                return a.args[0] if a.op == "neg" else _NOFOLD
            a, b = args
            if op == "mul":
                if _is(a, 0) or _is(b, 0):
                    return 0
                if _is(a, 1) or _is(b, 1):
                    return b if _is(a, 1) else a
                if _is(a, -1) or _is(b, -1):
                    return self.make("neg", (b if _is(a, -1) else a,))
            elif _is(b, 0):
                return a
            elif _is(a, 0):
                return b if op == "add" else self.make("neg", (b,))
        elif op == "div" and _is(args[1], 1):
            return args[0]
        elif op == "pow" and (_is(args[1], 1) or _is(args[1], 0)):
            return args[0] if _is(args[1], 1) else 1
        elif op == "ifpos":
            c, a, b = args
            if _lit(c):
                return a if c > 0 else b
            if a is b or (_lit(a) and _lit(b) and literal_key(a) == literal_key(b)):
                return a
        elif op == "identity":
            return args[0]
        return _NOFOLD


_NOFOLD = object()
_FOLDABLE = frozenset({"add", "sub", "mul", "neg", "div", "pow", "ifpos", "identity"})


class GraphBackend:
    """The backend namespace whose functions build graph nodes: ``m.exp(a)`` is
    the node ``exp(a)``, for every op of the table by name, and the backends'
    shared helpers are written with ops: ``m.where(a > 0, p, q)`` is
    ``ifpos(a, p, q)``, ``m.step`` and ``m.heaviside`` are ``step``, ``m.dpow``
    (pow's d/da) is ``k * a**(k - 1)`` (masked where k == 0 when k is a node),
    ``m.dpow_k`` (pow's d/dk) is ``y * log(a)`` (masked where a == 0 and k >= 0)."""

    def __init__(self, terms: Terms) -> None:
        self._t = terms

    def __getattr__(self, name: str):
        if name.startswith("_"):
            raise AttributeError(name)
        make = self._t.make

        def build(*args):
            return make(name, args)
        build.__name__ = name
        setattr(self, name, build)                # found in the instance next time
        return build

    def where(self, cond, a, b):
        if isinstance(cond, _Positive):
            c = cond.a if _is(cond.c, 0) else cond.a - cond.c
            return self._t.make("ifpos", (c, a, b))
        if isinstance(cond, bool):
            return a if cond else b
        raise GraphError(f"gradient_graph: a condition {cond!r:.60} cannot be written as a graph "
                         "node (formulas write conditions as m.where(x > 0, a, b))")

    def ifpos(self, c, a, b):
        return self._t.make("ifpos", (c, a, b))

    def step(self, x):
        return self._t.make("step", (x,))

    heaviside = step

    def div(self, a, b):
        if _lit(a) and _lit(b) and b != 0:
            return a / b
        return self._t.make("div", (a, b))

    def pow(self, a, k):
        return self._t.make("pow", (a, k))

    def dpow(self, a, k):
        """d a**k / da: 0 where k == 0 (the numeric backend's convention)."""
        if _lit(k):
            return 0 if k == 0 else k * self.pow(a, k - 1)
        return self.ifpos(self.abs(k), k * self.pow(a, k - 1), 0)

    def dpow_k(self, out, a, k):
        """d a**k / dk = a**k log a: 0 where a == 0 and k >= 0 (as the numeric backend)."""
        full = out * self.log(a)
        if _lit(a):
            if a != 0:
                return full
            return self.ifpos(-k, full, 0) if not _lit(k) else (0 if k >= 0 else full)
        otherwise = (0 if k >= 0 else full) if _lit(k) else self.ifpos(-k, full, 0)
        return self.ifpos(self.abs(a), full, otherwise)


def is_zero(v) -> bool:
    """``v`` is the literal 0 (a dropped edge), not a node."""
    return _is(v, 0)
