"""Layer fusion: an MLP's weighted sums run as one matrix product per layer.

An MLP graph is scalar: neuron ``j`` of layer ``l`` is the node
``a{l}_{j} = sum(w{l}_0_{j}, mul(w{l}_1_{j}, h1), mul(w{l}_2_{j}, h2), ...)``.  With
a batch of samples, the generic lowered program spends one numpy call per weight.
Here, in the lowered program's rows, a **layer** is a group of ``sum`` nodes whose
product terms ``mul(w, h)`` read the same nodes ``h_1..h_K`` in the same order,
with weights that are inputs and products used only by their sum; the other terms
(biases) are inputs or literals.  When every sum of a layer feeds one node of the
same unary op (the activation), that op runs on the whole matrix too.

At run time, with scalar weights and array samples (the batch shape flattened to
``N``), a layer computes ``A = W @ X`` (J x K times K x N) plus the biases, and in
reverse ``dX = W.T @ dA`` and either the per-sample weight adjoints ``dA[j] * X[i]``
or, for the gradient of a mean loss, ``dW = dA @ X.T / N``: BLAS instead of J*K
numpy calls.  The graph users see does not change; product nodes' values are
computed only when read.  Sums are added in BLAS order, so fused values equal the
reference to rounding (tests: 1e-9), not bit for bit.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

__all__ = ["Layer", "find_layers", "NoFuse", "LazyValues", "release"]

MIN_PRODUCTS = 4        # a layer with fewer weights is left to the generic program


class NoFuse(Exception):
    """The inputs do not fit the fused layers (a weight is an array): run generic."""


@dataclass(frozen=True)
class Layer:
    """One fused layer: sums ``a_j = sum_i W[j, i] * X[i] + bias_j``."""

    first: int              # row index where the layer runs (its first sum)
    rows: frozenset         # row indices it replaces (products, sums, activations)
    sums: tuple             # slots of the J sum nodes
    prev: tuple             # slots of the K nodes read (X)
    weights: tuple          # J*K weight slots, row-major (j, i)
    muls: tuple             # J*K product slots, aligned with weights
    bias: tuple             # per sum: the other arguments (slots, or literals as 1-tuples)
    act: object = None      # the activation's Op, or None
    act_fn: object = None   # (value fn, partial fn) on matrices
    outs: tuple = ()        # slots of the activation nodes

    def forward(self, V: list, M: dict) -> None:
        J, K = len(self.sums), len(self.prev)
        W = _scalars([V[s] for s in self.weights])
        W = W.reshape(J, K)
        X = M.get(self.prev)
        if X is None:
            shape = np.broadcast_shapes(*(np.shape(V[h]) for h in self.prev))
            X = _buffer(M, (K,) + shape)
            for i, h in enumerate(self.prev):
                X[i] = V[h]
        A = _buffer(M, (J,) + X.shape[1:])
        np.matmul(W, X.reshape(K, -1), out=A.reshape(J, -1))
        b = _scalars([_bias(V, terms) for terms in self.bias])
        A += b.reshape((J,) + (1,) * (A.ndim - 1))
        for j, s in enumerate(self.sums):
            V[s] = A[j]
        H = None
        if self.act is not None:
            ufunc = self.act_fn[0].ufunc
            if ufunc is not None:
                H = _buffer(M, A.shape)
                ufunc(A, out=H)
            else:
                H = _blocked(M, self.act_fn[0], A)
            for j, s in enumerate(self.outs):
                V[s] = H[j]
            M[self.outs] = H
        M[self.first] = (W, X, A, H)

    def reverse(self, V: list, G: list, M: dict) -> None:
        W, X, A, H = M[self.first]
        J, K = W.shape
        dA = _gather(G, self.outs if self.act is not None else self.sums, A.shape, M)
        if self.act is not None and self.act_fn[1] is not None:
            dA = _blocked(M, lambda h, a, d: d * self.act_fn[1](h, a), H, A, dA)
        rows = list(dA)
        for s, r in zip(self.sums, rows):
            G[s] = r
        dA2 = dA.reshape(J, -1)
        if M.get("skip", frozenset()) >= set(self.prev):        # only unwanted inputs read:
            for h in self.prev:                                   # no dX, but the adjoints stay
                if G[h] is None:                                  # summable (``touched``: the
                    G[h] = 0.0                                    # code after adds to them)
        else:
            dX = _buffer(M, X.shape)
            np.matmul(W.T, dA2, out=dX.reshape(K, -1))
            parts = list(dX)                 # row objects: identity marks a sole contribution
            for h, r in zip(self.prev, parts):
                _add(G, h, r)
            M["dX", self.prev] = (dX, parts)    # the layer below may reuse dX (see _gather)
        mean = M.get("mean")
        if mean:                  # averaged over the samples here: the mean is linear
            dW = ((dA2 @ X.reshape(K, -1).T) / dA2.shape[1]).ravel().tolist()
            rows = dA2.mean(axis=1).tolist()
        else:
            dW = list((dA[:, None] * X[None]).reshape((J * K,) + X.shape[1:]))
            for k, m in enumerate(self.muls):
                G[m] = rows[k // K]
        for w, d in zip(self.weights, dW, strict=True):
            p = G[w]
            G[w] = d if p is None else p + d
        for r, terms in zip(rows, self.bias):
            for t in terms:
                if type(t) is int:
                    _add(G, t, r)

    @property
    def touched(self) -> set:
        """Slots whose adjoints the reverse step sets."""
        return {*self.sums, *self.prev, *self.weights, *self.muls,
                *(t for terms in self.bias for t in terms if type(t) is int)}


def _scalars(values) -> np.ndarray:
    """A vector of scalar values; NoFuse if one is an array (a per-sample weight)."""
    try:
        vec = np.array(values, dtype=float)
    except ValueError:
        raise NoFuse from None
    if vec.ndim != 1:
        raise NoFuse
    return vec


def _bias(V, terms):
    total = 0.0
    for t in terms:
        total = total + (V[t] if type(t) is int else t[0])
    return total


ARENA = 1 << 20         # float64s (8 MiB): numpy asks the kernel for huge pages from 4 MiB


def _buffer(M: dict, shape: tuple) -> np.ndarray:
    """An array for a layer matrix.  A fresh multi-MB array costs a page fault per
    4 KB page on every call (measured: 2.2 ms for two 32 x 10,000 matrices, 0.09 ms
    from one 8 MB arena with huge pages).  So matrices come from a per-run arena,
    or, with a buffer pool in ``M`` (mean-gradient runs, whose arrays never reach
    the caller), are reused from an earlier call."""
    pool = M.get("pool")
    if pool is None:
        n = int(np.prod(shape))
        if n < 1 << 14:
            return np.empty(shape)
        arena = M.get("arena")
        if arena is None or arena[1] + n > arena[0].size:
            arena = M["arena"] = [np.empty(max(ARENA, n)), 0]
        start = arena[1]
        arena[1] = start + n
        return arena[0][start:start + n].reshape(shape)
    free = pool.get(shape)
    try:
        buf = free.pop() if free else np.empty(shape)
    except IndexError:                       # another thread took the last one
        buf = np.empty(shape)
    M["used"].append(buf)
    return buf


def release(M: dict) -> None:
    """Return the buffers a run took to its pool."""
    pool = M.get("pool")
    if pool is not None:
        if len(pool) > 16:                   # many batch shapes: start afresh
            pool.clear()
        for buf in M.pop("used", ()):
            pool.setdefault(buf.shape, []).append(buf)


def _blocked(M, f, *mats):
    """``f`` applied elementwise to matrices in column blocks of ~256 KB: the
    temporaries of a template like ``1 - y * y`` stay small (a 2.5 MB temporary
    costs page faults on every call; blocks reuse the heap).  Same values."""
    first = mats[0]
    J, N = first.shape[0], first[0].size
    step = max(256, 32768 // max(J, 1))
    if N <= step:
        return f(*mats)
    flat = [m.reshape(J, N) for m in mats]
    out = _buffer(M, (J, N))
    for i in range(0, N, step):
        out[:, i:i + step] = f(*(m[:, i:i + step] for m in flat))
    return out.reshape(first.shape)


def _gather(G, slots, shape, M):
    """The adjoints of ``slots`` as a matrix: the layer above's dX itself when these
    are exactly its rows (no copy).

    ``dX`` is each slot's complete adjoint only if its row was the slot's sole
    contribution.  Adjoints are never updated in place (every contribution binds
    ``G[s]`` to a new object: ``p + c``), and the layer above stored the row
    objects it contributed, so ``G[s] is row`` holds exactly when nothing was
    summed into ``G[s]`` before that row (another consumer processed earlier, a
    skip connection) or after it (a consumer processed later)."""
    cached = M.get(("dX", slots))
    if cached is not None and all(G[s] is r for s, r in zip(slots, cached[1])):
        return cached[0]
    out = _buffer(M, shape)
    out.fill(0.0)
    for j, s in enumerate(slots):
        if G[s] is not None:
            out[j] = G[s]
    return out


def _add(G, s, v):
    p = G[s]
    G[s] = v if p is None else p + v


def find_layers(rows, input_slots, make_act) -> list:
    """The fusable layers of a lowered program's ``rows`` (slot form).

    ``make_act(op, extra)`` returns the (value, partial) matrix functions of an
    activation op with its literal extra arguments."""
    pos = {o: k for k, (o, _, _) in enumerate(rows)}
    uses: dict = {}
    for _, _, args in rows:
        for a in args:
            if type(a) is int:
                uses[a] = uses.get(a, 0) + 1
    inputs = set(input_slots)
    only_use = {args[0]: (o, op, args[1:]) for o, op, args in rows
                if args and type(args[0]) is int and uses.get(args[0]) == 1}
    groups: dict = {}
    for k, (o, op, args) in enumerate(rows):
        neuron = _neuron(rows, pos, uses, inputs, args) if op.name == "sum" else None
        if neuron is not None:
            groups.setdefault(neuron[0], []).append((k, o) + neuron[1:])
    layers = []
    for prev, members in groups.items():
        if len(members) * len(prev) >= MIN_PRODUCTS:
            layers.append(_layer(pos, only_use, prev, members, make_act))
    return layers


def _neuron(rows, pos, uses, inputs, args):
    """(prev, weights, muls, bias) of a sum node whose terms fit a layer, else None."""
    prev, ws, ms, bias = [], [], [], []
    for a in args:
        if type(a) is not int or a in inputs:
            bias.append(a)
            continue
        _, op, margs = rows[pos[a]]
        if op.name != "mul" or uses.get(a) != 1 or len(margs) != 2:
            return None
        w, h = margs
        if type(w) is not int or w not in inputs or type(h) is not int:
            return None
        prev.append(h)
        ws.append(w)
        ms.append(a)
    return (tuple(prev), tuple(ws), tuple(ms), tuple(bias)) if prev else None


def _layer(pos, only_use, prev, members, make_act) -> Layer:
    first = min(k for k, *_ in members)
    sums = tuple(o for _, o, *_ in members)
    skip = {k for k, *_ in members} | {pos[m] for *_, ms, _ in members for m in ms}
    act, fn, outs = _activation(only_use, sums, make_act)
    if act is not None:
        skip |= {pos[s] for s in outs}
    return Layer(first, frozenset(skip), sums, prev,
                 tuple(w for *_, ws, _, _ in members for w in ws),
                 tuple(m for *_, ms, _ in members for m in ms),
                 tuple(b for *_, b in members), act, fn, outs)


def _activation(only_use, sums, make_act):
    """The common op applied to every sum, each sum used only there (``only_use``:
    slot -> the one row reading it as first argument, with the other arguments)."""
    consumer = {s: only_use[s] for s in sums if s in only_use}
    if len(consumer) != len(sums) or any(type(a) is int for _, _, extra in consumer.values() for a in extra):
        return None, None, ()
    if len({(op.name, extra) for _, op, extra in consumer.values()}) != 1:
        return None, None, ()
    _, op, extra = consumer[sums[0]]
    return op, make_act(op, extra), tuple(consumer[s][0] for s in sums)


class LazyValues(Mapping):
    """Node values by name, where fused product nodes are computed when read."""

    def __init__(self, names, slot, V, products):
        self._names, self._slot, self._V, self._products = names, slot, V, products

    def __getitem__(self, name):
        s = self._slot[name]
        v = self._V[s]
        if v is None and s in self._products:
            w, h = self._products[s]
            v = self._V[s] = self._V[w] * self._V[h]
        return v

    def __iter__(self):
        return iter(self._names)

    def __len__(self):
        return len(self._names)
