"""Local derivatives as a derivation prints them: one op's partials in placeholders.

A derivation refers to arguments by node name, so each local derivative is
computed once per op and argument shape (cached), with a :func:`placeholder`
for each distinct node argument; printers put the node's display name in.
:func:`named_functions` is the backend of the slides' derivation, in which
ops SymPy would expand (``sigmoid``) keep their names.
"""

from __future__ import annotations

import functools
import re
from types import SimpleNamespace

import sympy as sp

from ..core.graph import is_node
from ..core.ops import OPS, SYM, derived, on_change, sympy_heads
from ..front.sympy_io import as_expr, literal

__all__ = ["placeholder", "is_placeholder", "named_functions", "generic_partials", "arg_shape"]


@functools.lru_cache(maxsize=None)
def placeholder(k: int) -> sp.Symbol:
    """The SymPy symbol standing for the k-th distinct node argument in a cached
    local derivative; printers replace its name by the node's display name."""
    return sp.Symbol(f"\x01{k}\x02")


_PLACEHOLDER = re.compile("^\x01([0-9]+)\x02$")


def is_placeholder(s: sp.Basic) -> bool:
    """True for a :func:`placeholder` symbol (never a node's symbol, which is real)."""
    m = _PLACEHOLDER.match(getattr(s, "name", ""))
    return m is not None and s == placeholder(int(m[1]))


@derived
def named_functions() -> tuple:
    """``(namespace, {SymPy function class: op})``: the op table's SymPy backend
    in which every unary function op that SymPy writes as a formula of other
    functions (``sigmoid``, ``softplus``) is an unevaluated function of its own
    name, so a local derivative keeps the op as the lecture writes it
    (``sigmoid(a)*(1 - sigmoid(a))``, not SymPy's expansion of
    ``1/(1 + exp(-a))``); printers write such a function from its op's form.
    n-ary formulas (``logsumexp``) stay written out, so the softmax reads
    ``exp(z_i)/(exp(z_1) + ...)``."""
    SYM.exp                                     # build the lazy namespace
    ns, heads, own = dict(vars(SYM)), {}, set(sympy_heads().values())
    for name, op in OPS.items():
        if op.call and op.arity == 1 and name in ns and op not in own:
            ns[name] = heads_key = sp.Function(name)
            heads[heads_key] = op
    return SimpleNamespace(**ns), heads


@functools.lru_cache(maxsize=4096)
def generic_partials(op_name: str, shape: tuple, named: bool = False) -> tuple:
    """Local derivatives of ``op`` per distinct node argument, in placeholders.

    ``shape`` has, per argument, the index of its distinct node or ``("lit", v)``
    for a literal.  A node used at several positions gets the sum of its partials.
    ``named``: in :func:`named_functions`'s backend (the slides' derivation).
    """
    op = OPS[op_name]
    m = named_functions()[0] if named else SYM
    syms = [placeholder(s) if isinstance(s, int) else literal(s[1]) for s in shape]
    parts = op.partials(m, op.apply(m, *syms), *syms)
    count = 1 + max((s for s in shape if isinstance(s, int)), default=-1)
    local = [sp.Integer(0)] * count
    for s, d in zip(shape, parts, strict=True):
        if isinstance(s, int):
            local[s] += as_expr(d)
    return tuple(local)


on_change(generic_partials.cache_clear)      # keyed by op name: forget after conventions.register()


def arg_shape(args: tuple) -> tuple[tuple, tuple]:
    """``(shape, distinct node names)`` of an argument list (see generic_partials)."""
    index: dict[str, int] = {}
    shape = []
    for a in args:
        if is_node(a):
            shape.append(index.setdefault(a, len(index)))
        else:
            shape.append(("lit", a))
    return tuple(shape), tuple(index)
