"""Adding an op touches the op table and its conventions row only (issue 16).

The fixture registers two throwaway ops, ``cosh`` and ``sinh``, with
``symgrad.core.conventions.register`` -- the ONLY call this file makes to add them -- built
from functions every backend already has (``m.exp``, ``m.div``), and removes them
afterwards.  The tests then use the ops through every front end, executor tier,
analysis and printer: parse, builder and ``sg.cosh``, forward, reverse, fast grad,
batch, compiled code and the instruction loop (bit for bit the reference),
symbolic gradient, to/from SymPy, LaTeX, derive, draw, grading a local
derivative (``sinh(a)`` is the right answer for d cosh(a)/da), the conventions
document and the Hypothesis strategies.
"""

import math

import numpy as np
import pytest
import sympy as sp
from hypothesis import given, settings

import symgrad as sg
import symgrad.front.builder  # noqa: F401 - sg.builder, sg.sympy_io below
import symgrad.front.sympy_io  # noqa: F401
from symgrad.numeric import codeform
from symgrad.numeric import lower
from symgrad.core import conventions, ops
from symgrad import strategies
from symgrad.core.conventions import CONVENTIONS, Convention, markdown
from symgrad.teach.exercise import exercise_from_graph
from symgrad.core.ops import ATOM, OPS, Form, Op
from symgrad.teach.prompts import formula_text

NZ, INF = -0.0, math.inf


def _half(m, u, v):
    return m.div(u, 2)


COSH = Op("cosh", 1, lambda m, a: _half(m, m.exp(a) + m.exp(-a), None),
          lambda m, y, a: (_half(m, m.exp(a) - m.exp(-a), None),),
          Form("cosh({0})", ATOM, (0,)), Form(r"\cosh\left({0}\right)", ATOM, (0,)), call=True,
          doc="(exp(x) + exp(-x)) / 2")
SINH = Op("sinh", 1, lambda m, a: _half(m, m.exp(a) - m.exp(-a), None),
          lambda m, y, a: (_half(m, m.exp(a) + m.exp(-a), None),),
          Form("sinh({0})", ATOM, (0,)), Form(r"\sinh\left({0}\right)", ATOM, (0,)), call=True,
          doc="(exp(x) - exp(-x)) / 2")
ROWS = {"cosh": Convention("all reals (overflows above 710.48)",
                           (((0.0,), 1.0, 0.0), ((NZ,), 1.0, 0.0), ((711.0,), INF, INF))),
        "sinh": Convention("all reals (overflows above 710.48)",
                           (((0.0,), 0.0, 1.0), ((NZ,), 0.0, 1.0), ((-711.0,), -INF, INF)))}


def _state():
    """Everything derived from the table that the ops could leak into."""
    return (tuple(OPS), tuple(CONVENTIONS), tuple(ops.TEXT_FUNCTIONS), strategies.DEFAULT_OPS,
            tuple(sg.front.builder.OP_FUNCTIONS), tuple(sg.front.builder.exports()),
            {k.__name__: v.name for k, v in ops.sympy_heads().items()},
            {k.__name__: [o.name for o, _, _ in v] for k, v in sg.front.sympy_io.sympy_patterns().items()})


@pytest.fixture
def hyperbolic():
    before = _state()
    conventions.register(COSH, ROWS["cosh"])
    conventions.register(SINH, ROWS["sinh"])
    try:
        yield
    finally:
        conventions.unregister("cosh")
        conventions.unregister("sinh")
    assert _state() == before


X = np.array([-2.5, -0.3, 0.0, 0.7, 3.0])


def test_register_is_picked_up_by_every_derived_table(hyperbolic):
    assert OPS["cosh"] is COSH and CONVENTIONS["cosh"] is ROWS["cosh"]
    assert "cosh" in ops.TEXT_FUNCTIONS and "sinh" in strategies.DEFAULT_OPS
    assert "cosh" in sg.front.builder.exports() and sg.cosh is sg.front.builder.OP_FUNCTIONS["cosh"]
    assert markdown().count("`cosh(") == len(ROWS["cosh"].points)
    assert codeform.apply_code(COSH, ["v0"]) == "div(exp(v0) + exp(-v0), 2)"
    assert codeform.partial_code(COSH, 0, ["v0"], "v1") == "div(exp(v0) - exp(-v0), 2)"


def test_parse_builder_and_every_executor_tier(hyperbolic):
    g = sg.parse("f = cosh(x) * sinh(x**2) + cosh(cosh(x))")
    x = sg.variable("x")
    assert sg.Graph({"f": sg.cosh(x) * sg.sinh(x**2) + sg.cosh(sg.cosh(x))}).program == g.program
    for v in (-1.25, 0.0, 0.5):
        want = math.cosh(v) * math.sinh(v * v) + math.cosh(math.cosh(v))
        dwant = (math.sinh(v) * math.sinh(v * v) + math.cosh(v) * math.cosh(v * v) * 2 * v
                 + math.sinh(math.cosh(v)) * math.sinh(v))
        for _ in range(lower.HOT_AFTER + 2):             # the loop, then compiled code
            assert g.forward(x=v)["f"] == pytest.approx(want, rel=1e-13)
            assert g.backward(x=v)["x"] == pytest.approx(dwant, rel=1e-12)
            assert g.grad(x=v)["x"] == pytest.approx(dwant, rel=1e-12)
        report = sg.check(g, x=v, paths=True)            # every executor path vs the reference
        assert report.ok and report.paths.ok, str(report)
    batch = g.backward(x=X)["x"]
    assert batch.shape == X.shape
    assert all(batch[i] == g.backward(x=float(X[i]))["x"] for i in range(len(X)))   # bit for bit


def test_conventions_rows_hold(hyperbolic):
    for name, row in ROWS.items():
        g = sg.Graph({"f": (name, ("u0",))})
        for args, value, deriv in row.points:
            with np.errstate(all="ignore"):
                for _ in range(lower.HOT_AFTER + 2):
                    assert g.forward(u0=args[0])["f"] == value
                    assert g.grad(u0=args[0])["u0"] == deriv
                    assert math.copysign(1, g.backward(u0=args[0])["u0"]) == math.copysign(1, deriv)


def test_symbolic_gradient_and_sympy_both_ways(hyperbolic):
    g = sg.parse("cosh(x) * sinh(y)")
    x, y = (sp.Symbol(n, real=True) for n in "xy")
    e = g.to_sympy()
    assert sp.expand((e - sp.cosh(x) * sp.sinh(y)).rewrite(sp.exp)) == 0
    grad = g.symbolic_gradient()
    assert sp.expand((grad["x"] - sp.sinh(x) * sp.sinh(y)).rewrite(sp.exp)) == 0
    assert float(grad["y"].subs({x: 0.3, y: -0.8})) == pytest.approx(g.grad(x=0.3, y=-0.8)["y"])
    back = sg.from_sympy(e)                              # the compound SymPy forms are found
    assert sorted(op.name for _, op, _ in back.program) == ["cosh", "mul", "sinh"]
    assert sg.from_sympy(sp.exp(x) / 2 + sp.exp(-x) / 2).program[-1][1] is COSH


def test_latex_derive_and_draw(hyperbolic):
    g = sg.parse("a = x**2\nb = cosh(a)")
    d = sg.derive(g, x=0.5)
    tex = d.latex()
    assert r"\cosh\left(a\right)" in tex
    text = d.text()
    assert "cosh(a)" in text and "∂b/∂a" in text
    dot = sg.draw(g, format="dot")
    assert "cosh" in dot


def test_grading_its_own_local_derivative(hyperbolic):
    g = sg.parse("a = x**2\nb = cosh(a)")
    ex = exercise_from_graph(g, {"x": 0.5}, kind="local")
    key = next(it.key for it in ex.items if it.key == "db/da")
    right = ex.grade({key: "sinh(a)"}).items[key]
    assert right.correct, right
    wrong = ex.grade({key: "cosh(a)"}).items[key]
    assert not wrong.correct
    published = sg.parse(formula_text(ex.answers[key]))      # the shown answer reads back
    assert published.forward(a=0.7)[published.outputs[0]] == pytest.approx(math.sinh(0.7), rel=1e-14)
    assert ex.grade(ex.answers).all_correct


def test_moodle_stack_export_defines_the_new_ops(hyperbolic):
    """The STACK export's Maxima definitions come from the table too."""
    from symgrad.teach.lms import maxima_functions, moodle_xml
    defs = {d.split("(", 1)[0]: d for d in maxima_functions()}
    assert defs["cosh"] == "cosh(x) := (exp(x) + exp(-x))/2" or "exp(-x)" in defs["cosh"]
    g = sg.parse("a = x**2\nb = cosh(a)")
    xml = moodle_xml([exercise_from_graph(g, {"x": 0.5}, kind="symbolic")], formulas="stack")
    assert "cosh(x) :=" in xml and "sinh(x) :=" in xml


def test_strategies_draw_the_new_ops(hyperbolic):
    seen = set()

    @settings(max_examples=25, derandomize=True, deadline=None, database=None)
    @given(strategies.expressions(variables=("x",), ops=("cosh", "sinh", "add", "mul"), max_depth=3))
    def run(text):
        g = sg.parse(text)
        seen.update(op.name for _, op, _ in g.program)
        v = g.grad(x=0.3)["x"]
        assert v == g.backward(x=0.3)["x"]

    run()
    assert {"cosh", "sinh"} <= seen


def test_register_refuses_bad_ops():
    with pytest.raises(sg.GraphError, match="new identifier"):
        conventions.register(OPS["exp"], ROWS["cosh"])
    with pytest.raises(sg.GraphError, match="Convention"):
        conventions.register(COSH, {"domain": "all reals"})
    bad = Op("bad", 2, lambda m, a, b: a, lambda m, y, a, b: (1,), COSH.text, COSH.latex)
    with pytest.raises(sg.GraphError, match="1 derivatives for 2 arguments"):
        conventions.register(bad, ROWS["cosh"])
    with pytest.raises(sg.GraphError, match="only ops added by register"):
        conventions.unregister("exp")
    assert "bad" not in OPS and "cosh" not in OPS


def test_unregistered_op_is_gone_everywhere():
    """Outside the fixture the throwaway ops are unknown to every front end."""
    with pytest.raises(sg.ParseError, match="unknown function"):
        sg.parse("cosh(x)")
    with pytest.raises(AttributeError):
        sg.cosh                                          # noqa: B018
    assert "cosh" not in strategies.DEFAULT_OPS
    x = sp.Symbol("x")
    assert {op.name for _, op, _ in sg.from_sympy(sp.exp(x) / 2 + sp.exp(-x) / 2).program} \
        <= {"exp", "neg", "div", "add", "mul"}
