"""symgrad benchmark suite (issue 6): W1-W5 against micrograd, autograd, PyTorch,
JAX, SymPy and CasADi.

    python benchmarks/run.py [--quick] [--only W1,W3] [--json benchmarks/results.json]

Each workload runs in its own fresh process (all its peers side by side in that
process), single-threaded (BLAS, PyTorch and XLA pinned to one thread, so "same
thread count" holds and a loaded machine does not skew BLAS), float64
everywhere; times are medians after warm-up; JAX is jitted, its compile time
reported apart.  Missing peers give rows marked "not installed".
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
THREADS = {"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
           "XLA_FLAGS": "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1",
           "JAX_PLATFORMS": "cpu", "PYTHONHASHSEED": "0"}


def worker(name: str, quick: bool) -> None:
    sys.path.insert(0, str(HERE))
    import workloads
    result = workloads.WORKLOADS[name](quick)
    print("RESULT " + json.dumps(result, default=str))


def run_workload(name: str, quick: bool) -> dict:
    env = {**os.environ, **THREADS, "PYTHONPATH": f"{ROOT}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    cmd = [sys.executable, str(Path(__file__).resolve()), "--worker", name] + (["--quick"] if quick else [])
    t0 = time.perf_counter()
    r = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=ROOT)
    wall = time.perf_counter() - t0
    for line in reversed(r.stdout.splitlines()):
        if line.startswith("RESULT "):
            out = json.loads(line[7:])
            out["wall_s"] = wall
            return out
    return {"rows": [], "error": (r.stderr or r.stdout)[-2000:], "wall_s": wall}


def machine() -> dict:
    sys.path.insert(0, str(HERE))
    import peers
    cpu = platform.processor()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {"cpu": cpu, "cores": os.cpu_count(), "os": platform.platform(), "python": platform.python_version(),
            "versions": {m: peers.version(m) for m in ("numpy", "sympy", "micrograd", "autograd", "torch",
                                                       "jax", "casadi")},
            "threads": "1 (OPENBLAS/OMP/MKL_NUM_THREADS=1, torch.set_num_threads(1), XLA single thread)"}


# -- reporting ----------------------------------------------------------------------------
def fmt(key: str, v) -> str:
    if v is None:
        return "-"
    if isinstance(v, str):
        return v
    if isinstance(v, bool):
        return str(v)
    if isinstance(v, int):
        return f"{v:,}"
    if key.endswith("per_second"):
        return f"{v:,.0f}/s" if v >= 100 else f"{v:.3g}/s"
    if key.endswith("_s"):
        return f"{v * 1e6:.1f} µs" if v < 1e-3 else f"{v * 1e3:.2f} ms" if v < 1 else f"{v:.2f} s"
    return f"{v:.4g}"


def table(rows: list) -> str:
    keys = []
    for r in rows:
        keys += [k for k in r if k not in keys]
    out = ["| " + " | ".join(keys) + " |", "|" + "---|" * len(keys)]
    out += ["| " + " | ".join(fmt(k, r.get(k)) for k in keys) + " |" for r in rows]
    return "\n".join(out)


def tables(rows: list) -> str:
    """A workload's rows as Markdown: the ``train_*`` columns (W2) in a table of
    their own, the ``api`` column as a list of the calls below."""
    calls = {r["peer"]: r["api"] for r in rows if r.get("api")}
    rows = [{k: v for k, v in r.items() if k != "api"} for r in rows]
    train = [{k: v for k, v in r.items() if k in ("net", "peer") or k.startswith("train_")} for r in rows]
    train = [r for r in train if any(k.startswith("train_") for k in r)]
    out = []
    if train:
        rows = [{k: v for k, v in r.items() if not k.startswith("train_")} for r in rows]
        rows = [r for r in rows if set(r) - {"net", "peer"}]
    out.append(table(rows))
    if train:
        out += ["", "Training steps per second (plain gradient descent on the mean loss):", "", table(train)]
    if calls:
        out += ["", "What each row calls:", ""] + [f"- {p}: `{a}`" for p, a in calls.items()]
    return "\n".join(out)


def _row(rows, peer, **match):
    for r in rows:
        if r.get("peer", "").startswith(peer) and all(r.get(k) == v for k, v in match.items()):
            return r
    return None


def _num(v):
    return v if isinstance(v, (int, float)) and not isinstance(v, bool) else None


def goals(res: dict) -> list:
    """(goal, figure, verdict) rows from the measured ratios."""
    out = []

    def add(goal, num, den, want, better="higher", unit="x"):
        if num is None or den is None:
            out.append((goal, "not measured", "n/a"))
            return
        ratio = num / den
        ok = ratio >= want if better == "higher" else ratio <= want
        out.append((goal, f"{ratio:.3g}{unit}", "met" if ok else "MISSED"))

    w1 = res.get("W1", {}).get("rows", [])
    sym, mg, hand = (_row(w1, p) or {} for p in ("symgrad", "micrograd", "math/numpy"))
    add("W1 scalar grad >= 5x faster than micrograd", _num(mg.get("scalar_grad_s")), _num(sym.get("scalar_grad_s")), 5)
    add("W1 scalar grad within 10x of hand-written math", _num(sym.get("scalar_grad_s")),
        _num(hand.get("scalar_grad_s")), 10, "lower")
    w2 = res.get("W2", {}).get("rows", [])
    s = lambda peer, net: _row(w2, peer, net=net) or {}       # noqa: E731
    mat = "symgrad net.backprop (matrices"
    one = lambda peer, net: _num(s(peer, net).get("one_sample_s"))      # noqa: E731
    batch = lambda peer, net: _num(s(peer, net).get("batch_grad_s"))    # noqa: E731
    add("W2 M one sample net.backprop(matrices=True) >= 70x faster than micrograd", one("micrograd", "M"),
        one(mat, "M"), 70)
    add("W2 M one sample net.backprop(matrices=True) >= 2x faster than PyTorch eager", one("torch", "M"),
        one(mat, "M"), 2)
    add("W2 M one sample net.backprop(matrices=True) within 2x of numpy by hand (stretch)", one(mat, "M"),
        one("numpy", "M"), 2, "lower")
    add("W2 M one sample net.backprop dict within 1.5x of matrices=True", one("symgrad net.backprop (dict",
                                                                             "M"), one(mat, "M"), 1.5, "lower")
    add("W2 S one sample net.backprop(matrices=True) >= 3x faster than PyTorch eager", one("torch", "S"),
        one(mat, "S"), 3)
    add("W2 S one sample net.backprop(matrices=True) within 3x of numpy by hand", one(mat, "S"),
        one("numpy", "S"), 3, "lower")
    add("W2 M batch 10k net.backprop(matrices=True) faster than numpy by hand", batch("numpy", "M"),
        batch(mat, "M"), 1)
    add("W2 M batch 10k net.backprop(matrices=True) within 1.5x of JAX jit", batch(mat, "M"), batch("jax", "M"),
        1.5, "lower")
    for net in ("S", "M"):
        add(f"W2 {net} gradient/forward ratio <= 3 (net.backprop(X, Y, matrices=True) / net.mean_loss(X, Y))",
            _num(s(mat, net).get("ratio")), 1, 3, "lower", "")
    w3 = [r for r in res.get("W3", {}).get("rows", []) if r.get("peer") == "symgrad"]
    per = [r["per_node_us"] for r in w3 if _num(r.get("per_node_us"))]
    if per:
        add(f"W3 per-node cost flat within 2x ({w3[0]['n']:,}..{w3[-1]['n']:,} nodes)", max(per), min(per), 2, "lower")
    tor = {r["n"]: r for r in res.get("W3", {}).get("rows", []) if r.get("peer", "").startswith("torch")}
    best = [(tor[r["n"]].get("per_node_us"), r["per_node_us"]) for r in w3 if r["n"] in tor]
    best = [b for b in best if _num(b[0])]
    if best:
        add(f"W3 >= 3x faster per node than PyTorch (at {max(r['n'] for r in w3 if r['n'] in tor):,})",
            best[-1][0], best[-1][1], 3)
    w4 = res.get("W4", {}).get("rows", [])
    big = next((r for r in w4 if r["sizes"] == "[4, 32, 32, 1]"), None)
    if big:
        add("W4 [4,32,32,1] shared symbolic ops within 2x of CasADi nodes", _num(big.get("symgrad_ops")),
            _num(big.get("casadi_nodes")), 2, "lower")
        t = big.get("symgrad_shared_s")
        out.append(("W4 [4,32,32,1] shared symbolic gradient < 2 s", f"{t:.3g} s (sympy.diff: {fmt('_s', big.get('sympy_diff_s'))})",
                    "met" if t < 2 else "MISSED"))
    w5 = (res.get("W5", {}).get("rows") or [{}])[0]
    if _num(w5.get("per_second")):
        out.append(("W5 >= 300 random expressions/s (parse, forward, backward, check)",
                    f"{w5['per_second']:.0f}/s", "met" if w5["per_second"] >= 300 else "MISSED"))
    return out


def report(res: dict, info: dict, command: str) -> str:
    lines = [f"Command: `{command}`", "",
             f"Machine: {info['cpu']}, {info['cores']} cores, {info['os']}, Python {info['python']}; "
             f"threads: {info['threads']}", "",
             "Versions: " + ", ".join(f"{k} {v}" for k, v in info["versions"].items()), ""]
    for name, r in res.items():
        lines += [f"#### {name} (wall {r.get('wall_s', 0):.1f} s)", ""]
        lines += [tables(r["rows"]) if r.get("rows") else f"error: {r.get('error', '')[-500:]}", ""]
    lines += ["#### Goals", "", "| goal | figure | verdict |", "|---|---|---|"]
    lines += [f"| {g} | {f} | {v} |" for g, f, v in goals(res)]
    return "\n".join(lines)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="small sizes: well under a minute")
    ap.add_argument("--only", default="W1,W2,W3,W4,W5", help="comma-separated workloads")
    ap.add_argument("--json", default=str(HERE / "results.json"), help="where to write the results")
    ap.add_argument("--worker", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.worker:
        worker(args.worker, args.quick)
        return 0
    info = machine()
    res = {}
    everything = args.only == "W1,W2,W3,W4,W5"
    if not everything and Path(args.json).exists():      # --only: update the other results
        old = json.loads(Path(args.json).read_text())
        if old.get("quick") == args.quick:
            res = old.get("results", {})
    for name in args.only.split(","):
        res[name] = run_workload(name.strip(), args.quick)
        print(f"{name}: {res[name].get('wall_s', 0):.1f} s", file=sys.stderr)
    command = "python benchmarks/run.py" + (" --quick" if args.quick else "") + \
        ("" if everything else f" --only {args.only} (the other workloads: an earlier run)")
    res = {k: res[k] for k in sorted(res)}
    text = report(res, info, command)
    print(text)
    Path(args.json).write_text(json.dumps({"command": command, "machine": info, "quick": args.quick,
                                           "results": res, "goals": goals(res)}, indent=1, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
