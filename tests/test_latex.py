r"""LaTeX printing: exact pins of parenthesization and names, documents that compile."""

import subprocess

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

import symgrad as sg
from symgrad.errors import SymgradError
from symgrad.show.latex import LatexNames
from symgrad.core.ops import ADD, ATOM, MUL, NEG, OPS, POW
from symgrad.show.printer import parenthesize, render_form
from symgrad.strategies import graphs, points

LECTURE = "sqrt(x**2 + exp(x**2)) + cos(x**2 + exp(x**2))"
sg.parse(LECTURE)   # warm up the parser's lazy imports before conftest's exec tripwire is set
L, R = r"\left(", r"\right)"
def needs_pdflatex(test):
    """pdflatex is a test requirement (.ci/run installs it): a missing one fails."""
    return test


def tex(op, *parts):
    return render_form(OPS[op].latex, list(parts), L, R)


@pytest.mark.parametrize("got, want", [
    (parenthesize("a + b", ADD, MUL), "(a + b)"),
    (parenthesize("a b", MUL, MUL), "a b"),
    (parenthesize("-a", NEG, MUL, L, R), r"\left(-a\right)"),
    (tex("pow", ("x + y", ADD), ("2", ATOM)), r"\left(x + y\right)^{2}"),
    (tex("pow", ("x^{2}", POW), ("3", ATOM)), r"\left(x^{2}\right)^{3}"),
    (tex("pow", ("x", ATOM), ("a + b", ADD)), r"x^{a + b}"),
    (tex("mul", ("a + b", ADD), ("c", ATOM)), r"\left(a + b\right) c"),
    (tex("mul", ("a b", MUL), ("c d", MUL)), r"a b \left(c d\right)"),
    (tex("sub", ("a + b", ADD), ("c + d", ADD)), r"a + b - \left(c + d\right)"),
    (tex("add", ("a - b", ADD), ("-c", NEG)), r"a - b + -c"),
    (tex("neg", ("a + b", ADD)), r"-\left(a + b\right)"),
    (tex("neg", ("a b", MUL)), r"-a b"),
    (tex("div", ("a + b", ADD), ("c + d", ADD)), r"\frac{a + b}{c + d}"),
    (tex("exp", ("a + b", ADD)), r"\exp\left(a + b\right)"),
    (tex("sqrt", ("a + b", ADD)), r"\sqrt{a + b}"),
    (tex("sum", ("a", ATOM), ("b - c", ADD), ("d", ATOM)), r"a + b - c + d"),
])
def test_parenthesize_pins(got, want):
    assert got == want


def forward_line(rows, **at):
    g = sg.Graph(rows, outputs=[list(rows)[-1]])
    return sg.derive(g, **at).latex().splitlines()[len(g.inputs)].rstrip(" \\")


@pytest.mark.parametrize("rows, want", [
    ({"f": ("mul", ("x", -2.0))}, r"f &= x \left(-2\right) = -4"),
    ({"f": ("pow", ("x", -2.0))}, r"f &= x^{-2} = 0.25"),
    ({"f": ("pow", (-2.0, "x"))}, r"f &= \left(-2\right)^{x} = 4"),
    ({"f": ("sub", ("x", 3))}, r"f &= x - 3 = -1"),
    ({"f": ("mul", ("x", 1e-9))}, r"f &= x \left(1 \cdot 10^{-9}\right) = 2 \cdot 10^{-9}"),
])
def test_forward_line_pins(rows, want):
    assert forward_line(rows, x=2.0) == want


def test_lecture_latex_pins():
    lines = sg.derive(sg.parse(LECTURE), x=2.0).latex().splitlines()
    assert lines[0] == r"x &= 2 \\"
    assert lines[2] == r"b &= \exp\left(a\right) = 54.598 \\"
    assert lines[4] == r"d &= \sqrt{c} = 7.6549 \\"
    assert lines[5] == r"e &= \cos\left(c\right) = -0.46061 \\"
    assert lines[10] == (
        r"\frac{\partial f}{\partial c} &= \frac{\partial f}{\partial e} \frac{\partial e}"
        r"{\partial c} + \frac{\partial f}{\partial d} \frac{\partial d}{\partial c} = "
        r"1 \times \left(-\sin\left(c\right)\right) + 1 \times \frac{1}{2 \sqrt{c}} = -0.82228 \\")
    assert lines[12] == (
        r"\frac{\partial f}{\partial a} &= \frac{\partial f}{\partial c} \frac{\partial c}"
        r"{\partial a} + \frac{\partial f}{\partial b} \frac{\partial b}{\partial a} = "
        r"-0.82228 \times 1 - 0.82228 \times \exp\left(a\right) = -45.717 \\")
    assert lines[13] == (r"\frac{\partial f}{\partial x} &= \frac{\partial f}{\partial a} "
                         r"\frac{\partial a}{\partial x} = -45.717 \times 2 x = -182.87")


def test_long_sums_wrap():
    g = sg.parse("f = sin(x) + cos(x) + exp(x) + x*x")
    body = sg.derive(g, x=1.0).latex(per_line=2)
    assert r"&\qquad + " in body


@pytest.mark.parametrize("name, want", [
    ("w1_0_1", "w^{1}_{0,1}"), ("w12_3_4", "w^{12}_{3,4}"), ("a1_2", "a^{1}_{2}"),
    ("h1_2", "h^{1}_{2}"), ("yhat1", r"\hat{y}_{1}"), ("yhat", r"\hat{y}"), ("x1", "x_{1}"),
    ("alpha", r"\alpha"), ("Omega", r"\Omega"), ("theta2", r"\theta_{2}"), ("loss", r"\mathrm{loss}"),
    ("v27", "v_{27}"), ("c", "c"), ("x_i", "x_{i}"), ("y_2_1", "y_{2,1}"), ("α", r"\alpha"),
    ("Ω2", r"\Omega_{2}"), ("x_alpha", r"x_{\alpha}"), ("é", r"\text{\'{e}}"),
    ("größe", r'\text{gr\"{o}\ss{}e}'), ("x_größe", r'\text{x\_gr\"{o}\ss{}e}'),
])
def test_names(name, want):
    assert LatexNames()(name) == want


def test_name_overrides_and_settings():
    d = sg.derive(sg.parse("f = exp(x)"), x=0.0)
    assert r"\xi &= 0" in d.latex(names={"x": r"\xi"})
    with pytest.raises(sg.InputError, match="setting.*'bogus'"):
        d.latex(bogus=1)


def test_symbolic_latex_uses_names():
    """Without a point, the slides' derivation is the lecture's formulas."""
    body = sg.derive(sg.mlp([1, 1, 1], seed=0).graph, quantities=True).latex()
    assert body.splitlines()[3:] == [
        r"\ell &= \frac{1}{2}\left(\hat{y} - y\right)^{2} \\",
        r"\frac{\partial \ell}{\partial \ell} &= 1 \\",
        r"B_{1} = \frac{\partial \ell}{\partial \hat{y}} &= \hat{y} - y \\",
        r"B_{2,1} = \frac{\partial \ell}{\partial h^{1}_{1}} &= B_{1} w^{2}_{1,1} \\",
        r"B_{3,1} = \frac{\partial \ell}{\partial a^{1}_{1}} &= B_{2,1} \left(1 - \tanh\left(a^{1}_{1}\right)^{2}\right) \\",
        r"\frac{\partial \ell}{\partial w^{2}_{0,1}} &= B_{1} \\",
        r"\frac{\partial \ell}{\partial w^{2}_{1,1}} &= B_{1} h^{1}_{1} \\",
        r"\frac{\partial \ell}{\partial w^{1}_{0,1}} &= B_{3,1} \\",
        r"\frac{\partial \ell}{\partial w^{1}_{1,1}} &= B_{3,1} x_{1} \\",
        r"\frac{\partial \ell}{\partial x_{1}} &= B_{3,1} w^{1}_{1,1} \\",
        r"\frac{\partial \ell}{\partial y} &= y - \hat{y}"]


def pdflatex(source, tmp_path, name="doc"):
    (tmp_path / f"{name}.tex").write_text(source, encoding="utf-8")
    run = subprocess.run(["pdflatex", "-interaction=nonstopmode", "-halt-on-error",
                          "-no-shell-escape", f"{name}.tex"], cwd=tmp_path,
                         capture_output=True, timeout=120)
    log = run.stdout.decode("utf-8", "replace")
    assert run.returncode == 0, "\n".join(ln for ln in log.splitlines() if ln.startswith("!"))
    assert (tmp_path / f"{name}.pdf").stat().st_size > 1000


@needs_pdflatex
def test_lecture_document_compiles(tmp_path):
    d = sg.derive(sg.parse(LECTURE), x=2.0)
    doc = d.document()
    assert doc.startswith(r"\documentclass") and doc.rstrip().endswith(r"\end{document}")
    for part in (r"\subsection*{Function}", r"\subsection*{Computational graph}",
                 r"\subsection*{Forward pass}", r"\subsection*{Backward pass}", "58.598"):
        assert part in doc
    pdflatex(doc, tmp_path)


@needs_pdflatex
def test_mlp_and_symbolic_documents_compile(tmp_path):
    mlp = sg.mlp
    net = mlp([2, 2, 1], activation="tanh", loss="squared", seed=0)
    d = sg.derive(net.graph, net.feed([1.0, 2.0], [0.5]), quantities=True)
    pdflatex(d.document(), tmp_path, "mlp")
    pdflatex(sg.derive(sg.parse(LECTURE), symbolic=True).document(), tmp_path, "symbolic")
    odd = sg.parse("f = alpha*x_1 + loss/relu(theta2) - leaky_relu(-x_1) + abs(sigmoid(alpha))"
                   " + β*y_2_1 + é")
    at = {"alpha": 0.5, "x_1": -1.0, "loss": 2.0, "theta2": 3.0, "β": 1.0, "y_2_1": 2.0, "é": 1.0}
    pdflatex(sg.derive(odd, at).document(), tmp_path, "odd")


@needs_pdflatex
def test_pdf_writes_a_file(tmp_path):
    out = sg.derive(sg.parse(LECTURE), x=2.0).pdf(tmp_path / "lecture.pdf")
    assert open(out, "rb").read(5) == b"%PDF-"


def test_pdf_without_pdflatex(tmp_path, monkeypatch):
    import symgrad.show.latex as latex
    monkeypatch.setattr(latex.shutil, "which", lambda exe: None)
    with pytest.raises(SymgradError, match="pdflatex was not found"):
        sg.derive(sg.parse("f = x"), x=1.0).pdf(tmp_path / "x.pdf")


@needs_pdflatex
@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_random_documents(data, tmp_path_factory):
    """Random graphs at random points (and symbolically): each document compiles."""
    g = data.draw(graphs(max_depth=3))
    symbolic = data.draw(st.booleans())
    d = sg.derive(g, symbolic=True) if symbolic else sg.derive(g, data.draw(points(g)))
    pdflatex(d.document(), tmp_path_factory.mktemp("doc"))



def test_power_of_a_symgrad_function():
    """Found by test_random_documents: SymPy passes exp= to relu's _latex."""
    from symgrad.show.latex import LatexPrinter
    x = sg.parse("relu(x)**2").to_sympy()
    assert LatexPrinter().expr(x, ())[0] == r"\operatorname{relu}\left(x\right)^{2}"
    assert "relu" in sg.derive(sg.parse("x/(relu(x)**2 + 0.25)"), symbolic=True).latex()


def test_wrapped_continuation_keeps_its_minus_sign():
    """A negative term that starts a wrapped line is written "- ...", never "+ ..."
    (catches the mutant that prints every continuation line with "+")."""
    body = sg.derive(sg.parse("f = x*x - exp(x) - sin(x)"), x=1.0).latex(per_line=1)
    rows = body.split("\\\\\n")
    start = rows.index(r"&= -1 \times \cos\left(x\right) ")
    assert rows[start + 1:start + 4] == [r"&\qquad - 1 \times \exp\left(x\right) ",
                                         r"&\qquad + 1 \times 2 x ", "&= -1.2586"]
