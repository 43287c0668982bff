"""Teaching subcommands of the ``symgrad`` command line: ``exercise``, ``quiz``,
``check`` and ``mlp``.

Each is a :class:`symgrad.cli.common.Command` registered in :data:`symgrad.cli.common.COMMANDS`
(``cli.py`` imports this module once, after its own commands).  Errors raise
symgrad's error classes, which ``cli.main`` prints as one line (exit status 2).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import sys
from collections.abc import Callable
from typing import Any

from .common import COMMANDS, Command, add_expression, graph_of, parse_points, register
from ..errors import InputError

__all__ = ["quiz", "TerminalReader", "SKIP"]

_KINDS = ("forward", "backward", "local", "symbolic", "mlp", "forward_mode", "hessian")


def _kinds(text: str) -> tuple:
    """``--kind backward`` or a sheet's mix, ``--kind forward,backward``."""
    kinds = tuple(k.strip() for k in text.split(","))
    bad = [k for k in kinds if k not in _KINDS]
    if bad or not kinds:
        raise argparse.ArgumentTypeError(f"invalid choice: {', '.join(map(repr, bad))} (choose from "
                                         f"{', '.join(_KINDS)}; a sheet may mix them: forward,backward)")
    return kinds


def _exercise_options(p: argparse.ArgumentParser, mix: bool = False) -> None:
    if mix:
        p.add_argument("--kind", type=_kinds, default=("backward",), metavar="KIND[,KIND...]",
                       help=f"what is asked: {', '.join(_KINDS)} (default backward); a sheet "
                            "(--count N) may mix kinds, taken in turn: forward,backward")
    else:
        p.add_argument("--kind", choices=_KINDS, default="backward", help="what is asked (default backward)")
    p.add_argument("--seed", type=int, default=None,
                   help="the exercise's seed (default: a random one, printed with the exercise)")
    p.add_argument("--difficulty", type=int, choices=(1, 2, 3), default=1, help="1 (default), 2 or 3")
    shown = p.add_mutually_exclusive_group()
    shown.add_argument("--show-forward", dest="show_forward", action="store_const", const=True,
                       default=None, help="backward kind: give the forward values "
                                          "(default: only at difficulty 1)")
    shown.add_argument("--hide-forward", dest="show_forward", action="store_const", const=False,
                       help="backward kind: do not give the forward values")


def _seed(args) -> int:
    return args.seed if args.seed is not None else random.SystemRandom().randrange(100_000)


# -- exercise ------------------------------------------------------------------------------
def _exercise_args(p: argparse.ArgumentParser) -> None:
    _exercise_options(p, mix=True)
    p.add_argument("--count", type=int, default=1, metavar="N",
                   help="N exercises, at most 200 (a sheet: exercise i has seed SEED*1000+i)")
    p.add_argument("--expr", metavar="EXPR",
                   help="a teacher's own function instead of a random one (text, a program, "
                        "@FILE or - for stdin), with its point --at")
    p.add_argument("--at", action="append", metavar="NAME=VALUE",
                   help="the point of --expr: x=2 or x=2,y=3 (repeatable)")
    p.add_argument("--solution", action="store_true", help="include answers and worked solutions")
    out = p.add_mutually_exclusive_group()
    out.add_argument("--pdf", metavar="FILE", help="write a PDF sheet (needs pdflatex)")
    out.add_argument("--moodle", metavar="FILE", help="write a Moodle XML quiz")
    out.add_argument("--json", action="store_true", help="print the exercises as JSON")
    out.add_argument("--latex", action="store_true", help="print the LaTeX sheet")
    p.add_argument("--formulas", choices=("stack", "numeric"), default="stack",
                   help="Moodle: formula answers as STACK questions (algebraic equivalence; "
                        "needs the STACK plugin, default) or as the formula's value at a "
                        "stated point (plain Moodle)")
    p.add_argument("--cloze", action="store_true",
                   help="Moodle: one Cloze question per exercise instead of one question per value")


def _exercises(args) -> tuple:
    from ..teach.exercise import exercise
    from ..teach.sheet import MAX_EXERCISES
    kinds = args.kind
    if args.expr is not None:
        given = [f for f, v in (("--seed", args.seed), ("--count", args.count != 1 or None),
                                ("--difficulty", args.difficulty != 1 or None)) if v is not None]
        if given or len(kinds) > 1:
            raise InputError(f"--expr makes one exercise of one kind on the given function: "
                             f"{', '.join(given + ['several kinds'] * (len(kinds) > 1))} would be ignored")
        graph = graph_of(argparse.Namespace(expression=args.expr))
        return (exercise(kinds[0], expression=graph, at=parse_points(args.at),
                         show_forward=args.show_forward),)
    if args.at:
        raise InputError("--at gives the point of --expr: add --expr EXPR (or drop --at)")
    seed = _seed(args)
    if args.count < 1 or args.count > MAX_EXERCISES:
        raise InputError(f"--count must be in 1..{MAX_EXERCISES}, got {args.count}")
    if args.count == 1:
        if len(kinds) > 1:
            raise InputError(f"--kind {','.join(kinds)} mixes kinds on a sheet: add --count N")
        return (exercise(kinds[0], seed=seed, difficulty=args.difficulty,
                         show_forward=args.show_forward),)
    return tuple(exercise(kinds[i % len(kinds)], seed=seed * 1000 + i, difficulty=args.difficulty,
                          show_forward=args.show_forward) for i in range(args.count))


def _show(it, digits: int) -> str:
    from ..show.printer import format_number
    from ..teach.prompts import show_answer
    return show_answer(it, digits) if it.formula else format_number(float(it.answer), digits)


def _answers_text(ex) -> str:
    return "\n".join(f"  [{it.key}] {it.text} = {_show(it, ex.digits)}" for it in ex.items)


def _check_paths(args) -> None:
    for flag in ("moodle", "pdf"):
        if getattr(args, flag) == "":
            raise InputError(f"--{flag} needs a file name, got an empty string")
    if (args.formulas != "stack" or args.cloze) and args.moodle is None:
        raise InputError("--formulas and --cloze shape the Moodle export: add --moodle FILE")


def _exercise_run(args) -> int:
    from ..teach.sheet import Sheet, exercises_json, moodle_xml, sheet_latex
    _check_paths(args)
    exs = _exercises(args)
    if args.json:
        print(exercises_json(exs, args.solution))
        return 0
    if args.moodle is not None:
        layout = "cloze" if args.cloze else "items"
        xml = moodle_xml(exs, formulas=args.formulas, layout=layout, solution=args.solution)
        with open(args.moodle, "w", encoding="utf-8") as f:
            f.write(xml)
        count = len(exs) if args.cloze else sum(len(ex.items) for ex in exs)
        print(f"wrote {args.moodle} ({count} questions)")
        return 0
    if args.pdf is not None or args.latex:
        seed = exs[0].seed if len(exs) == 1 else exs[0].seed // 1000
        title = (f"Exercise: {exs[0].kind} on the given function" if args.expr is not None else
                 f"Exercises: {', '.join(args.kind)} (difficulty {args.difficulty}, seed {seed})")
        sheet = Sheet(sheet_latex(exs, args.solution, title), exs)
        if args.latex:
            print(sheet)
        else:
            sheet.pdf(args.pdf)
            print(f"wrote {args.pdf}")
        return 0
    for i, ex in enumerate(exs):
        print(("\n" if i else "") + ex.prompt_text())
        if args.solution:
            print("Answers:\n" + _answers_text(ex))
            print("Solution:\n" + ex.solution().text())
    return 0


# -- quiz --------------------------------------------------------------------------------
SKIP = "skip"
"""The quiz's word for "show me the answer" (not counted as an attempt)."""


def _quiz_args(p: argparse.ArgumentParser) -> None:
    _exercise_options(p)
    p.add_argument("--no-solution", action="store_true", help="do not print the worked solution")


class TerminalReader:
    """``read(prompt)`` from a file descriptor that notices Ctrl-C at once.

    ``input()`` has a race: a SIGINT that arrives after the prompt is written but
    before the blocking ``read`` starts is only acted on after the next Enter.
    This reader waits with ``select`` in short slices, so Python checks pending
    signals at least every ``poll`` seconds.  End of input raises EOFError.
    """

    def __init__(self, fd: int, out, poll: float = 0.1) -> None:
        self.fd, self.out, self.poll, self.pending, self.eof = fd, out, poll, b"", False

    def __call__(self, prompt: str) -> str:
        import select
        self.out.write(prompt)
        self.out.flush()
        while b"\n" not in self.pending and not self.eof:
            try:
                ready, _, _ = select.select([self.fd], [], [], self.poll)
                chunk = os.read(self.fd, 4096) if ready else None
            except (OSError, ValueError):           # the descriptor went away: end of input
                chunk = b""
            if chunk is not None:
                self.pending += chunk
                self.eof = not chunk
        if not self.pending:
            raise EOFError
        line, _, self.pending = self.pending.partition(b"\n")
        return line.decode("utf-8", "replace").rstrip("\r")


def _default_reader() -> Callable[[str], str]:
    if sys.stdin is None or sys.stdin.closed:
        raise InputError("the quiz reads answers from standard input, which is closed")
    try:
        fd = sys.stdin.fileno()
    except (OSError, ValueError):
        return input
    return input if os.name == "nt" else TerminalReader(fd, sys.stdout)


def quiz(ex, read: Callable[[str], str] | None = None, write: Callable[[str], Any] = print,
         solution: bool = True) -> int:
    """Ask each item of ``ex`` in turn, grade it on the spot, show the solution.

    An answer that cannot be read (a typo such as ``exp(``, a name where a number
    is asked) is not an attempt: the message, with a caret under the problem,
    is shown and the same item is asked again.  The word ``skip`` shows the
    answer without counting an attempt; an empty line asks again (it never gives
    up on the item).  End of input (Ctrl-D) ends the quiz with the score so far.

    Parameters
    ----------
    ex
        An :class:`symgrad.teach.exercise.Exercise`.
    read
        ``read(prompt)`` returns the answer line (default: standard input, read
        so that Ctrl-C is noticed at once).
    write
        Prints one message (default :func:`print`).
    solution
        Print the worked derivation at the end.

    Returns
    -------
    int
        The exit status: 0 when every item was asked, 2 at end of input, 130
        after Ctrl-C (each ends with one line and the score so far).

    Examples
    --------
    >>> import symgrad as sg
    >>> ex = sg.exercise(kind="forward", seed=1)
    >>> answers = iter(["exp(", "skip"] + [f"{v:.4g}" for v in list(ex.answers.values())[1:]])
    >>> said = []
    >>> quiz(ex, read=lambda prompt: next(answers), write=said.append, solution=False)
    0
    >>> said[-1].strip()
    'score: 3 of 4 correct (75%); 1 skipped.'
    """
    tally = {"right": 0, "tried": 0, "skipped": 0}
    try:
        read = _default_reader() if read is None else read
        return _ask_all(ex, read, write, solution, tally)
    except EOFError:
        write(f"\nquiz ended at end of input: {_so_far(tally)}.")
        return 2
    except KeyboardInterrupt:
        write(f"\nquiz interrupted: {_so_far(tally)}.")
        return 130


def _so_far(tally: dict) -> str:
    return f"{tally['right']} of {tally['tried']} answered correct, {tally['skipped']} skipped"


def _caret(line: str) -> str:
    """The parser's message with its caret line, when ``line`` does not parse."""
    from ..errors import ParseError
    from ..front.parse import parse
    try:
        parse(line.strip().replace("\u2212", "-").replace("^", "**"))
    except ParseError as err:
        if "constant" not in str(err):
            return "\n".join("    " + ln for ln in str(err).splitlines()[1:])
    return ""


def _ask_one(ex, it, read, write, tally: dict) -> None:
    while True:
        line = read(f"{it.text} = ")
        word = line.strip()
        if not word:
            write(f"  type an answer ('{SKIP}' shows the answer, Ctrl-D ends the quiz)")
            continue
        if word.lower() == SKIP:
            tally["skipped"] += 1
            write(f"  skipped: the answer is {_show(it, ex.digits)}")
            return
        verdict = ex.grade({it.key: line}).items[it.key]
        if verdict.mistake == "unreadable":
            write(f"  {verdict.feedback}")
            caret = _caret(line)
            if caret:
                write(caret)
            write("  try again")
            continue
        tally["tried"] += 1
        tally["right"] += verdict.correct
        if verdict.correct:
            write("  correct!")
        else:
            write(f"  not right: {verdict.feedback}")
            write(f"  the answer is {_show(it, ex.digits)}")
        return


def _ask_all(ex, read, write, solution: bool, tally: dict) -> int:
    write(ex.prompt_text().split("\nAsked:")[0])
    write(f"Answer each question ('{SKIP}' shows the answer without counting it; "
          "Ctrl-D ends the quiz).\n")
    for it in ex.items:
        _ask_one(ex, it, read, write, tally)
    n, right = len(ex.items), tally["right"]
    write(f"\nscore: {right} of {n} correct ({right / max(1, n):.0%}); {tally['skipped']} skipped.")
    if solution:
        write("\nSolution:\n" + ex.solution().text())
    return 0


def _quiz_run(args) -> int:
    from ..teach.exercise import exercise
    read = _default_reader()
    try:
        ex = exercise(args.kind, seed=_seed(args), difficulty=args.difficulty,
                      show_forward=args.show_forward)
    except KeyboardInterrupt:
        print("\nquiz interrupted.")
        return 130
    return quiz(ex, read=read, solution=not args.no_solution)


# -- check ----------------------------------------------------------------------------------
def _check_args(p: argparse.ArgumentParser) -> None:
    add_expression(p)
    p.add_argument("--rtol", type=float, default=1e-5, help="accepted relative error (default 1e-5)")
    p.add_argument("--format", choices=("text", "json"), default="text", help="output format")


def _finite(v):
    return v if isinstance(v, float) and math.isfinite(v) else None


def _check_run(args) -> int:
    from ..symbolic.check import check
    point = parse_points(args.at)
    report = check(graph_of(args), point, rtol=args.rtol)
    if args.format == "json":
        print(json.dumps({"ok": report.ok, "methods": list(report.methods),
                          "rows": {r.name: {m: _finite(float(v)) for m, v in r.values.items()}
                                   for r in report.rows},
                          "failed": list(report.failed), "notes": list(report.notes)}, indent=2))
    else:
        print(report)
    return 0 if report.ok else 1


# -- mlp --------------------------------------------------------------------------------------
def _mlp_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("sizes", help="layer sizes D,H_1,...,K, e.g. 2,2,1")
    p.add_argument("--activation", default="tanh", help="hidden activation (default tanh)")
    p.add_argument("--output-activation", default="identity", help="output activation")
    p.add_argument("--loss", default="squared", help="squared (default), cross_entropy or none")
    p.add_argument("--seed", type=int, default=0, help="weight initialisation seed (default 0)")
    p.add_argument("--x", help="one sample, comma-separated (default 0.5 for every input)")
    p.add_argument("--y", help="its targets, comma-separated (default 1 for every output)")
    p.add_argument("--check", action="store_true", help="compare backprop, closed form and "
                                                        "finite differences")
    p.add_argument("--derive", action="store_true", help="print the backward pass as the "
                                                         "lecture's slides (B_1, B_2, ...)")
    p.add_argument("--draw", metavar="FILE", help="draw the network as the lecture does, at the "
                                                  "sample (.svg, .png, .pdf or .dot)")


def _numbers(text: str, what: str, n: int | None = None) -> list:
    try:
        vals = [float(t) for t in text.replace(" ", ",").split(",") if t]
    except ValueError:
        raise InputError(f"{what} must be comma-separated numbers, got {text!r}") from None
    if n is not None and len(vals) != n:
        raise InputError(f"{what} needs {n} value(s), got {len(vals)}")
    return vals


def _mlp_run(args) -> int:
    from ..show.derive import derive
    from ..nn.mlp import mlp
    sizes = _numbers(args.sizes, "SIZES")
    if not all(v.is_integer() and v >= 1 for v in sizes):
        raise InputError(f"SIZES must be comma-separated positive ints such as 2,3,1, got {args.sizes!r}")
    sizes = [int(v) for v in sizes]
    loss = None if args.loss.lower() == "none" else args.loss
    if loss is None and args.y:
        raise InputError("--y gives targets, but --loss none has no targets: drop --y or pick a loss")
    net = mlp(sizes, activation=args.activation, output_activation=args.output_activation,
              loss=loss, seed=args.seed)
    x = _numbers(args.x, "--x", sizes[0]) if args.x else [0.5] * sizes[0]
    y = None if loss is None else (_numbers(args.y, "--y", sizes[-1]) if args.y else [1.0] * sizes[-1])
    print(f"{net!r}\nsample x = {x}" + ("" if y is None else f", y = {y}"))
    status = 0
    if args.derive:
        print(derive(net.graph, {k: float(v) for k, v in net.feed(x, y).items()},
                     quantities=True).text())
    if args.draw:
        from ..show.dot import draw
        draw(net, net.feed(x, y), path=args.draw)
        print(f"drew {args.draw}")
    if args.check:
        report = net.check(x, y)
        print(report)
        status = 0 if report.ok else 1
    if not (args.derive or args.check or args.draw):
        if len(net.graph.outputs) == 1:
            grad = net.backprop(x, y)
            print(f"{net.graph.outputs[0]} = {net.mean_loss(x, y):.6g}" if loss else "")
            print("\n".join(f"  d{net.graph.outputs[0]}/d{w} = {g:.6g}" for w, g in grad.items()))
        else:
            fw = net.forward(x, y)
            print("\n".join(f"  {o} = {fw[o]:.6g}" for o in net.graph.outputs))
    return status


def _register(command: Command) -> None:
    if command.name not in COMMANDS:        # the core CLI may already provide it
        register(command)


_register(Command("exercise", "a derivation exercise (or a sheet) with answers", _exercise_args,
                  _exercise_run, (
                      "symgrad exercise --kind backward --seed 7",
                      "symgrad exercise --kind backward --difficulty 2 --show-forward",
                      "symgrad exercise --kind local --seed 3 --solution",
                      "symgrad exercise --kind backward --expr \"sqrt(x**2 + exp(x**2)) + cos(x**2 + exp(x**2))\" --at x=2",
                      "symgrad exercise --kind forward,backward,local --count 6 --seed 2 --pdf sheet.pdf",
                      "symgrad exercise --kind mlp --count 5 --seed 1 --solution --pdf sheet.pdf",
                      "symgrad exercise --kind forward --count 10 --moodle quiz.xml",
                      "symgrad exercise --kind symbolic --count 5 --moodle quiz.xml --solution",
                      "symgrad exercise --kind local --count 5 --moodle quiz.xml --formulas numeric",
                      "symgrad exercise --kind backward --count 5 --moodle quiz.xml --cloze",
                      "symgrad exercise --kind symbolic --json",
                  )))
_register(Command("quiz", "an interactive quiz in the terminal: each value graded on the spot",
                  _quiz_args, _quiz_run, (
                      "symgrad quiz",
                      "symgrad quiz --kind forward --seed 3",
                      "symgrad quiz --kind mlp --difficulty 2",
                  )))
_register(Command("check", "check a gradient: reverse mode vs symbolic vs finite differences",
                  _check_args, _check_run, (
                      'symgrad check "sqrt(x**2 + exp(x**2)) + cos(x**2 + exp(x**2))" --at x=2',
                      'symgrad check "x*y + sin(x)" --at x=1,y=2 --format json',
                  )))
_register(Command("mlp", "an MLP in the lecture's notation: gradient, check, derivation",
                  _mlp_args, _mlp_run, (
                      "symgrad mlp 2,2,1 --activation tanh --loss squared",
                      "symgrad mlp 2,3,1 --activation sigmoid --check --x 0.5,-1 --y 1",
                      "symgrad mlp 1,2,1 --derive",
                      "symgrad mlp 2,2,1 --x 1,2 --y 1 --draw net.svg",
                      "symgrad mlp 2,2,2 --loss cross_entropy --check",
                  )))
