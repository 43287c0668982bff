"""The exception hierarchy: every error symgrad raises on bad input is one of these."""

from __future__ import annotations

__all__ = ["SymgradError", "ParseError", "GraphError", "InputError", "DomainError"]


class SymgradError(Exception):
    """Base class of every error symgrad raises on purpose."""


class ParseError(SymgradError, ValueError):
    """Raised by :func:`symgrad.front.parse` (and everything that reads text) when the text
    is not a valid expression or program, or exceeds a size, depth or exponent bound.

    Carries the position: ``offset`` (0-based), ``line`` and ``column`` (1-based),
    and ``str(err)`` shows the offending line with a caret under the position.
    """

    def __init__(self, message: str, text: str = "", offset: int = 0):
        self.message = message
        self.text = text
        self.offset = max(0, min(offset, len(text)))
        start = text.rfind("\n", 0, self.offset) + 1
        self.line = text.count("\n", 0, self.offset) + 1
        self.column = self.offset - start + 1
        end = text.find("\n", self.offset)
        self.source_line = text[start : len(text) if end < 0 else end]
        super().__init__(self.__str__())

    def __str__(self) -> str:
        col = self.column - 1
        lo = max(0, col - 60)                       # a window: lines may be megabytes long
        snippet = self.source_line[lo : col + 60]
        prefix = "..." if lo else ""
        caret = " " * (len(prefix) + col - lo) + "^"
        where = f"line {self.line}, column {self.column}"
        return f"{self.message} (at {where})\n  {prefix}{snippet}\n  {caret}"


class GraphError(SymgradError, ValueError):
    """Raised when a graph is malformed: a cycle, an unknown node or op, a duplicate
    name, or an op called with the wrong number of arguments."""


class InputError(SymgradError, ValueError):
    """Raised when the values passed to an evaluation are wrong: a missing or unknown
    input, a value that is not a real number or array, or shapes that do not broadcast."""


class DomainError(SymgradError, ArithmeticError):
    """Raised only with ``strict=True`` when a node's value (or adjoint) is nan or inf
    although its arguments were finite; names the node, its op and the argument values."""
