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

Layers of weighted sums (rows of an op marked ``Op.linear`` reading the same
values, with input weights: an MLP's neurons) run as matrix blocks
(:mod:`symgrad.numeric.fuse`), forward and by the same sweep in reverse; only
these differ from the reference, by rounding.

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
import threading
from collections import OrderedDict

import numpy as np

from .codegen import code_forward, code_grad, code_reverse, loop_forward, loop_reverse, needed
from .blockfind import Program, find_blocks
from .fuse import Blocks, NoFuse, Stack, reverse as block_reverse
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
            vals, adj = low.run_arrays(ins, out)
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
        self.outputs = graph.outputs
        self.slot = {n: i for i, n in enumerate(self.names)}
        self.input_slots = tuple(self.slot[x] for x in graph.inputs)
        slot = self.slot
        self.rows = tuple((slot[name], op, tuple([slot[a] if isinstance(a, str) else (a,) for a in args]))
                          for name, op, args in graph.program)
        self.mode = "code" if len(self.rows) <= CODE_LIMIT else "loop"
        self._fwd: dict = {}
        self._rev: OrderedDict = OrderedDict()
        self._lock = threading.Lock()
        self._skips: OrderedDict = OrderedDict()
        self._pool: dict = {}           # matrices of mean-gradient runs, reused across calls
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
                   wrt=None, info: dict | None = None) -> tuple:
        """Forward values (and adjoints of ``output``) with array inputs, layers
        as matrix blocks where they fit (:mod:`symgrad.numeric.fuse`).  Returns
        ``(values, adjoints)``, lists by slot (adjoints None without output).
        With ``mean``, the blocks' weights' adjoints are already averaged over
        the samples (a float each), adjoints of the inputs not in ``wrt`` may be
        left out, and the matrices come from a pool: the caller gives them back
        with ``info["blocks"].release()`` once it has read the results.
        ``info["fused"]`` (if given) tells whether blocks ran."""
        V = [None] * len(self.names)
        for s, v in zip(self.input_slots, inputs.values(), strict=True):
            V[s] = v
        prog = self.blocks()
        ctx = None
        if prog:
            shape = np.broadcast_shapes(*{np.shape(v) for v in inputs.values()})
            n = math.prod(shape)
            ctx = Blocks(V, {}, n, shape, per_sample=not mean, scale=1.0 / n if mean and n else 1.0,
                         skip=self._skip(wrt) if mean and wrt is not None else frozenset(),
                         pool=self._pool if mean else None)     # a mean run returns no matrix
            if info is not None:
                info["blocks"] = ctx
            try:
                ctx.forward(self.fused_forward())
            except NoFuse:                           # a layer's weight is an array
                ctx = None
        if ctx is None:
            self.forward_pass("num")(V)
        if info is not None:
            info["fused"] = ctx is not None
        if output is None:
            return V, None
        out = self.slot[output]
        if ctx is None:
            G = [None] * len(self.names)
            G[out] = np.float64(1.0)
            self.reverse_pass("num", out)(V, G)
            return V, G
        return V, self._scatter(prog, ctx, block_reverse(prog, ctx, out, np.float64(1.0)))

    def _scatter(self, prog, ctx: Blocks, adj: dict) -> list:
        """Adjoints by slot from the block sweep's: a block member's is its column,
        a weight's the sum of its entries of the layers' ``dW`` (and of plain rows)."""
        G = [None] * len(self.names)
        for k, v in adj.items():
            if type(k) is int:
                G[k] = v
        sample = ctx.sample
        for key, op, args in prog.linear + prog.maps:
            D = adj.get(key)
            if D is not None:
                for j, s in enumerate(op.members):
                    G[s] = sample(D[:, j])
        for key, op, args in prog.linear:
            dW = adj.get(args[0])
            if dW is None:
                continue
            if ctx.per_sample:
                parts = [sample(c) for c in dW.reshape(len(dW), -1).T]
            else:
                parts = dW.ravel().tolist()
            for s, d in zip(op.weights, parts, strict=True):
                p = G[s]
                G[s] = d if p is None else p + d
        return G

    def mean_gradient(self, inputs: dict, output: str, wrt: tuple | None = None,
                      info: dict | None = None) -> tuple:
        """``(mean of output, {input: mean adjoint})`` over array samples, for the
        inputs ``wrt`` (default: all)."""
        wrt = self.inputs if wrt is None else tuple(wrt)
        info = {} if info is None else info
        try:
            V, G = self.run_arrays(inputs, output, mean=True, wrt=wrt, info=info)
            value = float(np.mean(V[self.slot[output]]))
            return value, {x: _mean(G[self.slot[x]]) for x in wrt}
        finally:
            if "blocks" in info:                     # pooled matrices back, once read
                info.pop("blocks").release()

    def _skip(self, wrt: tuple) -> frozenset:
        """Block keys nobody asked the adjoint of: a layer's weight matrix when none of
        its weights is in ``wrt``, a stack of inputs none of which is."""
        def find():
            wanted = {self.slot[x] for x in wrt}
            inputs = set(self.input_slots)
            keys = {args[0] for _, op, args in self.blocks().linear if wanted.isdisjoint(op.weights)}
            keys.update(key for key, op, args in self.blocks().rows
                        if type(op) is Stack and all(a in inputs and a not in wanted for a in args))
            return frozenset(keys)
        return built(self._skips, wrt, self._lock, find, _MAX_OUTPUTS)

    # -- building (once, under the lock) -------------------------------------------
    def blocks(self) -> Program:
        """The block program (see :mod:`symgrad.numeric.fuse`), found once; false
        when the graph has no layers."""
        prog = self.__dict__.get("_blocks")
        return prog if prog is not None else built(
            self.__dict__, "_blocks", self._lock,
            lambda: find_blocks(self.rows, self.input_slots, [self.slot[o] for o in self.outputs]))

    def layers(self) -> tuple:
        """The layers' rows of the block program ``(key, Linear, (W key, X key))``."""
        return self.blocks().linear

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

    def fused_forward(self) -> tuple:
        """The forward steps of the block program: blocks, and compiled (or looped)
        segments of plain rows between them."""
        build = code_forward if self.mode == "code" else loop_forward
        return built(self._fwd, "fused", self._lock,
                     lambda: self.blocks().steps(lambda rows: build(rows, _NS["num"])))

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
