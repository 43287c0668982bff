"""One sample through a block program as ONE compiled function.

For a single sample the interpreted block program (:class:`symgrad.numeric.fuse.Blocks`)
spends most of its time in Python between numpy calls on tiny matrices.  Here
the same program is written once as straight-line Python: the forward lines
from each block's formula (the op table's ``apply`` run on the code backend,
:mod:`symgrad.numeric.codeform`), the reverse lines by the one chain-rule
sweep (:func:`symgrad.core.sweep.sweep`) with :class:`Source` as the
interpretation, which emits a line per contribution instead of computing it
(as :mod:`symgrad.numeric.codegen` does for scalar programs).  The function
computes what the interpretation would: weights' adjoints summed over the
(one) sample, the given matrices (samples, targets) without adjoints.

The generated text holds block keys, numbered locals and op templates, never
user text.
"""

from __future__ import annotations

import numpy as np

from .codeform import apply_code, partial_code
from .codegen import define, lit
from .blockfind import Program
from .fuse import Column, Linear, Map, Pairs, Stack, is_key
from ..core.ops import NUM
from ..core.sweep import Interpretation, sweep

__all__ = ["Source", "compile_one"]

_NS = {**vars(NUM), "dot": np.dot, "empty": np.empty, "zeros": np.zeros, "array": np.array,
       "inf": np.inf, "nan": np.nan}


def _var(key) -> str:
    return f"v{key}" if type(key) is int else key


def _rows(cols) -> str:
    """A layer's node rows as an index: ``a:b`` or a list."""
    if type(cols) is slice:
        return f"{cols.start}:{cols.stop}"
    return repr([int(c) for c in cols])


# -- forward: one emitter per block type ---------------------------------------------------
def _linear(op: Linear, key, args) -> list:
    W, X, A = _var(args[0]), _var(args[1]), _var(key)
    lines = [f"{A} = dot({X}, {W}[{_rows(op.cols)}])"]
    for r, c in op.lits:
        lines.append(f"{A} += {W}[{r}:{r + 1}]" if c == 1 else f"{A} += {lit(c)} * {W}[{r}:{r + 1}]")
    return lines


def _map(op: Map, key, args) -> list:
    return [f"{_var(key)} = {apply_code(op.op, [_var(args[0]), *map(lit, op.params)])}"]


def _pair_refs(op: Pairs, args) -> list:
    P, T = _var(args[0]), _var(args[1])
    return [r for k in range(op.width) for r in (f"{P}_[{k}]", f"{T}_[{k}]")]


def _pairs(op: Pairs, key, args) -> list:
    P, T = _var(args[0]), _var(args[1])
    return [f"{P}_ = {P}[0].tolist()", f"{T}_ = {T}[0].tolist()",
            f"{_var(key)} = {apply_code(op.op, _pair_refs(op, args))}"]


FORWARD = {Linear: _linear, Map: _map, Pairs: _pairs, Column: lambda op, key, args: []}


class Source(Interpretation):
    """The sweep emitting lines: an adjoint is the name of a local; a local
    derivative is a function ``(seed, target) -> line``; ``skip``: keys without
    adjoints (the given matrices)."""

    def __init__(self, skip=frozenset()):
        self.lines: list = []
        self.skip, self._n = skip, 0

    def fresh(self) -> str:
        self._n += 1
        return f"d{self._n}"

    def partials(self, name, op, args):
        return REVERSE[type(op)](self, op, name, args)

    def term(self, seed, d, name, pos, arg):
        t = self.fresh()
        self.lines.append(d(seed, t))
        return t

    def add(self, total, term, arg):
        t = self.fresh()
        self.lines.append(f"{t} = {total} + {term}")
        return t


def _dlinear(src: Source, op: Linear, key, args) -> tuple:
    W, X = _var(args[0]), _var(args[1])
    rows = _rows(op.cols)

    def dw(s, t):
        fill = f"dot({X}.T, {s}, out={t}[{rows}])" if type(op.cols) is slice else \
            f"{t}[{rows}] = dot({X}.T, {s})"
        bias = "".join(f"; {t}[{r}] = {s}[0]" if c == 1 else f"; {t}[{r}] = {lit(c)} * {s}[0]"
                       for r, c in op.lits)
        return f"{t} = empty({op.shape}); {fill}{bias}"
    return (None if args[0] in src.skip else dw,
            None if args[1] in src.skip else (lambda s, t: f"{t} = dot({s}, {W}[{rows}].T)"))


def _dmap(src: Source, op: Map, key, args) -> tuple:
    d = partial_code(op.op, 0, [_var(args[0]), *map(lit, op.params)], _var(key))
    if d == "1":
        return (lambda s, t: f"{t} = {s}",)
    return (lambda s, t: f"{t} = -{s}",) if d == "-1" else (lambda s, t: f"{t} = {s} * ({d})",)


def _dpairs(src: Source, op: Pairs, key, args) -> tuple:
    refs = _pair_refs(op, args)
    out = []
    for side, a in enumerate(args):
        ds = [partial_code(op.op, 2 * k + side, refs, _var(key)) for k in range(op.width)]
        row = f"array([[{', '.join(ds)}]], dtype=float)"
        out.append(None if a in src.skip else
                   (lambda s, t, row=row: f"{t} = {row}" if s == "1.0" else f"{t} = {row} * {s}"))
    return tuple(out)


def _dcolumn(src: Source, op: Column, key, args) -> tuple:
    return (lambda s, t: f"{t} = zeros((1, {op.width})); {t}[0, {op.j}] = {s}",)


REVERSE = {Linear: _dlinear, Map: _dmap, Pairs: _dpairs, Column: _dcolumn}


def compile_one(prog: Program, given: tuple, wkeys: tuple, out, column=None):
    """``f(given values...) -> (output value, (adjoint of each of wkeys...))`` for ONE
    sample (matrices of one row), or None when the program has rows this does not
    write (plain rows, stacks to build, an output no row reaches).  ``column``:
    ``(block key, j)`` when the output is a block's node."""
    skip = frozenset(given) - set(wkeys)           # given matrices whose adjoints nobody wants
    lines = []
    for key, op, args in prog.rows:
        if type(op) is Stack and key in skip:
            continue
        emit = FORWARD.get(type(op))
        if emit is None:
            return None
        lines += emit(op, key, args)
    src = Source(skip)
    adj = sweep(prog.rows, out, src, "1.0", node=is_key)
    if any(k not in adj for k in wkeys):
        return None
    value = _var(out) if column is None else f"{_var(column[0])}[0, {column[1]}]"
    body = lines + src.lines + [f"return {value}, ({''.join(adj[k] + ', ' for k in wkeys)})"]
    text = f"def _one({', '.join(map(_var, given))}):\n" + "".join(f"    {b}\n" for b in body)
    return define(text, "_one", "<symgrad one sample>", _NS)
