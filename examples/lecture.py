"""The lecture's worked example: every forward value and every adjoint.

    f(x) = sqrt(x**2 + exp(x**2)) + cos(x**2 + exp(x**2))   at x = 2

Run:  python examples/lecture.py
"""

import symgrad as sg

TEXT = "sqrt(x**2 + exp(x**2)) + cos(x**2 + exp(x**2))"


def main() -> None:
    g = sg.parse(TEXT)
    fw, bw = g.forward(x=2.0), g.backward(x=2.0)
    print(f"f(x) = {TEXT}   at x = 2\n")
    print(f"{'node':<5} {'op':<6} {'args':<10} {'forward':>12} {'adjoint df/dnode':>18}")
    for n in g.nodes:
        op = g.op(n) or "input"
        args = ", ".join(map(str, g.args(n)))
        print(f"{n:<5} {op:<6} {args:<10} {fw[n]:>12.6g} {bw[n]:>18.6g}")
    shared = [n for n, c in g.consumers.items() if len(c) > 1]
    print(f"\nshared nodes (adjoint summed over consumers): {', '.join(shared)}")
    print(f"gradient: df/dx = {g.grad(x=2.0)['x']:.6g}")


if __name__ == "__main__":
    main()
