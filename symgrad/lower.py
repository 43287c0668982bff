"""Lowering: a graph compiled once into a flat executable program.

The reference interpreters (:func:`symgrad.forward.evaluate`,
:func:`symgrad.reverse.adjoints`) walk ``graph.program`` and call the op table's
``apply``/``partials`` per node per call.  This module instead turns the program,
once per graph (cached in ``graph._cache``), into

* **straight-line Python** for graphs of up to :data:`CODE_LIMIT` operations: one
  line per node, produced from the op table's ``code``/``dcode`` templates,
  compiled with ``compile()`` in chunks of :data:`CHUNK` lines; or
* an **instruction loop** over slot indices for larger graphs, where compiling
  would cost more than it saves (measured: ``compile()`` takes ~8 us a line, the
  loop ~0.1 us a node more than straight-line code per call).

Each program runs on one of two backends, chosen per call: ``MATH`` (Python
floats: IEEE arithmetic, ``math.sqrt``, numpy's kernels called on floats for the
transcendental functions) when every input is a scalar, ``NUM`` (numpy, the same
functions as the reference) for arrays.  The scalar backend raises where numpy
would return nan/inf (``exp(1000)``, ``log(0)``, ``1/0``, ``sqrt(-1)``); the scalar
program then falls back to the reference interpreter, so IEEE results are
unchanged.  Results are bit for bit those of the reference (``math.exp`` is not
used: it differs from numpy's exp in the last bit on ~4% of inputs, and
``sin(exp(40))`` shows how far one bit can travel).

Layers of weighted sums (an MLP's ``sum(mul(w, h), ...)`` neurons reading the same
previous-layer nodes) run as one matrix product each, forward and reverse: see
:mod:`symgrad.fuse`-style detection in :func:`find_layers`.

Values live in a list ``V`` indexed by slot (the node's position in
``graph.nodes``); adjoints in a list ``G`` (None where the output does not depend
on the node).  Every call allocates its own lists, so lowered programs are safe to
share between threads.
"""

from __future__ import annotations

import gc
import math
import operator
import re
import threading
from collections import OrderedDict
from contextlib import contextmanager
from numbers import Real

import numpy as np

from .fuse import LazyValues, NoFuse, find_layers, release
from .graph import Graph, is_node
from .ops import MATH, NUM

__all__ = ["lowered", "Lowered", "FALLBACK", "CODE_LIMIT", "CHUNK"]

CODE_LIMIT = 50_000     # operations: above, the instruction loop
CHUNK = 2_000           # lines per compiled function
FAST_LIMIT = 20_000     # operations: up to here, grad() on floats is one compiled function
_MAX_OUTPUTS = 8        # reverse programs kept per graph (one per differentiated output)
_LOCK = threading.Lock()


def _namespace(backend) -> dict:
    ns = dict(vars(backend))
    ns.update(inf=math.inf, nan=math.nan)
    return ns


_NS = {"math": _namespace(MATH), "num": _namespace(NUM)}
FALLBACK = (ArithmeticError, ValueError)        # math's way of saying nan/inf


@contextmanager
def _no_gc():
    """Building allocates one tuple per node and none of them form cycles: pausing
    the cyclic collector keeps a million-node build linear."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def lowered(graph: Graph) -> "Lowered":
    """The lowered program of ``graph``, built on first use and cached on the graph."""
    low = graph._cache.get("lowered")
    if low is None:
        with _LOCK:
            low = graph._cache.get("lowered")
            if low is None:
                with _no_gc():
                    low = graph._cache["lowered"] = Lowered(graph)
    return low


def _lit(v) -> str:
    """A literal argument as Python source (parenthesized: it may be negative)."""
    if isinstance(v, float) and not math.isfinite(v):
        return "nan" if v != v else ("inf" if v > 0 else "(-inf)")
    return f"({float(v)!r})" if isinstance(v, float) else f"({int(v)!r})"


def _expr(template: str, refs: list, sep: str, nary: bool, y: str = "") -> str:
    if nary:
        return template.format(sep.join(refs), y=y)
    return template.format(*refs, y=y)


class Lowered:
    """The flat program of one graph: slots, rows, and compiled passes per backend."""

    def __init__(self, graph: Graph):
        self.names = graph.nodes
        self.inputs = graph.inputs
        self.slot = {n: i for i, n in enumerate(self.names)}
        self.input_slots = tuple(self.slot[x] for x in graph.inputs)
        self.rows = tuple((self.slot[name], op, tuple(self.slot[a] if is_node(a) else (a,) for a in args))
                          for name, op, args in graph.program)
        self.mode = "code" if len(self.rows) <= CODE_LIMIT else "loop"
        self._fwd: dict = {}
        self._rev: OrderedDict = OrderedDict()
        self._lock = threading.Lock()
        self._layers = None
        self._pool: dict = {}
        self._grad: dict = {}

    # -- running ---------------------------------------------------------------
    def values(self, inputs: dict, scalar: bool) -> list:
        """Forward values of every node as a list by slot; ``inputs`` maps input
        name -> value (already read).  Raises on the scalar backend where numpy
        gives nan/inf (callers fall back)."""
        V = [None] * len(self.names)
        for s, v in zip(self.input_slots, inputs.values(), strict=True):
            V[s] = float(v) if scalar else v
        self.forward_pass("math" if scalar else "num")(V)
        return V

    def adjoints(self, V: list, output: str, scalar: bool) -> list:
        """Adjoints by slot (None: the output does not depend on the node)."""
        G = [None] * len(self.names)
        out = self.slot[output]
        G[out] = 1.0 if scalar else np.float64(1.0)
        self.reverse_pass("math" if scalar else "num", out)(V, G)
        return G

    def run_arrays(self, inputs: dict, output: str | None = None, mean: bool = False,
                   skip: frozenset = frozenset()):
        """Forward values (and adjoints of ``output``) with array inputs, fused
        layers where they fit.  Returns ``(values, adjoints)``: values a Mapping
        name -> value (products of fused layers computed when read), adjoints a
        list by slot or None.  With ``mean``, fused weights' adjoints are already
        averaged over the samples (a scalar each)."""
        V = [None] * len(self.names)
        for s, v in zip(self.input_slots, inputs.values(), strict=True):
            V[s] = v
        M = {"mean": mean, "pool": self._pool, "used": [], "skip": skip} if mean else {"mean": False}
        fused = self.fused_forward()
        if fused is not None:
            try:
                fused(V, M)
            except NoFuse:
                fused = None
        if fused is None:
            self.forward_pass("num")(V)
        vals = LazyValues(self.names, self.slot, V, self._products if fused else {})
        if output is None:
            return vals, None, M
        G = [None] * len(self.names)
        out = self.slot[output]
        G[out] = np.float64(1.0)
        if fused:
            self.fused_reverse(out)(V, G, M)
        else:
            self.reverse_pass("num", out)(V, G)
        return vals, G, M

    def mean_gradient(self, inputs: dict, output: str, wrt: tuple | None = None) -> tuple:
        """``(mean of output, {input: mean adjoint})`` over array samples, for the
        inputs ``wrt`` (default: all); buffers of the fused layers are pooled
        across calls (nothing of them is returned)."""
        wrt = self.inputs if wrt is None else wrt
        vals, G, M = self.run_arrays(inputs, output, mean=True, skip=self._skippable(wrt))
        try:
            value = float(np.mean(vals[output]))
            return value, {x: _mean(G[self.slot[x]]) for x in wrt}
        finally:
            release(M)

    def _skippable(self, wrt) -> frozenset:
        """Input slots whose adjoints nobody asked for (fused layers skip them)."""
        return frozenset(self.input_slots) - {self.slot[x] for x in wrt}

    # -- building (once, under the lock) -------------------------------------------
    def layers(self) -> list:
        """The fusable layers (see :mod:`symgrad.fuse`), found once."""
        if self._layers is None:
            with self._lock:
                if self._layers is None:
                    layers = find_layers(self.rows, self.input_slots, _matrix_fns)
                    row_of = {o: k for k, (o, _, _) in enumerate(self.rows)}
                    self._products = {m: self.rows[row_of[m]][2] for L in layers for m in L.muls}
                    self._layers = layers
        return self._layers

    def scalar_grad(self, output: str):
        """``fn(inputs) -> {input: float}``: forward and reverse sweep of the
        output's ancestors as one function on Python floats, for graphs of up to
        :data:`FAST_LIMIT` operations (else None).  It raises TypeError or KeyError
        unless ``inputs`` maps exactly the graph's inputs to floats, and the
        scalar backend's errors where numpy would give nan/inf: callers then take
        the general path."""
        fn = self._grad.get(output)
        if fn is None:
            if len(self.rows) > FAST_LIMIT:
                return None
            with self._lock:
                fn = self._grad.get(output)
                if fn is None:
                    if len(self._grad) >= _MAX_OUTPUTS:
                        self._grad.clear()
                    with _no_gc():
                        fn = self._grad[output] = _code_grad(self, self.slot[output], _NS["math"])
        return fn

    def fused_forward(self):
        """The forward pass with fused layers, or None when there are none."""
        if not self.layers():
            return None
        fn = self._fwd.get("fused")
        if fn is None:
            with self._lock:
                fn = self._fwd.get("fused")
                if fn is None:
                    fn = self._fwd["fused"] = _fused_forward(self, _NS["num"])
        return fn

    def fused_reverse(self, out: int):
        key = ("fused", out)
        fn = self._rev.get(key)
        if fn is None:
            with self._lock:
                fn = self._rev.get(key)
                if fn is None:
                    fn = self._rev[key] = _fused_reverse(self, out, _NS["num"])
                    while len(self._rev) > _MAX_OUTPUTS:
                        self._rev.popitem(last=False)
        return fn

    def forward_pass(self, backend: str):
        fn = self._fwd.get(backend)
        if fn is None:
            with self._lock:
                fn = self._fwd.get(backend)
                if fn is None:
                    with _no_gc():
                        fn = self._fwd[backend] = (_code_forward if self.mode == "code" else _loop_forward)(
                            self.rows, _NS[backend])
        return fn

    def reverse_pass(self, backend: str, out: int):
        key = (backend, out)
        fn = self._rev.get(key)
        if fn is None:
            with self._lock:
                fn = self._rev.get(key)
                if fn is None:
                    build = _code_reverse if self.mode == "code" else _loop_reverse
                    with _no_gc():
                        fn = self._rev[key] = build(_needed(self.rows, out), _NS[backend])
                    while len(self._rev) > _MAX_OUTPUTS:
                        self._rev.popitem(last=False)
        return fn


def _mean(a) -> float:
    if type(a) is float:
        return a
    if a is None:
        return 0.0
    return float(a) if type(a) is not np.ndarray or a.ndim == 0 else float(a.mean())


def _needed(rows, out: int) -> list:
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
        return _lit(a[0])
    if a not in local:
        pre.append(f"{prefix}{a} = {table}[{a}]")
        local.add(a)
    return f"{prefix}{a}"


def _code_forward(rows, ns):
    chunks = []
    for start in range(0, len(rows), CHUNK):
        body, local = [], set()
        for o, op, args in rows[start:start + CHUNK]:
            refs = [_ref(a, local, body) for a in args]
            body.append(f"v{o} = V[{o}] = {_expr(op.code, refs, op.code_sep, op.arity < 0)}")
            local.add(o)
        chunks.append(body)
    return _compile(chunks or [[]], "V", ns)


_USED = re.compile(r"\bv(\d+)\b")


def _partial(op, j: int) -> str:
    return op.dcode[0] if op.arity < 0 else op.dcode[j]


def _code_reverse(rows, ns, seen=None):
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
            names = [f"v{a}" if type(a) is int else _lit(a[0]) for a in args]
            for j, a in enumerate(args):
                if type(a) is not int:
                    continue
                d = _partial(op, j)
                d = d.format(names[j], y=f"v{o}") if op.arity < 0 else d.format(*names, y=f"v{o}")
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
    return _compile(chunks or [[]], "V, G", ns)


def _code_grad(low: Lowered, out: int, ns):
    """One function: read and type-check the inputs, the forward lines of the
    output's ancestors, the reverse lines, and the inputs' adjoints as a dict.
    An adjoint that is a copy of another (a partial of 1, first contribution) is
    not copied: the name of the other is used."""
    rows = _needed(low.rows, out)                      # reverse topological order
    ins = ", ".join(f"v{s}" for s in low.input_slots)
    body = [f"if len(d) != {len(low.inputs)}:", "    raise TypeError",
            "vals = take(d)", "if set(map(type, vals)) != FLOAT:",
            "    vals = [v if type(v) is float else as_float(v) for v in vals]",
            f"{ins}{',' if len(low.input_slots) == 1 else ''} = vals"]
    for o, op, args in reversed(rows):
        refs = [f"v{a}" if type(a) is int else _lit(a[0]) for a in args]
        body.append(f"v{o} = {_expr(op.code, refs, op.code_sep, op.arity < 0)}")
    body.append(f"g{out} = 1.0")
    name = {out: f"g{out}"}                            # slot -> the variable holding its adjoint
    for o, op, args in rows:
        names = [f"v{a}" if type(a) is int else _lit(a[0]) for a in args]
        for j, a in enumerate(args):
            if type(a) is not int:
                continue
            d = _partial(op, j)
            d = d.format(names[j], y=f"v{o}") if op.arity < 0 else d.format(*names, y=f"v{o}")
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
    result = ", ".join(f"{x!r}: {name.get(s, '0.0')}" for x, s in zip(low.inputs, low.input_slots, strict=True))
    body.append("return {" + result + "}")
    extra = {"as_float": _as_float, "FLOAT": {float}, "take": _taker(low.inputs)}
    return _compile([body], "d", {**ns, **extra})


def _taker(names: tuple):
    """``d -> tuple of d[name] for names`` in C (KeyError when one is missing)."""
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


def _fn(params: list, src: str, ns: dict):
    return eval(compile(f"lambda {', '.join(params)}: {src}", "<symgrad op>", "eval"), dict(ns))  # noqa: S307


def _lambda(op, args, ns, template):
    """A function of the row's slot arguments (a0, a1, ...) with its literals baked in."""
    refs, k = [], 0
    for a in args:
        refs.append(f"a{k}" if type(a) is int else _lit(a[0]))
        k += type(a) is int
    params = [f"a{i}" for i in range(k)]
    return params, refs


def _row_key(op, args):
    if all(type(a) is int for a in args):
        return op.name, len(args)
    return op.name, tuple(None if type(a) is int else a for a in args)


def _loop_forward(rows, ns):
    """The instruction loop: per row (out slot, function, argument slots); literals
    are baked into the row's function, one function per op and literal pattern."""
    cache, prog = {}, []
    for o, op, args in rows:
        key = _row_key(op, args)
        f = cache.get(key)
        if f is None:
            params, refs = _lambda(op, args, ns, op.code)
            f = cache[key] = _fn(params, _expr(op.code, refs, op.code_sep, op.arity < 0), ns)
        slots = args if key[1] == len(args) else tuple(a for a in args if type(a) is int)
        prog.append((o, f, slots[0] if len(slots) == 1 else -1, slots))

    def run(V):
        for o, f, a0, a in prog:
            if a0 >= 0:                                  # one node argument: the common case
                V[o] = f(V[a0])
            else:
                V[o] = f(*[V[i] for i in a])
    return run


def _loop_reverse(rows, ns):
    cache, prog = {}, []
    for o, op, args in rows:
        key = _row_key(op, args)
        parts = cache.get(key)
        if parts is None:
            params, refs = _lambda(op, args, ns, None)
            parts = []
            for j, a in enumerate(args):
                if type(a) is int:
                    d = _partial(op, j)
                    d = d.format(refs[j], y="y") if op.arity < 0 else d.format(*refs, y="y")
                    parts.append(d if d in ("1", "-1") else _fn(["y"] + params, d, ns))
            parts = cache[key] = tuple(parts)
        slots = args if key[1] == len(args) else tuple(a for a in args if type(a) is int)
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


def _compile(lines_per_chunk, header: str, ns: dict):
    """Functions ``_c{k}(header)`` from lines of our own generated code (never user
    text: node names do not appear in it, literals are numbers), run in order;
    ``.source`` keeps the text for inspection."""
    chunks, sources = [], []
    for k, body in enumerate(lines_per_chunk):
        src = f"def _c{k}({header}):\n" + ("\n".join("    " + ln for ln in body) or "    pass") + "\n"
        scope = dict(ns)
        exec(compile(src, f"<symgrad lowered {k}>", "exec"), scope)   # noqa: S102 - our own code
        chunks.append(scope[f"_c{k}"])
        sources.append(src)
    run = _run_chunks(chunks)
    if len(sources) == 1:                   # an inspectable single function
        run.source = sources[0]
    return run


# -- programs with fused layers (symgrad.fuse) ---------------------------------------------

def _matrix_fns(op, extra):
    """An activation's value and partial as functions of whole matrices.  A value
    template that is one numpy ufunc of the argument (``tanh({0})``) is marked
    ``.ufunc``: the layer then writes it into its own buffer, without temporaries."""
    refs = ["a0"] + [_lit(e[0]) for e in extra]
    value = _fn(["a0"], _expr(op.code, refs, op.code_sep, op.arity < 0), _NS["num"])
    call = re.fullmatch(r"(\w+)\(\{0\}\)", op.code)
    func = _NS["num"].get(call.group(1)) if call else None
    value.ufunc = func if isinstance(func, np.ufunc) and func.nin == 1 else None
    d = op.dcode[0].format(*refs, y="y")
    return value, (None if d == "1" else _fn(["y", "a0"], d, _NS["num"]))


def _fused_forward(low: Lowered, ns):
    """Generic segments (compiled as usual) between fused layer steps."""
    at = {L.first: L for L in low.layers()}
    skip = set().union(*(L.rows for L in low.layers()))
    build = _code_forward if low.mode == "code" else _loop_forward
    steps, seg = [], []
    for k, row in enumerate(low.rows):
        if k in at:
            if seg:
                steps.append(_plain(build(seg, ns)))
                seg = []
            steps.append(at[k].forward)
        elif k not in skip:
            seg.append(row)
    if seg:
        steps.append(_plain(build(seg, ns)))

    def run(V, M):
        for step in steps:
            step(V, M)
    return run


def _plain(fn):
    return lambda V, M: fn(V)


def _plain_rev(fn):
    return lambda V, G, M: fn(V, G)


def _fused_reverse(low: Lowered, out: int, ns):
    need = {out} | {o for o, _, _ in _needed(low.rows, out)}
    layers = [L for L in low.layers()
              if set(L.sums) & need and out not in {low.rows[k][0] for k in L.rows}]
    at = {L.first: L for L in layers}
    skip = set().union(*(L.rows for L in layers))
    seen: set = set()
    build = (lambda rows: _code_reverse(rows, ns, seen)) if low.mode == "code" else \
        (lambda rows: _loop_reverse(rows, ns))
    steps, seg = [], []
    for k in range(len(low.rows) - 1, -1, -1):
        row = low.rows[k]
        if k in at:
            if seg:
                steps.append(_plain_rev(build(seg)))
                seg = []
            steps.append(at[k].reverse)
            seen |= at[k].touched
        elif k not in skip and row[0] in need:
            seg.append(row)
    if seg:
        steps.append(_plain_rev(build(seg)))

    def run(V, G, M):
        for step in steps:
            step(V, G, M)
    return run
