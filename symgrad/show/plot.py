"""The lecture's pictures that are not graphs, drawn with matplotlib.

Each function returns the :class:`matplotlib.figure.Figure` and, with
``path=``, writes it (PNG, SVG or PDF, by the suffix).  The numbers come from
symgrad itself: activations and their derivatives from the op table's formulas
(the same ``apply``/``partials`` the executors run), losses from the net's own
forward pass.

* :func:`activations`: the activation functions slide, each function with its
  derivative (kink conventions included: relu'(0) = 0).
* :func:`loss_curve`: a training curve from :meth:`symgrad.Net.train`'s history.
* :func:`loss_landscape`: 1-D or 2-D slices of a net's mean loss along random
  filter-normalised directions (Li, Xu, Taylor, Studer and Goldstein, "Visualizing
  the Loss Landscape of Neural Nets", NeurIPS 2018).
* :func:`decision_boundary`: a 2-D classifier's decision regions (XOR).
* :func:`universal_approximation`: one hidden layer of growing width fitting a
  1-D function.
* :func:`parity`: weights a shallow and a deep network need for n-bit parity.
"""

from __future__ import annotations

import math
import pathlib
from collections.abc import Sequence

import numpy as np

from ..core.ops import NUM, OPS
from ..errors import InputError

__all__ = ["activations", "loss_curve", "loss_landscape", "decision_boundary",
           "universal_approximation", "parity", "parity_net", "parity_sizes", "random_direction",
           "LECTURE_ACTIVATIONS"]

LECTURE_ACTIVATIONS = ("identity", "sigmoid", "tanh", "relu", "leaky_relu", "elu")
_SUFFIXES = (".png", ".svg", ".pdf")
ORANGE, BLUE = "#e6550d", "#3182bd"           # the pictures' value and operation colours


def _pyplot():
    """pyplot, on whatever backend is current: a notebook's inline one shows the
    figures; without a display matplotlib falls back to Agg by itself."""
    import matplotlib.pyplot as plt
    return plt


def _finish(fig, path):
    if path is not None:
        p = pathlib.Path(path)
        if p.suffix.lower() not in _SUFFIXES:
            raise InputError(f"path must end in {', '.join(_SUFFIXES)} (the picture's format), "
                             f"got {str(path)!r}")
        fig.savefig(p, bbox_inches="tight", dpi=150)
    return fig


def _curve(name: str, x: np.ndarray, params: Sequence | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(phi(x), phi'(x)) of the op ``name`` from the op table's formulas."""
    op = OPS[name]
    extra = [float(d) for _, d in op.params] if params is None else list(params)
    with np.errstate(all="ignore"):
        y = op.apply(NUM, x, *extra)
        d = op.partials(NUM, y, x, *extra)[0]
    return np.broadcast_to(np.asarray(y, float), x.shape), np.broadcast_to(np.asarray(d, float), x.shape)


def activations(names: Sequence[str] = LECTURE_ACTIVATIONS, *, span: float = 4.0,
                points: int = 801, path=None):
    """The lecture's activation functions with their derivatives, one panel each.

    Examples
    --------
    >>> fig = activations(["tanh", "relu"])
    >>> [ax.get_title() for ax in fig.axes]
    ['tanh', 'relu']
    >>> x, y, d = fig.curves["relu"]                 # the plotted data
    >>> float(x[400]), float(d[400])                  # relu'(0) = 0: the convention
    (0.0, 0.0)
    """
    bad = [n for n in names if n not in OPS or OPS[n].arity == 0 or OPS[n].arity < 0
           or OPS[n].arity - len(OPS[n].params) != 1]
    if bad or not names:
        raise InputError(f"activations() draws one-argument ops of the table, got {list(names)!r}; "
                         f"the lecture's are {', '.join(LECTURE_ACTIVATIONS)}")
    if not (isinstance(span, (int, float)) and 0 < span < 1e6) or not (isinstance(points, int) and 3 <= points <= 100_000):
        raise InputError(f"span must be a number in (0, 1e6) and points an int in 3..100000, "
                         f"got span={span!r}, points={points!r}")
    plt = _pyplot()
    cols = min(3, len(names))
    rows = math.ceil(len(names) / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(3.2 * cols, 2.6 * rows), squeeze=False)
    x = np.linspace(-span, span, points)
    fig.curves = {}
    for ax, name in zip(axes.flat, names):
        y, d = _curve(name, x)
        fig.curves[name] = (x, y, d)
        ax.axhline(0, color="0.8", lw=0.8)
        ax.axvline(0, color="0.8", lw=0.8)
        ax.plot(x, y, color=BLUE, lw=2, label=name)
        ax.plot(x, d, color=ORANGE, lw=1.5, ls="--", label=f"{name}'")
        ax.set_title(name)
        ax.legend(loc="upper left", fontsize=8, frameon=False)
    for ax in list(axes.flat)[len(names):]:
        ax.set_visible(False)
    fig.tight_layout()
    return _finish(fig, path)


def loss_curve(history: Sequence[float], *, log: bool | None = None, title: str = "training",
               path=None):
    """The mean loss per gradient step, from :meth:`symgrad.Net.train`'s history
    (``steps + 1`` values: before each step and after the last).  ``log`` (default:
    when the losses span more than two decades) draws the loss on a log scale.

    >>> fig = loss_curve([1.0, 0.5, 0.25])
    >>> fig.axes[0].lines[0].get_ydata().tolist()
    [1.0, 0.5, 0.25]
    """
    try:
        h = np.asarray(history, dtype=float)
    except (TypeError, ValueError):
        raise InputError(f"history must be a list of losses such as net.train(...) returns, "
                         f"got {history!r:.80}") from None
    if h.ndim != 1 or h.size == 0:
        raise InputError(f"history must be a non-empty list of losses, got shape {h.shape}")
    finite = h[np.isfinite(h)]
    if log is None:
        log = finite.size > 0 and finite.min() > 0 and finite.max() / finite.min() > 100
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(5, 3.2))
    ax.plot(np.arange(h.size), h, color=BLUE, lw=1.8)
    ax.set_xlabel("step")
    ax.set_ylabel("mean loss")
    ax.set_title(title)
    if log:
        ax.set_yscale("log")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return _finish(fig, path)


def _filters(net) -> list[list[str]]:
    """The net's weight names grouped by filter (one neuron's incoming weights,
    bias included): ``w{l}_{i}_{j}`` for fixed ``l, j``."""
    groups: dict = {}
    for name in net.weights:
        l, _, j = name[1:].split("_")
        groups.setdefault((int(l), int(j)), []).append(name)
    return list(groups.values())


def random_direction(net, seed=None, *, rng=None) -> dict:
    """``{weight: value}``: a random Gaussian direction in weight space, scaled
    filter by filter (a neuron's incoming weights, bias included) to the norm of
    the net's weights in that filter (Li et al. 2018, filter normalisation)."""
    rng = np.random.default_rng(seed) if rng is None else rng
    d = {}
    for names in _filters(net):
        w = np.array([net.weights[n] for n in names])
        r = rng.normal(size=w.size)
        r *= np.linalg.norm(w) / max(np.linalg.norm(r), 1e-300)
        d.update(zip(names, r))
    return d


def _mean_loss(net, X, Y, weights: dict) -> float:
    with np.errstate(all="ignore"):
        value = net.graph.forward(net.feed(X, Y, weights=weights))[net.graph.outputs[0]]
    return float(np.mean(value))


def loss_landscape(net, X, Y, *, dims: int = 1, span: float = 1.0, steps: int = 41,
                   seed: int = 0, path=None):
    """A slice of the net's mean loss around its current weights ``w``:
    ``L(w + a d)`` (``dims=1``) or ``L(w + a d + b e)`` (``dims=2``, contours),
    ``a, b`` in ``[-span, span]``, with random directions ``d, e`` normalised
    filter by filter (each neuron's direction scaled to the norm of its weights,
    Li et al. 2018), so nets of different scale are comparable.  The figure's
    ``landscape`` attribute holds ``(axes values, losses)``.

    Examples
    --------
    >>> import symgrad as sg
    >>> net = sg.mlp([2, 3, 1], seed=0)
    >>> fig = loss_landscape(net, [[0, 1], [1, 0]], [[1], [1]], steps=5)
    >>> alphas, losses = fig.landscape
    >>> bool(losses[2] == net.mean_loss([[0, 1], [1, 0]], [[1], [1]]))   # a = 0: the net itself
    True
    """
    if dims not in (1, 2):
        raise InputError(f"dims must be 1 or 2, got {dims!r}")
    if not (isinstance(steps, int) and 3 <= steps <= 201):
        raise InputError(f"steps must be an int in 3..201, got {steps!r}")
    if not (isinstance(span, (int, float)) and 0 < span < 1e6):
        raise InputError(f"span must be a number in (0, 1e6), got {span!r}")
    if net.loss is None:
        raise InputError("loss_landscape needs a net with a loss (loss='squared' or 'cross_entropy')")
    rng = np.random.default_rng(seed)
    w0 = dict(net.weights)
    net.feed(X, Y)                                  # the samples' errors, before any work
    d = random_direction(net, rng=rng)
    a = np.linspace(-span, span, steps)
    plt = _pyplot()
    if dims == 1:
        losses = np.array([_mean_loss(net, X, Y, {n: w0[n] + t * d[n] for n in w0}) for t in a])
        fig, ax = plt.subplots(figsize=(5, 3.2))
        ax.plot(a, losses, color=BLUE, lw=1.8)
        ax.axvline(0, color=ORANGE, lw=1, ls="--")
        ax.set_xlabel("a (filter-normalised direction)")
        ax.set_ylabel("mean loss")
        fig.landscape = (a, losses)
    else:
        e = random_direction(net, rng=rng)
        losses = np.array([[_mean_loss(net, X, Y, {n: w0[n] + s * d[n] + t * e[n] for n in w0})
                            for s in a] for t in a])
        fig, ax = plt.subplots(figsize=(4.6, 4))
        cs = ax.contour(a, a, losses, levels=20, cmap="viridis")
        ax.clabel(cs, fontsize=6)
        ax.plot([0], [0], marker="o", color=ORANGE)
        ax.set_xlabel("a")
        ax.set_ylabel("b")
        fig.landscape = ((a, a), losses)
    ax.set_title(f"loss landscape, MLP {list(net.sizes)}")
    fig.tight_layout()
    return _finish(fig, path)


def _prediction(net, X) -> np.ndarray:
    """The net's class-1 score in [0, 1] per sample (the sigmoid of a logit for
    cross-entropy, else the prediction itself)."""
    fw = net.graph.forward(net.feed(X, np.zeros((len(X), net.sizes[-1])) if net.loss else None))
    z = np.asarray(fw["yhat1"], dtype=float)
    return OPS["sigmoid"].apply(NUM, z) if net.loss == "cross_entropy" else z


def decision_boundary(net, X, Y, *, resolution: int = 200, margin: float = 0.5, path=None):
    """A classifier of 2-D samples: its score over the plane (filled contours, the
    0.5 level as the boundary) and the samples coloured by their target.

    >>> import symgrad as sg
    >>> net = sg.mlp([2, 2, 1], seed=0)
    >>> fig = decision_boundary(net, [[0, 0], [1, 1]], [[0], [1]], resolution=20)
    >>> fig.grid[2].shape
    (20, 20)
    """
    if net.sizes[0] != 2 or net.sizes[-1] != 1:
        raise InputError(f"decision_boundary draws nets with 2 inputs and 1 output, this one is "
                         f"{list(net.sizes)}")
    try:
        X, Y = np.asarray(X, dtype=float), np.asarray(Y, dtype=float)
    except (TypeError, ValueError):
        raise InputError("X and Y must be numbers: X of shape (N, 2), Y one target per sample") from None
    if X.ndim != 2 or X.shape[1] != 2 or len(X) == 0:
        raise InputError(f"X must have shape (N, 2), got {X.shape}")
    if Y.size != len(X):
        raise InputError(f"Y must hold one target per sample ({len(X)}), got shape {Y.shape}")
    Y = Y.reshape(len(X), 1)
    if not (isinstance(resolution, int) and 2 <= resolution <= 2000):
        raise InputError(f"resolution must be an int in 2..2000, got {resolution!r}")
    lo, hi = X.min(axis=0) - margin, X.max(axis=0) + margin
    gx, gy = np.meshgrid(np.linspace(lo[0], hi[0], resolution), np.linspace(lo[1], hi[1], resolution))
    score = _prediction(net, np.column_stack([gx.ravel(), gy.ravel()])).reshape(gx.shape)
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(4.2, 4))
    ax.contourf(gx, gy, score, levels=20, cmap="RdBu_r", alpha=0.6)
    ax.contour(gx, gy, score, levels=[0.5], colors="k", linewidths=1.5)
    ax.scatter(X[:, 0], X[:, 1], c=Y[:, 0], cmap="RdBu_r", edgecolors="k", s=60, vmin=0, vmax=1)
    ax.set_xlabel("$x_1$")
    ax.set_ylabel("$x_2$")
    ax.set_title(f"decision boundary, MLP {list(net.sizes)}")
    fig.grid = (gx, gy, score)
    fig.tight_layout()
    return _finish(fig, path)


def universal_approximation(target=np.sin, *, widths: Sequence[int] = (1, 3, 10),
                            interval: tuple = (-math.pi, math.pi), samples: int = 64,
                            steps: int = 3000, lr: float = 0.1, seed: int = 0, path=None):
    """One hidden tanh layer of growing width trained (full-batch gradient
    descent, :meth:`symgrad.Net.train`) to fit ``target`` on ``interval``: the
    universal-approximation argument, one panel per width.  The figure's
    ``fits`` attribute maps each width to its final mean loss."""
    from ..nn.mlp import mlp
    if not widths or not all(isinstance(w, int) and 1 <= w <= 256 for w in widths):
        raise InputError(f"widths must be ints in 1..256, got {widths!r}")
    x = np.linspace(*interval, samples)
    y = np.asarray(target(x), dtype=float)
    plt = _pyplot()
    fig, axes = plt.subplots(1, len(widths), figsize=(3.2 * len(widths), 2.8), squeeze=False)
    fig.fits = {}
    for ax, width in zip(axes[0], widths):
        net = mlp([1, width, 1], activation="tanh", seed=seed)
        history = net.train(x[:, None], y[:, None], lr=lr, steps=steps, progress=False)
        fit = np.asarray(net.forward(x[:, None], y[:, None])["yhat1"])
        fig.fits[width] = history[-1]
        ax.plot(x, y, color="0.5", lw=3, label="target")
        ax.plot(x, fit, color=BLUE, lw=1.6, label="net")
        ax.set_title(f"{width} hidden neuron{'s' * (width > 1)}: loss {history[-1]:.2g}")
        ax.legend(fontsize=7, frameon=False)
    fig.tight_layout()
    return _finish(fig, path)


def parity_net(n: int):
    """An exact n-bit parity network as a real MLP: a deep tree of XORs with relu
    units, ``XOR(a, b) = relu(a - b) + relu(b - a)`` for bits, ``ceil(log2 n)``
    levels of two layers each (an odd bit passes on as ``relu(x) = x``), identity
    output, no loss.  ``2 (n - 1)`` XOR units plus the pass-throughs.

    >>> net = parity_net(3)
    >>> [float(net.forward([a, b, c])["yhat1"]) for a, b, c in [(1, 0, 0), (1, 1, 0), (1, 1, 1)]]
    [1.0, 0.0, 1.0]
    """
    from ..nn.mlp import mlp
    if not (isinstance(n, int) and 2 <= n <= 1024):
        raise InputError(f"n must be an int in 2..1024, got {n!r}")
    sizes, plan, width = [n], [], n
    while width > 1:
        pairs, odd = divmod(width, 2)
        plan.append((pairs, odd))
        sizes += [2 * pairs + odd, pairs + odd]
        width = pairs + odd
    w = {}
    for level, (pairs, odd) in enumerate(plan):
        up, down = 2 * level + 1, 2 * level + 2           # the level's two weight layers
        for k in range(pairs):                            # bits 2k+1, 2k+2 -> units 2k+1, 2k+2
            a, b, u = 2 * k + 1, 2 * k + 2, 2 * k + 1
            w[(up, a, u)], w[(up, b, u)] = 1.0, -1.0
            w[(up, a, u + 1)], w[(up, b, u + 1)] = -1.0, 1.0
            w[(down, u, k + 1)] = w[(down, u + 1, k + 1)] = 1.0
        if odd:
            w[(up, 2 * pairs + 1, 2 * pairs + 1)] = 1.0
            w[(down, 2 * pairs + 1, pairs + 1)] = 1.0
    names = mlp(sizes, activation="relu", loss=None).weights
    weights = {}
    for name in names:
        l, i, j = map(int, name[1:].split("_"))
        weights[name] = w.get((l, i, j), 0.0)
    return mlp(sizes, activation="relu", loss=None, weights=weights)


def parity_sizes(n: int) -> dict:
    """Hidden units two n-bit parity networks need: one hidden layer with one
    unit per input pattern of odd parity (the sum-of-products construction the
    depth argument starts from), ``2**(n - 1)``, and the deep XOR tree of
    :func:`parity_net` (built, and its hidden units counted).

    >>> parity_sizes(4)["shallow units"], parity_sizes(4)["deep units"], parity_sizes(4)["deep sizes"]
    (8, 8, [4, 4, 2, 2, 1])
    """
    net = parity_net(n)
    return {"n": n, "shallow units": 2 ** (n - 1), "deep units": sum(net.sizes[1:-1]),
            "deep sizes": list(net.sizes)}


def parity(bits: Sequence[int] = (2, 3, 4, 6, 8, 12, 16), *, path=None):
    """Hidden units an n-bit parity network needs with one hidden layer of
    pattern units (``2**(n-1)``: exponential) and as a deep XOR tree (linear):
    the depth argument.  The figure's ``sizes`` attribute lists
    :func:`parity_sizes` per n."""
    if not bits or not all(isinstance(b, int) and 2 <= b <= 64 for b in bits):
        raise InputError(f"bits must be ints in 2..64, got {bits!r}")
    rows = [parity_sizes(n) for n in bits]
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(5, 3.2))
    ax.plot(bits, [r["shallow units"] for r in rows], "o-", color=ORANGE,
            label="one hidden layer (a unit per odd pattern)")
    ax.plot(bits, [r["deep units"] for r in rows], "s-", color=BLUE, label="deep XOR tree (relu)")
    ax.set_yscale("log", base=2)
    ax.set_xlabel("bits n")
    ax.set_ylabel("hidden units")
    ax.set_title("n-bit parity: shallow vs deep")
    ax.legend(frameon=False, fontsize=8)
    fig.sizes = rows
    fig.tight_layout()
    return _finish(fig, path)
