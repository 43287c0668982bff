"""Numbers on every path (issue 11, items 3, 5-9, 12 and the small ones).

The reference interpreters (``evaluate``/``adjoints``) are the specification.
Every lowered tier (compiled straight-line code, the instruction loop and the
one-function ``grad`` on Python floats; the numpy backend on arrays) must give
their values BIT FOR BIT, signed zeros included: :func:`assert_same_bits`
compares the 64 bits of every non-nan value (so -0.0 != 0.0) and nan-ness.
"""

from __future__ import annotations

import io
import math
import re
import tokenize
import subprocess
import sys
import warnings
from decimal import Decimal
from fractions import Fraction

import numpy as np
import pytest
import sympy as sp
from hypothesis import given, reject, strategies as st

import symgrad as sg
from symgrad.numeric import codegen
from symgrad.numeric import forward as fwd_module
from symgrad.numeric import lower
from symgrad.numeric.codegen import code_forward, code_grad, code_reverse, loop_forward, loop_reverse, needed
from symgrad.errors import InputError
from symgrad.numeric.forward import evaluate, read_inputs
from symgrad.numeric.lower import FALLBACK, lowered
from symgrad.core.ops import OPS
from symgrad.numeric.reverse import adjoints
from symgrad.strategies import expressions
from symgrad.symbolic.gradient import symbolic_gradient

TINY, MIN_NORMAL, BIG = 5e-324, 2.2250738585072014e-308, 1.7976931348623157e308
SPECIAL = (0.0, -0.0, TINY, -TINY, MIN_NORMAL, -MIN_NORMAL, 1e-300, math.inf, -math.inf, math.nan,
           BIG, -BIG, 1e300, -1e300, 1000.0, -1000.0, 710.0, 1.0, -1.0, 2.0, 0.5, -0.5, 3.0)
NUMBERS = st.one_of(st.sampled_from(SPECIAL), st.floats(allow_nan=True, allow_infinity=True))
LITERALS = (0.0, -0.0, 2, 2.0, 3, -1, 0.5, -2.5, 1e308, TINY, -TINY, 1000, math.inf, math.nan)


# -- the comparison -------------------------------------------------------------------
def assert_same_bits(got, want, what: str = "") -> None:
    """Equal bit for bit: every non-nan value has the same 64 bits (so -0.0 and 0.0
    differ), and nan is where nan is (payloads may differ)."""
    got, want = np.broadcast_arrays(np.asarray(got, dtype=np.float64), np.asarray(want, dtype=np.float64))
    gn, wn = np.isnan(got), np.isnan(want)
    differ = (gn != wn) | (~gn & ~wn & (got.view(np.int64) != want.view(np.int64)))
    assert not differ.any(), f"{what}: got {got[differ][:3]!r}, want {want[differ][:3]!r}"


def test_bit_comparison_tells_signed_zeros_apart():
    assert_same_bits(-0.0, -0.0)
    assert_same_bits([math.nan, 1.0], [-math.nan, 1.0])
    for a, b in ((0.0, -0.0), (1.0, math.nan), (TINY, 0.0), (math.inf, BIG)):
        with pytest.raises(AssertionError):
            assert_same_bits(a, b)


# -- every tier against the reference --------------------------------------------------
def reference(graph, at: dict, out: str):
    ins, _ = read_inputs(graph, at, {})
    vals = evaluate(graph, ins)
    return vals, adjoints(graph, vals, out)


def _math_call(f, *lists):
    """A scalar tier under errstate(all="raise") and warnings as errors: it either
    finishes or hands the point to numpy (FALLBACK); no warning may escape."""
    with np.errstate(all="raise"), warnings.catch_warnings():
        warnings.simplefilter("error")
        try:
            f(*lists)
        except FALLBACK:
            return False
    return True


def check_tiers(graph, at: dict, out: str) -> None:
    """Each lowered tier, built directly, against the reference at one point (the
    scalar backends) and at the point as a batch of two (the numpy backends)."""
    low = lowered(graph)
    o = low.slot[out]
    rows = needed(low.rows, o)
    for batch in (False, True):
        point = {x: np.array([v, v]) for x, v in at.items()} if batch else at
        vals, adj = reference(graph, point, out)
        backend = lower._NS["num" if batch else "math"]
        for tier, build_f, build_r in (("code", code_forward, code_reverse),
                                       ("loop", loop_forward, loop_reverse)):
            V, G = [None] * len(low.names), [None] * len(low.names)
            for s, x in zip(low.input_slots, graph.inputs, strict=True):
                V[s] = point[x] if batch else float(at[x])
            G[o] = np.float64(1.0) if batch else 1.0
            fwd, rev = build_f(low.rows, backend), build_r(rows, backend)
            if batch:
                with np.errstate(all="ignore"):
                    fwd(V)
                    rev(V, G)
            elif not (_math_call(fwd, V) and _math_call(rev, V, G)):
                continue
            for n, s in low.slot.items():
                assert_same_bits(V[s], vals[n], f"{tier}/{batch}: value of {n}")
                assert_same_bits(0.0 if G[s] is None else G[s], adj.get(n, 0.0),
                                 f"{tier}/{batch}: adjoint of {n}")
        if not batch:
            fast = code_grad(low, o, backend)
            box: list = []
            if _math_call(lambda: box.append(fast({x: float(v) for x, v in at.items()}))):
                for x in graph.inputs:
                    assert_same_bits(box[0][x], adj.get(x, 0.0), f"grad: adjoint of {x}")


def check_public(graph, at: dict, out: str) -> None:
    """forward/backward/grad, called often enough to reach every tier (the loop,
    then compiled code and the one-function grad), with warnings as errors and
    numpy's errstate at "raise": they must agree with the reference bit for bit."""
    for batch in (False, True):
        point = {x: np.array([v, v]) for x, v in at.items()} if batch else at
        vals, adj = reference(graph, point, out)
        for _ in range(lower.HOT_AFTER + 2):
            with np.errstate(all="raise"), warnings.catch_warnings():
                warnings.simplefilter("error")
                fw, bw = graph.forward(point), graph.backward(point, output=out)
                gr = graph.grad(point, output=out)
            for n in graph.nodes:
                assert_same_bits(fw[n], vals[n], f"forward {n}")
                assert_same_bits(bw[n], adj.get(n, 0.0), f"backward {n}")
            for x in graph.inputs:
                assert_same_bits(gr[x], adj.get(x, 0.0), f"grad {x}")
            assert fw.nonfinite == tuple(n for n in graph.nodes if not np.isfinite(vals[n]).all())


@st.composite
def row_graphs(draw, max_nodes=8):
    """A random DAG over the whole op table with special literals (signed zeros,
    subnormals, inf, nan, 2 and 2.0), several consumers per node."""
    inputs = [f"x{i}" for i in range(draw(st.integers(1, 3)))]
    nodes, rows = list(inputs), {}
    for k in range(draw(st.integers(1, max_nodes))):
        op = OPS[draw(st.sampled_from(sorted(OPS)))]
        n = op.count_near(draw(st.integers(1, 3)))
        args = [draw(st.sampled_from(nodes))]
        for i in range(1, n):
            if i >= n - len(op.params):
                args.append(draw(st.sampled_from((0.01, 0.2, 1.0, -0.0))))
            elif draw(st.booleans()):
                args.append(draw(st.sampled_from(LITERALS)))
            else:
                args.append(draw(st.sampled_from(nodes)))
        if draw(st.booleans()) and op.arity == 2 and not op.params:   # a literal first argument
            args.reverse()
        rows[f"n{k}"] = (op.name, tuple(args))
        nodes.append(f"n{k}")
    return sg.Graph(rows, outputs=[nodes[-1]], inputs=inputs)


def at_points(graph, data) -> dict:
    return {x: data.draw(NUMBERS, label=x) for x in graph.inputs}


@given(graph=row_graphs(), data=st.data())
def test_every_tier_is_bit_exact_on_special_numbers(graph, data):
    """Issue 11, done means: random graphs, points with -0.0, subnormals, +-inf, nan
    and huge values; every lowered tier equals the reference bit for bit."""
    at = at_points(graph, data)
    out = data.draw(st.sampled_from(graph.nodes), label="output")
    check_tiers(graph, at, out)


def parsed(text: str):
    """The graph of ``text``; expressions whose constants overflow (``exp(exp(exp(2)))``,
    a ParseError) are not drawn."""
    try:
        return sg.parse(text)
    except sg.ParseError:
        reject()


@given(text=expressions(max_depth=5), data=st.data())
def test_random_expressions_are_bit_exact_on_every_tier(text, data):
    """symgrad.strategies' expressions at special points: every tier bit for bit."""
    graph = parsed(text)
    at = at_points(graph, data)
    check_tiers(graph, at, graph.outputs[0])


@given(graph=row_graphs(max_nodes=6), data=st.data())
def test_public_api_is_bit_exact_and_quiet(graph, data):
    at = at_points(graph, data)
    check_public(lower_copy(graph), at, graph.outputs[0])


def lower_copy(graph):
    """An equal graph with its own (empty) cache, so every tier is reached again."""
    return sg.Graph({n: (graph.op(n), graph.args(n)) for n in graph.nodes if not graph.is_input(n)},
                    outputs=graph.outputs, inputs=graph.inputs)


# -- item 3: no user text in generated code --------------------------------------------
class Hostile(str):
    """A name whose repr would run code if it were ever written into a source."""

    def __repr__(self):
        raise AssertionError("repr() of a user name was called")


@pytest.fixture
def sources(monkeypatch):
    """Every source text codegen compiles while the test runs."""
    seen: list = []
    real = codegen.define

    def spy(src, name, filename, ns):
        seen.append(src)
        return real(src, name, filename, ns)
    monkeypatch.setattr(codegen, "define", spy)
    return seen


def test_generated_code_holds_no_user_text(sources, monkeypatch):
    """Issue 11 item 3: on every tier (loop, chunks, compiled code, one-function
    grad, numpy backend, fused layers), no compiled source contains a name, a
    string literal or anything but slots, op names and numbers."""
    names = [np.str_("alpha"), Hostile("beta"), "gammaname"]
    x, y, z = (sg.variable(n) for n in names)
    g = sg.Graph({"out_node_name": sg.sin(x) * y + sg.exp(z) ** 2.5 - x * -0.0})
    net = sg.mlp([2, 3, 1], seed=0)
    monkeypatch.setattr(codegen, "CHUNK", 3)
    for _ in range(lower.HOT_AFTER + 2):
        g.forward(alpha=1.0, beta=2.0, gammaname=0.5)
        g.backward(alpha=1.0, beta=2.0, gammaname=0.5)
        g.grad(alpha=1.0, beta=2.0, gammaname=0.5)
        g.grad(alpha=np.ones(3), beta=2.0, gammaname=0.5)
        net.backprop([[0.5, -1.0], [1.0, 2.0]], [[1.0], [0.0]])
        net.graph.grad(net.feed([0.5, -1.0], [1.0]))
    assert sources
    allowed = set(lower._NS["math"]) | set(lower._NS["num"]) | {
        "def", "return", "if", "else", "not", "and", "or", "is", "in", "for", "raise", "pass",
        "len", "set", "map", "type", "float", "TypeError", "vals", "take", "FLOAT", "as_float",
        "K", "d", "v", "V", "G", "y", "_op"}
    for src in sources:
        for tok in tokenize.generate_tokens(io.StringIO(src).readline):
            assert tok.type != tokenize.STRING, src                 # no string literal at all
            if tok.type == tokenize.NAME:                           # slots and op names only
                assert tok.string in allowed or re.fullmatch(r"[vga]\d+|_c\d+", tok.string), \
                    (tok.string, src)


def test_numpy_str_names_work_every_time():
    """Issue 11 item 3: numpy.str_ names used to give NameError on the third grad()."""
    x, y = sg.variable(np.str_("x")), sg.variable(np.str_("y"))
    g = sg.Graph(sg.sin(x) * y)
    for _ in range(6):
        assert g.grad(x=0.0, y=2.0) == {"x": 2.0, "y": 0.0}


def test_hostile_repr_is_never_called():
    """Issue 11 item 3: a str subclass with a hostile __repr__ runs nothing."""
    g = sg.Graph(sg.variable(Hostile("x")) * 3.0)
    for _ in range(6):
        assert g.grad(x=1.0) == {"x": 3.0}
        assert g.forward(x=2.0)[g.outputs[0]] == 6.0


# -- item 5: floats only -----------------------------------------------------------------
_T = "10" + "**x)" * 10
TOWER = f"{'(' * 10}{_T}*3/{'(' * 10}{_T}"                  # 10**(2**10) at x = 2: overflows


def test_integer_literals_compute_as_floats():
    """Issue 11 item 5: the scalar path kept Python ints (10**2 = 100 exactly, then
    100**2 ...), giving 3.0 where float64 overflows to inf and inf/inf = nan."""
    g = sg.parse(TOWER)
    out = g.outputs[0]
    for _ in range(lower.HOT_AFTER + 2):
        fw = g.forward(x=2.0)
        assert math.isnan(fw[out]) and out in fw.nonfinite
        assert all(type(fw[n]) is float for n in g.nodes)
        assert math.isnan(g.grad(x=2.0)["x"])
    check_tiers(g, {"x": 2.0}, out)


def test_constant_rows_compute_in_floats_too():
    """A row of literals only: 10**400 overflows to inf (not int64 wrap-around to 0),
    2**-1 is 0.5 (numpy refuses negative integer powers of integers)."""
    g = sg.Graph({"a": ("pow", (10, 400)), "b": ("pow", (2, -1)), "f": ("add", ("a", "x")),
                  "h": ("mul", ("b", "x"))}, outputs=["f", "h"], inputs=["x"])
    for _ in range(lower.HOT_AFTER + 2):
        fw = g.forward(x=1.0)
        assert (fw["a"], fw["f"], fw["b"], fw["h"]) == (math.inf, math.inf, 0.5, 0.5)
    for out in ("f", "h"):
        check_tiers(g, {"x": 1.0}, out)
        check_public(lower_copy(g), {"x": -0.0}, out)


def test_draw_of_an_overflowing_graph_works(tmp_path):
    g = sg.parse(TOWER)
    proc = subprocess.run([sys.executable, "-m", "symgrad", "draw", TOWER, "--at", "x=2",
                           "-o", str(tmp_path / "g.svg")], capture_output=True, text=True)
    assert "Traceback" not in proc.stderr
    assert g.forward(x=2.0).nonfinite


# -- item 6: signed zeros ----------------------------------------------------------------
def test_signed_zero_literals_are_distinct_nodes():
    """Issue 11 item 6: x*0.0 and x*-0.0 were merged by hash-consing."""
    g = sg.parse("1/(x*0.0) - 1/(x*-0.0)")
    for _ in range(lower.HOT_AFTER + 2):
        assert g.forward(x=1.0)[g.outputs[0]] == math.inf
    b = sg.Graph({"a": ("mul", ("x", 0.0)), "b": ("mul", ("x", -0.0)), "f": ("add", ("a", "b"))})
    assert b.args("a") != b.args("b") or str(b.args("a")[1]) != str(b.args("b")[1])
    assert len(b.nodes) == 4


def test_two_and_two_point_zero_are_distinct_literals():
    """Literals are keyed by type and bits: x**2 and x**2.0 print differently, so
    they are two nodes (as before, ints and floats are kept as given)."""
    x = sg.variable("x")
    g = sg.Graph(x**2 + x**2.0)
    pows = [n for n in g.nodes if g.op(n) == "pow"]
    assert sorted(type(g.args(n)[1]).__name__ for n in pows) == ["float", "int"]
    same = sg.Graph(x**2 + x**2)
    assert len([n for n in same.nodes if same.op(n) == "pow"]) == 1


@pytest.mark.parametrize("name", sorted(OPS))
def test_every_op_at_negative_zero_agrees_on_every_tier(name):
    """Issue 11 item 6: each op at -0.0 (and with -0.0 parameters) gives the same
    bits on every tier; the values are pinned in tests/test_conventions.py."""
    op = OPS[name]
    for arg in (-0.0, 0.0):
        n = max(op.arity, 2) - len(op.params) if op.arity != 1 else 1
        names = [f"u{i}" for i in range(n)]
        params = tuple(p[1] for p in op.params)
        g = sg.Graph({"f": (name, tuple(names) + params)}, inputs=names)
        check_tiers(g, {u: arg for u in names}, "f")
        check_public(lower_copy(g), {u: arg for u in names}, "f")


def test_relu_of_negative_zero_is_positive_zero():
    g = sg.parse("relu(x)")
    for _ in range(lower.HOT_AFTER + 2):
        assert_same_bits(g.forward(x=-0.0)[g.outputs[0]], 0.0)


# -- item 7: pow's exponent derivative at base 0 ------------------------------------------
@pytest.mark.parametrize("k, want, neg", [(0.0, 0.0, 0.0), (2.0, 0.0, 0.0), (0.5, 0.0, 0.0),
                                          (-1.0, -math.inf, math.inf)])
def test_pow_exponent_derivative_at_zero_base_follows_pytorch(k, want, neg):
    """Issue 11 item 7: d(x**y)/dy at x = 0 is 0 for y >= 0 (PyTorch), numerically
    and symbolically; for y < 0 it is x**y log x (at -0.0: -inf * -inf = inf)."""
    g = sg.parse("x**y")
    for _ in range(lower.HOT_AFTER + 2):
        assert_same_bits(g.grad(x=0.0, y=k)["y"], want)
        assert_same_bits(g.grad(x=-0.0, y=k)["y"], neg)
        assert_same_bits(g.grad(x=np.array([0.0]), y=k)["y"], [want])
    dy = symbolic_gradient(g)["y"]
    x, y = sorted(dy.free_symbols, key=str)
    value = dy.subs({x: 0, y: sp.Float(k)})
    if want == 0.0:
        assert value == 0
    else:
        assert value in (-sp.oo, sp.zoo, sp.nan) or not value.is_finite


# -- item 8: no builtin sum() -----------------------------------------------------------------
def test_logsumexp_adds_left_to_right_not_compensated():
    """Issue 11 item 8: sum() of floats is compensated from Python 3.12 on; the
    scalar logsumexp must add in numpy's order on every interpreter."""
    xs = (0.0, math.log(1e-16), math.log(1e-16), math.log(1e-16))
    g = sg.Graph({"f": ("logsumexp", ("a", "b", "c", "d"))}, inputs=["a", "b", "c", "d"])
    at = dict(zip("abcd", xs))
    check_tiers(g, at, "f")
    check_public(lower_copy(g), at, "f")


# -- item 9: no warnings, empty batches ----------------------------------------------------------
EXTREME = (-1e308, -1e4, -1000.0, -745.2, 1000.0, 1e4, 1e308)


@pytest.mark.parametrize("text", ["sigmoid(x)", "softplus(x)", "tanh(x)", "elu(x)", "x**3", "2**x",
                                  "log(sigmoid(x))", "x**0.5"])
def test_no_warning_escapes_for_extreme_inputs(text):
    g = sg.parse(text)
    for v in EXTREME:
        check_public(lower_copy(g), {"x": v}, g.outputs[0])


def test_cross_entropy_and_logsumexp_at_extremes_are_finite_and_quiet():
    g = sg.Graph({"l": ("logsumexp", ("a", "b")), "f": ("sub", ("l", "a"))}, inputs=["a", "b"])
    for a, b in ((1000.0, -1000.0), (-1000.0, 1000.0), (1e308, -1e308), (-1e4, -1e4)):
        check_public(lower_copy(g), {"a": a, "b": b}, "f")
        assert math.isfinite(g.forward(a=a, b=b)["f"])
    net = sg.mlp([2, 2, 2], activation="sigmoid", loss="cross_entropy", seed=0)
    with np.errstate(all="raise"), warnings.catch_warnings():
        warnings.simplefilter("error")
        for v in (1000.0, -1000.0, 1e300):
            grads = net.backprop([[v, -v], [v, v]], [[1.0, 0.0], [0.0, 1.0]])
            assert all(math.isfinite(d) for d in grads.values())


def test_numpy_warnings_turned_errors_fall_back_quietly():
    """Under errstate(all="warn") with warnings as errors, an underflow inside the
    scalar path (exp(-800) in sigmoid) is not an error: the reference runs."""
    g = sg.parse("sigmoid(x) + exp(x)*0.5")
    for _ in range(lower.HOT_AFTER + 2):
        with np.errstate(all="warn"), warnings.catch_warnings():
            warnings.simplefilter("error")
            assert g.forward(x=-800.0)[g.outputs[0]] == 0.0
            assert g.grad(x=-800.0) == {"x": 0.0}
            assert g.backward(x=np.array([-800.0, 0.0]))["x"][0] == 0.0


def test_warnings_as_errors_in_a_subprocess():
    code = ("import numpy as np, symgrad as sg\n"
            "for t in ('sigmoid(x)', 'softplus(x)', 'x**2.5', 'exp(x)*0'):\n"
            "    g = sg.parse(t)\n"
            "    for v in (-1000.0, 1000.0, -1e308, 1e308):\n"
            "        for _ in range(4):\n"
            "            g.forward(x=v); g.grad(x=v); g.backward(x=np.array([v, v]))\n")
    proc = subprocess.run([sys.executable, "-W", "error", "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr


@pytest.mark.parametrize("shape", [(0,), (0, 3), (3, 0)])
def test_an_empty_batch_is_an_input_error(shape):
    g = sg.parse("sigmoid(x) * y")
    for call in (g.forward, g.backward, g.grad):
        with pytest.raises(InputError, match="empty batch"):
            call(x=np.zeros(shape), y=1.0)
    with pytest.raises(InputError, match="no samples"):
        sg.mlp([2, 2, 1]).backprop(np.zeros((0, 2)), np.zeros((0, 1)))


# -- item 12: bounded broadcasts ------------------------------------------------------------------
def test_a_huge_broadcast_is_refused_before_allocation():
    """Issue 11 item 12: 10**5 x 10**5 samples asked numpy for 74.5 GiB."""
    g = sg.parse("x * y")
    with pytest.raises(InputError, match="MAX_ELEMENTS"):
        g.forward(x=np.ones((10**5, 1)), y=np.ones((1, 10**5)))
    with pytest.raises(InputError, match="100,000,000"):
        g.grad(x=np.ones((20_000, 1)), y=np.ones((1, 10_000)))


def test_the_broadcast_limit_is_a_setting(monkeypatch):
    g = sg.parse("x * y")
    monkeypatch.setattr(fwd_module, "MAX_ELEMENTS", 10)
    assert g.forward(x=np.ones((2, 1)), y=np.ones((1, 5)))[g.outputs[0]].shape == (2, 5)
    with pytest.raises(InputError, match="MAX_ELEMENTS = 10"):
        g.forward(x=np.ones((3, 1)), y=np.ones((1, 4)))


# -- small items: Decimal, Fraction, masked arrays ---------------------------------------------------
def test_decimal_and_fraction_inputs_are_rounded_to_float64():
    g = sg.parse("x * y")
    out = g.outputs[0]
    assert g.forward(x=Decimal("0.1"), y=Fraction(1, 3))[out] == 0.1 * (1 / 3)
    assert g.grad(x=Decimal("0.1"), y=Fraction(1, 3)) == {"x": 1 / 3, "y": 0.1}
    assert g.forward(x=Decimal("-0"), y=1.0)["x"] == 0.0
    assert_same_bits(g.forward(x=Decimal("-0"), y=1.0)["x"], -0.0)
    with pytest.raises(InputError, match="too large"):
        g.forward(x=Decimal("1e400"), y=1.0)
    assert g.forward(x=Decimal("-Infinity"), y=1.0)["x"] == -math.inf
    with pytest.raises(InputError, match="no float64 value"):
        g.forward(x=Decimal("sNaN"), y=1.0)


def test_masked_arrays_are_refused():
    g = sg.parse("x * y")
    with pytest.raises(InputError, match="masked array.*compressed"):
        g.forward(x=np.ma.masked_array([1.0, 2.0], mask=[0, 1]), y=1.0)
