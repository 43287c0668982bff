"""The benchmark workloads W1-W5.  Each ``w*`` function runs in its own process
(see run.py) and returns ``{"rows": [...], ...}``: one row per peer and setting,
times in seconds (medians after warm-up), ``None`` where not applicable."""

from __future__ import annotations

import gc
import inspect
import math
import random
import statistics
import subprocess
import sys
import time
import tracemalloc

import numpy as np

import peers
import symgrad as sg
from symgrad.numeric.reverse import mean_grad

LECTURE = "sqrt(x**2 + exp(x**2)) + cos(x**2 + exp(x**2))"


def bench(fn, *, quick=False, warmup=2, paused_gc=False):
    """Median seconds per call of ``fn()`` over repeats of a calibrated loop;
    ``paused_gc``: with Python's cycle collector paused while timing (timeit's
    default), for a peer whose cost would otherwise be that of collecting every
    object the process holds."""
    if paused_gc:
        gc.collect()
        gc.disable()
        try:
            return bench(fn, quick=quick, warmup=warmup)
        finally:
            gc.enable()
            gc.collect()
    for _ in range(warmup):
        fn()
    budget, repeat = (0.05, 5) if quick else (0.25, 9)
    number, t = 1, 0.0
    while True:
        t0 = time.perf_counter()
        for _ in range(number):
            fn()
        t = time.perf_counter() - t0
        if t >= budget / repeat or number >= 1 << 20:
            break
        number *= 2 if t <= 0 else max(2, min(100, int(budget / repeat / t) + 1))
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        for _ in range(number):
            fn()
        times.append((time.perf_counter() - t0) / number)
    return statistics.median(times)


def once(fn):
    t0 = time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, out


def _jax():
    jax = peers.load("jax")
    if jax is None:
        return None, None
    jax.config.update("jax_enable_x64", True)
    return jax, jax.numpy


def _torch():
    torch = peers.load("torch")
    if torch is not None:
        torch.set_num_threads(1)
    return torch


def missing(peer, **extra):
    return {"peer": peer, "status": peers.NOT_INSTALLED, **extra}


# -- W1: the lecture function ------------------------------------------------------------
def w1(quick: bool) -> dict:
    rows, xs = [], np.linspace(0.0, 2.0, 1_000_000)
    g = sg.parse(LECTURE)
    want = g.grad(x=2.0)["x"]
    rows.append({"peer": "symgrad", "scalar_grad_s": bench(lambda: g.grad(x=2.0), quick=quick),
                 "batch_1M_s": bench(lambda: g.grad(x=xs), quick=quick), "grad": want})
    rows.append({"peer": "math/numpy by hand", "scalar_grad_s": bench(lambda: peers.lecture_math(2.0), quick=quick),
                 "batch_1M_s": bench(lambda: peers.lecture_numpy(xs), quick=quick),
                 "grad": peers.lecture_math(2.0)[1]})
    mg = peers.micrograd_lecture()
    rows.append({"peer": "micrograd", "scalar_grad_s": bench(mg, quick=quick), "batch_1M_s": None,
                 "grad": mg()} if mg else missing("micrograd"))
    rows.append(_w1_autograd(xs, quick))
    rows.append(_w1_torch(xs, quick))
    rows.append(_w1_jax(xs, quick))
    rows.append(_w1_casadi(quick))
    return {"rows": rows, "reference_grad": want}


def _w1_autograd(xs, quick):
    ag = peers.load("autograd")
    if ag is None:
        return missing("autograd")
    anp = peers.load("autograd.numpy")
    f = lambda x: anp.sqrt(x**2 + anp.exp(x**2)) + anp.cos(x**2 + anp.exp(x**2))   # noqa: E731
    df, edf = ag.grad(f), ag.elementwise_grad(f)
    return {"peer": "autograd", "scalar_grad_s": bench(lambda: df(2.0), quick=quick),
            "batch_1M_s": bench(lambda: edf(xs), quick=quick), "grad": float(df(2.0))}


def _lecture_torch(torch, x):
    a = x * x
    c = a + torch.exp(a)
    return torch.sqrt(c) + torch.cos(c)


def _w1_torch(xs, quick):
    torch = _torch()
    if torch is None:
        return missing("torch")

    def scalar():
        x = torch.tensor(2.0, dtype=torch.float64, requires_grad=True)
        return torch.autograd.grad(_lecture_torch(torch, x), x)[0]

    xt = torch.tensor(xs)

    def batch():
        x = xt.clone().requires_grad_(True)
        return torch.autograd.grad(_lecture_torch(torch, x).sum(), x)[0]
    return {"peer": f"torch {torch.__version__} (1 thread)", "scalar_grad_s": bench(scalar, quick=quick),
            "batch_1M_s": bench(batch, quick=quick), "grad": float(scalar())}


def _w1_jax(xs, quick):
    jax, jnp = _jax()
    if jax is None:
        return missing("jax")
    f = lambda x: jnp.sqrt(x**2 + jnp.exp(x**2)) + jnp.cos(x**2 + jnp.exp(x**2))   # noqa: E731
    df = jax.jit(jax.grad(f))
    vdf = jax.jit(jax.vmap(jax.grad(f)))
    xj = jnp.asarray(xs)
    c1, _ = once(lambda: df(2.0).block_until_ready())
    c2, _ = once(lambda: vdf(xj).block_until_ready())
    return {"peer": f"jax {jax.__version__} jit (1 thread)",
            "scalar_grad_s": bench(lambda: df(2.0).block_until_ready(), quick=quick),
            "batch_1M_s": bench(lambda: vdf(xj).block_until_ready(), quick=quick),
            "compile_s": c1 + c2, "grad": float(df(2.0))}


def _w1_casadi(quick):
    ca = peers.load("casadi")
    if ca is None:
        return missing("casadi")
    x = ca.SX.sym("x")
    f = ca.sqrt(x**2 + ca.exp(x**2)) + ca.cos(x**2 + ca.exp(x**2))
    df = ca.Function("df", [x], [ca.gradient(f, x)])
    return {"peer": f"casadi {ca.__version__}", "scalar_grad_s": bench(lambda: df(2.0), quick=quick),
            "batch_1M_s": None, "grad": float(df(2.0))}


# -- W2: MLPs ------------------------------------------------------------------------------
NETS = {"S": [2, 8, 8, 1], "M": [4, 32, 32, 1]}
BATCH = 10_000
LR = 0.01                      # the training step of every peer: w <- w - LR * d(mean loss)/dw
MATRICES = "symgrad net.backprop (matrices=True)"
UNAVAILABLE = "not available in this revision"


def _lecture(sizes, weights) -> list:
    """A weight dict ``{"w{l}_{i}_{j}": v}`` as the lecture's matrices ``W^l`` of
    shape ``(H_{l-1} + 1, H_l)``, bias row 0 (the layout of ``net.matrices()``)."""
    out = []
    for l in range(1, len(sizes)):
        W = np.empty((sizes[l - 1] + 1, sizes[l]))
        for i in range(sizes[l - 1] + 1):
            for j in range(1, sizes[l] + 1):
                W[i, j - 1] = weights[f"w{l}_{i}_{j}"]
        out.append(W)
    return out


def _err(got, want) -> float:
    """Largest absolute difference between two lists of weight matrices."""
    return max(float(np.max(np.abs(np.asarray(g, dtype=float) - w))) for g, w in zip(got, want, strict=True))


def has_matrices(net) -> bool:
    """Whether this revision's MLP API has the matrix form (issue 12)."""
    return hasattr(net, "matrices") and "matrices" in inspect.signature(net.backprop).parameters


def w2(quick: bool, nets=None, batch: int = BATCH) -> dict:
    """Per net: the public calls (``net.backprop`` dict and matrices, ``net.train``),
    the graph-level calls, and the peers, all on the same weights and samples.
    ``max_abs_err`` compares each peer's gradients (one sample and the batch) with
    the hand-written numpy ones."""
    rows = []
    for tag, sizes in (nets or NETS).items():
        net = sg.mlp(sizes, activation="tanh", loss="squared", seed=0)
        rng = np.random.default_rng(0)
        X, Y = rng.normal(size=(batch, sizes[0])), rng.normal(size=(batch, sizes[-1]))
        Ws = _lecture(sizes, net.weights)
        hand = peers.NumpyMLP(Ws)
        ref = {"one": hand.grad(X[:1], Y[:1])[1], "batch": hand.grad(X, Y)[1]}
        mats = peers.from_lecture(Ws)
        rows += _w2_symgrad(tag, net, X, Y, ref, quick)
        rows.append(_w2_numpy(tag, Ws, X, Y, quick))
        rows.append(_w2_micrograd(tag, mats, X, Y, ref, quick))
        rows.append(_w2_autograd(tag, mats, X, Y, ref, quick))
        rows.append(_w2_torch(tag, mats, X, Y, ref, quick))
        rows.append(_w2_jax(tag, mats, X, Y, ref, quick))
    return {"rows": rows}


def _w2_symgrad(tag, net, X, Y, ref, quick):
    sizes, g = net.sizes, net.graph
    x, y = X[0], Y[0]                              # one sample as a user passes it
    first, d_one = once(lambda: net.backprop(x, y))
    t_fwd = bench(lambda: net.mean_loss(X, Y), quick=quick)     # forward only, as the peers' loss
    t_dict = bench(lambda: net.backprop(X, Y), quick=quick)
    err = max(_err(_lecture(sizes, d_one), ref["one"]), _err(_lecture(sizes, net.backprop(X, Y)), ref["batch"]))
    rows = [{"net": tag, "peer": "symgrad net.backprop (dict)",
             "one_sample_s": bench(lambda: net.backprop(x, y), quick=quick), "batch_grad_s": t_dict,
             "batch_fwd_s": t_fwd, "ratio": t_dict / t_fwd, "first_call_s": first, "max_abs_err": err,
             "api": "net.backprop(x, y) / net.backprop(X, Y) / net.mean_loss(X, Y)"}]
    if has_matrices(net):
        err = max(_err(net.backprop(x, y, matrices=True), ref["one"]),
                  _err(net.backprop(X, Y, matrices=True), ref["batch"]))
        t_mat = bench(lambda: net.backprop(X, Y, matrices=True), quick=quick)
        rows.append({"net": tag, "peer": MATRICES,
                     "one_sample_s": bench(lambda: net.backprop(x, y, matrices=True), quick=quick),
                     "batch_grad_s": t_mat, "batch_fwd_s": t_fwd, "ratio": t_mat / t_fwd, "max_abs_err": err,
                     "api": "net.backprop(x, y, matrices=True) / (X, Y, matrices=True) / net.mean_loss(X, Y)"})
    else:
        rows.append({"net": tag, "peer": MATRICES, "status": UNAVAILABLE})
    wrt = list(net.weights)                        # as the peers: the parameters' gradient
    t_grad = bench(lambda: mean_grad(g, net.feed(X, Y), wrt=wrt), quick=quick)
    t_gfwd = bench(lambda: g.forward(net.feed(X, Y)), quick=quick)
    rows.append({"net": tag, "peer": "symgrad graph (g.grad, mean_grad, g.forward)",
                 "one_sample_s": bench(lambda: g.grad(net.feed(x, y)), quick=quick),
                 "batch_grad_s": t_grad, "batch_fwd_s": t_gfwd, "ratio": t_grad / t_gfwd,
                 "api": "g.grad(net.feed(x, y)) (all inputs) / mean_grad(g, net.feed(X, Y), wrt=weights) / "
                        "g.forward(net.feed(X, Y))"})
    rows.append({"net": tag, "peer": "symgrad net.train", **_symgrad_train(net, X, Y, quick),
                 "api": "net.train(X, Y, lr, steps, progress=False): (time(steps=K) - time(steps=0)) / K"})
    return rows


def _symgrad_train(net, X, Y, quick):
    """Steps per second of ``net.train`` on the whole batch and on a one-sample
    batch.  A call of K steps also evaluates the loss once after the last step;
    that (a call with ``steps=0``) is subtracted.  Trains ``net`` in place."""
    out = {}
    for col, A, B, k in (("train_batch_steps_per_second", X, Y, 5 if quick else 20),
                         ("train_1_steps_per_second", X[:1], Y[:1], 50 if quick else 200)):
        t_k = bench(lambda A=A, B=B, k=k: net.train(A, B, LR, k, progress=False), quick=quick)
        t_0 = bench(lambda A=A, B=B: net.train(A, B, LR, 0, progress=False), quick=quick)
        out[col] = k / (t_k - t_0) if t_k > t_0 else None
    return out


def _w2_numpy(tag, Ws, X, Y, quick):
    hand, trainer = peers.NumpyMLP(Ws), peers.NumpyMLP(Ws)
    x1, y1 = X[:1], Y[:1]
    t_grad = bench(lambda: hand.grad(X, Y), quick=quick)
    t_fwd = bench(lambda: hand.loss(X, Y), quick=quick)
    return {"net": tag, "peer": "numpy by hand", "one_sample_s": bench(lambda: hand.grad(x1, y1), quick=quick),
            "batch_grad_s": t_grad, "batch_fwd_s": t_fwd, "ratio": t_grad / t_fwd,
            "train_batch_steps_per_second": 1 / bench(lambda: trainer.step(X, Y, LR), quick=quick),
            "train_1_steps_per_second": 1 / bench(lambda: trainer.step(x1, y1, LR), quick=quick),
            "max_abs_err": "reference", "api": "peers.NumpyMLP: grad(X, Y) / loss(X, Y) / step(X, Y, lr)"}


def _w2_micrograd(tag, mats, X, Y, ref, quick):
    mg = peers.micrograd_mlp(mats)
    if mg is None:
        return missing("micrograd", net=tag)
    # Its Values are cyclic garbage: with the collector running, a call can spend most of its time
    # traversing whatever else the process holds (torch, jax): M one sample took 5 ms in one run and
    # 177 ms in another.  So the collector is paused while timing, as timeit does
    t_one = bench(lambda: mg(X[:1], Y[:1]), quick=quick, paused_gc=True)
    err = _err(mg.grads(), ref["one"])
    n = 10 if quick else 100                       # the 10k batch would take minutes: estimated
    t_sub = bench(lambda: mg(X[:n], Y[:n]), quick=True, warmup=0, paused_gc=True)
    return {"net": tag, "peer": "micrograd", "one_sample_s": t_one, "batch_grad_est_s": t_sub * len(X) / n,
            "max_abs_err": err, "api": f"Value graph, cycle collector paused; batch NOT run: {len(X) // n} x "
                                      f"the time of {n} samples"}


def _w2_autograd(tag, mats, X, Y, ref, quick):
    ag = peers.load("autograd")
    if ag is None:
        return missing("autograd", net=tag)
    anp = peers.load("autograd.numpy")
    loss = peers.mlp_loss(anp)
    dl = ag.grad(loss)
    err = max(_err(peers.to_lecture(dl(mats, X[:1], Y[:1])), ref["one"]),
              _err(peers.to_lecture(dl(mats, X, Y)), ref["batch"]))
    t_grad = bench(lambda: dl(mats, X, Y), quick=quick)
    t_fwd = bench(lambda: loss(mats, X, Y), quick=quick)
    return {"net": tag, "peer": "autograd", "one_sample_s": bench(lambda: dl(mats, X[:1], Y[:1]), quick=quick),
            "batch_grad_s": t_grad, "batch_fwd_s": t_fwd, "ratio": t_grad / t_fwd, "max_abs_err": err,
            "api": "autograd.grad(loss)(params, X, Y)"}


def _w2_torch(tag, mats, X, Y, ref, quick):
    torch = _torch()
    if torch is None:
        return missing("torch", net=tag)

    def tensors():
        return [p for W, b in mats for p in (torch.tensor(W, requires_grad=True), torch.tensor(b, requires_grad=True))]

    def loss(params, Xt, Yt):
        h = Xt
        for k in range(0, len(params), 2):
            z = torch.nn.functional.linear(h, params[k], params[k + 1])
            h = z if k == len(params) - 2 else torch.tanh(z)
        return (0.5 * ((h - Yt) ** 2).sum(-1)).mean()

    params, trained = tensors(), tensors()
    Xt, Yt = torch.tensor(X), torch.tensor(Y)
    x1, y1 = Xt[:1], Yt[:1]
    grad = lambda a, b: torch.autograd.grad(loss(params, a, b), params)      # noqa: E731

    def fwd():
        with torch.no_grad():
            return loss(params, Xt, Yt)

    def step(a, b):                                 # the usual eager training step
        for p in trained:
            p.grad = None
        value = loss(trained, a, b)
        value.backward()
        with torch.no_grad():
            for p in trained:
                p.sub_(LR * p.grad)
        return value.item()

    def lecture(gs):
        return peers.to_lecture([(gs[k].numpy(), gs[k + 1].numpy()) for k in range(0, len(gs), 2)])
    err = max(_err(lecture(grad(x1, y1)), ref["one"]), _err(lecture(grad(Xt, Yt)), ref["batch"]))
    t_grad = bench(lambda: grad(Xt, Yt), quick=quick)
    t_fwd = bench(fwd, quick=quick)
    return {"net": tag, "peer": f"torch {torch.__version__} eager (1 thread)",
            "one_sample_s": bench(lambda: grad(x1, y1), quick=quick),
            "batch_grad_s": t_grad, "batch_fwd_s": t_fwd, "ratio": t_grad / t_fwd,
            "train_batch_steps_per_second": 1 / bench(lambda: step(Xt, Yt), quick=quick),
            "train_1_steps_per_second": 1 / bench(lambda: step(x1, y1), quick=quick), "max_abs_err": err,
            "api": "torch.autograd.grad(loss, params); train: loss.backward() + p.sub_(lr * p.grad)"}


def _w2_jax(tag, mats, X, Y, ref, quick):
    jax, jnp = _jax()
    if jax is None:
        return missing("jax", net=tag)
    loss = peers.mlp_loss(jnp)
    params = [(jnp.asarray(W), jnp.asarray(b)) for W, b in mats]
    dl, fl, vg = jax.jit(jax.grad(loss)), jax.jit(loss), jax.value_and_grad(loss)

    @jax.jit
    def step(p, a, b):
        value, grads = vg(p, a, b)
        return value, jax.tree_util.tree_map(lambda w, d: w - LR * d, p, grads)

    Xj, Yj, x1, y1 = jnp.asarray(X), jnp.asarray(Y), jnp.asarray(X[:1]), jnp.asarray(Y[:1])
    block = lambda t: jax.tree_util.tree_map(lambda a: a.block_until_ready(), t)   # noqa: E731
    state = [params]

    def train(a, b):
        value, state[0] = step(state[0], a, b)
        return block((value, state[0]))

    c = sum(once(lambda: block(f(params, a, b)))[0] for f in (dl, fl) for a, b in ((Xj, Yj), (x1, y1)))
    c += sum(once(lambda: train(a, b))[0] for a, b in ((Xj, Yj), (x1, y1)))

    def lecture(gs):
        return peers.to_lecture([(np.asarray(W), np.asarray(b)) for W, b in gs])
    err = max(_err(lecture(dl(params, x1, y1)), ref["one"]), _err(lecture(dl(params, Xj, Yj)), ref["batch"]))
    t_grad = bench(lambda: block(dl(params, Xj, Yj)), quick=quick)
    t_fwd = bench(lambda: block(fl(params, Xj, Yj)), quick=quick)
    return {"net": tag, "peer": f"jax {jax.__version__} jit (1 thread)",
            "one_sample_s": bench(lambda: block(dl(params, x1, y1)), quick=quick),
            "batch_grad_s": t_grad, "batch_fwd_s": t_fwd, "ratio": t_grad / t_fwd,
            "train_batch_steps_per_second": 1 / bench(lambda: train(Xj, Yj), quick=quick),
            "train_1_steps_per_second": 1 / bench(lambda: train(x1, y1), quick=quick),
            "max_abs_err": err, "compile_s": c,
            "api": "jax.jit(jax.grad(loss)); train: jit(value_and_grad + update)"}


# -- W3: sin chains ---------------------------------------------------------------------------
def w3(quick: bool) -> dict:
    sizes = (10_000, 50_000) if quick else (10_000, 100_000, 1_000_000)
    rows = []
    for n in sizes:
        rows.append(_w3_symgrad(n, quick))
        rows.append(_w3_torch(n, quick) if n <= (100_000 if quick else 1_000_000) else None)
        rows.append(_w3_micrograd(n))
        if n <= 100_000:
            rows.append(_w3_autograd(n))
    return {"rows": [r for r in rows if r]}


def _chain(n):
    y = x = sg.variable("x")
    for _ in range(n):
        y = sg.sin(y)
    return sg.Graph(y)


def _w3_symgrad(n, quick):
    gc.collect()
    t_build, g = once(lambda: _chain(n))
    t_first, first = once(lambda: g.grad(x=0.5))
    reps = 3 if n >= 1_000_000 else 5
    t_run = statistics.median(once(lambda: g.grad(x=0.5))[0] for _ in range(reps))
    peak = None if quick else _peak_rss(f"import sys; sys.path.insert(0, 'benchmarks'); import workloads as w; "
                     f"g = w._chain({n}); g.grad(x=0.5)")
    return {"n": n, "peer": "symgrad", "build_s": t_build, "first_fwd_bwd_s": t_first, "fwd_bwd_s": t_run,
            "per_node_us": t_run / n * 1e6, "peak_rss_mb": peak, "grad": first["x"]}


def _w3_torch(n, quick):
    torch = _torch()
    if torch is None:
        return missing("torch", n=n)

    def run():
        x = torch.tensor(0.5, dtype=torch.float64, requires_grad=True)
        y = x
        for _ in range(n):
            y = torch.sin(y)
        return torch.autograd.grad(y, x)[0]
    times = [once(run)[0] for _ in range(1 if n >= 1_000_000 else 3)]
    peak = None if quick else _peak_rss("import sys; sys.path.insert(0, 'benchmarks'); import workloads as w; "
                     f"t = w._torch(); x = t.tensor(0.5, dtype=t.float64, requires_grad=True); y = x\n"
                     f"for _ in range({n}): y = t.sin(y)\nt.autograd.grad(y, x)")
    t = statistics.median(times)
    return {"n": n, "peer": f"torch {torch.__version__}", "build_s": None, "fwd_bwd_s": t,
            "per_node_us": t / n * 1e6, "peak_rss_mb": peak, "grad": float(run()) if n < 1_000_000 else None}


def _w3_micrograd(n):
    mg = peers.micrograd_ops()
    if mg is None:
        return missing("micrograd", n=n)
    Value, op = mg
    x = y = Value(0.5)
    t0 = time.perf_counter()
    for _ in range(n):
        y = op["sin"](y)
    try:
        y.backward()
        status = "ok"
    except RecursionError:
        status = "RecursionError"
    return {"n": n, "peer": "micrograd", "fwd_bwd_s": time.perf_counter() - t0 if status == "ok" else None,
            "status": status}


def _w3_autograd(n):
    ag = peers.load("autograd")
    if ag is None:
        return missing("autograd", n=n)
    anp = peers.load("autograd.numpy")

    def f(x):
        for _ in range(n):
            x = anp.sin(x)
        return x
    try:
        t, _ = once(lambda: ag.grad(f)(0.5))
        return {"n": n, "peer": "autograd", "fwd_bwd_s": t, "per_node_us": t / n * 1e6}
    except RecursionError:
        return {"n": n, "peer": "autograd", "status": "RecursionError"}


def _peak_rss(code: str) -> float | None:
    """Peak resident memory (MB, VmHWM: ru_maxrss would inherit this process's
    high-water mark through fork) of a fresh process running ``code``, minus a
    process that only imports."""
    base = "import sys; sys.path.insert(0, 'benchmarks'); import workloads"
    out = []
    for src in (base, code):
        src += ("\nprint([l.split()[1] for l in open('/proc/self/status') if l.startswith('VmHWM')][0])")
        r = subprocess.run([sys.executable, "-c", src], capture_output=True, text=True, timeout=600)
        if r.returncode:
            return None
        out.append(int(r.stdout.split()[-1]) / 1024)
    return out[1] - out[0]


# -- W4: symbolic gradients ----------------------------------------------------------------------
def w4(quick: bool) -> dict:
    import sympy
    configs = [(1, 2), (2, 8), (2, 32)] if quick else \
        sorted(((layers, width) for layers in (1, 2, 3, 4) for width in (2, 8, 32)),
               key=lambda c: 4 * c[1] + (c[0] - 1) * c[1] * c[1])     # by weight count: sympy.diff
    # stops at its first timeout, larger nets are not tried
    rows, sympy_gave_up = [], False
    for layers, width in configs:
        sizes = [4] + [width] * layers + [1]
        net = sg.mlp(sizes, activation="tanh", loss="squared", seed=0)
        t, (assign, grad) = once(lambda: net.graph.symbolic_gradient(shared=True))
        ops = sum(sympy.count_ops(e) for _, e in assign) + sum(sympy.count_ops(e) for e in grad.values())
        row = {"sizes": str(sizes), "weights": len(net.weights), "symgrad_shared_s": t,
               "symgrad_assignments": len(assign), "symgrad_ops": ops, "casadi_nodes": _casadi_nodes(net)}
        if sympy_gave_up or (quick and len(net.weights) > 100):
            row["sympy_diff_s"] = "not run" if quick else "> 60 (smaller net timed out)"
        else:
            row["sympy_diff_s"] = _sympy_diff_time(sizes)
            sympy_gave_up = isinstance(row["sympy_diff_s"], str)
        rows.append(row)
    return {"rows": rows}


def _sympy_diff_time(sizes, limit=60):
    code = ("import time, sympy, symgrad as sg\n"
            f"net = sg.mlp({sizes}, activation='tanh', loss='squared', seed=0)\n"
            "f = net.graph.to_sympy(); t = time.perf_counter()\n"
            "ws = [sympy.Symbol(w, real=True) for w in net.weights]\n"
            "syms = {s.name: s for s in f.free_symbols}\n"
            "d = [sympy.diff(f, syms[w]) for w in net.weights if w in syms]\n"
            "print(time.perf_counter() - t)")
    try:
        r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=limit)
        return float(r.stdout.split()[-1]) if r.returncode == 0 else f"error: {r.stderr[-200:]}"
    except subprocess.TimeoutExpired:
        return f"> {limit} (timeout)"


def _casadi_nodes(net):
    ca = peers.load("casadi")
    if ca is None:
        return peers.NOT_INSTALLED
    s, w = net.sizes, net.weights
    W = {n: ca.SX.sym(n) for n in w}
    x = [ca.SX.sym(f"x{i}") for i in range(1, s[0] + 1)]
    y = [ca.SX.sym(f"y{i}") for i in range(1, s[-1] + 1)]
    h = x
    for l in range(1, len(s)):
        a = [W[f"w{l}_0_{j}"] + sum(W[f"w{l}_{i}_{j}"] * h[i - 1] for i in range(1, s[l - 1] + 1))
             for j in range(1, s[l] + 1)]
        h = a if l == len(s) - 1 else [ca.tanh(v) for v in a]
    loss = 0.5 * sum((hi - yi) ** 2 for hi, yi in zip(h, y))
    wv = ca.vertcat(*W.values())
    f = ca.Function("g", [wv, ca.vertcat(*x), ca.vertcat(*y)], [ca.gradient(loss, wv)])
    return f.n_nodes()


# -- W5: property-test throughput -----------------------------------------------------------------
UNARY = ("exp", "log", "sqrt", "sin", "cos", "tanh", "sigmoid", "softplus")
BINARY = ("+", "-", "*", "/")


def random_expression(rng: random.Random, leaves: int = 6) -> str:
    """A random expression in x and y, built bottom-up (no recursion)."""
    parts = [rng.choice(("x", "y"))]
    for _ in range(leaves):
        if rng.random() < 0.4:
            f = rng.choice(UNARY)
            arg = parts.pop()
            parts.append(f"{f}({arg}**2 + 1)" if f in ("log", "sqrt") else f"{f}({arg})")
        else:
            parts.append(rng.choice(("x", "y", f"{rng.uniform(0.5, 2):.3g}")))
            b, a = parts.pop(), parts.pop()
            op = rng.choice(BINARY)
            parts.append(f"({a}) {op} ({b}**2 + 1)" if op == "/" else f"({a}) {op} ({b})")
    return parts[0]


def w5(quick: bool) -> dict:
    rng = random.Random(0)
    n = 100 if quick else 500
    texts = [random_expression(rng) for _ in range(n)]
    at = {"x": 0.7, "y": 1.3}
    ok = 0
    stages = {"parse": 0.0, "forward": 0.0, "backward": 0.0, "check": 0.0}
    sg.check(sg.parse("x*y"), at)   # import once, untimed: symgrad loads SymPy on first symbolic use
    t0 = time.perf_counter()
    for text in texts:
        t = time.perf_counter()
        g = sg.parse(text)
        t1 = time.perf_counter()
        at_g = {k: v for k, v in at.items() if k in g.inputs}
        g.forward(at_g)
        t2 = time.perf_counter()
        g.backward(at_g)
        t3 = time.perf_counter()
        ok += bool(sg.check(g, at_g).ok)
        t4 = time.perf_counter()
        for k, dt in zip(stages, (t1 - t, t2 - t1, t3 - t2, t4 - t3)):
            stages[k] += dt
    total = time.perf_counter() - t0
    return {"rows": [{"peer": "symgrad", "expressions": n, "per_second": n / total, "checks_ok": ok,
                      **{f"{k}_ms": v / n * 1e3 for k, v in stages.items()}}]}


WORKLOADS = {"W1": w1, "W2": w2, "W3": w3, "W4": w4, "W5": w5}
