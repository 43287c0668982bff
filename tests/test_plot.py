"""symgrad.plot: the lecture's pictures, checked by their plotted data and files."""

import itertools

import numpy as np
import pytest

pytest.importorskip("matplotlib")

import symgrad as sg  # noqa: E402
from symgrad import plot  # noqa: E402
from symgrad.core.ops import NUM, OPS  # noqa: E402

XOR_X = [[0, 0], [0, 1], [1, 0], [1, 1]]
XOR_Y = [[0], [1], [1], [0]]


@pytest.fixture(autouse=True)
def _close():
    yield
    import matplotlib.pyplot as plt
    plt.close("all")


def test_activation_slide_plots_the_op_tables_values_and_derivatives():
    fig = plot.activations()
    assert [ax.get_title() for ax in fig.axes if ax.get_visible()] == list(plot.LECTURE_ACTIVATIONS)
    for name, (x, y, d) in fig.curves.items():
        op = OPS[name]
        extra = [v for _, v in op.params]
        assert np.array_equal(y, np.broadcast_to(op.apply(NUM, x, *extra), x.shape))
        # the derivative curve is the derivative of the value curve (away from kinks)
        h = x[1] - x[0]
        fd = (y[2:] - y[:-2]) / (2 * h)
        smooth = np.abs(x[1:-1]) > 2 * h
        assert np.allclose(d[1:-1][smooth], fd[smooth], atol=1e-3), name
    x, y, d = fig.curves["relu"]
    assert d[x == 0.0].tolist() == [0.0]                     # relu'(0) = 0, the convention
    x, y, d = fig.curves["leaky_relu"]
    assert d[x == 0.0].tolist() == [0.01]                    # leaky_relu'(0) = slope


@pytest.mark.parametrize("suffix,magic", [(".png", b"\x89PNG"), (".svg", b"<?xml"), (".pdf", b"%PDF")])
def test_pictures_are_written_in_the_format_of_the_suffix(tmp_path, suffix, magic):
    path = tmp_path / f"curve{suffix}"
    plot.loss_curve([3.0, 2.0, 1.5], path=path)
    assert path.read_bytes().startswith(magic)


def test_bad_arguments_are_clear_errors(tmp_path):
    with pytest.raises(sg.InputError, match="must end in"):
        plot.loss_curve([1.0], path=tmp_path / "x.jpg")
    with pytest.raises(sg.InputError, match="one-argument ops"):
        plot.activations(["add"])
    with pytest.raises(sg.InputError, match="non-empty"):
        plot.loss_curve([])
    with pytest.raises(sg.InputError, match="list of losses"):
        plot.loss_curve("abc")
    net = sg.mlp([3, 2, 1])
    with pytest.raises(sg.InputError, match="2 inputs and 1 output"):
        plot.decision_boundary(net, [[0, 0, 0]], [[1]])
    with pytest.raises(sg.InputError, match="one target per sample"):
        plot.decision_boundary(sg.mlp([2, 1]), [[0, 0], [1, 1]], [[1]])
    with pytest.raises(sg.InputError, match="must be numbers"):
        plot.decision_boundary(sg.mlp([2, 1]), [[0, "a"]], [[1]])
    with pytest.raises(sg.InputError, match="dims"):
        plot.loss_landscape(net, [[0, 0, 0]], [[1]], dims=3)
    with pytest.raises(sg.InputError, match="needs a net with a loss"):
        plot.loss_landscape(sg.mlp([2, 1], loss=None), [[0, 0]], None)
    with pytest.raises(sg.InputError):
        plot.loss_landscape(net, [[0, 0]], [[1]])            # x has 2 values, the net wants 3


def test_training_curve_uses_the_history_and_a_log_scale_when_it_spans_decades():
    net = sg.mlp([2, 3, 1], seed=1)
    history = net.train(XOR_X, XOR_Y, lr=0.2, steps=20, progress=False)
    fig = plot.loss_curve(history)
    assert fig.axes[0].lines[0].get_ydata().tolist() == history
    assert fig.axes[0].get_yscale() == "linear"
    assert plot.loss_curve([100.0, 1.0, 0.01]).axes[0].get_yscale() == "log"


def test_loss_landscape_is_centred_on_the_net_and_filter_normalised():
    net = sg.mlp([2, 3, 1], seed=0)
    before = dict(net.weights)
    fig = plot.loss_landscape(net, XOR_X, XOR_Y, steps=7, span=0.5)
    alphas, losses = fig.landscape
    assert alphas[3] == 0.0 and losses[3] == pytest.approx(net.mean_loss(XOR_X, XOR_Y), rel=1e-12)
    assert net.weights == before                              # the net is not changed
    fig2 = plot.loss_landscape(net, XOR_X, XOR_Y, dims=2, steps=5, span=0.5)
    (a, b), grid = fig2.landscape
    assert grid.shape == (5, 5) and grid[2, 2] == pytest.approx(losses[3], rel=1e-12)
    assert np.all(np.isfinite(grid))


def test_filter_normalised_directions_have_each_filters_norm():
    net = sg.mlp([3, 4, 2], seed=2)
    d = plot.random_direction(net, seed=5)
    filters = {}
    for n in net.weights:
        filters.setdefault((n.split("_")[0], n.split("_")[2]), []).append(n)
    for names in filters.values():
        assert len({n.split("_")[0] + n.split("_")[2] for n in names}) == 1   # one neuron's weights
        w = np.array([net.weights[n] for n in names])
        r = np.array([d[n] for n in names])
        assert np.linalg.norm(r) == pytest.approx(np.linalg.norm(w), rel=1e-12)


def test_xor_decision_boundary_separates_the_trained_classes():
    net = sg.mlp([2, 4, 1], activation="tanh", loss="cross_entropy", seed=1)
    net.train(XOR_X, XOR_Y, lr=0.5, steps=400, progress=False)
    fig = plot.decision_boundary(net, XOR_X, XOR_Y, resolution=41, margin=0.0)
    gx, gy, score = fig.grid
    for (x1, x2), (t,) in zip(XOR_X, XOR_Y):
        k = np.argmin(np.abs(gx[0] - x1)), np.argmin(np.abs(gy[:, 0] - x2))
        assert (score[k[1], k[0]] > 0.5) == bool(t)
    assert score.min() >= 0.0 and score.max() <= 1.0


@pytest.mark.parametrize("n", range(2, 8))
def test_parity_nets_are_exact_and_linear_in_size(n):
    net = plot.parity_net(n)
    X = np.array(list(itertools.product([0, 1], repeat=n)), float)
    assert np.array_equal(np.asarray(net.forward(X)["yhat1"]), X.sum(axis=1) % 2)
    sizes = plot.parity_sizes(n)
    assert sizes["shallow units"] == 2 ** (n - 1)
    assert sizes["deep units"] <= 3 * n                       # 2 (n - 1) XOR units + pass-throughs


def test_parity_plot_and_universal_approximation():
    fig = plot.parity(bits=(2, 4, 8))
    assert [r["n"] for r in fig.sizes] == [2, 4, 8]
    fig = plot.universal_approximation(widths=(1, 8), steps=300, samples=32)
    assert fig.fits[8] < fig.fits[1]                          # wider fits better
