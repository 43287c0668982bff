"""The text reader: tokens -> a flat postfix program, in one linear pass.

:func:`read` checks the syntax of the grammar in :data:`symgrad.front.parse.GRAMMAR`
and returns the post-order of its tree as a flat list of instructions, which
:mod:`symgrad.front.parse` then executes to build the graph.  It is an operator-
precedence (shunting-yard) reader with explicit stacks: no recursion, one
regular-expression scan, a few dict lookups per token, so a text of millions of
characters reads in about a second.

Syntax errors are reported exactly as the grammar's LALR(1) parser (lark)
reports them: on the first token that cannot continue the text, the reader
writes a short text that leaves lark's parser in the same state (one
placeholder per pending operator, parenthesis or call: at most the nesting
depth), appends the offending token, and lets lark word the error.
"""

from __future__ import annotations

import re
import unicodedata

__all__ = ["read", "Syntax", "NUM", "NAME", "BIN", "NEG", "POS", "PAREN", "CALL", "KWARG",
           "ASSIGN", "STMT", "BINOPS", "bad_character"]

# instruction codes of the postfix program
NUM, NAME, BIN, NEG, POS, PAREN, CALL, KWARG, ASSIGN, STMT = range(10)

# token kinds
_IGN, _NUMT, _NAMET, _OP, _POW, _LPAR, _RPAR, _COMMA, _EQ, _SEP, _BAD = range(1, 12)  # all truthy

_LEX = re.compile(
    r"[ \t\f\r]+|\\\r?\n|#[^\n]*"                       # ignored: as the grammar's %ignore
    r"|(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?"            # NUMBER
    r"|[^\W\d][^\s\x00-\x2f\x3a-\x40\x5b-\x5e\x60\x7b-\x7f]*"   # a name (checked below)
    r"|\*\*|\n|[-+*/(),=;]|.", re.DOTALL)
_KIND = {"+": _OP, "-": _OP, "*": _OP, "/": _OP, "**": _POW, "(": _LPAR, ")": _RPAR,
         ",": _COMMA, "=": _EQ, "\n": _SEP, ";": _SEP, "\\": _BAD, ".": _BAD}
_FIRST = {**{c: _IGN for c in " \t\f\r#\\"}, **{c: _NUMT for c in "0123456789."},
          **{c: _NAMET for c in "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_"}}
_KIND.update({c: k for c, k in _FIRST.items() if c not in _KIND})    # one-character tokens
BINOPS = {"+": ((BIN, "add"), 1), "-": ((BIN, "sub"), 1), "*": ((BIN, "mul"), 2),
           "/": ((BIN, "div"), 2), "**": ((BIN, "pow"), 4)}
_PREFIX = {"-": (NEG,), "+": (POS,)}
_PRE, _FRAME = 3, -1                     # precedence of prefix ops; of '(' , call, kwarg frames

_NAME_START = re.compile(r"[^\W\d]")


class Syntax(Exception):
    """A syntax error found by :func:`read`: ``message`` at ``offset``."""

    def __init__(self, message: str, offset: int):
        super().__init__(message)
        self.message, self.offset = message, offset


def _slow_kind(tok: str) -> int:
    """The kind of a token starting with a non-ASCII character."""
    c = tok[0]
    if c.isdecimal():
        return _NUMT
    return _NAMET if _NAME_START.match(c) else _BAD


def bad_character(ch: str) -> str:
    return (f"unexpected character {ch!r}; symgrad reads numbers, names, "
            "+ - * / **, parentheses, commas, '=' and function calls")


def check_name(tok: str, pos: int) -> str:
    """A name token as Python reads an identifier (PEP 3131): every character
    must be allowed in an identifier, and the name is NFKC-normalised."""
    if tok.isascii():
        return tok
    if tok.isidentifier():
        return unicodedata.normalize("NFKC", tok)
    for i, ch in enumerate(tok):
        if not (ch if i == 0 else "_" + ch).isidentifier():
            if re.match(r"\w", ch):
                raise Syntax(f"the character {ch!r} (U+{ord(ch):04X}) cannot be part of a name "
                             f"(names follow Python's identifier rules)", pos + i)
            raise Syntax(bad_character(ch), pos + i)
    raise AssertionError("unreachable: a non-identifier has a bad character")   # pragma: no cover


class _Reader:
    """The state of one read: the output program and the operator/frame stack.

    ``ops`` holds pending binary operators ``(item, prec, text)``, prefix
    operators ``(item, 3, text)`` and frames ``(kind, -1, data)`` for an open
    parenthesis, call (data: ``[name, pos, nargs]``) or keyword argument."""

    def __init__(self, text: str, error):
        self.text, self.error = text, error
        self.out: list = []
        self.ops: list = []
        self.names: set[str] = set()
        self.assign = None                  # (name, pos) of the statement's assignment
        self.last = "x"                     # placeholder text of the last operand
        self.open = 0                       # open frames
        self.seps = 0                       # separators seen (for the placeholder text)

    # -- errors -------------------------------------------------------------------
    def skeleton(self, operand: bool) -> str:
        """A short text leaving the LALR parser in the state of the text read so far."""
        parts = [";"] if self.seps else []
        if self.assign is not None:
            parts.append("a =")
        for item, prec, data in self.ops:
            if prec != _FRAME:
                parts.append(data if prec == _PRE else "x " + data)
            elif item == "(":
                parts.append("(")
            elif item == "call":
                parts.append("f(" + ", ".join(["x"] * min(data[2], 2)) + ("," if data[2] else ""))
            else:
                parts.append("k =")
        if operand:
            parts.append(self.last)
        return " ".join(parts) + " "

    def unexpected(self, tok: str, pos: int, operand: bool):
        raise self.error(self.skeleton(operand), tok, pos)

    # -- statements -----------------------------------------------------------------
    def reduce(self, prec: int) -> None:
        ops, out = self.ops, self.out
        while ops and ops[-1][1] >= prec:
            out.append(ops.pop()[0])

    def end_statement(self, tok: str, pos: int, operand: bool, start: bool) -> None:
        if not operand:
            if not start:
                self.unexpected(tok, pos, False)
            self.seps += 1
            return
        if self.open:
            self.unexpected(tok, pos, True)
        self.reduce(0)
        if self.assign is not None:
            self.out.append((ASSIGN, *self.assign))
            self.assign = None
        self.out.append((STMT,))
        self.seps += 1

    def close(self, tok: str, pos: int, operand: bool, start: bool) -> bool:
        """')' : True when it closes an operand (False only for an error)."""
        frame = next((f for f in reversed(self.ops) if f[1] == _FRAME), None)
        if frame is None or (not operand and not (start and frame[0] == "call" and not frame[2][2])):
            self.unexpected(tok, pos, operand)
        if operand:
            self.reduce(0)
        if frame[0] == "(":
            self.ops.pop()
            self.out.append((PAREN,))
            self.last = "(x)"
        else:
            self._close_call(operand)
        self.open -= 1
        return True

    def _close_call(self, operand: bool):
        if self.ops[-1][0] == "kw":
            self.out.append((KWARG, *self.ops.pop()[2]))
            self.open -= 1
        _, _, (name, pos, nargs) = self.ops.pop()
        nargs += operand
        self.out.append((CALL, name, pos, nargs))
        self.last = "f(x)" if nargs else "f()"

    def comma(self, tok: str, pos: int, operand: bool) -> None:
        frame = next((f for f in reversed(self.ops) if f[1] == _FRAME), None)
        if not operand or frame is None or frame[0] == "(":
            self.unexpected(tok, pos, operand)
        self.reduce(0)
        if self.ops[-1][0] == "kw":
            self.out.append((KWARG, *self.ops.pop()[2]))
            self.open -= 1
        self.ops[-1][2][2] += 1

    def equals(self, tok: str, pos: int, head, operand: bool) -> None:
        """'=' after a name read where an assignment or a keyword argument may start."""
        if not head:
            self.unexpected(tok, pos, operand)
        _, name, npos = self.out.pop()
        if head == "stmt":
            self.assign = (name, npos)
        else:
            self.ops.append(("kw", _FRAME, (name, npos)))
            self.open += 1

    def call(self, tok: str, pos: int, pend) -> None:
        """'(' after an operand: a call if the operand is a name."""
        if pend is None:
            self.unexpected(tok, pos, True)
        _, name, npos = self.out.pop()
        self.ops.append(("call", _FRAME, [name, npos, 0]))
        self.open += 1


def read(text: str, error) -> tuple[list, set]:
    """The postfix program of ``text`` and the set of names in it.

    ``error(skeleton, token, offset)`` must raise the syntax error for ``token``
    at ``offset``; ``skeleton`` is a text that brings the LALR parser to the
    state of the reader.  Bad characters raise :class:`Syntax` directly."""
    r = _Reader(text, error)
    out, ops, names = r.out, r.ops, r.names
    operand = False          # True after an operand, False where one is expected
    start = True             # at the start of a statement, or of a call's arguments
    head = "stmt"            # what a name read now may become: 'stmt' (assignment), 'arg' (kwarg)
    pend = None              # after a name (the last instruction): its head, or "" (a call only)
    pos = 0
    kinds, first = _KIND, _FIRST
    for tok in _LEX.findall(text):
        kind = kinds.get(tok) or first.get(tok[0]) or _slow_kind(tok)
        if kind == _IGN:
            pos += len(tok)
            continue
        if kind == _NAMET and not operand:
            name = tok if tok.isascii() else check_name(tok, pos)
            names.add(name)
            out.append((NAME, name, pos))
            pend, operand, r.last = head or "", True, "x"
            start = head = None
            pos += len(tok)
            continue
        if kind == _OP and operand:
            item, prec = BINOPS[tok]
            while ops and ops[-1][1] >= prec:
                out.append(ops.pop()[0])
            ops.append((item, prec, tok))
            operand = False
        elif kind == _NUMT and not operand:
            out.append((NUM, tok, pos))
            r.last, operand = "1", True
        elif kind == _OP and tok in _PREFIX:
            ops.append((_PREFIX[tok], _PRE, tok))
        elif kind == _LPAR:
            if operand:
                r.call(tok, pos, pend)
                operand, start, head, pend = False, True, "arg", None
                pos += 1
                continue
            ops.append(("(", _FRAME, pos))
            r.open += 1
        elif kind == _POW and operand:
            ops.append((BINOPS["**"][0], 4, tok))
            operand = False
        elif kind == _RPAR:
            operand = r.close(tok, pos, operand, start)
        elif kind == _COMMA:
            r.comma(tok, pos, operand)
            operand, start, head, pend = False, True, "arg", None
            pos += 1
            continue
        elif kind == _EQ:
            r.equals(tok, pos, pend, operand)
            operand = False
        elif kind == _SEP:
            r.end_statement(tok, pos, operand, start and head == "stmt" and not ops)
            operand, start, head, pend = False, True, "stmt", None
            pos += 1
            continue
        elif kind == _BAD:
            raise Syntax(bad_character(tok[0]), pos)
        else:
            r.unexpected(tok, pos, operand)
        start = head = pend = None
        pos += len(tok)
    r.end_statement("", len(text), operand, start and head == "stmt" and not ops)
    return out, names
