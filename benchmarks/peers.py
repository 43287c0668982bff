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
    """One-sample gradient of the squared loss of a tanh MLP given as
    ``[(W, b), ...]`` (W: out x in)."""
    mg = micrograd_ops()
    if mg is None:
        return None
    Value, op = mg
    params = [([[Value(float(w)) for w in row] for row in W], [Value(float(v)) for v in b]) for W, b in mats]
    flat = [p for W, b in params for row in W for p in row] + [p for _, b in params for p in b]

    def grad(x, y):
        for p in flat:
            p.grad = 0.0
        h = [Value(float(v)) for v in x]
        for k, (W, b) in enumerate(params):
            z = [sum((w * hi for w, hi in zip(row, h)), bj) for row, bj in zip(W, b)]
            h = z if k == len(params) - 1 else [op["tanh"](v) for v in z]
        loss = sum(((hi - float(yi)) ** 2 for hi, yi in zip(h, y)), Value(0.0)) * 0.5
        loss.backward()
        return params[0][0][0][0].grad
    return grad


# -- numpy-style MLP for autograd / JAX -------------------------------------------------
def mlp_loss(np_mod, mats_flat_shapes=None):
    """loss(params, X, Y): mean over rows of 0.5 * sum (yhat - y)^2, tanh hidden layers."""
    def loss(params, X, Y):
        h = X
        for k, (W, b) in enumerate(params):
            z = h @ W.T + b
            h = z if k == len(params) - 1 else np_mod.tanh(z)
        return np_mod.mean(0.5 * np_mod.sum((h - Y) ** 2, axis=-1))
    return loss
