"""Lowering: a graph compiled once into a flat executable program.

:func:`execute` is the one road of ``forward``, ``backward``, ``grad`` and
``mean_grad``: it reads the inputs once and picks the tier below.

The reference interpreters (:func:`symgrad.numeric.reference.evaluate`,
:func:`symgrad.numeric.reference.adjoints`, public as ``symgrad.numeric.forward.evaluate`` and
``symgrad.numeric.reverse.adjoints``) walk ``graph.program`` and call the op table's
``apply``/``partials`` per node per call; they stay the specification (and run
strict mode).  This module instead turns the program, once per graph (cached in
``graph._cache``, each piece made once by :func:`built`), into code made by
:mod:`symgrad.numeric.codegen` from the op table's formulas (run on the code backend,
:mod:`symgrad.numeric.codeform`), its reverse passes by the one chain-rule sweep
(:mod:`symgrad.core.sweep`) at build time:

* for ``grad`` on floats, up to :data:`FAST_LIMIT` operations: one function, the
  output's ancestors forward and backward on locals;
* up to :data:`CODE_LIMIT` operations: straight-line code, one line a node,
  compiled in chunks;
* above, and for the first :data:`HOT_AFTER` evaluations of any graph: an
  instruction loop over slot indices (``compile()`` costs ~8 us a line; the loop
  runs a sin chain at 0.53 us a node against 0.35 for compiled code).

Each program runs on one of two backends, chosen per call: ``MATH`` (Python
floats: IEEE arithmetic, ``math.sqrt``, numpy's kernels called on floats for the
transcendental functions) when every input is a scalar, ``NUM`` (numpy, the same
functions as the reference) for arrays.  The scalar backend raises where numpy
would return nan/inf (``exp(1000)``, ``log(0)``, ``1/0``, ``sqrt(-1)``); the call
then falls back to the reference interpreter, so IEEE results are unchanged.
Results are bit for bit those of the reference (``math.exp`` is not used: it
differs from numpy's exp in the last bit on ~4% of inputs, and ``sin(exp(40))``
shows how far one bit can travel).

Layers of weighted sums (an MLP's ``sum(mul(w, h), ...)`` neurons reading the same
previous-layer nodes) run as one matrix product each, forward and reverse
(:mod:`symgrad.numeric.fuse`); only these differ from the reference, by rounding.

Values live in a list ``V`` indexed by slot (the node's position in
``graph.nodes``); adjoints in a list ``G`` (None where the output does not depend
on the node).  Every call allocates its own lists; building is locked per graph:
lowered programs are safe to share between threads.

The first :data:`HOT_AFTER` evaluations of a graph run the instruction loop
(building it compiles nothing per graph); later ones compile straight-line code:

>>> import symgrad as sg
>>> g = sg.parse("sqrt(x**2 + exp(x**2)) + cos(x**2 + exp(x**2))")
>>> for _ in range(3):
...     f = g.forward(x=2.0)["f"]
>>> print(lowered(g).forward_pass("math").source)
def _c0(V):
    v0 = V[0]
    v1 = V[1] = pow(v0, (2.0))
    v2 = V[2] = exp(v1)
    v3 = V[3] = v1 + v2
    v4 = V[4] = sqrt(v3)
    v5 = V[5] = cos(v3)
    v6 = V[6] = v4 + v5
<BLANKLINE>
"""

from __future__ import annotations

import gc
import math
import re
import threading
from collections import OrderedDict

import numpy as np

from .codeform import partial_code
from .codegen import (code_forward, code_grad, code_reverse, expr, fn, lit, loop_forward,
                      loop_reverse, needed)
from .fuse import LazyValues, NoFuse, find_layers, release
from ..errors import InputError
from ..core.graph import Graph
from .mathns import MATH
from ..core.ops import NUM
from .reference import NodeValues, adjoints, evaluate, read_inputs

__all__ = ["execute", "lowered", "Lowered", "built", "FALLBACK", "CODE_LIMIT", "FAST_LIMIT",
           "HOT_AFTER"]

CODE_LIMIT = 50_000     # operations: above, the instruction loop
HOT_AFTER = 2           # evaluations of a graph that run the loop before code is compiled
FAST_LIMIT = 20_000     # operations: up to here, grad() on floats is one compiled function
_MAX_OUTPUTS = 8        # reverse programs kept per graph (one per differentiated output)
_LOCK = threading.Lock()


def _namespace(backend) -> dict:
    ns = dict(vars(backend))
    ns.update(inf=math.inf, nan=math.nan)
    return ns


_NS = {"math": _namespace(MATH), "num": _namespace(NUM)}
# math's way of saying nan/inf; numpy's under np.errstate(all="raise")
# (FloatingPointError) or with warnings as errors (RuntimeWarning, e.g. an
# underflow under errstate(all="warn")): the reference then runs, quietly.
FALLBACK = (ArithmeticError, ValueError, RuntimeWarning)


def execute(graph: Graph, values, inputs: dict, want: str, limit: int,
            output: str | None = None, strict: bool = False, wrt=None):
    """The one road of :func:`~symgrad.numeric.forward.forward`, :func:`~symgrad.numeric.reverse.backward`,
    :func:`~symgrad.numeric.reverse.grad` and :func:`~symgrad.numeric.reverse.mean_grad` (``want``:
    ``"values"``, ``"adjoints"``, ``"grad"`` or ``"mean"``): reads the inputs once
    (at most ``limit`` elements a node), picks the tier and returns what the
    caller returns.  ``want="passes"`` returns the raw ``(values, adjoints)``:
    values a list by slot or a Mapping node -> value, adjoints a list by slot
    (None where ``output`` does not depend on the node) or None without output.

    The tiers: ``grad`` on floats tries the one compiled function first; strict
    mode runs the reference interpreters (:mod:`symgrad.numeric.reference`); scalars run
    the lowered program on the ``MATH`` backend, falling back to the reference
    where it raises (numpy would give nan/inf); arrays run it on ``NUM``, with
    fused layers where they fit, and a mean gradient averages inside them.
    """
    if want == "values":
        out = None
    elif output is None and len(graph.outputs) == 1:
        out = graph.outputs[0]
    else:
        out = graph.default_output(output)
    low = graph._cache.get("lowered") or lowered(graph)
    if want == "grad" and not strict and (values is None or not inputs):
        fast = low._grad.get(out) or low.scalar_grad(out)    # floats in, one compiled function
        if fast is not None:
            try:
                return fast(inputs if values is None else values)
            except (TypeError, KeyError, *FALLBACK):    # not plain floats, or nan/inf ahead
                pass
    ins, shape = read_inputs(graph, values, inputs, limit)
    if want == "mean":
        wrt = graph.inputs if wrt is None else tuple(wrt)
        unknown = [x for x in wrt if x not in ins]
        if unknown:
            raise InputError(f"wrt names {', '.join(map(repr, unknown))}, which are not inputs; "
                             f"the graph's inputs are {', '.join(graph.inputs)}")
        if shape is not None:
            with np.errstate(all="ignore"):
                return low.mean_gradient(ins, out, wrt)
    if strict:
        vals, adj = _reference(graph, ins, out, True)
    elif shape is None:
        try:
            vals = low.values(ins, scalar=True)
            adj = None if out is None else low.adjoints(vals, out, scalar=True)
        except FALLBACK:                      # math raised where numpy gives nan/inf
            vals, adj = _reference(graph, ins, out, False)
    else:
        with np.errstate(all="ignore"):
            vals, adj, _ = low.run_arrays(ins, out)
    if want == "values":
        return NodeValues(dict(zip(low.names, vals, strict=True)) if type(vals) is list else vals, shape)
    if want == "adjoints":
        zero = np.float64(0.0)
        return NodeValues({n: zero if a is None else a for n, a in zip(low.names, adj, strict=True)},
                          shape)
    if want == "passes":
        return vals, adj
    slot = low.slot
    if want == "mean":
        value = vals[slot[out]] if type(vals) is list else vals[out]
        return float(value), {x: _mean(adj[slot[x]]) for x in wrt}
    if shape is None:
        return {x: 0.0 if adj[slot[x]] is None else float(adj[slot[x]]) for x in low.inputs}
    zero = np.float64(0.0)
    return {x: np.broadcast_to(zero if adj[slot[x]] is None else adj[slot[x]], shape)
            for x in low.inputs}


def _reference(graph: Graph, ins: dict, output: str | None, strict: bool) -> tuple:
    """The reference interpreters: values ``{node: value}`` and adjoints by slot."""
    vals = evaluate(graph, ins, strict=strict)
    if output is None:
        return {n: vals[n] for n in graph.nodes}, None
    adj = adjoints(graph, vals, output, strict=strict)
    return vals, [adj.get(n) for n in graph.nodes]


def lowered(graph: Graph) -> "Lowered":
    """The lowered program of ``graph``, built on first use and cached on the graph."""
    low = graph._cache.get("lowered")
    return low if low is not None else built(graph._cache, "lowered", _LOCK, lambda: Lowered(graph))


def built(store, key, lock, build, bound: int | None = None):
    """``store[key]``, made by ``build()`` the first time: double-checked under
    ``lock`` (threads share lowered programs), with the garbage collector paused
    while building (a large graph's build makes millions of small objects).  With
    ``bound``, ``store`` (an OrderedDict) keeps only the last ``bound`` entries."""
    fn = store.get(key)
    if fn is None:
        with lock:
            fn = store.get(key)
            if fn is None:
                was = gc.isenabled()             # graph.no_gc, without a generator's cost:
                gc.disable()                     # builds of small graphs are hot (W5)
                try:
                    fn = store[key] = build()
                finally:
                    if was:
                        gc.enable()
                while bound is not None and len(store) > bound:
                    store.popitem(last=False)
    return fn


class Lowered:
    """The flat program of one graph: slots, rows, and compiled passes per backend."""

    def __init__(self, graph: Graph):
        self.names = graph.nodes
        self.inputs = graph.inputs
        self.slot = {n: i for i, n in enumerate(self.names)}
        self.input_slots = tuple(self.slot[x] for x in graph.inputs)
        slot = self.slot
        self.rows = tuple((slot[name], op, tuple([slot[a] if isinstance(a, str) else (a,) for a in args]))
                          for name, op, args in graph.program)
        self.mode = "code" if len(self.rows) <= CODE_LIMIT else "loop"
        self._fwd: dict = {}
        self._rev: OrderedDict = OrderedDict()
        self._lock = threading.Lock()
        self._layers = None
        self._pool: dict = {}
        self._grad: OrderedDict = OrderedDict()
        self._uses = 0          # evaluations so far, up to HOT_AFTER + 1 (racy: a heuristic)

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
        """The fusable layers (see :mod:`symgrad.numeric.fuse`), found once."""
        return self._layers if self._layers is not None else \
            built(self.__dict__, "_layers", self._lock, self._find_layers)

    def _find_layers(self) -> list:
        layers = find_layers(self.rows, self.input_slots, _matrix_fns)
        row_of = {o: k for k, (o, _, _) in enumerate(self.rows)}
        self._products = {m: self.rows[row_of[m]][2] for L in layers for m in L.muls}
        return layers

    def scalar_grad(self, output: str):
        """``fn(inputs) -> {input: float}``: forward and reverse sweep of the
        output's ancestors as one function on Python floats, for graphs of up to
        :data:`FAST_LIMIT` operations (else None).  It raises TypeError or KeyError
        unless ``inputs`` maps exactly the graph's inputs to floats, and the
        scalar backend's errors where numpy would give nan/inf: callers then take
        the general path."""
        fn = self._grad.get(output)
        if fn is None:
            if len(self.rows) > FAST_LIMIT or self._uses < HOT_AFTER:
                return None
            fn = built(self._grad, output, self._lock,
                       lambda: code_grad(self, self.slot[output], _NS["math"]), _MAX_OUTPUTS)
        return fn

    def fused_forward(self):
        """The forward pass with fused layers, or None when there are none."""
        if not self.layers():
            return None
        return built(self._fwd, "fused", self._lock, lambda: _fused_forward(self, _NS["num"]))

    def fused_reverse(self, out: int):
        return built(self._rev, ("fused", out), self._lock,
                     lambda: _fused_reverse(self, out, _NS["num"]), _MAX_OUTPUTS)

    def _compiled(self) -> bool:
        """Compiled code (else the loop): for graphs up to CODE_LIMIT operations from
        their (HOT_AFTER + 1)-th evaluation on.  A graph evaluated once or twice, as
        in a property test, costs no compile() (~8 us a line)."""
        return self.mode == "code" and self._uses > HOT_AFTER

    def forward_pass(self, backend: str):
        """The forward pass on ``backend`` (one call = one evaluation, counted)."""
        if self._uses <= HOT_AFTER:
            self._uses += 1
        compiled = self._compiled()
        key = backend if compiled else ("loop", backend)
        fn = self._fwd.get(key)
        if fn is None:
            build = code_forward if compiled else loop_forward
            fn = built(self._fwd, key, self._lock, lambda: build(self.rows, _NS[backend]))
        return fn

    def reverse_pass(self, backend: str, out: int):
        compiled = self._compiled()
        key = (backend, out) if compiled else ("loop", backend, out)
        fn = self._rev.get(key)
        if fn is None:
            build = code_reverse if compiled else loop_reverse
            fn = built(self._rev, key, self._lock,
                       lambda: build(needed(self.rows, out), _NS[backend]), _MAX_OUTPUTS)
        return fn


def _mean(a) -> float:
    if type(a) is float:
        return a
    if a is None:
        return 0.0
    return float(a) if type(a) is not np.ndarray or a.ndim == 0 else float(a.mean())


# -- programs with fused layers (symgrad.numeric.fuse) ---------------------------------------------

def _matrix_fns(op, extra):
    """An activation's value and partial as functions of whole matrices.  A value
    template that is one numpy ufunc of the argument (``tanh({0})``) is marked
    ``.ufunc``: the layer then writes it into its own buffer, without temporaries."""
    refs = ["a0"] + [lit(e[0]) for e in extra]
    src = expr(op, refs)
    value = fn(["a0"], src, _NS["num"])
    call = re.fullmatch(r"(\w+)\(a0\)", src)
    func = _NS["num"].get(call.group(1)) if call else None
    value.ufunc = func if isinstance(func, np.ufunc) and func.nin == 1 else None
    d = partial_code(op, 0, refs, "y")
    return value, (None if d == "1" else fn(["y", "a0"], d, _NS["num"]))


def _fused_forward(low: Lowered, ns):
    """Generic segments (compiled as usual) between fused layer steps."""
    at = {L.first: L for L in low.layers()}
    skip = set().union(*(L.rows for L in low.layers()))
    build = code_forward if low.mode == "code" else loop_forward
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
    need = {out} | {o for o, _, _ in needed(low.rows, out)}
    layers = [L for L in low.layers()
              if set(L.sums) & need and out not in {low.rows[k][0] for k in L.rows}]
    at = {L.first: L for L in layers}
    skip = set().union(*(L.rows for L in layers))
    seen: set = set()
    build = (lambda rows: code_reverse(rows, ns, seen)) if low.mode == "code" else \
        (lambda rows: loop_reverse(rows, ns, seen))
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
