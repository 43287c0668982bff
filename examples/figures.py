"""Regenerate the README's figures from symgrad itself.

    python examples/figures.py [DIR]          (default: docs/ next to this folder)

* ``activations.png``: the lecture's slide of activation functions with their
  derivatives (:func:`symgrad.plot.activations`).
* ``loss_landscape.png``: a 2-D slice of the loss of the lecture's XOR net
  (2-4-1, tanh, cross-entropy, 400 steps of gradient descent at lr 0.5) along two
  random filter-normalised directions (:func:`symgrad.plot.loss_landscape`).

The same pictures from the shell::

    symgrad plot activations -o docs/activations.png
    symgrad plot landscape --xor --dims 2 -o docs/loss_landscape.png
"""

import pathlib
import sys

import matplotlib

matplotlib.use("Agg")

import symgrad as sg  # noqa: E402
from symgrad import plot  # noqa: E402

XOR_X = [[0, 0], [0, 1], [1, 0], [1, 1]]
XOR_Y = [[0], [1], [1], [0]]


def main(out: pathlib.Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    plot.activations(path=out / "activations.png")
    net = sg.mlp([2, 4, 1], activation="tanh", loss="cross_entropy", seed=1)
    history = net.train(XOR_X, XOR_Y, lr=0.5, steps=400, progress=False)
    fig = plot.loss_landscape(net, XOR_X, XOR_Y, dims=2, span=1.0, steps=41,
                              path=out / "loss_landscape.png")
    centre = fig.landscape[1][20, 20]
    print(f"wrote {out / 'activations.png'} and {out / 'loss_landscape.png'} "
          f"(XOR net: loss {history[0]:.3f} -> {history[-1]:.4f}; landscape centre {centre:.4f})")


if __name__ == "__main__":
    main(pathlib.Path(sys.argv[1]) if len(sys.argv) > 1
         else pathlib.Path(__file__).resolve().parent.parent / "docs")
