# PYTHON_ARGCOMPLETE_OK
"""The ``symgrad`` command line.

Each subcommand is a :class:`Command` in :data:`COMMANDS`: a function that adds
its arguments to an argparse parser, a function that runs it, and examples for
``--help``.  A new subcommand is one more :func:`register` call.  Errors are
one short line on stderr (plus the caret line of a ParseError), never a
traceback, with exit status 2.

Every command reads its expression as an argument (it may start with ``-``:
``symgrad derive -x*sin(x) --at x=1``), from a file (``@expr.txt``; a graph's
JSON works too) or from stdin (``-``); option values may be negative numbers
(``--x -1,0.5``).  Shell completion: ``pip install argcomplete`` and
``eval "$(register-python-argcomplete symgrad)"`` (bash/zsh).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import warnings
from collections.abc import Sequence

from ..errors import InputError, ParseError, SymgradError
from .common import (COMMANDS, EXIT_ERROR, Command, add_expression, dash_values, file_name,
                     graph_of, parse_points, register)

__all__ = ["main", "Command", "COMMANDS", "register", "parse_points"]



class _UsageError(Exception):
    """A command-line usage error (reported in one line, exit status 2)."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):   # argparse would print the usage and exit
        raise _UsageError(f"{message} (see '{self.prog} --help')")


# -- derive ------------------------------------------------------------------------
def _derive_args(p: argparse.ArgumentParser) -> None:
    add_expression(p)
    p.add_argument("--format", choices=("text", "markdown", "latex", "json"), default=None,
                   help="output format (default: text)")
    p.add_argument("--pdf", metavar="FILE", type=file_name,
                   help="also write a LaTeX/PDF document (needs pdflatex)")
    p.add_argument("--digits", type=int, default=5, help="significant digits (default 5)")
    p.add_argument("--symbolic", action="store_true", help="no numbers: adjoints as expressions")


def _derive_run(args) -> int:
    from ..show.derive import derive
    g = graph_of(args)
    d = derive(g, parse_points(args.at) or None, digits=args.digits, symbolic=args.symbolic)
    if args.pdf:
        d.pdf(args.pdf)
        if args.format is None:
            print(f"wrote {args.pdf}")
            return 0
    fmt = args.format or "text"
    if fmt == "json":
        print(json.dumps(derivation_json(d), indent=2))
    else:
        print(getattr(d, fmt)())
    return 0


def _num(v):
    if isinstance(v, float):
        return v if math.isfinite(v) else None
    return str(v)


def derivation_json(d) -> dict:
    """``{"inputs", "forward", "adjoints", "gradient"}`` of a derivation (numbers,
    or expression strings in symbolic mode; nan/inf as null).  With several
    outputs, ``adjoints`` and ``gradient`` map each output to its mapping."""
    from ..show.text import TextPrinter
    pr = TextPrinter()
    pr.prepare(d)
    forward = {k: _num(v) for k, v in (d.point or {}).items()} if not d.symbolic else {}
    forward.update((s.node, _num(s.value) if s.value is not None else pr.rhs(s)) for s in d.forward)
    adj_all, grad_all = {}, {}
    for o in d.outputs:
        got = {s.node: _num(s.value) if s.value is not None else
               str(s.expr) if s.expr is not None else pr.signed_sum(pr.substituted(s))
               for s in d.backward if s.output == o}
        adj = {n: got[n] for n in d.graph.nodes if n in got}
        adj_all[o] = adj
        grad_all[o] = {x: adj.get(x, 0.0) for x in d.graph.inputs}
    one = len(d.outputs) == 1
    return {"inputs": {k: _num(v) for k, v in (d.point or {}).items()},
            "forward": forward,
            "adjoints": adj_all[d.outputs[0]] if one else adj_all,
            "gradient": grad_all[d.outputs[0]] if one else grad_all}


# -- draw --------------------------------------------------------------------------
def _draw_args(p: argparse.ArgumentParser) -> None:
    add_expression(p)
    p.add_argument("-o", "--output", metavar="FILE",
                   help="write the picture here (format from the suffix: .svg .png .pdf .dot); "
                        "without it, print the DOT source")
    p.add_argument("--format", choices=("svg", "png", "pdf", "dot"), default=None,
                   help="picture format (default: from the file suffix, else svg)")


def _draw_run(args) -> int:
    from ..show.dot import draw
    g = graph_of(args)
    point = parse_points(args.at)
    fmt = args.format
    if fmt is None and args.output:
        suffix = os.path.splitext(args.output)[1].lstrip(".").lower()
        fmt = {"gv": "dot"}.get(suffix, suffix)
        if fmt not in ("svg", "png", "pdf", "dot"):
            raise InputError(f"cannot tell the picture format from {args.output!r}; "
                             "use a .svg, .png, .pdf or .dot file or --format")
    source = draw(g, point or None, path=args.output, format=fmt or "svg")
    if args.output is None:
        print(source)
    else:
        print(f"wrote {args.output}")
    return 0


# -- export ------------------------------------------------------------------------
_TARGETS = ("numpy", "jax", "torch", "math", "json")


def _export_args(p: argparse.ArgumentParser) -> None:
    add_expression(p)
    p.add_argument("--to", choices=_TARGETS, default="numpy",
                   help="a Python module for numpy (default), jax, torch or math, with forward() "
                        "and grad(); or the graph as JSON (read back with @FILE or Graph.from_json)")
    p.add_argument("-o", "--output", metavar="FILE", type=file_name,
                   help="write it here (default: print it)")
    p.add_argument("--wrt-output", metavar="NODE", default=None,
                   help="the output grad() differentiates (default: the only output)")


def _export_run(args) -> int:
    g = graph_of(args)
    if args.to == "json":
        text = g.to_json(indent=1) + "\n"
    else:
        text = g.to_source(args.to, output=args.wrt_output)
    if args.output is None:
        sys.stdout.write(text)
        return 0
    with open(args.output, "w", encoding="utf-8") as f:
        f.write(text)
    print(f"wrote {args.output}")
    return 0


LECTURE = '"sqrt(x**2 + exp(x**2)) + cos(x**2 + exp(x**2))"'
register(Command("derive", "the step-by-step forward and backward pass", _derive_args, _derive_run, (
    f"symgrad derive {LECTURE} --at x=2",
    f"symgrad derive {LECTURE} --at x=2 --pdf lecture.pdf",
    "symgrad derive \"x*y + sin(x)\" --at x=1,y=2 --format json",
    "symgrad derive \"a = x**2; f = exp(a) + a\" --symbolic --format latex",
)))
register(Command("draw", "a picture of the computational graph (Graphviz)", _draw_args, _draw_run, (
    f"symgrad draw {LECTURE} --at x=2 -o graph.svg",
    "symgrad draw \"x*y + sin(x)\" -o graph.png",
    "symgrad draw \"x*y\"            # prints the DOT source",
)))

register(Command("export", "the graph as a standalone Python module (numpy, JAX, PyTorch, "
                 "math) or as JSON", _export_args, _export_run, (
    f"symgrad export {LECTURE} --to numpy -o lecture.py",
    "symgrad export \"-x*sin(x)\" --to jax",
    f"symgrad export {LECTURE} --to json -o lecture.json && symgrad derive @lecture.json --at x=2",
    "echo \"x*y + sin(x)\" | symgrad export - --to torch",
)))

from . import teach as cli_teach  # noqa: E402,F401 - registers exercise, quiz, check, mlp
from . import plot as cli_plot  # noqa: E402,F401 - registers plot


def build_parser() -> argparse.ArgumentParser:
    """The argparse parser with every registered subcommand."""
    parser = _Parser(prog="symgrad", description="Derivations, pictures and checks of the "
                     "derivative of an expression's computational graph.",
                     epilog="Run 'symgrad COMMAND --help' for a command's options and examples.")
    parser.add_argument("--version", action="store_true", help="print the version and exit")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for cmd in COMMANDS.values():
        p = sub.add_parser(cmd.name, help=cmd.help, description=cmd.help,
                           formatter_class=argparse.RawDescriptionHelpFormatter,
                           epilog="examples:\n" + "\n".join(f"  {e}" for e in cmd.examples))
        cmd.configure(p)
        p.set_defaults(run=cmd.run)
    return parser


def _option_table(parser: argparse.ArgumentParser):
    """``command -> {option string: takes a value}`` (None: the top level), for
    :func:`symgrad.cli.common.dash_values`."""
    subs = next((a.choices for a in parser._actions if isinstance(a, argparse._SubParsersAction)), {})

    def options(command):
        p = parser if command is None else subs.get(command, parser)
        return {o: a.nargs != 0 for a in p._actions for o in a.option_strings}
    return options


def _complete(parser: argparse.ArgumentParser) -> None:
    """Shell completion through argcomplete, when it is installed and the shell asks
    (``eval "$(register-python-argcomplete symgrad)"``); otherwise nothing."""
    try:
        import argcomplete
    except ImportError:
        return
    argcomplete.autocomplete(parser)


def _fail(message: str) -> int:
    print(f"symgrad: error: {message}", file=sys.stderr)
    return EXIT_ERROR


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status (0, or 2 on an error).

    Examples
    --------
    >>> main(["derive", "x**2", "--at", "x=3", "--format", "json"])  # doctest: +ELLIPSIS
    {
      "inputs": {
        "x": 3.0
    ...
    0
    """
    parser = build_parser()
    _complete(parser)
    try:
        args = parser.parse_args(dash_values(sys.argv[1:] if argv is None else argv,
                                             _option_table(parser)))
        if args.version:
            from .. import __version__
            print(f"symgrad {__version__}")
            return 0
        if args.command is None:
            raise _UsageError(f"choose a command: {', '.join(COMMANDS)} (see 'symgrad --help')")
        with warnings.catch_warnings():          # a warning is one line on stderr
            warnings.showwarning = lambda msg, *_a, **_k: print(f"symgrad: warning: {msg}",
                                                                file=sys.stderr)
            return args.run(args)
    except _UsageError as err:
        return _fail(str(err))
    except ParseError as err:
        return _fail(str(err))
    except SymgradError as err:
        return _fail(str(err).splitlines()[0] if str(err) else type(err).__name__)
    except BrokenPipeError:                      # e.g. `symgrad derive ... | head`: not an error
        sys.stdout = open(os.devnull, "w")       # noqa: SIM115 - keep interpreter shutdown quiet
        return 0
    except OSError as err:
        return _fail(f"{err.strerror or err}: {err.filename}" if err.filename else str(err))
