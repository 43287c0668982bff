"""The MLP front end: a multilayer perceptron as a graph in the lecture's notation.

Layers ``0 .. L+1`` with ``sizes = [D, H_1, ..., H_L, K]``.  Weight
``w{l}_{i}_{j}`` goes from neuron ``i`` of layer ``l-1`` to neuron ``j`` of layer
``l``; ``i = 0`` is the bias, against the dummy feature ``h{l-1}_0 = 1``.  Per
sample, one node per quantity of the lecture::

    a{l}_{j} = wsum(w{l}_0_{j}, 1, w{l}_1_{j}, h{l-1}_1, ...)   (h0_i = x_i)
    h{l}_{j} = phi_l(a{l}_{j})                                  (yhat{j} for l = L+1;
                                                                 yhat{j} = a itself for identity)
    loss     = squared_loss(yhat1, y1, ...)                     (or cross_entropy(...))

Weights, ``x`` and ``y`` are all graph inputs, as in the lecture.  The closed-form
gradient (:meth:`Net.closed_form_gradient`) is the lecture's B / delta recursion,
derived here without the graph's reverse mode, so :meth:`Net.check` compares two
independent derivations and finite differences.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from numbers import Integral, Real
from typing import Callable

import numpy as np
import sympy as sp

from ..symbolic.check import CheckReport, check_rtol, compare, finite_differences, kink_notes
from ..errors import GraphError, InputError
from ..numeric.forward import NodeValues, evaluate, read_inputs
from ..core.graph import Assembler, Graph
from ..core.registry import analysis
from ..core.ops import OPS, SYM
from ..numeric.reverse import mean_grad
from .matrices import Plan, Weights, check_matrices, flat, plan, to_matrices, weight_names

__all__ = ["mlp", "Net", "ACTIVATIONS", "LOSSES"]

ACTIVATIONS = ("identity", "sigmoid", "tanh", "relu", "leaky_relu", "elu")
_HE_INIT = {"relu", "leaky_relu", "elu"}        # He init; the others get Xavier (Glorot)


def _symbol(name: str) -> sp.Symbol:
    return sp.Symbol(name, real=True)


@dataclass(frozen=True)
class _Loss:
    """A loss: how to build its nodes from logits/predictions ``z`` and targets
    ``y`` (refs), and its SymPy formula in the same symbols (for dl/dyhat)."""

    build: Callable      # build(asm, z, y) -> ref of the loss node
    formula: Callable    # formula(z, y) -> SymPy expression
    needs_logits: bool = False


def _pairs_build(op: str):
    def build(asm, z, y):
        return asm.node(op, [a for pair in zip(z, y, strict=True) for a in pair], name="loss")
    return build


def _ce_formula(z, y):
    if len(z) == 1:
        return sp.log(1 + sp.exp(z[0])) - y[0] * z[0]
    return sp.log(sp.Add(*[sp.exp(zi) for zi in z])) - sp.Add(*[yi * zi for zi, yi in zip(z, y)])


LOSSES = {          # one node each: an op of the table whose partial is the closed-form B_1
    "squared": _Loss(_pairs_build("squared_loss"),
                     lambda z, y: sp.Rational(1, 2) * sp.Add(*[(zi - yi) ** 2 for zi, yi in zip(z, y)])),
    "cross_entropy": _Loss(_pairs_build("cross_entropy"), _ce_formula, needs_logits=True),
}


MAX_WEIGHTS = 1_000_000      # a graph of ~2 million nodes: building it takes ~10 s


def _choices(kind: str, bad, valid) -> str:
    return f"unknown {kind} {bad!r}; valid are {', '.join(map(repr, valid))}"


def _validate(sizes, activation, output_activation, loss) -> tuple[tuple, tuple]:
    if isinstance(sizes, (str, bytes)) or not isinstance(sizes, Sequence) or len(sizes) < 2 \
            or not all(isinstance(s, Integral) and not isinstance(s, bool) and s >= 1 for s in sizes):
        raise GraphError(f"sizes must be a list of at least two positive ints [D, H_1, ..., K], "
                         f"got {sizes!r}")
    n_weights = sum((a + 1) * b for a, b in zip(sizes, sizes[1:]))
    if n_weights > MAX_WEIGHTS:
        raise GraphError(f"sizes {list(sizes)} need {n_weights:,} weights, more than the limit of "
                         f"{MAX_WEIGHTS:,}: use smaller layers")
    hidden = len(sizes) - 2
    if not isinstance(activation, str) and not (isinstance(activation, Sequence)
                                                 and all(isinstance(a, str) for a in activation)):
        raise GraphError(f"activation must be a name such as 'tanh' or a list of names, one per "
                         f"hidden layer, got {activation!r}")
    acts = [activation] * hidden if isinstance(activation, str) else list(activation)
    if len(acts) != hidden:
        raise GraphError(f"activation lists {len(acts)} name(s) but sizes {list(sizes)} has "
                         f"{hidden} hidden layer(s): give one name or one per hidden layer")
    acts.append(output_activation)
    for a in acts + ([activation] if isinstance(activation, str) else []):
        if a not in ACTIVATIONS:
            raise GraphError(_choices("activation", a, ACTIVATIONS))
    if loss is not None and loss not in LOSSES:
        raise GraphError(_choices("loss", loss, [*LOSSES, None]))
    if loss is not None and LOSSES[loss].needs_logits and output_activation != "identity":
        raise GraphError(f"loss {loss!r} is computed from logits: use output_activation='identity' "
                         f"(got {output_activation!r}); the loss applies the sigmoid/softmax itself")
    return tuple(int(s) for s in sizes), tuple(acts)


def _build(sizes: tuple, acts: tuple, loss: str | None) -> Graph:
    asm = Assembler()
    h = [asm.input(f"x{i}") for i in range(1, sizes[0] + 1)]
    last = len(sizes) - 1
    for l in range(1, last + 1):
        op = OPS[acts[l - 1]]
        extra = [default for _, default in op.params]
        out = []
        for j in range(1, sizes[l] + 1):
            pairs = [a for i, hi in enumerate([1, *h]) for a in (asm.input(f"w{l}_{i}_{j}"), hi)]
            if l == last and op.name == "identity":          # yhat = a^{L+1}, as the slides
                out.append(asm.node("wsum", pairs, name=f"yhat{j}"))
                continue
            a = asm.node("wsum", pairs, name=f"a{l}_{j}")
            out.append(asm.node(op.name, [a, *extra], name=f"yhat{j}" if l == last else f"h{l}_{j}"))
        h = out
    if loss is None:
        return asm.graph(h)
    y = [asm.input(f"y{i}") for i in range(1, sizes[-1] + 1)]
    return asm.graph([LOSSES[loss].build(asm, h, y)])


def init_weights(sizes: Sequence[int], acts: Sequence[str], seed: int | None = 0) -> dict:
    """Seeded Xavier (Glorot normal) or, for relu-like layers, He (normal) weights.

    The bias ``w{l}_0_{j}`` is a weight against the dummy feature 1, drawn like
    the others; the fan-in counts it (``H_{l-1} + 1``).
    """
    rng = np.random.default_rng(seed)
    weights = {}
    for l in range(1, len(sizes)):
        fan_in, fan_out = sizes[l - 1] + 1, sizes[l]
        std = np.sqrt(2.0 / fan_in) if acts[l - 1] in _HE_INIT else np.sqrt(2.0 / (fan_in + fan_out))
        draw = rng.normal(0.0, std, size=(fan_out, fan_in))
        for j in range(1, fan_out + 1):
            for i in range(fan_in):
                weights[f"w{l}_{i}_{j}"] = float(draw[j - 1, i])
    return weights


def mlp(sizes: Sequence[int], activation="tanh", output_activation: str = "identity",
        loss: str | None = "squared", seed: int | None = 0,
        weights: Mapping[str, float] | None = None) -> "Net":
    """A multilayer perceptron as a per-sample graph in the lecture's notation.

    Parameters
    ----------
    sizes
        ``[D, H_1, ..., H_L, K]``: inputs, hidden layer widths, outputs.
    activation
        Hidden-layer activation: one name for all, or a list with one per hidden
        layer; one of identity, sigmoid, tanh, relu, leaky_relu (slope 0.01),
        elu (alpha 1.0).
    output_activation
        The output layer's activation (default ``"identity"``).
    loss
        ``"squared"`` (``0.5 * sum_i (yhat_i - y_i)**2``), ``"cross_entropy"``
        (binary from one logit via softplus, softmax via logsumexp for several
        outputs; ``yhat`` are then the logits and targets are 0/1 or one-hot), or
        None (the graph ends at the predictions).
    seed
        Seed of ``numpy.random.default_rng`` for Xavier/He initialisation.
    weights
        Given weights ``{"w1_0_1": value, ...}`` instead (every weight, no others).

    Returns
    -------
    Net

    Raises
    ------
    GraphError
        Bad sizes or more than ``MAX_WEIGHTS`` (10**6) weights, an unknown activation or
        loss name (the message lists the valid ones), or cross-entropy with an output
        activation other than identity.
    InputError
        ``weights`` missing a weight or naming an unknown one, or not a number; a
        ``seed`` that is not a non-negative int or None.

    Examples
    --------
    >>> import symgrad as sg
    >>> net = sg.mlp([2, 2, 1], activation="tanh", loss="squared", seed=0)
    >>> net.graph.inputs[:5]
    ('x1', 'x2', 'w1_0_1', 'w1_1_1', 'w1_2_1')
    >>> net.graph.args("a1_1")[0], net.graph.op("h1_1"), net.graph.outputs
    ('w1_0_1', 'tanh', ('loss',))
    >>> sg.mlp([2, 1], activation="swish")
    Traceback (most recent call last):
    ...
    symgrad.errors.GraphError: unknown activation 'swish'; valid are 'identity', 'sigmoid', 'tanh', 'relu', 'leaky_relu', 'elu'
    """
    sizes, acts = _validate(sizes, activation, output_activation, loss)
    graph = _build(sizes, acts, loss)
    names = weight_names(sizes)
    if weights is None:
        if seed is not None and (not isinstance(seed, Integral) or isinstance(seed, bool) or seed < 0):
            raise InputError(f"seed must be a non-negative int or None, got {seed!r}")
        w = init_weights(sizes, acts, seed)
    else:
        w = _check_weights(weights, names)
    return Net(graph, sizes, acts, loss, w)


def _check_weights(weights: Mapping, names: list[str]) -> dict:
    if not isinstance(weights, Mapping):
        raise InputError(f"weights must be a mapping {{name: value}}, got {type(weights).__name__}")
    missing = [n for n in names if n not in weights]
    unknown = [n for n in weights if n not in set(names)]
    if missing or unknown:
        raise InputError("weights do not match the network: "
                         + (f"missing {', '.join(missing[:8])}{' ...' if len(missing) > 8 else ''}; "
                            if missing else "")
                         + (f"unknown {', '.join(map(repr, unknown[:8]))}; " if unknown else "")
                         + f"expected {names[0]} .. {names[-1]} ({len(names)} weights)")
    out = {}
    for n in names:
        v = weights[n]
        if isinstance(v, bool) or not np.isscalar(v) or not np.isreal(v):
            raise InputError(f"weight {n!r} must be a real number, got {v!r}")
        out[n] = float(v)
    return out


def closed_form(sizes: Sequence[int], acts: Sequence[str], loss: str | None) -> dict:
    """The lecture's B / delta recursion, ``{weight: SymPy expr}`` in the graph's
    input symbols and node symbols ``a{l}_{j}``, ``h{l}_{j}``, ``yhat{i}``.

    ``B_1 = dl/dyhat`` (SymPy's derivative of the loss formula in the ``yhat``
    symbols), the output delta ``B_1 phi'(a)``, back through
    ``delta^{l-1}_i = phi'(a^{l-1}_i) sum_j w^l_{i,j} delta^l_j`` and
    ``dl/dw^l_{i,j} = delta^l_j h^{l-1}_i`` with ``h^{l-1}_0 = 1``, ``h^0_i = x_i``.
    """
    last = len(sizes) - 1
    yhat = [_symbol(f"yhat{i}") for i in range(1, sizes[-1] + 1)]
    if loss is None:
        if len(yhat) != 1:
            raise GraphError(f"a net without a loss has {len(yhat)} outputs: the gradient needs "
                             "one scalar output (use loss='squared' or 'cross_entropy')")
        B = [sp.Integer(1)]
    else:
        y = [_symbol(f"y{i}") for i in range(1, sizes[-1] + 1)]
        ell = LOSSES[loss].formula(yhat, y)
        B = [sp.diff(ell, zi) for zi in yhat]
    h = lambda l, i: sp.Integer(1) if i == 0 else _symbol(f"x{i}" if l == 0 else f"h{l}_{i}")
    delta = [b * _dphi(acts[last - 1], _symbol(f"a{last}_{j}")) for j, b in enumerate(B, 1)]
    grad = {}
    for l in range(last, 0, -1):
        for j, d in enumerate(delta, 1):
            for i in range(sizes[l - 1] + 1):
                grad[f"w{l}_{i}_{j}"] = d * h(l - 1, i)
        if l > 1:
            delta = [_dphi(acts[l - 2], _symbol(f"a{l - 1}_{i}"))
                     * sp.Add(*[_symbol(f"w{l}_{i}_{j}") * d for j, d in enumerate(delta, 1)])
                     for i in range(1, sizes[l - 1] + 1)]
    return {n: grad[n] for n in weight_names(sizes)}


def _dphi(act: str, a: sp.Symbol) -> sp.Expr:
    """phi'(a) by SymPy from the activation's formula (relu' = Piecewise: 0 at 0)."""
    op = OPS[act]
    return sp.diff(op.apply(SYM, a, *[sp.Float(v) for _, v in op.params]), a)


class Net:
    """A multilayer perceptron: its per-sample graph and current weights.

    Made by :func:`mlp`.  ``x`` is one sample (shape ``(D,)``) or a batch
    (``(N, D)``), ``y`` likewise with ``K`` targets; with a batch, the loss is the
    MEAN over samples, as the lecture's training loss.

    The weights live in one matrix per layer, ``W^l`` of shape
    ``(H_{l-1} + 1, H_l)`` with the biases as row 0 and ``W^l[i, j - 1] =
    w{l}_{i}_{j}`` (:meth:`matrices`, :meth:`with_weights`,
    ``backprop(..., matrices=True)``).  The gradient runs on them: the graph's
    layers found as matrix blocks by the op table's properties, the chain rule the
    one sweep (:mod:`symgrad.numeric.fuse`).

    Attributes
    ----------
    graph : Graph
        The per-sample graph; its inputs are ``x1..xD``, the weights and ``y1..yK``.
    weights : Weights
        ``{"w1_0_1": value, ...}``, a live view on the matrices: reading and
        assigning ``net.weights["w1_0_1"] = 0.3`` read and write ``W^1[0, 0]``;
        :meth:`train` updates it.  Assigning a whole mapping
        (``net.weights = {...}``, every weight) sets them all.
    sizes, activations, loss
        The architecture (``activations`` has one name per layer 1..L+1).
    """

    def __init__(self, graph: Graph, sizes: tuple, activations: tuple, loss: str | None,
                 weights: Mapping | list) -> None:
        self.graph, self.sizes, self.activations, self.loss = graph, sizes, activations, loss
        self._W = to_matrices(weights, sizes) if isinstance(weights, Mapping) else weights
        self._weights = Weights(self._W, sizes)
        self._names = tuple(self._weights)
        self._closed = None
        self._closed_fn = None
        self._plan: Plan | None | bool = False          # False: not looked for yet

    def __repr__(self) -> str:
        return (f"Net(sizes={list(self.sizes)}, activations={list(self.activations)}, "
                f"loss={self.loss!r}, weights={len(self._names)})")

    def _repr_html_(self) -> str:
        """The lecture's picture of the net with its sizes, activations and loss;
        see :func:`symgrad.show.dot.notebook_html`."""
        return analysis("dot").notebook_html(self)

    @property
    def weights(self) -> Weights:
        return self._weights

    @weights.setter
    def weights(self, values: Mapping) -> None:
        new = to_matrices(_check_weights(values, list(self._names)), self.sizes)
        for W, N in zip(self._W, new):
            W[...] = N

    @property
    def weight_names(self) -> tuple:
        return self._names

    def matrices(self) -> list[np.ndarray]:
        """Copies of the weight matrices ``[W^1, ..., W^{L+1}]``: ``W^l`` has shape
        ``(H_{l-1} + 1, H_l)``, the biases as row 0, ``W^l[i, j - 1] = w{l}_{i}_{j}``.

        Examples
        --------
        >>> import symgrad as sg
        >>> net = sg.mlp([2, 3, 1], seed=0)
        >>> [W.shape for W in net.matrices()]
        [(3, 3), (4, 1)]
        >>> float(net.matrices()[0][2, 1]) == net.weights["w1_2_2"]
        True
        """
        return [W.copy() for W in self._W]

    def with_weights(self, matrices: Sequence) -> "Net":
        """A new Net with the same graph and the weight matrices ``matrices`` (as
        :meth:`matrices` gives them; copied).

        Raises
        ------
        InputError
            Not one matrix per layer, a matrix of the wrong shape (the message
            names the layer and the shape), or entries that are not finite reals.

        Examples
        --------
        >>> import symgrad as sg
        >>> net = sg.mlp([2, 2, 1], seed=0)
        >>> half = net.with_weights([W / 2 for W in net.matrices()])
        >>> half.weights["w2_1_1"] == net.weights["w2_1_1"] / 2
        True
        """
        new = Net(self.graph, self.sizes, self.activations, self.loss, check_matrices(matrices, self.sizes))
        new._closed, new._closed_fn, new._plan = self._closed, self._closed_fn, self._plan
        return new

    def _rows(self, name: str, v, n: int) -> np.ndarray:
        if type(v) is np.ndarray and v.dtype == np.float64 and 1 <= v.ndim <= 2 and v.shape[-1] == n:
            return v                                  # already the samples' array
        try:
            arr = np.atleast_1d(np.asarray(v, dtype=float))
        except (TypeError, ValueError):
            raise InputError(f"{name} must be real numbers: {n} per sample, as a list or an array "
                             f"of shape ({n},) or (N, {n}), got {v!r:.80}") from None
        if arr.ndim > 2 or arr.shape[-1] != n:
            raise InputError(f"{name} must have {n} value(s) per sample: shape ({n},) or (N, {n}), "
                             f"got shape {np.shape(v)}")
        return arr

    def _samples(self, x, y) -> tuple:
        """``x`` (and ``y``) checked, as arrays of shape (samples..., D) and (samples..., K)."""
        x = self._rows("x", x, self.sizes[0])
        if x.size == 0:
            raise InputError(f"x holds no samples (shape {x.shape}); pass at least one")
        if self.loss is None:
            if y is not None:
                raise InputError("this net has no loss (loss=None): pass no targets y")
        else:
            if y is None:
                raise InputError(f"the {self.loss} loss needs targets: pass y "
                                 f"({self.sizes[-1]} per sample)")
            y = self._rows("y", y, self.sizes[-1])
            if y.shape[:-1] != x.shape[:-1]:
                raise InputError(f"x has {x.shape[:-1] or 1} sample(s) but y has {y.shape[:-1] or 1}")
        return x, y

    def feed(self, x, y=None, weights: Mapping | None = None) -> dict:
        """The graph's input mapping for samples ``x`` (and targets ``y``)."""
        x, y = self._samples(x, y)
        feed = {f"x{i}": x[..., i - 1] for i in range(1, self.sizes[0] + 1)}
        if y is not None:
            feed.update({f"y{i}": y[..., i - 1] for i in range(1, self.sizes[-1] + 1)})
        feed.update(zip(self._names, flat(self._W)) if weights is None
                    else _check_weights(weights, list(self._names)))
        return feed

    def forward(self, x, y=None) -> NodeValues:
        """Every node's value (arrays over the samples for a batch).

        Examples
        --------
        >>> import symgrad as sg
        >>> net = sg.mlp([2, 2, 1], weights={n: 0.5 for n in sg.mlp([2, 2, 1]).weights})
        >>> round(net.forward([1.0, 0.0], [1.0])["yhat1"], 4)
        1.2616
        """
        return self.graph.forward(self.feed(x, y))

    def _output(self) -> str:
        if len(self.graph.outputs) != 1:
            raise GraphError(f"this net has no loss and {len(self.graph.outputs)} outputs: there is "
                             "no scalar to differentiate (use loss='squared' or 'cross_entropy')")
        return self.graph.outputs[0]

    def _run(self, x, y, grad: bool = True) -> tuple:
        """``(mean loss, [dW^l] or None)``: the net's block program on its matrices
        (samples as rows), or, were the graph not the matrices' layout, the graph's
        executor."""
        out = self._output()
        x, y = self._samples(x, y)
        if self._plan is False:
            self._plan = plan(self.graph, self.sizes)
        if self._plan is not None:
            X = x.reshape(-1, self.sizes[0])
            return self._plan.run(self._W, X, None if y is None else y.reshape(len(X), -1), grad)
        value, g = mean_grad(self.graph, self.feed(x, y), output=out, wrt=self._names)
        return value, (to_matrices(g, self.sizes) if grad else None)

    def mean_loss(self, x, y) -> float:
        """The loss averaged over the samples (the output value for one sample)."""
        return self._run(x, y, grad=False)[0]

    def backprop(self, x, y=None, *, matrices: bool = False) -> dict | list:
        """The gradient of the loss (for a batch: of the MEAN loss) with respect to
        the weights, by reverse mode: ``{weight: d loss / d weight}``, or with
        ``matrices=True`` the list ``[dW^1, ..., dW^{L+1}]`` in the layout of
        :meth:`matrices` (no per-weight dict is built).

        Examples
        --------
        >>> import symgrad as sg
        >>> net = sg.mlp([2, 2, 1], seed=0)
        >>> g = net.backprop([0.5, -1.0], [1.0])
        >>> len(g), sorted(g)[:2]
        (9, ['w1_0_1', 'w1_0_2'])
        >>> dW = net.backprop([0.5, -1.0], [1.0], matrices=True)
        >>> [m.shape for m in dW], float(dW[1][2, 0]) == g["w2_2_1"]
        ([(3, 2), (3, 1)], True)
        """
        grads = self._run(x, y)[1]
        return grads if matrices else dict(zip(self._names, flat(grads)))

    def closed_form_gradient(self) -> dict:
        """``{weight: SymPy expr}`` from the lecture's B / delta recursion, in the
        graph's input symbols and node symbols ``a{l}_{j}``, ``h{l}_{j}``, ``yhat{i}``
        (which the forward pass supplies); independent of reverse mode.

        Examples
        --------
        >>> import symgrad as sg
        >>> cf = sg.mlp([2, 2, 1]).closed_form_gradient()
        >>> cf["w2_1_1"]
        h1_1*(-y1 + yhat1)
        >>> cf["w1_2_1"]
        w2_1_1*x2*(1 - tanh(a1_1)**2)*(-y1 + yhat1)
        """
        if self._closed is None:
            self._closed = closed_form(self.sizes, self.activations, self.loss)
        return dict(self._closed)

    def closed_form_values(self, x, y=None) -> dict:
        """The closed-form gradient evaluated at the forward values (batch: mean)."""
        if self._closed_fn is None:
            cf = self.closed_form_gradient()
            syms = sorted(set().union(*(e.free_symbols for e in cf.values())), key=str)
            fn = sp.lambdify(syms, list(cf.values()), modules="numpy", docstring_limit=0)
            self._closed_fn = ([s.name for s in syms], fn)
        names, fn = self._closed_fn
        fw = self.forward(x, y)
        with np.errstate(all="ignore"):
            vals = fn(*[fw[n] for n in names])
        return {w: float(np.mean(v)) for w, v in zip(self.weights, vals, strict=True)}

    def check(self, x, y=None, *, rtol: float = 1e-5) -> CheckReport:
        """Backprop vs the closed form vs central finite differences of the (mean)
        loss, per weight; notes where relu-like activations sit at a kink.

        Examples
        --------
        >>> import symgrad as sg
        >>> sg.mlp([2, 2, 1], seed=0).check([0.5, -1.0], [1.0]).ok
        True
        """
        check_rtol(rtol)
        ins, shape = read_inputs(self.graph, self.feed(x, y), {})
        out = self._output()
        names = self.weight_names
        with np.errstate(all="ignore"):
            fd, straddle = finite_differences(self.graph, ins, out, names)
            vals = evaluate(self.graph, ins)
        columns = {"backprop": self.backprop(x, y), "closed form": self.closed_form_values(x, y),
                   "finite differences": {w: float(np.mean(v)) for w, v in fd.items()}}
        excuse = {"finite differences": {w: bool(np.any(m)) for w, m in straddle.items()}}
        return compare(names, columns, rtol=rtol, excuse=excuse, notes=kink_notes(self.graph, vals),
                       label="weight",
                       title=f"MLP {list(self.sizes)} gradient check"
                       + (f" (mean over {int(np.prod(shape))} samples)" if shape else ""))

    def train(self, X, Y=None, lr: float = 0.1, steps: int = 100, *,
              progress: bool = True) -> list:
        """Plain gradient descent on the mean loss; updates the weight matrices
        (and so :attr:`weights`) in place.

        Returns the loss history: the mean loss before each step and after the
        last (``steps + 1`` values).  ``progress`` shows a tqdm progress bar.

        Examples
        --------
        >>> import symgrad as sg
        >>> net = sg.mlp([2, 3, 1], seed=1)
        >>> hist = net.train([[0, 0], [0, 1], [1, 0], [1, 1]], [[0], [1], [1], [0]],
        ...                  lr=0.2, steps=50, progress=False)
        >>> len(hist), hist[-1] < hist[0]
        (51, True)
        """
        if not (isinstance(steps, Integral) and steps >= 0):
            raise InputError(f"steps must be a non-negative int, got {steps!r}")
        if isinstance(lr, bool) or not isinstance(lr, Real) or not 0 < lr < np.inf:
            raise InputError(f"lr must be a finite number > 0 such as 0.1, got {lr!r}")
        from tqdm import tqdm
        X, Y = self._samples(X, Y)               # checked once
        history = []
        bar = tqdm(range(steps), desc="training", disable=not progress, leave=False)
        for _ in bar:
            loss, grads = self._run(X, Y)
            history.append(loss)
            for W, g in zip(self._W, grads):
                W -= lr * g                       # in place: net.weights shows the update
            bar.set_postfix(loss=f"{loss:.4g}", refresh=False)
        history.append(self.mean_loss(X, Y))
        return history
