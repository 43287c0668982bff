"""Every executor path of the lowered program against the reference interpreters.

The reference (:func:`symgrad.numeric.forward.evaluate`, :func:`symgrad.numeric.reverse.adjoints`)
is the specification.  Each tier of :mod:`symgrad.numeric.lower` (the fast scalar grad,
compiled straight-line code, the instruction loop, fused layers with either kind
of segment, and the mean gradient) is forced explicitly, on random layered DAGs
with skip connections, shared activations, several outputs, partially fusable
layers and nodes reading raw inputs.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import Phase, find, given, settings, strategies as st

import symgrad as sg
import symgrad.numeric.reverse  # noqa: F401 - sg.reverse below
from symgrad.numeric import codegen
from symgrad.numeric import paths
from symgrad.numeric.forward import evaluate, read_inputs
from symgrad.numeric.lower import lowered
from symgrad.numeric.paths import run_paths
from symgrad.numeric.reverse import adjoints

ACTS = ("tanh", "sigmoid", "relu", "identity", "sin", "softplus", "leaky_relu", "elu")
EXTRA = ("mul", "add", "sub", "square", "sin", "tanh")     # nodes besides the layers


@st.composite
def layered_graphs(draw, max_layers=3, max_width=4):
    """A random layered DAG: layers of neurons ``act(wsum(w_1, h_1, ..., w_b, c, ...))``
    reading a drawn list of earlier nodes (the previous layer's activations, older
    ones, raw inputs: skip connections), each weight an input, biases as pairs
    ``(w, literal)``; some pairs break fusion (``(h, w)``, ``(h, h2)``, a weight used
    twice, a neuron's own bias literal), activations may differ per neuron or be
    missing, extra nodes read any earlier node (several consumers of one
    activation, of a sum before its activation, of a weight or a raw input); the
    first output sums the nodes nobody reads, up to two more sum drawn nodes.  In a
    quarter of the graphs raw inputs also serve as a layer's "weight"
    (``wsum(x1, h)``): with array samples those layers cannot fuse, and the whole
    graph runs generic."""
    rows, made = {}, {}
    inputs = [f"x{i}" for i in range(1, draw(st.integers(1, 3)) + 1)]
    weights: list = []

    def node(op, args, name=None):
        key = (op, tuple(args))
        if key not in made:
            made[key] = name or f"n{len(rows)}"
            rows[made[key]] = key
        return made[key]

    def weight():
        if weights and draw(st.integers(0, 12)) == 0:         # a weight used twice
            return draw(st.sampled_from(weights))
        weights.append(f"w{len(weights)}")
        return weights[-1]

    def pick(pool):                                           # recent nodes more often
        return draw(st.sampled_from(pool[-6:] + pool[:2]))

    avail, outs = list(inputs), []
    array_params = draw(st.integers(0, 3)) == 0               # raw inputs as a layer's weights
    for _ in range(draw(st.integers(1, max_layers))):
        if outs and draw(st.integers(0, 2)):                  # read exactly the layer below
            prev = list(outs)                                 # (an MLP: its dX is reused)
        else:
            prev = [pick(avail) for _ in range(draw(st.integers(1, max_width)))]
        act = draw(st.sampled_from(ACTS))
        mixed = draw(st.integers(0, 4)) == 0                  # activations differ per neuron
        bare = draw(st.integers(0, 7)) == 0                   # no activations: the sums are read
        pre = draw(st.integers(0, 5)) == 0                    # a sum read besides its activation
        biases = draw(st.lists(st.sampled_from((1, 0.5)), max_size=2))
        first = draw(st.booleans())                           # biases before or after the values
        outs = []
        for _ in range(draw(st.integers(1, max_width))):
            pairs = []
            for h in prev:
                kind = draw(st.integers(0, 31))               # (h, w), (h, h2): not a layer's pair,
                w = weight()                                  # or h an array "weight"
                if h in inputs and not array_params:
                    kind = 2
                pairs.append((h, w) if kind == 0 else (h, pick(avail)) if kind == 1 else (w, h))
            own = biases if draw(st.integers(0, 7)) else [2.0]    # a neuron with its own bias
            bias = [(weight(), c) for c in own]
            pairs = bias + pairs if first else pairs + bias
            s = node("wsum", tuple(a for p in pairs for a in p))
            a = draw(st.sampled_from(ACTS)) if mixed else act
            if bare:
                outs.append(s)
                continue
            param = {"leaky_relu": (0.2,), "elu": (1.0,)}.get(a, ())
            outs.append(node(a, (s, *param)))
            if pre and draw(st.booleans()):
                avail.append(node("sin", (s,)))
        avail += outs
        if draw(st.integers(0, 2)) == 0:                      # a skip connection from this layer
            avail.append(node("pow", (draw(st.sampled_from(outs)), 2)))
        for _ in range(draw(st.integers(0, 2))):              # skip connections and shared nodes
            op = draw(st.sampled_from(EXTRA))
            pool = weights[-2:] + avail                       # weights: now and then
            args = {"square": lambda: ("pow", (pick(pool), 2)), "sin": lambda: ("sin", (pick(pool),)),
                    "tanh": lambda: ("tanh", (pick(pool),))}.get(op, lambda: (op, (pick(pool), pick(pool))))()
            avail.append(node(*args))
        if draw(st.integers(0, 5)) == 0:                      # a loss over the layer and targets
            ts = [pick(inputs + avail[:-len(outs)] or inputs) for _ in outs]
            avail.append(node(draw(st.sampled_from(("squared_loss", "cross_entropy"))),
                              tuple(a for p in zip(outs, ts) for a in p)))
    read = {a for _, args in rows.values() for a in args}
    sinks = tuple(n for n in avail if n not in read and n in rows)      # every node matters to out0
    outputs = [node("sum", sinks or (avail[-1],), name="out0")]
    for k in range(1, draw(st.integers(1, 3))):
        chosen = [pick(avail) for _ in range(draw(st.integers(1, 3)))]
        outputs.append(node("sum", tuple(chosen), name=f"out{k}"))
    outputs = list(dict.fromkeys(outputs))
    return sg.Graph({n: rows[n] for n in rows}, outputs=outputs, inputs=inputs + weights)


def feed(graph, seed, batch):
    """Raw inputs ``x*`` as arrays of ``batch`` samples (floats if None), weights as floats."""
    rng = np.random.default_rng(seed)
    return {n: float(rng.uniform(-1.5, 1.5)) if batch is None or not n.startswith("x")
            else rng.uniform(-2, 2, size=batch) for n in graph.inputs}


def neurons(l, h, width=2):
    """A layer of tanh neurons ``tanh(wsum(w{l}_0_j, 1, w{l}_1_j, h_1, ...))``."""
    w = {(i, j): sg.variable(f"w{l}_{i}_{j}") for i in range(len(h) + 1) for j in range(1, width + 1)}
    return [sg.tanh(sg.wsum(w[0, j], 1, *[a for i, hi in enumerate(h, 1) for a in (w[i, j], hi)]))
            for j in range(1, width + 1)]


def skip_net():
    """Two fused tanh layers; ``h1_1`` feeds layer 2 and, by a skip connection, the output."""
    h1 = neurons(1, [sg.variable("x1"), sg.variable("x2")])
    h2 = neurons(2, h1)
    return sg.Graph(h2[0] + h2[1] + h1[0] ** 2)


def test_mean_gradient_skipping_an_input_that_other_nodes_read():
    """Issue 11: with ``wrt`` leaving out the raw inputs, a fused layer skipped their
    adjoints but reported them set, and a node read earlier (``sin(x1)``, processed
    after the layer in reverse) added to None: TypeError."""
    x1, x2 = sg.variable("x1"), sg.variable("x2")
    g = sg.Graph(sg.sum(sg.sin(x1), *neurons(1, [x1, x2])))
    assert lowered(g).layers() and g.nodes.index("x1") < g.nodes.index(g.args(g.outputs[0])[0])
    rng = np.random.default_rng(3)
    feed = {n: rng.normal(size=4) if n.startswith("x") else float(rng.normal()) for n in g.inputs}
    _, adj = reference(g, feed)
    weights = [n for n in g.inputs if n.startswith("w")]
    for _ in range(4):                      # the loop's segments, then compiled ones
        _, mean = sg.numeric.reverse.mean_grad(g, feed, wrt=weights)
        assert mean == pytest.approx({n: float(np.mean(adj[n])) for n in weights}, rel=1e-12, abs=1e-15)


def reference(graph, at, output=None):
    ins, _ = read_inputs(graph, at, {})
    with np.errstate(all="ignore"):                 # nan/inf where the inputs leave a domain
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
    value, mean = sg.numeric.reverse.mean_grad(g, feed)
    for x in g.inputs:
        assert mean[x] == pytest.approx(float(np.mean(adj.get(x, 0.0))), rel=1e-12, abs=1e-15), x
    one = {n: float(np.ravel(v)[0]) for n, v in feed.items()}
    fd = sg.check(g, one)
    assert fd.ok and fd["w1_1_1"].values["reverse"] == pytest.approx(float(np.ravel(adj["w1_1_1"])[0]))


def shapes(graph, output="out0") -> set:
    """The hard shapes a graph has (for the coverage test): a fused layer reading
    exactly the outputs of another block, one of which a plain row reads too
    (``"skip"``), a weighted sum left out of the blocks (``"partial"``), several
    outputs, a fused layer reading a raw input (``"raw"``), a loss over a block
    (``"loss"``)."""
    low = lowered(graph)
    prog = low.blocks()
    found = set()
    kinds = {key: type(op).__name__ for key, op, _ in prog.rows}
    read_plain = {args[0] for key, op, args in prog.rows if kinds[key] == "Column"}   # blocks with a
                                                                                      # member read by a plain row
    inputs = set(low.input_slots)
    for key, op, (wk, xk) in prog.linear:
        if kinds[xk] in ("Linear", "Map") and xk in read_plain:
            found.add("skip")
        if kinds[xk] == "Stack" and inputs & set(next(a for k, _, a in prog.rows if k == xk)):
            found.add("raw")
    if any(type(op) is sg.core.ops.Op and op.linear and low.names[k] not in graph.outputs
           for k, op, _ in prog.rows):
        found.add("partial")
    if "Pairs" in kinds.values():
        found.add("loss")
    if len(graph.outputs) > 1:
        found.add("several outputs")
    return found


@pytest.mark.parametrize("shape", ["skip", "partial", "raw", "several outputs", "loss"])
def test_the_strategy_draws_every_hard_shape(shape):
    g = find(layered_graphs(), lambda g: shape in shapes(g),
             settings=settings(database=None, derandomize=True, max_examples=500, phases=[Phase.generate]))
    assert shape in shapes(g)


def expect_ran(results, graph, at):
    """Each forced tier really ran (read back from the lowering's caches); the
    fused layers whenever the graph has some and their weights are scalars (a raw
    input can be a layer's "weight", as in ``wsum(x1, x1)``: then it is an array)."""
    low = lowered(graph)
    scalar = all(np.ndim(v) == 0 for v in at.values())
    params = [s for _, L, _ in low.layers() for s in L.weights]
    fused = bool(low.layers()) and all(np.ndim(at[low.names[s]]) == 0 for s in params)
    assert results["code"].ran == f"compiled code ({'math' if scalar else 'num'})"
    assert results["loop"].ran == f"instruction loop ({'math' if scalar else 'num'})"
    assert results["fast grad"].ran == ("one compiled function on Python floats" if scalar else "")
    assert results["fused"].ran == ("fused layers + compiled code" if fused else "")
    assert results["fused loop"].ran == ("fused layers + instruction loop" if fused else "")
    assert results["mean gradient"].ran.startswith("fused layers" if fused else "the generic program")


def close(a, b, exact, what):
    a, b = np.asarray(0.0 if a is None else a, float), np.asarray(0.0 if b is None else b, float)
    if exact:
        np.testing.assert_array_equal(a, b, err_msg=what)
    else:
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-12, equal_nan=True, err_msg=what)


def close_all(got, want, names, exact, what):
    """``got[n]`` equals ``want.get(n)`` (None: 0) for every name, in one comparison;
    on failure, the first name that differs is named."""
    a = [np.ravel(0.0 if got[n] is None else got[n]) for n in names]
    b = [np.ravel(np.broadcast_to(0.0 if want.get(n) is None else want[n], np.shape(got[n]))) for n in names]
    if not names:
        return
    try:
        close(np.concatenate(a), np.concatenate(b), exact, what)
    except AssertionError:
        for n, x, y in zip(names, a, b):
            close(x, y, exact, f"{what} {n}")
        raise


@given(graph=layered_graphs(), seed=st.integers(0, 2**16), batch=st.sampled_from((None, 3)),
       chunk=st.sampled_from((3, codegen.CHUNK)), data=st.data())
def test_every_executor_path_equals_the_reference(graph, seed, batch, chunk, data):
    """Compiled code (in one or many chunks) and the loop are bit-exact; the fused
    layers and the mean gradient sum in BLAS order (1e-9)."""
    at = feed(graph, seed, batch)
    output = data.draw(st.sampled_from(graph.outputs + tuple(n for n in graph.nodes if n.startswith("n"))[-3:]))
    ins, shape = read_inputs(graph, at, {})
    vals, adj = reference(graph, at, output)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(codegen, "CHUNK", chunk)
        results = run_paths(graph, ins, output, shape)
    expect_ran(results, graph, at)
    for r in results.values():
        exact = r.name in ("code", "loop", "fast grad")
        for part, want in (("values", vals), ("adjoints", adj)):
            got = getattr(r, part) or {}
            close_all(got, want, list(got), exact, f"{r.name}: {part[:-1]} of")
        for n, v in (r.means or {}).items():
            close(v, np.mean(vals[n] if n == output else adj.get(n, 0.0)), False, f"{r.name}: mean of {n}")
    wrt = data.draw(st.lists(st.sampled_from(graph.inputs), unique=True, max_size=4))
    with np.errstate(all="ignore"):                 # as the public road (lower.execute)
        value, mean = paths._fresh(graph, "code", 0).mean_gradient(paths._batch(ins, shape), output, wrt)
    assert list(mean) == wrt                        # unrequested inputs skipped inside the layers
    for x in wrt:
        close(mean[x], np.mean(0.0 if adj.get(x) is None else adj[x]), False, f"mean adjoint of {x}")


@settings(max_examples=40)
@given(graph=layered_graphs(), seed=st.integers(0, 2**16), batch=st.sampled_from((None, 3)))
def test_the_public_calls_equal_the_reference(graph, seed, batch):
    """What users call (each picks its tier): backward, grad, forward and mean_grad,
    on the cached lowering, first and later calls."""
    at = feed(graph, seed, batch)
    for output in graph.outputs:
        vals, adj = reference(graph, at, output)
        for _ in range(2 + 2):                      # the loop, then compiled code
            fw, bw = graph.forward(at), graph.backward(at, output=output)
            gr = graph.grad(at, output=output)
            close_all(fw, vals, graph.nodes, False, "value of")
            close_all(bw, adj, graph.nodes, False, "adjoint of")
            close_all(gr, adj, graph.inputs, False, "grad")
        value, mean = sg.numeric.reverse.mean_grad(graph, at, output=output)
        close(value, np.mean(vals[output]), False, "mean value")
        for x in graph.inputs:
            close(mean[x], np.mean(0.0 if adj.get(x) is None else adj[x]), False, f"mean adjoint of {x}")
