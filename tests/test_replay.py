"""g.replay: a symgrad graph run on the caller's objects (issue 14): micrograd's own
engine tests re-expressed as symgrad graphs, random graphs on micrograd Values,
torch tensors, SymPy symbols, an interval type, and the errors."""

import math

import numpy as np
import pytest
import sympy as sp
from hypothesis import given, settings, strategies as st

import symgrad as sg
from corpus import CORPUS, LECTURE
from symgrad.errors import InputError
from symgrad.strategies import graphs, points

# micrograd's test/test_engine.py, test_sanity_check and test_more_ops, as programs
# (a reassignment `c += c + 1` becomes a new name)
SANITY = "z = 2*x + 2 + x\nq = relu(z) + z*x\nh = relu(z*z)\ny = h + q + q*x"
MORE_OPS = """c = a + b
d = a*b + b**3
c2 = c + (c + 1)
c3 = c2 + (1 + c2 + (-a))
d2 = d + (d*2 + relu(b + a))
d3 = d2 + (3*d2 + relu(b - a))
e = c3 - d3
f = e**2
g = f / 2.0
g2 = g + 10.0 / f"""


@pytest.fixture(scope="module")
def Value():
    return pytest.importorskip("micrograd.engine").Value


def on_micrograd(Value, g, at):
    vals = {x: Value(at[x]) for x in g.inputs}
    out = g.replay(vals)
    top = out[g.outputs[0]]
    top.backward()
    return top.data, {x: v.grad for x, v in vals.items()}


@pytest.mark.parametrize("text, at, data, grads", [
    (SANITY, {"x": -4.0}, -20.0, {"x": 46.0}),
    (MORE_OPS, {"a": -4.0, "b": 2.0}, 24.70408163265306, {"a": 138.83381924198252, "b": 645.5772594752186}),
], ids=["test_sanity_check", "test_more_ops"])
def test_micrograds_own_engine_tests(Value, text, at, data, grads):
    """micrograd's two engine tests: replayed on Values, its forward and backward
    equal symgrad's (and the numbers micrograd's tests get from PyTorch)."""
    g = sg.parse(text)
    got, got_grads = on_micrograd(Value, g, at)
    want = g.forward(at)[g.outputs[0]]
    assert got == pytest.approx(want, rel=1e-12) and want == pytest.approx(data, rel=1e-12)
    sym = g.grad(at)
    for x in g.inputs:
        assert got_grads[x] == pytest.approx(sym[x], rel=1e-12)
        assert sym[x] == pytest.approx(grads[x], rel=1e-12)


MICROGRAD_OPS = ("add", "sub", "mul", "div", "neg", "relu")


@settings(max_examples=60)
@given(data=st.data())
def test_random_graphs_on_micrograd(Value, data):
    g = data.draw(graphs(variables=("x", "y"), ops=MICROGRAD_OPS, max_depth=4))
    at = data.draw(points(g))
    got, got_grads = on_micrograd(Value, g, at)
    assert got == pytest.approx(g.forward(at)[g.outputs[0]], rel=1e-9, abs=1e-12)
    want = g.grad(at)
    for x in g.inputs:
        assert got_grads[x] == pytest.approx(want[x], rel=1e-9, abs=1e-12), (g.to_json(), at, x)


@pytest.mark.parametrize("name, text, at", CORPUS, ids=[c[0] for c in CORPUS])
def test_corpus_on_torch_tensors_with_their_methods(name, text, at):
    torch = pytest.importorskip("torch")
    g = sg.parse(text)
    vals = {x: torch.tensor(at[x], dtype=torch.float64, requires_grad=True) for x in g.inputs}
    funcs = {"leaky_relu": torch.nn.functional.leaky_relu, "elu": torch.nn.functional.elu,
             "softplus": torch.nn.functional.softplus}
    out = g.replay(vals, functions=funcs)
    fw = g.forward(at)
    for n in g.nodes:
        assert float(torch.as_tensor(out[n]).detach()) == pytest.approx(fw[n], rel=1e-12), n
    out[g.outputs[0]].backward()
    want = g.grad(at)
    for x in g.inputs:
        assert float(vals[x].grad) == pytest.approx(want[x], rel=1e-10)


def test_sympy_symbols_with_a_module_of_functions():
    g = sg.parse(LECTURE)
    x, = g.to_sympy().free_symbols                   # symgrad's own symbol for x
    out = g.replay({"x": x}, functions=sp)
    assert out["f"] == g.to_sympy()
    assert out["a"] == x**2 and out["x"] is x
    assert float(out["f"].subs(x, 2.0)) == pytest.approx(g.forward(x=2.0)["f"], rel=1e-12)


class Interval:
    """A closed interval with just + * and exp: enough for the lecture's pieces."""

    def __init__(self, lo, hi):
        self.lo, self.hi = lo, hi

    def __add__(self, o):
        o = o if isinstance(o, Interval) else Interval(o, o)
        return Interval(self.lo + o.lo, self.hi + o.hi)

    __radd__ = __add__

    def __mul__(self, o):
        o = o if isinstance(o, Interval) else Interval(o, o)
        c = [self.lo * o.lo, self.lo * o.hi, self.hi * o.lo, self.hi * o.hi]
        return Interval(min(c), max(c))

    __rmul__ = __mul__

    def __pow__(self, k):
        return self * self if k == 2 else NotImplemented

    def exp(self):
        return Interval(math.exp(self.lo), math.exp(self.hi))


def test_an_interval_type_encloses_the_values():
    g = sg.parse("a = x**2\nb = exp(a)\nf = a*b + 3*x")
    out = g.replay({"x": Interval(1.9, 2.1)})
    for x in np.linspace(1.9, 2.1, 21):
        fw = g.forward(x=x)
        for n in g.nodes:
            assert out[n].lo - 1e-9 <= fw[n] <= out[n].hi + 1e-9, n


def test_ops_the_objects_cannot_do_name_the_op_and_node(Value):
    g = sg.parse("a = x*y\nb = sin(a)\nf = b + a")
    with pytest.raises(InputError, match=r"node 'b' \(sin\): your objects \(Value\) cannot do 'sin'"):
        g.replay({"x": Value(1.0), "y": Value(2.0)})
    out = g.replay({"x": Value(1.0), "y": Value(2.0)},
                   functions={"sin": lambda v: v * 1.0})          # supplied: fine
    assert out["f"].data == 4.0
    h = sg.parse("f = x**y")                                     # micrograd: Value ** Value
    with pytest.raises(InputError, match=r"node 'f' \(pow\): your objects \(Value\) cannot do it"):
        h.replay({"x": Value(2.0), "y": Value(3.0)})


def test_inputs_are_checked():
    g = sg.parse("x * y")
    with pytest.raises(InputError, match="missing input.*'y'"):
        g.replay({"x": 1.0})
    with pytest.raises(InputError, match="unknown input.*'z'"):
        g.replay({"x": 1.0, "y": 2.0, "z": 3.0})
    with pytest.raises(InputError, match="needs a mapping"):
        g.replay([1.0, 2.0])
    assert g.replay({"x": 3, "y": 4})[g.outputs[0]] == 12        # plain numbers work too


def test_the_strategies_guide_example_runs(Value):
    """docs/strategies.md's ten-line engine test, as written there."""
    import pathlib
    import re
    text = (pathlib.Path(__file__).resolve().parent.parent / "docs" / "strategies.md").read_text()
    section = text[text.index("## Example: your autodiff engine"):]
    code = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    assert len([ln for ln in code.splitlines() if ln.strip()]) <= 12
    ns = {}
    exec(compile(code, "docs/strategies.md", "exec"), ns)
    settings(max_examples=20)(ns["test_my_engine_matches_symgrad"])()
