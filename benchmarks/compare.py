"""Compare symgrad's own benchmark rows (W1-W5) between two git revisions.

    python benchmarks/compare.py BEFORE AFTER [--rounds 5] [--quick] [--only W1,W3]
                                 [--json benchmarks/compare.json]

Each revision is checked out in a detached ``git worktree`` under a temporary
directory (removed afterwards), and each revision's own ``benchmarks/run.py``
runs there in a fresh process with ``PYTHONPATH=<that worktree>`` (so the
worktree's symgrad is imported, not the editable install).  Runs are
interleaved to cancel machine noise: one workload at a time (``run.py --only
W<k>``), before then after, the order flipped every round (B A, A B, B A, ...).
A revision whose run.py has no ``--only`` runs all its workloads in one go.

Only symgrad's figures are compared: rows whose ``peer`` starts with
"symgrad", and in W4 (rows without a peer) the ``symgrad_*`` columns.  Time
columns (``*_s``, ``*_ms``, ``*_us``) and rates (``*per_second``, higher is
faster) are taken per round; the table shows each side's median and min-max
over the rounds, and after/before of the medians.  A time row is marked
"slower" ("faster") when every after round is slower (faster) than every before
round (with 3 rounds or more).  Outputs that should not depend on speed (gradients, check counts,
symbolic sizes) are compared too, and differences are listed.  A workload or
row present on one side only is reported as missing.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ALL = ("W1", "W2", "W3", "W4", "W5")
KEYS = ("net", "n", "sizes")                 # what tells a workload's rows apart besides the peer
TIME_SUFFIXES = {"_s": 1.0, "_ms": 1e-3, "_us": 1e-6}
RATES = ("per_second",)
OUTPUTS = ("grad", "checks_ok", "expressions", "symgrad_assignments", "symgrad_ops", "weights")


def git(repo: Path, *args: str) -> str:
    r = subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True)
    if r.returncode:
        raise SystemExit(f"git {' '.join(args)}: {r.stderr.strip()}")
    return r.stdout.strip()


# -- what a run.py result holds ------------------------------------------------------------
def _seconds(key: str):
    """The factor that turns column ``key`` into seconds, None if not a time."""
    if key.endswith("per_node_us"):
        return None                           # derived from fwd_bwd_s: not a separate figure
    for suffix, factor in TIME_SUFFIXES.items():
        if key.endswith(suffix):
            return factor
    return None


def _number(v):
    return v if isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) else None


def symgrad_figures(result: dict) -> tuple[dict, dict]:
    """({(workload, row, column): seconds or rate}, {(workload, row, column): output})
    for symgrad's rows of one run.py JSON result."""
    figures, outputs = {}, {}
    for name, res in result.get("results", {}).items():
        for row in res.get("rows") or []:
            peer = row.get("peer")
            if peer is not None and not str(peer).startswith("symgrad"):
                continue
            label = ", ".join([str(peer or "symgrad")] + [f"{k}={row[k]}" for k in KEYS if k in row])
            for col, v in row.items():
                if peer is None and not col.startswith("symgrad_"):
                    continue
                factor = _seconds(col)
                if factor is not None and _number(v) is not None:
                    figures[(name, label, col)] = v * factor
                elif col.endswith(RATES) and _number(v) is not None:
                    figures[(name, label, col)] = v
                elif col in OUTPUTS and v is not None:
                    outputs[(name, label, col)] = v
    return figures, outputs


# -- running ---------------------------------------------------------------------------------
class Side:
    """One revision checked out in a worktree, with what its run.py can do."""

    def __init__(self, tag: str, rev: str, repo: Path, tmp: Path):
        self.tag, self.rev = tag, rev
        self.hash = git(repo, "rev-parse", "--verify", f"{rev}^{{commit}}")
        self.tree = tmp / tag
        git(repo, "worktree", "add", "--detach", str(self.tree), self.hash)
        self.env = {**os.environ, "PYTHONPATH": str(self.tree)}
        self.script = self.tree / "benchmarks" / "run.py"
        if not self.script.exists():
            raise SystemExit(f"{rev} ({self.hash[:9]}) has no benchmarks/run.py")
        helptext = self._run([sys.executable, str(self.script), "--help"]).stdout
        if "--json" not in helptext:
            raise SystemExit(f"{rev}: benchmarks/run.py has no --json option")
        self.has_only, self.has_quick = "--only" in helptext, "--quick" in helptext
        where = self._run([sys.executable, "-c", "import symgrad; print(symgrad.__file__)"]).stdout.strip()
        if not Path(where).resolve().is_relative_to(self.tree.resolve()):
            raise SystemExit(f"{rev}: PYTHONPATH={self.tree} still imports symgrad from {where}")
        self.runs, self.errors = [], []

    def _run(self, cmd):
        return subprocess.run(cmd, capture_output=True, text=True, env=self.env, cwd=self.tree)

    def run(self, only, quick: bool, out: Path) -> float:
        cmd = [sys.executable, str(self.script), "--json", str(out)]
        cmd += ["--quick"] if quick and self.has_quick else []
        cmd += ["--only", ",".join(only)] if only and self.has_only else []
        out.unlink(missing_ok=True)
        t0 = time.perf_counter()
        r = self._run(cmd)
        wall = time.perf_counter() - t0
        if r.returncode or not out.exists():
            self.errors.append(f"{' '.join(only or ['all'])}: exit {r.returncode}: {r.stderr[-500:]}")
            return wall
        result = json.loads(out.read_text())
        for name, res in result.get("results", {}).items():
            if res.get("error"):
                self.errors.append(f"{name}: {res['error'][-500:]}")
        self.runs.append(result)
        return wall


def measure(sides, workloads, rounds: int, quick: bool, tmp: Path, log) -> None:
    for rnd in range(rounds):
        order = sides if rnd % 2 == 0 else sides[::-1]
        units = [[w] for w in workloads] if all(s.has_only for s in sides) else [None]
        for unit in units:
            for side in order:
                wall = side.run(unit, quick, tmp / f"{side.tag}.json")
                log(f"round {rnd + 1}/{rounds} {side.tag:6} {','.join(unit or ['all']):3} {wall:6.1f} s")


# -- summarising -------------------------------------------------------------------------------
def collect(side, workloads):
    values, outputs, seen = {}, {}, set()
    for result in side.runs:
        seen |= set(result.get("results", {}))
        figs, outs = symgrad_figures(result)
        for k, v in figs.items():
            if k[0] in workloads:
                values.setdefault(k, []).append(v)
        for k, v in outs.items():
            if k[0] in workloads:
                outputs.setdefault(k, set()).add(json.dumps(v))
    return values, outputs, seen


def summarise(before, after, workloads) -> dict:
    vb, ob, seen_b = collect(before, workloads)
    va, oa, seen_a = collect(after, workloads)
    rows = []
    for key in list(vb) + [k for k in va if k not in vb]:
        b, a = vb.get(key), va.get(key)
        row = {"workload": key[0], "row": key[1], "column": key[2], "rate": key[2].endswith(RATES),
               "before": b, "after": a}
        if b and a:
            mb, ma = statistics.median(b), statistics.median(a)
            row.update(before_median=mb, after_median=ma, ratio=ma / mb if mb else None)
            slower = min(a) > max(b) if not row["rate"] else max(a) < min(b)
            faster = max(a) < min(b) if not row["rate"] else min(a) > max(b)
            enough = min(len(a), len(b)) >= 3         # with fewer rounds disjoint ranges say little
            row["verdict"] = "" if not enough else "slower" if slower else "faster" if faster else ""
        else:
            row["verdict"] = f"missing {'before' if not b else 'after'}"
        rows.append(row)
    rows.sort(key=lambda r: (r["workload"], r["row"]))
    changed = [{"workload": k[0], "row": k[1], "column": k[2], "before": sorted(ob.get(k, ())),
                "after": sorted(oa.get(k, ()))} for k in sorted(set(ob) | set(oa)) if ob.get(k) != oa.get(k)]
    missing = {w: [s.tag for s, seen in ((before, seen_b), (after, seen_a)) if w not in seen] for w in workloads}
    return {"rows": rows, "outputs_differ": changed, "missing_workloads": {w: m for w, m in missing.items() if m}}


def slowdown(rows) -> float | None:
    """Geometric mean over the compared figures of after/before as a time (rates inverted)."""
    logs = [math.log(r["ratio"] if not r["rate"] else 1 / r["ratio"]) for r in rows if r.get("ratio")]
    return math.exp(sum(logs) / len(logs)) if logs else None


def fmt(v, rate: bool) -> str:
    if v is None:
        return "-"
    if rate:
        return f"{v:.4g}/s"
    return f"{v * 1e6:.1f} µs" if v < 1e-3 else f"{v * 1e3:.2f} ms" if v < 1 else f"{v:.2f} s"


def spread(vals, rate) -> str:
    return f"{fmt(min(vals), rate)} – {fmt(max(vals), rate)}" if vals else "-"


def table(summary: dict, before, after) -> str:
    out = [f"| workload | row | column | before median | after median | after/before | "
           f"before min–max | after min–max | verdict |", "|" + "---|" * 9]
    for r in summary["rows"]:
        ratio = f"{r['ratio']:.3f}" if r.get("ratio") else "-"
        out.append(f"| {r['workload']} | {r['row']} | {r['column']}{' (rate)' if r['rate'] else ''} | "
                   f"{fmt(r.get('before_median'), r['rate'])} | {fmt(r.get('after_median'), r['rate'])} | "
                   f"{ratio} | {spread(r['before'], r['rate'])} | {spread(r['after'], r['rate'])} | "
                   f"{r['verdict']} |")
    g = slowdown(summary["rows"])
    out += ["", f"before = {before.rev} ({before.hash[:9]}), after = {after.rev} ({after.hash[:9]}); "
            f"geometric mean of after/before over {sum(1 for r in summary['rows'] if r.get('ratio'))} figures "
            f"(time; rates inverted): {g:.3f}" if g else "no figure measured on both sides"]
    for w, tags in summary["missing_workloads"].items():
        out.append(f"{w}: missing from {', '.join(tags)}")
    for d in summary["outputs_differ"]:
        out.append(f"outputs differ: {d['workload']} {d['row']} {d['column']}: {d['before']} -> {d['after']}")
    for s in (before, after):
        out += [f"errors ({s.tag}): {e}" for e in s.errors]
    return "\n".join(out)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("before", help="git revision measured first (BEFORE)")
    ap.add_argument("after", help="git revision compared with it (AFTER)")
    ap.add_argument("--rounds", type=int, default=5, help="runs per revision and workload (default 5)")
    ap.add_argument("--quick", action="store_true", help="run.py --quick sizes (5 rounds: a few minutes)")
    ap.add_argument("--only", default=",".join(ALL), help="comma-separated workloads (default W1-W5)")
    ap.add_argument("--json", default=str(HERE / "compare.json"), help="where to write the comparison")
    args = ap.parse_args(argv)
    if args.rounds < 1:
        ap.error("--rounds must be at least 1")
    workloads = [w.strip() for w in args.only.split(",") if w.strip()]
    repo = Path(git(HERE, "rev-parse", "--show-toplevel"))
    log = lambda msg: print(msg, file=sys.stderr, flush=True)      # noqa: E731
    t0, load0 = time.perf_counter(), os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="symgrad-compare-") as tmpdir:
        tmp, sides = Path(tmpdir), []
        try:
            for tag, rev in (("before", args.before), ("after", args.after)):
                sides.append(Side(tag, rev, repo, tmp))
            measure(sides, workloads, args.rounds, args.quick, tmp, log)
        finally:
            for s in sides:
                subprocess.run(["git", "-C", str(repo), "worktree", "remove", "--force", str(s.tree)],
                               capture_output=True)
    subprocess.run(["git", "-C", str(repo), "worktree", "prune"], capture_output=True)   # a tree a failed check left
    before, after = sides
    summary = summarise(before, after, workloads)
    wall, load1 = time.perf_counter() - t0, os.getloadavg()
    command = f"python benchmarks/compare.py {args.before} {args.after} --rounds {args.rounds}" + \
        (" --quick" if args.quick else "") + ("" if workloads == list(ALL) else f" --only {args.only}")
    print(f"Command: `{command}` ({wall:.0f} s; load average {load0[0]:.2f} at start, {load1[0]:.2f} at end, "
          f"{os.cpu_count()} cores)\n")
    print(table(summary, before, after))
    Path(args.json).write_text(json.dumps({
        "command": command, "before": {"rev": before.rev, "hash": before.hash, "errors": before.errors},
        "after": {"rev": after.rev, "hash": after.hash, "errors": after.errors}, "rounds": args.rounds,
        "quick": args.quick, "workloads": workloads, "wall_s": wall, "loadavg_start": load0,
        "loadavg_end": load1, "cores": os.cpu_count(), "geomean_after_over_before": slowdown(summary["rows"]),
        **summary, "machine": (after.runs or before.runs or [{}])[-1].get("machine")}, indent=1, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
