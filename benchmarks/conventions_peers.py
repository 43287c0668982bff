"""Measure PyTorch and JAX at every point of symgrad's conventions table.

    pip install -e ".[bench]"
    python benchmarks/conventions_peers.py > docs/conventions_peers.md

Prints a Markdown table: symgrad's value and derivative (first argument) next to
PyTorch's and JAX's (float64, CPU) at the same points, marking differences.
"""

from __future__ import annotations

import math
import warnings

import numpy as np

import symgrad as sg
from symgrad.core.conventions import CONVENTIONS
from symgrad.core.ops import OPS

warnings.filterwarnings("ignore")


def _peers():
    import jax
    import jax.numpy as jnp
    import torch
    jax.config.update("jax_enable_x64", True)
    F = torch.nn.functional
    t = {"add": lambda a, b: a + b, "sub": lambda a, b: a - b, "mul": lambda a, b: a * b,
         "div": lambda a, b: a / b, "neg": lambda a: -a, "pow": lambda a, k: a**k,
         "exp": torch.exp, "log": torch.log, "sqrt": torch.sqrt, "sin": torch.sin,
         "cos": torch.cos, "tan": torch.tan, "tanh": torch.tanh, "sigmoid": torch.sigmoid,
         "relu": torch.relu, "leaky_relu": lambda a, s: F.leaky_relu(a, s),
         "elu": lambda a, al: F.elu(a, al), "softplus": F.softplus, "abs": torch.abs,
         "sum": lambda *xs: sum(xs), "identity": lambda a: a * 1,
         "logsumexp": lambda *xs: torch.logsumexp(torch.stack(xs), 0)}
    j = {"add": lambda a, b: a + b, "sub": lambda a, b: a - b, "mul": lambda a, b: a * b,
         "div": lambda a, b: a / b, "neg": lambda a: -a, "pow": lambda a, k: a**k,
         "exp": jnp.exp, "log": jnp.log, "sqrt": jnp.sqrt, "sin": jnp.sin, "cos": jnp.cos,
         "tan": jnp.tan, "tanh": jnp.tanh, "sigmoid": jax.nn.sigmoid, "relu": jax.nn.relu,
         "leaky_relu": lambda a, s: jax.nn.leaky_relu(a, s), "elu": lambda a, al: jax.nn.elu(a, al),
         "softplus": jax.nn.softplus, "abs": jnp.abs, "sum": lambda *xs: sum(xs),
         "identity": lambda a: a, "logsumexp": lambda *xs: jax.nn.logsumexp(jnp.stack(xs))}

    def torch_at(name, args, nparams):
        xs = [torch.tensor(a, dtype=torch.float64, requires_grad=(i == 0))
              for i, a in enumerate(args[: len(args) - nparams])]
        y = t[name](*xs, *args[len(args) - nparams:])
        y.backward()
        return float(y.detach()), float(xs[0].grad)

    def jax_at(name, args, nparams):
        rest = [jnp.float64(a) for a in args[1: len(args) - nparams]]
        f = lambda x0: j[name](x0, *rest, *args[len(args) - nparams:])
        x0 = jnp.float64(args[0])
        return float(f(x0)), float(jax.grad(f)(x0))

    return torch_at, jax_at, torch.__version__, jax.__version__


def _fmt(v):
    return "nan" if math.isnan(v) else f"{v:.6g}"


def main() -> None:
    torch_at, jax_at, tv, jv = _peers()
    print(f"| point | symgrad value, derivative | PyTorch {tv} | JAX {jv} |")
    print("|---|---|---|---|")
    for name, conv in CONVENTIONS.items():
        op = OPS[name]
        for args, _, _ in conv.points:
            n = len(args) - len(op.params)
            names = [f"u{i}" for i in range(n)]
            g = sg.Graph({"f": (name, tuple(names) + tuple(args[n:]))}, inputs=names)
            at = dict(zip(names, args))
            with np.errstate(all="ignore"):
                mine = (g.forward(at)["f"], g.backward(at)["u0"])
            cells = []
            for peer in (torch_at, jax_at):
                try:
                    val = peer(name, args, len(op.params))
                    same = all((math.isnan(a) and math.isnan(b)) or a == b or
                               abs(a - b) <= 1e-12 * max(abs(a), abs(b)) for a, b in zip(val, mine))
                    cells.append(f"{_fmt(val[0])}, {_fmt(val[1])}" + ("" if same else " **differs**"))
                except Exception as exc:  # a peer without this op or point
                    cells.append(f"n/a ({type(exc).__name__})")
            call = f"{name}({', '.join(_fmt(a) for a in args)})"
            print(f"| `{call}` | {_fmt(mine[0])}, {_fmt(mine[1])} | {cells[0]} | {cells[1]} |")


if __name__ == "__main__":
    main()
