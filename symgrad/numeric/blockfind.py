"""Finding the blocks of a lowered program by what its ops are.

:func:`find_blocks` turns a lowered program (rows ``(slot, op, args)``, literals
as 1-tuples) into a :class:`Program` of the blocks of :mod:`symgrad.numeric.fuse`:

1. **layers**: rows of an op with ``Op.linear`` whose weights (first of each
   pair) are graph inputs, grouped by their values (second of each pair: nodes
   or literals, same order), at least one of them a node;
2. **activations**: one op of fixed arity (``Op.arity`` equals its argument
   count) applied to every node of a layer as first argument, the other
   arguments the same literals;
3. **losses**: a pair op (``Op.arity == PAIRS``, not linear) whose firsts are
   a block's nodes in order and whose seconds are nodes (the targets);
4. **glue**: a :class:`~symgrad.numeric.fuse.Stack` where a block reads nodes
   that are not one block's, a :class:`~symgrad.numeric.fuse.Column` for a
   block's node that a plain row reads (or that is an output).

No op is named: only the table's properties are read.
"""

from __future__ import annotations

import numpy as np

from ..core.ops import PAIRS, Op
from .fuse import Column, Linear, Map, Pairs, Stack

__all__ = ["Program", "find_blocks"]


class Program:
    """A block program: ``rows`` in topological order, and where the blocks are.

    ``linear`` and ``maps`` list the rows of the layers and activations;
    ``member`` maps a node slot to ``(block key, column)``; ``inner`` holds the
    members no plain row reads (no :class:`~symgrad.numeric.fuse.Column` row)."""

    def __init__(self, rows: tuple, linear: tuple = (), maps: tuple = (), member: dict | None = None,
                 inner: frozenset = frozenset()):
        self.rows, self.linear, self.maps, self.inner = rows, linear, maps, inner
        self.member = member or {}

    def steps(self, segment=None) -> tuple:
        """The forward pass: ``(run, key, args)`` per block, and per run of plain
        rows one step running ``segment(rows)`` (a compiled function of ``V``)."""
        steps, seg = [], []
        for row in self.rows:
            key, op, args = row
            if type(op) is Op:
                seg.append(row)
                continue
            if seg:
                steps.append(_plain(segment(seg)))
                seg = []
            if type(op) is not Column:
                steps.append((op.run, key, args))
        if seg:
            steps.append(_plain(segment(seg)))
        return tuple(steps)

    def __bool__(self) -> bool:
        return bool(self.linear)


def _plain(fn) -> tuple:
    return (lambda ctx, key, args: fn(ctx.V)), None, None


class _Found:
    """What the search has found so far: program rows to emit at a row index
    (``at``), the rows they replace (``absorbed``), each block's key by its
    nodes (``by_members``) and its rows ``(key, members, emitted rows)``."""

    def __init__(self):
        self.at, self.absorbed, self.by_members, self.blocks = {}, set(), {}, []
        self.linear, self.maps = [], []


def find_blocks(rows, input_slots, output_slots=()) -> Program:
    """The block program of a lowered program's ``rows``, found by the op table's properties."""
    groups = _groups(rows, set(input_slots))
    if not groups:
        return Program(tuple(rows))
    found = _Found()
    firsts = _elementwise(rows)
    for vs, ks in groups.items():
        _layer(found, rows, vs, ks, firsts)
    _losses(found, rows)
    read = _columns(found, rows, output_slots)
    member = {s: (key, j) for key, members, _ in found.blocks for j, s in enumerate(members)}
    out = []
    for k, row in enumerate(rows):
        if k in found.at:
            out.extend(found.at[k])
        elif k not in found.absorbed:
            out.append(row)
    return Program(tuple(out), tuple(found.linear), tuple(found.maps), member,
                   frozenset(s for s in member if s not in read))


def _groups(rows, inputs: set) -> dict:
    """``{values: [row index]}`` of the linear rows whose weights are inputs."""
    groups: dict = {}
    for k, (o, op, args) in enumerate(rows):
        if op.linear:
            ws, vs = args[0::2], args[1::2]
            if all(type(w) is int and w in inputs for w in ws) and any(type(v) is int for v in vs):
                groups.setdefault(vs, []).append(k)
    return groups


def _elementwise(rows) -> dict:
    """``{slot: [row index]}``: rows applying a fixed-arity op to the slot, literals after."""
    firsts: dict = {}
    for k, (o, op, args) in enumerate(rows):
        if op.arity == len(args) and not op.linear and type(args[0]) is int \
                and all(type(a) is tuple for a in args[1:]):
            firsts.setdefault(args[0], []).append(k)
    return firsts


def _layer(found: _Found, rows, vs: tuple, ks: list, firsts: dict) -> None:
    """The layer of rows ``ks`` (values ``vs``), its inputs' stack, its activation."""
    n = len(found.linear)
    key, members = f"A{n}", tuple(rows[k][0] for k in ks)
    xs = tuple(v for v in vs if type(v) is int)
    src = found.by_members.get(xs)
    emit = []
    if src is None:
        src = f"X{n}"
        emit.append((src, Stack(), xs))
    row = (key, _linear(rows, ks, vs), (f"W{n}", src))
    emit.append(row)
    found.linear.append(row)
    _block(found, key, members, emit, ks)
    acts = _activation(rows, firsts, members)
    if acts is not None:
        op, params, aks = acts
        hmembers = tuple(rows[k][0] for k in aks)
        hrow = (f"H{n}", Map(op, params, hmembers), (key,))
        found.maps.append(hrow)
        _block(found, hrow[0], hmembers, [hrow], aks)


def _block(found: _Found, key, members: tuple, emit: list, ks) -> None:
    found.at[min(ks)] = emit
    found.absorbed.update(ks)
    found.by_members.setdefault(members, key)
    found.blocks.append((key, members, emit))


def _linear(rows, ks, vs) -> Linear:
    R, J = len(vs), len(ks)
    weights = tuple(rows[ks[j]][2][2 * r] for r in range(R) for j in range(J))
    node_rows = [r for r, v in enumerate(vs) if type(v) is int]
    cols = slice(node_rows[0], node_rows[-1] + 1) \
        if node_rows == list(range(node_rows[0], node_rows[-1] + 1)) else np.array(node_rows)
    lits = tuple((r, float(v[0])) for r, v in enumerate(vs) if type(v) is tuple)
    return Linear(rows[ks[0]][1], tuple(rows[k][0] for k in ks), weights, (R, J), cols, lits)


def _activation(rows, firsts, members):
    """(op, params, row indices) of one op applied to every member with the same literals."""
    for k0 in firsts.get(members[0], ()):
        _, op, args = rows[k0]
        found = [k0]
        for m in members[1:]:
            k = next((k for k in firsts.get(m, ()) if rows[k][1] is op and rows[k][2][1:] == args[1:]), None)
            if k is None:
                break
            found.append(k)
        else:
            return op, tuple(a[0] for a in args[1:]), found
    return None


def _losses(found: _Found, rows) -> None:
    """Pair ops over a block's nodes in order and other nodes (the targets)."""
    for k, (o, op, args) in enumerate(rows):
        if op.arity == PAIRS and not op.linear and k not in found.absorbed:
            ps, ts = tuple(args[0::2]), tuple(args[1::2])
            if ps in found.by_members and all(type(t) is int for t in ts):
                emit = []
                tkey = found.by_members.get(ts)
                if tkey is None:
                    tkey = f"T{k}"
                    emit.append((tkey, Stack(), ts))
                emit.append((o, Pairs(op, len(ps)), (found.by_members[ps], tkey)))
                found.at[k] = emit
                found.absorbed.add(k)


def _columns(found: _Found, rows, output_slots) -> set:
    """Column rows after each block for its nodes that plain rows, stacks or the
    outputs read; returns the slots so read."""
    read = set(output_slots)
    for k, (o, op, args) in enumerate(rows):
        if k not in found.absorbed:
            read.update(a for a in args if type(a) is int)
    read.update(a for emit in found.at.values() for key, op, args in emit if type(op) is Stack for a in args)
    for key, members, emit in found.blocks:
        emit.extend((s, Column(j, len(members)), (key,)) for j, s in enumerate(members) if s in read)
    return read
