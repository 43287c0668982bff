"""Weights as matrices (issue 12): ``net.matrices()``, ``backprop(..., matrices=True)``,
``with_weights``, the live ``net.weights`` view, and the block program a Net runs on
(found by the op table's properties, its reverse pass the one sweep)."""

import re
import threading
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import symgrad as sg
from symgrad.core import conventions
from symgrad.core.conventions import Convention
from symgrad.core.ops import OPS, Op
from symgrad.nn import matrices as mat
from symgrad.numeric import fuse
from symgrad.numeric.forward import evaluate, read_inputs
from symgrad.numeric.lower import lowered
from symgrad.numeric.reverse import adjoints

ACTS = ("identity", "sigmoid", "tanh", "relu", "leaky_relu", "elu")


@st.composite
def nets(draw, max_width=4):
    """Nets of 0..2 hidden layers, any hidden and output activation and loss
    (cross-entropy from logits: identity output; no loss: one output)."""
    loss = draw(st.sampled_from(["squared", "cross_entropy", None]))
    sizes = draw(st.lists(st.integers(1, max_width), min_size=2, max_size=4))
    sizes[-1] = 1 if loss is None else sizes[-1]
    return sg.mlp(sizes, activation=[draw(st.sampled_from(ACTS)) for _ in sizes[2:]],
                  output_activation="identity" if loss == "cross_entropy" else draw(st.sampled_from(ACTS)),
                  loss=loss, seed=draw(st.integers(0, 2**16)))


def samples(net, n, seed):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, net.sizes[0]))
    if net.loss is None:
        return x, None
    y = np.eye(net.sizes[-1])[rng.integers(0, net.sizes[-1], n)] if net.loss == "cross_entropy" \
        else rng.normal(size=(n, net.sizes[-1]))
    return x, y


def graph_gradient(net, x, y):
    """The mean gradient by the reference interpreters on the graph (no blocks)."""
    ins, _ = read_inputs(net.graph, net.feed(x, y), {})
    vals = evaluate(net.graph, ins)
    adj = adjoints(net.graph, vals, net.graph.outputs[0])
    return float(np.mean(vals[net.graph.outputs[0]])), {w: float(np.mean(adj.get(w, 0.0))) for w in net.weights}


# -- the layout ------------------------------------------------------------------------------
def test_matrices_are_the_lectures_layout():
    net = sg.mlp([3, 4, 2], seed=1)
    W = net.matrices()
    assert [m.shape for m in W] == [(4, 4), (5, 2)]
    for name, value in net.weights.items():
        l, i, j = map(int, re.fullmatch(r"w(\d+)_(\d+)_(\d+)", name).groups())
        assert W[l - 1][i, j - 1] == value                     # row 0: the biases
    x = np.array([0.5, -1.0, 2.0])
    h = np.tanh(x @ W[0][1:] + W[0][0])
    assert net.forward(x, [0.0, 0.0])["yhat2"] == pytest.approx((h @ W[1][1:] + W[1][0])[1], rel=1e-12)
    W[0][0, 0] = 99.0                                          # copies
    assert net.weights["w1_0_1"] != 99.0


@settings(max_examples=40)
@given(net=nets(), n=st.sampled_from([1, 2, 5, 20]), seed=st.integers(0, 2**16))
def test_matrices_and_dict_agree_exactly_and_equal_the_graph(net, n, seed):
    x, y = samples(net, n, seed)
    x = x[0] if n == 1 else x                                   # one sample as a vector
    y = y[0] if n == 1 and y is not None else y
    dW = net.backprop(x, y, matrices=True)
    grad = net.backprop(x, y)
    assert list(grad) == list(net.weights)
    assert grad == {w: float(dW[l][i, j]) for w, (l, i, j) in mat.weight_index(net.sizes).items()}
    assert [m.shape for m in dW] == [m.shape for m in net.matrices()]
    value, want = graph_gradient(net, x, y)
    assert net.mean_loss(x, y) == pytest.approx(value, rel=1e-9, abs=1e-12)
    assert grad == pytest.approx(want, rel=1e-9, abs=1e-12)


@settings(max_examples=15)
@given(net=nets(max_width=3), seed=st.integers(0, 2**16))
def test_large_batches_run_in_pieces_with_pooled_buffers(net, seed):
    """Elementwise ops on pieces of rows and reused buffers give the same gradient
    (BLOCK made small so that a batch of 40 is cut in pieces)."""
    x, y = samples(net, 40, seed)
    want = net.backprop(x, y, matrices=True)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(fuse, "BLOCK", 5)
        for _ in range(2):                                      # the second call reuses the pool
            got = net.backprop(x, y, matrices=True)
            for a, b in zip(got, want):
                np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-15)
    assert net._plan.pool                                       # buffers came back to the pool


def test_backprop_from_threads_shares_the_pool_safely():
    net = sg.mlp([3, 16, 16, 1], seed=2)
    rng = np.random.default_rng(1)
    batches = [(rng.normal(size=(300, 3)), rng.normal(size=(300, 1))) for _ in range(6)]
    want = [net.backprop(x, y, matrices=True) for x, y in batches]
    got = [None] * 30

    def work(k):
        got[k] = net.backprop(*batches[k % 6], matrices=True)
    threads = [threading.Thread(target=work, args=(k,)) for k in range(30)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for k, g in enumerate(got):
        for a, b in zip(g, want[k % 6]):
            np.testing.assert_array_equal(a, b)


# -- with_weights and the weights view ---------------------------------------------------------
def test_with_weights_round_trip_and_independence():
    net = sg.mlp([2, 3, 1], seed=0)
    same = net.with_weights(net.matrices())
    assert same is not net and same.weights == net.weights and same.graph is net.graph
    x, y = [0.3, -0.7], [0.5]
    assert same.backprop(x, y) == net.backprop(x, y)
    scaled = net.with_weights([2 * W for W in net.matrices()])
    assert scaled.weights["w2_3_1"] == 2 * net.weights["w2_3_1"]
    given = [W.tolist() for W in net.matrices()]                  # nested lists work too
    given[0][1][2] = 7.0
    other = net.with_weights(given)
    assert other.weights["w1_1_3"] == 7.0 and net.weights["w1_1_3"] != 7.0
    scaled.train([x], [y], steps=3, progress=False)               # training one leaves the other
    assert net.matrices()[0].tolist() == same.matrices()[0].tolist()


@pytest.mark.parametrize("bad, match", [
    ([np.zeros((3, 3))], r"has 2 weight matrices \(shapes \(3, 3\), \(4, 1\)\), got 1"),
    ([np.zeros((3, 3)), np.zeros((3, 1))], r"W\^2 must be real numbers of shape \(4, 1\).*got shape \(3, 1\)"),
    ([np.zeros((3, 3)), [[0.0], [1.0], ["a"], [0.0]]], r"W\^2 must be a matrix of real numbers"),
    ([np.zeros((3, 3)), np.array([[0.0], [1.0], [np.nan], [0.0]])], r"W\^2 must be finite: W\^2\[2, 0\] \(w2_2_1\) is nan"),
    ([np.full((3, 3), np.inf), np.zeros((4, 1))], r"W\^1 must be finite"),
    ([np.zeros((3, 3), complex), np.zeros((4, 1))], r"W\^1 must be real numbers of shape \(3, 3\), got dtype complex128"),
    ({"w1_0_1": 1.0}, r"list of 2 matrices"),
    (np.zeros((3, 3)), r"list of 2 matrices"),
])
def test_with_weights_refuses_bad_matrices(bad, match):
    with pytest.raises(sg.InputError, match=match):
        sg.mlp([2, 3, 1]).with_weights(bad)


def test_weights_is_a_live_view():
    net = sg.mlp([2, 2, 1], seed=0)
    x, y = [1.0, 2.0], [0.0]
    before = net.backprop(x, y)
    net.weights["w2_1_1"] = 0.25
    assert net.matrices()[1][1, 0] == 0.25 and net.weights["w2_1_1"] == 0.25
    assert net.backprop(x, y) != before
    snapshot = dict(net.weights)
    assert net.weights.copy() == snapshot and isinstance(net.weights.copy(), dict)
    net.train([x], [y], steps=2, progress=False)                   # train updates the matrices
    assert dict(net.weights) != snapshot and net.weights == dict(zip(net.weights, mat.flat(net.matrices())))
    net.weights = snapshot                                          # a whole mapping sets all
    assert dict(net.weights) == snapshot
    assert len(net.weights) == 9 and "w1_2_2" in net.weights and "x1" not in net.weights
    with pytest.raises(sg.InputError, match="unknown weight 'w9_0_1'"):
        net.weights["w9_0_1"] = 1.0
    with pytest.raises(sg.InputError, match="finite real number"):
        net.weights["w1_0_1"] = float("nan")
    with pytest.raises(sg.InputError, match="finite real number"):
        net.weights["w1_0_1"] = "0.5"
    with pytest.raises(sg.InputError, match="cannot be removed"):
        del net.weights["w1_0_1"]
    with pytest.raises(sg.InputError, match="missing"):
        net.weights = {"w1_0_1": 1.0}
    assert sg.mlp([2, 2, 1], weights=net.weights).weights == net.weights     # mlp(weights=view)


def test_train_steps_on_matrices_equal_gradient_descent():
    net = sg.mlp([2, 3, 1], seed=4)
    X, Y = np.array([[0.0, 1.0], [1.0, 0.0], [1.0, 1.0]]), np.array([[1.0], [1.0], [0.0]])
    W = net.matrices()
    for _ in range(3):
        dW = net.with_weights(W).backprop(X, Y, matrices=True)
        W = [a - 0.1 * d for a, d in zip(W, dW)]
    hist = net.train(X, Y, lr=0.1, steps=3, progress=False)
    for a, b in zip(net.matrices(), W):
        np.testing.assert_allclose(a, b, rtol=1e-14, atol=1e-15)
    assert hist[-1] == pytest.approx(net.mean_loss(X, Y), rel=1e-15)


# -- the block program -----------------------------------------------------------------------
def test_the_plan_is_found_for_every_lecture_net():
    for net in (sg.mlp([2, 2, 1]), sg.mlp([3, 4, 2, 2], activation=["relu", "elu"], output_activation="sigmoid"),
                sg.mlp([2, 3], loss="cross_entropy"), sg.mlp([2, 3, 1], activation="identity", loss=None)):
        net.backprop(np.ones(net.sizes[0]), None if net.loss is None else np.zeros(net.sizes[-1]))
        assert isinstance(net._plan, mat.Plan) and net._plan.one is not None     # one sample: compiled
        assert len(net._plan.wkeys) == len(net.sizes) - 1


@settings(max_examples=30)
@given(net=nets(), seed=st.integers(0, 2**16))
def test_one_sample_compiled_equals_the_interpreted_sweep(net, seed):
    """The compiled one-sample function (lines emitted by the sweep) and the sweep run
    with the Blocks interpretation give the same loss and gradient."""
    x, y = samples(net, 1, seed)
    plan = net._plan if net._plan else (net.backprop(x, y), net._plan)[1]
    Y = None if y is None else y.reshape(1, -1)
    loss, dW = plan.run(net._W, x.reshape(1, -1), Y)
    one, plan.one = plan.one, None
    try:
        loss2, dW2 = plan.run(net._W, x.reshape(1, -1), Y)
    finally:
        plan.one = one
    assert loss == pytest.approx(loss2, rel=1e-13, abs=1e-15)
    for a, b in zip(dW, dW2):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-15)


def test_a_graph_off_the_layout_runs_the_graph_executor(monkeypatch):
    """Were the block program not the matrices' layout, backprop takes the graph road
    (same numbers): the plan is checked, not assumed."""
    net = sg.mlp([2, 3, 1], seed=3)
    x, y = np.array([[0.1, 0.2], [0.3, -0.4]]), np.array([[1.0], [0.0]])
    want, loss = net.backprop(x, y), net.mean_loss(x, y)
    other = net.with_weights(net.matrices())
    other._plan = None                                              # as plan() answers off the layout
    assert other.backprop(x, y) == pytest.approx(want, rel=1e-12)
    assert other.mean_loss(x, y) == pytest.approx(loss, rel=1e-12)
    g = sg.Graph({"a": ("wsum", ("w", "x", "v", 1)), "f": ("tanh", ("a",))}, outputs=["f"])
    assert mat.plan(g, (1, 1)) is None                              # not an MLP's names


def test_fusion_reads_the_op_table_not_names():
    """The fusion modules name no op: a newly registered linear pair op fuses like wsum."""
    folder = Path(fuse.__file__).parent
    for module in ("fuse.py", "blockfind.py", "blockcode.py"):
        source = (folder / module).read_text()
        for name in OPS:
            assert not re.search(rf"""["']{name}["']""", source), (module, name)
    dot = Op("dot2", -2, OPS["wsum"].apply, OPS["wsum"].partials, OPS["wsum"].text, OPS["wsum"].latex,
             call=True, linear=True)
    conventions.register(dot, Convention("all reals", (((2.0, 3.0), 6.0, 3.0),)))
    try:
        g = sg.parse("tanh(dot2(u, x, v, y, b, 1)) + tanh(dot2(p, x, q, y, c, 1)) + dot2(r, x, s, y)")
        prog = lowered(g).blocks()
        kinds = [type(op).__name__ for _, op, _ in prog.rows]
        assert kinds.count("Linear") == 2 and "Map" in kinds
        rng = np.random.default_rng(0)
        feed = {n: rng.normal(size=7) if n in "xy" else float(rng.normal()) for n in g.inputs}
        ins, _ = read_inputs(g, feed, {})
        vals = evaluate(g, ins)
        adj = adjoints(g, vals, g.outputs[0])
        bw = g.backward(feed)
        for n in g.nodes:
            np.testing.assert_allclose(bw[n], adj.get(n, 0.0), rtol=1e-12, atol=1e-15, err_msg=n)
    finally:
        conventions.unregister("dot2")


def test_the_fused_reverse_is_the_one_sweep(monkeypatch):
    """Every adjoint of the fused tier comes out of core.sweep.sweep: with the sweep
    stubbed, no block adjoint is computed anywhere else."""
    from symgrad.core import sweep as sweep_module
    calls = []
    real = sweep_module.sweep

    def counted(*args, **kw):
        calls.append(args[2])
        return real(*args, **kw)
    monkeypatch.setattr(fuse, "sweep", counted)
    net = sg.mlp([2, 4, 1], seed=0)
    net.backprop(np.ones((3, 2)), np.zeros((3, 1)))
    sg.numeric.reverse.mean_grad(net.graph, net.feed(np.ones((3, 2)), np.zeros((3, 1))))
    assert len(calls) == 2 and all(type(i) is fuse.Blocks for i in calls)
    assert "def reverse" in Path(fuse.__file__).read_text() and "class Layer" not in Path(fuse.__file__).read_text()
