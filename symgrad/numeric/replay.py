"""Replay: run a graph on YOUR objects (a micrograd ``Value``, a PyTorch tensor, a
SymPy symbol, an interval type).

Each node is its op's own formula (``apply`` of :mod:`symgrad.core.ops`) run on a
namespace whose arithmetic is Python's operators (``+ - * / **``, unary ``-``) and
whose functions (``exp``, ``tanh``, ``relu``, ``sigmoid``, ...) are
``functions[name]`` if given, else the first argument's own method of that name
(``v.exp()``, ``v.relu()``, ``v.leaky_relu(0.01)``).  Literals stay plain numbers.
So an engine is tested on symgrad's graphs without parsing any text:

>>> import symgrad as sg
>>> class Dual:                                   # a tiny forward-mode number
...     def __init__(self, v, d=0.0): self.v, self.d = v, d
...     def __add__(self, o): o = lift(o); return Dual(self.v + o.v, self.d + o.d)
...     __radd__ = __add__
...     def __mul__(self, o): o = lift(o); return Dual(self.v * o.v, self.d * o.v + self.v * o.d)
...     __rmul__ = __mul__
>>> def lift(o): return o if isinstance(o, Dual) else Dual(o)
>>> g = sg.parse("3*x*x + x")
>>> out = g.replay({"x": Dual(2.0, 1.0)})[g.outputs[0]]
>>> out.v, out.d, g.grad(x=2.0)["x"]
(14.0, 13.0, 13.0)
"""

from __future__ import annotations

import operator
from collections.abc import Mapping

from ..core.graph import Graph, is_node
from ..errors import InputError

__all__ = ["replay", "Replayed"]

_ARITHMETIC = {"div": operator.truediv, "pow": operator.pow}


class _Missing(Exception):
    """A function the objects cannot do (carries its name)."""


class _Namespace:
    """``m.name(*args)``: ``functions[name]``, else ``args[0].name(*args[1:])``."""

    def __init__(self, functions):
        if functions is None:
            self.get = lambda name: None
        elif isinstance(functions, Mapping):
            self.get = functions.get
        else:                                     # a module or namespace (sympy, math, ...)
            self.get = lambda name: getattr(functions, name, None)

    def __getattr__(self, name: str):
        if name.startswith("__"):
            raise AttributeError(name)
        given = self.get(name)
        if given is not None:
            return given
        if name in _ARITHMETIC:
            return _ARITHMETIC[name]

        def method(first, *rest):
            own = getattr(first, name, None)
            if own is None or not callable(own):
                raise _Missing(name, type(first).__name__)
            return own(*rest)
        return method


class Replayed(dict):
    """``{node: your object}`` for every node, inputs first, in topological order."""


def replay(graph: Graph, values: Mapping, functions=None) -> Replayed:
    """Run ``graph`` on the caller's objects.

    Parameters
    ----------
    graph
        The computational graph.
    values
        ``{input name: object}`` for every input of the graph.
    functions
        Optional ``{name: callable}`` (or a module/namespace such as ``sympy``)
        for the op table's functions (``exp``, ``log``, ``sqrt``, ``sin``, ``cos``,
        ``tan``, ``tanh``, ``sigmoid``, ``relu``, ``leaky_relu``, ``elu``,
        ``softplus``, ``abs``, ``logsumexp``); without an entry, the first
        argument's method of that name is called.

    Returns
    -------
    Replayed
        ``{node: object}`` for every node.

    Raises
    ------
    InputError
        A missing or unknown input, or an op the objects cannot do (naming the
        op, the node and the function or operator that failed).

    Examples
    --------
    >>> import sympy as sp
    >>> import symgrad as sg
    >>> g = sg.parse("sqrt(x**2 + exp(x**2)) + cos(x**2 + exp(x**2))")
    >>> g.replay({"x": sp.Symbol("x")}, functions=sp)["f"]
    sqrt(x**2 + exp(x**2)) + cos(x**2 + exp(x**2))
    """
    if not isinstance(values, Mapping):
        raise InputError(f"replay() needs a mapping {{input name: object}}, got {type(values).__name__}")
    unknown = [k for k in values if k not in graph.inputs]
    missing = [x for x in graph.inputs if x not in values]
    if unknown or missing:
        raise InputError("replay(): " + "; ".join(
            part for part in (unknown and f"unknown input(s) {', '.join(map(repr, unknown[:10]))}",
                              missing and f"missing input(s) {', '.join(map(repr, missing[:10]))}")
            if part) + f"; inputs: {', '.join(graph.inputs[:20])}")
    m = _Namespace(functions)
    out = Replayed((x, values[x]) for x in graph.inputs)
    for name, op, args in graph.program:
        vals = [out[a] if is_node(a) else a for a in args]
        try:
            out[name] = op.apply(m, *vals)
        except _Missing as err:
            fn, kind = err.args
            raise InputError(f"node {name!r} ({op.name}): your objects ({kind}) cannot do {fn!r}: "
                             f"they have no method {fn}() and functions has no {fn!r}; "
                             f"pass functions={{{fn!r}: ...}}") from None
        except Exception as err:              # the objects' own failure, e.g. Value ** Value
            kinds = ", ".join(dict.fromkeys(type(v).__name__ for v in vals))
            raise InputError(f"node {name!r} ({op.name}): your objects ({kinds}) cannot do it: "
                             f"{type(err).__name__}: {err}"[:500]) from err
    return out
