"""The reference interpreters and the reading of inputs.

:func:`evaluate` (one loop over the flat program, the op table's ``apply`` per
node) and :func:`adjoints` (the sweep of :mod:`symgrad.core.sweep` with numbers) are
the specification every lowered tier (:mod:`symgrad.numeric.lower`) equals bit for bit;
they run strict mode.  Numpy semantics: IEEE nan/inf instead of exceptions,
everything float64 (literals too: ``10**400`` is inf, not an integer).
:func:`read_inputs` checks and converts what a user passes, once per call.
These are public as :mod:`symgrad.numeric.forward` and :mod:`symgrad.numeric.reverse` names.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Mapping
from decimal import Decimal
from numbers import Real
from typing import Any

import numpy as np

from ..errors import DomainError, InputError
from ..core.graph import Graph, is_node
from ..core.ops import NUM
from ..core.sweep import Numbers, sweep

__all__ = ["NodeValues", "read_inputs", "evaluate", "adjoints"]


class NodeValues(Mapping):
    """Read-only mapping node -> value (or adjoint), in topological order.

    ``.nonfinite`` is the tuple of nodes whose value is nan or inf (anywhere in
    the batch).  Scalar entries are Python floats; with array inputs every entry
    is an array of the broadcast ``.shape``.
    """

    __slots__ = ("_data", "shape", "_nonfinite")

    def __init__(self, data: dict, shape: tuple | None):
        self._data = data
        self.shape = shape
        self._nonfinite = None

    def __getitem__(self, name: str):
        try:
            v = self._data[name]
        except KeyError:
            raise KeyError(f"no node {name!r}; the nodes are {brief(map(repr, self._data))}") from None
        if self.shape is None:
            return float(v)
        return np.broadcast_to(v, self.shape)

    def __iter__(self):
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)

    def __repr__(self) -> str:
        if self.shape is None:
            body = ", ".join(f"{k!r}: {float(v):.6g}" for k, v in list(self._data.items())[:50])
            return "{" + body + (", ..." if len(self) > 50 else "") + "}"
        return f"<NodeValues: {len(self)} nodes, shape {self.shape}>"

    @property
    def nonfinite(self) -> tuple:
        if self._nonfinite is None:
            self._nonfinite = tuple(k for k, v in self._data.items() if not _all_finite(v))
        return self._nonfinite


def brief(names, limit: int = 10) -> str:
    """``'a', 'b', ... and 990 more``: a list of names short enough for one line."""
    names = list(names)
    more = f" ... and {len(names) - limit:,} more" if len(names) > limit else ""
    return ", ".join(names[:limit]) + more


def _all_finite(v) -> bool:
    return bool(np.isfinite(v).all()) if isinstance(v, np.ndarray) else bool(np.isfinite(v))


def _as_number(name: str, v: Any):
    if type(v) is float or type(v) is np.float64:          # the common case, fast
        return np.float64(v)
    if isinstance(v, (bool, np.bool_)) or isinstance(v, (str, bytes)):
        raise InputError(f"input {name!r} must be a real number or an array of them, "
                         f"got {type(v).__name__} {v!r}")
    if isinstance(v, (Real, Decimal)):                     # Fraction, Decimal: rounded to float64
        try:
            f = float(v)
            if math.isinf(f) and isinstance(v, Decimal) and v.is_finite():
                raise OverflowError
            return np.float64(f)
        except OverflowError:
            raise InputError(f"input {name!r} is too large for a float64, got {str(v):.40}") from None
        except ValueError:                              # Decimal("sNaN")
            raise InputError(f"input {name!r} has no float64 value, got {str(v):.40}") from None
    ma = sys.modules.get("numpy.ma")          # np.ma imports lazily (~15 ms): only if in use
    if ma is not None and isinstance(v, ma.MaskedArray):
        raise InputError(f"input {name!r} is a masked array; symgrad does not honour masks: pass "
                         "v.compressed() (the unmasked values) or v.filled(value)")
    try:
        arr = np.asarray(v)
    except Exception as exc:  # ragged lists etc.
        raise InputError(f"input {name!r} is not a rectangular array of numbers: {exc}") from None
    if arr.dtype.kind not in "iuf":
        raise InputError(f"input {name!r} must hold real numbers, got dtype {arr.dtype}")
    arr = arr.astype(np.float64)
    return arr[()] if arr.ndim == 0 else arr


def read_inputs(graph: Graph, values: Mapping | None, kwargs: Mapping,
                limit: int) -> tuple[dict, tuple | None]:
    """Merge ``values`` and keyword inputs, check them against ``graph.inputs``, and
    convert to float64.  Returns ``(inputs, shape)``; ``shape`` is None when every
    input is a scalar, else the broadcast shape, of at most ``limit`` elements
    (the setting :data:`symgrad.numeric.forward.MAX_ELEMENTS`)."""
    fast = _all_floats(graph.inputs, kwargs if values is None else values if not kwargs else None)
    if fast is not None:
        return fast, None
    if values is not None and not isinstance(values, Mapping):
        raise InputError(f"inputs are passed as a mapping {{name: value}} or as keywords, "
                         f"got {type(values).__name__}")
    given = dict(values or {})
    for k, v in kwargs.items():
        if k in given:
            raise InputError(f"input {k!r} is given twice")
        given[k] = v
    known = set(graph.inputs)
    unknown = [k for k in given if k not in known]
    if unknown:
        raise InputError(f"unknown input(s) {brief(map(repr, unknown))}; "
                         f"the graph's inputs are {brief(graph.inputs) or 'none'}")
    missing = [k for k in graph.inputs if k not in given]
    if missing:
        raise InputError(f"missing input(s) {brief(map(repr, missing))}; "
                         f"pass e.g. {missing[0]}=1.0")
    out = {k: _as_number(k, given[k]) for k in graph.inputs}
    shapes = [np.shape(v) for v in out.values() if isinstance(v, np.ndarray)]
    if not shapes:
        return out, None
    desc = lambda: ", ".join(f"{k}: {np.shape(v)}" for k, v in out.items() if isinstance(v, np.ndarray))
    try:
        shape = np.broadcast_shapes(*shapes)
    except ValueError:
        raise InputError(f"input shapes do not broadcast together ({desc()})") from None
    size = math.prod(shape)
    if size == 0:
        raise InputError(f"an empty batch: the inputs ({desc()}) hold no samples; pass at least one")
    if size > limit:
        raise InputError(f"the inputs ({desc()}) broadcast to shape {shape}, {size:,} elements a node, "
                         f"more than symgrad.numeric.forward.MAX_ELEMENTS = {limit:,}")
    return out, shape


def _all_floats(names: tuple, given) -> dict | None:
    """``{name: np.float64}`` when ``given`` holds exactly the inputs, all floats
    (the common scalar call, checked in one pass); None otherwise."""
    if given is None or not isinstance(given, Mapping) or len(given) != len(names):
        return None
    out = {}
    for k in names:
        v = given.get(k)
        if type(v) is not float and type(v) is not np.float64:
            return None
        out[k] = np.float64(v)
    return out


def _scalar(v):
    return v[()] if type(v) is np.ndarray and v.ndim == 0 else v


def evaluate(graph: Graph, inputs: dict, *, strict: bool = False) -> dict:
    """The raw forward loop: ``{node: value}`` for inputs already read."""
    values = dict(inputs)
    if strict:
        for name, v in inputs.items():
            if not _all_finite(v):
                raise DomainError(f"input {name!r} is not finite ({_show(v)}); strict=False allows it")
    with np.errstate(all="ignore"):
        for name, op, args in graph.program:
            vals = [values[a] if is_node(a) else float(a) for a in args]   # literals as floats
            out = _scalar(op.apply(NUM, *vals))
            values[name] = out
            if strict and not _all_finite(out) and all(map(_all_finite, vals)):
                raise DomainError(_domain_message(name, op, args, vals, out))
    return values


def _show(v) -> str:
    if isinstance(v, np.ndarray):
        bad = np.flatnonzero(~np.isfinite(v))
        i = int(bad[0]) if len(bad) else 0
        return f"{v.flat[i]!r} at sample {np.unravel_index(i, v.shape)}"
    return repr(float(v))


def _domain_message(name, op, args, vals, out) -> str:
    """'node 'a' (log) is -inf [at sample i] with arguments (x=0); log needs x > 0 ...'"""
    where, pick = "", (lambda v: v)
    if isinstance(out, np.ndarray):
        i = int(np.flatnonzero(~np.isfinite(out))[0])
        idx = tuple(int(k) for k in np.unravel_index(i, out.shape))
        where = f" at sample {idx[0] if len(idx) == 1 else idx}"
        pick = lambda v: np.broadcast_to(v, out.shape).flat[i] if isinstance(v, np.ndarray) else v
    shown = ", ".join(f"{a}={float(pick(v)):.6g}" if is_node(a) else repr(a)
                      for a, v in zip(args, vals, strict=True))
    return (f"node {name!r} ({op.name}) is {float(pick(out)):.6g}{where} with arguments "
            f"({shown}); {op.name} needs {op.valid}. strict=False gives nan/inf instead")


def adjoints(graph: Graph, values: dict, output: str, *, strict: bool = False) -> dict:
    """The reference reverse loop: ``{node: adjoint}`` for the nodes ``output``
    depends on, by :func:`symgrad.core.sweep.sweep` with numbers (``values`` holds
    every node's forward value); with ``strict``, a local derivative that is not
    finite at finite arguments is a DomainError."""
    with np.errstate(all="ignore"):
        return sweep(graph.program, output, _Reference(values, strict), np.float64(1.0))


class _Reference(Numbers):
    """Numbers with literals as floats, 0-d results as scalars, and the strict
    check of each row's local derivatives (against the row's own adjoint)."""

    def __init__(self, values, strict: bool):
        super().__init__(values)
        self.strict, self.seed = strict, None

    def settle(self, name, total):
        self.seed = total
        return total

    def partials(self, name, op, args):
        vals = [self.values[a] if is_node(a) else float(a) for a in args]   # literals as floats
        local = op.partials(NUM, self.values[name], *vals)
        if self.strict:
            _check_local(name, op, args, vals, local, self.seed)
        return local

    def term(self, seed, d, name, pos, arg):
        return _scalar(seed * d)


def _check_local(name, op, args, vals, local, seed) -> None:
    for a, d in zip(args, local, strict=True):
        if is_node(a) and not _all_finite(d) and _all_finite(seed) and all(map(_all_finite, vals)):
            shown = ", ".join(f"{b}={float(np.ravel(v)[0]):.6g}" if is_node(b) else repr(b)
                              for b, v in zip(args, vals, strict=True))
            raise DomainError(f"node {name!r} ({op.name}): the local derivative with respect to "
                              f"{a!r} is not finite at ({shown}); {op.kink or op.valid}. "
                              "strict=False gives nan/inf instead")
