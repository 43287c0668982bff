"""Graphs, Nets, exercises and derivations pickle and deepcopy (issue 14)."""

import copy
import pickle

import numpy as np
import pytest
from hypothesis import given, settings

import symgrad as sg
from corpus import CORPUS, LECTURE
from symgrad.strategies import graphs

PROTOCOLS = range(2, pickle.HIGHEST_PROTOCOL + 1)


@pytest.mark.parametrize("name, text, at", CORPUS, ids=[c[0] for c in CORPUS])
def test_graph_pickles_and_still_works(name, text, at):
    g = sg.parse(text)
    g.forward(at)                                   # fill the caches (lowered program, nx view)
    g.nx
    for proto in PROTOCOLS:
        h = pickle.loads(pickle.dumps(g, protocol=proto))
        assert h == g and hash(h) == hash(g) and h.nodes == g.nodes
        assert h.grad(at) == g.grad(at)
        assert h.forward(at)[h.outputs[0]] == g.forward(at)[g.outputs[0]]


@settings(max_examples=40)
@given(graphs(variables=("x", "y"), max_depth=4))
def test_random_graphs_pickle(g):
    assert pickle.loads(pickle.dumps(g)) == g


def test_copies_of_an_immutable_graph_are_the_graph():
    g = sg.parse(LECTURE)
    g.forward(x=2.0)                                # the cache holds a lock-guarded program
    assert copy.deepcopy(g) is g and copy.copy(g) is g
    holder = {"g": g, "list": [g]}
    deep = copy.deepcopy(holder)
    assert deep["g"] is g and deep["list"][0] is g


def test_literal_bits_survive_pickle():
    rows = {"a": ("mul", ("x", -0.0)), "b": ("pow", ("a", 2)), "f": ("add", ("b", float("nan")))}
    g = sg.Graph(rows)
    h = pickle.loads(pickle.dumps(g))
    assert h == g and np.signbit(h.args("a")[1]) and type(h.args("b")[1]) is int


def test_net_pickles():
    net = sg.mlp([2, 2, 1], activation="tanh", seed=0)
    back = pickle.loads(pickle.dumps(net))
    assert back.graph == net.graph and back.weights == net.weights
    x, y = [0.3, -0.7], [1.0]
    assert back.backprop(x=x, y=y) == net.backprop(x=x, y=y)
    assert copy.deepcopy(net).backprop(x=x, y=y) == net.backprop(x=x, y=y)


def test_exercise_pickles():
    ex = sg.exercise(kind="backward", seed=7)
    back = pickle.loads(pickle.dumps(ex))
    assert back.prompt_text() == ex.prompt_text() and back.answers.keys() == ex.answers.keys()
    assert back.grade(ex.answers).all_correct
    assert copy.deepcopy(ex).prompt_text() == ex.prompt_text()


def test_derivation_pickles():
    """A derivation holds the table's Op records: they pickle by name."""
    d = sg.derive(sg.parse(LECTURE), x=2.0)
    back = pickle.loads(pickle.dumps(d))
    assert back.text() == d.text() and back.latex() == d.latex()
    assert copy.deepcopy(d).text() == d.text()
