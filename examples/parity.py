"""Train a small MLP by plain gradient descent on 3-bit parity and print the loss curve.

    python examples/parity.py [steps]

The 8 inputs are all 3-bit vectors, the target is 1 when an odd number of bits
are set (parity; XOR is the 2-bit case).  A [3, 6, 1] tanh net whose output is
a logit, with the binary cross-entropy loss (softplus form), is trained on the
mean loss with the graph's own backprop.  The loss curve is printed as text
(and saved as parity_loss.png if matplotlib is installed).
"""

import itertools
import sys

import numpy as np

import symgrad as sg


def main(steps: int = 1500) -> None:
    X = np.array(list(itertools.product([0.0, 1.0], repeat=3)))
    Y = (X.sum(axis=1) % 2).reshape(-1, 1)
    net = sg.mlp([3, 6, 1], activation="tanh", loss="cross_entropy", seed=1)
    history = net.train(X, Y, lr=0.5, steps=steps)

    print(f"3-bit parity, MLP {list(net.sizes)}, tanh, cross-entropy, lr 0.5, {steps} steps")
    _curve(history)
    logits = np.asarray(net.forward(X, Y)["yhat1"])
    prob = 1 / (1 + np.exp(-logits))
    print("\n x1 x2 x3 | target  p(1)")
    for x, y, p in zip(X, Y[:, 0], prob):
        print(f"  {int(x[0])}  {int(x[1])}  {int(x[2])} |   {int(y)}    {p:.3f}")
    accuracy = float(np.mean((prob > 0.5) == (Y[:, 0] > 0.5)))
    print(f"accuracy {accuracy:.0%}, final mean loss {history[-1]:.4f}")
    _plot(history)


def _curve(history, rows: int = 12, width: int = 50) -> None:
    """A text plot: one line per sampled step, a bar as long as the loss."""
    top = max(history)
    for k in np.linspace(0, len(history) - 1, rows).astype(int):
        bar = "#" * max(1, round(width * history[k] / top))
        print(f"step {k:5d}  loss {history[k]:.4f}  {bar}")


def _plot(history) -> None:
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return
    plt.plot(history)
    plt.xlabel("step"), plt.ylabel("mean loss"), plt.title("3-bit parity")
    plt.savefig("parity_loss.png", dpi=100)
    print("saved parity_loss.png")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 1500)
