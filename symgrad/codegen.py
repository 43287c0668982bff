"""Code generation for the lowered executor (:mod:`symgrad.lower`).

From a lowered program's rows (``(out slot, Op, args)``, slots as ints and
literals as 1-tuples), written with each op's formulas run on the code backend
(:mod:`symgrad.codeform`):

* :func:`code_forward` / :func:`code_reverse`: straight-line Python, one line a
  node, values and adjoints in lists ``V``/``G`` indexed by slot, compiled in
  chunks of :data:`CHUNK` lines;
* :func:`code_grad`: forward and reverse of one output's ancestors as ONE
  function on Python floats, locals only, returning the inputs' adjoints;
* :func:`loop_forward` / :func:`loop_reverse`: an instruction loop over slots,
  for graphs too large to compile (``compile()`` costs ~8 us a line).

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
    """The code of ``op`` applied to ``refs`` (derived from its formula: :mod:`symgrad.codeform`)."""
    return apply_code(op, refs)



def needed(rows, out: int) -> list:
    """The rows the output depends on, in reverse topological order."""
    need = {out}
    kept = []
    for row in reversed(rows):
        if row[0] in need:
            kept.append(row)
            need.update(a for a in row[2] if type(a) is int)
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
    result ``y`` (derived from its formula: :mod:`symgrad.codeform`)."""
    return partial_code(op, j, refs, y)


def code_reverse(rows, ns, seen=None):
    """Reverse sweep as straight-line code: per node, its adjoint times each local
    partial, summed into the argument's adjoint (first contribution assigned).
    ``seen``: slots whose adjoints already hold a contribution (updated)."""
    chunks = []
    seen = set() if seen is None else seen     # adjoints with a contribution so far
    for start in range(0, len(rows), CHUNK):
        body, vals, adjs = [], set(), set()
        for o, op, args in rows[start:start + CHUNK]:
            if o not in adjs:
                body.append(f"g{o} = G[{o}]")
                adjs.add(o)
            names = [f"v{a}" if type(a) is int else lit(a[0]) for a in args]
            for j, a in enumerate(args):
                if type(a) is not int:
                    continue
                d = _local(op, j, names, f"v{o}")
                for s in _USED.findall(d):           # load the values this partial reads
                    _ref(int(s), vals, body)
                sign = {"1": "+", "-1": "-"}.get(d)
                contrib = f"g{o}" if sign else f"g{o} * ({d})"
                if a not in seen:
                    body.append(f"g{a} = {'-' if sign == '-' else ''}{contrib}")
                else:
                    prev = f"g{a}" if a in adjs else f"G[{a}]"
                    body.append(f"g{a} = {prev} {sign or '+'} {contrib}")
                seen.add(a)
                adjs.add(a)
        body.extend(f"G[{a}] = g{a}" for a in sorted(adjs))
        chunks.append(body)
    return compile_lines(chunks or [[]], "V, G", ns)


def code_grad(low, out: int, ns):
    """One function: read and type-check the inputs, the forward lines of the
    output's ancestors, the reverse lines, and the inputs' adjoints as a dict.
    An adjoint that is a copy of another (a partial of 1, first contribution) is
    not copied: the name of the other is used."""
    rows = needed(low.rows, out)                      # reverse topological order
    ins = ", ".join(f"v{s}" for s in low.input_slots)
    body = [f"if len(d) != {len(low.inputs)}:", "    raise TypeError",
            "vals = take(d)", "if set(map(type, vals)) != FLOAT:",
            "    vals = [v if type(v) is float else as_float(v) for v in vals]",
            f"{ins}{',' if len(low.input_slots) == 1 else ''} = vals" if ins else "pass"]
    for o, op, args in reversed(rows):
        refs = [f"v{a}" if type(a) is int else lit(a[0]) for a in args]
        body.append(f"v{o} = {expr(op, refs)}")
    body.append(f"g{out} = 1.0")
    name = {out: f"g{out}"}                            # slot -> the variable holding its adjoint
    for o, op, args in rows:
        names = [f"v{a}" if type(a) is int else lit(a[0]) for a in args]
        for j, a in enumerate(args):
            if type(a) is not int:
                continue
            d = _local(op, j, names, f"v{o}")
            if d == "1" and a not in name:
                name[a] = name[o]
                continue
            sign = {"1": "+", "-1": "-"}.get(d)
            contrib = name[o] if sign else f"{name[o]} * ({d})"
            if a not in name:
                body.append(f"g{a} = {'-' if sign == '-' else ''}{contrib}")
            else:
                body.append(f"g{a} = {name[a]} {sign or '+'} {contrib}")
            name[a] = f"g{a}"
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
    if all(type(a) is int for a in args):
        return op.name, len(args)
    return op.name, tuple(None if type(a) is int else lit(a[0]) for a in args)


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


def loop_reverse(rows, ns):
    """The reverse instruction loop: per row its local partials, one function per
    op, argument position and literal pattern; adjoints summed into ``G``."""
    cache, prog = _shared(ns), []
    for o, op, args in rows:
        key = ("d",) + _row_key(op, args)
        parts = cache.get(key)
        if parts is None:
            params, refs = _lambda(op, args, ns, None)
            parts = []
            for j, a in enumerate(args):
                if type(a) is int:
                    d = _local(op, j, refs, "y")
                    parts.append(d if d in ("1", "-1") else fn(["y"] + params, d, ns))
            parts = cache[key] = tuple(parts)
        slots = args if key[2] == len(args) else tuple(a for a in args if type(a) is int)
        prog.append((o, slots[0] if len(slots) == 1 else -1, parts[0] if len(slots) == 1 else None,
                     slots, parts))

    def run(V, G):
        for o, a, f, slots, parts in prog:
            g = G[o]
            if a >= 0:                                   # one node argument: the common case
                c = g if f == "1" else -g if f == "-1" else g * f(V[o], V[a])
                p = G[a]
                G[a] = c if p is None else p + c
                continue
            vals = [V[i] for i in slots]
            y = V[o]
            for a, f in zip(slots, parts):
                c = g if f == "1" else -g if f == "-1" else g * f(y, *vals)
                p = G[a]
                G[a] = c if p is None else p + c
    return run


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
