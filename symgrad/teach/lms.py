"""Moodle XML export that grades like symgrad.

Every asked value becomes a question whose verdicts agree with ``ex.grade``:

* **Numbers** are Moodle ``numerical`` questions.  The answer is the exact value
  and the tolerance is :func:`symgrad.teach.tolerance.tolerance` (Moodle accepts
  ``answer +- tolerance``, bounds included, as :func:`symgrad.teach.tolerance.accepts`
  does).  The common mistakes are extra answers worth 0 % with their feedback.
* **Formulas** are never string matches.  ``formulas="stack"`` writes questions
  of the STACK question type (Moodle plugin ``qtype_stack``): the answer in
  Maxima syntax, graded by algebraic equivalence (``AlgEquiv``) after the node
  names are replaced by their definitions, as symgrad's grader does.
  ``formulas="numeric"`` needs no plugin: a ``numerical`` question asks for the
  formula's value at a stated point, chosen so that the common mistakes (sign,
  a forgotten inner derivative, the function instead of its derivative, a
  missing path) give numbers far outside the tolerance.
* ``layout="cloze"`` writes one Cloze (``multianswer``) question per exercise,
  every item an embedded ``{1:NUMERICAL:=value:tolerance#feedback~...}`` (a
  Cloze cannot embed STACK, so formulas are asked at a point there).

Every text is escaped: node names may hold markup, Cloze or STACK syntax
(``{ } ~ # [[ ]]``) or control characters; the XML stays well formed and the
feedback shows the name literally (control characters as ``\\x01``, :func:`symgrad.show.escape.visible`).
"""

from __future__ import annotations

import html
import math
import random
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass

import numpy as np
import sympy as sp
from sympy.functions.elementary.piecewise import ExprCondPair

from ..errors import InputError
from ..show.escape import visible
from ..core.graph import is_node
from ..core.ops import DERIVATIVE_OPS, NUM, OPS, SYM, derived, sympy_heads
from .practice import edge_pass, local_values, smooth_point
from ..front.sympy_io import literal, symbol
from .tolerance import tolerance

__all__ = ["moodle_xml", "maxima", "maxima_names", "mistakes", "formula_point", "visible",
           "FORMULAS", "LAYOUTS", "maxima_functions"]

FORMULAS = ("stack", "numeric")
"""How formula items are exported: STACK questions or a value at a point."""
LAYOUTS = ("items", "cloze")
"""One question per asked value, or one Cloze question per exercise."""

_MAXIMA_NATIVE = frozenset({"exp", "log", "sin", "cos", "tan", "tanh", "sqrt", "abs"})
_STEP = "sg_step(x) := if x > 0 then 1 else 0"       # Heaviside(x, 0): relu's derivative


@derived
def maxima_functions() -> tuple:
    """Maxima definitions of the op table's functions that Maxima lacks (in every
    STACK question), derived from each op's SymPy formula: a function of the table
    (relu, leaky_relu, elu, or one registered later) is written as its Piecewise,
    a compound (sigmoid, softplus) as its formula; an op's constant parameters are
    optional, with the op's defaults.

    >>> maxima_functions()[1]
    'relu(x) := (if x > 0 then x else 0)'
    """
    defs = []
    x = sp.Symbol("x")
    for op in OPS.values():
        if not op.call or op.name in _MAXIMA_NATIVE or op.arity < 0 or op.name in DERIVATIVE_OPS:
            continue        # n-ary ops (wsum, the losses) are not typed: their answers are written out
        params = sp.symbols(f"sg_p0:{len(op.params)}")
        e = op.apply(SYM, x, *params)
        if type(e).__name__ == op.name:                 # the table's own SymPy function
            e = e.rewrite(sp.Piecewise)
        body = maxima(e, {"x": "x", **{str(p): str(p) for p in params}})
        head = "x"
        for i, (pname, default) in enumerate(op.params):
            body = body.replace(f"sg_p{i}", f"(if {pname} = [] then {maxima(sp.nsimplify(default), {})} "
                                            f"else first({pname}))")
            head += f", [{pname}]"
        defs.append(f"{op.name}({head}) := {body}")
    return (*defs, _STEP)


def _student_words() -> tuple:
    """The functions students may type besides Maxima's own."""
    return tuple(d.split("(", 1)[0] for d in maxima_functions() if not d.startswith("sg_"))


_RESERVED = frozenset(
    "e i j pi inf minf und ind infinity zeroa zerob true false and or not if then else elseif "
    "for do while unless thru step in from return block lambda at diff integrate int sum "
    "product limit subst ev max min abs exp log sqrt sin cos tan tanh sinh cosh cot sec csc "
    "asin acos atan signum sign floor ceiling beta gamma zeta psi del erf li first rest "
    "ans1 prt1 sg_ta sg_tb sg_sa sg_defs sg_fx sg_step sigmoid softplus relu leaky_relu elu "
    "mod factor expand ratsimp simp print display".split())

# -- text ---------------------------------------------------------------------------------
_ENTITIES = str.maketrans({"[": "&#91;", "]": "&#93;", "{": "&#123;", "}": "&#125;",
                           "\\": "&#92;", "$": "&#36;", "~": "&#126;", "@": "&#64;"})


def _html(text: str, keep_lines: bool = False) -> str:
    """``text`` as HTML that shows it literally, inert for Moodle's filters, Cloze
    and STACK (``{ } [ ] \\ $ ~ @`` become character references)."""
    return html.escape(visible(text, keep_lines)).translate(_ENTITIES)


def _cloze_feedback(text: str) -> str:
    """Cloze feedback: Moodle decodes HTML entities in it once, so escape twice."""
    return _html(text).replace("&", "&amp;")


def _number(v: float) -> str:
    """A float as Moodle reads it back exactly (shortest round-trip decimal)."""
    return repr(float(v)).replace("e+", "e")


# -- Maxima --------------------------------------------------------------------------------
ADD, NEG, MUL, POW, ATOM = 10, 15, 20, 30, 100
@derived
def _funcs() -> dict:
    """SymPy function name -> Maxima name: the op table's functions by op name, plus
    ``sign`` and relu's step."""
    return {**{cls.__name__: op.name for cls, op in sympy_heads().items()},
            "sign": "signum", "Heaviside": "sg_step"}


_RELATIONS = {"StrictGreaterThan": ">", "StrictLessThan": "<", "GreaterThan": ">=",
              "LessThan": "<=", "Equality": "="}


def maxima_names(names) -> dict:
    """``{symgrad name: Maxima name}``: a name Maxima or STACK would misread (``e``,
    ``pi``, non-ASCII, markup...) gets an alias ``v_NAME`` or ``node1``, ``node2``."""
    names = list(dict.fromkeys(names))
    taken = set(names) | _RESERVED | set(_student_words())
    out, k = {}, 0
    for n in names:
        if re.fullmatch(r"[A-Za-z][A-Za-z0-9_]*", n) and n not in _RESERVED and n not in _student_words() and not n.startswith("sg_"):
            out[n] = n
            continue
        alias = f"v_{n}"
        while not re.fullmatch(r"[A-Za-z][A-Za-z0-9_]*", alias) or alias in taken:
            k += 1
            alias = f"node{k}"
        taken.add(alias)
        out[n] = alias
    return out


def _exact(f: sp.Float) -> sp.Rational:
    return sp.Rational(repr(float(f)))


def _num_text(e: sp.Expr) -> tuple[str, int]:
    r = _exact(e) if isinstance(e, sp.Float) else sp.Rational(e)
    s = str(r.p) if r.q == 1 else f"{r.p}/{r.q}"
    return s, (NEG if r < 0 else (ATOM if r.q == 1 else MUL))


def _wrap(part: tuple[str, int], need: int) -> str:
    return f"({part[0]})" if part[1] < need else part[0]


def _power(base: tuple[str, int], k) -> tuple[str, int]:
    """``base`` to the positive number ``k``."""
    if k == 1:
        return base
    if k == sp.Rational(1, 2):
        return f"sqrt({base[0]})", ATOM
    return f"{_wrap(base, ATOM)}^{_wrap(_num_text(k), ATOM)}", POW


def _mul(e: sp.Expr, got) -> tuple[str, int]:
    factors = e.args if isinstance(e, sp.Mul) else (e,)
    coeff = sp.Integer(1)
    for f in factors:
        if isinstance(f, sp.Number):
            coeff *= _exact(f) if isinstance(f, sp.Float) else f
    factors = [f for f in factors if not isinstance(f, sp.Number)]
    num, den = [], []
    for f in factors:
        if isinstance(f, sp.Pow) and f.exp.is_number and f.exp < 0:
            den.append(_power(got(f.base), -f.exp))
        else:
            num.append(got(f))
    if abs(coeff.q) != 1:
        den.insert(0, (str(coeff.q), ATOM))
    if abs(coeff.p) != 1 or not num:
        num.insert(0, (str(abs(coeff.p)), ATOM))
    top = "*".join(_wrap(p, MUL) for p in num)
    if den:
        bottom = "*".join(_wrap(p, MUL) for p in den)
        top += "/" + (f"({bottom})" if len(den) > 1 or den[0][1] <= MUL else bottom)
    return ("-" + top, NEG) if coeff < 0 else (top, MUL)


def _add(e: sp.Add, got) -> tuple[str, int]:
    parts = [got(t) for t in e.as_ordered_terms()]
    text = _wrap(parts[0], ADD)
    for s, p in parts[1:]:
        text += f" - {s[1:]}" if p == NEG else f" + {_wrap((s, p), ADD)}"
    return text, ADD


def _pow(e: sp.Pow, got) -> tuple[str, int]:
    base, ex = e.args
    if base is sp.E:
        return f"exp({got(ex)[0]})", ATOM
    if ex.is_number and ex < 0:
        return _mul(e, got)
    if ex.is_number:
        return _power(got(base), ex)
    return f"{_wrap(got(base), ATOM)}^{_wrap(got(ex), ATOM)}", POW


def _function(e, got) -> tuple[str, int]:
    name = _funcs().get(type(e).__name__)
    if name is None:
        raise InputError(f"cannot write {type(e).__name__} in Maxima (in {e}); "
                         f"use formulas='numeric' for this exercise")
    args = e.args[:1] if name == "sg_step" else e.args
    return f"{name}({', '.join(got(a)[0] for a in args)})", ATOM


def _piecewise(e: sp.Piecewise, got) -> tuple[str, int]:
    text = ""
    for i, (val, cond) in enumerate(e.args):
        if cond == sp.true:
            return (f"({text} else {got(val)[0]})", ATOM) if text else got(val)
        text += f"{' elseif' if i else 'if'} {got(cond)[0]} then {got(val)[0]}"
    return f"({text})", ATOM


def _relation(e, got) -> tuple[str, int]:
    a, b = (_wrap(got(x), ADD) for x in e.args)
    return f"{a} {_RELATIONS[type(e).__name__]} {b}", 5


def _node(e, got, names: dict) -> tuple[str, int]:
    if isinstance(e, sp.Symbol):
        if e.name not in names:
            raise InputError(f"unknown name {e.name!r} in a formula answer")
        return names[e.name], ATOM
    if e is sp.pi or e is sp.E:
        return ("%pi" if e is sp.pi else "%e"), ATOM
    if isinstance(e, sp.Rational | sp.Float):
        if not e.is_finite:
            raise InputError(f"cannot write the non-finite number {e} in Maxima")
        return _num_text(e)
    if isinstance(e, sp.Add):
        return _add(e, got)
    if isinstance(e, sp.Mul):
        return _mul(e, got)
    if isinstance(e, sp.Pow):
        return _pow(e, got)
    if isinstance(e, sp.Piecewise):
        return _piecewise(e, got)
    if isinstance(e, sp.logic.boolalg.BooleanAtom):
        return ("true" if e else "false"), ATOM
    if isinstance(e, ExprCondPair):                 # read by _piecewise through its parts
        return "", ATOM
    if type(e).__name__ in _RELATIONS:
        return _relation(e, got)
    if isinstance(e, sp.Function):
        return _function(e, got)
    raise InputError(f"cannot write {e} ({type(e).__name__}) in Maxima")


def maxima(expr, names: dict | None = None) -> str:
    """A SymPy expression as Maxima text (``%pi``, ``%e``, ``^``, exact rationals;
    symgrad's functions by name, see :func:`maxima_functions`).  Iterative.

    ``names`` maps symbol names to Maxima names (default: :func:`maxima_names`).

    >>> import sympy as sp
    >>> x, c = sp.symbols("x c")
    >>> maxima(-sp.sin(c) + 1 / (2 * sp.sqrt(c)) + sp.pi * x**2 / 3)
    '%pi*x^2/3 - sin(c) + 1/(2*sqrt(c))'
    """
    expr = literal(expr) if isinstance(expr, int | float) else expr
    if names is None:
        names = maxima_names(sorted(s.name for s in expr.free_symbols))
    done: dict = {}
    stack = [(expr, False)]
    while stack:                                    # post-order, explicit stack
        e, ready = stack.pop()
        if e in done:
            continue
        if ready or not e.args or isinstance(e, sp.Rational | sp.Float):
            done[e] = _node(e, done.__getitem__, names)
        else:
            stack.append((e, True))
            stack.extend((a, False) for a in e.args if a not in done)
    return done[expr][0]


# -- mistakes and points -------------------------------------------------------------------
@dataclass(frozen=True)
class Point:
    """Where a formula item is asked: ``inputs`` (symbolic derivatives) or the
    consumer's ``arguments`` (local derivatives), and the value there."""

    inputs: dict
    arguments: dict
    value: float


def _at(ex, point: dict):
    with np.errstate(all="ignore"):
        vals = dict(ex.graph.forward(point))
        loc = local_values(ex.graph, vals)
        adj = edge_pass(ex.graph, vals, ex.output, locals_=loc)
    return vals, loc, adj


def _local_at(ex, item, args: dict) -> tuple[float, float]:
    """``(local derivative, consumer value)`` with the consumer's node arguments given."""
    op, raw = ex.graph.op(item.consumer), ex.graph.args(item.consumer)
    argv = [args[a] if is_node(a) else a for a in raw]
    from ..core.ops import OPS
    spec = OPS[op]
    with np.errstate(all="ignore"):
        out = spec.apply(NUM, *argv)
        return float(spec.partials(NUM, out, *argv)[item.position]), float(out)


def _asked(ex, item, vals, loc, adj) -> float:
    if item.what == "value":
        return float(vals[item.node])
    if item.what == "local":
        return float(loc[(item.consumer, item.position)])
    return float(adj.get(item.node, 0.0))


def mistakes(ex, item, point: dict | None = None, arguments: dict | None = None) -> list:
    """``[(code, feedback, value)]``: the numbers the common mistakes give for
    ``item`` at ``point`` (inputs; default the exercise's point), or for a local
    derivative at the consumer's ``arguments``.  Codes are those of
    :data:`symgrad.teach.grading.MISTAKES`.

    >>> import symgrad as sg
    >>> ex = sg.exercise(kind="backward", seed=7)
    >>> [code for code, _, _ in mistakes(ex, ex.items[0])][:2]
    ['forward_value', 'sign']
    """
    out, n = ex.output, visible(item.node)
    if item.what == "local":
        right, node = _local_at(ex, item, arguments or _arguments(ex, item, ex.point))
        c = visible(item.consumer)
        return [("function_value", f"that is the node {c} itself, not its local derivative "
                 f"with respect to {n}.", node),
                ("local_derivative", f"wrong local derivative: the sign of ∂{c}/∂{n} is off "
                 f"(e.g. d cos(u)/du = -sin(u), not sin(u)).", -right)]
    vals, loc, adj = _at(ex, point or ex.point)
    o = visible(out)
    found = []
    if item.what == "value":
        found.append(("adjoint_value", f"that is the adjoint ∂{o}/∂{n}; the question asks for "
                      f"the forward value of {n}.", float(adj.get(item.node, 0.0))))
    else:
        if item.node != out:
            found.append(("forward_value", f"that is the forward value of {n}; the question asks "
                          f"for ∂{o}/∂{n}.", float(vals[item.node])))
        if item.what == "derivative":
            found.append(("function_value", f"that is {o} itself, not its derivative with "
                          f"respect to {n}.", float(vals[out])))
    found.append(("sign", "sign error: your answer is the negative of the right one; check the "
                  "sign of each local derivative (e.g. d cos(u)/du = -sin(u)).",
                  -_asked(ex, item, vals, loc, adj)))
    if item.what != "value":
        found += _edge_mistakes(ex, item, vals, loc)
    return found


def _edge_mistakes(ex, item, vals, loc) -> list:
    g, out, found = ex.graph, ex.output, []
    for (c, pos), d in loc.items():
        a = visible(g.args(c)[pos])
        cv = visible(c)
        users = {u for u, _ in g.consumers[g.args(c)[pos]]}
        if len(users) >= 2:
            drop = edge_pass(g, vals, out, ((c, pos), lambda d: 0.0), loc).get(item.node, 0.0)
            found.append(("missing_path", f"missing path: {a} is used by {len(users)} nodes, so "
                          f"its adjoint sums over all of them; your answer leaves out the path "
                          f"through {cv}.", float(drop)))
        flip = edge_pass(g, vals, out, ((c, pos), lambda d: -d), loc).get(item.node, 0.0)
        found.append(("local_derivative", f"wrong local derivative on the way: check the sign of "
                      f"∂{cv}/∂{a}.", float(flip)))
        if d != 1.0:
            one = edge_pass(g, vals, out, ((c, pos), lambda d: 1.0), loc).get(item.node, 0.0)
            found.append(("local_derivative", f"wrong local derivative on the way: the inner "
                          f"factor ∂{cv}/∂{a} is missing.", float(one)))
    return found


def _arguments(ex, item, point: dict) -> dict:
    vals = dict(ex.graph.forward(point))
    return {a: round(float(vals[a]), 3) for a in ex.graph.args(item.consumer) if is_node(a)}


def _separation(ex, item, value: float, wrong: list) -> float:
    """How many tolerances the nearest distinct mistake is away from ``value`` (a
    "mistake" that gives the right value everywhere, e.g. an edge off the item's
    paths, is no mistake for this item)."""
    tol = tolerance(value, ex.digits)
    gaps = [abs(v - value) / tol for _, _, v in wrong
            if math.isfinite(v) and abs(v - value) > 1e-9 * max(1.0, abs(value))]
    return min(gaps, default=math.inf)


def _candidates(ex) -> list:
    rng = random.Random(f"symgrad-lms:{ex.kind}:{ex.seed}:{sorted(ex.point.items())}")
    points = list(ex.check_points or (ex.point,))
    for radius in (0.3, 0.6, 1.0):
        for _ in range(8):
            points.append({k: round(v + rng.uniform(-radius, radius), 2) for k, v in ex.point.items()})
    return points


def formula_point(ex, item) -> Point:
    """The point where the formula ``item`` is asked as a number: smooth, value of
    moderate size, and every common mistake (see :func:`mistakes`) at least 20
    tolerances away when such a point exists (else the best one found)."""
    best, best_gap = None, -1.0
    for p in _candidates(ex):
        if not smooth_point(ex.graph, p, ex.output):
            continue
        if item.what == "local":
            args = _arguments(ex, item, p)
            value = _local_at(ex, item, args)[0]
            wrong = mistakes(ex, item, arguments=args)
        else:
            args, value = {}, _asked(ex, item, *_at(ex, p))
            wrong = mistakes(ex, item, p)
        if not (math.isfinite(value) and (value == 0 or 1e-3 <= abs(value) <= 1e4)):
            continue
        gap = _separation(ex, item, value, wrong)
        if gap > best_gap:
            best, best_gap = Point(dict(p), args, value), gap
        if gap >= 20:
            break
    if best is None:
        raise InputError(f"no smooth point found to ask {item.key!r} as a number; "
                         f"use formulas='stack'")
    return best


def _point_text(pt: Point) -> str:
    where = pt.arguments if pt.arguments else pt.inputs
    return ", ".join(f"{visible(k)} = {_number(v)}" for k, v in where.items())


# -- XML building ----------------------------------------------------------------------------
def _text(parent, tag: str, text: str, fmt: str | None = "html", **attrib) -> ET.Element:
    el = ET.SubElement(parent, tag, ({"format": fmt} if fmt else {}) | attrib)
    ET.SubElement(el, "text").text = text
    return el


def _value(parent, tag: str, text: str) -> None:
    ET.SubElement(parent, tag).text = text


def _header(quiz, qtype: str, name: str, question: str, general: str) -> ET.Element:
    q = ET.SubElement(quiz, "question", type=qtype)
    _text(q, "name", visible(name), fmt=None)
    _text(q, "questiontext", question)
    _text(q, "generalfeedback", general)
    _value(q, "defaultgrade", "1")
    _value(q, "penalty", "0.3333333")
    _value(q, "hidden", "0")
    return q


def _prompt(ex) -> str:
    text = ex.prompt_text().split("\nAsked:")[0].rstrip()
    return f"<pre>{_html(text, keep_lines=True)}</pre>"


def _general(ex, item, solution: bool) -> str:
    if not solution:
        return ""
    from .prompts import show_answer
    answer = show_answer(item, ex.digits) if item is not None else None
    head = "" if item is None else f"<p>{_html(f'{item.text} = {answer}')}</p>"
    return head + f"<pre>{_html(ex.solution().text(), keep_lines=True)}</pre>"


def _answers(ex, value: float, wrong: list) -> list:
    """``[(fraction, value, tolerance, feedback)]``: the right one first, then the
    mistakes whose interval does not meet any earlier one."""
    rows = [(100, value, tolerance(value, ex.digits), "correct.")]
    for _, msg, v in wrong:
        if not math.isfinite(v):
            continue
        tol = tolerance(v, ex.digits)
        if all(abs(v - w) > tol + t for _, w, t, _ in rows):
            rows.append((0, v, tol, msg))
    return rows


def _numerical(quiz, ex, number: int, item, solution: bool, formulas: str) -> None:
    label = visible(item.text)
    if item.formula:
        pt = formula_point(ex, item)
        value = pt.value
        wrong = (mistakes(ex, item, arguments=pt.arguments) if item.what == "local"
                 else mistakes(ex, item, pt.inputs))
        ask = (f"<p>Find the formula for {_html(label)}, then give its value at "
               f"{_html(_point_text(pt))} to {ex.digits} significant digits.</p>")
    else:
        value, wrong = float(item.answer), mistakes(ex, item)
        ask = f"<p>{_html(label)} = ? (to {ex.digits} significant digits)</p>"
    q = _header(quiz, "numerical", f"Exercise {number}: {item.text}", _prompt(ex) + ask,
                _general(ex, item, solution))
    for fraction, v, tol, msg in _answers(ex, value, wrong):
        a = ET.SubElement(q, "answer", fraction=str(fraction), format="moodle_auto_format")
        ET.SubElement(a, "text").text = _number(v)
        _text(a, "feedback", _html(msg))
        _value(a, "tolerance", _number(tol))
    a = ET.SubElement(q, "answer", fraction="0", format="moodle_auto_format")
    ET.SubElement(a, "text").text = "*"
    _text(a, "feedback", _html(f"not correct: recompute {label} step by step."))
    _value(a, "tolerance", "0")
    for tag, v in (("unitgradingtype", "0"), ("unitpenalty", "0.1"), ("showunits", "3"),
                   ("unitsleft", "0")):
        _value(q, tag, v)


# -- STACK --------------------------------------------------------------------------------------
def _definitions(ex, names: dict) -> str:
    """Maxima ``[node = definition, ...]``, last node first, so that ``subst``
    (left to right) rewrites any formula in node names into the inputs."""
    rows = []
    for name, op, args in reversed(ex.graph.program):
        syms = [symbol(a) if is_node(a) else sp.nsimplify(a, rational=True) for a in args]
        rows.append(f"{names[name]} = {maxima(op.apply(SYM, *syms), names)}")
    return "[" + ", ".join(rows) + "]"


def _stack_nodes(prt, item, names: dict, ex) -> None:
    tests = [("sg_tb", "correct.", 1), ("-sg_tb", "sign error: your formula is the negative of "
              "the right one; check the sign of each local derivative.", 0)]
    if item.what == "derivative":
        tests.append(("sg_fx", f"that is {visible(ex.output)} itself, not its derivative with "
                      f"respect to {visible(item.node)}.", 0))
    for i, (tans, msg, score) in enumerate(tests):
        node = ET.SubElement(prt, "node")
        last = i == len(tests) - 1
        for tag, v in (("name", str(i)), ("description", ""), ("answertest", "AlgEquiv"),
                       ("sans", "sg_sa"), ("tans", tans), ("testoptions", ""), ("quiet", "0"),
                       ("truescoremode", "="), ("truescore", str(score)), ("truepenalty", ""),
                       ("truenextnode", "-1"), ("trueanswernote", f"prt1-{i + 1}-T")):
            _value(node, tag, v)
        _text(node, "truefeedback", f"<p>{_html(msg)}</p>")
        for tag, v in (("falsescoremode", "="), ("falsescore", "0"), ("falsepenalty", ""),
                       ("falsenextnode", "-1" if last else str(i + 1)),
                       ("falseanswernote", f"prt1-{i + 1}-F")):
            _value(node, tag, v)
        _text(node, "falsefeedback", "<p>not correct: your formula is not equivalent to "
                                     f"{_html(visible(item.text))}.</p>" if last else "")


def _stack_input(q, names: dict) -> None:
    inp = ET.SubElement(q, "input")
    words = list(_student_words()) + sorted({v for v in names.values() if len(v) > 1})
    for tag, v in (("name", "ans1"), ("type", "algebraic"), ("tans", "sg_ta"), ("boxsize", "40"),
                   ("strictsyntax", "1"), ("insertstars", "0"), ("syntaxhint", ""),
                   ("syntaxattribute", "0"), ("forbidwords", ""), ("allowwords", ", ".join(words)),
                   ("forbidfloat", "0"), ("requirelowestterms", "0"), ("checkanswertype", "0"),
                   ("mustverify", "1"), ("showvalidation", "1"), ("options", "")):
        _value(inp, tag, v)


def _aliases_note(names: dict, used) -> str:
    renamed = [(k, v) for k, v in names.items() if k != v and k in used]
    if not renamed:
        return ""
    return "<p>In your formula, write " + ", ".join(
        f"<code>{_html(v)}</code> for {_html(k)}" for k, v in renamed) + ".</p>"


def _stack(quiz, ex, number: int, item, solution: bool, formulas: str) -> None:
    names = maxima_names(ex.graph.nodes)
    fx = ex.graph.to_sympy() if item.what == "derivative" else sp.Integer(0)
    qvars = ";\n".join([*maxima_functions(), f"sg_defs: {_definitions(ex, names)}",
                        f"sg_ta: {maxima(item.answer, names)}", f"sg_fx: {maxima(fx, names)}"]) + ";"
    ask = (f"<p>{_html(visible(item.text))} = [[input:ans1]] [[validation:ans1]]</p>"
           + _aliases_note(names, ex.graph.nodes))
    q = _header(quiz, "stack", f"Exercise {number}: {item.text}", _prompt(ex) + ask,
                _general(ex, item, solution))
    _text(q, "stackversion", "", fmt=None)
    _text(q, "questionvariables", qvars, fmt=None)
    _text(q, "specificfeedback", "[[feedback:prt1]]")
    _text(q, "questionnote", _html(f"{ex.kind} seed {ex.seed}: {item.key}"))
    for tag, v in (("questionsimplify", "1"), ("assumepositive", "0"), ("assumereal", "1")):
        _value(q, tag, v)
    for tag in ("prtcorrect", "prtpartiallycorrect", "prtincorrect"):
        _text(q, tag, "")
    for tag, v in (("decimals", "."), ("multiplicationsign", "dot"), ("sqrtsign", "1"),
                   ("complexno", "symi"), ("inversetrig", "cos-1"), ("logicsymbol", "lang"),
                   ("matrixparens", "[")):
        _value(q, tag, v)
    _stack_input(q, names)
    prt = ET.SubElement(q, "prt")
    for tag, v in (("name", "prt1"), ("value", "1.0000000"), ("autosimplify", "1"),
                   ("feedbackstyle", "1")):
        _value(prt, tag, v)
    _text(prt, "feedbackvariables", "sg_sa: subst(sg_defs, ans1);\nsg_tb: subst(sg_defs, sg_ta);",
          fmt=None)
    _stack_nodes(prt, item, names, ex)
    _stack_tests(q, item)


def _stack_tests(q, item) -> None:
    cases = [("sg_ta", "1.0000000", "prt1-1-T")]
    if item.answer != 0:
        cases.append(("-(sg_ta)", "0.0000000", "prt1-2-T"))
    for i, (value, score, note) in enumerate(cases, 1):
        t = ET.SubElement(q, "qtest")
        _value(t, "testcase", str(i))
        _value(t, "description", "")
        ti = ET.SubElement(t, "testinput")
        _value(ti, "name", "ans1")
        _value(ti, "value", value)
        e = ET.SubElement(t, "expected")
        for tag, v in (("name", "prt1"), ("expectedscore", score),
                       ("expectedpenalty", "0.0000000"), ("expectedanswernote", note)):
            _value(e, tag, v)


# -- Cloze ---------------------------------------------------------------------------------------
def _cloze(quiz, ex, number: int, solution: bool) -> None:
    rows = []
    for i, item in enumerate(ex.items, 1):
        if item.formula:
            pt = formula_point(ex, item)
            value = pt.value
            wrong = (mistakes(ex, item, arguments=pt.arguments) if item.what == "local"
                     else mistakes(ex, item, pt.inputs))
            label = f"{_html(item.text)} at {_html(_point_text(pt))}"
        else:
            value, wrong, label = float(item.answer), mistakes(ex, item), _html(item.text)
        alts = [("=" if frac else "%0%") + f"{_number(v)}:{_number(tol)}#{_cloze_feedback(msg)}"
                for frac, v, tol, msg in _answers(ex, value, wrong)]
        rows.append(f"<li>{label} = {{1:NUMERICAL:{'~'.join(alts)}}}</li>")
    text = (_prompt(ex) + f"<p>Give each number to {ex.digits} significant digits.</p>"
            + "<ol>" + "".join(rows) + "</ol>")
    general = (f"<pre>{_html(ex.solution().text(), keep_lines=True)}</pre>" if solution else "")
    _header(quiz, "cloze", f"Exercise {number}", text, general)


# -- entry point -----------------------------------------------------------------------------
def moodle_xml(exercises, *, formulas: str = "stack", layout: str = "items",
               solution: bool = False) -> str:
    """Moodle XML (a ``<quiz>``) for ``exercises``.

    Parameters
    ----------
    exercises
        :class:`symgrad.teach.exercise.Exercise` objects.
    formulas
        ``"stack"`` (STACK questions, graded by algebraic equivalence; needs the
        STACK plugin) or ``"numeric"`` (the formula's value at a stated point, a
        plain ``numerical`` question).
    layout
        ``"items"`` (one question per asked value) or ``"cloze"`` (one Cloze
        question per exercise; formulas asked at a point).
    solution
        Put the worked derivation into each question's general feedback.

    Returns
    -------
    str
        The XML document.

    Raises
    ------
    InputError
        An unknown ``formulas`` or ``layout``.

    Examples
    --------
    >>> import symgrad as sg
    >>> xml = moodle_xml([sg.exercise(kind="local", seed=2)])
    >>> xml.count('<question type="stack">') == len(sg.exercise(kind="local", seed=2).items)
    True
    """
    if formulas not in FORMULAS:
        raise InputError(f"formulas must be one of {', '.join(FORMULAS)}, got {formulas!r}")
    if layout not in LAYOUTS:
        raise InputError(f"layout must be one of {', '.join(LAYOUTS)}, got {layout!r}")
    quiz = ET.Element("quiz")
    for number, ex in enumerate(exercises, 1):
        if layout == "cloze":
            _cloze(quiz, ex, number, solution)
            continue
        for item in ex.items:
            build = _stack if item.formula and formulas == "stack" else _numerical
            build(quiz, ex, number, item, solution, formulas)
    ET.indent(quiz)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(quiz, encoding="unicode") + "\n"
