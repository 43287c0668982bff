"""Proving a SymPy expression is zero, in a worker with a CPU-time budget.

:func:`prove_zero` is the symbolic half of :func:`symgrad.symbolic.equivalence.equivalent`.
It answers True only on a proof, False when the rewrites it knows do not reach 0,
and None when the work ran past its budget.

Kinks (``relu``, ``abs``, ``leaky_relu``, ``elu``, ``Heaviside``, ``sign`` and the
conditions of a ``Piecewise``) are removed by a case split: for an innermost kink
argument ``g`` the three cases ``g > 0``, ``g = 0`` and ``g < 0`` each replace every
kink of ``g`` by its branch (``relu(g)`` -> ``g`` or ``0``, ``abs(g)`` -> ``g``, ``0``
or ``-g``, ...), and the case's condition is built into the variables: when ``g`` is
linear in a variable ``v`` (numeric coefficient), ``v`` is rewritten so that ``g``
becomes a fresh positive symbol, 0, or minus one; when ``g`` is a polynomial in one
variable, ``v`` runs over the intervals (or points) where the case holds.  Each
kink-free case is then shown zero by the smooth rewrites (``expand``, trig and
exponential forms, ``simplify``).  A case on a lower-dimensional set (``g = 0``)
may be undefined there (``relu(a)/a`` at 0), as ``x**2/x`` is accepted for ``x``.

The budget counts CPU time, not wall-clock time, so a verdict does not depend on
how busy the machine is: the proof runs in a forked child whose CPU-time timer
(``ITIMER_PROF``) stops it at :attr:`Budget.seconds` (and ``RLIMIT_CPU`` kills it
a second or two later if a C routine does not return); its address space is
limited too.  The parent waits up to a much larger wall-clock safety net, which
only guards against a child that is stuck without using CPU.
"""

from __future__ import annotations

import math
import os
import pickle
import select
import signal
import time
from dataclasses import dataclass

import sympy as sp

from ..core.sym_functions import elu, leaky_relu, relu

__all__ = ["ProofBudget", "prove_zero", "is_zero", "worker_cpu_seconds"]

_KINKS = (relu, leaky_relu, elu, sp.Abs, sp.sign, sp.Heaviside)
_RELATIONS = {sp.StrictGreaterThan: lambda s: s > 0, sp.GreaterThan: lambda s: s >= 0,
              sp.StrictLessThan: lambda s: s < 0, sp.LessThan: lambda s: s <= 0,
              sp.Eq: lambda s: s == 0, sp.Ne: lambda s: s != 0}
MAX_CASES = 81
"""Most kink-free cases one proof examines (three per kink argument)."""


@dataclass(frozen=True)
class ProofBudget:
    """``seconds``: CPU seconds of the worker; ``megabytes``: its extra address
    space; ``wall_seconds``: the wall-clock safety net against a stuck worker."""

    seconds: float = 1.5
    megabytes: int = 200
    wall_seconds: float = 60.0


# -- kink-free: the smooth rewrites -------------------------------------------------------
def _cheap_zero(d) -> bool:
    if d == 0 or sp.expand(d, trig=True) == 0:
        return True
    even_sin = lambda e: (e.is_Pow and isinstance(e.base, sp.sin) and e.exp.is_Integer
                          and e.exp > 0 and e.exp % 2 == 0)
    return bool(d.has(sp.sin) and sp.expand(d.replace(
        even_sin, lambda e: (1 - sp.cos(e.base.args[0])**2) ** (e.exp // 2)), trig=True) == 0)


def _exp_zero(d) -> bool:
    """exp(k*v) -> t**k for each variable v: a rational function in t."""
    t = sp.Dummy("t", positive=True)
    ex = d.rewrite(sp.tanh, sp.exp).rewrite(sp.exp)
    if ex == 0:
        return True
    if ex.has(sp.I):
        return False
    ex2 = sp.powsimp(sp.expand(ex)).replace(lambda e: isinstance(e, sp.exp),
                                             lambda e: sp.exp(sp.expand(e.args[0])))
    for v in sorted(ex.free_symbols, key=str):
        sub = ex2.replace(lambda e: isinstance(e, sp.exp) and (e.args[0] / v).is_Rational,
                          lambda e: t ** (e.args[0] / v))
        if not sub.has(v) and sp.cancel(sp.together(sub)) == 0:
            return True
    return False


def _smooth_zero(d) -> bool:
    if _cheap_zero(d) or _exp_zero(d):
        return True
    return any(sp.simplify(form) == 0 for form in (d, d.rewrite(sp.exp)))


# -- the case split over kinks ------------------------------------------------------------
def _kink_arg(e):
    """The argument whose sign decides kink ``e`` (a kink function or a relation)."""
    if isinstance(e, _KINKS):
        return e.args[0]
    if isinstance(e, tuple(_RELATIONS)):
        return e.lhs - e.rhs
    return None


def _kinks_at(e) -> list:
    """The kink functions and Piecewise conditions at the top of ``e``."""
    if isinstance(e, sp.Piecewise):
        return [r for _, c in e.args for r in c.atoms(*_RELATIONS)]
    return [e] if isinstance(e, _KINKS) else []


def _has_kink(e) -> bool:
    return e.has(*_KINKS, sp.Piecewise)


def _canonical(g):
    """``(key, flip)`` with ``g == flip * key``, so ``g`` and ``-g`` split together."""
    return (-g, -1) if g.could_extract_minus_sign() else (g, 1)


def _innermost(expr) -> list:
    """Canonical kink arguments with no kink inside, in a fixed order."""
    found = {}
    for e in sp.preorder_traversal(expr):
        for k in _kinks_at(e):
            g = _kink_arg(k)
            if g is not None and g.free_symbols and not _has_kink(g):
                found.setdefault(_canonical(g)[0], None)
    return sorted(found, key=lambda g: (sp.count_ops(g), str(g)))


def _branch(e, s: int):
    """Kink ``e`` when its argument has sign ``s`` (-1, 0, 1)."""
    if isinstance(e, tuple(_RELATIONS)):
        return sp.true if _RELATIONS[type(e)](s) else sp.false
    g = e.args[0]
    if isinstance(e, relu):
        return g if s > 0 else sp.S.Zero
    if isinstance(e, leaky_relu):
        return g if s > 0 else e.args[1] * g
    if isinstance(e, elu):
        return g if s > 0 else e.args[1] * (sp.exp(g) - 1)
    if isinstance(e, sp.Abs):
        return s * g
    if isinstance(e, sp.sign):
        return sp.Integer(s)
    return sp.Integer(1 if s > 0 else 0) if s else (e.args[1] if len(e.args) > 1 else sp.S.Half)


def _replace(expr, key, s: int):
    """``expr`` with every kink of argument ``key`` (or ``-key``) on the branch ``s``."""
    table = {}
    for e in sp.preorder_traversal(expr):
        for k in _kinks_at(e):
            g = _kink_arg(k)
            if g is not None and not _has_kink(g):
                gk, flip = _canonical(g)
                if gk == key:
                    table[k] = _branch(k, s * flip)
    return expr.xreplace(table)


def _regions(g, s: int) -> list | None:
    """Substitutions ``{v: ...}`` whose union covers the set where sign(g) = s, or
    None when g is not linear in a variable nor a polynomial in one."""
    for v in sorted(g.free_symbols, key=str):
        k = sp.diff(g, v)
        if k.is_number and k != 0 and not sp.diff(k, v).free_symbols:
            rest = sp.expand(g - k * v)
            if not rest.has(v):
                t = sp.Dummy("t", positive=True)
                return [{v: (s * t - rest) / k}] if s else [{v: -rest / k}]
    if len(g.free_symbols) != 1 or not g.is_polynomial():
        return None
    v = next(iter(g.free_symbols))
    if not 1 <= sp.Poly(g, v).degree() <= 4:          # constant (0 everywhere?) or too hard
        return None
    domain = sp.Interval.open(0, sp.oo) if v.is_positive else sp.S.Reals
    where = (sp.solveset(g, v, domain) if s == 0 else sp.solve_univariate_inequality(
        g > 0 if s > 0 else g < 0, v, relational=False, domain=domain))
    maps = []
    for piece in where.args if isinstance(where, sp.Union) else [where]:
        if isinstance(piece, sp.FiniteSet):
            maps += [{v: p} for p in piece]
        elif isinstance(piece, sp.Interval):
            maps.append(_interval_map(v, piece))
        elif piece is not sp.S.EmptySet:
            return None                      # a set SymPy could not describe: no split
    return maps


def _interval_map(v, piece) -> dict:
    """``v`` over a superset of the interval ``piece``, from its finite end."""
    t = sp.Dummy("t", positive=True)
    lo, hi = piece.inf, piece.sup
    if lo.is_finite:
        return {v: lo + t}
    return {v: hi - t} if hi.is_finite else {}


def _leaves(diff):
    """Kink-free ``(expr, lower_dimensional)`` cases whose all being 0 proves ``diff`` 0,
    or None past :data:`MAX_CASES` (iterative: an explicit stack)."""
    out, stack = [], [(diff, False)]
    while stack:
        expr, low = stack.pop()
        keys = _innermost(expr) if _has_kink(expr) else []
        if not keys:
            out.append((expr, low))
            if len(out) > MAX_CASES:
                return None
            continue
        key = keys[0]
        for s in (1, 0, -1):
            regions = _regions(key, s)
            if regions is None and s == 0:
                return None                  # g = 0 with no way to impose it: give up
            if s == 0:                       # at the point itself: abs(0) = 0, 0/0 undefined
                stack.extend((expr.xreplace(r), True) for r in regions)
            else:
                case = _replace(expr, key, s)
                stack.extend((case.xreplace(r), low) for r in regions or [{}])
        if len(stack) > 3 * MAX_CASES:
            return None
    return out


def is_zero(diff: sp.Expr) -> bool:
    """True when ``diff`` is proven identically 0 (every kink case), in process,
    with no budget; False when the rewrites do not reach 0."""
    if not _has_kink(diff):
        return _smooth_zero(diff)
    cases = _leaves(diff)
    if cases is None:
        return False
    hard = []
    for expr, low in cases:
        if low and expr.has(sp.nan, sp.zoo):
            continue                         # undefined on a lower-dimensional set only
        if _has_kink(expr) or expr.has(sp.nan, sp.zoo):
            return False
        if not _cheap_zero(expr):
            hard.append(expr)
    return all(_exp_zero(e) or _smooth_zero(e) for e in hard)


# -- the bounded worker ---------------------------------------------------------------------
class _OutOfTime(BaseException):
    """Raised in the worker by its CPU-time timer (a BaseException, so that no
    ``except Exception`` inside SymPy swallows it)."""


def _on_timer(signum, frame):
    signal.setitimer(signal.ITIMER_PROF, 0)          # once: the result can still be sent
    raise _OutOfTime


_LAST_CPU = [0.0]


def worker_cpu_seconds() -> float:
    """CPU seconds (user + system) the last proof worker used (0 if none ran)."""
    return _LAST_CPU[0]


def prove_zero(diff: sp.Expr, budget: ProofBudget | None = None):
    """True if ``diff`` is proven 0, False if not, None past the budget.

    Runs :func:`is_zero` in a forked child limited to ``budget.seconds`` of CPU
    time and ``budget.megabytes`` of extra address space (SymPy has no timeout
    and a thread cannot be stopped).  Where fork is unavailable it runs in
    process, after the caller's size checks.
    """
    budget = budget or ProofBudget()
    if not hasattr(os, "fork") or not hasattr(signal, "setitimer"):
        return is_zero(diff)
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:                                     # the child never returns
        try:
            os.close(r)
            _child(diff, w, budget)
        finally:
            os._exit(0)
    os.close(w)
    data, reaped = b"", False
    try:
        data = _read_all(r, budget.wall_seconds)
        if data is None:
            os.kill(pid, signal.SIGKILL)
        _, status, usage = os.wait4(pid, 0)
        reaped = True
        _LAST_CPU[0] = usage.ru_utime + usage.ru_stime
    finally:
        os.close(r)
        if not reaped:                               # interrupted (Ctrl-C): no orphan
            os.kill(pid, signal.SIGKILL)
            os.wait4(pid, 0)
    if not data or not os.WIFEXITED(status):
        return None                                  # killed: CPU, memory or the safety net
    return pickle.loads(data)


def _read_all(fd: int, wall_seconds: float):
    """Everything the child writes until it closes the pipe; None past ``wall_seconds``."""
    chunks, deadline = [], time.monotonic() + wall_seconds
    while True:
        left = deadline - time.monotonic()
        if left <= 0 or not select.select([fd], [], [], left)[0]:
            return None
        chunk = os.read(fd, 65536)
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)


def _child(diff, fd: int, budget: ProofBudget) -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)     # Ctrl-C ends the worker, not a test run
    try:
        import resource
        soft = _vm_bytes() + budget.megabytes * 2**20
        resource.setrlimit(resource.RLIMIT_AS, (soft, soft))
        cpu = math.ceil(budget.seconds) + 1
        resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))
    except (ImportError, ValueError, OSError):
        pass
    signal.signal(signal.SIGPROF, _on_timer)
    signal.setitimer(signal.ITIMER_PROF, budget.seconds)
    try:
        result = is_zero(diff)
    except (_OutOfTime, MemoryError, RecursionError):
        result = None
    except Exception:   # noqa: BLE001 - SymPy trouble is "not proven", never a crash
        result = False
    signal.setitimer(signal.ITIMER_PROF, 0)
    os.write(fd, pickle.dumps(result))


def _vm_bytes() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
