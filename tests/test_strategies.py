"""The hypothesis strategies offered to users: valid outputs, validated arguments."""

import math

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st
from hypothesis.errors import InvalidArgument

import symgrad as sg
from symgrad import strategies as S
from symgrad.nn.mlp import Net

FAST = settings(max_examples=30, deadline=None)


def test_all_is_checked():
    for name in S.__all__:
        assert hasattr(S, name), name


@FAST
@given(text=S.expressions(variables=("x", "y"), max_depth=3))
def test_expressions_parse_and_use_the_variables(text):
    g = sg.parse(text)
    assert set(g.inputs) <= {"x", "y"} and g.inputs


@FAST
@given(text=S.expressions(variables=("u",), ops=("add", "mul", "sin"), max_depth=3, shared=False))
def test_expressions_respect_the_op_set(text):
    g = sg.parse(text)
    assert {op.name for _, op, _ in g.program} <= {"add", "mul", "sin"}


@FAST
@given(data=st.data())
def test_points_are_smooth(data):
    g = data.draw(S.graphs(variables=("x",), max_depth=3))
    at = data.draw(S.points(g))
    assert S.smooth_at(g, at)
    assert all(math.isfinite(v) for v in g.backward(at).values())


@FAST
@given(data=st.data())
def test_reverse_mode_matches_finite_differences_on_drawn_graphs(data):
    """The documented use: test a gradient function against symgrad."""
    g = data.draw(S.graphs(variables=("x", "y"), max_depth=3))
    at = data.draw(S.points(g))
    assert sg.check(g, at, rtol=1e-4).ok


@settings(max_examples=20, deadline=None)
@given(data=st.data())
def test_mlps_are_valid_nets(data):
    net = data.draw(S.mlps(max_layers=2, max_width=3, activations=("tanh", "sigmoid")))
    assert isinstance(net, Net)
    assert 2 <= len(net.sizes) <= 4 and max(net.sizes[:-1]) <= 3
    assert set(net.activations[:-1]) <= {"tanh", "sigmoid"}
    x, y = data.draw(S.samples(net))
    assert len(x) == net.sizes[0]
    grad = net.backprop(x, y)
    assert set(grad) == set(net.weights) and all(np.isfinite(v) for v in grad.values())
    assert net.check(x, y, rtol=1e-4).ok


@settings(max_examples=20, deadline=None)
@given(net=S.mlps(max_layers=1, losses=("cross_entropy",), max_outputs=3), data=st.data())
def test_cross_entropy_samples_are_one_hot(net, data):
    x, y = data.draw(S.samples(net))
    assert net.loss == "cross_entropy"
    assert set(y) <= {0.0, 1.0} and (len(y) == 1 or sum(y) == 1)


@given(net=S.mlps(max_layers=0, losses=(None,)))
@settings(max_examples=5, deadline=None)
def test_mlps_without_loss(net):
    assert net.loss is None and net.sizes[-1] == 1


@pytest.mark.parametrize("factory, kwargs", [
    (S.expressions, dict(variables="xy")),
    (S.expressions, dict(variables=("x", "sin"))),
    (S.expressions, dict(ops=("nope",))),
    (S.expressions, dict(max_depth=-1)),
    (S.mlps, dict(max_layers=-1)),
    (S.mlps, dict(max_layers=99)),
    (S.mlps, dict(max_width=0)),
    (S.mlps, dict(activations=("swish",))),
    (S.mlps, dict(activations="tanh")),
    (S.mlps, dict(losses=("hinge",))),
    (S.mlps, dict(max_outputs=0)),
])
def test_invalid_arguments(factory, kwargs):
    with pytest.raises(InvalidArgument):
        factory(**kwargs)


def test_points_and_samples_validate():
    with pytest.raises(InvalidArgument):
        S.points("x**2")
    with pytest.raises(InvalidArgument):
        S.points(sg.parse("x**2"), low=1, high=0)
    with pytest.raises(InvalidArgument):
        S.samples(sg.parse("x"))
    with pytest.raises(InvalidArgument):
        S.samples(sg.mlp([1, 1]), low=float("nan"))



def test_import_symgrad_does_not_import_hypothesis():
    import subprocess
    import sys
    code = "import symgrad, sys; print('hypothesis' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
