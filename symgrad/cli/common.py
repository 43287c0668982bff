"""What every subcommand shares: the command registry, reading the expression
argument and the point (``--at``), file-name arguments."""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from ..errors import InputError

__all__ = ["EXIT_ERROR", "Command", "COMMANDS", "register", "parse_points", "add_expression",
           "graph_of", "file_name", "expression_text", "dash_values"]

EXIT_ERROR = 2


@dataclass(frozen=True)
class Command:
    """A subcommand: ``configure(parser)`` adds its arguments, ``run(args)``
    does the work and returns the exit status."""

    name: str
    help: str
    configure: Callable[[argparse.ArgumentParser], None]
    run: Callable[[argparse.Namespace], int]
    examples: tuple = ()


COMMANDS: dict[str, Command] = {}


def register(command: Command) -> Command:
    """Add ``command`` to the command line (its name must be new)."""
    if command.name in COMMANDS:
        raise ValueError(f"a subcommand {command.name!r} is already registered")
    COMMANDS[command.name] = command
    return command


def parse_points(items: Sequence[str] | None) -> dict:
    """``["x=2", "y=3,z=4"]`` -> ``{"x": 2.0, "y": 3.0, "z": 4.0}``.

    >>> parse_points(["x=2", "y=3,z=-1.5"])
    {'x': 2.0, 'y': 3.0, 'z': -1.5}
    """
    point: dict[str, float] = {}
    for item in items or ():
        for pair in filter(None, (p.strip() for p in item.split(","))):
            name, eq, value = pair.partition("=")
            if not eq or not name.strip():
                raise InputError(f"--at expects name=value pairs like x=2 or x=2,y=3, got {pair!r}")
            try:
                v = float(value)
            except ValueError:
                raise InputError(f"--at {name.strip()}: {value.strip()!r} is not a number") from None
            if name.strip() in point:
                raise InputError(f"--at gives {name.strip()!r} twice")
            point[name.strip()] = v
    return point


def add_expression(p: argparse.ArgumentParser) -> None:
    p.add_argument("expression", help="an expression or a program (assignments separated "
                                      "by ';' or newlines; it may start with '-'), @FILE to read "
                                      "it (or a graph's JSON) from a file, - from stdin")
    p.add_argument("--at", action="append", metavar="NAME=VALUE[,...]",
                   help="the point: --at x=2 --at y=3 or --at x=2,y=3")


_MARK = " "        # dash_values() puts it before a positional value starting with '-'


def expression_text(given: str) -> str:
    """The expression argument's text: ``-`` reads stdin, ``@FILE`` the file."""
    if given.startswith(_MARK + "-"):
        return given[len(_MARK):]
    if given == "-":
        return sys.stdin.read()
    if given.startswith("@"):
        path = given[1:]
        if not path.strip():
            raise InputError("@FILE needs a file name, e.g. @expr.txt")
        try:
            with open(path, encoding="utf-8") as f:
                return f.read()
        except OSError as err:
            raise InputError(f"cannot read {path!r}: {err.strerror or err}") from None
        except UnicodeDecodeError as err:
            raise InputError(f"{path!r} is not UTF-8 text: {err.reason}") from None
    return given


def graph_of(args):
    """The Graph of the expression argument: text, a program, or a graph's JSON
    (text starting with ``{``, as ``symgrad export --to json`` writes it)."""
    text = expression_text(args.expression)
    if text.lstrip().startswith("{"):
        from ..front.json_io import from_json
        return from_json(text)
    from ..front.parse import parse
    return parse(text)


_NUMBERISH = re.compile(r"-[\d.]")


def dash_values(argv: Sequence[str], options: Callable[[str], dict]) -> list:
    """``argv`` with values that start with ``-`` made unambiguous for argparse: an
    expression ``-x*sin(x)`` (any token starting with one ``-`` that is not an option
    of the command) and negative option values (``--x -1,0.5`` becomes
    ``--x=-1,0.5``).  ``options(command)`` gives ``{option string: takes a value}``
    for a command name (or None: the top level)."""
    out, opts, command = [], options(None), None
    for t in argv:
        if command is None and t in COMMANDS and not (out and opts.get(out[-1])):
            command, opts = t, options(t)
            out.append(t)
            continue
        is_value = t.startswith("-") and t not in ("-", "--") and (
            _NUMBERISH.match(t) or not t.startswith("--") and t[:2] not in opts)
        if not is_value:
            out.append(t)
        elif out and opts.get(out[-1]):                    # the value of the option before it
            prev = out.pop()
            out.append(f"{prev}={t}" if prev.startswith("--") else prev + t)
        else:
            out.append(_MARK + t)
    return out


def file_name(text: str) -> str:
    """An argparse type for a FILE argument: an empty name is an error, not "no file"."""
    if not text.strip():
        raise argparse.ArgumentTypeError(f"needs a file name, got {text!r}")
    return text
