"""Grading exercise answers, with feedback that names the common mistakes.

Numbers follow the one tolerance rule of :mod:`symgrad.teach.tolerance`: correct when
within half a unit in the last asked significant digit.  Formulas are read with
symgrad's own parser (never evaluated as Python) and accepted only when
:func:`symgrad.symbolic.equivalence.equivalent` PROVES them equal to the answer (node
names stand for their definitions); numbers over the whole input box only
reject, and a form past the work budget gets "could not check this form".  A
wrong answer is matched against the values the common mistakes produce,
computed by re-running reverse accumulation with one edge changed:

* a missing path through a shared node (one consumer's edge dropped),
* a sign error (the negated answer),
* a wrong local derivative (one edge's local derivative negated, as
  ``d cos = sin``, or left out),
* the forward value given where the adjoint was asked (and the reverse).
"""

from __future__ import annotations

import functools
import math
import weakref
from collections.abc import Mapping
from dataclasses import dataclass, field
from numbers import Real
from typing import Any

import numpy as np
import sympy as sp

from ..symbolic.equivalence import Budget, Equivalence, equivalent, evaluate
from ..errors import InputError, ParseError
from ..core.ops import OPS
from .practice import edge_pass, local_derivatives, local_values
from ..show.printer import format_number
from .prompts import formula_text
from .tolerance import accepts

__all__ = ["grade", "Verdict", "GradeResult", "MISTAKES", "equivalent", "Equivalence", "Budget",
           "mistake_candidates", "read_formula", "item_key"]

MISTAKES = ("missing_path", "sign", "local_derivative", "forward_value", "adjoint_value",
            "function_value", "unreadable", "missing", "unchecked", "wrong")
"""Codes of :attr:`Verdict.mistake` (None when correct)."""


@dataclass(frozen=True)
class Verdict:
    """The grade of one item: ``correct``, ``feedback`` (one or two sentences),
    ``mistake`` (a code from :data:`MISTAKES`, or None), the expected answer and
    what was submitted."""

    key: str
    correct: bool
    feedback: str
    mistake: str | None = None
    expected: Any = None
    submitted: Any = None


@dataclass(frozen=True)
class GradeResult:
    """Per-item verdicts; ``score`` is the fraction correct, ``unknown`` lists
    submitted keys that are not items of the exercise."""

    items: dict
    unknown: tuple = ()

    @property
    def score(self) -> float:
        return sum(v.correct for v in self.items.values()) / max(1, len(self.items))

    @property
    def all_correct(self) -> bool:
        return all(v.correct for v in self.items.values())

    def __str__(self) -> str:
        lines = [f"{k}: {'correct' if v.correct else 'wrong'}: {v.feedback}"
                 if not v.correct else f"{k}: correct" for k, v in self.items.items()]
        if self.unknown:
            lines.append(f"ignored unknown item(s): {', '.join(self.unknown)}")
        return "\n".join(lines + [f"score {self.score:.0%}"])


def item_key(key) -> str:
    """A submitted key as compared with item keys: ``∂`` reads as ``d``, spaces
    are dropped, letter case MATTERS (nodes ``A`` and ``a`` are different items)."""
    return str(key).replace("∂", "d").replace(" ", "")


# -- per-exercise numbers at the check points ------------------------------------------
@dataclass
class _At:
    vals: dict
    locals: dict
    adj: dict
    candidates: dict = field(default_factory=dict)      # item key -> mistake candidates


_CONTEXT: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()


def _context(ex) -> list:
    ctx = _CONTEXT.get(ex)
    if ctx is None:
        ctx = []
        for p in ex.check_points or (ex.point,):
            vals = dict(ex.graph.forward(p))
            loc = local_values(ex.graph, vals)
            ctx.append(_At(vals, loc, edge_pass(ex.graph, vals, ex.output, locals_=loc)))
        _CONTEXT[ex] = ctx
    return ctx


def _shared(graph) -> dict:
    """``{node: consumers}`` for nodes with two or more distinct consumers."""
    out = {}
    for n in graph.nodes:
        users = tuple(dict.fromkeys(c for c, _ in graph.consumers[n]))
        if len(users) >= 2:
            out[n] = users
    return out


@functools.lru_cache(maxsize=4096)
def _local_text(graph, consumer: str, pos: int) -> str:
    op, args = graph.op(consumer), graph.args(consumer)
    return formula_text(local_derivatives(OPS[op], args)[pos])


def mistake_candidates(ex, item, point: int = 0) -> list:
    """The common mistakes for ``item`` of ``ex``: ``[(code, feedback, value)]``
    in priority order, ``value`` being what the mistake gives at check point
    ``point`` (0 is the exercise's point).  A number answer within
    :func:`symgrad.teach.tolerance.accepts` of ``value`` (and not of the right answer)
    gets that feedback.

    Examples
    --------
    >>> import symgrad as sg
    >>> ex = sg.exercise(kind="backward", seed=7)
    >>> codes = [c for c, _, _ in mistake_candidates(ex, ex.items[0])]
    >>> "sign" in codes
    True
    """
    return list(_candidates(ex, item, _context(ex)[point]))


def _candidates(ex, item, at: _At) -> tuple:
    """``[(mistake, feedback, value)]`` in priority order, at one check point
    (computed once per item and point)."""
    if item.key not in at.candidates:
        at.candidates[item.key] = tuple(_find_candidates(ex, item, at))
    return at.candidates[item.key]


def _find_candidates(ex, item, at: _At) -> list:
    g, out, n = ex.graph, ex.output, item.node
    target = item.consumer if item.what == "local" else n
    cands = []
    if item.what in ("adjoint", "derivative") and n in at.vals and n != out:
        what = "forward value" if item.what == "adjoint" else "forward value (the input itself)"
        cands.append(("forward_value", f"that is the {what} of {n}; the question asks for its "
                      f"adjoint ∂{out}/∂{n}.", at.vals[n]))
    if item.what == "derivative":
        cands.append(("function_value", f"that is the function {out} itself, not its derivative "
                      f"with respect to {n}.", at.vals[out]))
    if item.what == "tangent":
        cands.append(("forward_value", f"that is the forward value of {n}; the question asks for "
                      f"its tangent ∂{n}/∂{item.wrt}.", at.vals[n]))
    if item.what == "value":
        cands.append(("adjoint_value", f"that is the adjoint ∂{out}/∂{n}; the question asks for "
                      f"the forward value of {n}.", at.adj.get(n, 0.0)))
    if item.what == "local":
        cands.append(("function_value", f"that is the node {target} itself, not its local "
                      f"derivative with respect to {n}.", at.vals[target]))
    if item.what in ("adjoint", "derivative"):
        cands += _path_candidates(ex, item, at)
    sign_msg = ("sign error: your answer is the negative of the right one; check the sign of each "
                "local derivative on the way (e.g. d cos(u)/du = -sin(u)).")
    if item.what == "local":
        sign_msg = (f"wrong local derivative: ∂{target}/∂{n} = {_local_text(g, target, item.position)}"
                    " and your answer has the opposite sign (e.g. d cos(u)/du = -sin(u), not sin(u)).")
    expected = _expected(item, at)
    cands.append(("local_derivative" if item.what == "local" else "sign", sign_msg, -expected))
    if item.what in ("adjoint", "derivative"):
        cands += _local_candidates(ex, item, at)
    return cands


def _path_candidates(ex, item, at: _At) -> list:
    g, out, n, cands = ex.graph, ex.output, item.node, []
    for s, users in _shared(g).items():
        for c, pos in g.consumers[s]:
            adj = edge_pass(g, at.vals, out, (((c, pos)), lambda d: 0.0), at.locals)
            where = (f"{n} is used by {', '.join(users)}, so ∂{out}/∂{n} is the sum over all of "
                     f"them" if s == n else f"the shared node {s} is used by {', '.join(users)}, "
                     f"so ∂{out}/∂{s} sums over all of them")
            cands.append(("missing_path", f"missing path: {where}; your answer leaves out the path "
                          f"through {c}.", adj.get(n, 0.0)))
    return cands


def _local_candidates(ex, item, at: _At) -> list:
    g, out, n, cands = ex.graph, ex.output, item.node, []
    for (c, pos), d in at.locals.items():
        a = g.args(c)[pos]
        formula = _local_text(g, c, pos)
        flipped = edge_pass(g, at.vals, out, ((c, pos), lambda d: -d), at.locals).get(n, 0.0)
        cands.append(("local_derivative", f"wrong local derivative on the way: check ∂{c}/∂{a} = "
                      f"{formula} (its sign: e.g. d cos(u)/du = -sin(u), not sin(u)).", flipped))
        if d != 1.0:
            one = edge_pass(g, at.vals, out, ((c, pos), lambda d: 1.0), at.locals).get(n, 0.0)
            cands.append(("local_derivative", f"wrong local derivative on the way: the factor "
                          f"∂{c}/∂{a} = {formula} is missing.", one))
    return cands


def _expected(item, at: _At) -> float:
    if item.what in ("tangent", "second"):       # forward mode and Hessian entries: the item's own number
        return float(item.answer)
    if item.what == "value":
        return at.vals[item.node]
    if item.what == "local":
        return at.locals[(item.consumer, item.position)]
    return at.adj.get(item.node, 0.0)


# -- reading answers ----------------------------------------------------------------------
class _Unreadable(Exception):
    pass


_DUMMY = "_k0"          # makes a constant formula parse (the parser refuses constants)
MAX_FORMULA = 2000
"""Longest formula text graded (characters)."""
_LATEX_HINT = ("it looks like LaTeX; write plain text as in the program, e.g. exp(4*x)/2 or "
               "-sin(c), not \\frac or \\exp")


def _clean(text: str) -> str:
    text = text.strip().replace("\u2212", "-").replace("\u2013", "-")      # unicode minus, en dash
    if "\\" in text or "{" in text or "$" in text:
        raise _Unreadable(f"could not read {text[:40]!r}: {_LATEX_HINT}")
    return text


def _decimal_comma(text: str) -> str:
    """``0,5`` -> ``0.5``; ``1,000`` is ambiguous (a thousands separator?) and refused."""
    if text.count(",") != 1 or "." in text:
        return text
    whole, frac = text.split(",")
    if frac.isdigit() and len(frac) == 3 and whole.lstrip("+-").isdigit() and \
            whole.lstrip("+-0"):
        raise _Unreadable(f"{text!r} is ambiguous (one thousand, or one point zero?): write "
                          f"{whole}.{frac} or {whole}{frac}, without a comma")
    return text.replace(",", ".")


def _read_number(raw) -> float:
    """A number, or a constant formula such as ``1/2`` or ``-sin(2)`` (read by
    symgrad's parser, never evaluated as Python)."""
    if isinstance(raw, sp.Basic) and raw.is_number:
        raw = float(raw) if raw.is_real else str(raw)
    if isinstance(raw, Real) and not isinstance(raw, bool):
        try:
            v = float(raw)
        except OverflowError:
            raise _Unreadable(f"{raw!r:.30} is not a finite number") from None
    elif isinstance(raw, str):
        text = _decimal_comma(_clean(raw))
        try:
            v = float(text)
        except ValueError:
            v = _constant(text)
    else:
        raise _Unreadable(f"expected a number, got {type(raw).__name__}")
    if not math.isfinite(v):
        raise _Unreadable(f"{raw!r} is not a finite number; write a number like -0.8223")
    return v


def _constant(text: str) -> float:
    hint = "write a number like -0.8223 or 1.5e-3 (or a constant formula like 1/2 or -sin(2))"
    try:
        g = _parse_text(text)
    except _Unreadable:
        raise _Unreadable(f"could not read {text!r} as a number; {hint}") from None
    names = [v for v in g.inputs if v != _DUMMY]
    if names:
        raise _Unreadable(f"give a number, not a formula in {', '.join(names)}; {hint}")
    with np.errstate(all="ignore"):
        return float(g.forward({_DUMMY: 0.0})[g.outputs[0]])


def _parse_text(text: str, graph=None):
    """``text`` as a Graph; a constant gets the input ``_DUMMY`` (times 0).  A node
    of ``graph`` named like a constant (the lecture's ``e``) is read as that node."""
    from ..front.parse import CONSTANTS, parse
    consts = {k: v for k, v in CONSTANTS.items() if graph is None or k not in graph}
    text = _clean(text).replace("^", "**")
    if len(text) > MAX_FORMULA:
        raise _Unreadable(f"the answer is {len(text)} characters long; at most {MAX_FORMULA} "
                          "are graded")
    try:
        return parse(text, constants=consts)
    except ParseError as err:
        if "constant" not in str(err):
            raise _Unreadable(f"could not read the formula: {str(err).splitlines()[0]}") from None
    try:
        return parse(f"({text}) + 0*{_DUMMY}", constants=consts)
    except ParseError as err:
        raise _Unreadable(f"could not read the formula: {str(err).splitlines()[0]}") from None


def read_formula(text: str, graph=None):
    """A submitted formula as a Graph, read by symgrad's parser (``^`` is ``**``,
    the unicode minus is ``-``, a constant formula is allowed).  With ``graph``,
    its names must be inputs or nodes of ``graph``.

    Raises
    ------
    ParseError
        Unreadable text, LaTeX, over :data:`MAX_FORMULA` characters, or unknown names.

    Examples
    --------
    >>> read_formula("2^3 * x").to_sympy()
    8*x
    """
    try:
        g = _parse_text(text, graph)
        _check_names(g, graph)
    except _Unreadable as err:
        raise ParseError(str(err)) from None
    return g


def _check_names(g, graph) -> None:
    if graph is None:
        return
    unknown = [v for v in g.inputs if v not in graph and v != _DUMMY]
    if unknown:
        raise _Unreadable(f"unknown name(s) {', '.join(unknown)}: use the inputs "
                          f"{', '.join(graph.inputs)} or node names")


def _read_formula(ex, raw):
    """The submitted formula as a Graph (read by symgrad's parser)."""
    if isinstance(raw, sp.Basic):              # a SymPy expression: read back via its text
        raw = formula_text(raw)
    if isinstance(raw, Real) and not isinstance(raw, bool):
        try:
            raw = repr(float(raw))
        except OverflowError:
            raise _Unreadable(f"{raw!r:.30} is not a finite number") from None
    if not isinstance(raw, str) or not raw.strip():
        raise _Unreadable("expected a formula such as -sin(c) or 2*x")
    g = _parse_text(raw, ex.graph)
    _check_names(g, ex.graph)
    return g


def _grade_number(ex, item, raw, at: _At) -> Verdict:
    v = _read_number(raw)
    exp = float(item.answer)
    if accepts(exp, v, ex.digits):
        return Verdict(item.key, True, "correct.", None, exp, raw)
    for code, msg, cand in _candidates(ex, item, at):
        if accepts(cand, v, ex.digits) and not accepts(exp, cand, ex.digits):
            return Verdict(item.key, False, msg, code, exp, raw)
    return Verdict(item.key, False, f"not correct ({format_number(v, ex.digits)} is not "
                   f"{item.text} to {ex.digits} significant digits); recompute it step by step.",
                   "wrong", exp, raw)


def _formula_values(ex, sub, ctx: list) -> list:
    points = [{k: at.vals[k] for k in ex.graph.inputs} for at in ctx]
    return evaluate(sub.to_sympy(), ex.graph, points)


def _same(xs, ys) -> bool:
    """Agreement to 1e-6 relative at every check point (feedback only, never acceptance)."""
    return all(a is not None and b is not None and np.isfinite(a) and np.isfinite(b)
               and abs(a - b) <= 1e-6 * max(abs(a), abs(b), 1e-9) for a, b in zip(xs, ys, strict=True))


_CACHE: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()


def _equivalence(ex, item, sub) -> Equivalence:
    memo = _CACHE.setdefault(ex, {})
    key = (item.key, tuple((n, op.name, args) for n, op, args in sub.program), sub.outputs)
    if key not in memo:
        if len(memo) > 256:
            memo.clear()
        memo[key] = equivalent(item.answer, sub, ex.graph)
    return memo[key]


def _grade_formula(ex, item, raw, ctx: list) -> Verdict:
    sub = _read_formula(ex, raw)
    eq = _equivalence(ex, item, sub)
    if eq.verdict == "equal":
        return Verdict(item.key, True, f"correct: {item.text} = {formula_text(item.answer)}.", None,
                       item.answer, raw)
    if eq.verdict == "unchecked":
        return Verdict(item.key, False, f"could not check this form: {eq.reason}.", "unchecked",
                       item.answer, raw)
    got = _formula_values(ex, sub, ctx)
    want = [_expected(item, at) for at in ctx]
    per_point = [_candidates(ex, item, at) for at in ctx]
    for i, (code, msg, _) in enumerate(per_point[0]):
        cand = [pp[i][2] for pp in per_point]
        if _same(got, cand) and not _same(cand, want):
            return Verdict(item.key, False, msg, code, item.answer, raw)
    at = ", ".join(f"{k} = {format_number(v, 6)}" for k, v in eq.point.items())
    if eq.submitted_value is None:
        return Verdict(item.key, False, f"not correct: your formula is undefined at {at}, where "
                       f"{item.text} is {format_number(eq.expected_value, 6)}.", "wrong", item.answer, raw)
    return Verdict(item.key, False, f"not correct: at {at} your formula gives "
                   f"{format_number(eq.submitted_value, 6)}, but {item.text} is "
                   f"{format_number(eq.expected_value, 6)} (they differ by "
                   f"{format_number(eq.submitted_value - eq.expected_value, 3)}).", "wrong",
                   item.answer, raw)


def grade(ex, submitted: Mapping) -> GradeResult:
    """Grade the answers ``{item key: number or formula string}`` of exercise ``ex``.

    Keys are the item keys of ``ex.items`` or their labels (spaces and ``∂``
    vs ``d`` do not matter; letter case does).  Numbers follow the one
    tolerance rule (:mod:`symgrad.teach.tolerance`); formulas must be proven equal
    (:func:`symgrad.symbolic.equivalence.equivalent`).  A missing or unreadable answer is a wrong item with a clear
    message, never an exception.

    Parameters
    ----------
    ex
        An :class:`symgrad.teach.exercise.Exercise`.
    submitted
        The answers.

    Returns
    -------
    GradeResult

    Raises
    ------
    InputError
        If ``submitted`` is not a mapping.

    Examples
    --------
    >>> import symgrad as sg
    >>> ex = sg.exercise(kind="backward", seed=7)
    >>> right = ex.answers
    >>> result = ex.grade({**right, "x": -right["x"]})
    >>> result.score, result.items["x"].mistake
    (0.8, 'sign')
    """
    if not isinstance(submitted, Mapping):
        raise InputError(f"submitted answers must be a mapping {{item: answer}}, "
                         f"got {type(submitted).__name__}")
    by_key = {item_key(k): v for k, v in submitted.items()}
    aliases = {it.key: {item_key(it.key), *(item_key(t) for t in it.text.split(" = "))} for it in ex.items}
    keys = set().union(*aliases.values())
    ctx = _context(ex)
    verdicts = {}
    for item in ex.items:
        raw = next((by_key[a] for a in aliases[item.key] if a in by_key), None)
        if raw is None or (isinstance(raw, str) and not raw.strip()):
            verdicts[item.key] = Verdict(item.key, False, "no answer given.", "missing", item.answer)
            continue
        try:
            if item.formula:
                verdicts[item.key] = _grade_formula(ex, item, raw, ctx)
            else:
                verdicts[item.key] = _grade_number(ex, item, raw, ctx[0])
        except _Unreadable as err:
            verdicts[item.key] = Verdict(item.key, False, str(err), "unreadable", item.answer, raw)
    unknown = tuple(str(k) for k in submitted if item_key(k) not in keys)
    return GradeResult(verdicts, unknown)
