"""The text front end: expressions and straight-line programs -> Graph.

The grammar (below) is whitelisted; nothing is ever passed to ``eval``,
``exec``, ``sympify`` or ``parse_expr``.  :func:`symgrad.front.reader.read` reads the
text in one linear pass into the post-order of its tree (a flat postfix
program, explicit stacks, no recursion), and :class:`_Build` executes that
program bottom-up, so a flat sum of 100,000 terms parses in about a second and
no input can exhaust Python's recursion limit.  Nodes are created in post-order
(left operand first): that is the auto-naming order.  Syntax errors are worded
by the grammar's LALR(1) parser (lark), run on a short text in the same parser
state.  Length, nesting depth and constant exponents are bounded.
"""

from __future__ import annotations

import difflib
import math
from numbers import Integral, Real
from collections.abc import Mapping
from typing import Sequence

import numpy as np
from lark import Lark
from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken

from ..errors import GraphError, ParseError
from ..core.graph import Assembler, Graph, no_gc
from ..core.ops import NUM, OPS, TEXT_FUNCTIONS
from .reader import (ASSIGN, BIN, BINOPS, CALL, KWARG, NAME, NEG, NUM as NUMBER, PAREN, POS,
                     Syntax, bad_character, read)

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
MAX_LENGTH = 2_000_000
MAX_NODES = 500_000
MAX_DEPTH = 1_000
MAX_EXPONENT = 1_000_000.0

_TERMINALS = {"NAME": "a name", "NUMBER": "a number", "_SEP": "a line break or ';'",
              "LPAR": "'('", "RPAR": "')'", "PLUS": "'+'", "MINUS": "'-'", "STAR": "'*'",
              "SLASH": "'/'", "COMMA": "','", "EQUAL": "'='", "__ANON_0": "'**'",
              "$END": "the end of the text"}

_parser: Lark | None = None


def _lark() -> Lark:
    global _parser
    if _parser is None:
        _parser = Lark(GRAMMAR, parser="lalr", lexer="contextual", maybe_placeholders=False)
    return _parser


def _shown(name: str, limit: int = 40) -> str:
    """A name as error messages quote it: its repr, cut after ``limit`` characters."""
    return repr(name) if len(name) <= limit else repr(name[:limit]) + f"... ({len(name):,} characters)"


class _Build:
    """Builds graph nodes bottom-up, one call per instruction of the reader's
    postfix program (the post-order of the expression).  A value is a tuple
    ``(ref, depth, pos)``: a node ref (str) or a literal number, its nesting
    depth, and the offset where it starts in the text."""

    def __init__(self, text: str, max_depth: int, max_exponent: float, constants: Mapping = CONSTANTS):
        self.text, self.max_depth, self.max_exponent = text, max_depth, max_exponent
        self.constants = constants
        self.asm = Assembler()
        self.assigned: dict[str, int] = {}         # program name -> offset of its assignment
        self.first_use: dict[str, int] = {}         # input/constant name -> offset of first use
        self.seen: dict[str, object] = {}           # name -> its value, once read without error

    def error(self, message: str, pos: int):
        return ParseError(message, self.text, pos)

    # -- leaves -------------------------------------------------------------
    def number(self, c):
        s, pos = c
        if len(s) > 400:
            raise self.error(f"number literal too long ({len(s)} characters)", pos)
        val = float(s) if any(ch in s for ch in ".eE") else int(s)
        if isinstance(val, float) and not math.isfinite(val):
            raise self.error(f"number {s} is too large for float64", pos)
        return (val, 0, pos)

    def name(self, c):
        s, pos = c
        if s in self.assigned:
            return (self.asm.lookup(s), 0, pos)
        if s in TEXT_FUNCTIONS:
            raise self.error(f"{s!r} is a function: call it as {s}(...)", pos)
        self.first_use.setdefault(s, pos)
        ref = self.seen[s] = self.constants[s] if s in self.constants else self.asm.input(s)
        return (ref, 0, pos)

    # -- operators -------------------------------------------------------------
    def make(self, op: str, vals: Sequence[tuple], pos: int, deeper: int):
        depth = max(v[1] for v in vals) + deeper
        if depth > self.max_depth:
            raise self.error(f"expression nested deeper than {self.max_depth} levels "
                             "(write it as a program or raise max_depth)", pos)
        refs = [v[0] for v in vals]
        if any(type(r) is str for r in refs):
            return (self.asm.node(op, refs), depth, pos)
        return (self._fold(op, refs, pos), depth, pos)

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

    def binary(self, op: str, a: tuple, b: tuple):
        if op == "pow" and type(b[0]) is not str and abs(b[0]) > self.max_exponent:
            raise self.error(f"exponent {b[0]!r} is larger than {self.max_exponent:g} in size", b[2])
        return self.make(op, (a, b), a[2], op == "pow")

    def neg(self, v: tuple):
        return self.make("neg", (v,), v[2] - 1, 1)

    def paren(self, v: tuple):
        return (v[0], v[1] + 1, v[2])

    def call(self, fname: str, pos: int, args: list):
        """``args``: values, and ``(key, key_pos, value)`` triples for keyword arguments."""
        op = TEXT_FUNCTIONS.get(fname)
        if op is None:
            close = difflib.get_close_matches(fname, TEXT_FUNCTIONS, n=1) if len(fname) <= 40 else []
            hint = f"did you mean {close[0]!r}? " if close else ""
            raise self.error(f"unknown function {_shown(fname)}; {hint}known functions: "
                             f"{', '.join(TEXT_FUNCTIONS)}", pos)
        vals = self._call_args(op, fname, args, pos)
        return self.make(op.name, vals, pos, 1)

    def _call_args(self, op, fname, args, pos) -> list[tuple]:
        """Positional arguments, then the constant parameters (keyword, positional
        or default), in the op's argument order."""
        positional = [a for a in args if not _is_kwarg(a)]
        if op.arity < 0:                     # any number, or pairs: no constant parameters
            if len(positional) != len(args) or not op.accepts(len(args)):
                raise self.error(f"{fname}() takes {op.wants} argument(s), got "
                                 f"{len(positional)}{' and keywords' if len(positional) != len(args) else ''}", pos)
            return positional
        nfixed = op.arity - len(op.params)
        usage = f"{fname}(x" + "".join(f", {p}={d}" for p, d in op.params) + ")"
        if not nfixed <= len(positional) <= op.arity:
            extra = f" and {len(op.params)} optional constant(s)" if op.params else ""
            raise self.error(f"{fname}() takes {nfixed} argument(s){extra}, got "
                             f"{len(positional)}: write {usage}", pos)
        given = {p: v for (p, _), v in zip(op.params, positional[nfixed:])}
        for key, kpos, v in (a[1] for a in args if _is_kwarg(a)):
            if key not in dict(op.params):
                raise self.error(f"{fname}() has no parameter {_shown(key)}: write {usage}", kpos)
            if key in given:
                raise self.error(f"{fname}() got {key!r} twice", kpos)
            given[key] = v
        params = [given.get(p, (default, 0, pos)) for p, default in op.params]
        for v, (p, _) in zip(params, op.params):
            if type(v[0]) is str:
                raise self.error(f"{fname}()'s {p} must be a constant number", v[2])
        return positional[:nfixed] + params

    # -- statements -------------------------------------------------------------
    def assign(self, s: str, pos: int, v: tuple):
        if s in TEXT_FUNCTIONS:
            raise self.error(f"cannot assign to {s!r}: it is a function", pos)
        if s in self.assigned:
            line = self.text.count("\n", 0, self.assigned[s]) + 1
            raise self.error(f"{_shown(s)} is assigned twice (first on line {line}); "
                             "each name is assigned once", pos)
        if s in self.first_use:
            raise self.error(f"{_shown(s)} is used before it is assigned (assigned on line "
                             f"{self.text.count(chr(10), 0, pos) + 1})", self.first_use[s])
        if type(v[0]) is not str:
            raise self.error(f"{_shown(s)} is a constant ({v[0]!r}); assign expressions of the "
                             "inputs, and write constants where they are used", v[2])
        self.assigned[s] = pos
        return (self.asm.name(v[0], s), 0, pos)

    def start(self, stmts: list):
        """``stmts``: ``(value, assigned name or None)`` per statement."""
        for v, name in stmts[:-1]:
            if name is None:
                raise self.error("an expression on its own line has no effect; assign it to "
                                 "a name (only the last line may be a bare expression)", v[2])
        return stmts


def _is_kwarg(a) -> bool:
    return a[0] is _KWARG


_KWARG = object()
_POW = BINOPS["**"][0]


def _written(program: list, build: _Build, max_nodes: int) -> None:
    """Refuse, before any node is built, a text whose operations and distinct names
    (counted as written, before sharing: an upper bound on its nodes) exceed
    ``max_nodes``; ``x+x+...`` of the maximum length is refused in the time of reading."""
    made = (BIN, NEG, CALL)
    ops = sum(1 for ins in program if ins[0] in made)
    names = {ins[1] for ins in program if ins[0] == NAME}
    if ops + len(names) > max_nodes:
        raise build.error(f"the text writes {ops:,} operations on {len(names):,} names, more than "
                          f"{max_nodes:,} nodes (max_nodes=)", len(build.text))


def _run(program: list, build: _Build, max_nodes: int) -> list:
    """Execute the reader's postfix program with the builder: one loop, no recursion.
    The written size is checked first, the node count every few thousand instructions."""
    _written(program, build, max_nodes)
    stack: list = []
    stmts: list = []
    for lo in range(0, len(program), _CHUNK):
        _run_chunk(program[lo:lo + _CHUNK], build, stack, stmts)
        if len(build.asm) > max_nodes:
            raise build.error(f"the text makes more than {max_nodes:,} nodes (max_nodes=)",
                              stack[-1][2] if stack else len(build.text))
    return build.start(stmts)


_CHUNK = 1 << 14


def _run_chunk(program: list, build: _Build, stack: list, stmts: list) -> None:
    push, pop = stack.append, stack.pop
    node, max_depth, seen = build.asm.node, build.max_depth, build.seen
    for ins in program:
        code = ins[0]
        if code == BIN:
            b = pop()
            a = stack[-1]
            ra, rb, da, db = a[0], b[0], a[1], b[1]
            if ins is not _POW and (type(ra) is str or type(rb) is str) and da <= max_depth >= db:
                stack[-1] = (node(ins[1], (ra, rb)), da if da >= db else db, a[2])   # fast path
            else:
                stack[-1] = build.binary(ins[1], a, b)
        elif code == NAME:
            ref = seen.get(ins[1])
            push((ref, 0, ins[2]) if ref is not None else build.name(ins[1:]))
        elif code == NUMBER:
            push(build.number(ins[1:]))
        elif code == NEG:
            stack[-1] = build.neg(stack[-1])
        elif code == POS or code == PAREN:
            stack[-1] = build.paren(stack[-1])
        elif code == CALL:
            _, fname, pos, nargs = ins
            args = stack[len(stack) - nargs:]
            del stack[len(stack) - nargs:]
            push(build.call(fname, pos, args))
        elif code == KWARG:
            push((_KWARG, (ins[1], ins[2], pop())))
        elif code == ASSIGN:
            stmts.append((build.assign(ins[1], ins[2], pop()), ins[1]))
        elif stack:                             # STMT: a bare expression (none after an assignment)
            stmts.append((pop(), None))


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
        return ParseError(bad_character(text[pos] if pos < len(text) else ""), text, pos)
    expected = sorted({_TERMINALS.get(t, repr(t)) for t in getattr(exc, "expected", ()) or ()})
    got = "the end of the text" if isinstance(exc, UnexpectedEOF) else \
        (repr(str(exc.token)) if isinstance(exc, UnexpectedToken) and str(exc.token) else "the end of the text")
    if isinstance(exc, UnexpectedToken) and exc.token.type == "$END":
        pos = len(text)
    return ParseError(f"unexpected {got}; expected {' or '.join(expected) or 'something else'}",
                      text, pos)


def _syntax_error(text: str):
    """The reader's error callback: the LALR parser's own error for ``token`` at
    ``offset``, found by parsing ``skeleton + token`` (a short text in the same
    parser state), so messages are those of the grammar whatever the text's size."""
    def error(skeleton: str, token: str, offset: int):
        probe = skeleton + token
        try:
            _lark().parse(probe)
        except UnexpectedInput as exc:
            err = _lark_error(exc, probe)
            at_token = err.offset == len(skeleton) or (not token and err.offset == len(probe))
            if at_token:
                return ParseError(err.message, text, len(text) if not token else offset)
        return _lark_whole(text)              # not reached: the reader and grammar agree
    return error


def _lark_whole(text: str) -> ParseError:
    """The error of the whole text by the LALR parser (a fallback; slow on long texts)."""
    try:
        _lark().parse(text)
    except UnexpectedInput as exc:
        return _lark_error(exc, text)
    return ParseError("the text does not follow the grammar", text, 0)


def parse(text: str, *, outputs: Sequence[str] | None = None, max_length: int = MAX_LENGTH,
          max_depth: int = MAX_DEPTH, max_exponent: float = MAX_EXPONENT,
          max_nodes: int = MAX_NODES, constants: Mapping[str, float] | None = None) -> Graph:
    """Read an expression or a straight-line program into a Graph.

    Parameters
    ----------
    text
        An expression (``"sqrt(x**2 + exp(x**2))"``) or a program: one assignment
        per line or per ``;`` (``"a = x**2\\nb = exp(a)"``); the last line may be a
        bare expression.  Identical subexpressions become one node.  Names follow
        Python's identifier rules and are NFKC-normalised as Python does (PEP 3131):
        ``ﬁ`` and ``fi`` are one name, so are a precomposed and a decomposed ``é``;
        ``x²`` is not a name (write ``x**2``).
    outputs
        Output node names (default: the last statement).
    max_length, max_depth, max_exponent, max_nodes
        Bounds: text length in characters (2,000,000), nesting depth (1,000:
        parentheses, calls, unary minus, ``**`` chains), the size of a constant
        exponent (1e6), and the number of nodes, inputs and operations, the text
        makes (500,000).  With the defaults, any text is read in a few seconds.
    constants
        The names read as numbers (default :data:`CONSTANTS`: ``pi`` and ``e``);
        a grader passes fewer when an exercise has a node named ``e``.

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
    >>> sg.parse("ﬁ * x + e\u0301").inputs      # NFKC: the ligature is fi, e + accent is é
    ('fi', 'x', 'é')
    """
    _check_options(text, max_length, max_depth, max_exponent, max_nodes)
    _depth_prescan(text, max_depth)
    build = _Build(text, max_depth, max_exponent, CONSTANTS if constants is None else constants)
    try:
        with no_gc():
            program, taken = read(text, _syntax_error(text))
            stmts = _run(program, build, max_nodes)
    except Syntax as exc:
        raise ParseError(exc.message, text, exc.offset) from None
    except GraphError as exc:
        raise ParseError(str(exc), text, 0) from None
    del program
    if not stmts:
        raise ParseError("empty text: write an expression such as x**2", text, 0)
    last, _ = stmts[-1]
    if type(last[0]) is not str:
        raise ParseError("the expression is constant: it has no input variables", text, last[2])
    outs = _outputs(build, outputs, text) if outputs is not None else [last[0]]
    with no_gc():
        return build.asm.graph(outs, taken)


def _check_options(text, max_length, max_depth, max_exponent, max_nodes) -> None:
    if not isinstance(text, str):
        raise ParseError(f"parse() reads a str, got {type(text).__name__}", "", 0)
    for opt, v, kind in (("max_length", max_length, Integral), ("max_depth", max_depth, Integral),
                         ("max_exponent", max_exponent, Real), ("max_nodes", max_nodes, Integral)):
        if isinstance(v, bool) or not isinstance(v, kind) or not v >= 0:    # rejects nan too
            raise ParseError(f"{opt}= must be a non-negative {'int' if kind is Integral else 'number'}, "
                             f"got {v!r}", "", 0)
    if len(text) > max_length:
        raise ParseError(f"text of {len(text):,} characters is longer than the limit of "
                         f"{max_length:,} (max_length=)", text[:200], 0)


def _outputs(build: _Build, outputs: Sequence[str], text: str) -> list:
    if len(set(outputs)) != len(outputs):
        dup = next(o for o in outputs if list(outputs).count(o) > 1)
        raise ParseError(f"output {dup!r} is listed twice in outputs=", text, 0)
    refs = []
    for o in outputs:
        ref = build.asm.lookup(o)
        if ref is None:
            raise ParseError(f"output {_shown(str(o))} is not a name assigned or used in the text", text, 0)
        refs.append(ref)
    return refs
