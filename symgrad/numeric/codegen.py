"""Code generation for the lowered executor (:mod:`symgrad.numeric.lower`).

From a lowered program's rows (``(out slot, Op, args)``, slots as ints and
literals as 1-tuples), written with each op's formulas run on the code backend
(:mod:`symgrad.numeric.codeform`):

* :func:`code_forward` / :func:`code_reverse`: straight-line Python, one line a
  node, values and adjoints in lists ``V``/``G`` indexed by slot, compiled in
  chunks of :data:`CHUNK` lines;
* :func:`code_grad`: forward and reverse of one output's ancestors as ONE
  function on Python floats, locals only, returning the inputs' adjoints;
* :func:`loop_forward` / :func:`loop_reverse`: an instruction loop over slots,
  for graphs too large to compile (``compile()`` costs ~8 us a line).

The reverse passes are interpretations of the one chain-rule sweep
(:func:`symgrad.core.sweep.sweep`), run once when the code is built: :class:`_Lines`
emits a line per contribution, :class:`_Aliases` the same on locals (a partial
of 1 reuses the consumer's variable), :class:`_Instructions` the loop's
instructions with "first contribution or sum" decided at build time.

The generated text never contains user text: nodes are ``v{slot}``/``g{slot}``,
literals are numbers.
"""

from __future__ import annotations

import math
import operator
import re
import types

import numpy as np

from .codeform import apply_code, partial_code
from ..core.sweep import Interpretation, sweep

__all__ = ["CHUNK", "needed", "code_forward", "code_reverse", "code_grad", "loop_forward",
           "loop_reverse", "compile_lines", "fn", "lit", "expr"]

CHUNK = 2_000           # lines per compiled function

def lit(v) -> str:
    """A literal argument as Python source: always a float (the lowered code computes
    in floats only, issue 11), formatted by ``float.__repr__`` of a float made here,
    never by the user's object; parenthesized, as it may be negative.  -0.0 stays
    -0.0 (CPython keeps 0.0 and -0.0 apart among a function's constants)."""
    f = float.__float__(float(v))
    if f != f:
        return "nan"
    if f in (math.inf, -math.inf):
        return "inf" if f > 0 else "(-inf)"
    return f"({float.__repr__(f)})"


def expr(op, refs: list) -> str:
    """The code of ``op`` applied to ``refs`` (derived from its formula: :mod:`symgrad.numeric.codeform`)."""
    return apply_code(op, refs)



def needed(rows, out: int) -> list:
    """The rows the output depends on, in reverse topological order."""
    need = {out}
    kept = []
    for row in reversed(rows):              # reachability, not the chain rule
        if row[0] in need:
            kept.append(row)
            need.update(row[2])             # literals (1-tuples) are never a row's slot
    return kept


# Rows hold slots as ints and literals as 1-tuples ``(value,)``.

def _ref(a, local: set, pre: list, prefix="v", table="V") -> str:
    """Source for the value of argument ``a``: a local, or loaded from the list."""
    if type(a) is not int:
        return lit(a[0])
    if a not in local:
        pre.append(f"{prefix}{a} = {table}[{a}]")
        local.add(a)
    return f"{prefix}{a}"


def code_forward(rows, ns):
    chunks = []
    for start in range(0, len(rows), CHUNK):
        body, local = [], set()
        for o, op, args in rows[start:start + CHUNK]:
            refs = [_ref(a, local, body) for a in args]
            body.append(f"v{o} = V[{o}] = {expr(op, refs)}")
            local.add(o)
        chunks.append(body)
    return compile_lines(chunks or [[]], "V", ns)


_USED = re.compile(r"\bv(\d+)\b")


def _local(op, j: int, refs: list, y: str) -> str:
    """The code of d op / d argument j, filled with the argument references and the
    result ``y`` (derived from its formula: :mod:`symgrad.numeric.codeform`)."""
    return partial_code(op, j, refs, y)


def _refs(args) -> list:
    return [f"v{a}" if type(a) is int else lit(a[0]) for a in args]


def _sign(d: str):
    return {"1": "+", "-1": "-"}.get(d)


class _Lines(Interpretation):
    """The sweep as straight-line code on lists ``V``/``G``: an adjoint is the
    local variable ``g{slot}``; its first contribution assigns it, later ones add
    to it (or to ``G[slot]``, filled by an earlier chunk or a fused layer).  A
    row's adjoint is loaded from ``G`` unless this chunk computed it, the values a
    partial reads are loaded before its line, and every ``CHUNK`` rows the
    chunk's adjoints are stored back and a new function begins."""

    def __init__(self):
        self.chunks, self.body, self.vals, self.adjs, self.rows = [], [], set(), set(), 0

    def settle(self, o, total):
        if self.rows == CHUNK:
            self.flush()
        self.rows += 1
        if o not in self.adjs:
            self.body.append(f"g{o} = G[{o}]")
            self.adjs.add(o)
        return f"g{o}"

    def flush(self):
        self.body.extend(f"G[{a}] = g{a}" for a in sorted(self.adjs))
        self.chunks.append(self.body)
        self.body, self.vals, self.adjs, self.rows = [], set(), set(), 0

    def partials(self, o, op, args):
        names = _refs(args)
        return [_local(op, j, names, f"v{o}") if type(a) is int else None
                for j, a in enumerate(args)]

    def term(self, seed, d, o, pos, a):
        for s in _USED.findall(d):           # load the values this partial reads
            _ref(int(s), self.vals, self.body)
        sign = _sign(d)
        return sign, seed if sign else f"{seed} * ({d})"

    def first(self, term, a):
        sign, contrib = term
        self.body.append(f"g{a} = {'-' if sign == '-' else ''}{contrib}")
        self.adjs.add(a)
        return f"g{a}"

    def add(self, total, term, a):
        sign, contrib = term
        prev = f"g{a}" if a in self.adjs else f"G[{a}]"
        self.body.append(f"g{a} = {prev} {sign or '+'} {contrib}")
        self.adjs.add(a)
        return f"g{a}"


def _seeds(rows, seen) -> dict:
    """The adjoints a segment of reverse rows starts from: its first row's (the
    output's, set by the caller) and those of ``seen``, all held in ``G``."""
    seeds = dict.fromkeys(seen or (), "G")
    if rows:
        seeds[rows[0][0]] = "G"
    return seeds


def _segment(rows, interp, seen) -> None:
    """The sweep over reverse ``rows`` starting from the adjoints in ``G`` (see
    :func:`_seeds`); ``seen`` gains the slots it contributes to."""
    adj = sweep(rows[::-1], None, interp, None, node=None, seeds=_seeds(rows, seen))
    if seen is not None:
        seen.update(a for a in adj if a is not None)


def code_reverse(rows, ns, seen=None):
    """Reverse sweep as straight-line code (:class:`_Lines` over
    :func:`symgrad.core.sweep.sweep`), ``rows`` in reverse topological order, the
    first one's adjoint given in ``G``.  ``seen``: slots whose adjoints already
    hold a contribution (a fused layer's; updated)."""
    lines = _Lines()
    _segment(rows, lines, seen)
    if lines.body or not lines.chunks:
        lines.flush()
    return compile_lines(lines.chunks, "V, G", ns)


class _Aliases(_Lines):
    """The sweep as lines on locals only (:func:`code_grad`): an adjoint is the
    name of the variable holding it, and a first contribution through a partial
    of 1 is not copied (the consumer's name is used)."""

    def __init__(self, body: list):
        self.body = body

    def settle(self, o, total):
        return total

    def term(self, seed, d, o, pos, a):
        sign = _sign(d)
        return d, sign, seed if sign else f"{seed} * ({d})"

    def first(self, term, a):
        d, sign, contrib = term
        if d == "1":
            return contrib
        self.body.append(f"g{a} = {'-' if sign == '-' else ''}{contrib}")
        return f"g{a}"

    def add(self, total, term, a):
        _, sign, contrib = term
        self.body.append(f"g{a} = {total} {sign or '+'} {contrib}")
        return f"g{a}"


def code_grad(low, out: int, ns):
    """One function: read and type-check the inputs, the forward lines of the
    output's ancestors, the reverse lines (:class:`_Aliases` over the sweep), and
    the inputs' adjoints as a dict."""
    rows = needed(low.rows, out)[::-1]                # the output's ancestors, in order
    ins = ", ".join(f"v{s}" for s in low.input_slots)
    body = [f"if len(d) != {len(low.inputs)}:", "    raise TypeError",
            "vals = take(d)", "if set(map(type, vals)) != FLOAT:",
            "    vals = [v if type(v) is float else as_float(v) for v in vals]",
            f"{ins}{',' if len(low.input_slots) == 1 else ''} = vals" if ins else "pass"]
    body.extend(f"v{o} = {expr(op, _refs(args))}" for o, op, args in rows)
    body.append(f"g{out} = 1.0")
    name = sweep(rows, out, _Aliases(body), f"g{out}", node=None)
    # The inputs' names are never written into the source: the result's keys are
    # read from the tuple K in the function's globals (issue 11).
    result = ", ".join(f"K[{i}]: {name.get(s, '0.0')}" for i, s in enumerate(low.input_slots))
    body.append("return {" + result + "}")
    extra = {"as_float": _as_float, "FLOAT": {float}, "take": _taker(low.inputs),
             "K": tuple(low.inputs)}
    return compile_lines([body], "d", {**ns, **extra})


def _taker(names: tuple):
    """``d -> tuple of d[name] for names`` in C (KeyError when one is missing)."""
    if not names:
        return lambda d: ()
    get = operator.itemgetter(*names)
    return get if len(names) > 1 else (lambda d: (get(d),))


def _as_float(v) -> float:
    """A float, numpy float64 scalar or 0-d array as a float; TypeError for
    anything else (ints, bools, arrays: the general path reads those)."""
    if type(v) is float:
        return v
    if type(v) is np.float64 or (type(v) is np.ndarray and v.shape == () and v.dtype == np.float64):
        return float(v)
    raise TypeError


def define(src: str, name: str, filename: str, ns: dict):
    """The function ``name`` defined by ``src`` (generated from op templates and slot
    numbers, never user text), made from its compiled code object with ``ns`` as
    globals: no ``eval`` or ``exec`` is involved."""
    module = compile(src, filename, "exec")
    code = next(c for c in module.co_consts if isinstance(c, types.CodeType) and c.co_name == name)
    return types.FunctionType(code, dict(ns), name)


def fn(params: list, src: str, ns: dict):
    return define(f"def _op({', '.join(params)}):\n    return {src}\n", "_op", "<symgrad op>", ns)


def _lambda(op, args, ns, template):
    """A function of the row's slot arguments (a0, a1, ...) with its literals baked in."""
    refs, k = [], 0
    for a in args:
        refs.append(f"a{k}" if type(a) is int else lit(a[0]))
        k += type(a) is int
    params = [f"a{i}" for i in range(k)]
    return params, refs


def _row_key(op, args):
    """(op, number of arguments) without literals, else (op, pattern): literals by
    the bits of the float the code holds (:func:`lit`), so 0.0 and -0.0 get their
    own functions."""
    for a in args:
        if type(a) is not int:
            return op.name, tuple(None if type(a) is int else lit(a[0]) for a in args)
    return op.name, len(args)


_OP_FUNCTIONS: dict = {}         # (backend, "f"/"d", op, literal pattern) -> function, all graphs


def _shared(ns) -> dict:
    """The row functions made for backend ``ns`` so far (bounded), shared by every
    graph: lowering a small graph then compiles little or nothing new."""
    cache = _OP_FUNCTIONS.setdefault(id(ns), {})
    if len(cache) > 4096:
        cache.clear()
    return cache


def loop_forward(rows, ns):
    """The instruction loop: per row (out slot, function, argument slots); literals
    are baked into the row's function, one function per op and literal pattern."""
    cache, prog = _shared(ns), []
    for o, op, args in rows:
        key = ("f",) + _row_key(op, args)
        f = cache.get(key)
        if f is None:
            params, refs = _lambda(op, args, ns, None)
            f = cache[key] = fn(params, expr(op, refs), ns)
        slots = args if key[2] == len(args) else tuple(a for a in args if type(a) is int)
        prog.append((o, f, slots[0] if len(slots) == 1 else -1, slots))

    def run(V):
        for o, f, a0, a in prog:
            if a0 >= 0:                                  # one node argument: the common case
                V[o] = f(V[a0])
            else:
                V[o] = f(*[V[i] for i in a])
    return run


class _Instructions(Interpretation):
    """The sweep as instructions of the reverse loop, one per row: ``(out slot,
    a, f, add, slots, edges)``.  A row with one node argument ``a`` has its
    partial ``f``; others list ``edges`` ``(argument slot, partial, add)``.  A
    partial is a function of ``(y, *argument values)`` (one per op, argument
    position and literal pattern, shared by all graphs) or :data:`_ONE`/
    :data:`_NEG` (a partial of 1 or -1); ``add`` tells whether the argument's
    adjoint already holds a contribution (decided here, once, not per run)."""

    def __init__(self, ns):
        self.ns, self.cache, self.prog, self.row = ns, _shared(ns), [], None

    def partials(self, o, op, args):
        slots = args
        for a in args:
            if type(a) is not int:
                key = ("d",) + _row_key(op, args)
                slots = tuple(a for a in args if type(a) is int)
                break
        else:
            key = ("d", op.name, len(args))
        parts = self.cache.get(key)
        if parts is None:
            parts = self.cache[key] = self._parts(op, args)
        if len(slots) == 1:
            self.row = (o, slots)
        else:
            self.row = None
            self.edges = []
            self.prog.append((o, -1, None, False, slots, self.edges))
        return parts

    def _parts(self, op, args) -> tuple:
        params, refs = _lambda(op, args, self.ns, None)
        parts = []
        for j, a in enumerate(args):
            d = _local(op, j, refs, "y") if type(a) is int else None
            parts.append(d if d is None else _ONE if d == "1" else _NEG if d == "-1"
                         else fn(["y"] + params, d, self.ns))
        return tuple(parts)

    def term(self, seed, d, o, pos, a):
        return d

    def first(self, f, a):
        if self.row is None:
            self.edges.append((a, f, False))
        else:
            self.prog.append((self.row[0], a, f, False, self.row[1], ()))
        return True

    def add(self, total, f, a):
        if self.row is None:
            self.edges.append((a, f, True))
        else:
            self.prog.append((self.row[0], a, f, True, self.row[1], ()))
        return True


def loop_reverse(rows, ns, seen=None):
    """The reverse instruction loop (:class:`_Instructions` over the sweep, at
    build time; ``rows`` in reverse topological order, the first one's adjoint
    given in ``G``, ``seen`` slots with contributions in ``G`` already).  A row
    with one node argument runs without building an argument list."""
    build = _Instructions(ns)
    _segment(rows, build, seen)
    prog = build.prog

    def run(V, G):
        for o, a, f, add, slots, edges in prog:
            g = G[o]
            if a >= 0:                                   # one node argument: the common case
                c = g if f is _ONE else -g if f is _NEG else g * f(V[o], V[a])
                G[a] = G[a] + c if add else c
                continue
            vals = [V[i] for i in slots]
            y = V[o]
            for a, f, add in edges:
                c = g if f is _ONE else -g if f is _NEG else g * f(y, *vals)
                G[a] = G[a] + c if add else c
    return run


_ONE, _NEG = object(), object()      # partials of 1 and -1: the adjoint itself, negated


def _run_chunks(chunks):
    if len(chunks) == 1:
        return chunks[0]

    def run(*lists):
        for c in chunks:
            c(*lists)
    return run


def compile_lines(lines_per_chunk, header: str, ns: dict):
    """Functions ``_c{k}(header)`` from lines of our own generated code (never user
    text: node names do not appear in it, literals are numbers), run in order;
    ``.source`` keeps the text for inspection."""
    chunks, sources = [], []
    for k, body in enumerate(lines_per_chunk):
        src = f"def _c{k}({header}):\n" + ("\n".join("    " + ln for ln in body) or "    pass") + "\n"
        chunks.append(define(src, f"_c{k}", f"<symgrad lowered {k}>", ns))
        sources.append(src)
    run = _run_chunks(chunks)
    if len(sources) == 1:                   # an inspectable single function
        run.source = sources[0]
    return run
