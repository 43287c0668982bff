"""Backprop vs the lecture's closed-form gradients vs finite differences on a [2, 2, 1] net.

    python examples/mlp_check.py

The net is the lecture's: inputs x1, x2, one tanh hidden layer of two neurons,
one linear output yhat1 and the squared loss 0.5 * (yhat1 - y1)**2.  Three
independent derivations of every weight's gradient are printed side by side:
reverse mode on the graph, the B / delta recursion written out in SymPy, and
central finite differences.
"""

import symgrad as sg


def main() -> None:
    net = sg.mlp([2, 2, 1], activation="tanh", loss="squared", seed=0)
    x, y = [0.5, -1.0], [1.0]

    print("closed-form gradients (lecture B recursion, in node symbols):")
    for name, expr in net.closed_form_gradient().items():
        print(f"  dl/d{name} = {expr}")
    print()
    fw = net.forward(x, y)
    print(f"at x = {x}, y = {y}:  yhat1 = {fw['yhat1']:.6g}, loss = {fw['loss']:.6g}")
    print()
    report = net.check(x, y)
    print(report)
    if not report.ok:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
