"""docs/conventions.md is generated from the op table and every row holds."""

import math
import pathlib

import numpy as np
import pytest

import symgrad as sg
from symgrad.conventions import CONVENTIONS, markdown
from symgrad.ops import OPS

DOC = pathlib.Path(__file__).parent.parent / "docs" / "conventions.md"
ROWS = [(name, args, value, deriv) for name, c in CONVENTIONS.items()
        for args, value, deriv in c.points]


def same(a: float, b: float) -> bool:
    if math.isnan(b):
        return math.isnan(a)
    return a == pytest.approx(b, rel=1e-12, abs=1e-300)


def test_every_op_has_a_row_and_no_row_is_stale():
    assert set(CONVENTIONS) == set(OPS)


def test_document_is_up_to_date():
    assert DOC.read_text() == markdown(), "run: python -m symgrad.conventions > docs/conventions.md"


@pytest.mark.parametrize("name, args, value, deriv", ROWS,
                         ids=[f"{r[0]}{r[1]}" for r in ROWS])
def test_row_holds_in_forward_and_reverse_mode(name, args, value, deriv):
    op = OPS[name]
    n_nodes = len(args) - len(op.params)
    names = [f"u{i}" for i in range(n_nodes)]
    g = sg.Graph({"f": (name, tuple(names) + tuple(args[n_nodes:]))}, inputs=names)
    at = dict(zip(names, args))
    with np.errstate(all="ignore"):
        assert same(g.forward(at)["f"], value), g.forward(at)["f"]
        assert same(g.backward(at)["u0"], deriv), g.backward(at)["u0"]
        batch = {k: np.array([v, v]) for k, v in at.items()}
        assert same(float(g.forward(batch)["f"][1]), value)
        assert same(float(g.backward(batch)["u0"][1]), deriv)
