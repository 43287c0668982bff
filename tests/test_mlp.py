"""sg.mlp: the lecture's MLP as a graph, backprop vs the closed-form B recursion (issue 3)."""

import numpy as np
import pytest
import sympy as sp
from hypothesis import given, strategies as st

import symgrad as sg
from symgrad.nn.mlp import ACTIVATIONS
from symgrad.symbolic.gradient import symbol


def reference_221(w, x, y):
    """A hand-written numpy [2, 2, 1] tanh net with squared loss: loss and gradient."""
    W1 = np.array([[w[f"w1_{i}_{j}"] for j in (1, 2)] for i in range(3)])
    W2 = np.array([[w[f"w2_{i}_1"]] for i in range(3)])
    a1 = W1[0] + x @ W1[1:]
    h1 = np.tanh(a1)
    yhat = W2[0] + h1 @ W2[1:]
    d = yhat - y                                              # B_1
    g2 = np.concatenate([d, h1 * d[0]])
    delta1 = W2[1:, 0] * d[0] * (1 - h1**2)                   # B_3,j
    g1 = np.vstack([delta1, np.outer(x, delta1)])
    grad = {f"w1_{i}_{j}": g1[i, j - 1] for i in range(3) for j in (1, 2)}
    grad.update({f"w2_{i}_1": g2[i] for i in range(3)})
    return 0.5 * float(d @ d), grad


X, Y = np.array([0.5, -1.2]), np.array([0.3])


# -- the graph in lecture notation ---------------------------------------------------
def test_names_follow_the_lecture():
    net = sg.mlp([2, 2, 1], seed=0)
    g = net.graph
    weights = ["w1_0_1", "w1_1_1", "w1_2_1", "w1_0_2", "w1_1_2", "w1_2_2",
               "w2_0_1", "w2_1_1", "w2_2_1"]
    assert g.inputs == ("x1", "x2", *weights, "y1")
    assert list(net.weights) == weights
    assert g.outputs == ("loss",)
    # exactly the lecture's nodes: the x's, weights, targets, a, h, yhat and the loss
    assert set(g.nodes) == set(g.inputs) | {"a1_1", "h1_1", "a1_2", "h1_2", "yhat1", "loss"}
    for name, op in [("a1_1", "wsum"), ("h1_1", "tanh"), ("h1_2", "tanh"), ("yhat1", "wsum"),
                     ("loss", "squared_loss")]:
        assert g.op(name) == op
    # the bias is the pair (w, 1): a^1_1 = w^1_{0,1} 1 + w^1_{1,1} x_1 + w^1_{2,1} x_2
    assert g.args("a1_1") == ("w1_0_1", 1, "w1_1_1", "x1", "w1_2_1", "x2")
    assert g.args("yhat1") == ("w2_0_1", 1, "w2_1_1", "h1_1", "w2_2_1", "h1_2")
    assert g.args("h1_1") == ("a1_1",)
    assert g.args("loss") == ("yhat1", "y1")


def test_weights_are_inputs_and_deeper_nets_are_named():
    net = sg.mlp([3, 4, 2, 2], activation=["relu", "leaky_relu"], output_activation="sigmoid")
    g = net.graph
    assert len(net.weights) == 4 * 4 + 2 * 5 + 2 * 3
    assert set(net.weights) <= set(g.inputs)
    assert g.op("h1_4") == "relu" and g.op("h2_2") == "leaky_relu" and g.op("yhat2") == "sigmoid"
    assert g.args("h2_1") == ("a2_1", 0.01)
    assert g.args("a3_2")[0] == "w3_0_2"
    assert {"y1", "y2", "x3"} <= set(g.inputs)


def test_losses_as_graphs():
    g = sg.mlp([2, 3], activation="tanh", loss=None).graph
    assert g.outputs == ("yhat1", "yhat2", "yhat3") and "y1" not in g.inputs
    g = sg.mlp([2, 1], loss="cross_entropy").graph
    assert g.op("loss") == "cross_entropy" and g.args("loss") == ("yhat1", "y1")
    g = sg.mlp([2, 3], loss="cross_entropy").graph
    assert g.args("loss") == ("yhat1", "y1", "yhat2", "y2", "yhat3", "y3")
    g = sg.mlp([2, 2], output_activation="sigmoid").graph     # a non-identity output keeps its a
    assert g.op("yhat1") == "sigmoid" and g.args("yhat1") == ("a1_1",)


# -- numbers -------------------------------------------------------------------------
def test_221_matches_a_hand_written_numpy_reference():
    net = sg.mlp([2, 2, 1], activation="tanh", loss="squared", seed=3)
    loss, grad = reference_221(net.weights, X, Y)
    assert net.forward(X, Y)["loss"] == pytest.approx(loss, rel=1e-12)
    bp = net.backprop(X, Y)
    cf = net.closed_form_values(X, Y)
    for w in net.weights:
        assert bp[w] == pytest.approx(grad[w], rel=1e-12, abs=1e-15)
        assert cf[w] == pytest.approx(grad[w], rel=1e-12, abs=1e-15)


def test_pinned_numbers_with_given_weights():
    names = list(sg.mlp([2, 2, 1]).weights)
    net = sg.mlp([2, 2, 1], weights={n: 0.1 * k for k, n in enumerate(names, 1)})
    fw = net.forward([1.0, 2.0], [1.0])
    assert fw["a1_1"] == pytest.approx(0.1 + 0.2 + 0.6)
    assert fw["h1_1"] == pytest.approx(np.tanh(0.9))
    assert fw["yhat1"] == pytest.approx(0.7 + 0.8 * np.tanh(0.9) + 0.9 * np.tanh(0.4 + 0.5 + 1.2))
    grad = net.backprop([1.0, 2.0], [1.0])
    assert grad["w2_0_1"] == pytest.approx(fw["yhat1"] - 1.0)
    assert grad["w2_1_1"] == pytest.approx((fw["yhat1"] - 1.0) * np.tanh(0.9))


def test_closed_form_is_the_lecture_B_recursion():
    cf = sg.mlp([2, 2, 1]).closed_form_gradient()
    s = lambda n: symbol(n)
    B1 = s("yhat1") - s("y1")
    for i in (1, 2):
        assert sp.simplify(cf[f"w2_{i}_1"] - B1 * s(f"h1_{i}")) == 0
        for j in (1, 2):                                     # B_3,j x_i
            B3 = B1 * s(f"w2_{j}_1") * (1 - sp.tanh(s(f"a1_{j}")) ** 2)
            assert sp.simplify(cf[f"w1_{i}_{j}"] - B3 * s(f"x{i}")) == 0
    assert sp.simplify(cf["w2_0_1"] - B1) == 0
    names = {str(x) for e in cf.values() for x in e.free_symbols}
    assert names <= {"x1", "x2", "y1", "yhat1", "a1_1", "a1_2", "h1_1", "h1_2",
                     "w2_1_1", "w2_2_1"}


def test_closed_form_losses():
    cf = sg.mlp([1, 2], loss="cross_entropy").closed_form_gradient()
    z1, z2, y1 = symbol("yhat1"), symbol("yhat2"), symbol("y1")
    want = sp.exp(z1) / (sp.exp(z1) + sp.exp(z2)) - y1
    assert sp.simplify(cf["w1_0_1"] - want) == 0
    cf = sg.mlp([1, 1], loss="cross_entropy").closed_form_gradient()
    assert sp.simplify(cf["w1_0_1"] - (1 / (1 + sp.exp(-z1)) - y1)) == 0


def test_batched_backprop_is_the_mean_of_per_sample_gradients():
    net = sg.mlp([3, 4, 2], activation="sigmoid", seed=5)
    rng = np.random.default_rng(1)
    xs, ys = rng.normal(size=(6, 3)), rng.normal(size=(6, 2))
    batch = net.backprop(xs, ys)
    per = [net.backprop(x, y) for x, y in zip(xs, ys)]
    for w in net.weights:
        assert batch[w] == pytest.approx(np.mean([p[w] for p in per]), rel=1e-12, abs=1e-15)
    assert net.mean_loss(xs, ys) == pytest.approx(np.mean([net.mean_loss(x, y) for x, y in zip(xs, ys)]))
    cf = net.closed_form_values(xs, ys)
    assert all(cf[w] == pytest.approx(batch[w], rel=1e-10, abs=1e-14) for w in net.weights)


def test_cross_entropy_values_and_stability():
    net = sg.mlp([1, 1], loss="cross_entropy", weights={"w1_0_1": 0.0, "w1_1_1": 1.0})
    z = 0.7
    p = 1 / (1 + np.exp(-z))
    assert net.mean_loss([z], [1.0]) == pytest.approx(-np.log(p))
    assert net.mean_loss([z], [0.0]) == pytest.approx(-np.log(1 - p))
    big = net.forward([1000.0], [0.0])
    assert big["loss"] == pytest.approx(1000.0) and big.nonfinite == ()
    assert net.backprop([1000.0], [1.0])["w1_1_1"] == pytest.approx(0.0)
    soft = sg.mlp([1, 3], loss="cross_entropy", weights={
        "w1_0_1": 0.0, "w1_1_1": 1.0, "w1_0_2": 0.5, "w1_1_2": -1.0, "w1_0_3": 0.0, "w1_1_3": 2.0})
    logits = np.array([800.0, 0.5 - 800.0, 1600.0])
    fw = soft.forward([800.0], [0.0, 0.0, 1.0])
    lse = logits.max() + np.log(np.exp(logits - logits.max()).sum())
    assert fw["loss"] == pytest.approx(lse - 1600.0, abs=1e-9) and fw.nonfinite == ()


def test_check_report_agrees_three_ways():
    report = sg.mlp([2, 2, 1], seed=0).check(X, Y)
    assert report.ok and report.methods == ("backprop", "closed form", "finite differences")
    assert len(report.rows) == 9 and report.max_error < 1e-6
    text = str(report)
    assert text.startswith("MLP [2, 2, 1] gradient check: ok") and "w1_0_1" in text
    batch = sg.mlp([2, 2, 1], seed=0).check(np.vstack([X, -X]), np.vstack([Y, Y]))
    assert batch.ok and "mean over 2 samples" in batch.title


def test_relu_kink_in_a_net_is_noted():
    w = {n: 0.0 for n in sg.mlp([1, 1, 1]).weights}
    w.update({"w1_1_1": 1.0, "w2_1_1": 1.0})
    net = sg.mlp([1, 1, 1], activation="relu", weights=w)
    report = net.check([0.0], [1.0])
    assert any("relu" in n and "h1_1" in n for n in report.notes)
    assert report.ok
    assert net.backprop([0.0], [1.0])["w1_1_1"] == 0.0          # relu'(0) = 0
    assert net.closed_form_values([0.0], [1.0])["w1_0_1"] == 0.0


def test_seeded_initialisation():
    a, b = sg.mlp([3, 5, 1], seed=1), sg.mlp([3, 5, 1], seed=1)
    assert a.weights == b.weights and a.weights != sg.mlp([3, 5, 1], seed=2).weights
    big = sg.mlp([200, 300, 1], activation="relu", seed=0).weights
    layer1 = np.array([v for k, v in big.items() if k.startswith("w1_")])
    assert layer1.std() == pytest.approx(np.sqrt(2 / 201), rel=0.05)            # He
    xavier = sg.mlp([200, 300, 1], activation="tanh", seed=0).weights
    layer1 = np.array([v for k, v in xavier.items() if k.startswith("w1_")])
    assert layer1.std() == pytest.approx(np.sqrt(2 / 501), rel=0.05)            # Xavier


def test_train_reduces_the_loss_on_xor():
    X4 = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], float)
    Y4 = np.array([[0], [1], [1], [0]], float)
    net = sg.mlp([2, 4, 1], activation="tanh", seed=0)
    before = dict(net.weights)
    hist = net.train(X4, Y4, lr=0.3, steps=300, progress=False)
    assert len(hist) == 301 and hist[-1] < 0.3 * hist[0]
    assert net.weights != before
    assert hist[-1] == pytest.approx(net.mean_loss(X4, Y4))


# -- errors --------------------------------------------------------------------------
@pytest.mark.parametrize("kwargs, match", [
    (dict(sizes=[2]), "at least two positive ints"),
    (dict(sizes=[2, 0, 1]), "positive ints"),
    (dict(sizes="21"), "list"),
    (dict(sizes=[2, 2, 1], activation="swish"), "'swish'.*'identity', 'sigmoid', 'tanh'"),
    (dict(sizes=[2, 2, 1], activation=["tanh", "relu"]), "2 name.*1 hidden layer"),
    (dict(sizes=[2, 1], output_activation="softmax"), "'softmax'.*'elu'"),
    (dict(sizes=[2, 1], loss="hinge"), "unknown loss 'hinge'.*'squared', 'cross_entropy', None"),
    (dict(sizes=[2, 1], loss="cross_entropy", output_activation="sigmoid"), "logits"),
])
def test_bad_configurations_are_graph_errors(kwargs, match):
    with pytest.raises(sg.GraphError, match=match):
        sg.mlp(**kwargs)


def test_bad_weights_and_data_are_input_errors():
    good = sg.mlp([1, 1]).weights
    with pytest.raises(sg.InputError, match="missing w1_1_1"):
        sg.mlp([1, 1], weights={"w1_0_1": 1.0})
    with pytest.raises(sg.InputError, match="unknown 'w9_9_9'"):
        sg.mlp([1, 1], weights={**good, "w9_9_9": 1.0})
    with pytest.raises(sg.InputError, match="real number"):
        sg.mlp([1, 1], weights={**good, "w1_0_1": "a"})
    net = sg.mlp([2, 1])
    with pytest.raises(sg.InputError, match=r"x must have 2 value\(s\) per sample"):
        net.backprop([1.0, 2.0, 3.0], [1.0])
    with pytest.raises(sg.InputError, match="needs targets"):
        net.backprop([1.0, 2.0])
    with pytest.raises(sg.InputError, match="sample"):
        net.backprop(np.ones((3, 2)), np.ones((2, 1)))
    with pytest.raises(sg.InputError, match="no loss"):
        sg.mlp([2, 1], loss=None).forward([1.0, 2.0], [1.0])
    with pytest.raises(sg.GraphError, match="no scalar"):
        sg.mlp([2, 2], loss=None).backprop([1.0, 2.0])
    with pytest.raises(sg.InputError, match="steps"):
        net.train([[1.0, 2.0]], [[1.0]], steps=-1)


def test_no_loss_single_output_differentiates_the_prediction():
    net = sg.mlp([2, 3, 1], activation="elu", loss=None, seed=4)
    assert net.graph.outputs == ("yhat1",)
    assert net.check([0.3, -0.2]).ok


# -- properties ------------------------------------------------------------------------
@st.composite
def nets(draw):
    depth = draw(st.integers(0, 2))
    sizes = draw(st.lists(st.integers(1, 3), min_size=depth + 2, max_size=depth + 2))
    acts = draw(st.lists(st.sampled_from(ACTIVATIONS), min_size=depth, max_size=depth))
    loss = draw(st.sampled_from(["squared", "cross_entropy", None]))
    out_act = "identity" if loss == "cross_entropy" else draw(st.sampled_from(ACTIVATIONS))
    if loss is None:
        sizes[-1] = 1
    return sg.mlp(sizes, activation=acts, output_activation=out_act, loss=loss,
                  seed=draw(st.integers(0, 2**16)))


@given(net=nets(), data=st.data())
def test_backprop_closed_form_and_finite_differences_agree(net, data):
    n = data.draw(st.integers(1, 3))
    floats = st.floats(-2, 2).filter(lambda v: abs(v) > 1e-3)
    x = np.array(data.draw(st.lists(st.lists(floats, min_size=net.sizes[0], max_size=net.sizes[0]),
                                    min_size=n, max_size=n)))
    y = None if net.loss is None else \
        np.array(data.draw(st.lists(st.lists(st.sampled_from([0.0, 1.0]), min_size=net.sizes[-1],
                                             max_size=net.sizes[-1]), min_size=n, max_size=n)))
    report = net.check(x, y, rtol=1e-4)
    assert report.ok, str(report)
    bp, cf = net.backprop(x, y), net.closed_form_values(x, y)
    for w in net.weights:
        assert cf[w] == pytest.approx(bp[w], rel=1e-9, abs=1e-12)


# -- the examples run ----------------------------------------------------------------
def _example(name):
    import importlib.util
    import pathlib
    path = pathlib.Path(__file__).resolve().parent.parent / "examples" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(f"example_{name}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("name, args", [("mlp_check", ()), ("linear_collapse", ()),
                                        ("parity", (40,))])
def test_examples_run(name, args, capsys, monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)                       # parity may save a plot
    _example(name).main(*args)
    out = capsys.readouterr().out
    assert {"mlp_check": "gradient check: ok", "linear_collapse": "one linear unit",
            "parity": "accuracy"}[name] in out
