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
    p.add_argument("--symbolic", action="store_true",
                   help="no numbers: adjoints as expressions (takes no --at)")
    p.add_argument("--mode", choices=("reverse", "forward"), default="reverse",
                   help="reverse (default: the backward pass) or forward (forward mode: every "
                        "node's tangent with respect to --wrt)")
    p.add_argument("--wrt", metavar="INPUT", help="forward mode: the input to differentiate by")
    p.add_argument("--html", metavar="FILE", type=file_name,
                   help="write an interactive HTML page of the derivation instead of printing it")


def _derive_options(args) -> None:
    """The flag combinations that would be ignored are errors."""
    if args.symbolic and args.at:
        raise InputError("--symbolic takes no point: its adjoints are expressions; drop --at "
                         "(or drop --symbolic for numbers at the point)")
    if args.mode == "forward" and args.wrt is None:
        raise InputError("--mode forward needs --wrt INPUT, the input the tangents are taken with "
                         "respect to")
    if args.mode == "forward" and args.symbolic:
        raise InputError("--mode forward computes numbers at a point (--at); it has no --symbolic form")
    if args.wrt is not None and args.mode != "forward":
        raise InputError("--wrt chooses forward mode's input; add --mode forward")
    if args.html and (args.format or args.pdf):
        raise InputError("--html writes a page; it does not combine with "
                         + ("--format" if args.format else "--pdf") + " (run the command twice)")


def _derive_run(args) -> int:
    from ..show.derive import derive
    _derive_options(args)
    g = graph_of(args)
    d = derive(g, parse_points(args.at) or None, digits=args.digits, symbolic=args.symbolic,
               mode=args.mode, wrt=args.wrt)
    if args.html:
        with open(args.html, "w", encoding="utf-8") as f:
            f.write(d.html())
        print(f"wrote {args.html}")
        return 0
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
    outputs, ``adjoints`` and ``gradient`` map each output to its mapping.
    Forward mode: ``{"inputs", "forward", "direction", "tangents"}`` (the
    seeds, every node's tangent)."""
    from ..show.text import TextPrinter
    pr = TextPrinter()
    pr.prepare(d)
    forward = {k: _num(v) for k, v in (d.point or {}).items()} if not d.symbolic else {}
    forward.update((s.node, _num(s.value) if s.value is not None else pr.rhs(s)) for s in d.forward)
    if d.mode == "forward":
        return {"inputs": {k: _num(v) for k, v in d.point.items()}, "forward": forward,
                "direction": dict(d.seeds), "tangents": {s.node: _num(s.value) for s in d.tangents}}
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
    if fmt in ("png", "pdf") and args.output is None:
        raise InputError(f"a {fmt.upper()} picture needs a file: add -o graph.{fmt} (without -o the "
                         "DOT source is printed)")
    source = draw(g, point or None, path=args.output, format=fmt or "svg")
    if args.output is None:
        print(source)
    else:
        print(f"wrote {args.output}")
    return 0


# -- hessian ----------------------------------------------------------------------
def _hessian_args(p: argparse.ArgumentParser) -> None:
    add_expression(p)
    p.add_argument("--output", metavar="NODE", default=None,
                   help="the output to differentiate (default: the only output)")
    p.add_argument("--rtol", type=float, default=1e-5, help="accepted relative error of the check "
                   "(default 1e-5)")
    p.add_argument("--digits", type=int, default=6, help="significant digits shown (default 6)")
    p.add_argument("--format", choices=("text", "json"), default="text", help="output format")


def hessian_text(names: Sequence[str], h, digits: int) -> str:
    """The matrix with its inputs as row and column labels, columns aligned.

    >>> import numpy as np
    >>> print(hessian_text(["x", "y"], np.array([[-0.841471, 4.0], [4.0, 2.0]]), 4))
       x        y
    x  -0.8415  4
    y  4        2
    """
    from ..show.printer import format_number
    cells = [[""] + list(names)] + [[n] + [format_number(float(v), digits) for v in row]
                                    for n, row in zip(names, h, strict=True)]
    widths = [max(len(r[j]) for r in cells) for j in range(len(cells[0]))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip()
                     for r in cells)


def _hessian_run(args) -> int:
    from ..show.printer import format_number
    from ..symbolic.check import check
    if not isinstance(args.digits, int) or not 1 <= args.digits <= 17:
        raise InputError(f"--digits must be in 1..17, got {args.digits}")
    g = graph_of(args)
    point = parse_points(args.at)
    h = g.hessian(point, output=args.output)
    report = check(g, point, output=args.output, rtol=args.rtol, order=2)
    names = list(g.inputs)
    out = g.default_output(args.output)
    if args.format == "json":
        print(json.dumps({"output": out, "inputs": point, "wrt": names,
                          "hessian": [[_num(float(v)) for v in row] for row in h],
                          "check": {"ok": report.ok, "methods": list(report.methods),
                                    "rows": {r.name: {m: _num(float(v)) for m, v in r.values.items()}
                                             for r in report.rows},
                                    "failed": list(report.failed), "notes": list(report.notes)}},
                         indent=2))
    else:
        at = ", ".join(f"{k} = {format_number(v, args.digits)}" for k, v in point.items())
        r, c = (names[0], names[-1])
        print(f"Hessian of {out} at {at} (row {r}, column {c}: ∂²{out}/∂{r}∂{c})\n")
        print(hessian_text(names, h, args.digits) + "\n")
        print(report)
    return 0 if report.ok else 1


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
    f"symgrad derive {LECTURE} --at x=2 --mode forward --wrt x",
    f"symgrad derive {LECTURE} --at x=2 --html lecture.html",
)))
register(Command("hessian", "the Hessian matrix at a point, checked four ways", _hessian_args,
                 _hessian_run, (
    "symgrad hessian \"x*y**2 + sin(x)\" --at x=1,y=2",
    f"symgrad hessian {LECTURE} --at x=2 --format json",
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
