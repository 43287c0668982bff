"""The op table's formulas as Python source: the code backend.

The lowered executor (:mod:`symgrad.numeric.codegen`) needs each op's value and local
partials as source text.  They are not written a second time: the op's own
``apply``/``partials`` run on :data:`CODE`, a backend whose values are
:class:`Code` (source text with Python's operators overloaded to build fully
parenthesised text) and whose functions build call text (``CODE.exp(a)`` is
``exp(a)``).  The names in that text resolve in the executor's backends
(:data:`symgrad.core.ops.NUM` for arrays, :data:`symgrad.numeric.mathns.MATH` for floats),
which implement the same functions, so the generated code computes exactly what
the reference interpreter computes, operation for operation.

>>> from symgrad.core.ops import OPS
>>> apply_code(OPS["tanh"], ["v1"])
'tanh(v1)'
>>> partial_code(OPS["tanh"], 0, ["v1"], "v2")
'1 - (v2 * v2)'
>>> partial_code(OPS["sub"], 1, ["v1", "v2"], "v3")
'-1'

The text holds only the references given (slot names and literals made by the
code generator), integer and float constants of the formulas, and the names of
backend functions: never user text.  A formula's text is computed once per op
and number of arguments, over placeholders, and then filled in.
"""

from __future__ import annotations

import math
import threading

__all__ = ["Code", "CODE", "apply_code", "partial_code", "clear"]


_ATOM, _ADD, _MUL, _OTHER = 3, 1, 2, 0     # left-associative levels; _OTHER is always wrapped


class Code:
    """Python source text of a value, with Python's operators overloaded.

    Every operand is parenthesised unless it is an atom (a name, a number, a
    call); the one exception is the left operand of ``+ -`` (``* / // %``) when
    it is itself a ``+ -`` (``* / // %``) expression, which Python evaluates
    first anyway: so a long sum stays flat, ``a + b + c``, and does not nest
    parentheses (the parser allows 200 levels).  Pieces are joined only when
    the text is read, so building a sum of n terms costs O(n).
    """

    __slots__ = ("_pieces", "_level")
    __hash__ = None                       # == is not overloaded; Code values are not keys

    def __init__(self, text, level: int = _ATOM):
        self._pieces, self._level = text, level

    @property
    def bare(self) -> str:
        """The text, without outer parentheses (a whole line or call argument)."""
        out, stack = [], [self._pieces]
        while stack:
            p = stack.pop()
            if type(p) is str:
                out.append(p)
            else:
                stack.extend(reversed(p))
        return "".join(out)

    @property
    def text(self) -> str:
        """The text as an operand: parenthesised unless an atom."""
        return self.bare if self._level == _ATOM else f"({self.bare})"

    def _operand(self):
        return self._pieces if self._level == _ATOM else ("(", self._pieces, ")")

    def __repr__(self) -> str:
        return f"Code({self.bare!r})"

    def __bool__(self):
        raise TypeError("a Code value has no truth value: write conditions with m.where(...)")


def _piece(v):
    """An operand as pieces of embeddable source: Code, or a constant of a formula."""
    if isinstance(v, Code):
        return v._operand()
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise TypeError(f"a formula on the code backend used {type(v).__name__} {v!r:.40}; "
                        "formulas use their arguments, int and float constants and m.<function>")
    if isinstance(v, float) and not math.isfinite(v):
        return "nan" if v != v else ("inf" if v > 0 else "(-inf)")
    s = repr(float(v)) if isinstance(v, float) else repr(int(v))
    return f"({s})" if s.startswith("-") else s


def _binary(symbol: str, level: int):
    def op(a, b):
        left = a._pieces if isinstance(a, Code) and level != _OTHER and a._level == level \
            else _piece(a)
        return Code((left, f" {symbol} ", _piece(b)), level)

    def rop(b, a):
        return op(a, b)
    return op, rop


def _unary(symbol: str):
    def op(a):
        return Code((symbol, _piece(a)), _OTHER)
    return op


for _name, _sym, _lev in (("add", "+", _ADD), ("sub", "-", _ADD), ("mul", "*", _MUL),
                          ("truediv", "/", _MUL), ("floordiv", "//", _MUL), ("mod", "%", _MUL),
                          ("pow", "**", _OTHER), ("and", "&", _OTHER), ("or", "|", _OTHER)):
    _f, _r = _binary(_sym, _lev)
    setattr(Code, f"__{_name}__", _f)
    setattr(Code, f"__r{_name}__", _r)
for _name, _sym in (("gt", ">"), ("ge", ">="), ("lt", "<"), ("le", "<=")):
    setattr(Code, f"__{_name}__", _binary(_sym, _OTHER)[0])
Code.__neg__, Code.__pos__, Code.__invert__ = _unary("-"), _unary("+"), _unary("~")
del _name, _sym, _lev, _f, _r


class _CodeNamespace:
    """``CODE.f(a, b)`` is the Code ``f(a, b)``, for any function name ``f``: the
    backends that run the code must define ``f`` (the code generator's namespace
    is the backend's)."""

    def __getattr__(self, name: str):
        if name.startswith("_"):
            raise AttributeError(name)

        def call(*args):
            return Code(f"{name}({', '.join(_bare(a) for a in args)})")
        call.__name__ = name
        return call


CODE = _CodeNamespace()
"""The code backend: its functions build call text."""

_TEMPLATES: dict = {}        # (id(op), number of arguments) -> (op, value, partials) templates
_LOCK = threading.Lock()


def _bare(v) -> str:
    """A formula's result as a whole line: without outer parentheses."""
    if isinstance(v, Code):
        return v.bare
    s = _piece(v)
    return s[1:-1] if s.startswith("(") else s


def _templates(op, n: int) -> tuple:
    """The op's value and partials as ``str.format`` templates over ``{0}``..``{n-1}``
    and ``{y}``, by running its formulas once on :data:`CODE`."""
    key = (id(op), n)
    hit = _TEMPLATES.get(key)
    if hit is not None and hit[0] is op:
        return hit[1], hit[2]
    args = [Code("{%d}" % i) for i in range(n)]
    value = _bare(op.apply(CODE, *args))
    parts = tuple(_bare(d) for d in op.partials(CODE, Code("{y}"), *args))
    if len(parts) != n:
        raise TypeError(f"op {op.name!r}: partials gave {len(parts)} derivatives for {n} arguments")
    with _LOCK:
        if len(_TEMPLATES) > 4096:
            _TEMPLATES.clear()
        _TEMPLATES[key] = (op, value, parts)
    return value, parts


def clear() -> None:
    """Forget the templates made so far (the op table changed)."""
    with _LOCK:
        _TEMPLATES.clear()


def apply_code(op, refs: list) -> str:
    """Source text of ``op`` applied to ``refs`` (source text of the arguments,
    as many as the row has: an n-ary op gets them all)."""
    return _templates(op, len(refs))[0].format(*refs)


def partial_code(op, j: int, refs: list, y: str) -> str:
    """Source text of the local partial of ``op`` by argument ``j``; ``y`` is the
    text of the op's own output.  A partial that is the constant 1 or -1 is the
    text ``"1"`` / ``"-1"`` (the code generator skips the multiplication)."""
    return _templates(op, len(refs))[1][j].format(*refs, y=y)
