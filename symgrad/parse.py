"""The text front end: expressions and straight-line programs -> Graph.

The text is read by a lark LALR(1) parser over a whitelisted grammar (below);
nothing is ever passed to ``eval``, ``exec``, ``sympify`` or ``parse_expr``.  The
grammar uses repetition for sums and products, and the parser keeps its own
stack, so a flat sum of 100,000 terms parses and no input can exhaust Python's
recursion limit.  Nodes are created in the parser's reduction order, which is
the post-order of the expression (left operand first): that is the auto-naming
order.  Length, nesting depth and constant exponents are bounded.
"""

from __future__ import annotations

import difflib
import math
import re
from numbers import Integral, Real
from typing import NamedTuple, Sequence

import numpy as np
from lark import Lark, Token
from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken

from .errors import GraphError, ParseError
from .graph import Assembler, Graph, no_gc
from .ops import NUM, OPS, TEXT_FUNCTIONS

__all__ = ["parse", "GRAMMAR", "CONSTANTS"]

GRAMMAR = r"""
start: (_stmt? _SEP)* _stmt?
_stmt: assign | expr
assign: NAME "=" expr

?expr: term
    | expr "+" term          -> add
    | expr "-" term          -> sub
?term: unary
    | term "*" unary         -> mul
    | term "/" unary         -> div
?unary: power
    | "-" unary              -> neg
    | "+" unary              -> pos
?power: atom
    | atom "**" unary        -> pow
?atom: NUMBER                -> number
    | NAME                   -> name
    | NAME "(" [_arglist] ")" -> call
    | "(" expr ")"           -> paren
_arglist: _arg ("," _arg)*
_arg: expr | kwarg
kwarg: NAME "=" expr

NAME: /[^\W\d]\w*/
NUMBER: /(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?/
_SEP: /(\r?\n|;)/
COMMENT: /#[^\n]*/
%ignore /[ \t\f\r]+/
%ignore /\\\r?\n/
%ignore COMMENT
"""

CONSTANTS = {"pi": math.pi, "e": math.e}
MAX_LENGTH = 5_000_000
MAX_DEPTH = 1_000
MAX_EXPONENT = 1_000_000.0

_TERMINALS = {"NAME": "a name", "NUMBER": "a number", "_SEP": "a line break or ';'",
              "LPAR": "'('", "RPAR": "')'", "PLUS": "'+'", "MINUS": "'-'", "STAR": "'*'",
              "SLASH": "'/'", "COMMA": "','", "EQUAL": "'='", "__ANON_0": "'**'",
              "$END": "the end of the text"}
_COMMENT_RE = re.compile(r"#[^\n]*")
_TOKEN_RE = re.compile(r"(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?|([^\W\d]\w*)")

_parser: Lark | None = None


def _lark() -> Lark:
    global _parser
    if _parser is None:
        _parser = Lark(GRAMMAR, parser="lalr", lexer="contextual", maybe_placeholders=False)
    return _parser


class _V(NamedTuple):
    """A parsed value: a node ref (str) or a literal number, its nesting depth,
    and the offset where it starts in the text."""

    ref: object
    depth: int
    pos: int

    @property
    def literal(self) -> bool:
        return not isinstance(self.ref, str)


class _Stmt(NamedTuple):
    value: _V
    name: str | None


class _Build:
    """Builds graph nodes bottom-up, called per grammar rule in post-order."""

    def __init__(self, text: str, max_depth: int, max_exponent: float):
        self.text, self.max_depth, self.max_exponent = text, max_depth, max_exponent
        self.asm = Assembler()
        self.assigned: dict[str, int] = {}         # program name -> offset of its assignment
        self.first_use: dict[str, int] = {}         # input/constant name -> offset of first use

    def error(self, message: str, pos: int):
        return ParseError(message, self.text, pos)

    # -- leaves -------------------------------------------------------------
    def number(self, c):
        tok = c[0]
        s = str(tok)
        if len(s) > 400:
            raise self.error(f"number literal too long ({len(s)} characters)", tok.start_pos)
        val = float(s) if any(ch in s for ch in ".eE") else int(s)
        if isinstance(val, float) and not math.isfinite(val):
            raise self.error(f"number {s} is too large for float64", tok.start_pos)
        return _V(val, 0, tok.start_pos)

    def name(self, c):
        tok = c[0]
        s, pos = str(tok), tok.start_pos
        ref = self.asm.lookup(s)
        if s in self.assigned:
            return _V(ref, 0, pos)
        if s in TEXT_FUNCTIONS:
            raise self.error(f"{s!r} is a function: call it as {s}(...)", pos)
        self.first_use.setdefault(s, pos)
        if s in CONSTANTS:
            return _V(CONSTANTS[s], 0, pos)
        return _V(self.asm.input(s), 0, pos)

    # -- operators -------------------------------------------------------------
    def _make(self, op: str, vals: Sequence[_V], pos: int, deeper: int):
        depth = max(v.depth for v in vals) + deeper
        if depth > self.max_depth:
            raise self.error(f"expression nested deeper than {self.max_depth} levels "
                             "(write it as a program or raise max_depth)", pos)
        if all(v.literal for v in vals):
            return _V(self._fold(op, [v.ref for v in vals], pos), depth, pos)
        return _V(self.asm.node(op, [v.ref for v in vals]), depth, pos)

    def _fold(self, op: str, nums: list, pos: int):
        """Constant folding of an op whose arguments are all literals, in float64; an
        integral result of integer arguments stays an int while float64 holds it exactly."""
        with np.errstate(all="ignore"):
            val = float(OPS[op].apply(NUM, *map(float, nums)))
        if not math.isfinite(val):
            shown = ", ".join(map(repr, nums))
            raise self.error(f"the constant {op}({shown}) is not a finite number", pos)
        exact = all(type(n) is int for n in nums) and val.is_integer() and abs(val) <= 2**53
        return int(val) if exact else val

    def _binary(self, op, c):
        return self._make(op, c, c[0].pos, 0)

    def add(self, c):
        return self._binary("add", c)

    def sub(self, c):
        return self._binary("sub", c)

    def mul(self, c):
        return self._binary("mul", c)

    def div(self, c):
        return self._binary("div", c)

    def neg(self, c):
        return self._make("neg", c, c[0].pos - 1, 1)

    def pos(self, c):
        v = c[0]
        return _V(v.ref, v.depth + 1, v.pos)

    def paren(self, c):
        v = c[0]
        return _V(v.ref, v.depth + 1, v.pos)

    def pow(self, c):
        base, k = c
        if k.literal and abs(k.ref) > self.max_exponent:
            raise self.error(f"exponent {k.ref!r} is larger than {self.max_exponent:g} in size", k.pos)
        return self._make("pow", c, base.pos, 1)

    def kwarg(self, c):
        return (c[0], c[1])

    def call(self, c):
        tok, args = c[0], c[1:]
        fname, pos = str(tok), tok.start_pos
        op = TEXT_FUNCTIONS.get(fname)
        if op is None:
            close = difflib.get_close_matches(fname, TEXT_FUNCTIONS, n=1)
            hint = f"did you mean {close[0]!r}? " if close else ""
            raise self.error(f"unknown function {fname!r}; {hint}known functions: "
                             f"{', '.join(TEXT_FUNCTIONS)}", pos)
        vals = self._call_args(op, fname, args, pos)
        return self._make(op.name, vals, pos, 1)

    def _call_args(self, op, fname, args, pos) -> list[_V]:
        """Positional arguments, then the constant parameters (keyword, positional
        or default), in the op's argument order."""
        nfixed = op.arity - len(op.params)
        positional = [a for a in args if isinstance(a, _V)]
        usage = f"{fname}(x" + "".join(f", {p}={d}" for p, d in op.params) + ")"
        if not nfixed <= len(positional) <= op.arity:
            extra = f" and {len(op.params)} optional constant(s)" if op.params else ""
            raise self.error(f"{fname}() takes {nfixed} argument(s){extra}, got "
                             f"{len(positional)}: write {usage}", pos)
        given = {p: v for (p, _), v in zip(op.params, positional[nfixed:])}
        for key, v in (a for a in args if not isinstance(a, _V)):
            if str(key) not in dict(op.params):
                raise self.error(f"{fname}() has no parameter {str(key)!r}: write {usage}",
                                 key.start_pos)
            if str(key) in given:
                raise self.error(f"{fname}() got {str(key)!r} twice", key.start_pos)
            given[str(key)] = v
        params = [given.get(p, _V(default, 0, pos)) for p, default in op.params]
        for v, (p, _) in zip(params, op.params):
            if not v.literal:
                raise self.error(f"{fname}()'s {p} must be a constant number", v.pos)
        return positional[:nfixed] + params

    # -- statements -------------------------------------------------------------
    def assign(self, c):
        tok, v = c
        s, pos = str(tok), tok.start_pos
        if s in TEXT_FUNCTIONS:
            raise self.error(f"cannot assign to {s!r}: it is a function", pos)
        if s in self.assigned:
            line = self.text.count("\n", 0, self.assigned[s]) + 1
            raise self.error(f"{s!r} is assigned twice (first on line {line}); "
                             "each name is assigned once", pos)
        if s in self.first_use:
            raise self.error(f"{s!r} is used before it is assigned (assigned on line "
                             f"{self.text.count(chr(10), 0, pos) + 1})", self.first_use[s])
        if v.literal:
            raise self.error(f"{s!r} is a constant ({v.ref!r}); assign expressions of the "
                             "inputs, and write constants where they are used", v.pos)
        self.assigned[s] = pos
        return _Stmt(_V(self.asm.name(v.ref, s), 0, pos), s)

    def start(self, c):
        stmts = [x if isinstance(x, _Stmt) else _Stmt(x, None) for x in c]
        for v, name in stmts[:-1]:
            if name is None:
                raise self.error("an expression on its own line has no effect; assign it to "
                                 "a name (only the last line may be a bare expression)", v.pos)
        return stmts


def _depth_prescan(text: str, max_depth: int) -> None:
    """Refuse deep parentheses before parsing, in linear time."""
    if "(" not in text:
        return
    codes = np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32)
    depth = np.cumsum((codes == 40).astype(np.int32) - (codes == 41))
    over = np.flatnonzero(depth > max_depth)
    if len(over):
        raise ParseError(f"expression nested deeper than {max_depth} levels of parentheses "
                         "(write it as a program or raise max_depth)", text, int(over[0]))


def _lark_error(exc: UnexpectedInput, text: str) -> ParseError:
    pos = getattr(exc, "pos_in_stream", None)
    if isinstance(exc, UnexpectedEOF) or pos is None:
        pos = len(text)
    if isinstance(exc, UnexpectedCharacters):
        ch = text[pos] if pos < len(text) else ""
        return ParseError(f"unexpected character {ch!r}; symgrad reads numbers, names, "
                          "+ - * / **, parentheses, commas, '=' and function calls", text, pos)
    expected = sorted({_TERMINALS.get(t, repr(t)) for t in getattr(exc, "expected", ()) or ()})
    got = "the end of the text" if isinstance(exc, UnexpectedEOF) else \
        (repr(str(exc.token)) if isinstance(exc, UnexpectedToken) and str(exc.token) else "the end of the text")
    if isinstance(exc, UnexpectedToken) and exc.token.type == "$END":
        pos = len(text)
    return ParseError(f"unexpected {got}; expected {' or '.join(expected) or 'something else'}",
                      text, pos)


def parse(text: str, *, outputs: Sequence[str] | None = None, max_length: int = MAX_LENGTH,
          max_depth: int = MAX_DEPTH, max_exponent: float = MAX_EXPONENT) -> Graph:
    """Read an expression or a straight-line program into a Graph.

    Parameters
    ----------
    text
        An expression (``"sqrt(x**2 + exp(x**2))"``) or a program: one assignment
        per line or per ``;`` (``"a = x**2\\nb = exp(a)"``); the last line may be a
        bare expression.  Identical subexpressions become one node.
    outputs
        Output node names (default: the last statement).
    max_length, max_depth, max_exponent
        Bounds: text length in characters, nesting depth (parentheses, calls,
        unary minus, ``**`` chains), and the size of a constant exponent.

    Returns
    -------
    Graph

    Raises
    ------
    ParseError
        Malformed text, unknown functions, bad programs, or a bound exceeded; the
        error carries ``offset``, ``line`` and ``column`` and shows a caret.

    Examples
    --------
    >>> import symgrad as sg
    >>> g = sg.parse("sqrt(x**2 + exp(x**2)) + cos(x**2 + exp(x**2))")
    >>> g.nodes, g.outputs
    (('x', 'a', 'b', 'c', 'd', 'e', 'f'), ('f',))
    >>> sg.parse("a = x**2\\nb = exp(a)\\nc = a + b\\nf = sqrt(c) + cos(c)").nodes
    ('x', 'a', 'b', 'c', 'd', 'e', 'f')
    """
    if not isinstance(text, str):
        raise ParseError(f"parse() reads a str, got {type(text).__name__}", "", 0)
    for opt, v, kind in (("max_length", max_length, Integral), ("max_depth", max_depth, Integral),
                         ("max_exponent", max_exponent, Real)):
        if isinstance(v, bool) or not isinstance(v, kind) or not v >= 0:    # rejects nan too
            raise ParseError(f"{opt}= must be a non-negative {'int' if kind is Integral else 'number'}, "
                             f"got {v!r}", "", 0)
    if len(text) > max_length:
        raise ParseError(f"text of {len(text):,} characters is longer than the limit of "
                         f"{max_length:,} (max_length=)", text[:200], 0)
    _depth_prescan(text, max_depth)
    build = _Build(text, max_depth, max_exponent)
    try:
        with no_gc():
            tree = _lark().parse(text)
            stmts = _reduce(tree, build)
    except UnexpectedInput as exc:
        raise _lark_error(exc, text) from None
    except GraphError as exc:
        raise ParseError(str(exc), text, 0) from None
    if not stmts:
        raise ParseError("empty text: write an expression such as x**2", text, 0)
    last, _ = stmts[-1]
    if last.literal:
        raise ParseError("the expression is constant: it has no input variables", text, last.pos)
    if outputs is not None and len(set(outputs)) != len(outputs):
        dup = next(o for o in outputs if list(outputs).count(o) > 1)
        raise ParseError(f"output {dup!r} is listed twice in outputs=", text, 0)
    outs = [build.asm.lookup(o) if build.asm.lookup(o) else _unknown_output(o, text) for o in outputs] \
        if outputs is not None else [last.ref]
    code = _COMMENT_RE.sub("", text)
    taken = {m.group(3) for m in _TOKEN_RE.finditer(code) if m.group(3)}
    with no_gc():
        return build.asm.graph(outs, taken)


def _unknown_output(name: str, text: str):
    raise ParseError(f"output {name!r} is not a name assigned or used in the text", text, 0)


def _reduce(tree, build: _Build):
    """Apply the builder bottom-up over lark's tree without recursion."""
    stack = [(tree, False)]
    results: list = []
    while stack:
        node, expanded = stack.pop()
        if isinstance(node, Token):
            results.append(node)
        elif expanded:
            n = len(node.children)
            kids = results[len(results) - n:] if n else []
            del results[len(results) - n:]
            results.append(getattr(build, node.data)(kids))
        else:
            stack.append((node, True))
            stack.extend((k, False) for k in reversed(node.children))
    return results[0]
