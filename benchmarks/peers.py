"""Peer implementations of the benchmark functions (micrograd, autograd, PyTorch,
JAX, CasADi, plain numpy/math), each imported lazily: a missing peer is reported
as "not installed", never a crash."""

from __future__ import annotations

import importlib
import importlib.metadata
import math

import numpy as np

NOT_INSTALLED = "not installed"


def load(name: str):
    """The module ``name`` or None when it is not installed."""
    try:
        return importlib.import_module(name)
    except Exception:                                   # ImportError, broken installs
        return None


def version(name: str) -> str:
    mod = load(name)
    if mod is None:
        return NOT_INSTALLED
    try:
        return importlib.metadata.version(name)
    except Exception:
        return getattr(mod, "__version__", "?")


# -- the lecture function --------------------------------------------------------------
def lecture_math(x: float) -> tuple[float, float]:
    """f and df/dx written by hand with ``math``: the floor for W1."""
    a = x * x
    b = math.exp(a)
    c = a + b
    d = math.sqrt(c)
    e = math.cos(c)
    dc = 0.5 / d - math.sin(c)
    return d + e, dc * (1.0 + b) * 2.0 * x


def lecture_numpy(x: np.ndarray):
    a = x * x
    b = np.exp(a)
    c = a + b
    d = np.sqrt(c)
    dc = 0.5 / d - np.sin(c)
    return d + np.cos(c), dc * (1.0 + b) * 2.0 * x


# -- micrograd, with the ops it lacks added the micrograd way ---------------------------
def micrograd_ops():
    """``exp, sin, cos, tanh`` for micrograd Values (micrograd ships +, *, **, relu)."""
    eng = load("micrograd.engine")
    if eng is None:
        return None
    Value = eng.Value

    def unary(f, df):
        def op(v):
            out = Value(f(v.data), (v,), f.__name__)

            def _backward():
                v.grad += df(v.data, out.data) * out.grad
            out._backward = _backward
            return out
        return op

    return Value, {
        "exp": unary(math.exp, lambda x, y: y),
        "sin": unary(math.sin, lambda x, y: math.cos(x)),
        "cos": unary(math.cos, lambda x, y: -math.sin(x)),
        "tanh": unary(math.tanh, lambda x, y: 1 - y * y),
    }


def micrograd_lecture():
    mg = micrograd_ops()
    if mg is None:
        return None
    Value, op = mg

    def grad(x0=2.0):
        x = Value(x0)
        a = x ** 2
        b = op["exp"](a)
        c = a + b
        f = c ** 0.5 + op["cos"](c)
        f.backward()
        return x.grad
    return grad


def micrograd_mlp(mats):
    """micrograd's gradient of the squared loss of a tanh MLP given as
    ``[(W, b), ...]`` (W: out x in): ``grad(X, Y)`` back-propagates the MEAN loss
    over the rows of ``X`` (one sample: one row) the micrograd way, one ``Value``
    graph and one ``backward()`` per sample, the parameters' gradients adding up
    (one graph for a whole batch would not fit in memory, and Python's cycle
    collector makes it slower than linear); ``grads()`` then reads them as
    lecture matrices (see :func:`to_lecture`).  None when micrograd is not
    installed."""
    mg = micrograd_ops()
    if mg is None:
        return None
    Value, op = mg
    params = [([[Value(float(w)) for w in row] for row in W], [Value(float(v)) for v in b]) for W, b in mats]
    flat = [p for W, b in params for row in W for p in row] + [p for _, b in params for p in b]

    def grad(X, Y):
        for p in flat:
            p.grad = 0.0
        X, Y = np.atleast_2d(X), np.atleast_2d(Y)
        total, scale = 0.0, 0.5 / len(X)
        for x, y in zip(X, Y):
            h = [Value(float(v)) for v in x]
            for k, (W, b) in enumerate(params):
                z = [sum((w * hi for w, hi in zip(row, h)), bj) for row, bj in zip(W, b)]
                h = z if k == len(params) - 1 else [op["tanh"](v) for v in z]
            loss = sum(((hi - float(yi)) ** 2 for hi, yi in zip(h, y)), Value(0.0)) * scale
            loss.backward()
            total += loss.data
        return total

    def grads():
        return to_lecture([(np.array([[p.grad for p in row] for row in W]), np.array([p.grad for p in b]))
                           for W, b in params])
    grad.grads = grads
    return grad


# -- weights as matrices -----------------------------------------------------------------
def to_lecture(mats):
    """``[(W (out x in), b), ...]`` -> the lecture's ``W^l`` of shape (in + 1, out), bias row 0."""
    return [np.vstack([b[None, :], W.T]) for W, b in mats]


def from_lecture(Ws):
    """The lecture's ``W^l`` (bias row 0) -> ``[(W (out x in), b), ...]`` (PyTorch's layout)."""
    return [(np.ascontiguousarray(W[1:].T), W[0].copy()) for W in Ws]


class NumpyMLP:
    """The hand-written numpy peer: a tanh MLP with an identity output layer and
    the mean squared loss ``mean_n 0.5 * sum_k (yhat - y)^2``, weights as the
    lecture's matrices ``W^l`` (shape ``(H_{l-1} + 1, H_l)``, bias row 0).
    Forward ``h = tanh(h @ W[1:] + W[0])`` per layer; backward written out by
    hand: ``B = (yhat - y) / N``, ``dW[0] = sum_n B``, ``dW[1:] = h_prev.T @ B``,
    ``B <- (B @ W[1:].T) * (1 - h_prev**2)``."""

    def __init__(self, Ws):
        self.Ws = [np.array(W, dtype=float) for W in Ws]

    def loss(self, X, Y) -> float:
        h = X
        last = len(self.Ws) - 1
        for l, W in enumerate(self.Ws):
            a = h @ W[1:] + W[0]
            h = a if l == last else np.tanh(a)
        r = h - Y
        return 0.5 * float(np.vdot(r, r)) / len(X)

    def grad(self, X, Y):
        """(mean loss, [dW^1, ...]) for a batch ``X`` of shape (N, D)."""
        hs, h, last = [X], X, len(self.Ws) - 1
        for l, W in enumerate(self.Ws):
            a = h @ W[1:] + W[0]
            h = a if l == last else np.tanh(a)
            hs.append(h)
        r = h - Y
        n = len(X)
        B = r / n
        out = [None] * len(self.Ws)
        for l in range(last, -1, -1):
            W, prev = self.Ws[l], hs[l]
            G = np.empty_like(W)
            G[0] = B.sum(axis=0)
            np.matmul(prev.T, B, out=G[1:])
            out[l] = G
            if l:
                B = (B @ W[1:].T) * (1.0 - prev * prev)
        return 0.5 * float(np.vdot(r, r)) / n, out

    def step(self, X, Y, lr: float) -> float:
        """One gradient-descent step on the mean loss, in place; the loss before it."""
        loss, G = self.grad(X, Y)
        for W, g in zip(self.Ws, G):
            W -= lr * g
        return loss


# -- numpy-style MLP for autograd / JAX -------------------------------------------------
def mlp_loss(np_mod):
    """loss(params, X, Y): mean over rows of 0.5 * sum (yhat - y)^2, tanh hidden layers."""
    def loss(params, X, Y):
        h = X
        for k, (W, b) in enumerate(params):
            z = h @ W.T + b
            h = z if k == len(params) - 1 else np_mod.tanh(z)
        return np_mod.mean(0.5 * np_mod.sum((h - Y) ** 2, axis=-1))
    return loss
