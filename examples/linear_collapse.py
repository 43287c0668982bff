"""A network of linear units is one linear unit (the lecture's point).

    python examples/linear_collapse.py

Build a [3, 2, 2, 1] MLP with identity activations everywhere, take its output
yhat1 as a SymPy expression in the inputs and the weights, and expand it: it is
``w~_0 + sum_j w~_j x_j``, where each effective weight ``w~_j`` is a polynomial
in the weights (a sum over all paths from x_j to the output).  Then check
numerically that the collapsed unit and the deep net agree.
"""

import numpy as np
import sympy as sp

import symgrad as sg


def main() -> None:
    sizes = [3, 2, 2, 1]
    net = sg.mlp(sizes, activation="identity", output_activation="identity", loss=None, seed=0)
    yhat = net.graph.to_sympy("yhat1")
    xs = [s for s in sorted(yhat.free_symbols, key=str) if s.name.startswith("x")]
    poly = sp.Poly(sp.expand(yhat), *xs)
    assert poly.total_degree() == 1, "a linear net must be linear in x"

    effective = {0: poly.coeff_monomial(1)}
    effective.update({j: poly.coeff_monomial(x) for j, x in enumerate(xs, 1)})
    print(f"MLP {sizes} with identity activations: yhat1 = w~_0 + " +
          " + ".join(f"w~_{j} x{j}" for j in range(1, len(xs) + 1)))
    print()
    for j, expr in effective.items():
        terms = len(sp.Add.make_args(expr))
        print(f"w~_{j} = " + "\n       + ".join(map(str, sp.Add.make_args(expr))))
        print(f"       ({terms} path product(s); value {float(expr.subs(_weights(net))):.6g})")
    print()

    rng = np.random.default_rng(1)
    x = rng.normal(size=(5, sizes[0]))
    deep = net.forward(x)["yhat1"]
    w = {j: float(e.subs(_weights(net))) for j, e in effective.items()}
    flat = w[0] + sum(w[j] * x[:, j - 1] for j in range(1, sizes[0] + 1))
    print("deep net  :", np.array2string(np.asarray(deep), precision=6))
    print("one unit  :", np.array2string(flat, precision=6))
    assert np.allclose(deep, flat)
    print("equal: a network of linear units is one linear unit.")


def _weights(net):
    """``{symbol: value}`` for the weights, matching the graph's SymPy symbols by name."""
    syms = net.graph.to_sympy("yhat1").free_symbols
    return {s: net.weights[s.name] for s in syms if s.name in net.weights}


if __name__ == "__main__":
    main()
