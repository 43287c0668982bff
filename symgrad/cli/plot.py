"""``symgrad plot KIND -o FILE``: the lecture's plots that need no Python.

The kinds draw :mod:`symgrad.show.plot`'s figures: ``activations`` (the slide of
activation functions with their derivatives), ``curve`` (a net trained by
gradient descent, its loss per step), ``landscape`` (1-D or 2-D slices of the
trained net's loss, Li et al. 2018), ``boundary`` (a trained 2-D classifier's
decision regions), ``universal`` (one hidden layer of growing width fitting
sin) and ``parity`` (hidden units of shallow vs deep parity networks).  The
nets learn from ``--xor`` (the four XOR samples, the lecture's example) or
``--data FILE`` (CSV: the inputs then the targets per row).  An option that
the kind does not use is an error, not silently ignored.
"""

from __future__ import annotations

import argparse
import os

import numpy as np

from .common import COMMANDS, Command, file_name, register
from ..errors import InputError

__all__ = ["KINDS", "XOR_X", "XOR_Y", "OPTIONS"]

KINDS = ("activations", "landscape", "boundary", "curve", "universal", "parity")
XOR_X = [[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]]
XOR_Y = [[0.0], [1.0], [1.0], [0.0]]
_SUFFIXES = (".png", ".svg", ".pdf")
_NET = ("xor", "data", "sizes", "activation", "loss", "seed", "lr", "steps")
OPTIONS = {               # the options each kind uses (the rest are errors)
    "activations": ("names", "span"),
    "curve": _NET,
    "landscape": _NET + ("dims", "span", "grid"),
    "boundary": _NET + ("grid",),
    "universal": ("widths", "seed", "lr", "steps"),
    "parity": ("bits",),
}
# the lecture's XOR net: 2-4-1 tanh with a cross-entropy output, trained full batch
_DEFAULTS = {"sizes": [2, 4, 1], "activation": "tanh", "loss": "cross_entropy", "seed": 1,
             "lr": 0.5, "steps": 400, "dims": 1, "grid": None, "span": None}


def _ints(what: str, low: int, high: int):
    def parse(text: str) -> list:
        try:
            vals = [int(t) for t in text.replace(" ", ",").split(",") if t]
        except ValueError:
            raise argparse.ArgumentTypeError(f"{what} must be comma-separated whole numbers, "
                                             f"got {text!r}") from None
        if not vals or not all(low <= v <= high for v in vals):
            raise argparse.ArgumentTypeError(f"{what} must be whole numbers in {low}..{high}, "
                                             f"got {text!r}")
        return vals
    return parse


def _names(text: str) -> list:
    return [t.strip() for t in text.split(",") if t.strip()]


def _plot_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("kind", choices=KINDS, help="the picture: " + ", ".join(KINDS))
    p.add_argument("-o", "--output", type=file_name, metavar="FILE",
                   help="the picture's file: .png, .svg or .pdf (required)")
    data = p.add_mutually_exclusive_group()
    data.add_argument("--xor", action="store_true", default=None,
                      help="curve, landscape, boundary: train on the four XOR samples")
    data.add_argument("--data", type=file_name, metavar="FILE.csv",
                      help="curve, landscape, boundary: train on the samples of a CSV file, "
                           "one per row: the D inputs then the K targets")
    p.add_argument("--sizes", type=_ints("--sizes", 1, 10_000), metavar="D,H,...,K",
                   help="the net's layer sizes (default 2,4,1)")
    p.add_argument("--activation", help="hidden activation (default tanh)")
    p.add_argument("--loss", choices=("squared", "cross_entropy"),
                   help="the net's loss (default cross_entropy: XOR is a classification)")
    p.add_argument("--seed", type=int, help="weight initialisation seed (default 1; universal: 0)")
    p.add_argument("--lr", type=float, help="gradient descent's step size (default 0.5; universal: 0.1)")
    p.add_argument("--steps", type=int, help="gradient descent steps (default 400; universal: 3000; "
                                             "0 draws the untrained net)")
    p.add_argument("--dims", type=int, choices=(1, 2), help="landscape: a 1-D curve or a 2-D "
                                                            "contour plot (default 1)")
    p.add_argument("--span", type=float, help="landscape: distance along each direction (default 1); "
                                              "activations: the x range (default 4)")
    p.add_argument("--grid", type=int, help="landscape: points per direction (default 41); "
                                            "boundary: points per axis (default 200)")
    p.add_argument("--names", type=_names, metavar="NAME[,NAME...]",
                   help="activations: which (default identity,sigmoid,tanh,relu,leaky_relu,elu)")
    p.add_argument("--widths", type=_ints("--widths", 1, 256), metavar="N[,N...]",
                   help="universal: hidden-layer widths, one panel each (default 1,3,10)")
    p.add_argument("--bits", type=_ints("--bits", 2, 64), metavar="N[,N...]",
                   help="parity: numbers of bits (default 2,3,4,6,8,12,16)")


def _check(args) -> None:
    if args.output is None:
        raise InputError(f"plot {args.kind} draws a picture and needs a file: add -o FILE "
                         f"(.png, .svg or .pdf)")
    suffix = os.path.splitext(args.output)[1].lower()
    if suffix not in _SUFFIXES:
        raise InputError(f"-o {args.output!r}: the picture's format comes from the suffix; "
                         f"use {', '.join(_SUFFIXES)}")
    unused = [name for name in ("xor", "data", *sorted({o for opts in OPTIONS.values() for o in opts}))
              if getattr(args, name) is not None and name not in OPTIONS[args.kind]]
    if unused:
        flags = ", ".join("--" + n for n in dict.fromkeys(unused))
        raise InputError(f"plot {args.kind} does not use {flags}; its options are "
                         + (", ".join("--" + o for o in OPTIONS[args.kind]) or "none"))
    if args.steps is not None and args.steps < 0:
        raise InputError(f"--steps must be 0 or more, got {args.steps}")
    if args.lr is not None and not (0 < args.lr < float("inf")):
        raise InputError(f"--lr must be a finite number > 0 such as 0.5, got {args.lr}")


def _value(args, name: str):
    given = getattr(args, name)
    return _DEFAULTS[name] if given is None else given


def _samples(args, sizes: list) -> tuple:
    if args.xor:
        if sizes[0] != 2 or sizes[-1] != 1:
            raise InputError(f"--xor has 2 inputs and 1 target: --sizes must be 2,...,1, got "
                             f"{','.join(map(str, sizes))}")
        return np.array(XOR_X), np.array(XOR_Y)
    if args.data is None:
        raise InputError(f"plot {args.kind} trains a net and needs samples: --xor (the four XOR "
                         "samples) or --data FILE.csv")
    try:
        table = np.loadtxt(args.data, delimiter=",", ndmin=2, comments="#")
    except OSError as err:
        raise InputError(f"cannot read --data {args.data!r}: {err.strerror or err}") from None
    except ValueError as err:
        raise InputError(f"--data {args.data!r} must be CSV numbers, one sample per row: {err}") from None
    d, k = sizes[0], sizes[-1]
    if table.size == 0 or table.shape[1] != d + k:
        raise InputError(f"--data {args.data!r}: each row needs {d} inputs and {k} targets "
                         f"({d + k} columns) for --sizes {','.join(map(str, sizes))}, "
                         f"got {table.shape[1] if table.size else 0} columns")
    if not np.all(np.isfinite(table)):
        raise InputError(f"--data {args.data!r} holds non-finite values (nan or inf)")
    return table[:, :d], table[:, d:]


def _trained(args):
    """The net of ``--sizes``, trained on the samples; (net, X, Y, history)."""
    from ..nn.mlp import mlp
    sizes = _value(args, "sizes")
    if len(sizes) < 2:
        raise InputError(f"--sizes needs at least an input and an output layer, got {sizes}")
    X, Y = _samples(args, sizes)
    net = mlp(sizes, activation=_value(args, "activation"), loss=_value(args, "loss"),
              seed=_value(args, "seed"))
    history = net.train(X, Y, lr=_value(args, "lr"), steps=_value(args, "steps"), progress=False)
    return net, X, Y, history


def _figure(args):
    from ..show import plot
    kind = args.kind
    if kind == "activations":
        return plot.activations(args.names or plot.LECTURE_ACTIVATIONS,
                                **({} if args.span is None else {"span": args.span}))
    if kind == "parity":
        return plot.parity(args.bits or (2, 3, 4, 6, 8, 12, 16))
    if kind == "universal":
        given = {k: getattr(args, k) for k in ("seed", "lr", "steps") if getattr(args, k) is not None}
        return plot.universal_approximation(widths=args.widths or (1, 3, 10), **given)
    net, X, Y, history = _trained(args)
    if kind == "curve":
        return plot.loss_curve(history, title=f"training MLP {list(net.sizes)}, lr {_value(args, 'lr'):g}")
    if kind == "boundary":
        return plot.decision_boundary(net, X, Y, **({} if args.grid is None else {"resolution": args.grid}))
    shape = {k: v for k, v in (("span", args.span), ("steps", args.grid)) if v is not None}
    return plot.loss_landscape(net, X, Y, dims=_value(args, "dims"), **shape)


def _plot_run(args) -> int:
    _check(args)
    import matplotlib
    matplotlib.use("Agg")                     # a file, never a window
    import matplotlib.pyplot as plt
    fig = _figure(args)
    try:
        fig.savefig(args.output, bbox_inches="tight", dpi=150)
    finally:
        plt.close(fig)
    print(f"wrote {args.output}")
    return 0


if "plot" not in COMMANDS:                    # the core CLI may already provide it
    register(Command("plot", "the lecture's plots (activations, loss landscapes, decision "
                     "boundaries, ...) as PNG, SVG or PDF", _plot_args, _plot_run, (
                         "symgrad plot activations -o activations.png",
                         "symgrad plot activations --names tanh,relu --span 3 -o act.svg",
                         "symgrad plot boundary --xor -o xor.png",
                         "symgrad plot curve --xor --steps 1000 -o curve.pdf",
                         "symgrad plot landscape --sizes 2,4,1 --xor --dims 2 -o land.png",
                         "symgrad plot boundary --data samples.csv --sizes 2,8,1 -o moons.png",
                         "symgrad plot universal --widths 1,3,10 -o universal.png",
                         "symgrad plot parity --bits 2,4,8 -o parity.png",
                     )))
