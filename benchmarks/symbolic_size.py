"""Size and time of the shared symbolic gradient vs sympy.diff of the flattened loss.

    python benchmarks/symbolic_size.py [--limit 60]

For MLPs [3, 6, 6, 6, 1] and [4, 32, 32, 1] (tanh hidden layers, squared loss)
this measures the time to produce the shared symbolic gradient of the loss with
respect to all weights (reverse accumulation over the graph,
``g.symbolic_gradient(wrt=weights, shared=True)``), its size (the total
``sympy.count_ops`` of the assignments and gradient expressions) next to the
graph's node count, and, in a subprocess with a time limit, ``sympy.diff`` of
the flattened loss expression with respect to every weight (time to
differentiate, then the ``count_ops`` of the result).  Prints a Markdown table
and writes ``benchmarks/symbolic_size.json``.
"""

from __future__ import annotations

import argparse
import json
import pathlib
import platform
import subprocess
import sys
import time

import sympy

import symgrad as sg
from symgrad.symbolic.gradient import shared_size

CASES = ([3, 6, 6, 6, 1], [4, 32, 32, 1])
HERE = pathlib.Path(__file__).resolve().parent

# Runs in a subprocess: prints one JSON line per finished phase, so a timeout
# still reports what was done.
_FLAT = """
import json, sys, time, sympy as sp, symgrad as sg
net = sg.mlp({sizes!r}, activation="tanh", loss="squared", seed=0)
loss = net.graph.to_sympy("loss")
syms = {{s.name: s for s in loss.free_symbols}}
t = time.perf_counter()
grads = [sp.diff(loss, syms[w]) for w in net.weights]
print(json.dumps({{"diff_seconds": time.perf_counter() - t}}), flush=True)
t = time.perf_counter()
size = sum(sp.count_ops(g) for g in grads)
print(json.dumps({{"flat_size": size, "count_seconds": time.perf_counter() - t}}), flush=True)
"""


def shared(sizes: list[int]) -> dict:
    net = sg.mlp(sizes, activation="tanh", loss="squared", seed=0)
    g = net.graph
    t = time.perf_counter()
    assignments, grad = g.symbolic_gradient(wrt=list(net.weights), shared=True)
    seconds = time.perf_counter() - t
    size = shared_size(assignments, grad)
    return {"sizes": sizes, "nodes": len(g.nodes), "weights": len(net.weights),
            "shared_seconds": seconds, "assignments": len(assignments), "shared_size": size,
            "size_per_node": size / len(g.nodes)}


def flat(sizes: list[int], limit: float) -> dict:
    code = _FLAT.format(sizes=sizes)
    out = {"limit_seconds": limit}
    try:
        proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                              timeout=limit)
        stdout = proc.stdout
        if proc.returncode:
            out["error"] = proc.stderr.strip().splitlines()[-1:]
    except subprocess.TimeoutExpired as exc:
        stdout = exc.stdout.decode() if isinstance(exc.stdout, bytes) else (exc.stdout or "")
        out["timeout"] = True
    for line in stdout.splitlines():
        out.update(json.loads(line))
    return out


def _fmt_flat(r: dict) -> tuple[str, str]:
    limit = f"timeout (> {r['limit_seconds']:g} s)"
    diff = f"{r['diff_seconds']:.2f} s" if "diff_seconds" in r else limit
    size = str(r["flat_size"]) if "flat_size" in r else ("not reached" if "diff_seconds" not in r
                                                          else limit + " while counting")
    return diff, size


def table(rows: list[dict]) -> str:
    head = ("| MLP | graph nodes | shared gradient time | shared size (count_ops) | size / node "
            "| assignments | sympy.diff of flattened loss | its size (count_ops) |")
    lines = [head, "|" + "---|" * 8]
    for r in rows:
        diff, size = _fmt_flat(r["flat"])
        lines.append(f"| {r['sizes']} | {r['nodes']} | {r['shared_seconds']:.3f} s | "
                     f"{r['shared_size']} | {r['size_per_node']:.2f} | {r['assignments']} | "
                     f"{diff} | {size} |")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--limit", type=float, default=60.0, help="seconds for sympy.diff (default 60)")
    args = ap.parse_args()
    rows = []
    for sizes in CASES:
        row = shared(sizes)
        row["flat"] = flat(sizes, args.limit)
        rows.append(row)
    print(table(rows))
    meta = {"python": platform.python_version(), "sympy": sympy.__version__,
            "machine": platform.machine(), "command": "python benchmarks/symbolic_size.py"}
    (HERE / "symbolic_size.json").write_text(json.dumps({"meta": meta, "results": rows}, indent=2) + "\n")


if __name__ == "__main__":
    main()
