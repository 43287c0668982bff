"""The SymPy bridge: SymPy expressions -> Graph, and Graph nodes -> SymPy.

Both directions are iterative (an explicit stack, or one loop over the flat
program), so deep expressions never hit Python's recursion limit.  Going to
SymPy applies the op table with the :data:`~symgrad.core.ops.SYM` backend, so the
kinks follow the numeric convention: relu is :class:`symgrad.core.sym_functions.relu`,
whose derivative is ``Heaviside(x, 0)``, 0 at 0 as in PyTorch.
"""

from __future__ import annotations

from collections.abc import Mapping

import sympy as sp

from ..errors import GraphError
from ..core.graph import Assembler, Graph, is_node, normal_name
from ..core.ops import OPS, SYM, derived, sympy_heads

__all__ = ["from_sympy", "to_sympy", "sympy_values", "literal", "as_expr", "symbol",
           "sympy_heads", "sympy_patterns"]


@derived
def sympy_patterns() -> dict:
    """``{SymPy head: [(op, pattern, wilds)]}`` for the function ops whose SymPy form
    is a compound (sigmoid ``1/(1 + exp(-x))``, softplus ``log(1 + exp(x))``,
    sqrt ``x**(1/2)``): the op applied to Wilds, matched against expressions."""
    heads, found = sympy_heads(), {}
    for op in OPS.values():
        if op.call and op.arity >= 0 and op not in heads.values():
            wilds = [sp.Wild(f"_w{i}") for i in range(op.arity)]
            pattern = op.apply(SYM, *wilds)
            if pattern.has(*wilds) and pattern.func not in (sp.Symbol, sp.Wild):
                found.setdefault(pattern.func, []).append((op, pattern, wilds))
    return found


def _fixed(pattern: sp.Basic, e: sp.Basic) -> bool:
    """Cheap test before a match: the pattern's Wild-free arguments are ``e``'s."""
    if pattern.is_Add or pattern.is_Mul or len(pattern.args) != len(e.args):
        return len(pattern.args) <= len(e.args) if (pattern.is_Add or pattern.is_Mul) else False
    return all(p.has(sp.Wild) or p == a for p, a in zip(pattern.args, e.args))


def _op_form(e: sp.Expr):
    """``(op name, argument expressions, params)`` if ``e`` is one op of the table
    (by its SymPy head or its compound pattern), else None."""
    for op, pattern, wilds in sympy_patterns().get(e.func, ()):
        if not _fixed(pattern, e):
            continue
        m = e.match(pattern)
        if m is None or any(w not in m for w in wilds):
            continue
        args = [m[w] for w in wilds]
        if op.apply(SYM, *args) == e and _params_ok(op, args):
            return _split(op, args)
    op = sympy_heads().get(e.func)
    if op is not None and len(e.args) == op.arity and _params_ok(op, list(e.args)):
        return _split(op, list(e.args))
    return _activation(e)


def _params_ok(op, args) -> bool:
    return all(_number(p) is not None for p in args[len(args) - len(op.params):]) if op.params \
        else True


def _split(op, args):
    k = len(args) - len(op.params)
    return op.name, args[:k], tuple(_number(p) for p in args[k:])


def symbol(name: str) -> sp.Symbol:
    """The SymPy symbol of a node or input: real, as every graph value is."""
    return sp.Symbol(name, real=True)


def literal(x) -> sp.Expr:
    """A graph literal (int or float) as a SymPy number."""
    return sp.Integer(x) if isinstance(x, int) else sp.Float(x)


def as_expr(v) -> sp.Expr:
    """An op table result under the SYM backend as a SymPy expression: partials
    may be plain Python numbers (add's constant 1), which become SymPy numbers."""
    return v if isinstance(v, sp.Basic) else literal(v)


def sympy_values(graph: Graph, symbols: Mapping | None = None, upto: str | None = None,
                 numbers: Mapping | None = None) -> dict:
    """``{node: SymPy expression}`` for every node, built bottom-up in topological
    order; inputs are ``sp.Symbol(name, real=True)`` unless ``symbols`` maps them,
    literals SymPy numbers (exact ones where ``numbers`` maps the float)."""
    vals = {name: (symbols or {}).get(name, symbol(name)) for name in graph.inputs}
    num = (lambda a: numbers.get(a) or literal(a)) if numbers else literal
    try:
        for name, op, args in graph.program:
            vals[name] = op.apply(SYM, *[vals[a] if is_node(a) else num(a) for a in args])
            if name == upto:
                break
    except RecursionError:
        raise GraphError(f"node {name!r} is nested too deeply for SymPy, whose own algorithms "
                         "recurse; work with node symbols instead (g.symbolic_adjoints(), "
                         "g.symbolic_gradient(shared=True)) or with the numeric passes") from None
    return vals


_MEMO = "sympy"          # graph._cache key: what from_sympy remembers of the expression


def to_sympy(graph: Graph, node: str | None = None) -> sp.Expr:
    """The SymPy expression of ``node`` (default: the only output) in the inputs.

    A graph made by :func:`from_sympy` gives back the caller's own symbols (with
    their assumptions) and exact numbers (``pi``, ``E``, rationals such as 1/2),
    so a round trip returns an equal expression.  Other graphs use real symbols
    (``sp.Symbol(name, real=True)``) and their literals as SymPy numbers.

    Examples
    --------
    >>> import sympy as sp, symgrad as sg
    >>> sg.parse("sqrt(x**2 + exp(x**2)) + cos(x**2 + exp(x**2))").to_sympy()
    sqrt(x**2 + exp(x**2)) + cos(x**2 + exp(x**2))
    >>> x, y = sp.symbols("x y")
    >>> sg.from_sympy(sp.pi * x * sp.sin(y) / 2).to_sympy() == sp.pi * x * sp.sin(y) / 2
    True
    """
    node = graph.default_output(node)
    symbols, numbers = graph._cache.get(_MEMO, ({}, {}))
    if graph.is_input(node):
        return symbols.get(node) or symbol(node)
    return sympy_values(graph, symbols, upto=node, numbers=numbers)[node]


def _number(e: sp.Expr):
    if e in (sp.zoo, sp.oo, -sp.oo, sp.nan):
        raise GraphError(f"the SymPy number {e} is not finite")
    if e.is_Integer:
        return int(e)
    if e.is_Number or e.is_NumberSymbol:
        v = float(e)
        if v != v or v in (float("inf"), float("-inf")):
            raise GraphError(f"the SymPy number {e} is not finite")
        return v
    return None


class _FromSympy:
    """Maps SymPy nodes onto graph ops through an Assembler (hash-consing), and
    remembers the symbols and exact numbers it met, for :func:`to_sympy`."""

    def __init__(self):
        self.asm = Assembler()
        self.symbols: dict[str, sp.Symbol] = {}     # input name -> the first Symbol of that name
        self.numbers: dict[float, sp.Expr] = {}     # literal -> exact number (pi, 1/2, ...)
        self.floats: set[float] = set()             # literals written as Floats: stay floats

    def number(self, e: sp.Expr):
        num = _number(e)
        if type(num) is float:
            if e.is_Float or self.numbers.get(num, e) != e:
                self.floats.add(num)
                self.numbers.pop(num, None)
            elif num not in self.floats:
                self.numbers[num] = e
        return num

    def convert(self, expr: sp.Expr, done: dict):
        """``expr`` whose sub-expressions are already converted (in ``done``)."""
        num = self.number(expr)
        if num is not None:
            return num
        if expr.is_Symbol:
            ref = self.asm.input(expr.name)
            self.symbols.setdefault(normal_name(expr.name), expr)
            return ref
        get = lambda e: done[e]
        form = _op_form(expr)
        if form is not None:
            op, args, params = form
            return self.asm.node(op, [*map(get, args), *params])
        if expr.is_Add:
            return self._add(expr, get)
        if expr.is_Mul:
            return self._mul(expr, get)
        if expr.is_Pow:
            return self._pow(expr, get)
        raise _unsupported(expr)

    def _fold(self, op, first, rest):
        acc = first
        for r in rest:
            acc = self.asm.node(op, [acc, r])
        return acc

    def _add(self, expr, get):
        terms = expr.as_ordered_terms()
        acc = get(terms[0])
        for t in terms[1:]:
            if t.could_extract_minus_sign():
                acc = self.asm.node("sub", [acc, get(-t)])
            else:
                acc = self.asm.node("add", [acc, get(t)])
        return acc

    def _mul(self, expr, get):
        coeff, rest = expr.as_coeff_Mul()
        if coeff == -1:
            return self.asm.node("neg", [get(rest)])
        factors = expr.as_ordered_factors()
        num = [get(f) for f in factors if not _reciprocal(f)]
        den = [get(1 / f) for f in factors if _reciprocal(f)]
        top = self._fold("mul", num[0], num[1:]) if num else 1
        return self.asm.node("div", [top, self._fold("mul", den[0], den[1:])]) if den else top

    def _pow(self, expr, get):
        base, k = expr.args
        if _reciprocal(expr):
            return self.asm.node("div", [1, get(1 / expr)])
        return self.asm.node("pow", [get(base), get(k)])


def _unsupported(expr) -> GraphError:
    known = ", ".join(sorted({"+", "*", "**", "Max(x, 0)", "Piecewise (relu, leaky_relu, elu)"}
                             | {op.name for op in sympy_heads().values()}
                             | {op.name for forms in sympy_patterns().values() for op, _, _ in forms}))
    return GraphError(f"cannot convert SymPy {type(expr).__name__} {str(expr)[:80]!r}: "
                      f"supported are numbers, symbols and {known}")


def _activation(e: sp.Expr):
    """``(op, [argument], params)`` if ``e`` is SymPy's own spelling of relu,
    leaky_relu or elu: ``Max(a, 0)`` or ``Piecewise((a, a > 0), (g(a), True))``."""
    if isinstance(e, sp.Max) and len(e.args) == 2 and 0 in e.args:
        return "relu", [e.args[0] if e.args[1] == 0 else e.args[1]], ()
    if not (isinstance(e, sp.Piecewise) and len(e.args) == 2 and e.args[1].cond == sp.true):
        return None
    (a, cond), (low, _) = e.args
    if not (isinstance(cond, sp.StrictGreaterThan) and cond.lhs == a and cond.rhs == 0):
        return None
    if low == 0:
        return "relu", [a], ()
    ratio = sp.simplify(low / a)
    if ratio.is_number:
        return "leaky_relu", [a], (_number(ratio),)
    alpha = sp.expand(low).coeff(sp.exp(a))
    if alpha.is_number and sp.expand(alpha * (sp.exp(a) - 1) - low) == 0:
        return "elu", [a], (_number(alpha),)
    return None


def _supported(e: sp.Expr) -> bool:
    return e.is_Add or e.is_Mul or e.is_Pow or e.is_Symbol or _op_form(e) is not None


def _reciprocal(f: sp.Expr) -> bool:
    """``f`` is a power with a negative numeric exponent (written as a division)."""
    return bool(f.is_Pow and f.exp.is_number and f.exp.is_negative)


def _walk(conv: _FromSympy, root: sp.Expr, done: dict):
    stack = [(root, False)]
    while stack:
        e, expanded = stack.pop()
        if e in done:
            continue
        if expanded or not e.args or _number(e) is not None:
            done[e] = conv.convert(e, done)
            continue
        if not _supported(e):
            raise _unsupported(e)
        stack.append((e, True))
        kids = _children(e)
        stack.extend((k, False) for k in reversed(kids) if k not in done)
    return done[root]


def _children(e: sp.Expr) -> list:
    """The sub-expressions ``convert`` will ask for, in left-to-right order."""
    form = _op_form(e)
    if form is not None:
        return list(form[1])
    if e.is_Add:
        return [(-t if i and t.could_extract_minus_sign() else t)
                for i, t in enumerate(e.as_ordered_terms())]
    if e.is_Mul:
        coeff, rest = e.as_coeff_Mul()
        if coeff == -1:
            return [rest]
        return [1 / f if _reciprocal(f) else f for f in e.as_ordered_factors()]
    if e.is_Pow:
        return [1 / e] if _reciprocal(e) else list(e.args)
    return list(e.args)


def _output_name(name) -> str:
    return normal_name(name if isinstance(name, str) else str(name), "an output name")


def from_sympy(expr) -> Graph:
    """A Graph from a SymPy expression, or from ``{output name: expression}``.

    Symbols become inputs (in order of first appearance, left to right as SymPy
    prints), identical sub-expressions one node, intermediate nodes auto-named in
    post-order.  ``x**(1/2)`` becomes ``sqrt``, ``x**-1`` a division, ``-1*x`` a
    negation and ``a + -1*b`` a subtraction.

    Raises
    ------
    GraphError
        For SymPy objects with no op (integrals, undefined functions, ...).

    Examples
    --------
    >>> import sympy as sp, symgrad as sg
    >>> x = sp.Symbol("x")
    >>> sg.from_sympy(sp.sqrt(x**2 + sp.exp(x**2)) + sp.cos(x**2 + sp.exp(x**2))).nodes
    ('x', 'a', 'b', 'c', 'd', 'e', 'f')
    """
    named = dict(expr) if isinstance(expr, Mapping) else {None: expr}
    conv, done, outs = _FromSympy(), {}, []
    for name, e in named.items():
        if not isinstance(e, sp.Expr):
            raise GraphError(f"from_sympy() takes SymPy expressions, got {type(e).__name__} {e!r}")
        ref = _walk(conv, e, done)
        if not is_node(ref):
            raise GraphError(f"the expression {e} is constant: it has no symbols")
        outs.append(ref if name is None else conv.asm.name(ref, _output_name(name)))
    taken = set(conv.asm.inputs) | {_output_name(n) for n in named if n is not None}
    g = conv.asm.graph(outs, taken)
    g._cache[_MEMO] = (conv.symbols, conv.numbers)
    return g
