"""Every executor path of the lowered program against the reference interpreters.

The reference (:func:`symgrad.forward.evaluate`, :func:`symgrad.reverse.adjoints`)
is the specification.  Each tier of :mod:`symgrad.lower` (the fast scalar grad,
compiled straight-line code, the instruction loop, fused layers with either kind
of segment, and the mean gradient) is forced explicitly, on random layered DAGs
with skip connections, shared activations, several outputs, partially fusable
layers and nodes reading raw inputs.
"""

from __future__ import annotations

import numpy as np
import pytest

import symgrad as sg
from symgrad.forward import evaluate, read_inputs
from symgrad.lower import lowered
from symgrad.reverse import adjoints


def skip_net():
    """Two fused tanh layers; ``h1_1`` feeds layer 2 and, by a skip connection, the output."""
    h = [sg.variable(f"x{i}") for i in (1, 2)]
    hidden = []
    for l in (1, 2):
        w = {(i, j): sg.variable(f"w{l}_{i}_{j}") for i in range(3) for j in (1, 2)}
        h = [sg.tanh(sg.sum(w[0, j], w[1, j] * h[0], w[2, j] * h[1])) for j in (1, 2)]
        hidden.append(h)
    return sg.Graph(h[0] + h[1] + hidden[0][0] ** 2)


def reference(graph, at, output=None):
    ins, _ = read_inputs(graph, at, {})
    vals = evaluate(graph, ins)
    return vals, adjoints(graph, vals, output or graph.outputs[0])


def test_skip_connection_across_fused_layers_regression():
    """Issue 11 item 0: a hidden activation feeding the next fused layer AND a later
    node; the layer below reused the layer above's dX although the activation's
    adjoint held the skip connection's contribution too."""
    g = skip_net()
    assert len(lowered(g).layers()) == 2
    rng = np.random.default_rng(0)
    feed = {n: rng.normal(size=5) if n.startswith("x") else float(rng.normal()) for n in g.inputs}
    vals, adj = reference(g, feed)
    bw = g.backward(feed)
    for n in g.nodes:
        np.testing.assert_allclose(bw[n], adj.get(n, 0.0), rtol=1e-12, atol=1e-15, err_msg=n)
    value, mean = sg.reverse.mean_grad(g, feed)
    for x in g.inputs:
        assert mean[x] == pytest.approx(float(np.mean(adj.get(x, 0.0))), rel=1e-12, abs=1e-15), x
    one = {n: float(np.ravel(v)[0]) for n, v in feed.items()}
    fd = sg.check(g, one)
    assert fd.ok and fd["w1_1_1"].values["reverse"] == pytest.approx(float(np.ravel(adj["w1_1_1"])[0]))
