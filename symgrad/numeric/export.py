"""The graph leaves symgrad: a plain function for numpy, math, JAX or PyTorch, and
a standalone module of Python source.

Both are written from the op table's own formulas (``apply`` and ``partials``,
run on the code backend of :mod:`symgrad.numeric.codeform`), over the backend
functions of :mod:`symgrad.numeric.backends`; the reverse pass of
:func:`to_source` is the one chain-rule sweep (:func:`symgrad.core.sweep.sweep`)
with an interpretation that writes one line per node.

Kinks: JAX's and PyTorch's own derivatives differ from symgrad's at a few
non-differentiable points (JAX: elu'(0) through ``minimum``'s tie rule, ``d(a**k)/da``
at 0; PyTorch: relu'(nan), ...).  So every op whose formula calls a function
(``exp``, ``relu``, ``abs``, ``pow``, ``sigmoid``, ...) is exported for JAX as a
``jax.custom_jvp`` and for PyTorch as a ``torch.autograd.Function`` whose
derivative is the op table's ``partials``: ``jax.grad`` and ``backward()`` give
symgrad's gradients, conventions included.  Ops that are pure arithmetic (``+ - *``,
``wsum``, ``sum``, ``neg``) are left to the framework, which differentiates them
exactly as the table does.

>>> import symgrad as sg
>>> g = sg.parse("sqrt(x**2 + exp(x**2)) + cos(x**2 + exp(x**2))")
>>> f = function(g, "math")
>>> round(f(2.0), 5), round(f(x=2.0), 5)
(7.19433, 7.19433)
"""

from __future__ import annotations

import ast
import inspect
import keyword
import re

from ..core.graph import Graph, is_node
from ..core.sweep import Interpretation, sweep
from ..errors import InputError
from .backends import BACKENDS, namespace, prelude
from .codeform import apply_code, partial_code
from .codegen import define

__all__ = ["function", "to_source", "literal_source"]

_NODE = object()          # a node's position in a row's argument pattern
_CALL = re.compile(r"[A-Za-z_]\w*\(")


def literal_source(v) -> str:
    """A literal as Python source: ints stay ints, floats keep their bits
    (``-0.0`` is ``(-0.0)``), nan and infinities are the names ``nan`` and ``inf``
    every backend defines.

    >>> literal_source(2), literal_source(-0.0), literal_source(float("-inf"))
    ('2', '(-0.0)', '(-inf)')
    """
    if isinstance(v, int) and not isinstance(v, bool):
        s = int.__repr__(int(v))
    else:
        f = float(v)
        s = "nan" if f != f else "inf" if f == float("inf") else "-inf" if f == -float("inf") \
            else float.__repr__(f)
    return f"({s})" if s.startswith("-") else s


def _calls(op, n: int) -> bool:
    """Whether the op's formula calls a backend function (else it is arithmetic)."""
    return _CALL.search(apply_code(op, [f"a{i}" for i in range(n)])) is not None


def _pattern_key(op, args) -> tuple:
    return (op.name,) + tuple(None if is_node(a) else (type(a).__name__, repr(a)) for a in args)


def _fill(pattern, xs):
    it = iter(xs)
    return [next(it) if p is _NODE else p for p in pattern]


def _jax_rule(op, pattern, ns):
    """The op as a ``jax.custom_jvp`` whose derivative is the table's partials."""
    import jax
    import jax.numpy as jnp

    @jax.custom_jvp
    def rule(*xs):
        return op.apply(ns, *_fill(pattern, xs))

    @rule.defjvp
    def rule_jvp(primals, tangents):
        full = _fill(pattern, primals)
        y = op.apply(ns, *full)
        ds = [d for d, p in zip(op.partials(ns, y, *full), pattern, strict=True) if p is _NODE]
        t = ds[0] * tangents[0]
        for d, dt in zip(ds[1:], tangents[1:], strict=True):
            t = t + d * dt
        return y, jnp.broadcast_to(t, jnp.shape(y)).astype(jnp.result_type(y))
    return rule


def _torch_rule(op, pattern, ns):
    """The op as a ``torch.autograd.Function`` whose backward is the table's partials."""
    import torch

    class Rule(torch.autograd.Function):
        @staticmethod
        def forward(ctx, *xs):
            y = op.apply(ns, *_fill(pattern, xs))
            ctx.save_for_backward(*xs, y)
            return y

        @staticmethod
        def backward(ctx, g):
            *xs, y = ctx.saved_tensors
            full = _fill(pattern, xs)
            ds = [d for d, p in zip(op.partials(ns, y, *full), pattern, strict=True) if p is _NODE]
            out = []
            for d, x in zip(ds, xs, strict=True):
                c = g * d
                out.append(c.sum_to_size(x.shape) if c.shape != x.shape else c)
            return tuple(out)
    Rule.__name__ = f"symgrad_{op.name}"
    return Rule.apply


_RULES = {"jax": _jax_rule, "torch": _torch_rule}


def _slots(graph: Graph) -> dict:
    return {n: f"v{i}" for i, n in enumerate(graph.nodes)}


def _convert(backend):
    """Inputs as the backend wants them (torch: numbers become float64 tensors)."""
    if backend != "torch":
        return None
    import torch

    def convert(v):
        return v if isinstance(v, torch.Tensor) else torch.as_tensor(v, dtype=torch.float64)
    return convert


def _binder(inputs: tuple, core, convert):
    """``f(*args, **kwargs)``: inputs by position (in ``inputs`` order) or by name."""
    n, where = len(inputs), {k: i for i, k in enumerate(inputs)}

    def bind(args, kwargs):
        if len(args) > n:
            raise InputError(f"the function takes {n} input(s) {inputs!r:.200}, got {len(args)}")
        vals = list(args) + [_MISSING] * (n - len(args))
        for k, v in kwargs.items():
            i = where.get(k)
            if i is None:
                raise InputError(f"unknown input {k!r:.60}; inputs: {', '.join(inputs[:20])}")
            if vals[i] is not _MISSING:
                raise InputError(f"input {k!r:.60} given twice")
            vals[i] = v
        lacking = [inputs[i] for i, v in enumerate(vals) if v is _MISSING]
        if lacking:
            raise InputError(f"missing input(s) {', '.join(map(repr, lacking[:20]))}")
        return vals

    def f(*args, **kwargs):
        if kwargs or len(args) != n:
            args = bind(args, kwargs)
        if convert is not None:
            args = [convert(a) for a in args]
        return core(*args)
    if all(k.isidentifier() and not keyword.iskeyword(k) for k in inputs):
        f.__signature__ = inspect.Signature(
            [inspect.Parameter(k, inspect.Parameter.POSITIONAL_OR_KEYWORD) for k in inputs])
    return f


_MISSING = object()


def function(graph: Graph, backend="numpy"):
    """The graph as a plain function of its inputs for ``backend``.

    Parameters
    ----------
    graph
        The computational graph.
    backend
        ``"numpy"`` (symgrad's own numbers, arrays broadcast), ``"math"`` (Python
        floats; like :mod:`math`, raises outside an op's domain), ``"jax"``
        (``jax.jit``, ``jax.grad``, ``jax.vmap`` work; enable ``jax_enable_x64``
        for float64), ``"torch"`` (tensors; autograd works), or any namespace or
        module with ``exp log sin cos tan tanh sqrt where`` (see
        :func:`symgrad.numeric.backends.complete`).

    Returns
    -------
    callable
        ``f(*inputs)`` or ``f(**inputs)`` in ``graph.inputs`` order: the output's
        value, or a tuple with one value per output.

    Raises
    ------
    InputError
        For an unknown backend name or one lacking the needed functions; when
        called, for missing or unknown inputs.

    Examples
    --------
    >>> import symgrad as sg
    >>> import numpy as np
    >>> f = sg.parse("sqrt(x**2 + exp(x**2)) + cos(x**2 + exp(x**2))").function("numpy")
    >>> np.round(f(np.array([0.0, 2.0])), 4)
    array([1.5403, 7.1943])
    """
    ns = namespace(backend)
    make = _RULES.get(backend) if isinstance(backend, str) else None
    names = _slots(graph)
    glob = dict(vars(ns))
    rules: dict = {}
    body = []
    for name, op, args in graph.program:
        refs = [names[a] if is_node(a) else literal_source(a) for a in args]
        if make is not None and _calls(op, len(args)):
            key = _pattern_key(op, args)
            fname = rules.get(key)
            if fname is None:
                fname = rules[key] = f"F{len(rules)}"
                glob[fname] = make(op, tuple(_NODE if is_node(a) else a for a in args), ns)
            text = f"{fname}({', '.join(r for r, a in zip(refs, args) if is_node(a))})"
        else:
            text = apply_code(op, refs)
        body.append(f"{names[name]} = {text}")
    outs = [names[o] for o in graph.outputs]
    body.append("return " + (outs[0] if len(outs) == 1 else "(" + ", ".join(outs) + ",)"))
    params = ", ".join(names[x] for x in graph.inputs)
    src = f"def _f({params}):\n" + "\n".join("    " + ln for ln in body) + "\n"
    core = define(src, "_f", "<symgrad function>", glob)
    return _binder(graph.inputs, core, _convert(backend))


# -- to_source --------------------------------------------------------------------------
_TAKEN = frozenset({"xp", "forward", "grad", "abs", "inf", "nan", "ones_like", "zeros_like",
                    "maximum", "minimum", "log1p", "expm1", "isfinite", "heaviside", "power",
                    "math", "numpy", "jax", "torch", "np", "jnp"})


def _variables(graph: Graph, reserved: set) -> tuple[dict, dict]:
    """Variable names for values and adjoints: the node's own name where it is a
    plain identifier that collides with nothing, else ``v{i}``; adjoints
    ``{name}_bar`` (underscores added on a collision)."""
    var, used = {}, set(reserved)
    for n in graph.nodes:
        if (n.isidentifier() and n.isascii() and not keyword.iskeyword(n) and not n.startswith("_")
                and n not in used):
            var[n] = n
            used.add(n)
    i = 0
    for n in graph.nodes:
        if n not in var:
            while f"v{i}" in used:
                i += 1
            var[n] = f"v{i}"
            used.add(var[n])
    bar = {}
    for n in graph.nodes:
        b = f"{var[n]}_bar"
        while b in used:
            b += "_"
        bar[n] = b
        used.add(b)
    return var, bar


def _atom(text: str) -> bool:
    """Whether ``text`` needs no parentheses as a factor: a name, a number or one call."""
    if re.fullmatch(r"[\w.]+", text):
        return True
    m = re.match(r"[A-Za-z_]\w*\(", text)
    if not m or not text.endswith(")"):
        return False
    depth = 0
    for i in range(m.end() - 1, len(text)):
        depth += {"(": 1, ")": -1}.get(text[i], 0)
        if depth == 0:
            return i == len(text) - 1
    return False


class _SourceLines(Interpretation):
    """The sweep as source: an adjoint is the list of its terms until it is
    settled, then one line ``c_bar = d_bar * (...) + e_bar * (...)``."""

    def __init__(self, var: dict, bar: dict, lines: list):
        self.var, self.bar, self.lines = var, bar, lines

    def partials(self, name, op, args):
        refs = [self.var[a] if is_node(a) else literal_source(a) for a in args]
        return [partial_code(op, j, refs, self.var[name]) if is_node(a) else None
                for j, a in enumerate(args)]

    def term(self, seed, d, name, pos, arg):
        if d in ("1", "-1"):
            return seed if d == "1" else f"-{seed}"
        return f"{seed} * {d if _atom(d) else f'({d})'}"

    def first(self, term, arg):
        return [term]

    def add(self, total, term, arg):
        total.append(term)
        return total

    def settle(self, name, total):
        text = total[0] + "".join(f" - {t[1:]}" if t.startswith("-") else f" + {t}"
                                  for t in total[1:])
        self.lines.append(f"{self.bar[name]} = {text}")
        return self.bar[name]


def _forward_lines(graph: Graph, var: dict, rows) -> list:
    return [f"{var[name]} = {apply_code(op, [var[a] if is_node(a) else literal_source(a) for a in args])}"
            for name, op, args in rows]


def _defined(source: str) -> set:
    """The names a prelude (our own constant text) defines at module level."""
    names = set()
    for node in ast.parse(source).body:
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names.update((a.asname or a.name).split(".")[0] for a in node.names)
        elif isinstance(node, ast.Assign):
            names.update(n.id for t in node.targets for n in ast.walk(t) if isinstance(n, ast.Name))
    return names


def _ancestors(graph: Graph, output: str) -> list:
    need, rows = {output}, []
    for row in reversed(graph.program):
        if row[0] in need:
            rows.append(row)
            need.update(a for a in row[2] if is_node(a))
    return rows[::-1]


def _def(name: str, params: str, doc: str, body: list) -> str:
    return (f"def {name}({params}):\n    \"\"\"{doc}\"\"\"\n"
            + "\n".join("    " + ln for ln in body) + "\n")


def to_source(graph: Graph, backend: str = "numpy", *, output: str | None = None) -> str:
    """A standalone Python module computing the graph with ``backend``: ``forward``
    (the outputs' values) and ``grad`` (the inputs' adjoints of ``output``, by
    reverse mode written out: one line per node, the chain rule's sum over
    consumers visible).  It imports only the backend (numpy, math, jax or torch).

    Parameters
    ----------
    graph
        The computational graph.
    backend
        ``"numpy"``, ``"math"``, ``"jax"`` or ``"torch"``.
    output
        The output ``grad`` differentiates (default: the only output).

    Returns
    -------
    str
        The module's source.  Node names that are plain identifiers are its
        variable names (adjoints get ``_bar``); other nodes are ``v0``, ``v1``, ...

    Raises
    ------
    InputError
        For an unknown backend.

    Examples
    --------
    >>> import symgrad as sg
    >>> src = sg.parse("sqrt(x**2 + exp(x**2)) + cos(x**2 + exp(x**2))").to_source("math")
    >>> print(src[src.index("def grad"):])  # doctest: +NORMALIZE_WHITESPACE
    def grad(x):
        \"\"\"The adjoints d output / d input (reverse mode, one line per node).\"\"\"
        a = pow(x, 2)
        b = exp(a)
        c = a + b
        d = sqrt(c)
        e = cos(c)
        f = d + e
        f_bar = ones_like(f)
        e_bar = f_bar
        d_bar = f_bar
        c_bar = e_bar * (-sin(c)) + d_bar * div(1, 2 * d)
        b_bar = c_bar
        a_bar = c_bar + b_bar * b
        x_bar = a_bar * dpow(x, 2)
        return {'x': x_bar}
    """
    if not isinstance(backend, str) or backend not in BACKENDS:
        raise InputError(f"to_source writes for {', '.join(BACKENDS)}, got {backend!r:.60}")
    out = graph.default_output(output)
    head = prelude(backend)
    var, bar = _variables(graph, set(_TAKEN) | _defined(head))
    params = ", ".join(var[x] for x in graph.inputs)
    outs = [var[o] for o in graph.outputs]
    fw = _forward_lines(graph, var, graph.program)
    fw.append("return " + (outs[0] if len(outs) == 1 else ", ".join(outs)))
    rows = _ancestors(graph, out)
    gr = _forward_lines(graph, var, rows)
    adj = sweep(rows, out, _SourceLines(var, bar, gr), [f"ones_like({var[out]})"])
    leaves = _SourceLines(var, bar, gr)
    for x in graph.inputs:                   # the sweep settles rows; the inputs here
        if x in adj:
            leaves.settle(x, adj[x])
        else:
            gr.append(f"{bar[x]} = zeros_like({var[x]})")
    gr.append("return {" + ", ".join(f"{x!r}: {bar[x]}" for x in graph.inputs) + "}")
    oname = "the outputs" if len(outs) > 1 else "the output"
    doc = (f'"""A computational graph exported by symgrad for {backend}: forward() gives {oname}, '
           f'grad() the\ngradient by reverse mode. Standalone: it imports only {backend}.\n"""\n\n')
    return (doc + head + _BODY_SEP
            + _def("forward", params, f"The value of {oname}.", fw) + "\n\n"
            + _def("grad", params, "The adjoints d output / d input (reverse mode, one line per node).", gr))


_BODY_SEP = "\n\n"
