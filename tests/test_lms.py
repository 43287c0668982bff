"""The Moodle export grades like symgrad (issue 10).

Small reference implementations stand in for Moodle and STACK: Moodle's
numerical grading (qtype_numerical: answer +- (tolerance + 1e-14 * max(1, |answer|)),
first matching answer wins), the Cloze (multianswer) syntax, and STACK's AlgEquiv
(after ``subst(sg_defs, ...)``) through a tiny Maxima-subset parser into SymPy.
"""

import html
import math
import re
import xml.etree.ElementTree as ET

import pytest
import sympy as sp

import symgrad as sg
from symgrad.core.graph import Graph
from symgrad.errors import InputError
from symgrad.teach.exercise import exercise_from_graph
from symgrad.teach.prompts import formula_text
from symgrad.teach.lms import formula_point, maxima_functions, maxima, maxima_names, mistakes, moodle_xml
from symgrad.core.sym_functions import leaky_relu, relu
from symgrad.front.sympy_io import sympy_values, symbol
from symgrad.teach.tolerance import accepts, tolerance

NUMERIC_KINDS = ("forward", "backward", "mlp")
FORMULA_KINDS = ("local", "symbolic")


def _xml(exercises, **kw):
    text = moodle_xml(exercises, **kw)
    assert text.startswith('<?xml version="1.0" encoding="UTF-8"?>')
    return ET.fromstring(text)


# -- reference: Moodle numerical ---------------------------------------------------------
def moodle_numerical(answers, response: str):
    """``answers``: [(fraction, answer text, tolerance text, feedback)] in order.
    Returns (fraction, feedback) of the first answer whose interval holds the
    response (qtype_numerical_answer::within_tolerance, nominal), or None."""
    value = float(response)
    for fraction, text, tol, feedback in answers:
        if text == "*":
            return fraction, feedback
        a, t = float(text), abs(float(tol))
        t = t + 1e-14 * max(1.0, abs(a))
        if a - t <= value <= a + t:
            return fraction, feedback
    return None


def _numerical_answers(q):
    return [(float(a.get("fraction")), a.find("text").text, a.find("tolerance").text,
             a.find("feedback/text").text) for a in q.findall("answer")]


def _sheet(kind, n=3, difficulty=2):
    return [sg.exercise(kind, seed=s, difficulty=difficulty) for s in range(n)]


@pytest.mark.parametrize("kind", NUMERIC_KINDS)
def test_numerical_tolerance_is_the_one_rule_at_the_boundary(kind):
    exs = _sheet(kind)
    root = _xml(exs)
    items = [(ex, it) for ex in exs for it in ex.items]
    questions = root.findall("question")
    assert len(questions) == len(items)
    for q, (ex, it) in zip(questions, items):
        assert q.get("type") == "numerical"
        answers = _numerical_answers(q)
        assert answers[0][0] == 100 and float(answers[0][1]) == it.answer
        tol = tolerance(it.answer, ex.digits)
        for side in (-1, 1):
            inside = it.answer + side * tol * (1 - 1e-7)
            outside = it.answer + side * tol * (1 + 1e-6)
            assert accepts(it.answer, inside, ex.digits) and not accepts(it.answer, outside, ex.digits)
            assert moodle_numerical(answers, repr(inside))[0] == 100
            assert moodle_numerical(answers, repr(outside))[0] == 0


@pytest.mark.parametrize("kind", NUMERIC_KINDS)
def test_numerical_verdicts_agree_with_ex_grade(kind):
    for ex in _sheet(kind, n=2):
        root = _xml([ex])
        for q, it in zip(root.findall("question"), ex.items):
            answers = _numerical_answers(q)
            tol = tolerance(it.answer, ex.digits)
            for offset in (0.0, 0.3, -0.3, 25.0, -25.0):
                sub = it.answer + offset * tol
                moodle = moodle_numerical(answers, repr(sub))[0] == 100
                assert moodle == ex.grade({it.key: sub}).items[it.key].correct == (abs(offset) < 1)


def test_mistakes_are_answers_with_feedback():
    ex = sg.exercise(kind="backward", seed=7)
    root = _xml([ex])
    q = root.findall("question")[1]
    it = ex.items[1]
    fraction, feedback = moodle_numerical(_numerical_answers(q), repr(-it.answer))
    assert fraction == 0 and "sign error" in feedback
    assert ex.grade({it.key: -it.answer}).items[it.key].mistake == "sign"
    fraction, feedback = moodle_numerical(_numerical_answers(q), "12345")
    assert fraction == 0 and "not correct" in feedback


# -- reference: Cloze -----------------------------------------------------------------------
_CLOZE = re.compile(r"\{(\d*):NUMERICAL:(.*?)(?<!\\)\}", re.S)
_ALT = re.compile(r"(=|%(-?\d+)%)?(.+?)(?<!\\|&)(?=[~#}]|$)(#(.*?(?<!\\)(?=[~}]|$)))?", re.S)


def cloze_parts(text: str):
    """[[(fraction, answer, tolerance, feedback)]] per embedded question, read
    the way Moodle's multianswer import does (feedback entity-decoded once)."""
    parts = []
    for m in _CLOZE.finditer(text):
        alts, rest = [], m.group(2)
        while rest:
            a = _ALT.match(rest.lstrip("~"))
            fraction = 100 if a.group(1) == "=" else float(a.group(2) or 0)
            value, _, tol = a.group(3).partition(":")
            feedback = html.unescape(a.group(5) or "").replace("\\}", "}").replace("\\#", "#")
            alts.append((fraction, value, tol or "0", feedback))
            rest = rest.lstrip("~")[a.end():]
        parts.append(alts)
    return parts


@pytest.mark.parametrize("kind", ["backward", "symbolic", "mlp"])
def test_cloze_one_question_per_exercise_same_verdicts(kind):
    exs = _sheet(kind, n=2)
    root = _xml(exs, layout="cloze")
    questions = root.findall("question")
    assert [q.get("type") for q in questions] == ["cloze"] * len(exs)
    for q, ex in zip(questions, exs):
        parts = cloze_parts(q.find("questiontext/text").text)
        assert len(parts) == len(ex.items)
        for alts, it in zip(parts, ex.items):
            value = float(alts[0][1])
            if not it.formula:
                assert value == it.answer
            tol = tolerance(value, ex.digits)
            assert float(alts[0][2]) == tol
            assert moodle_numerical(alts, repr(value + tol * (1 - 1e-7)))[0] == 100
            assert (moodle_numerical(alts, repr(value - tol * (1 + 1e-6))) or (0,))[0] == 0


# -- Maxima subset parser (tests only) ------------------------------------------------------
_TOKEN = re.compile(r"\s*(?:(\d+(?:\.\d*)?(?:[eE][-+]?\d+)?)|(%?[A-Za-z_][A-Za-z0-9_]*)|(.))")
_BINARY = {"+": (10, sp.Add), "-": (10, None), "*": (20, sp.Mul), "/": (20, None), "^": (30, sp.Pow)}
_MAXIMA_TO_SYMPY = {
    "exp": sp.exp, "log": sp.log, "sin": sp.sin, "cos": sp.cos, "tan": sp.tan, "tanh": sp.tanh,
    "sqrt": sp.sqrt, "abs": sp.Abs, "signum": sp.sign,
    "sigmoid": lambda x: 1 / (1 + sp.exp(-x)), "softplus": lambda x: sp.log(1 + sp.exp(x)),
    "relu": lambda x: sp.Max(x, 0), "sg_step": lambda x: sp.Heaviside(x, 0),
}


def parse_maxima(text: str, names: dict) -> sp.Expr:
    """A Pratt parser for the subset the exporter writes (numbers, names, %pi, %e,
    + - * / ^, unary minus, calls).  ``names`` maps Maxima names to SymPy symbols."""
    tokens = [m.groups() for m in _TOKEN.finditer(text) if any(m.groups())]
    pos = 0

    def peek():
        return tokens[pos] if pos < len(tokens) else (None, None, None)

    def expr(min_prec):
        nonlocal pos
        num, name, op = peek()
        pos += 1
        if num:
            left = sp.Rational(num)
        elif name in ("%pi", "%e"):
            left = sp.pi if name == "%pi" else sp.E
        elif name and peek()[2] == "(":
            pos += 1
            args = [expr(0)]
            while peek()[2] == ",":
                pos += 1
                args.append(expr(0))
            assert peek()[2] == ")", text
            pos += 1
            left = _MAXIMA_TO_SYMPY[name](*args)
        elif name:
            left = names[name]
        elif op == "-":
            left = -expr(15)
        elif op == "(":
            left = expr(0)
            assert peek()[2] == ")", text
            pos += 1
        else:
            raise AssertionError(f"unexpected {op!r} in {text!r}")
        while True:
            op = peek()[2]
            if op not in _BINARY or _BINARY[op][0] < min_prec:
                return left
            prec = _BINARY[op][0]
            pos += 1
            right = expr(prec if op == "^" else prec + 1)
            left = {"+": lambda: left + right, "-": lambda: left - right, "*": lambda: left * right,
                    "/": lambda: left / right, "^": lambda: left ** right}[op]()

    out = expr(0)
    assert pos == len(tokens), f"trailing text in {text!r}"
    return out


def _equal(a: sp.Expr, b: sp.Expr) -> bool:
    """AlgEquiv stand-in: the difference simplifies to 0 (floats made exact).  A
    difference that is clearly nonzero at a rational point is not 0 (a cheap
    first look; simplify decides the rest)."""
    d = sp.nsimplify(a - b, rational=True)
    d = d.replace(lambda f: isinstance(f, relu), lambda f: sp.Max(0, f.args[0]))   # relu(u) = max(0, u)
    for k in (sp.Rational(3, 7), sp.Rational(-5, 11)):
        at = d.xreplace({s: k + i * sp.Rational(1, 13) for i, s in
                         enumerate(sorted(d.free_symbols, key=str))}).evalf(30)
        if at.is_number and at.is_finite and abs(complex(at)) > 1e-9:
            return False
    return sp.expand(d) == 0 or sp.simplify(d) == 0


def _stack_parts(q, ex):
    names = maxima_names(ex.graph.nodes)
    syms = {v: symbol(k) for k, v in names.items()}
    qvars = q.find("questionvariables/text").text
    found = dict(re.findall(r"^(sg_\w+): (.*);$", qvars, re.M))
    defs = [row.split(" = ", 1) for row in found["sg_defs"][1:-1].split(", ") if " = " in row]
    subst = [(syms[k], parse_maxima(v, syms)) for k, v in defs] if ex.graph.program else []
    return parse_maxima(found["sg_ta"], syms), subst, names, syms


def _substituted(e, subst):
    for old, new in subst:                         # Maxima's subst: serial, left to right
        e = e.subs(old, new)
    return e


@pytest.mark.parametrize("kind", FORMULA_KINDS)
@pytest.mark.parametrize("difficulty", [1, 2, 3])
def test_stack_questions_structure_and_maxima_answers(kind, difficulty):
    exs = _sheet(kind, n=3, difficulty=difficulty)
    root = _xml(exs)
    items = [(ex, it) for ex in exs for it in ex.items]
    for q, (ex, it) in zip(root.findall("question"), items, strict=True):
        assert q.get("type") == "stack"
        text = q.find("questiontext/text").text
        assert "[[input:ans1]]" in text and "[[validation:ans1]]" in text
        assert q.find("specificfeedback/text").text == "[[feedback:prt1]]"
        inp = q.find("input")
        assert (inp.find("name").text, inp.find("type").text, inp.find("tans").text) == \
            ("ans1", "algebraic", "sg_ta")
        assert inp.find("forbidfloat").text == "0" and inp.find("insertstars").text == "0"
        prt = q.find("prt")
        assert prt.find("name").text == "prt1"
        assert "subst(sg_defs, ans1)" in prt.find("feedbackvariables/text").text
        nodes = prt.findall("node")
        assert nodes[0].find("answertest").text == "AlgEquiv"
        assert (nodes[0].find("sans").text, nodes[0].find("tans").text) == ("sg_sa", "sg_tb")
        assert all(n.find("answertest").text == "AlgEquiv" for n in nodes)
        assert q.findall("qtest")[0].find("expected/expectedscore").text == "1.0000000"
        ta, subst, _, _ = _stack_parts(q, ex)
        assert _equal(ta, it.answer), (it.key, ta, it.answer)


def _graded_alike(ex, it, q, submission: sp.Expr) -> bool:
    """STACK's verdict (reference) on ``submission``, checked equal to ex.grade's."""
    ta, subst, names, syms = _stack_parts(q, ex)
    student = parse_maxima(maxima(submission, names), syms)
    stack = _equal(_substituted(student, subst), _substituted(ta, subst))
    symgrad = ex.grade({it.key: submission}).items[it.key].correct
    assert stack == symgrad, (it.key, submission, stack, symgrad)
    return stack


def test_lecture_rewrites_accepted_in_both():
    g = sg.parse("a = x**2\nb = exp(a)\nc = a + b\nd = sqrt(c)\ne = cos(c)\nf = d + e")
    ex = exercise_from_graph(g, {"x": 2.0}, kind="local")
    root = _xml([ex])
    c = sp.Symbol("c")
    by_key = {it.key: (it, q) for it, q in zip(ex.items, root.findall("question"))}
    it, q = by_key["dd/dc"]
    assert _graded_alike(ex, it, q, c ** sp.Rational(-1, 2) / 2)
    assert _graded_alike(ex, it, q, 1 / (2 * sp.Symbol("d")))
    assert not _graded_alike(ex, it, q, 1 / sp.sqrt(c))
    note = q.find("questiontext/text").text
    assert "v_e" in note                      # the node e would read as %e in STACK: renamed


def test_maxima_printer_round_trips():
    x, y, c = sp.symbols("x y c")
    names = {n: n for n in "xyc"}
    syms = {n: sp.Symbol(n) for n in "xyc"}
    cases = [-sp.sin(c) + 1 / (2 * sp.sqrt(c)), sp.pi * x**2 / 3, x ** -2, 1 / (x * y),
             sp.Rational(-3, 2) * x / y, x ** sp.Rational(3, 2), sp.exp(-x) / (1 + sp.exp(-x)) ** 2,
             sp.Float(0.5) * x, (x + 1) ** (x - 1), -(x + y) * c, 2 ** x, sp.exp(2) - sp.E * x,
             sp.Abs(y) * sp.tanh(x), sp.log(1 + sp.exp(x)), x - 2 * y, sp.Integer(-3)]
    for e in cases:
        assert _equal(parse_maxima(maxima(e, names), syms), e), (e, maxima(e, names))
    assert maxima(relu(x) + leaky_relu(y, sp.Rational(1, 100))) == "leaky_relu(y, 1/100) + relu(x)"
    assert maxima(sp.Piecewise((x, x > 0), (x / 100, True))) == "(if x > 0 then x else x/100)"
    assert maxima(sp.Heaviside(x, 0) * y) == "y*sg_step(x)"
    defs = maxima_functions()                      # derived from the op table
    assert all(":=" in d for d in defs)
    assert {d.split("(", 1)[0] for d in defs} == {"sigmoid", "softplus", "relu", "leaky_relu", "elu",
                                                  "sg_step"}


def test_formulas_as_numbers_at_a_point():
    for kind in FORMULA_KINDS:
        for ex in _sheet(kind, n=3, difficulty=2):
            root = _xml([ex], formulas="numeric")
            for q, it in zip(root.findall("question"), ex.items):
                assert q.get("type") == "numerical"
                pt = formula_point(ex, it)
                answers = _numerical_answers(q)
                assert float(answers[0][1]) == pt.value
                values = ({symbol(k): v for k, v in pt.arguments.items()} if it.what == "local"
                          else {symbol(k): v for k, v in ex.graph.forward(pt.inputs).items()})
                expected = float(it.answer.xreplace(values))
                assert math.isclose(expected, pt.value, rel_tol=1e-9, abs_tol=1e-12)
                tol = tolerance(pt.value, ex.digits)
                for fraction, text, _, feedback in answers[1:]:
                    if text != "*":                    # every listed mistake is told apart
                        assert fraction == 0 and abs(float(text) - pt.value) > tol
                sign = moodle_numerical(answers, repr(-pt.value))
                assert pt.value == 0 or sign[0] == 0
                wrong = (mistakes(ex, it, arguments=pt.arguments) if it.what == "local"
                         else mistakes(ex, it, pt.inputs))
                distinct = [v for *_, v in wrong if abs(v - pt.value) > 1e-9 * max(1, abs(pt.value))]
                assert all(abs(v - pt.value) >= 20 * tol for v in distinct), (it.key, pt, wrong)


def test_solution_goes_into_general_feedback():
    ex = sg.exercise(kind="backward", seed=7)
    with_solution = _xml([ex], solution=True)
    without = _xml([ex])
    for q in with_solution.findall("question"):
        assert "Backward pass" in html.unescape(q.find("generalfeedback/text").text)
    assert all(not q.find("generalfeedback/text").text for q in without.findall("question"))
    sheet = sg.exercise_sheet(1, seed=1, solutions=True)
    assert "Backward pass" in sheet.moodle()
    assert "Backward pass" in sheet.json() and "solution" not in sg.exercise_sheet(1, seed=1).json()


NASTY = "a<b>&\x01]]}~#:{1:NUMERICAL:=1}[[input:x]]\\($"


@pytest.mark.parametrize("layout, formulas", [("items", "stack"), ("items", "numeric"),
                                              ("cloze", "stack")])
@pytest.mark.parametrize("kind", ["backward", "local", "symbolic"])
def test_any_node_name_is_escaped(kind, layout, formulas):
    # The doors refuse control characters in names (test_names); the export must be
    # safe on its own, so the graph is made from rows directly.
    g = Graph._trusted([(NASTY, "sin", ("x",)), ("f", "mul", (NASTY, "x"))], ["x"], ["f"], None)
    ex = exercise_from_graph(g, {"x": 0.7}, kind=kind)
    text = moodle_xml([ex], layout=layout, formulas=formulas, solution=True)
    root = ET.fromstring(text)                                 # well formed
    shown = "a<b>&\\x01]]}~#:{1:NUMERICAL:=1}[[input:x]]\\($"
    for q in root.iter("question"):
        body = q.find("questiontext/text").text
        assert "\x01" not in text and "<b>" not in body
        assert body.count("[[input:") == (1 if q.get("type") == "stack" else 0)
        embedded = len(ex.items) if layout == "cloze" else 0
        assert body.count("{1:NUMERICAL:") == len(cloze_parts(body)) == embedded
        if layout == "cloze":
            for alts in cloze_parts(body):
                for _, _, _, feedback in alts:
                    assert "<b>" not in feedback
            names = [f for alts in cloze_parts(body) for *_, f in alts if "a&lt;b" in f]
            assert names and all(shown in html.unescape(f) for f in names)
        else:
            assert shown in html.unescape(q.find("name/text").text + body)
    if formulas == "stack" and layout == "items" and kind != "backward":
        assert "node1" in text                                 # an alias Maxima can read


def test_bad_options_are_clear_errors():
    ex = sg.exercise(kind="backward", seed=1)
    with pytest.raises(InputError, match="formulas must be one of stack, numeric"):
        moodle_xml([ex], formulas="shortanswer")
    with pytest.raises(InputError, match="layout must be one of items, cloze"):
        moodle_xml([ex], layout="table")


# -- three graders, one verdict: ex.grade, the quiz, the Moodle definition -------------------
def _quiz_verdicts(ex, lines) -> list:
    """The quiz's verdict on each item (answered in order with ``lines``)."""
    from symgrad.cli.teach import quiz
    feed, said = iter(lines), []
    assert quiz(ex, read=lambda prompt: next(feed), write=said.append, solution=False) == 0
    shown = [s.strip() for s in said if s.startswith("  correct") or s.startswith("  not right")]
    assert len(shown) == len(ex.items), said
    return [s.startswith("correct") for s in shown]


BOUNDARY = {"inside": 1 - 1e-7, "outside": 1 + 1e-6}


@pytest.mark.parametrize("kind", NUMERIC_KINDS)
@pytest.mark.parametrize("difficulty", [1, 3])
def test_numbers_three_graders_same_verdict_at_the_boundary(kind, difficulty):
    """issue 10: ex.grade, the quiz and Moodle (per item and Cloze) agree on every
    submission, right at the tolerance on both sides."""
    for ex in _sheet(kind, n=2, difficulty=difficulty):
        items_q = _xml([ex]).findall("question")
        cloze = cloze_parts(_xml([ex], layout="cloze").find("question/questiontext/text").text)
        tols = [tolerance(it.answer, ex.digits) for it in ex.items]
        cases = [(f"{where} {side:+d}", [it.answer + side * t * f for it, t in zip(ex.items, tols)],
                  where == "inside") for where, f in BOUNDARY.items() for side in (-1, 1)]
        cases.append(("exact", [it.answer for it in ex.items], True))
        cases.append(("negated", [-it.answer for it in ex.items], None))
        for name, values, want in cases:
            texts = [repr(v) for v in values]
            graded = [ex.grade({it.key: t}).items[it.key].correct for it, t in zip(ex.items, texts)]
            quizzed = _quiz_verdicts(ex, texts)
            moodle = [moodle_numerical(_numerical_answers(q), t)[0] == 100
                      for q, t in zip(items_q, texts)]
            in_cloze = [(moodle_numerical(alts, t) or (0,))[0] == 100 for alts, t in zip(cloze, texts)]
            rule = [accepts(it.answer, v, ex.digits) for it, v in zip(ex.items, values)]
            assert graded == quizzed == moodle == in_cloze == rule, (ex, name)
            if want is not None:
                assert all(g == want for g in graded), (ex, name, graded)


def _formula_submissions(ex, it):
    values = {symbol(k): v for k, v in sympy_values(ex.graph).items()}
    right = it.answer
    subs = [(right, True), (sp.expand(right.xreplace(values)), True), (right + 1, False),
            (2 * right + 1, False)]
    return subs + ([(-right, False)] if right != 0 else [])


@pytest.mark.parametrize("kind", FORMULA_KINDS)
def test_formulas_three_graders_same_verdict(kind):
    """ex.grade, the quiz and STACK (reference AlgEquiv after subst) agree; the
    plain-Moodle form (the formula's value at the stated point, one tolerance
    rule) agrees on submissions that are evaluable there, and at its boundary."""
    for ex in _sheet(kind, n=2, difficulty=2):
        stack_q = _xml([ex]).findall("question")
        numeric_q = _xml([ex], formulas="numeric").findall("question")
        per_item = [_formula_submissions(ex, it) for it in ex.items]
        for round_ in range(len(per_item[0])):
            subs = [s[min(round_, len(s) - 1)] for s in per_item]
            texts = [formula_text(sub) for sub, _ in subs]
            graded = [ex.grade({it.key: t}).items[it.key].correct for it, t in zip(ex.items, texts)]
            assert graded == [want for _, want in subs], (ex, texts)
            assert _quiz_verdicts(ex, texts) == graded, (ex, texts)
            for it, q, (sub, _), ok in zip(ex.items, stack_q, subs, graded):
                assert _stack_verdict(ex, q, sub) == ok, (it.key, sub)
        for it, q, (sub, ok) in ((it, q, s) for it, q, ss in zip(ex.items, numeric_q, per_item)
                                 for s in ss):
            value = _value_at_point(ex, it, sub)
            if value is not None:
                answers = _numerical_answers(q)
                assert (moodle_numerical(answers, repr(value)) or (0,))[0] == (100 if ok else 0)
        for it, q in zip(ex.items, numeric_q):
            pt, answers = formula_point(ex, it), _numerical_answers(q)
            tol = tolerance(pt.value, ex.digits)
            for where, f in BOUNDARY.items():
                for side in (-1, 1):
                    v = pt.value + side * tol * f
                    assert accepts(pt.value, v, ex.digits) == (where == "inside")
                    assert (moodle_numerical(answers, repr(v)) or (0,))[0] == \
                        (100 if where == "inside" else 0)


def _stack_verdict(ex, q, submission) -> bool:
    ta, subst, names, syms = _stack_parts(q, ex)
    student = parse_maxima(maxima(submission, names), syms)
    return _equal(_substituted(student, subst), _substituted(ta, subst))


def _value_at_point(ex, it, sub):
    """``sub`` at the point the plain-Moodle question states (None if it uses
    names the statement does not give)."""
    pt = formula_point(ex, it)
    given = pt.arguments if it.what == "local" else ex.graph.forward(pt.inputs)
    values = {symbol(k): v for k, v in given.items()}
    if not sub.free_symbols <= set(values):
        return None
    return float(sub.xreplace(values))
