"""Fusion by what an op is: a layer of weighted sums runs as one matrix product.

A **block program** (found by :mod:`symgrad.numeric.blockfind`) is the lowered
program (rows ``(slot, op, args)``) with groups of rows replaced by rows whose
values are matrices, one column per node and one matrix row per sample (a batch
of shape ``S`` is flattened to ``N``):

* a **layer** (:class:`Linear`): rows of an op marked ``Op.linear`` (a sum of
  products of its pairs, ``wsum(w_1, v_1, w_2, v_2, ...)``) reading the same
  values ``v_r`` (nodes or literals, same order) with weights ``w_r`` that are
  graph inputs.  Its J nodes are ``A = X @ W[node rows] + sum_r c_r W[r]``,
  ``W[r, j]`` the weight of pair ``r`` of node ``j``, ``X`` the node values
  (columns) and ``c_r`` the literals (the bias's ``1``);
* an **activation** (:class:`Map`): one op of fixed arity applied to every node
  of a layer, the other arguments the same literals: it runs on the matrix;
* a **loss** (:class:`Pairs`): a pair op (not linear) over a layer's nodes in
  order and other nodes (the targets) runs on columns;
* the glue: :class:`Stack` (nodes side by side as a matrix: a layer's inputs,
  the targets) and :class:`Column` (one node of a block, read by a plain row).

Every other row stays as it is (a **plain** row).  Nothing here knows an op by
its name: only ``Op.linear``, ``Op.arity`` and ``Op.apply``/``Op.partials`` on
:data:`~symgrad.core.ops.NUM`.

The reverse pass is the one chain-rule sweep (:func:`symgrad.core.sweep.sweep`)
over the block program, with :class:`Blocks` as the interpretation: a block's
local derivatives are the transposes of its linear maps (``dW = X^T dA``,
``dX = dA W^T``, a literal column's ``dW[r] = c_r sum_n dA``), an activation's
the matrix ``op.partials(NUM, H, A, *params)[0]`` (times the seed, elementwise),
a plain row's the op's partials as in the reference.  The graph users see does
not change; fused values equal the reference to rounding (BLAS sums in its own
order; tests: 1e-9).
"""

from __future__ import annotations

from functools import partial
from operator import itemgetter

import numpy as np

from ..core.ops import NUM, Op
from ..core.sweep import Interpretation, sweep

__all__ = ["Blocks", "Linear", "Map", "Pairs", "Stack", "Column", "NoFuse", "is_key", "reverse",
           "SMALL", "BLOCK"]


class NoFuse(Exception):
    """The inputs do not fit the blocks (a layer's weight is an array): run generic."""


def is_key(a) -> bool:
    """A node slot (int) or a block key (str); literals are 1-tuples."""
    return type(a) is not tuple


# -- the blocks: how each runs forward, and its local derivatives --------------------------
class Linear:
    """J weighted sums ``A = X @ W[cols] + sum_r c_r W[r]``; args ``(W key, X key)``."""

    def __init__(self, op: Op, members: tuple, weights: tuple, shape: tuple, cols, lits: tuple):
        self.op, self.members, self.weights, self.shape = op, members, weights, shape
        self.cols, self.lits = cols, lits          # node rows (a slice if contiguous); (r, c)
        self._gather = itemgetter(*weights) if len(weights) > 1 else (lambda V: (V[weights[0]],))

    def matrix(self, V) -> np.ndarray:
        """``W`` from the weights' slots of ``V``; NoFuse if one is not a scalar."""
        try:
            W = np.array(self._gather(V), dtype=float)
        except (TypeError, ValueError):
            raise NoFuse from None
        if W.ndim != 1:
            raise NoFuse
        return W.reshape(self.shape)

    def run(self, ctx: "Blocks", key, args) -> None:
        M = ctx.M
        W = M.get(args[0])
        if W is None:
            W = M[args[0]] = self.matrix(ctx.V)
        X = M[args[1]]
        if len(X) <= SMALL:
            A = np.dot(X, W[self.cols])
        else:
            A = np.matmul(X, W[self.cols], out=ctx.buffer((len(X), self.shape[1])))
        for r, c in self.lits:                   # W[r:r + 1]: a row as a 1 x J matrix (for one
            A += W[r:r + 1] if c == 1 else c * W[r:r + 1]     # sample, no broadcasting)
        M[key] = A
        if ctx.expose:
            ctx.show(self.members, A)

    def vjp(self, ctx: "Blocks", key, args) -> tuple:
        wkey, xkey = args
        W, X = ctx.M[wkey], ctx.M[xkey]
        return (None if wkey in ctx.skip else partial(self.dweights, ctx, X),
                None if xkey in ctx.skip else partial(_mm, ctx, W[self.cols].T))

    def dweights(self, ctx: "Blocks", X, dA, pos=None) -> np.ndarray:
        """``dW = X^T dA`` (a literal ``c``'s row: ``c`` times the sum of ``dA`` over
        the samples) times ``ctx.scale``, or per sample (``ctx.per_sample``)."""
        n = len(dA)
        if ctx.per_sample:
            dW = np.empty((n,) + self.shape)
            dW[:, self.cols] = X[:, :, None] * dA[:, None, :]
            for r, c in self.lits:
                dW[:, r] = dA if c == 1 else c * dA
            return dW
        dW = np.empty(self.shape)
        if type(self.cols) is not slice:
            dW[self.cols] = np.dot(X.T, dA)
        elif n <= SMALL:
            np.dot(X.T, dA, out=dW[self.cols])
        else:
            np.matmul(X.T, dA, out=dW[self.cols])
        if self.lits:                           # the sum over samples as a product: BLAS
            total = dA[0] if n == 1 else dA.sum(axis=0) if n <= SMALL else ctx.ones() @ dA
            for r, c in self.lits:
                dW[r] = total if c == 1 else c * total
        if ctx.scale != 1:
            dW *= ctx.scale
        return dW


SMALL = 16          # samples: up to here np.dot (less overhead on tiny matrices), above matmul
BLOCK = 1 << 15     # elements (256 KB) per piece of an elementwise op on a large matrix


def _mm(ctx, b, a, pos=None):
    """``a @ b``, an N x K result; large ones into a buffer of ``ctx``."""
    if len(a) <= SMALL:
        return np.dot(a, b)
    out = ctx.buffer((len(a), b.shape[1]))
    if b.shape[0] == 1:                            # an outer product: BLAS is slow at inner size 1
        return np.multiply(a, b, out=out)
    return np.matmul(a, b, out=out)


def _pieces(ctx, f, mats, into: bool = False):
    """``f(*mats)`` for an elementwise ``f`` of N x K matrices, on pieces of rows of
    :data:`BLOCK` elements when they are large: the temporaries of a formula such as
    ``s * (1 - y*y)`` stay in the cache and are reused, instead of fresh megabytes each
    (page faults on every call).  Same values.  ``into``: ``f`` writes its piece
    into its keyword ``out``."""
    first = mats[0]
    n, width = first.shape
    step = max(1, BLOCK // max(width, 1))
    if n <= step:
        return f(*mats)
    out = ctx.buffer((n, width))
    for i in range(0, n, step):
        if into:
            f(*[m[i:i + step] for m in mats], out=out[i:i + step])
        else:
            out[i:i + step] = f(*[m[i:i + step] for m in mats])
    return out


class Map:
    """An elementwise op on every node of a block: ``H = op(A, *params)``; args ``(A key,)``."""

    def __init__(self, op: Op, params: tuple, members: tuple):
        self.op, self.params, self.members = op, params, members

    def run(self, ctx: "Blocks", key, args) -> None:
        op, params, A = self.op, self.params, ctx.M[args[0]]
        if A.size <= BLOCK:
            H = op.apply(NUM, A, *params)
        else:
            H = _pieces(ctx, lambda a: op.apply(NUM, a, *params), (A,))
        ctx.M[key] = H
        if ctx.expose:
            ctx.show(self.members, H)

    def vjp(self, ctx: "Blocks", key, args) -> tuple:
        op, params, H, A = self.op, self.params, ctx.M[key], ctx.M[args[0]]
        if A.size <= BLOCK:                            # the partials' matrix (seed * it: the term)
            return op.partials(NUM, H, A, *params)[:1]

        def local(s, h, a, out=None):                 # the seed times the partial, piece by piece
            return np.multiply(s, op.partials(NUM, h, a, *params)[0], out=out)
        return (lambda seed, pos: _pieces(ctx, local, (seed, H, A), into=True),)


class Pairs:
    """A pair op over the columns of two blocks, ``op(P_1, T_1, P_2, T_2, ...)``,
    one value per sample (a loss); args ``(P key, T key)``."""

    def __init__(self, op: Op, width: int):
        self.op, self.width = op, width

    def _columns(self, ctx, args) -> list:
        """``P_1, T_1, P_2, T_2, ...``: columns, or for one sample Python floats (the
        op's formula on scalars costs a fraction of it on 1-element arrays)."""
        P, T = ctx.M[args[0]], ctx.M[args[1]]
        if ctx.n == 1:
            return [c for pair in zip(P[0].tolist(), T[0].tolist()) for c in pair]
        return [c for k in range(self.width) for c in (P[:, k], T[:, k])]

    def run(self, ctx: "Blocks", key, args) -> None:
        out = self.op.apply(NUM, *self._columns(ctx, args))
        if ctx.n == 1:
            out = np.reshape(out, (1,))
        ctx.M[key] = out
        ctx.V[key] = ctx.sample(out)

    def vjp(self, ctx: "Blocks", key, args) -> tuple:
        ds = self.op.partials(NUM, ctx.M[key], *self._columns(ctx, args))
        n = ctx.n
        return tuple(None if a in ctx.skip else _scaled(_side(ds[side::2], n))
                     for side, a in enumerate(args))


def _side(ds, n: int) -> np.ndarray:
    """Per-column partials (arrays of N or numbers) as an N x K matrix."""
    if n == 1:
        return np.array([ds], dtype=float)
    if len(ds) == 1 and type(ds[0]) is np.ndarray and ds[0].shape == (n,):
        return ds[0].reshape(n, 1)
    out = np.empty((n, len(ds)))
    for k, d in enumerate(ds):
        out[:, k] = d
    return out


def _scaled(D):
    def term(seed, pos):
        if type(seed) is not np.ndarray:
            return D if seed == 1 else D * np.float64(seed)
        return D * np.reshape(seed, (-1, 1))
    return term


class Stack:
    """Nodes side by side as an N x K matrix (a layer's inputs, the targets); args: the nodes.
    A matrix already given under its key (a Net's samples) is used as it is."""

    def run(self, ctx: "Blocks", key, args) -> None:
        if key in ctx.M:
            return
        V = ctx.V
        X = np.empty(ctx.shape + (len(args),))
        for i, s in enumerate(args):
            X[..., i] = V[s]
        ctx.M[key] = X.reshape(ctx.n, len(args))

    def vjp(self, ctx: "Blocks", key, args) -> tuple:
        return (lambda dX, pos: ctx.sample(dX[:, pos]),) * len(args)


class Column:
    """Node ``j`` of a block, read by a plain row (its value is set by the block)."""

    def __init__(self, j: int, width: int):
        self.j, self.width = j, width

    def run(self, ctx, key, args) -> None:
        pass

    def vjp(self, ctx: "Blocks", key, args) -> tuple:
        def term(seed, pos):
            D = np.zeros((ctx.n, self.width))
            D[:, self.j] = np.ravel(np.broadcast_to(seed, ctx.shape))
            return D
        return (term,)


# -- the interpretation: values are matrices --------------------------------------------------
class Blocks(Interpretation):
    """The sweep over a block program: a plain row's local derivatives are its
    op's partials (as the reference), a block's are linear maps applied to the
    seed (:meth:`term`).  ``V``: node values by slot; ``M``: block values by key
    (matrices N x width); ``shape``: the batch shape (``N`` samples); weights'
    adjoints summed over the samples times ``scale``, or ``per_sample``; keys in
    ``skip`` get no adjoint.  Also the forward pass's state (``expose``: set
    every block member's value in ``V``)."""

    def __init__(self, V, M: dict, n: int, shape: tuple, *, per_sample: bool = False,
                 scale: float = 1.0, skip=frozenset(), expose: bool = True, pool: dict | None = None):
        self.V, self.M, self.n, self.shape = V, M, n, shape
        self.per_sample, self.scale, self.skip, self.expose = per_sample, scale, skip, expose
        self.flat = shape == (n,)
        self.pool, self.used = pool, []

    def buffer(self, shape: tuple) -> np.ndarray:
        """An array for a large intermediate matrix: fresh, or with a ``pool`` (a
        caller that returns none of them), one an earlier call gave back."""
        pool = self.pool
        if pool is None:
            return np.empty(shape)
        free = pool.get(shape)
        try:
            buf = free.pop() if free else np.empty(shape)
        except IndexError:                       # another thread took the last one
            buf = np.empty(shape)
        self.used.append(buf)
        return buf

    def ones(self) -> np.ndarray:
        """``N`` ones (the sum over the samples as a vector product), made once a run."""
        one = self.__dict__.get("_ones")
        if one is None:
            one = self._ones = np.ones(self.n)
        return one

    def release(self) -> None:
        """Give the buffers this run took back to the pool."""
        pool = self.pool
        if pool is not None:
            if len(pool) > 16:                   # many batch sizes: start afresh
                pool.clear()
            for buf in self.used:
                pool.setdefault(buf.shape, []).append(buf)
            self.used = []

    def sample(self, col):
        """A column as a node's value, in the batch's shape."""
        return col if self.flat else col.reshape(self.shape)

    def show(self, members, mat) -> None:
        V, flat, shape = self.V, self.flat, self.shape
        for j, s in enumerate(members):
            V[s] = mat[:, j] if flat else mat[:, j].reshape(shape)

    def forward(self, steps) -> None:
        for run, key, args in steps:
            run(self, key, args)

    def partials(self, name, op, args):
        if type(op) is Op:
            V = self.V
            return op.partials(NUM, V[name], *[a[0] if type(a) is tuple else V[a] for a in args])
        return op.vjp(self, name, args)

    def term(self, seed, d, name, pos, arg):
        return d(seed, pos) if callable(d) else seed * d


def reverse(program, interp: Blocks, output: int, seed) -> dict:
    """The adjoints of ``output`` over ``program`` by the one sweep: ``{key: adjoint}``
    (a block's adjoint a matrix, a weight matrix's ``dW``).  An output inside a
    block is seeded as its column."""
    if output in program.inner:
        key, j = program.member[output]
        unit = np.zeros((interp.n, interp.M[key].shape[1]))
        unit[:, j] = seed
        return sweep(program.rows, key, interp, unit, node=is_key)
    return sweep(program.rows, output, interp, seed, node=is_key)
