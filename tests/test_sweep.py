"""The chain rule, written once (issue 16): every reverse pass is an
interpretation of :func:`symgrad.core.sweep.sweep`, and they all agree."""

from __future__ import annotations

import numpy as np
import pytest
import sympy as sp
from hypothesis import given, settings, strategies as st

import symgrad as sg
from symgrad.numeric import codegen
from symgrad.numeric import lower
from symgrad.numeric.codegen import code_grad, code_reverse, loop_reverse, needed
from symgrad.errors import DomainError
from symgrad.teach.practice import edge_pass, local_values
from symgrad.numeric.reference import adjoints, evaluate
from symgrad.strategies import graphs, points
from symgrad.core.sweep import Interpretation, Numbers, sweep

from corpus import CORPUS


class Recorder(Interpretation):
    """Records each step the sweep takes: (consumer, position, argument, first?)."""

    def __init__(self):
        self.steps = []

    def partials(self, name, op, args):
        return ["d"] * len(args)

    def term(self, seed, d, name, pos, arg):
        return (name, pos, arg)

    def first(self, term, arg):
        self.steps.append(term + (True,))
        return [term]

    def add(self, total, term, arg):
        self.steps.append(term + (False,))
        return total + [term]


def test_a_shared_node_sums_one_term_per_consumer():
    """The diamond: ``a`` feeds ``b`` twice and ``c`` once, so its adjoint has
    three terms, the first one starting it; rows the output does not reach are
    never visited."""
    g = sg.parse("a = sin(x)\nb = a * a\nc = exp(a)\nf = b + c\nunused = cos(x)")
    rec = Recorder()
    adj = sweep(g.program, "f", rec, ["seed"])
    assert [s for s in rec.steps if s[2] == "a"] == [("c", 0, "a", True), ("b", 0, "a", False),
                                                     ("b", 1, "a", False)]
    assert "unused" not in adj and all(s[0] != "unused" for s in rec.steps)


def test_seeds_continue_a_sweep_from_adjoints_computed_elsewhere():
    """Sweeping the lower half of a program from the upper half's adjoints (as
    between fused layers) gives the adjoints of one whole sweep."""
    g = sg.parse("a = x*y\nb = a + x\nc = b * a\nd = sin(c) + c\nf = d * b - a")
    vals = evaluate(g, {"x": np.float64(0.3), "y": np.float64(0.8)})
    whole = sweep(g.program, "f", Numbers(vals), np.float64(1.0))
    k = len(g.program) // 2
    upper = sweep(g.program[k:], "f", Numbers(vals), np.float64(1.0))
    above = {name for name, _, _ in g.program[k:]}
    seeds = {n: v for n, v in upper.items() if n not in above}
    assert seeds and set(seeds) != {"x", "y"}
    lower_half = sweep(g.program[:k], None, Numbers(vals), None, seeds=seeds)
    for n, _, _ in g.program[:k]:
        assert lower_half[n] == whole[n]
    assert lower_half["x"] == whole["x"] and lower_half["y"] == whole["y"]


@pytest.mark.parametrize("case", CORPUS, ids=[c[0] for c in CORPUS])
def test_every_numeric_interpretation_agrees_on_the_corpus(case):
    """Reference adjoints, the graded-edge pass, compiled lines, loop
    instructions and the one-function grad: one sweep, bit for bit."""
    _, text, point = case
    g = sg.parse(text)
    out = g.outputs[0]
    ins = {x: np.float64(v) for x, v in point.items()}
    vals = evaluate(g, ins)
    ref = adjoints(g, vals, out)
    edges = edge_pass(g, vals, out)
    low = lower.lowered(g)
    o = low.slot[out]
    for build in (code_reverse, loop_reverse):
        V, G = [float(vals[n]) for n in low.names], [None] * len(low.names)
        G[o] = 1.0
        build(needed(low.rows, o), lower._NS["math"])(V, G)
        for n, s in low.slot.items():
            assert (G[s] is None) == (n not in ref)
            if G[s] is not None:
                assert G[s] == ref[n], (build.__name__, n)
    fast = code_grad(low, o, lower._NS["math"])({x: float(v) for x, v in point.items()})
    for x in g.inputs:
        assert fast[x] == float(ref.get(x, 0.0))
        assert edges.get(x, 0.0) == pytest.approx(float(ref.get(x, 0.0)), rel=1e-12)


@settings(max_examples=40, deadline=None)
@given(data=st.data())
def test_symbolic_interpretation_evaluates_to_the_numeric_one(data):
    g = data.draw(graphs(max_depth=3))
    at = data.draw(points(g))
    out = g.outputs[0]
    vals = evaluate(g, {x: np.float64(v) for x, v in at.items()})
    ref = adjoints(g, vals, out)
    sym = sg.symbolic.gradient.symbolic_adjoints(g, out)
    env = {sg.symbolic.gradient.symbol(n): float(v) for n, v in vals.items()}
    for n, e in sym.items():
        got = float(e.subs(env)) if e.free_symbols else float(e)
        assert got == pytest.approx(float(ref.get(n, 0.0)), rel=1e-9, abs=1e-9), n


def test_code_grad_aliases_a_partial_of_one_instead_of_copying():
    """``x + y``: both adjoints are the output's own variable; ``x - y`` negates
    once; the loop's instructions decide "first contribution" at build time."""
    g = sg.parse("x + y")
    low = lower.lowered(g)
    src = code_grad(low, low.slot[g.outputs[0]], lower._NS["math"]).source
    assert "return {K[0]: g2, K[1]: g2}" in src and src.count("g2") == 3
    src = code_grad(lower.lowered(sg.parse("x - y")), 2, lower._NS["math"]).source
    assert "g1 = -g2" in src
    square = lower.lowered(sg.parse("x * x"))
    build = codegen._Instructions(lower._NS["math"])
    codegen._segment(needed(square.rows, 1), build, None)
    (o, a, f, add, slots, edges), = build.prog
    assert (o, a, slots) == (1, -1, (0, 0)) and [(e[0], e[2]) for e in edges] == [(0, False), (0, True)]


def test_code_reverse_in_chunks_equals_one_chunk(monkeypatch):
    g = sg.parse("a = x*y\nb = a + x\nc = b * a\nd = sin(c) + c\nf = d * b - a")
    low = lower.lowered(g)
    rows = needed(low.rows, low.slot["f"])
    results = []
    for chunk in (2, 1000):
        monkeypatch.setattr(codegen, "CHUNK", chunk)
        V, G = [None] * len(low.names), [None] * len(low.names)
        V[low.slot["x"]], V[low.slot["y"]] = 0.3, 0.8
        codegen.code_forward(low.rows, lower._NS["math"])(V)
        G[low.slot["f"]] = 1.0
        code_reverse(rows, lower._NS["math"])(V, G)
        results.append(G)
    assert results[0] == results[1]


def test_strict_reference_names_the_node_and_the_argument():
    g = sg.parse("sqrt(x) * y")
    vals = evaluate(g, {"x": np.float64(0.0), "y": np.float64(2.0)})
    assert np.isinf(adjoints(g, vals, g.outputs[0])["x"])
    with pytest.raises(DomainError, match=r"node 'a' \(sqrt\).*with respect to 'x'"):
        adjoints(g, vals, g.outputs[0], strict=True)


def test_graded_edges_change_one_edge_only():
    """``edge_pass`` with an edit: dropping the one path from ``x`` through ``b``
    leaves the path through ``c``; an edit at a literal's position changes nothing."""
    g = sg.parse("a = sin(x)\nb = a * 3\nc = exp(a)\nf = b + c")
    vals = dict(g.forward(x=0.7))
    loc = local_values(g, vals)
    full = edge_pass(g, vals, "f", locals_=loc)
    dropped = edge_pass(g, vals, "f", (("b", 0), lambda d: 0.0), loc)
    assert dropped["a"] == pytest.approx(full["a"] - 3.0)
    assert edge_pass(g, vals, "f", (("b", 1), lambda d: 0.0), loc) == full


def test_symbolic_sweep_keeps_the_lecture_forms():
    g = sg.parse("sqrt(x**2 + exp(x**2)) + cos(x**2 + exp(x**2))")
    assign, grad = g.symbolic_gradient(shared=True)
    c, d, adj_c, adj_a, x = (sg.symbolic.gradient.symbol(n) for n in ("c", "d", "adj_c", "adj_a", "x"))
    assert (adj_c, -sp.sin(c) + 1 / (2 * d)) in assign
    assert grad == {"x": 2 * adj_a * x}
