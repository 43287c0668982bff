"""Gradient checking: reverse mode vs the symbolic gradient vs finite differences.

:func:`check` evaluates, per input, the reverse-mode adjoint, the symbolic
gradient (the shared form of :func:`symgrad.symbolic.gradient.symbolic_gradient`,
evaluated numerically as straight-line numpy code) and a central finite
difference, and reports the largest relative error
``|a - b| / max(1, |a|, |b|)`` of each against reverse mode.  It notes where the
point is non-smooth (an argument of a kinked op such as relu or abs is at 0, or
a finite difference straddles one) and where values are non-finite.
Finite differences that straddle a kink are reported but do not fail the check.

With ``paths=True`` it also runs every tier of the lowered executor
(:mod:`symgrad.numeric.paths`: fast grad, compiled code, instruction loop, fused layers,
mean gradient) and compares each node's value and adjoint with the reference
interpreters, in a second table of the same report.
"""

from __future__ import annotations

import html

import dataclasses
import math
import weakref
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from numbers import Real

import numpy as np
import sympy as sp

from ..errors import InputError
from ..numeric.forward import evaluate, read_inputs
from ..core.graph import Graph, is_node
from ..numeric.paths import run_paths
from ..numeric.reverse import adjoints
from .gradient import evaluate_shared, symbol, symbolic_gradient
from ..core.gradient_graph import derivative_graph
from ..numeric.tangents import cached_gradient_graph

__all__ = ["check", "CheckReport", "Row", "finite_differences", "kink_notes", "compare"]

_EPS_STEP = 0.025 * np.finfo(float).eps ** (1 / 5)  # five-point stencil: h ~ 2e-5 * scale
_FD_BUDGET = 2**23                              # floats held per batched FD pass (64 MB)
_SHOWN = 24                                     # executor-path rows printed in full
_COMPILED: "weakref.WeakKeyDictionary[Graph, dict]" = weakref.WeakKeyDictionary()


@dataclass(frozen=True)
class Row:
    """One checked input: its values per method, the largest relative error
    against the first method, and which methods disagree."""

    name: str
    values: Mapping
    error: float
    failed: tuple = ()
    note: str = ""
    worst: tuple | None = None     # sample index of the largest error (batches)

    @property
    def ok(self) -> bool:
        return not self.failed


@dataclass(frozen=True)
class CheckReport:
    """The result of a gradient check; ``str(report)`` is a table.

    ``rows`` has one :class:`Row` per input (``report["x"]`` picks one),
    ``methods`` the compared columns (the first is the reference), ``notes``
    remarks on non-smooth or non-finite points, ``ok`` whether all agree within
    ``rtol`` and ``failed`` says which check failed where.
    """

    methods: tuple
    rows: tuple
    rtol: float
    notes: tuple = ()
    shape: tuple | None = None
    title: str = "gradient check"
    label: str = "input"
    paths: "CheckReport | None" = None     # the executor paths' report (check(paths=True))
    shown: tuple | None = None             # names of the rows str() prints besides failing ones

    @property
    def ok(self) -> bool:
        return all(r.ok for r in self.rows) and (self.paths is None or self.paths.ok)

    @property
    def failed(self) -> tuple:
        """``("x: reverse vs finite differences (rel. error 3.1e-02)", ...)``, then
        the executor paths' (``"adjoint of a: reference vs fused (...)"``)."""
        ref = self.methods[0]
        return tuple(f"{r.name}: {ref} vs {m} (rel. error {r.error:.1e})"
                     for r in self.rows for m in r.failed) + (self.paths.failed if self.paths else ())

    @property
    def max_error(self) -> float:
        return max((r.error for r in self.rows), default=0.0)

    def __getitem__(self, name: str) -> Row:
        for r in self.rows:
            if r.name == name:
                return r
        raise KeyError(f"no row {name!r}; rows: {', '.join(r.name for r in self.rows)}")

    def __str__(self) -> str:
        return _table(self) + ("\n" + _table(self.paths) if self.paths is not None else "")

    def __repr__(self) -> str:
        return (f"<CheckReport {'ok' if self.ok else 'FAILED'}: {len(self.rows)} inputs, "
                f"max rel. error {self.max_error:.1e}>")

    def _repr_html_(self) -> str:
        """The table in a notebook: the same text, a failing report in red."""
        colour = "#1a7f37" if self.ok else "#b42318"
        return (f'<pre style="border-left:4px solid {colour};padding-left:.6em">'
                f"{html.escape(str(self))}</pre>")


def check(graph: Graph, values: Mapping | None = None, /, *, output: str | None = None,
          rtol: float = 1e-5, paths: bool = False, order: int = 1, **inputs) -> CheckReport:
    """Check the gradient of ``output`` three ways at a point (or a batch), or
    its Hessian four ways (``order=2``).

    Parameters
    ----------
    graph
        The computational graph.
    values, **inputs
        Input values, as for :func:`symgrad.numeric.forward.forward` (arrays: a batch;
        the check is per sample and reports the worst one).
    output
        The node to differentiate (default: the only output).
    rtol
        Largest accepted relative error ``|a - b| / max(1, |a|, |b|)``.
    paths
        Also compare every executor path of the lowered program with the
        reference interpreters (:mod:`symgrad.numeric.paths`): the fast scalar grad,
        compiled code, the instruction loop, fused layers (with compiled or looped
        segments) and the mean gradient, each forced in turn on a fresh lowering.
        Every node's value and adjoint (the mean gradient: the output's mean and
        the inputs' mean adjoints) must agree within ``rtol``; nan agrees with
        nan.  At a scalar point the array paths run on 0-d arrays; with arrays
        the fast grad does not apply.  Paths that do not apply are listed in the
        notes of ``report.paths``.  Being keyword-only, ``paths`` cannot be an
        input name passed as a keyword (pass such inputs in ``values``).
    order
        1: the gradient; 2: the Hessian, one row per entry ``"x, y"``
        (d^2 output / dx dy), four columns: reverse-over-reverse (the gradient
        graph differentiated again, evaluated; the reference),
        forward-over-reverse (``graph.hessian``), SymPy (``sympy.diff`` of the
        symbolic gradient) and five-point finite differences of the gradient
        graph (an entry whose difference straddles a kink of the gradient is
        excused, as for order 1).  Keyword-only, as ``paths``.

    Returns
    -------
    CheckReport
        Per input: reverse, symbolic and finite-difference values, the largest
        relative error and ``ok``; ``.ok``, ``.failed`` and ``.notes`` overall.
        With ``paths``, ``.paths`` is a second report, one row per node value and
        adjoint, one column per path that ran; a disagreement fails the check and
        is named in ``.failed`` as ``"adjoint of a: reference vs fused (...)"``.

    Raises
    ------
    InputError, GraphError
        Bad inputs, an unknown ``output``, or an ``rtol`` that is not a finite number >= 0.
    TypeError
        If ``graph`` is not a :class:`Graph`.

    Examples
    --------
    >>> import symgrad as sg
    >>> g = sg.parse("sqrt(x**2 + exp(x**2)) + cos(x**2 + exp(x**2))")
    >>> report = sg.check(g, x=2.0)
    >>> report.ok, round(report["x"].values["reverse"], 2)
    (True, -182.87)
    >>> print(report)  # doctest: +NORMALIZE_WHITESPACE, +ELLIPSIS
    gradient check: ok (rtol 1e-05)
    input  reverse  symbolic  finite differences  rel. error  ok
    x      -182.87  -182.87   -182.87             ...         yes
    >>> sg.check(g, x=2.0, paths=True).paths.methods
    ('reference', 'fast grad', 'code', 'loop', 'mean gradient')
    """
    if not isinstance(graph, Graph):
        raise TypeError(f"check() needs a symgrad Graph such as sg.parse('x**2'), "
                        f"got {type(graph).__name__}")
    check_rtol(rtol)
    if not isinstance(paths, bool):
        raise InputError(f"paths must be True or False, got {paths!r}")
    if order not in (1, 2) or isinstance(order, bool):
        raise InputError(f"order must be 1 (gradient) or 2 (Hessian), got {order!r}")
    out = graph.default_output(output)
    ins, shape = read_inputs(graph, values, inputs)
    with np.errstate(all="ignore"):
        vals = evaluate(graph, ins)
        adj = adjoints(graph, vals, out)
    path_report = path_check(graph, ins, shape, out, vals, adj, rtol=rtol) if paths else None
    if order == 2:
        return dataclasses.replace(hessian_check(graph, ins, shape, out, vals, rtol=rtol),
                                   paths=path_report)
    with np.errstate(all="ignore"):
        reverse = {n: _scalar(adj.get(n, 0.0)) for n in graph.inputs}
        symbolic = {k: _scalar(v) for k, v in
                    _compiled(graph, out)(*[ins[n] for n in graph.inputs]).items()}
        fd, straddle = finite_differences(graph, ins, out, graph.inputs)
    notes = kink_notes(graph, vals) + _nonfinite_notes(vals)
    columns = {"reverse": reverse, "symbolic": symbolic, "finite differences": fd}
    report = compare(graph.inputs, columns, rtol=rtol, excuse={"finite differences": straddle},
                     notes=notes, shape=shape)
    return dataclasses.replace(report, paths=path_report)


def hessian_check(graph: Graph, ins: Mapping, shape: tuple | None, output: str, vals: Mapping,
                  *, rtol: float) -> CheckReport:
    """The Hessian of ``output`` four ways (see :func:`check` with ``order=2``):
    one row per entry ``"x, y"``, the first column the reference."""
    names = graph.inputs
    dg = cached_gradient_graph(graph, names, output)
    hg = derivative_graph(dg, dg.outputs, names)
    entries = [f"{a}, {b}" for a in names for b in names]
    n = len(names)
    with np.errstate(all="ignore"):
        twice = hg.forward(ins)
        fwd = graph.hessian(ins)
        sym = _compiled_hessian(graph, output)(*[ins[x] for x in graph.inputs])
        dg_vals = evaluate(dg, ins)
        fd, straddle = {}, {}
        for i, o in enumerate(dg.outputs):
            part, cross = finite_differences(dg, ins, o, names)
            for j, b in enumerate(names):
                fd[entries[i * n + j]], straddle[entries[i * n + j]] = part[b], cross[b]
    columns = {"reverse-over-reverse": {e: _scalar(twice[o]) for e, o in zip(entries, hg.outputs)},
               "forward-over-reverse": {e: _scalar(fwd[..., k // n, k % n]) for k, e in enumerate(entries)},
               "symbolic": {e: _scalar(sym[e]) for e in entries},
               "finite differences": {e: _scalar(v) for e, v in fd.items()}}
    notes = kink_notes(graph, vals) + kink_notes(dg, dg_vals) + _nonfinite_notes(dg_vals)
    return compare(entries, columns, rtol=rtol, excuse={"finite differences": straddle},
                   notes=list(dict.fromkeys(notes)), shape=shape, title="Hessian check", label="entry")


def _compiled_hessian(graph: Graph, out: str):
    """The Hessian by ``sympy.diff`` of the symbolic gradient (DiracDelta, the
    derivative of a step, is 0 as the numeric convention), as a numpy function."""
    per_graph = _COMPILED.setdefault(graph, {})
    key = ("hessian", out)
    if key not in per_graph:
        names = graph.inputs
        grad = symbolic_gradient(graph, output=out)
        exprs = {f"{a}, {b}": sp.diff(grad[a], symbol(b)).replace(sp.DiracDelta, lambda *_: sp.S.Zero)
                 for a in names for b in names}
        per_graph[key] = evaluate_shared([], exprs, names)
    return per_graph[key]


def path_check(graph: Graph, ins: Mapping, shape: tuple | None, output: str, vals: Mapping,
               adj: Mapping, *, rtol: float) -> CheckReport:
    """The executor paths (:func:`symgrad.numeric.paths.run_paths`) against the reference
    values ``vals`` and adjoints ``adj``: a report with a row per node value
    (``"value of a"``), adjoint (``"adjoint of a"``) and mean (``"mean of f"``,
    ``"mean adjoint of x"``), a column per path that ran."""
    results = run_paths(graph, ins, output, shape)
    ran = [r for r in results.values() if r.ran]
    columns = {"reference": {}, **{r.name: {} for r in ran}}
    names = []
    for n in graph.nodes:
        quantities = (("value of", vals[n], "values"),) * (not graph.is_input(n)) + \
            (("adjoint of", adj.get(n, 0.0), "adjoints"),)
        for label, ref, part in quantities:
            key = f"{label} {n}"
            names.append(key)
            columns["reference"][key] = _scalar(ref)
            for r in ran:
                got = getattr(r, part)
                if got is not None and n in got:
                    columns[r.name][key] = _scalar(0.0 if got[n] is None else got[n])
    for n in (output, *graph.inputs):
        key = f"mean of {n}" if n == output else f"mean adjoint of {n}"
        names.append(key)
        columns["reference"][key] = float(np.mean(vals[n] if n == output else adj.get(n, 0.0)))
        for r in ran:
            if r.means is not None and n in r.means:
                columns[r.name][key] = r.means[n]
    notes = [f"{r.name}: ran {r.ran}" if r.ran else f"{r.name}: not run, {r.note}" for r in results.values()]
    report = compare(names, columns, rtol=rtol, notes=notes, shape=shape, title="executor paths",
                     label="node", equal_nan=True)
    if len(names) > _SHOWN:          # a big graph: its output and the failures
        report = dataclasses.replace(report, shown=(f"value of {output}", f"mean of {output}"))
    return report


def check_rtol(rtol) -> None:
    """Raise InputError unless ``rtol`` is a finite number >= 0."""
    if isinstance(rtol, bool) or not isinstance(rtol, Real) or not 0 <= rtol < math.inf:
        raise InputError(f"rtol must be a finite number >= 0 such as 1e-5, got {rtol!r}")


def _compiled(graph: Graph, out: str):
    per_graph = _COMPILED.setdefault(graph, {})
    if out not in per_graph:
        per_graph[out] = evaluate_shared(*symbolic_gradient(graph, output=out, shared=True),
                                         graph.inputs)
    return per_graph[out]


def _kinked(graph: Graph):
    """``(node, op, first argument)`` for every op with a kink in a real argument."""
    return [(n, op, args[0]) for n, op, args in graph.program
            if op.kink and op.domain[0] == "real" and args and is_node(args[0])]


def finite_differences(graph: Graph, inputs: Mapping, output: str, wrt: Sequence[str]):
    """Five-point central differences of ``output`` for each input in ``wrt``, in batched
    forward passes (perturbations stacked on a new leading axis, in chunks that
    keep memory bounded).

    The step is ``eps**(1/5) / 40 * max(1, |x|)`` (about 2e-5) per input and per
    sample: the stencil's O(h**4) truncation error stays small even a few 1e-4
    from a pole, while its rounding error is ~ eps |f| / h.  Returns
    ``(fd, straddle)``: ``{input: derivative}`` and ``{input: bool mask}`` of the
    samples where some kinked op's argument changes sign (or is 0) between the
    two evaluations, so the difference straddles a kink.
    """
    shape = np.broadcast_shapes(*[np.shape(inputs[k]) for k in graph.inputs])
    per_row = max(1, int(np.prod(shape))) * max(1, len(graph.nodes))
    chunk = max(1, _FD_BUDGET // (2 * per_row))
    fd, straddle = {}, {}
    for start in range(0, len(wrt), chunk):
        part = _fd_chunk(graph, inputs, output, wrt[start:start + chunk], shape)
        fd.update(part[0])
        straddle.update(part[1])
    return fd, straddle


_STENCIL = (2.0, 1.0, -1.0, -2.0)           # f'(x) = (-f(x+2h) + 8f(x+h) - 8f(x-h) + f(x-2h)) / 12h
_WEIGHTS = (-1.0, 8.0, -8.0, 1.0)


def _fd_chunk(graph, inputs, output, wrt, shape):
    """The five-point central difference (error O(h**4)) for each input of ``wrt``,
    all perturbations in one batched forward pass."""
    n, m = len(wrt), len(_STENCIL)
    steps = {k: _EPS_STEP * np.maximum(1.0, np.abs(inputs[k])) for k in wrt}
    stacked = dict(inputs)
    for i, k in enumerate(wrt):
        col = np.broadcast_to(np.asarray(inputs[k], float), (m * n, *shape)).copy()
        for j, s in enumerate(_STENCIL):
            col[m * i + j] += s * steps[k]
        stacked[k] = col
    vals = evaluate(graph, stacked)
    f = np.broadcast_to(vals[output], (m * n, *shape))
    fd = {k: _scalar(sum(w * f[m * i + j] for j, w in enumerate(_WEIGHTS)) / (12 * steps[k]))
          for i, k in enumerate(wrt)}
    straddle = {k: np.zeros(shape, bool) for k in wrt}
    for _, _, arg in _kinked(graph):
        v = np.broadcast_to(vals[arg], (m * n, *shape))
        for i, k in enumerate(wrt):
            outer_plus, outer_minus = v[m * i], v[m * i + m - 1]
            straddle[k] |= (np.sign(outer_plus) != np.sign(outer_minus)) | (outer_plus == 0) | \
                (outer_minus == 0)
    return fd, straddle


def _scalar(v):
    return float(v) if np.ndim(v) == 0 else v


def kink_notes(graph: Graph, values: Mapping) -> list[str]:
    """Notes for every kinked op (relu, leaky_relu, elu, abs) whose argument is
    exactly 0 at some sample, with the op's convention there."""
    notes = []
    for name, op, arg in _kinked(graph):
        zero = np.asarray(values[arg]) == 0
        if zero.any():
            where = "" if zero.ndim == 0 else f" at {int(zero.sum())} sample(s)"
            notes.append(f"non-smooth: node {name!r} ({op.name}) has its argument {arg!r} "
                         f"at 0{where}; convention {op.kink}")
    return notes


def _nonfinite_notes(values: Mapping) -> list[str]:
    bad = [n for n, v in values.items() if not np.isfinite(v).all()]
    if not bad:
        return []
    shown = ", ".join(bad[:10]) + (" ..." if len(bad) > 10 else "")
    return [f"non-finite: the value of node(s) {shown} is nan or inf at this point"]


def _rel_error(a, b, equal_nan=False):
    a, b = np.asarray(a, float), np.asarray(b, float)
    with np.errstate(all="ignore"):
        err = np.abs(a - b) / np.maximum(1.0, np.maximum(np.abs(a), np.abs(b)))
    same = (np.isinf(a) & (a == b)) | (equal_nan & np.isnan(a) & np.isnan(b))
    return np.where(same, 0.0, np.where(np.isnan(err), np.inf, err))


def compare(names: Sequence[str], columns: Mapping, *, rtol: float,
            excuse: Mapping | None = None, notes: Sequence[str] = (),
            shape: tuple | None = None, title: str = "gradient check",
            label: str = "input", equal_nan: bool = False) -> CheckReport:
    """A :class:`CheckReport` comparing ``columns`` (``{method: {name: value}}``,
    the first method is the reference) row by row; ``excuse[method][name]`` masks
    samples where that method is not expected to agree (a straddled kink).  A
    method without an entry for a name is not compared there (printed ``-``);
    ``equal_nan`` counts nan against nan as agreement."""
    methods = tuple(columns)
    rows = []
    for name in names:
        ref = columns[methods[0]][name]
        errs, failed, note = {}, [], ""
        for m in methods[1:]:
            if name not in columns[m]:
                continue
            e = _rel_error(ref, columns[m][name], equal_nan)
            mask = (excuse or {}).get(m, {}).get(name)
            if mask is not None and np.any(mask):
                e = np.where(mask, 0.0, e)
                note = f"{m} straddle a kink"
            errs[m] = e
            if np.max(e) > rtol:
                failed.append(m)
        total = np.maximum.reduce(np.broadcast_arrays(*errs.values())) if errs else np.zeros(())
        worst = np.unravel_index(int(np.argmax(total)), np.shape(total)) if np.ndim(total) else None
        rows.append(Row(name, {m: columns[m].get(name) for m in methods}, float(np.max(total)),
                        tuple(failed), note, worst))
    return CheckReport(methods, tuple(rows), rtol, tuple(notes), shape, title, label)


def _fmt(v, worst) -> str:
    if v is None:
        return "-"
    if np.ndim(v) and worst is not None:
        v = np.broadcast_to(v, np.shape(v))[worst] if np.ndim(v) == len(worst) else np.ravel(v)[0]
    return f"{float(v):.6g}"


def _table(report: CheckReport) -> str:
    head = [report.label, *report.methods, "rel. error", "ok"]
    rows = [r for r in report.rows if report.shown is None or not r.ok or r.name in report.shown]
    body = [[r.name, *[_fmt(r.values[m], r.worst) for m in report.methods], f"{r.error:.1e}",
             "yes" if r.ok else "NO"] + ([f"({r.note})"] if r.note else []) for r in rows]
    widths = [max(len(row[i]) for row in [head, *body] if i < len(row)) for i in range(len(head))]
    line = lambda cells: "  ".join(c.ljust(w) for c, w in zip(cells, widths)).rstrip() + \
        ("  " + cells[-1] if len(cells) > len(widths) else "")
    status = "ok" if report.ok else "FAILED: " + "; ".join(report.failed)
    batch = f", worst of {int(np.prod(report.shape))} samples shown" if report.shape else ""
    lines = [f"{report.title}: {status} (rtol {report.rtol:g}{batch})", line(head),
             *map(line, body)]
    if len(rows) < len(report.rows):
        lines.append(f"... and {len(report.rows) - len(rows)} more rows, all agreeing")
    return "\n".join(lines + [f"note: {n}" for n in report.notes])
