"""What every subcommand shares: the command registry, reading the expression
argument and the point (``--at``), file-name arguments."""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from ..errors import InputError

__all__ = ["EXIT_ERROR", "Command", "COMMANDS", "register", "parse_points", "add_expression",
           "graph_of", "file_name"]

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
                                      "by ';' or newlines)")
    p.add_argument("--at", action="append", metavar="NAME=VALUE[,...]",
                   help="the point: --at x=2 --at y=3 or --at x=2,y=3")


def graph_of(args):
    from ..front.parse import parse
    return parse(args.expression)


def file_name(text: str) -> str:
    """An argparse type for a FILE argument: an empty name is an error, not "no file"."""
    if not text.strip():
        raise argparse.ArgumentTypeError(f"needs a file name, got {text!r}")
    return text
