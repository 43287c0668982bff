"""Smoke test of the benchmark suite (issues 6, 12): a --quick run of two workloads
in well under a minute, the report surviving missing peers, W2's hand-written
numpy peer and weight layout, its symgrad rows on a tiny net, and its goals
(none of it needs the bench extras)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np

import symgrad as sg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))

import peers  # noqa: E402
import run  # noqa: E402
import workloads  # noqa: E402


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


def test_lecture_matrices_follow_the_weight_names():
    net = sg.mlp([3, 4, 2], seed=1)
    Ws = workloads._lecture(net.sizes, net.weights)
    assert [W.shape for W in Ws] == [(4, 4), (5, 2)]
    assert Ws[0][0, 2] == net.weights["w1_0_3"] and Ws[1][4, 1] == net.weights["w2_4_2"]
    back = peers.to_lecture(peers.from_lecture(Ws))
    assert all(np.array_equal(a, b) for a, b in zip(back, Ws, strict=True))
    if workloads.has_matrices(net):                 # the layout of net.matrices() (issue 12)
        assert all(np.array_equal(a, b) for a, b in zip(net.matrices(), Ws, strict=True))


def test_hand_written_numpy_peer_matches_backprop():
    net = sg.mlp([3, 5, 4, 2], activation="tanh", loss="squared", seed=2)
    rng = np.random.default_rng(3)
    X, Y = rng.normal(size=(7, 3)), rng.normal(size=(7, 2))
    hand = peers.NumpyMLP(workloads._lecture(net.sizes, net.weights))
    for A, B in ((X, Y), (X[:1], Y[:1])):
        loss, grads = hand.grad(A, B)
        assert abs(loss - net.mean_loss(A, B)) < 1e-12 and abs(hand.loss(A, B) - loss) < 1e-15
        assert workloads._err(grads, workloads._lecture(net.sizes, net.backprop(A, B))) < 1e-12
    before, (loss, grads) = [W.copy() for W in hand.Ws], hand.grad(X, Y)
    assert hand.step(X, Y, 0.5) == loss
    assert all(np.allclose(W, W0 - 0.5 * G) for W, W0, G in zip(hand.Ws, before, grads))


def test_w2_symgrad_rows_time_the_public_calls_on_a_tiny_net():
    net = sg.mlp([2, 3, 1], seed=0)
    rng = np.random.default_rng(0)
    X, Y = rng.normal(size=(20, 2)), rng.normal(size=(20, 1))
    hand = peers.NumpyMLP(workloads._lecture(net.sizes, net.weights))
    ref = {"one": hand.grad(X[:1], Y[:1])[1], "batch": hand.grad(X, Y)[1]}
    rows = {r["peer"]: r for r in workloads._w2_symgrad("T", net, X, Y, ref, quick=True)}
    rows["numpy by hand"] = workloads._w2_numpy("T", hand.Ws, X, Y, quick=True)
    dict_row = rows["symgrad net.backprop (dict)"]
    assert dict_row["max_abs_err"] < 1e-12 and dict_row["one_sample_s"] > 0
    assert dict_row["ratio"] == dict_row["batch_grad_s"] / dict_row["batch_fwd_s"]
    mat = rows[workloads.MATRICES]
    if workloads.has_matrices(net):
        assert mat["max_abs_err"] < 1e-12 and mat["batch_grad_s"] > 0
    else:
        assert mat == {"net": "T", "peer": workloads.MATRICES, "status": workloads.UNAVAILABLE}
    train = rows["symgrad net.train"]
    assert train["train_batch_steps_per_second"] > 0 and train["train_1_steps_per_second"] > 0
    assert rows["numpy by hand"]["train_1_steps_per_second"] > 0


def test_w2_goals_read_the_matrices_row():
    def row(peer, net, one=None, batch=None, ratio=None):
        return {"peer": peer, "net": net, "one_sample_s": one, "batch_grad_s": batch, "ratio": ratio}
    rows = [row("symgrad net.backprop (dict)", "M", one=150e-6), row(workloads.MATRICES, "M", 100e-6, 5e-3, 2.5),
            row("micrograd", "M", 8e-3), row("torch 2.13.0+cpu eager (1 thread)", "M", 150e-6, 8e-3),
            row("numpy by hand", "M", 20e-6, 6e-3), row("jax 0.10.2 jit (1 thread)", "M", 30e-6, 3e-3),
            {"peer": workloads.MATRICES, "net": "S", "status": workloads.UNAVAILABLE}]
    got = {g: (f, v) for g, f, v in run.goals({"W2": {"rows": rows}})}
    assert got["W2 M one sample net.backprop(matrices=True) >= 70x faster than micrograd"] == ("80x", "met")
    assert got["W2 M one sample net.backprop(matrices=True) >= 2x faster than PyTorch eager"] == ("1.5x", "MISSED")
    assert got["W2 M one sample net.backprop dict within 1.5x of matrices=True"] == ("1.5x", "met")
    assert got["W2 M batch 10k net.backprop(matrices=True) faster than numpy by hand"] == ("1.2x", "met")
    assert got["W2 M batch 10k net.backprop(matrices=True) within 1.5x of JAX jit"] == ("1.67x", "MISSED")
    assert got["W2 M gradient/forward ratio <= 3 (net.backprop(X, Y, matrices=True) / net.mean_loss(X, Y))"] == \
        ("2.5", "met")
    assert got["W2 S one sample net.backprop(matrices=True) >= 3x faster than PyTorch eager"] == \
        ("not measured", "n/a")
