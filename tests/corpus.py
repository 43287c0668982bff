"""One corpus of example programs that feeds every analysis test (Tangent style).

Each entry: (id, text, point).  Texts cover the lecture graph, diamonds (a node
with two consumers), reused inputs, every op, literals on either side, n-ary and
multi-output programs.
"""

LECTURE = "sqrt(x**2 + exp(x**2)) + cos(x**2 + exp(x**2))"
LECTURE_PROGRAM = "a = x**2\nb = exp(a)\nc = a + b\nf = sqrt(c) + cos(c)"

CORPUS = [
    ("lecture", LECTURE, {"x": 2.0}),
    ("lecture_program", LECTURE_PROGRAM, {"x": 2.0}),
    ("diamond", "a = sin(x)\nb = a * a\nc = exp(a)\nf = b + c", {"x": 0.7}),
    ("square_by_mul", "x * x", {"x": -1.3}),
    ("two_inputs", "x * y + sin(x / y)", {"x": 0.4, "y": 1.7}),
    ("sub_div_neg", "-(x - y) / (y**2 + 1) - 3 / x", {"x": 1.1, "y": -0.6}),
    ("variable_exponent", "(x**2 + 1)**y", {"x": 0.5, "y": 1.5}),
    ("literal_base", "2**x + x**0.5", {"x": 1.3}),
    ("activations", "sigmoid(x) + tanh(y) + relu(x - y) + softplus(y) + abs(x)",
     {"x": 0.3, "y": -0.8}),
    ("leaky_elu", "leaky_relu(x, slope=0.2) * elu(y, alpha=0.5) + leaky_relu(y)",
     {"x": -0.4, "y": -1.2}),
    ("logs_and_trig", "log(x**2 + 1) * tan(y) - cos(x) * sin(y)", {"x": 1.4, "y": 0.3}),
    ("constants", "pi * x + e**y", {"x": 0.2, "y": 0.9}),
    ("deep_sharing", "a = x*y\nb = a + x\nc = b * a\nd = sin(c) + c\nf = d * b - a",
     {"x": 0.3, "y": 0.8}),
]


def random_program(lines: int, seed: int = 0) -> str:
    """``lines`` random rows, each reading three earlier nodes: dense pictures."""
    import random
    r, names, out = random.Random(seed), ["x", "y"], []
    for i in range(lines):
        a, b, c = (r.choice(names) for _ in range(3))
        out.append(f"n{i} = {a}*{b} + sin({c})")
        names.append(f"n{i}")
    return "\n".join(out)


def doubling_program(lines: int) -> str:
    """Each line uses the previous node twice: written-out adjoints double per line."""
    return "\n".join(["v1 = sin(x)*cos(x)"] + [f"v{i} = sin(v{i - 1})*cos(v{i - 1})"
                                               for i in range(2, lines + 1)])
