"""Derivatives as graphs (issue 13): Hessians, gradient-graph sizes, tangents, side by side.

    python benchmarks/second_order.py [--quick] [--big] [--json benchmarks/second_order.json]

Goals (ratios of figures taken in this one run; every peer single-threaded, float64):
  * the gradient graph at most 4x the operations of the graph (lecture, MLP [4, 32, 32, 1],
    a 100,000-node chain), its build time linear in the graph's size;
  * the lecture function's Hessian at one point faster than PyTorch (``torch.func.hessian``)
    and HIPS autograd, within 3x of jitted JAX (``jax.hessian``);
  * the [2, 8, 8, 1] squared-loss Hessian over its 105 weights at one sample faster than
    PyTorch, within 3x of JAX;
  * tangents of a chain linear in its length (``--big``: up to 10^6 nodes), no recursion limit.

Prints a table and writes JSON.  A missing peer gives a row marked "not installed".
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import platform
import sys
import time

for _v in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_v, "1")
os.environ.setdefault("XLA_FLAGS", "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1")

import numpy as np  # noqa: E402

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent))

import symgrad as sg  # noqa: E402
from workloads import LECTURE, bench, once  # noqa: E402

import peers  # noqa: E402


def operations(graph) -> int:
    """Operations of a graph: an n-ary sum or a weighted sum of k pairs counts as the
    binary operations it stands for (n - 1 additions; k products and k - 1 additions)."""
    total = 0
    for _, op, args in graph.program:
        if op.arity == -2 and op.linear:
            total += len(args) - 1
        elif op.arity < 0:
            total += max(len(args) - 1, 1)
        else:
            total += 1
    return total


def chain(n: int):
    x = sg.variable("x")
    y = x
    for _ in range(n):
        y = sg.sin(y)
    return sg.Graph(y)


def sizes(big: bool) -> list:
    net = sg.mlp([4, 32, 32, 1], seed=0)
    cases = [("lecture", sg.parse(LECTURE)), ("MLP [4, 32, 32, 1]", net.graph)]
    cases += [(f"sin chain, {n:,} nodes", chain(n)) for n in ((10_000, 100_000, 1_000_000) if big
                                                              else (10_000, 100_000))]
    rows = []
    for name, g in cases:
        seconds, dg = once(lambda g=g: g.gradient_graph(wrt=net.weight_names if g is net.graph else None))
        rows.append({"graph": name, "ops": operations(g), "gradient_ops": operations(dg),
                     "ratio": operations(dg) / operations(g), "build_s": seconds,
                     "build_us_per_op": 1e6 * seconds / operations(g)})
    return rows


def tangents(big: bool) -> list:
    rows = []
    for n in (10_000, 100_000, 1_000_000) if big else (10_000, 100_000):
        g = chain(n)
        g.forward(x=0.5)                               # lowered once, as a user's second call
        seconds, t = once(lambda g=g: g.tangents(x=0.5, wrt="x"))
        rows.append({"n": n, "tangents_s": seconds, "us_per_node": 1e6 * seconds / n,
                     "tangent": float(t[g.outputs[0]])})
    return rows


def _lecture_peers(quick: bool) -> list:
    rows = []
    g = sg.parse(LECTURE)
    h = g.hessian(x=2.0)
    rows.append({"peer": "symgrad g.hessian", "seconds": bench(lambda: g.hessian(x=2.0), quick=quick),
                 "value": float(h[0, 0])})
    jax = peers.load("jax")
    if jax is not None:
        jax.config.update("jax_enable_x64", True)
        jnp = jax.numpy
        f = lambda x: jnp.sqrt(x**2 + jnp.exp(x**2)) + jnp.cos(x**2 + jnp.exp(x**2))
        hess = jax.jit(jax.hessian(f))
        x = jnp.float64(2.0)
        t0 = time.perf_counter()
        hess(x).block_until_ready()
        compile_s = time.perf_counter() - t0
        rows.append({"peer": "jax.hessian, jit", "seconds": bench(lambda: hess(x).block_until_ready(),
                                                                   quick=quick),
                     "value": float(hess(x)), "compile_s": compile_s})
    else:
        rows.append({"peer": "jax", "status": "not installed"})
    torch = peers.load("torch")
    if torch is not None:
        torch.set_num_threads(1)
        from torch.func import hessian as thessian
        f = lambda x: torch.sqrt(x**2 + torch.exp(x**2)) + torch.cos(x**2 + torch.exp(x**2))
        x = torch.tensor(2.0, dtype=torch.float64)
        th = thessian(f)
        rows.append({"peer": "torch.func.hessian", "seconds": bench(lambda: th(x), quick=quick),
                     "value": float(th(x))})
    else:
        rows.append({"peer": "torch", "status": "not installed"})
    autograd = peers.load("autograd")
    if autograd is not None:
        anp = autograd.numpy
        f = lambda x: anp.sqrt(x**2 + anp.exp(x**2)) + anp.cos(x**2 + anp.exp(x**2))
        ah = autograd.hessian(f)
        rows.append({"peer": "autograd.hessian", "seconds": bench(lambda: ah(2.0), quick=quick),
                     "value": float(ah(2.0))})
    else:
        rows.append({"peer": "autograd", "status": "not installed"})
    return rows


def _unflatten(mod, flat, sizes):
    """The weight matrices W^l (bias row 0) from a flat vector in net.weight_names order
    (layer by layer, neuron j, then i = 0 .. H)."""
    mats, k = [], 0
    for a, b in zip(sizes, sizes[1:]):
        n = (a + 1) * b
        mats.append(mod.reshape(flat[k:k + n], (b, a + 1)).T)
        k += n
    return mats


def _mlp_peers(quick: bool) -> list:
    rows = []
    net = sg.mlp([2, 8, 8, 1], activation="tanh", loss="squared", seed=0)
    x, y = np.array([0.5, -1.0]), np.array([1.0])
    feed = net.feed(x, y)
    wrt = net.weight_names
    g = net.graph
    h = g.hessian(feed, wrt=wrt)
    rows.append({"peer": "symgrad g.hessian (105 weights)",
                 "seconds": bench(lambda: g.hessian(feed, wrt=wrt), quick=quick), "trace": float(np.trace(h))})
    flat = np.array([net.weights[w] for w in wrt])
    sizes_ = list(net.sizes)
    jax = peers.load("jax")
    if jax is not None:
        jnp = jax.numpy

        def loss(w):
            h_ = jnp.asarray(x)
            mats = _unflatten(jnp, w, sizes_)
            for i, W in enumerate(mats):
                a = h_ @ W[1:] + W[0]
                h_ = jnp.tanh(a) if i < len(mats) - 1 else a
            return 0.5 * jnp.sum((h_ - y) ** 2)
        hess = jax.jit(jax.hessian(loss))
        wj = jnp.asarray(flat)
        hess(wj).block_until_ready()
        rows.append({"peer": "jax.hessian, jit", "seconds": bench(lambda: hess(wj).block_until_ready(),
                                                                   quick=quick),
                     "trace": float(jnp.trace(hess(wj))),
                     "max_abs_diff": float(np.max(np.abs(np.asarray(hess(wj)) - h)))})
    torch = peers.load("torch")
    if torch is not None:
        from torch.func import hessian as thessian
        xt, yt = torch.tensor(x), torch.tensor(y)

        def tloss(w):
            h_ = xt
            mats = _unflatten(torch, w, sizes_)
            for i, W in enumerate(mats):
                a = h_ @ W[1:] + W[0]
                h_ = torch.tanh(a) if i < len(mats) - 1 else a
            return 0.5 * torch.sum((h_ - yt) ** 2)
        wt = torch.tensor(flat)
        th = thessian(tloss)
        rows.append({"peer": "torch.func.hessian", "seconds": bench(lambda: th(wt), quick=quick),
                     "trace": float(torch.trace(th(wt))),
                     "max_abs_diff": float(np.max(np.abs(th(wt).numpy() - h)))})
    return rows


def _ratio(rows, a, b):
    sa = next((r.get("seconds") for r in rows if r.get("peer", "").startswith(a)), None)
    sb = next((r.get("seconds") for r in rows if r.get("peer", "").startswith(b)), None)
    return None if sa is None or sb is None else sa / sb


def goals(res: dict) -> list:
    out = []
    for r in res["sizes"]:
        if not r["graph"].endswith("1,000,000 nodes"):
            out.append((f"gradient graph of {r['graph']} <= 4x the operations", f"{r['ratio']:.2f}x",
                        r["ratio"] <= 4))
    per = [r["build_us_per_op"] for r in res["sizes"] if "chain" in r["graph"]]
    out.append(("gradient-graph build linear (chains: us per op, max/min <= 2)",
                f"{max(per) / min(per):.2f}", max(per) / min(per) <= 2))
    lec, mlp = res["lecture"], res["mlp"]
    for name, rows, peer, want, faster in (
            ("lecture Hessian faster than PyTorch", lec, "torch", 1.0, True),
            ("lecture Hessian faster than autograd", lec, "autograd", 1.0, True),
            ("lecture Hessian within 3x of jitted JAX", lec, "jax", 3.0, False),
            ("[2,8,8,1] Hessian (105 weights) faster than PyTorch", mlp, "torch", 1.0, True),
            ("[2,8,8,1] Hessian (105 weights) within 3x of jitted JAX", mlp, "jax", 3.0, False)):
        r = _ratio(rows, "symgrad", peer)
        if r is None:
            out.append((name, "peer not installed", None))
        elif faster:
            out.append((name, f"{1 / r:.1f}x faster", 1 / r >= want))
        else:
            out.append((name, f"{r:.2f}x", r <= want))
    per = [r["us_per_node"] for r in res["tangents"]]
    out.append(("tangents of a chain linear (us per node, max/min <= 2)", f"{max(per) / min(per):.2f}",
                max(per) / min(per) <= 2))
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="shorter timing loops")
    ap.add_argument("--big", action="store_true", help="also the 10^6-node chains (about a minute more)")
    ap.add_argument("--json", default=str(pathlib.Path(__file__).with_name("second_order.json")))
    args = ap.parse_args(argv)
    res = {"command": "python benchmarks/second_order.py" + " --quick" * args.quick + " --big" * args.big,
           "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
                      f"Python {platform.python_version()}",
           "sizes": sizes(args.big), "tangents": tangents(args.big),
           "lecture": _lecture_peers(args.quick), "mlp": _mlp_peers(args.quick)}
    res["goals"] = [{"goal": g, "figure": f, "met": m} for g, f, m in goals(res)]
    print(f"Command: `{res['command']}`   ({res['machine']})\n")
    print("| graph | ops | gradient graph ops | ratio | build | build per op |\n|---|---|---|---|---|---|")
    for r in res["sizes"]:
        print(f"| {r['graph']} | {r['ops']:,} | {r['gradient_ops']:,} | {r['ratio']:.2f} | "
              f"{r['build_s']:.3g} s | {r['build_us_per_op']:.2f} µs |")
    print("\n| chain | tangents | per node |\n|---|---|---|")
    for r in res["tangents"]:
        print(f"| {r['n']:,} | {r['tangents_s']:.3g} s | {r['us_per_node']:.2f} µs |")
    for title, key in (("lecture Hessian at x = 2", "lecture"), ("[2, 8, 8, 1] Hessian, 105 weights", "mlp")):
        print(f"\n{title}\n\n| peer | time | check |\n|---|---|---|")
        for r in res[key]:
            if "status" in r:
                print(f"| {r['peer']} | {r['status']} | |")
                continue
            check = r.get("value", r.get("trace"))
            extra = f", max |diff| {r['max_abs_diff']:.1e}" if "max_abs_diff" in r else ""
            print(f"| {r['peer']} | {r['seconds'] * 1e6:.1f} µs | {check:.10g}{extra} |")
    print("\n| goal | figure | verdict |\n|---|---|---|")
    for g in res["goals"]:
        verdict = "not measured" if g["met"] is None else "met" if g["met"] else "MISSED"
        print(f"| {g['goal']} | {g['figure']} | {verdict} |")
    pathlib.Path(args.json).write_text(json.dumps(res, indent=1, default=float) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
