"""Hostile node names through every front end and every printer (issue 11, items 1, 2, 4).

Names are drawn from TeX/DOT/HTML/XML specials, control characters, RTL
overrides, combining marks, non-ASCII letters and Greek.  Each front end that
takes arbitrary names (the builder's ``sg.variable``, Graph rows, ``from_sympy``)
either refuses a name with a clear symgrad error or builds a graph; the
printers are also checked on their own with graphs made from rows directly
(``Graph._trusted``), so they are safe whatever the front ends accept.  LaTeX is
compiled by the real pdflatex (one document per test), DOT rendered by
Graphviz and its SVG parsed as XML.
"""

import json
import subprocess
import warnings
import xml.etree.ElementTree as ET

import pytest
import sympy as sp
from hypothesis import HealthCheck, given, settings, strategies as st

import symgrad as sg
from symgrad.cli.main import derivation_json
from symgrad.show.dot import dot_source, render
from symgrad.errors import SymgradError
from symgrad.show.escape import ConfusableNamesWarning, latex_text, markdown_fence
from symgrad.core.graph import Graph
from symgrad.show.latex import LatexPrinter

HOSTILE = [r"\input{/etc/hostname}", r"\def\a{\a}\a", "größe", "ü", "Δw", "x\u202ey", "a\x00b",
           "\u0301x", "e\u0301\u0302", "х", "中文", "שלום", "ǟ", "ŋ", "a b", "$^_&%#~{}", "<>|\"'`",
           "--", "[x]", "*", "!`?`", "x\\", "xscr", "ά", "ς", "Ω", "Α", "ﬁ", "\ud800", "\U0001F600",
           "x\u0359", "ș", "ñ", "Ø", '<x> URL="javascript:alert(1)" label=<y>', "<b>bold</b>",
           "]]>&amp;", "```", "**x**", "\u2028", "\x1b[31m", "\ufeff", "\\N", "\\G\\E"]
ALPHABET = st.sampled_from(list("\\{}$&#^_%~<>\"'`|[]*!?-/= ,;:.@\n\t\r\x00\x07\x1b\u202e\u202d"
                                "\u200f\u2066\u0301\u0308\u20d7\u0359aAxyzßøłæöéΔαωΩςхуС中ש١"
                                "\ud800\ufeff\u2028"))
NAMES = st.text(ALPHABET, min_size=1, max_size=8)
SVG = "{http://www.w3.org/2000/svg}"


def rows_graph(names):
    """A graph over ``names`` (inputs) from rows, bypassing every front end's checks:
    f = sum_i names[i] * sin(names[i]); operation nodes get hostile names too."""
    rows, terms = [], []
    for i, n in enumerate(names):
        rows.append((n + "#sin" + str(i), "sin", (n,)))
        rows.append((n + "<mul>" + str(i), "mul", (n, rows[-1][0])))
        terms.append(rows[-1][0])
    rows.append(("f&" + names[0], "sum", tuple(terms)) if len(terms) > 1 else
                ("f&" + names[0], "exp", (terms[0],)))
    return Graph._trusted(rows, list(names), [rows[-1][0]], None)


def front_end_graphs(names):
    """Graphs over ``names`` from each front end that accepts them ("refused" otherwise)."""
    out = {}
    builders = {
        "variable": lambda: sg.Graph(sum((sg.variable(n) * sg.sin(sg.variable(n)) for n in names[1:]),
                                         sg.variable(names[0]) * 2)),
        "rows": lambda: sg.Graph({**{f"s{i}": ("sin", (n,)) for i, n in enumerate(names)},
                                  "f": ("sum", tuple(f"s{i}" for i in range(len(names))))}),
        "from_sympy": lambda: sg.from_sympy(sum(sp.Symbol(n) * sp.cos(sp.Symbol(n)) for n in names)),
    }
    for door, build in builders.items():
        try:
            out[door] = build()
        except SymgradError as err:                 # a clear refusal is fine
            assert str(err), door
            out[door] = "refused"
    return out


def distinct(names):
    return list(dict.fromkeys(names))


def pdflatex(source, tmp_path):
    """Compile with the real pdflatex (``-recorder``): it succeeds within 60 s and
    reads no file named by a name (``\\input{/etc/hostname}``)."""
    assert source.isascii(), "LaTeX output is pure ASCII"
    assert "\\input{/etc" not in source and "\\def\\a" not in source
    (tmp_path / "doc.tex").write_text(source)
    run = subprocess.run(["pdflatex", "-interaction=nonstopmode", "-halt-on-error", "-recorder",
                          "-no-shell-escape", "doc.tex"], cwd=tmp_path, capture_output=True,
                         timeout=60)
    log = run.stdout.decode("utf-8", "replace")
    assert run.returncode == 0, "\n".join(ln for ln in log.splitlines() if ln.startswith("!"))
    read = (tmp_path / "doc.fls").read_text()
    assert "/etc/hostname" not in read and "secret" not in read
    assert (tmp_path / "doc.pdf").read_bytes().startswith(b"%PDF")


def check_svg(svg: bytes):
    """The SVG parses as XML and has no link, script or event attribute."""
    root = ET.fromstring(svg)
    for el in root.iter():
        assert not el.tag.endswith("}a") and not el.tag.endswith("}script"), el.tag
        for key, value in el.attrib.items():
            assert "href" not in key and not key.startswith("on"), (key, value)
            assert "javascript" not in value
    return [t.text or "" for t in root.iter(f"{SVG}text")]


def all_text_outputs(g, point):
    d = sg.derive(g, point)
    outs = [d.text(), d.markdown(), json.dumps(derivation_json(d), ensure_ascii=True)]
    ds = sg.derive(g, symbolic=True)
    outs += [ds.text(), ds.markdown(), json.dumps(derivation_json(ds), ensure_ascii=True)]
    return d, ds, outs


def test_every_printer_on_the_catalogue(tmp_path):
    """One graph with every catalogued hostile name: LaTeX compiles, SVG is clean XML."""
    g = rows_graph(HOSTILE)
    point = {n: 0.5 for n in HOSTILE}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConfusableNamesWarning)
        d, ds, outs = all_text_outputs(g, point)
        for text in outs:
            assert "\u202e" not in text and "\x00" not in text and "\x1b" not in text
            assert "\u2028" not in text
            text.encode("utf-8")                    # no lone surrogate survives
        md = d.markdown()
        assert md.count("````text\n") == 2 and "\n```text" not in md   # fences outgrow the name's ```
        doc = d.document() + ds.document().split("\\begin{document}", 1)[1]
        doc = doc.replace("\\end{document}\n", "", 1)
        pdflatex(doc, tmp_path)
        src = sg.draw(g, point)
        assert "<<" not in src and "URL=" not in src.replace('URL=\\"', "")
        texts = check_svg(render(src, "svg", timeout=30))
    assert any("javascript:alert(1)" in t for t in texts)          # shown, as text
    assert any(t.endswith("x\\") for t in texts)                    # trailing backslash kept


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(NAMES, min_size=1, max_size=6).map(distinct))
def test_random_hostile_names_through_every_door(tmp_path_factory, names):
    tmp_path = tmp_path_factory.mktemp("names")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConfusableNamesWarning)
        graphs = [rows_graph(names)] + [g for g in front_end_graphs(names).values() if g != "refused"]
        latex, dots = [], []
        for g in graphs:
            point = {n: 0.25 for n in g.inputs}
            d, ds, outs = all_text_outputs(g, point)
            for text in outs:
                text.encode("utf-8")
                assert not any(c in text for c in "\x00\x07\x1b\u202e\u202d\u200f\u2066\ufeff\u2028")
            latex.append(d.document().split("\\begin{document}", 1)[1].replace("\\end{document}", ""))
            latex.append(LatexPrinter().derivation(ds))
            dots.append(dot_source(g, point))
        body = "\n\n".join(latex[:1] + [f"\\begin{{align*}}\n{x}\n\\end{{align*}}" for x in latex[1::2]])
        pdflatex(sg.derive(sg.parse("x"), x=1.0).document().replace(
            "\\end{document}", body + "\n\\end{document}"), tmp_path)
        # one dot run per example: the graphs side by side
        merged = "digraph all {\n" + "\n".join(
            f"subgraph cluster_{i} {{\n" + src.split("\n", 1)[1].rsplit("}", 1)[0].replace(
                "\tv", f"\tg{i}v").replace("\to", f"\tg{i}o").replace("\tl", f"\tg{i}l").replace(
                "-> v", f"-> g{i}v").replace("-> o", f"-> g{i}o") + "}" for i, src in enumerate(dots)) + "}\n"
        check_svg(render(merged, "svg", timeout=30))


# -- exact outcomes of the reproduced items ----------------------------------------------
def test_input_name_prints_literally_everywhere(tmp_path):
    """Issue 11 item 1: \\input and \\def names print as text, the PDF holds no file content."""
    for door, g in front_end_graphs([r"\input{/etc/hostname}", r"\def\a{\a}\a"]).items():
        if g == "refused":
            continue
        body = sg.derive(g, {n: 1.0 for n in g.inputs}).latex()
        assert r"\textbackslash{}input\{/etc/hostname\}" in body or r"\textbackslash{}def" in body, door
    g = rows_graph([r"\input{/etc/hostname}", r"\def\a{\a}\a"])
    d = sg.derive(g, {n: 1.0 for n in g.inputs})
    assert r"\text{\textbackslash{}input\{/etc/hostname\}}" in d.latex()
    assert r"\text{\textbackslash{}def\textbackslash{}a\{\textbackslash{}a\}\textbackslash{}a}" in d.latex()
    pdflatex(d.document(), tmp_path)            # finishes: \def never runs, no file is read
    secret = tmp_path / "secret.tex"
    secret.write_text("SECRET")
    g = rows_graph([rf"\input{{{secret}}}"])
    pdflatex(sg.derive(g, {g.inputs[0]: 1.0}).document(), tmp_path)


def test_prompt_labels_and_program_lines_escape_names():
    g = rows_graph([r"\input{x}", "größe"])
    lx = LatexPrinter()
    assert lx.name(r"\input{x}") == r"\text{\textbackslash{}input\{x\}}"
    from symgrad.teach.prompts import label, program_lines
    assert label("value", "a\u202eb", "f") == ("a\\u202eb", r"\text{a\textbackslash{}u202eb}")
    lines = program_lines(g, latex=True)
    assert all("\\input{" not in ln for ln in lines) and any(r'gr\"{o}\ss{}e' in ln for ln in lines)


def test_dot_injection_and_trailing_backslash(tmp_path):
    """Issue 11 item 2: no HTML-like label, no link; a trailing backslash is valid DOT."""
    name = '<x> URL="javascript:alert(1)" label=<y>'
    g = rows_graph([name, "back\\"])
    src = dot_source(g)
    assert '[label="<x> URL=\\"javascript:alert(1)\\" label=<y>"' in src
    assert '"back\\\\"' in src
    path = tmp_path / "g.svg"
    sg.draw(g, path=path)
    texts = check_svg(path.read_bytes())
    assert name in texts and "back\\" in texts


def test_non_ascii_names_are_legible():
    """Issue 11 item 4: no codepoint soup (größe used to print as gruf6udfe)."""
    lx = LatexPrinter()
    assert lx.name("größe") == r'\text{gr\"{o}\ss{}e}'
    assert lx.name("Δw") == r"\text{\ensuremath{\Delta}w}" and lx.name("w_Δ") == r"w_{\Delta}"
    assert latex_text("ü*Δw") == r'\"{u}{*}\ensuremath{\Delta}w'
    assert lx.name("α") == r"\alpha" and lx.name("х") == r"\text{\textsf{ha}}"
    assert "ufc" not in lx.name("ü") and "gruf6" not in lx.name("größe")


def test_mathscr_needs_no_extra_package(tmp_path):
    """Issue 11 item 4: parse("sin(xscr)") used to emit \\mathscr without mathrsfs."""
    d = sg.derive(sg.parse("sin(xscr)"), xscr=1.0)
    doc = d.document()
    assert r"\mathscr" not in doc and r"\mathcal{x}" in doc
    pdflatex(doc, tmp_path)


def test_markdown_fence_outgrows_backticks():
    assert markdown_fence("a ``` b") == "````" and markdown_fence("plain") == "```"
    g = rows_graph(["```"])
    md = sg.derive(g, {"```": 1.0}).markdown()
    assert "````text\n" in md and md.count("\n````\n") == 2


def test_confusable_names_warn():
    g = sg.parse("x*\u0445 + y")
    with pytest.warns(ConfusableNamesWarning, match=r"'x' and 'х' \(U\+0445 CYRILLIC SMALL LETTER HA\)"):
        sg.derive(g, x=1.0, **{"\u0445": 2.0}, y=3.0)
    with pytest.warns(ConfusableNamesWarning, match="draw: distinct node names print the same"):
        sg.draw(g)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        sg.derive(sg.parse("x*y"), x=1.0, y=2.0)                  # no false alarm


def test_cli_prints_the_warning_on_stderr():
    run = subprocess.run(["python", "-m", "symgrad", "derive", "x*\u0445", "--at", "x=1,\u0445=2"],
                         capture_output=True, text=True, timeout=60)
    assert run.returncode == 0
    assert run.stderr.strip().startswith("symgrad: warning: derive: distinct node names print the same")
    assert "Traceback" not in run.stderr and len(run.stderr.strip().splitlines()) == 1
