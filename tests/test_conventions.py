"""docs/conventions.md is generated from the op table and every row holds."""

import math
import pathlib

import numpy as np
import pytest

import sympy as sp

import symgrad as sg
from symgrad.numeric import lower
from symgrad.symbolic.gradient import symbolic_gradient
from symgrad.core.conventions import CONVENTIONS, markdown
from symgrad.core.ops import OPS

DOC = pathlib.Path(__file__).parent.parent / "docs" / "conventions.md"
ROWS = [(name, args, value, deriv) for name, c in CONVENTIONS.items()
        for args, value, deriv in c.points]


def same(a: float, b: float) -> bool:
    """Equal to 1e-12, and exactly so at zero: the sign of a zero counts (issue 11)."""
    if math.isnan(b):
        return math.isnan(a)
    if b == 0:
        return a == 0 and math.copysign(1.0, a) == math.copysign(1.0, b)
    return a == pytest.approx(b, rel=1e-12, abs=1e-300)


def test_zero_signs_count():
    assert same(0.0, 0.0) and same(-0.0, -0.0)
    assert not same(-0.0, 0.0) and not same(0.0, -0.0)


@pytest.mark.parametrize("name", sorted(OPS))
def test_every_op_documents_negative_zero(name):
    """docs/conventions.md states what each op does at -0.0 (issue 11)."""
    assert any(math.copysign(1.0, a) < 0 and a == 0 for args, _, _ in CONVENTIONS[name].points
               for a in args), name


def test_every_op_has_a_row_and_no_row_is_stale():
    assert set(CONVENTIONS) == set(OPS)


def test_document_is_up_to_date():
    assert DOC.read_text() == markdown(), "run: python -m symgrad.core.conventions > docs/conventions.md"


@pytest.mark.parametrize("name, args, value, deriv", ROWS,
                         ids=[f"{r[0]}{r[1]}" for r in ROWS])
def test_row_holds_in_forward_and_reverse_mode(name, args, value, deriv):
    op = OPS[name]
    n_nodes = len(args) - len(op.params)
    names = [f"u{i}" for i in range(n_nodes)]
    g = sg.Graph({"f": (name, tuple(names) + tuple(args[n_nodes:]))}, inputs=names)
    at = dict(zip(names, args))
    with np.errstate(all="ignore"):
        for _ in range(lower.HOT_AFTER + 2):        # the loop, then compiled code and grad()
            assert same(g.forward(at)["f"], value), g.forward(at)["f"]
            assert same(g.backward(at)["u0"], deriv), g.backward(at)["u0"]
            assert same(g.grad(at)["u0"], deriv), g.grad(at)["u0"]
            batch = {k: np.array([v, v]) for k, v in at.items()}
            assert same(float(g.forward(batch)["f"][1]), value)
            assert same(float(g.backward(batch)["u0"][1]), deriv)


@pytest.mark.parametrize("a", [0.0, -0.0, 2.0])
@pytest.mark.parametrize("k", [0.0, 0.5, 2.0, 3.0])
def test_pow_exponent_partial_is_the_same_formula_numerically_and_symbolically(a, k):
    """d(a**k)/dk: 0 where a = 0 and k >= 0 (as PyTorch), else a**k log a, and the
    SymPy partial (a Piecewise) agrees at those points (issue 11 item 7)."""
    g = sg.parse("a**k")
    numeric = g.grad(a=a, k=k)["k"]
    dk = symbolic_gradient(g)["k"]
    sym = dict((s.name, s) for s in dk.free_symbols)
    exact = dk.subs({sym["a"]: sp.Float(a), sym["k"]: sp.Float(k)})
    assert same(float(exact), numeric), (exact, numeric)
    assert same(numeric, 0.0 if a == 0 else a**k * math.log(a))
