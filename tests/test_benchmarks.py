"""Smoke test of the benchmark suite (issue 6): a --quick run of two workloads
in well under a minute, and the report surviving missing peers."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))

import run  # noqa: E402


def test_quick_run_prints_tables_and_writes_json(tmp_path):
    out = tmp_path / "results.json"
    r = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "run.py"), "--quick", "--only", "W1,W5",
                        "--json", str(out)], capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert r.returncode == 0, r.stderr
    assert "#### W1" in r.stdout and "| symgrad |" in r.stdout and "#### Goals" in r.stdout
    data = json.loads(out.read_text())
    assert data["quick"] and set(data["results"]) == {"W1", "W5"}
    w1 = {row["peer"].split()[0]: row for row in data["results"]["W1"]["rows"]}
    assert abs(w1["symgrad"]["grad"] + 182.8698) < 1e-3
    assert data["results"]["W5"]["rows"][0]["per_second"] > 0


def test_report_marks_missing_peers_instead_of_crashing():
    res = {"W1": {"rows": [{"peer": "symgrad", "scalar_grad_s": 2e-6},
                           {"peer": "micrograd", "status": "not installed"}]},
           "W2": {"rows": [], "error": "boom"}}
    text = run.report(res, {"cpu": "x", "cores": 1, "os": "y", "python": "3", "threads": "1",
                            "versions": {"torch": "not installed"}}, "python benchmarks/run.py")
    assert "not installed" in text and "error: boom" in text
    verdicts = dict((g, v) for g, _, v in run.goals(res))
    assert verdicts["W1 scalar grad >= 5x faster than micrograd"] == "n/a"
