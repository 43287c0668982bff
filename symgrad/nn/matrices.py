"""An MLP's weights as matrices, and the block program a Net runs on them.

Layer ``l`` has the matrix ``W^l`` of shape ``(H_{l-1} + 1, H_l)``: row 0 holds
the biases (the weights against the dummy feature ``h^{l-1}_0 = 1``), and
``W^l[i, j - 1]`` is the weight ``w{l}_{i}_{j}`` from neuron ``i`` of layer
``l - 1`` to neuron ``j`` of layer ``l``, so that ``A^l = H^{l-1} @ W^l[1:] + W^l[0]``
for samples as rows.

:class:`Weights` is the ``{name: value}`` mapping of a Net, a live view on its
matrices.  :class:`Plan` is the net's graph as a block program
(:mod:`symgrad.numeric.fuse`: found by the op table's properties, then checked
to be exactly the matrices' layout) with the weights, samples and targets as
given matrices: the forward pass runs its blocks, the gradient is the one
chain-rule sweep (:func:`symgrad.numeric.fuse.reverse`); for one sample, the
same sweep written once as a compiled function (:mod:`symgrad.numeric.blockcode`).
"""

from __future__ import annotations

import functools
from collections.abc import Iterator, Mapping, MutableMapping, Sequence
from numbers import Real

import numpy as np

from ..core.graph import Graph
from ..core.ops import Op
from ..errors import InputError
from ..numeric.blockcode import compile_one
from ..numeric.fuse import SMALL, Blocks, Pairs, Stack, reverse
from ..numeric.lower import lowered

__all__ = ["weight_names", "weight_index", "shapes", "to_matrices", "check_matrices", "Weights",
           "Plan", "plan"]


def weight_names(sizes: Sequence[int]) -> list[str]:
    """``w{l}_{i}_{j}`` in graph input order: layer by layer, neuron j, then i = 0 (bias) .. H."""
    return [f"w{l}_{i}_{j}" for l in range(1, len(sizes))
            for j in range(1, sizes[l] + 1) for i in range(sizes[l - 1] + 1)]


@functools.lru_cache(maxsize=64)
def weight_index(sizes: tuple) -> dict:
    """``{name: (layer index, i, j - 1)}``: where each weight sits in the matrices."""
    return {f"w{l}_{i}_{j}": (l - 1, i, j - 1) for l in range(1, len(sizes))
            for j in range(1, sizes[l] + 1) for i in range(sizes[l - 1] + 1)}


def shapes(sizes: Sequence[int]) -> list[tuple]:
    """The matrices' shapes ``(H_{l-1} + 1, H_l)``, layer by layer."""
    return [(a + 1, b) for a, b in zip(sizes, sizes[1:])]


def to_matrices(weights: Mapping, sizes: tuple) -> list[np.ndarray]:
    """``{name: value}`` (every weight) as the matrices."""
    mats = [np.empty(s) for s in shapes(sizes)]
    for name, (l, i, j) in weight_index(sizes).items():
        mats[l][i, j] = weights[name]
    return mats


def flat(mats: Sequence[np.ndarray]) -> list:
    """The matrices' entries as floats in :func:`weight_names` order."""
    return np.concatenate([W.T.ravel() for W in mats]).tolist()


def check_matrices(mats, sizes: tuple) -> list[np.ndarray]:
    """Copies of ``mats`` as float arrays, one per layer of the right shape, finite
    reals; InputError naming the layer and the shape otherwise."""
    want = shapes(sizes)
    if isinstance(mats, (str, bytes, Mapping, np.ndarray)) or not isinstance(mats, Sequence):
        raise InputError(f"weights must be a list of {len(want)} matrices W^1..W^{len(want)} "
                         f"(shapes {', '.join(map(str, want))}), got {type(mats).__name__}")
    if len(mats) != len(want):
        raise InputError(f"the net {list(sizes)} has {len(want)} weight matrices (shapes "
                         f"{', '.join(map(str, want))}), got {len(mats)}")
    out = []
    for l, (m, shape) in enumerate(zip(mats, want), 1):
        if isinstance(m, np.ndarray) and m.dtype.kind not in "biuf":
            raise InputError(f"W^{l} must be real numbers of shape {shape}, got dtype {m.dtype}")
        try:
            W = np.array(m, dtype=float)
        except (TypeError, ValueError):
            raise InputError(f"W^{l} must be a matrix of real numbers of shape {shape}, "
                             f"got {m!r:.80}") from None
        if W.shape != shape:
            raise InputError(f"W^{l} must be real numbers of shape {shape} (row 0: the biases, "
                             f"row i: the weights from neuron i of layer {l - 1}), got shape {W.shape}")
        if not np.isfinite(W).all():
            i, j = np.argwhere(~np.isfinite(W))[0]
            raise InputError(f"W^{l} must be finite: W^{l}[{i}, {j}] (w{l}_{i}_{j + 1}) is {W[i, j]}")
        out.append(W)
    return out


class Weights(MutableMapping):
    """A Net's weights by name, ``{"w1_0_1": value, ...}`` in graph input order: a
    live view on its matrices (reading ``weights["w1_2_3"]`` reads ``W^1[2, 2]``,
    assigning writes it; :meth:`~symgrad.nn.mlp.Net.train` updating the matrices
    shows here).  Weights cannot be added or removed."""

    def __init__(self, mats: list, sizes: tuple):
        self._mats, self._sizes, self._index = mats, sizes, weight_index(sizes)

    def __getitem__(self, name: str) -> float:
        l, i, j = self._index[name]
        return float(self._mats[l][i, j])

    def __setitem__(self, name: str, value) -> None:
        where = self._index.get(name)
        if where is None:
            raise InputError(f"unknown weight {name!r}; the net {list(self._sizes)} has "
                             f"{next(iter(self._index))} .. {next(reversed(self._index))}")
        if isinstance(value, bool) or not isinstance(value, Real) or not np.isfinite(value):
            raise InputError(f"weight {name!r} must be a finite real number, got {value!r}")
        l, i, j = where
        self._mats[l][i, j] = value

    def __delitem__(self, name: str) -> None:
        raise InputError(f"a net's weights cannot be removed (tried {name!r})")

    def __iter__(self) -> Iterator[str]:
        return iter(self._index)

    def __len__(self) -> int:
        return len(self._index)

    def __contains__(self, name) -> bool:
        return name in self._index

    def copy(self) -> dict:
        """The weights as a plain dict (a snapshot)."""
        return dict(zip(self._index, flat(self._mats)))

    def __repr__(self) -> str:
        return f"Weights({self.copy()!r})"


class Plan:
    """The net's block program with the matrices, samples and targets given.

    ``wkeys``: the layers' weight-matrix keys; ``given``: the keys the samples
    and targets go under (their adjoints are not computed); ``out``: the
    output's slot, read from ``V`` (a loss) or as column ``j`` of block ``key``."""

    def __init__(self, prog, wkeys: tuple, xkey, ykey, out: int):
        self.prog, self.wkeys, self.xkey, self.ykey, self.out = prog, wkeys, xkey, ykey, out
        self.skip = frozenset(k for k in (xkey, ykey) if k is not None)
        self.steps = tuple(step for step in prog.steps() if step[1] not in self.skip)
        self.column = prog.member.get(out)
        self.pool: dict = {}                # large intermediate matrices, reused across calls
        given = (*wkeys, xkey) + ((ykey,) if ykey is not None else ())
        self.one = compile_one(prog, given, wkeys, out, self.column)   # one sample: compiled

    def run(self, mats: list, X: np.ndarray, Y, grad: bool = True) -> tuple:
        """``(mean output, [dW^l] or None)`` for samples ``X`` (N x D) and targets ``Y``;
        numpy's floating-point errors are off (nan/inf results, as the graph's road)."""
        with np.errstate(all="ignore"):
            return self._run(mats, X, Y, grad)

    def _run(self, mats: list, X: np.ndarray, Y, grad: bool) -> tuple:
        n = X.shape[0]
        if n == 1 and grad and self.one is not None:
            value, grads = self.one(*mats, X) if self.ykey is None else self.one(*mats, X, Y)
            return float(value), list(grads)
        M = dict(zip(self.wkeys, mats))
        M[self.xkey] = X
        if self.ykey is not None:
            M[self.ykey] = Y
        V: dict = {}
        ctx = Blocks(V, M, n, (n,), skip=self.skip, expose=False,
                     pool=self.pool if n > SMALL else None)
        try:
            ctx.forward(self.steps)
            if self.column is None:
                value = V[self.out]
            else:
                key, j = self.column
                value = M[key][:, j]
            loss = float(value[0]) if n == 1 else float(value.sum()) / n
            if not grad:
                return loss, None
            adj = reverse(self.prog, ctx, self.out, np.float64(1.0 / n))
            return loss, [adj[k] for k in self.wkeys]
        finally:
            ctx.release()


def plan(graph: Graph, sizes: tuple) -> Plan | None:
    """The Plan of an MLP graph, or None if its block program is not exactly the
    matrices' layout (layer ``l`` a block whose ``W[i, j - 1]`` is ``w{l}_{i}_{j}``,
    the bias the literal row 0, reading ``x1..xD`` or the previous layer's ``h``)."""
    low = lowered(graph)
    prog, slot = low.blocks(), low.slot
    if len(prog.linear) != len(sizes) - 1 or any(type(op) is Op for _, op, _ in prog.rows):
        return None
    stacks = {key: args for key, op, args in prog.rows if type(op) is Stack}
    xs = tuple(slot.get(f"x{i}") for i in range(1, sizes[0] + 1))
    for l, (key, op, (wk, xk)) in enumerate(prog.linear, 1):
        H, J = sizes[l - 1], sizes[l]
        want = tuple(slot.get(f"w{l}_{i}_{j}") for i in range(H + 1) for j in range(1, J + 1))
        if op.weights != want or op.lits != ((0, 1.0),) or op.cols != slice(1, H + 1):
            return None
        if l == 1 and stacks.get(xk) != xs:
            return None
        if l > 1 and any(prog.member.get(slot.get(f"h{l - 1}_{i}")) != (xk, i - 1) for i in range(1, H + 1)):
            return None
    if len(graph.outputs) != 1:
        return None
    out = slot[graph.outputs[0]]
    row = next((r for r in prog.rows if r[0] == out), None)
    ykey = None
    if row is not None and type(row[1]) is Pairs:
        pkey, ykey = row[2]
        ys = tuple(slot.get(f"y{i}") for i in range(1, sizes[-1] + 1))
        if stacks.get(ykey) != ys or any(prog.member.get(slot.get(f"yhat{i}")) != (pkey, i - 1)
                                          for i in range(1, sizes[-1] + 1)):
            return None
    elif out not in prog.member:
        return None
    return Plan(prog, tuple(args[0] for _, _, args in prog.linear), prog.linear[0][2][1], ykey, out)
