"""The lowered executor (symgrad.numeric.lower) against the reference interpreters.

The reference ``evaluate``/``adjoints`` are the specification: every lowered path
(straight-line code in one or many chunks, the instruction loop, the scalar
``math`` backend, the numpy backend, the layer-fused MLP path) must give their
values bit for bit (the fused layers sum in BLAS order: to 1e-9).
"""

from __future__ import annotations

import math
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
from hypothesis import given, strategies as st

import symgrad as sg
import symgrad.numeric.reverse  # noqa: F401 - sg.reverse below
from symgrad.numeric import codegen
from symgrad.numeric import lower
from symgrad.numeric.forward import evaluate, read_inputs
from symgrad.numeric.lower import lowered
from symgrad.core.ops import OPS
from symgrad.numeric.reverse import adjoints
from test_numbers import assert_same_bits

LITERALS = (2, 3, -1, 0.5, 1.5, -2.0, 0, 1e-3, 0.0, -0.0, 2.0)


@st.composite
def row_graphs(draw, ops=tuple(OPS), max_nodes=10, max_inputs=3):
    """A random DAG over the op table, in row form: shared nodes, literals, n-ary
    ops and parameters; the output is the last node."""
    inputs = [f"x{i}" for i in range(draw(st.integers(1, max_inputs)))]
    nodes, rows = list(inputs), {}
    for k in range(draw(st.integers(1, max_nodes))):
        op = OPS[draw(st.sampled_from(ops))]
        n = op.count_near(draw(st.integers(1, 4)))
        args = [draw(st.sampled_from(nodes[-4:] + nodes[:2]))]     # first argument: a node
        for i in range(1, n):
            if i >= n - len(op.params):
                args.append(draw(st.sampled_from((0.01, 0.2, 1.0))))
            elif draw(st.integers(0, 4)) == 0:
                args.append(draw(st.sampled_from(LITERALS)))
            else:
                args.append(draw(st.sampled_from(nodes)))
        rows[f"n{k}"] = (op.name, tuple(args))
        nodes.append(f"n{k}")
    return sg.Graph(rows, outputs=[nodes[-1]], inputs=inputs)


VALUES = st.one_of(st.floats(-3, 3), st.sampled_from((0.0, -0.0, 1.0, -1.0, 0.5, 40.0, 800.0)))


def reference(graph, at, output=None):
    ins, _ = read_inputs(graph, at, {})
    vals = evaluate(graph, ins)
    adj = adjoints(graph, vals, output or graph.outputs[0])
    return vals, adj


def same(a, b, exact=True):
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if exact:                      # bit for bit: -0.0 is not 0.0 (assert_array_equal says it is)
        assert_same_bits(a, b)
    else:
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-12, equal_nan=True)


def check_graph(graph, at, exact=True, output=None):
    vals, adj = reference(graph, at, output)
    fw, bw = graph.forward(at), graph.backward(at, output=output)
    for n in graph.nodes:
        same(fw[n], vals[n], exact)
        same(bw[n], adj.get(n, 0.0), exact)
    gr = graph.grad(at, output=output)
    for x in graph.inputs:
        same(gr[x], adj.get(x, 0.0), exact)
    if exact:
        assert fw.nonfinite == tuple(n for n in graph.nodes if not np.all(np.isfinite(vals[n])))


def points(graph, data, batch=None):
    if batch is None:
        return {x: data.draw(VALUES) for x in graph.inputs}
    return {x: np.array(data.draw(st.lists(VALUES, min_size=batch, max_size=batch)))
            for x in graph.inputs}


# -- generic lowering -----------------------------------------------------------------
@given(graph=row_graphs(), data=st.data())
def test_scalar_path_is_bit_exact(graph, data):
    check_graph(graph, points(graph, data))


@given(graph=row_graphs(), data=st.data(), batch=st.sampled_from((None, 3)))
def test_any_node_as_output(graph, data, batch):
    check_graph(graph, points(graph, data, batch), output=data.draw(st.sampled_from(graph.nodes)))


@given(graph=row_graphs(), data=st.data())
def test_array_path_is_bit_exact(graph, data):
    check_graph(graph, points(graph, data, batch=4), exact=True)


@given(graph=row_graphs(max_nodes=14), data=st.data(), batch=st.sampled_from((None, 3)))
def test_chunks_and_instruction_loop_equal_reference(graph, data, batch):
    at = points(graph, data, batch)
    for limit, chunk in ((0, 2000), (10**6, 3)):          # the loop; code in chunks of 3 lines
        with pytest.MonkeyPatch.context() as mp:
            mp.setattr(lower, "HOT_AFTER", 0)                # compiled code from the first call
            mp.setattr(lower, "CODE_LIMIT", limit)
            mp.setattr(codegen, "CHUNK", chunk)
            fresh = copy(graph)
            assert lowered(fresh).mode == ("loop" if limit == 0 else "code")
            check_graph(fresh, at)


def copy(graph):
    """An equal graph with its own (empty) cache."""
    return sg.Graph({n: (graph.op(n), graph.args(n)) for n in graph.nodes if not graph.is_input(n)},
                    outputs=graph.outputs, inputs=graph.inputs)


@pytest.mark.parametrize("text, at, expect", [
    ("exp(x)", 1000.0, math.inf), ("log(x)", 0.0, -math.inf), ("1/x", 0.0, math.inf),
    ("sqrt(x)", -1.0, math.nan), ("x**0.5", -8.0, math.nan), ("tan(x)", math.inf, math.nan),
])
def test_ieee_semantics_of_the_scalar_path(text, at, expect):
    g = sg.parse(text)
    fw = g.forward(x=at)
    out = g.outputs[0]
    assert fw[out] == expect or (math.isnan(expect) and math.isnan(fw[out]))
    assert out in fw.nonfinite
    check_graph(g, {"x": at})


def test_lecture_graph_numbers():
    g = sg.parse("sqrt(x**2 + exp(x**2)) + cos(x**2 + exp(x**2))")
    for _ in range(3):                                   # cached: same results
        assert round(g.forward(x=2.0)["f"], 5) == 7.19433
        assert round(g.grad(x=2.0)["x"], 2) == -182.87
        assert round(g.backward(x=2.0)["c"], 4) == -0.8223


# -- caching -------------------------------------------------------------------------
def test_caching_is_invisible_and_per_graph():
    g1, g2 = sg.parse("sin(x) * x"), sg.parse("cos(x) * x")
    assert lowered(g1) is lowered(g1) and lowered(g1) is not lowered(g2)
    first = [g1.grad(x=0.3)["x"], g2.grad(x=0.3)["x"]]
    for _ in range(3):
        assert [g1.grad(x=0.3)["x"], g2.grad(x=0.3)["x"]] == first
    assert first == [math.cos(0.3) * 0.3 + math.sin(0.3), -math.sin(0.3) * 0.3 + math.cos(0.3)]


def test_reverse_programs_per_output_are_bounded():
    g = sg.parse("\n".join(f"o{i} = x * {i + 2}" for i in range(20)), outputs=[f"o{i}" for i in range(20)])
    for i in range(20):
        assert g.grad(x=1.0, output=f"o{i}")["x"] == i + 2
    assert len(lowered(g)._rev) <= lower._MAX_OUTPUTS


@given(graphs=st.lists(row_graphs(), min_size=4, max_size=8), data=st.data())
def test_thread_pool_evaluation_is_safe(graphs, data):
    ats = [points(g, data) for g in graphs]
    fresh = [copy(g) for g in graphs]
    want = [g.grad(at) for g, at in zip(graphs, ats)]
    jobs = [(g, at) for g, at in zip(fresh, ats)] * 4           # each graph compiled concurrently
    with ThreadPoolExecutor(8) as pool:
        got = list(pool.map(lambda job: job[0].grad(job[1]), jobs))
    for w, g in zip(want * 4, got):
        assert w.keys() == g.keys()
        for k in w:
            same(w[k], g[k])


# -- huge graphs ----------------------------------------------------------------------
def test_million_node_chain_has_no_recursion_limit():
    """A 1,000,000-node builder chain y = sin(y): forward + backward without
    RecursionError; dy/dx is the product of the cosines along the chain."""
    import gc
    n = 1_000_000
    gc.disable()                      # building a million objects: skip collector passes
    try:
        y = x = sg.variable("x")
        for _ in range(n):
            y = sg.sin(y)
        g = sg.Graph(y)
    finally:
        gc.enable()
    assert lowered(g).mode == "loop"
    fw = g.forward(x=0.7)
    gr = g.grad(x=0.7)["x"]
    v, prod = 0.7, 1.0
    for _ in range(n):
        prod *= math.cos(v)
        v = math.sin(v)
    assert fw[g.outputs[0]] == pytest.approx(v, rel=1e-9)
    assert gr == pytest.approx(prod, rel=1e-6)


# -- layer-fused MLPs -----------------------------------------------------------------
ACTS = ("identity", "sigmoid", "tanh", "relu", "leaky_relu", "elu")


@st.composite
def mlps(draw):
    sizes = [draw(st.integers(1, 4))] + draw(st.lists(st.integers(1, 5), min_size=1, max_size=3)) \
        + [draw(st.integers(1, 2))]
    act = draw(st.sampled_from(ACTS))
    loss = draw(st.sampled_from(("squared", "cross_entropy")))
    return sg.mlp(sizes, activation=act, loss=loss, seed=draw(st.integers(0, 5)))


def batch(net, data, n=5):
    rng = np.random.default_rng(data.draw(st.integers(0, 2**16)))
    x = rng.normal(size=(n, net.sizes[0]))
    y = np.eye(net.sizes[-1])[rng.integers(0, net.sizes[-1], n)] if net.loss == "cross_entropy" \
        else rng.normal(size=(n, net.sizes[-1]))
    return net.feed(x, y)


@given(net=mlps(), data=st.data())
def test_fused_layers_equal_reference(net, data):
    g = net.graph
    feed = batch(net, data)
    prog = lowered(g).blocks()            # found by the op table's properties: every layer a block,
    assert [type(op).__name__ for _, op, _ in prog.rows] == \
        ["Stack"] + ["Linear", "Map"] * (len(net.sizes) - 2) + ["Linear"] \
        + (["Map"] if net.activations[-1] != "identity" else []) + ["Stack", "Pairs"]
    check_graph(g, feed, exact=False)
    vals, adj = reference(g, feed)
    value, mean = sg.numeric.reverse.mean_grad(g, feed)
    assert value == pytest.approx(float(np.mean(vals[g.outputs[0]])), rel=1e-9, abs=1e-12)
    for w in g.inputs:
        assert mean[w] == pytest.approx(float(np.mean(adj.get(w, 0.0))), rel=1e-9, abs=1e-12)
    _, only = sg.numeric.reverse.mean_grad(g, feed, wrt=list(net.weights))      # weights only: x's skipped
    assert list(only) == list(net.weights)
    assert only == pytest.approx({w: mean[w] for w in net.weights}, rel=1e-12, abs=1e-15)


@given(net=mlps(), data=st.data())
def test_mlp_one_sample_is_bit_exact(net, data):
    feed = {k: float(np.ravel(v)[0]) for k, v in batch(net, data, 1).items()}
    check_graph(net.graph, feed)


def test_fused_layers_fall_back_with_array_weights_and_internal_outputs():
    net = sg.mlp([3, 4, 4, 1], activation="tanh", seed=1)
    rng = np.random.default_rng(0)
    feed = net.feed(rng.normal(size=(6, 3)), rng.normal(size=(6, 1)))
    feed["w2_1_1"] = rng.normal(size=6)                   # a per-sample weight: no fusion
    check_graph(net.graph, feed)
    feed = net.feed(rng.normal(size=(6, 3)), rng.normal(size=(6, 1)))
    for node in ("a2_1", "h1_3", "loss"):                  # differentiate a node inside a layer
        vals, adj = reference(net.graph, feed, node)
        bw = net.graph.backward(feed, output=node)
        for n in net.graph.nodes:
            same(bw[n], adj.get(n, 0.0), exact=False)


def test_fused_mlp_matches_lecture_closed_form():
    net = sg.mlp([2, 3, 1], activation="tanh", seed=0)
    x, y = np.array([[0.5, -1.0], [1.0, 2.0]]), np.array([[1.0], [0.0]])
    value, mean = sg.numeric.reverse.mean_grad(net.graph, net.feed(x, y))
    ref = net.backprop(x, y)
    assert {w: mean[w] for w in ref} == pytest.approx(ref, rel=1e-12)


def test_fast_grad_leaves_odd_inputs_to_the_checked_path():
    g = sg.parse("x * y + sin(x)")
    want = g.grad(x=0.5, y=2.0)
    assert g.grad(x=0.5, y=2) == want                               # an int: general path, same value
    assert g.grad({"x": np.float64(0.5), "y": np.array(2.0)}) == want
    with pytest.raises(sg.InputError):
        g.grad(x=True, y=2.0)
    with pytest.raises(sg.InputError):
        g.grad(x=0.5, y=2.0, z=1.0)
    with pytest.raises(sg.InputError):
        g.grad(x=0.5)
    const = sg.Graph({"a": ("sum", (2, 3)), "b": ("exp", ("a",))}, outputs=["b"])   # no inputs
    check_graph(const, {})
    assert const.grad() == {} and sg.numeric.reverse.mean_grad(const)[0] == pytest.approx(math.exp(5))


def test_mean_gradients_from_threads_share_pooled_buffers_safely():
    net = sg.mlp([3, 16, 16, 1], activation="tanh", seed=2)
    rng = np.random.default_rng(1)
    feeds = [net.feed(rng.normal(size=(500, 3)), rng.normal(size=(500, 1))) for _ in range(6)]
    want = [sg.numeric.reverse.mean_grad(net.graph, f, wrt=list(net.weights)) for f in feeds]
    with ThreadPoolExecutor(6) as pool:
        got = list(pool.map(lambda f: sg.numeric.reverse.mean_grad(net.graph, f, wrt=list(net.weights)), feeds * 5))
    for w, g in zip(want * 5, got):
        assert w == g


# -- one road, one cached build (issue 16) ---------------------------------------------------
def test_every_public_call_reads_its_inputs_once(monkeypatch):
    """forward, backward, grad and mean_grad go through ``lower.execute``, which
    reads the inputs once, whatever tier runs (scalar, array, strict, fallback)."""
    calls = []
    real = lower.read_inputs
    monkeypatch.setattr(lower, "read_inputs", lambda *a: calls.append(1) or real(*a))
    g = sg.parse("w * x + log(x)")
    xs = np.array([1.0, 2.0, 3.0])
    runs = [lambda: g.forward(w=2.0, x=xs), lambda: g.backward(w=2.0, x=1.5),
            lambda: g.backward(w=2.0, x=1.5, strict=True), lambda: g.grad(w=2.0, x=xs),
            lambda: g.grad(w=2.0, x=0.0),                        # log(0): the reference runs
            lambda: sg.numeric.reverse.mean_grad(g, w=2.0, x=xs), lambda: sg.numeric.reverse.mean_grad(g, w=2.0, x=1.5)]
    for run in runs:
        calls.clear()
        with np.errstate(all="ignore"):
            run()
        assert calls == [1]


def test_mean_grad_of_one_sample_is_value_and_grad():
    g = sg.parse("w * x + log(x)")
    value, grads = sg.numeric.reverse.mean_grad(g, w=2.0, x=1.5)
    assert value == g.forward(w=2.0, x=1.5)[g.outputs[0]] and grads == g.grad(w=2.0, x=1.5)
    with pytest.raises(sg.InputError, match="wrt names 'v'"):
        sg.numeric.reverse.mean_grad(g, w=2.0, x=1.5, wrt=["v"])


def test_built_makes_each_piece_once_under_threads():
    """The cached-build helper: many threads asking for one key build it once
    and all get the same object; a bounded store keeps the newest entries."""
    import threading
    import time
    from collections import OrderedDict
    store, lock, made = {}, threading.Lock(), []

    def build():
        made.append(1)
        time.sleep(0.01)                       # let the other threads pile up on the lock
        return object()
    with ThreadPoolExecutor(8) as pool:
        got = list(pool.map(lambda _: lower.built(store, "k", lock, build), range(32)))
    assert len(made) == 1 and all(o is got[0] for o in got)
    bounded = OrderedDict()
    for k in range(5):
        lower.built(bounded, k, lock, object, bound=3)
    assert list(bounded) == [2, 3, 4]
