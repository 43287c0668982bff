"""Is a submitted formula equal to the expected one?  Decided soundly, in bounded work.

A formula is accepted only on a PROOF: after node names are replaced by their
definitions and decimal constants by exact numbers, the difference of the two
formulas is zero as a SymPy expression, either at once (SymPy's canonical form)
or after a case split over kinks and ``expand`` / ``simplify`` run in a forked
worker process with a CPU-time and memory limit (:mod:`symgrad.symbolic.proof`).  Numbers
never accept on their own; they only reject: the two formulas are evaluated
with mpmath at 30 digits over the whole input box (a dense grid plus points out
to ``|x| = 1000``), on both sides of every kink the grid crosses (located by
bisection), and a point where they differ counts only when the difference is
confirmed, unchanged, at 60 digits.  A submission equal to the answer as a SymPy
expression is still evaluated as written (``sqrt(x)**2`` is undefined for x < 0).  Whatever exceeds the budget (:class:`Budget`:
text length, tree size, power degrees, CPU seconds, megabytes) gets the verdict
``unchecked`` ("could not check this form"), never ``equal`` and never a hang.
"""

from __future__ import annotations

import functools
import math
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import SimpleNamespace

import mpmath
import numpy as np
import sympy as sp
from sympy.functions.elementary.piecewise import ExprCondPair

from ..core.graph import Graph, is_node
from ..core.ops import SYM
from .proof import ProofBudget, prove_zero, worker_cpu_seconds
from ..core.sym_derivatives import ifpos as sym_ifpos, step as sym_step
from ..core.sym_functions import elu, leaky_relu, relu
from ..front.sympy_io import symbol

__all__ = ["Budget", "Equivalence", "equivalent", "evaluate", "exact_constants", "exact_values", "sample_points"]

VERDICTS = ("equal", "different", "unchecked")


@dataclass(frozen=True)
class Budget:
    """Limits on the work one equivalence check may do.

    ``max_tree``: SymPy tree nodes of the difference; ``max_degree``: largest
    integer power of a non-constant base; ``seconds``/``megabytes``: the symbolic
    worker's CPU time (not wall-clock time, so verdicts do not depend on machine
    load) and extra address space; ``wall_seconds``: a wall-clock safety net only
    against a stuck worker; ``box``: the half-width of the dense sampling grid;
    ``far``: the largest ``|input|`` sampled."""

    max_tree: int = 600
    max_degree: int = 60
    seconds: float = 1.5
    megabytes: int = 200
    wall_seconds: float = 60.0
    box: float = 8.0
    far: float = 1000.0
    dps: int = 30


@dataclass(frozen=True)
class Equivalence:
    """The outcome of :func:`equivalent`.

    ``verdict`` is ``equal`` (proven), ``different`` (a confirmed point where the
    two differ, in ``point``/``expected_value``/``submitted_value``) or
    ``unchecked`` (neither within the budget; ``reason`` says why).  ``work``
    counts what was done: ``points`` evaluated, ``tree`` size, ``symbolic``
    (``structural``, ``worker``, ``refused`` or ``none``), ``seconds``."""

    verdict: str
    reason: str = ""
    point: dict | None = None
    expected_value: float | None = None
    submitted_value: float | None = None
    work: dict = field(default_factory=dict)

    @property
    def equal(self) -> bool:
        return self.verdict == "equal"


# -- exact constants -----------------------------------------------------------------------
def _exact_number(f: sp.Float) -> sp.Expr:
    return _exact_float(float(f))


@functools.lru_cache(maxsize=4096)
def _exact_float(x: float) -> sp.Expr:
    f = sp.Float(x)
    text = repr(x)
    if len(text.replace("-", "").replace(".", "").lstrip("0")) <= 12 or not math.isfinite(x):
        return sp.Rational(text) if math.isfinite(x) else f      # a typed decimal: exactly that
    guess = sp.nsimplify(f, [sp.pi, sp.E], tolerance=1e-15 * abs(x))
    if guess.is_number and sp.count_ops(guess) <= 8 and abs(float(guess) - x) <= 4e-16 * abs(x):
        return guess                                             # sqrt(2) folded by the parser
    return sp.Rational(text)


def exact_constants(expr: sp.Expr) -> sp.Expr:
    """``expr`` with every float replaced by an exact number: a short decimal by
    its exact fraction (``0.5`` -> ``1/2``), a full-precision float by the simple
    constant it rounds (``1.4142135623730951`` -> ``sqrt(2)``, ``3.14159...`` ->
    ``pi``) when there is one.

    >>> exact_constants(sp.Float(0.7071067811865476) * sp.Symbol("y") + sp.Float(0.25))
    sqrt(2)*y/2 + 1/4
    """
    floats = [a for a in expr.atoms(sp.Float)]
    return expr.xreplace({f: _exact_number(f) for f in floats}) if floats else expr


def _literal(a) -> sp.Expr:
    return sp.Integer(a) if isinstance(a, int) else _exact_float(float(a))


def exact_values(graph: Graph) -> dict:
    """``{name: SymPy expression in the inputs}`` with exact literals, bottom-up."""
    vals = {n: symbol(n) for n in graph.inputs}
    for name, op, args in graph.program:
        vals[name] = op.apply(SYM, *[vals[a] if is_node(a) else _literal(a) for a in args])
    return vals


# -- tree walks (iterative) -------------------------------------------------------------------
def _postorder(roots) -> list:
    """Distinct subexpressions of ``roots``, children first; no recursion."""
    order, seen, stack = [], set(), [(r, False) for r in roots]
    while stack:
        e, expanded = stack.pop()
        if expanded:
            order.append(e)
        elif e not in seen:
            seen.add(e)
            stack.append((e, True))
            stack.extend((a, False) for a in e.args)
    return order


def _tree_size(expr, limit: int) -> int:
    """Tree nodes of ``expr`` (shared subtrees counted each time), stopping past ``limit``."""
    n, stack = 0, [expr]
    while stack and n <= limit:
        e = stack.pop()
        n += 1
        stack.extend(e.args)
    return n


def _max_degree(expr) -> float:
    worst = 0.0
    for e in _postorder([expr]):
        if e.is_Pow and not e.base.is_number and e.exp.is_number:
            worst = max(worst, abs(float(e.exp)))
    return worst


# -- mpmath evaluation -----------------------------------------------------------------------
class _Mark:
    def __init__(self, name):
        self.name = name

    def __repr__(self):
        return self.name


UNDEF = _Mark("undefined")   # outside the function's domain (log of a negative, 1/0)
TAINT = _Mark("too large")   # past a magnitude guard: the point proves nothing
_EXP_LIMIT, _POW_BITS, _TRIG_LIMIT = 1e5, 1e6, 1e12


def _exp(a):
    return TAINT if abs(a) > _EXP_LIMIT else mpmath.exp(a)


def _log(a):
    return mpmath.log(a) if a > 0 else UNDEF


def _pow(b, k):
    if b == 0:
        return mpmath.mpf(0) if k > 0 else (mpmath.mpf(1) if k == 0 else UNDEF)
    if b < 0 and k != int(k):
        return UNDEF
    if abs(k) > 64 and abs(k) * abs(mpmath.log(abs(b), 2)) > _POW_BITS:
        return TAINT
    return mpmath.power(b, k) if b > 0 else (-1) ** int(k) * mpmath.power(-b, k)


def _trig(f):
    return lambda a: TAINT if abs(a) > _TRIG_LIMIT else f(a)


def _piecewise(*args):
    for value, cond in zip(args[::2], args[1::2], strict=True):
        if cond is UNDEF or cond is TAINT:
            return cond
        if cond:
            return value
    return UNDEF


_FUNCS = {
    sp.exp: _exp, sp.log: _log, sp.sin: _trig(mpmath.sin), sp.cos: _trig(mpmath.cos),
    sp.tan: _trig(mpmath.tan), sp.tanh: mpmath.tanh, sp.Abs: abs,
    sp.sign: lambda a: mpmath.mpf((a > 0) - (a < 0)),
    sp.Heaviside: lambda a, h=0: mpmath.mpf(1) if a > 0 else (mpmath.mpf(0) if a < 0 else h),
    relu: lambda a: a if a > 0 else mpmath.mpf(0),
    leaky_relu: lambda a, s: a if a > 0 else s * a,
    elu: lambda a, al: a if a > 0 else al * mpmath.expm1(a),
    sp.Add: lambda *xs: mpmath.fsum(xs), sp.Mul: lambda *xs: mpmath.fprod(xs), sp.Pow: _pow,
    sp.Piecewise: _piecewise, sp.Max: max, sp.Min: min,
    sp.StrictGreaterThan: lambda a, b: a > b, sp.GreaterThan: lambda a, b: a >= b,
    sp.StrictLessThan: lambda a, b: a < b, sp.LessThan: lambda a, b: a <= b,
    sp.Eq: lambda a, b: a == b, sp.Ne: lambda a, b: a != b,
    sp.And: lambda *xs: all(xs), sp.Or: lambda *xs: any(xs), sp.Not: lambda a: not a,
}
def _guard(f):
    def g(*args):
        for a in args:
            if a is TAINT or a is UNDEF:
                return a
        try:
            return f(*args)
        except (ZeroDivisionError, ValueError, OverflowError):
            return UNDEF
        except TypeError:        # a guard's mark met the arithmetic of an op's composed formula
            return TAINT
    return g


_one = mpmath.mpf(1)
MP = SimpleNamespace(
    exp=_exp, log=_log, sin=_trig(mpmath.sin), cos=_trig(mpmath.cos), tan=_trig(mpmath.tan),
    tanh=mpmath.tanh, sqrt=lambda a: mpmath.sqrt(a) if a >= 0 else UNDEF, abs=abs,
    sign=lambda a: mpmath.mpf((a > 0) - (a < 0)), pow=_pow, div=lambda a, b: a / b,
    where=lambda c, a, b: a if c else b, step=lambda a: _one if a > 0 else 0 * _one,
    heaviside=lambda a: _one if a > 0 else 0 * _one, ifpos=lambda c, a, b: a if c > 0 else b,
    relu=lambda a: a if a > 0 else 0 * _one,
    sigmoid=lambda a: TAINT if abs(a) > _EXP_LIMIT else 1 / (1 + mpmath.exp(-a)),
    softplus=lambda a: TAINT if abs(a) > _EXP_LIMIT else mpmath.log1p(mpmath.exp(a)),
    leaky_relu=lambda a, s: a if a > 0 else s * a,
    elu=lambda a, al: a if a > 0 else al * mpmath.expm1(a),
    logsumexp=lambda *xs: TAINT if max(abs(x) for x in xs) > _EXP_LIMIT
    else mpmath.log(mpmath.fsum(mpmath.exp(x) for x in xs)),
    expm1_neg=lambda a: mpmath.expm1(min(a, 0)),
)
"""The mpmath backend of the op table: a submission is evaluated as written."""


def run_graph(graph: Graph, env: Mapping, dps: int = 30):
    """The output of ``graph`` at ``env`` (``{input: mpf}``) with :data:`MP`;
    ``UNDEF``/``TAINT`` marks propagate."""
    vals = dict(env)
    with mpmath.workdps(dps):
        for name, op, args in graph.program:
            argv = [vals[a] if is_node(a) else _mp_literal(a) for a in args]
            vals[name] = _guard(lambda *xs, op=op: op.apply(MP, *xs))(*argv)
    out = vals[graph.outputs[0]]
    return out if isinstance(out, _Mark) or not isinstance(out, mpmath.mpf) or mpmath.isfinite(out) \
        else UNDEF


@functools.lru_cache(maxsize=4096)
def _mp_literal_at(a, dps):
    with mpmath.workdps(dps):
        x = _literal(a)
        return mpmath.mpf(x.p) / x.q if x.is_Rational else _constant(x)


def _mp_literal(a):
    return _mp_literal_at(a, mpmath.mp.dps)


KINKS = (sp.Abs, sp.sign, sp.Heaviside, relu, leaky_relu, elu, sp.Max, sp.Min)
"""SymPy heads whose first argument's zero is a kink, sampled on both sides."""


class _Program:
    """Expressions flattened to rows, evaluated at a point with mpmath."""

    def __init__(self, roots, inputs):
        self.rows = _postorder(roots)
        self.index = {e: i for i, e in enumerate(self.rows)}
        self.roots = [self.index[r] for r in roots]
        self.inputs = list(inputs)
        self.kinks = [self.index[e.args[0]] for e in self.rows if e.func in KINKS]
        self.kinks += [self.index[c.lhs - c.rhs] for e in self.rows if isinstance(e, sp.Piecewise)
                       for _, c in e.args if isinstance(c, sp.core.relational.Relational)
                       and (c.lhs - c.rhs) in self.index]
        bad = [e.func.__name__ for e in self.rows
               if e.args and e.func not in _FUNCS and not isinstance(e, ExprCondPair)]
        self.unknown = sorted(set(bad))

        self.code = [self._compile(e) for e in self.rows]
        self._consts: dict = {}

    def _compile(self, e) -> tuple:
        if e.is_Symbol:
            return ("sym", e.name)
        if not e.args or e.is_NumberSymbol:
            return ("const", e)
        args = tuple(self.index[a] for a in e.args)
        if isinstance(e, ExprCondPair):
            return ("pair", args)
        if isinstance(e, sp.Piecewise):
            return ("pw", args)
        return ("f", _FUNCS.get(e.func), args)

    def run(self, point: Mapping, dps: int) -> list:
        with mpmath.workdps(dps):
            consts = self._consts.get(dps)
            if consts is None:
                consts = self._consts[dps] = {i: _constant(e) for i, e in enumerate(self.rows)
                                              if self.code[i][0] == "const"}
            vals = []
            for i, row in enumerate(self.code):
                vals.append(consts[i] if row[0] == "const" else self._one(row, vals, point))
            return vals

    @staticmethod
    def _one(row, vals, point):
        kind = row[0]
        if kind == "sym":
            return mpmath.mpf(point[row[1]]) if row[1] in point else TAINT
        args = [vals[i] for i in row[-1]]
        if kind == "pair":
            return tuple(args)
        if kind == "pw":
            return _piecewise(*[x for pair in args for x in pair])
        if row[1] is None or any(a is TAINT for a in args):
            return TAINT
        if any(a is UNDEF for a in args):
            return UNDEF
        try:
            return row[1](*args)
        except (ZeroDivisionError, ValueError, OverflowError, TypeError):
            return UNDEF


def _constant(e):
    if e is sp.true or e is sp.false:
        return e is sp.true
    if e in (sp.nan, sp.zoo, sp.oo, -sp.oo) or not e.is_real:
        return UNDEF
    if e.is_Rational:
        return mpmath.mpf(e.p) / e.q
    return mpmath.mpf(sp.Float(e.evalf(mpmath.mp.dps + 5), mpmath.mp.dps + 5)._mpf_)


# -- the points ---------------------------------------------------------------------------------
def _halton(i: int, base: int) -> float:
    f, r = 1.0, 0.0
    while i:
        f /= base
        r += f * (i % base)
        i //= base
    return r


_PRIMES = (2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37, 41, 43, 47, 53)


def sample_points(inputs, budget: Budget = Budget()) -> list:
    """The sampling points over the input box: a grid (1-D: 321 points, 2-D:
    17 x 17) on ``[-box, box]``, a Halton set for more inputs, and points on
    rays out to ``far``.  Coordinates are offset from round numbers so that
    no point sits exactly on a typical kink or pole."""
    names, n, b = list(inputs), len(inputs), budget.box
    if n == 0:
        return [{}]
    shift = 0.0123456789
    if n <= 2:
        steps = 321 if n == 1 else 17
        axis = [-b + 2 * b * i / (steps - 1) + shift for i in range(steps)]
        grid = [[a] for a in axis] if n == 1 else [[a, c] for a in axis for c in axis]
    else:
        grid = [[-b + 2 * b * _halton(i, _PRIMES[j % len(_PRIMES)]) for j in range(n)]
                for i in range(1, 301)]
    far = []
    for k in range(1, 21):
        r = b * (budget.far / b) ** (k / 20)
        ray = [math.cos(2.399963 * (k + 3 * j)) for j in range(n)]
        far += [[r * c + shift for c in ray], [-r * c + shift for c in ray]]
    return [dict(zip(names, p, strict=True)) for p in grid + far]


def _kink_points(prog: _Program, pts: list, vals: list) -> list:
    """Points just either side of each kink crossed between neighbouring grid points."""
    extra = []
    for row in prog.kinks[:6]:
        for i in range(len(pts) - 1):
            if len(extra) >= 16:
                return extra
            u, v = vals[i][row], vals[i + 1][row]
            if isinstance(u, _Mark) or isinstance(v, _Mark) or isinstance(u, bool) or u * v >= 0:
                continue
            lo, hi = pts[i], pts[i + 1]
            if max(abs(lo[k] - hi[k]) for k in lo) > 1.0:
                continue
            for _ in range(30):
                mid = {k: (lo[k] + hi[k]) / 2 for k in lo}
                m = prog.run(mid, 20)[row]
                if isinstance(m, _Mark) or m == 0:
                    break
                lo, hi = (mid, hi) if (m > 0) == (u > 0) else (lo, mid)
            extra += [lo, hi]
    return extra


# -- the check ------------------------------------------------------------------------------------
def _numbers_differ(e, s, dps: int) -> bool:
    if s is UNDEF:
        return True
    return abs(e - s) > mpmath.mpf(10) ** (5 - dps) * max(abs(e), abs(s), mpmath.mpf(1e-10))


def _counterexample(prog: _Program, points: list, budget: Budget, work: dict, run=None):
    """The first confirmed point where expected (root -2) and submitted (root -1)
    differ; ``run(point, dps)`` gives the row values (default ``prog.run``)."""
    nodes, e_row, s_row = prog.roots[:-2], prog.roots[-2], prog.roots[-1]
    if run is not None:
        s_row = len(prog.rows)            # the as-written value, appended to the rows
    run = run or prog.run
    results = []
    for p in points:
        vals = run(p, budget.dps)
        work["points"] += 1
        results.append(vals)
        if _differs_at(vals, nodes, e_row, s_row, budget.dps):
            found = _confirmed(run, p, nodes, e_row, s_row, budget.dps)
            if found is not None:
                return found
    grid = [p for p in points if all(abs(v) <= budget.box + 1 for v in p.values())]
    for p in _kink_points(prog, grid, results[:len(grid)]):
        found = _confirmed(run, p, nodes, e_row, s_row, budget.dps)
        work["points"] += 1
        if found is not None:
            return found
    return None


def _confirmed(run, p, nodes, e_row, s_row, dps):
    """``(p, expected, submitted)`` when they differ at ``dps`` digits and, by the
    same amount, at ``2 * dps`` (rounding error shrinks; a real difference stays)."""
    vals = run(p, dps)
    if not _differs_at(vals, nodes, e_row, s_row, dps):
        return None
    fine = run(p, 2 * dps)
    if _differs_at(fine, nodes, e_row, s_row, 2 * dps) and _stable(vals, fine, e_row, s_row):
        return p, fine[e_row], fine[s_row]
    return None


def _as_written(prog: _Program, sub: Graph, node_names: list):
    """Row values with the submission evaluated as written (its own graph), so
    ``sqrt(x)**2`` is undefined for x < 0 although SymPy writes it ``x``."""
    def run(p, dps):
        vals = prog.run(p, dps)
        env = {k: mpmath.mpf(v) for k, v in p.items()}
        env.update((n, vals[i]) for n, i in zip(node_names, prog.roots, strict=False))
        env.update((k, mpmath.mpf(0)) for k in sub.inputs if k not in env)    # a constant's dummy
        return vals + [run_graph(sub, env, dps)]
    return run


def _differs_at(vals, nodes, e_row, s_row, dps) -> bool:
    if any(isinstance(vals[i], _Mark) for i in nodes) or isinstance(vals[e_row], _Mark):
        return False                      # outside the exercise's domain, or too large
    if vals[s_row] is TAINT or abs(vals[e_row]) > 1e30:
        return False
    return _numbers_differ(vals[e_row], vals[s_row], dps)


def _stable(coarse, fine, e_row, s_row) -> bool:
    if fine[s_row] is UNDEF:
        return coarse[s_row] is UNDEF
    d1, d2 = coarse[e_row] - coarse[s_row], fine[e_row] - fine[s_row]
    return abs(d1 - d2) <= abs(d2) / 100


def equivalent(expected, submitted, graph: Graph | None = None, *,
               budget: Budget | None = None) -> Equivalence:
    """Decide whether ``submitted`` equals ``expected`` on the domain of ``graph``.

    Parameters
    ----------
    expected, submitted
        SymPy expressions (or Graphs with one output) in the inputs and node
        names of ``graph``; floats are read as exact numbers
        (:func:`exact_constants`).
    graph
        The exercise's graph: its node names stand for their definitions and its
        domain (the inputs where every node is finite) is where the formulas must
        agree.  None: the free symbols are the inputs.
    budget
        The limits (default :class:`Budget`).

    Returns
    -------
    Equivalence
        ``equal`` only with a symbolic proof; ``different`` with a point where the
        values differ (confirmed at twice the precision); else ``unchecked``.

    Examples
    --------
    >>> import symgrad as sg
    >>> x = sp.Symbol("x", real=True)
    >>> equivalent(4 * sp.exp(4 * x), sg.parse("4*exp(2*x)**2").to_sympy()).verdict
    'equal'
    >>> r = equivalent(4 * sp.exp(4 * x), sg.parse("4*exp(4*x) + relu(x - 3)").to_sympy())
    >>> r.verdict, r.point["x"] > 3
    ('different', True)
    """
    budget = budget or Budget()
    start = time.perf_counter()
    cpu = time.process_time()
    work = {"points": 0, "tree": 0, "symbolic": "none", "seconds": 0.0, "cpu": 0.0,
            "worker_cpu": 0.0}
    sub_graph = submitted if isinstance(submitted, Graph) else None
    e, s = (exact_constants(_as_sympy(v)) for v in (expected, submitted))
    defs = exact_values(graph) if graph is not None else {}
    names = {symbol(k): v for k, v in defs.items() if k not in graph.inputs} if graph else {}
    e, s = e.xreplace(names), s.xreplace(names)
    inputs = list(graph.inputs) if graph is not None else sorted(
        {a.name for a in (e.free_symbols | s.free_symbols)})
    size = _tree_size(e, budget.max_tree) + _tree_size(s, budget.max_tree)
    work["tree"] = size
    result = _decide(e, s, defs, inputs, size, budget, work, (sub_graph, graph))
    work["seconds"] = time.perf_counter() - start
    work["cpu"] = time.process_time() - cpu + work["worker_cpu"]
    return Equivalence(*result, work=work)


def _decide(e, s, defs, inputs, size, budget, work, graphs) -> tuple:
    if size > 2 * budget.max_tree:
        return ("unchecked", f"the formula is too large to check (over {budget.max_tree} terms); "
                "write it in a shorter form")
    sub_graph, graph = graphs
    node_names = [k for k in defs if k not in inputs]
    prog = _Program([*[defs[k] for k in node_names], e, s], inputs)
    if prog.unknown:
        return ("unchecked", f"cannot evaluate {', '.join(prog.unknown)}")
    run = _as_written(prog, sub_graph, node_names) if sub_graph is not None else None
    points = sample_points(inputs, budget)
    diff = e - s
    if diff == 0:                         # a proof; only the as-written domain is left to check
        suspects = _not_finite_as_written(sub_graph, graph, points)
        if suspects is not None:
            work["symbolic"] = "structural"
            return _structural(prog, run, suspects, budget, work)
    found = _counterexample(prog, points, budget, work, run)
    if found is not None:
        p, ev, sv = found
        return ("different", "the formulas differ", p, _float(ev), _float(sv))
    if diff == 0:
        work["symbolic"] = "structural"
        return ("equal", "equal as written")
    if _max_degree(diff) > budget.max_degree:
        work["symbolic"] = "refused"
        return ("unchecked", f"powers above {budget.max_degree} are beyond the checker's budget; "
                "write the formula differently")
    work["symbolic"] = "worker"
    proved = prove_zero(diff, ProofBudget(budget.seconds, budget.megabytes, budget.wall_seconds))
    work["worker_cpu"] = worker_cpu_seconds()
    if proved is True:
        return ("equal", "proven equal")
    if proved is None:
        return ("unchecked", f"could not check this form within {budget.seconds:g} s of work; "
                "write it differently (simplified, without huge powers)")
    return ("unchecked", "agrees at every sampled point but could not be shown equal; "
            "write it in a simpler form")


def _not_finite_as_written(sub: Graph | None, graph: Graph | None, points: list):
    """The sampling points where the submission as written is not finite in
    floats (numpy, all points at once): the only points where a formula that is
    SymPy-identical to the answer can still be undefined (``sqrt(x)**2`` for x < 0).
    None when the float run fails (the full mpmath sampling decides then)."""
    if sub is None:
        return []
    cols = {k: np.array([p[k] for p in points]) for k in points[0]}
    try:
        with np.errstate(all="ignore"):
            if graph is not None and graph.program:
                cols.update(graph.forward(cols, strict=False))
            env = {k: cols.get(k, np.zeros(len(points))) for k in sub.inputs}
            out = np.asarray(sub.forward(env, strict=False)[sub.outputs[0]], dtype=float)
    except Exception:   # noqa: BLE001 - any trouble: fall back to the full check
        return None
    bad = ~np.isfinite(np.broadcast_to(out, (len(points),)))
    return [p for p, b in zip(points, bad, strict=True) if b]


def _structural(prog, run, suspects, budget, work) -> tuple:
    nodes, e_row = prog.roots[:-2], prog.roots[-2]
    s_row = len(prog.rows) if run is not None else prog.roots[-1]
    for p in suspects:
        work["points"] += 1
        found = _confirmed(run or prog.run, p, nodes, e_row, s_row, budget.dps)
        if found is not None:
            return ("different", "the formulas differ", found[0], _float(found[1]),
                    _float(found[2]))
    return ("equal", "equal as written")


def evaluate(expr, graph: Graph | None, points, dps: int = 30) -> list:
    """``expr`` (node names standing for their definitions) at each point of
    ``points`` (``{input: float}``), with mpmath at ``dps`` digits; None where it
    is undefined or past the magnitude guards."""
    e = exact_constants(_as_sympy(expr))
    defs = exact_values(graph) if graph is not None else {}
    inputs = list(graph.inputs) if graph is not None else sorted(a.name for a in e.free_symbols)
    e = e.xreplace({symbol(k): v for k, v in defs.items() if k not in inputs})
    prog = _Program([e], inputs)
    if prog.unknown:
        return [None] * len(points)
    return [_float(prog.run(p, dps)[prog.roots[0]]) for p in points]


def _float(v):
    return None if isinstance(v, _Mark) else float(v)


def _as_sympy(v) -> sp.Expr:
    if isinstance(v, Graph):
        v = v.to_sympy()
    v = v if isinstance(v, sp.Basic) else sp.Integer(v) if isinstance(v, int) else sp.Float(v)
    return _plain_kinks(v)


def _plain_kinks(e: sp.Expr) -> sp.Expr:
    """The derivative ops' SymPy heads in the forms the checks know: ``step(x)`` is
    ``Heaviside(x, 0)`` and ``ifpos(c, a, b)`` the Piecewise ``a if c > 0 else b``
    (a student types ``step(x)`` for relu's derivative)."""
    if not e.has(sym_step, sym_ifpos):
        return e
    return e.replace(lambda f: isinstance(f, sym_step), lambda f: sp.Heaviside(f.args[0], 0)) \
        .replace(lambda f: isinstance(f, sym_ifpos),
                 lambda f: sp.Piecewise((f.args[1], f.args[0] > 0), (f.args[2], True)))
