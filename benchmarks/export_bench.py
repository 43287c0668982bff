"""The graph leaves symgrad: exported functions against hand-written code (issue 14).

Goals:
  * ``function("numpy")`` of the lecture gradient over 10^6 points within 1.3x of
    hand-written numpy;
  * ``jax.jit`` of ``function("jax")`` within 1.2x of hand-written JAX (both the
    gradient formula and ``jax.vmap(jax.grad(...))`` of the forward function);
  * ``to_source`` output as fast as the function;
  * ``to_json``/``from_json`` and pickle round trips of a 10^5-node graph under 2 s.

Run ``python benchmarks/export_bench.py`` (add ``--big`` for the 10^7-point JAX vs
numpy row); it prints a table and writes ``benchmarks/export_bench.json``.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import pathlib
import pickle
import sys
import tempfile
import time

import numpy as np

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

import symgrad as sg  # noqa: E402
from corpus import LECTURE, random_program  # noqa: E402

# the lecture's gradient as a program: the adjoints of the derivation, written out
GRADIENT = ("a = x**2\nb = exp(a)\nc = a + b\nd = sqrt(c)\n"
            "c_bar = 1/(2*d) - sin(c)\na_bar = c_bar + c_bar*b\ndf_dx = a_bar*(2*x)")


def best(f, *args, repeat=5):
    """The fastest of ``repeat`` runs, in seconds (after one warm-up run)."""
    f(*args)
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        f(*args)
        times.append(time.perf_counter() - t)
    return min(times)


def hand_numpy(x):                     # GRADIENT, line by line
    a = x**2
    b = np.exp(a)
    c = a + b
    d = np.sqrt(c)
    c_bar = 1 / (2 * d) - np.sin(c)
    a_bar = c_bar + c_bar * b
    return a_bar * (2 * x)


def gradient_graph(g):
    """The lecture gradient as a symgrad graph: the written-out program above (the
    hand-written code computes the same formulas, so the ratio is the export's cost)."""
    return sg.parse(GRADIENT)


def load_module(source: str, name: str):
    path = pathlib.Path(tempfile.mkdtemp()) / f"{name}.py"
    path.write_text(source, encoding="utf-8")
    spec = importlib.util.spec_from_file_location(name, path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def numpy_rows(n: int, repeat: int) -> list:
    g = sg.parse(LECTURE)
    dg = gradient_graph(g)
    x = np.linspace(-2.0, 2.0, n)
    f_grad = dg.function("numpy")
    mod = load_module(g.to_source("numpy"), "lecture_numpy")
    fwd = g.function("numpy")
    assert np.allclose(f_grad(x), hand_numpy(x), rtol=1e-12)
    assert np.allclose(mod.grad(x)["x"], hand_numpy(x), rtol=1e-12)
    hand = best(hand_numpy, x, repeat=repeat)
    rows = [("numpy: hand-written lecture gradient", hand, 1.0, None),
            ("numpy: gradient graph .function('numpy')", t := best(f_grad, x, repeat=repeat), t / hand, 1.3),
            ("numpy: to_source('numpy').grad", t := best(mod.grad, x, repeat=repeat), t / hand, None),
            ("numpy: symgrad g.grad(x=array)", t := best(lambda v: g.grad(x=v), x, repeat=repeat),
             t / hand, None)]
    f_fwd = best(fwd, x, repeat=repeat)
    rows += [("numpy: g.function('numpy') forward", f_fwd, 1.0, None),
             ("numpy: to_source('numpy').forward", t := best(mod.forward, x, repeat=repeat), t / f_fwd, 1.1)]
    return rows


def jax_rows(n: int, repeat: int) -> list:
    try:
        import jax
    except ImportError:
        return [("jax: not installed", float("nan"), float("nan"), None)]
    jax.config.update("jax_enable_x64", True)
    import jax.numpy as jnp
    g = sg.parse(LECTURE)
    dg = gradient_graph(g)
    x = jnp.linspace(-2.0, 2.0, n)

    def hand_grad(x):                  # GRADIENT, line by line
        a = x**2
        b = jnp.exp(a)
        c = a + b
        d = jnp.sqrt(c)
        c_bar = 1 / (2 * d) - jnp.sin(c)
        a_bar = c_bar + c_bar * b
        return a_bar * (2 * x)

    def hand_f(x):
        a = x * x
        c = a + jnp.exp(a)
        return jnp.sqrt(c) + jnp.cos(c)

    def run(f):
        return lambda v: f(v).block_until_ready()

    hand = jax.jit(hand_grad)
    ours = jax.jit(dg.function("jax"))
    hand_ad = jax.jit(jax.vmap(jax.grad(hand_f)))
    ours_ad = jax.jit(jax.vmap(jax.grad(g.function("jax"))))
    src = jax.jit(lambda v: load_module(g.to_source("jax"), "lecture_jax").grad(v)["x"])
    assert np.allclose(ours(x), hand(x), rtol=1e-12) and np.allclose(ours_ad(x), hand(x), rtol=1e-12)
    t_hand, t_hand_ad = best(run(hand), x, repeat=repeat), best(run(hand_ad), x, repeat=repeat)
    return [("jax: hand-written gradient, jit", t_hand, 1.0, None),
            ("jax: gradient graph .function('jax'), jit", t := best(run(ours), x, repeat=repeat),
             t / t_hand, 1.2),
            ("jax: to_source('jax').grad, jit", t := best(run(src), x, repeat=repeat), t / t_hand, None),
            ("jax: vmap(grad(hand-written f)), jit", t_hand_ad, 1.0, None),
            ("jax: vmap(grad(g.function('jax'))), jit", t := best(run(ours_ad), x, repeat=repeat),
             t / t_hand_ad, 1.2)]


def big_rows(n: int) -> list:
    import jax
    jax.config.update("jax_enable_x64", True)
    import jax.numpy as jnp
    g = sg.parse(LECTURE)
    f = jax.jit(jax.vmap(jax.grad(g.function("jax"))))
    xj, xn = jnp.linspace(-2.0, 2.0, n), np.linspace(-2.0, 2.0, n)
    t_np = best(lambda v: g.grad(x=v), xn, repeat=2)
    t_jax = best(lambda v: f(v).block_until_ready(), xj, repeat=2)
    return [(f"10^{len(str(n)) - 1} points: symgrad g.grad (numpy)", t_np, 1.0, None),
            (f"10^{len(str(n)) - 1} points: jit(vmap(grad(g.function('jax'))))", t_jax, t_jax / t_np, None)]


def file_rows(repeat: int) -> list:
    g = sg.parse(random_program(40_000))
    assert sg.Graph.from_json(g.to_json()) == g and pickle.loads(pickle.dumps(g)) == g
    rows = []
    for name, trip in (("from_json(to_json(g))", lambda: sg.Graph.from_json(g.to_json())),
                       ("pickle.loads(pickle.dumps(g))", lambda: pickle.loads(pickle.dumps(g)))):
        wall, cpu = [], []
        for _ in range(repeat):
            t, c = time.perf_counter(), time.process_time()
            trip()
            wall.append(time.perf_counter() - t)
            cpu.append(time.process_time() - c)
        rows += [(f"{name}, {len(g)} nodes (wall)", min(wall), None, 2.0),
                 (f"{name}, {len(g)} nodes (CPU time)", min(cpu), None, 2.0)]
    return rows


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--points", type=int, default=1_000_000)
    ap.add_argument("--repeat", type=int, default=7)
    ap.add_argument("--big", action="store_true", help="also 10^7 points: JAX vs symgrad's numpy")
    ap.add_argument("--json", default=str(ROOT / "benchmarks" / "export_bench.json"))
    args = ap.parse_args(argv)
    rows = numpy_rows(args.points, args.repeat) + jax_rows(args.points, args.repeat) + file_rows(3)
    if args.big:
        rows += big_rows(10_000_000)
    print(f"{'measure':58} {'seconds':>10} {'ratio':>7} {'goal':>6}  ok")
    out = []
    for name, secs, ratio, goal in rows:
        value = ratio if ratio is not None and goal is not None and goal < 2 else secs
        ok = "" if goal is None else ("yes" if value <= goal else "NO")
        print(f"{name:58} {secs:10.4f} {'' if ratio is None else f'{ratio:7.2f}':>7} "
              f"{'' if goal is None else goal:>6}  {ok}")
        out.append({"measure": name, "seconds": secs, "ratio": ratio, "goal": goal, "ok": ok or None})
    pathlib.Path(args.json).write_text(json.dumps({"points": args.points, "rows": out}, indent=1))
    print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
