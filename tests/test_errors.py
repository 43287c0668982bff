"""Error quality: every public entry point, called with bad input, raises a symgrad
error (or TypeError for plain Python type misuse of the builder) whose message
names the thing and the fix; the CLI prints one short line and exits 2.

Each case is ``(id, thunk, ErrorClass, message fragment)``.  Besides the class
and the fragment, every case checks that the error did not come from deep
inside numpy, SymPy, networkx or lark unwrapped (a KeyError, IndexError,
AttributeError, OverflowError, numpy's ufunc TypeError, ...).
"""

import os
import subprocess
import sys
import time

import networkx as nx
import numpy as np
import pytest
import sympy as sp

import symgrad as sg
from symgrad import strategies
from symgrad.errors import DomainError, GraphError, InputError, ParseError, SymgradError

LIMIT_S = 10.0
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

G = sg.parse("x*y + sin(x)")
X = sg.variable("x")
NET = sg.mlp([2, 2, 1])
EX = sg.exercise(seed=0)
EXS = sg.exercise("symbolic", seed=0)
D = sg.derive(G, x=1.0, y=2.0)
SH = sg.exercise_sheet(2)
NAN, INF = float("nan"), float("inf")


def fresh_net():
    return sg.mlp([2, 2, 1])


PARSE = [
    ("parse_none", lambda: sg.parse(None), ParseError, "reads a str, got NoneType"),
    ("parse_int", lambda: sg.parse(3), ParseError, "reads a str, got int"),
    ("parse_list", lambda: sg.parse(["x"]), ParseError, "reads a str, got list"),
    ("parse_bytes", lambda: sg.parse(b"x+1"), ParseError, "reads a str, got bytes"),
    ("parse_empty", lambda: sg.parse(""), ParseError, "empty text"),
    ("parse_blank", lambda: sg.parse("   "), ParseError, "empty text"),
    ("parse_unknown_function", lambda: sg.parse("foo(x)"), ParseError, "unknown function 'foo'"),
    ("parse_arity", lambda: sg.parse("sin(x, y)"), ParseError, "sin"),
    ("parse_arity_zero", lambda: sg.parse("sin()"), ParseError, "sin"),
    ("parse_sum_zero", lambda: sg.parse("sum()"), ParseError, "sum"),
    ("parse_unknown_output", lambda: sg.parse("x+1", outputs=["zz"]), ParseError, "zz"),
    ("parse_max_length_str", lambda: sg.parse("x", max_length="a"), ParseError, "max_length="),
    ("parse_max_length_neg", lambda: sg.parse("x", max_length=-1), ParseError, "max_length="),
    ("parse_max_depth_float", lambda: sg.parse("x", max_depth=1.5), ParseError, "max_depth="),
    ("parse_max_exponent_nan", lambda: sg.parse("x**2", max_exponent=NAN), ParseError,
     "max_exponent="),
    ("parse_max_exponent_none", lambda: sg.parse("x**2", max_exponent=None), ParseError,
     "max_exponent="),
    ("parse_huge_exponent", lambda: sg.parse("x**1e400"), ParseError, "too large"),
    ("parse_deep_parens", lambda: sg.parse("(" * 5000 + "x" + ")" * 5000), ParseError,
     "nested deeper"),
    ("parse_deep_minus", lambda: sg.parse("-" * 5000 + "x"), ParseError, "deeper"),
    ("parse_nul", lambda: sg.parse("x\x00"), ParseError, "unexpected character"),
    ("parse_dunder", lambda: sg.parse("__import__('os')"), ParseError, "unexpected character"),
    ("parse_attribute", lambda: sg.parse("x.real"), ParseError, "unexpected character '.'"),
    ("parse_reassign", lambda: sg.parse("a = x\na = x+1"), ParseError, "assigned twice"),
    ("parse_cycle", lambda: sg.parse("a = b\nb = a"), ParseError, ""),
    ("parse_constant", lambda: sg.parse("2*3"), ParseError, "constant"),
    ("parse_complex_literal", lambda: sg.parse("x*1j"), ParseError, ""),
]

BUILDER = [
    ("variable_none", lambda: sg.variable(None), GraphError, "variable name"),
    ("variable_int", lambda: sg.variable(3), GraphError, "variable name"),
    ("variable_empty", lambda: sg.variable(""), GraphError, "variable name"),
    ("add_str", lambda: X + "y", TypeError, "cannot use str 'y' in a symgrad expression (add)"),
    ("add_none", lambda: X + None, TypeError, "cannot use NoneType"),
    ("add_list", lambda: X + [1], TypeError, "cannot use list"),
    ("add_complex", lambda: X + 1j, TypeError, "cannot use complex"),
    ("add_array", lambda: X + np.array([1.0, 2.0]), TypeError, "cannot use ndarray"),
    ("truth_value", lambda: bool(X), TypeError, "no truth value"),
    ("exp_none", lambda: sg.exp(None), TypeError, "(exp)"),
    ("exp_str", lambda: sg.exp("x"), TypeError, "cannot use str 'x'"),
    ("exp_two_args", lambda: sg.exp(X, X), GraphError, "exp"),
    ("exp_no_args", lambda: sg.exp(), GraphError, "exp"),
    ("exp_unknown_keyword", lambda: sg.exp(X, foo=1), TypeError, "no parameter 'foo'"),
    ("leaky_alpha_str", lambda: sg.leaky_relu(X, "a"), TypeError, "(leaky_relu)"),
    ("elu_alpha_none", lambda: sg.elu(X, None), TypeError, "(elu)"),
    ("sum_empty", lambda: sg.sum(), GraphError, "sum"),
    ("sum_of_list", lambda: sg.sum([X, X]), TypeError, "cannot use list"),
    ("logsumexp_empty", lambda: sg.logsumexp(), GraphError, "logsumexp"),
    ("huge_int_literal", lambda: sg.Graph(X + 10**400), GraphError, "too large for a float64"),
    ("Expr_unknown_op", lambda: sg.Expr("foo", (X,)), GraphError, "unknown op 'foo'"),
    ("Expr_args_not_tuple", lambda: sg.Expr("sin", X), TypeError, "needs a tuple of 1"),
    ("Expr_str_arg", lambda: sg.Expr("sin", ("x",)), TypeError, "Exprs or numbers"),
    ("Expr_arity", lambda: sg.Expr("sin", (X, X)), TypeError, "needs a tuple of 1"),
    ("Expr_input_without_name", lambda: sg.Expr(None), TypeError, "str name"),
    ("Expr_input_with_args", lambda: sg.Expr(None, (X,), "q"), TypeError, "no args"),
    ("Graph_none", lambda: sg.Graph(None), GraphError, "Graph() takes"),
    ("Graph_number", lambda: sg.Graph(1.5), GraphError, "got float"),
    ("Graph_str", lambda: sg.Graph("x+1"), GraphError, "Graph() takes"),
    ("Graph_networkx", lambda: sg.Graph(nx.DiGraph([("a", "b")])), GraphError, "got DiGraph"),
    ("Graph_sympy", lambda: sg.Graph(sp.Symbol("x") + 1), GraphError, "got Add"),
    ("Graph_rows_unknown_op", lambda: sg.Graph({"a": ("foo", ["x"])}), GraphError, "foo"),
    ("Graph_rows_bad_row", lambda: sg.Graph({"a": "sin(x)"}), GraphError, "a row is (op, args)"),
    ("Graph_rows_nonstr_name", lambda: sg.Graph({1: ("sin", ["x"])}), GraphError,
     "node names are non-empty str"),
    ("Graph_rows_cycle", lambda: sg.Graph({"a": ("sin", ["b"]), "b": ("cos", ["a"])}),
     GraphError, "cycle"),
    ("Graph_unknown_output", lambda: sg.Graph(X + 1, outputs=["q"]), GraphError, "outputs="),
    ("Graph_rows_inputs_int", lambda: sg.Graph({"a": ("sin", ["x"])}, inputs=3), GraphError,
     "inputs= takes a list of node names"),
    ("Graph_rows_outputs_ints", lambda: sg.Graph({"a": ("sin", ["x"])}, outputs=[1]), GraphError,
     "outputs= takes a list of node names"),
    ("Graph_rows_unknown_output", lambda: sg.Graph({"a": ("sin", ["x"])}, outputs=["zz"]),
     GraphError, "output 'zz' is not a node"),
    ("Graph_rows_undeclared_input", lambda: sg.Graph({"a": ("sin", ["x"])}, inputs=["q"]),
     GraphError, "unknown node 'x'"),
    ("Graph_rows_arg_none", lambda: sg.Graph({"a": ("add", ["x", None])}), GraphError,
     "neither a node name (str) nor a number"),
    ("Graph_rows_arity", lambda: sg.Graph({"a": ("sin", ["x", "x"])}), GraphError,
     "takes 1 argument(s)"),
    ("Graph_rows_huge_literal", lambda: sg.Graph({"a": ("add", ["x", 10**400])}), GraphError,
     "too large for a float64"),
]

SYMPY = [
    ("from_sympy_none", lambda: sg.from_sympy(None), GraphError, "takes SymPy expressions"),
    ("from_sympy_str", lambda: sg.from_sympy("x+1"), GraphError, "takes SymPy expressions"),
    ("from_sympy_list", lambda: sg.from_sympy([sp.Symbol("x")]), GraphError, "got list"),
    ("from_sympy_gamma", lambda: sg.from_sympy(sp.gamma(sp.Symbol("x"))), GraphError,
     "cannot convert SymPy gamma"),
    ("from_sympy_undefined_function", lambda: sg.from_sympy(sp.Function("f")(sp.Symbol("x"))),
     GraphError, "cannot convert SymPy"),
    ("from_sympy_imaginary", lambda: sg.from_sympy(sp.I * sp.Symbol("x")), GraphError, "I"),
    ("from_sympy_zoo", lambda: sg.from_sympy(sp.zoo * sp.Symbol("x")), GraphError, "not finite"),
    ("from_sympy_oo", lambda: sg.from_sympy(sp.oo * sp.Symbol("x")), GraphError, "not finite"),
    ("from_sympy_nan", lambda: sg.from_sympy(sp.nan * sp.Symbol("x")), GraphError, "not finite"),
    ("from_sympy_constant", lambda: sg.from_sympy(sp.Integer(3)), GraphError, "constant"),
    ("from_sympy_true", lambda: sg.from_sympy(sp.true), GraphError, "takes SymPy expressions"),
    ("from_sympy_huge_int", lambda: sg.from_sympy(sp.Symbol("x") + sp.Integer(10**400)),
     GraphError, "too large for a float64"),
]

EVALUATION = [
    ("forward_missing", lambda: G.forward(x=1), InputError, "missing input(s) 'y'"),
    ("forward_unknown", lambda: G.forward(x=1, y=2, z=3), InputError, "unknown input(s) 'z'"),
    ("forward_none", lambda: G.forward(x=None, y=1), InputError, "input 'x'"),
    ("forward_str", lambda: G.forward(x="a", y=1), InputError, "input 'x'"),
    ("forward_numeric_str", lambda: G.forward(x="1", y=1), InputError, "input 'x'"),
    ("forward_bool", lambda: G.forward(x=True, y=1), InputError, "input 'x'"),
    ("forward_complex", lambda: G.forward(x=1j, y=1), InputError, "input 'x'"),
    ("forward_dict", lambda: G.forward(x={}, y=1), InputError, "input 'x'"),
    ("forward_ragged", lambda: G.forward(x=[[1, 2], [3]], y=1), InputError, "input 'x'"),
    ("forward_object_array", lambda: G.forward(x=np.array([None, 1]), y=1), InputError,
     "input 'x' must hold real numbers"),
    ("forward_str_array", lambda: G.forward(x=np.array(["a"]), y=1), InputError, "input 'x'"),
    ("forward_complex_array", lambda: G.forward(x=np.array([1j]), y=1), InputError, "input 'x'"),
    ("forward_datetime_array", lambda: G.forward(x=np.array(["2020-01-01"], dtype="datetime64"),
                                                 y=1), InputError, "input 'x'"),
    ("forward_huge_int", lambda: G.forward(x=10**400, y=1), InputError, "too large for a float64"),
    ("forward_shapes", lambda: G.forward(x=np.ones(3), y=np.ones(2)), InputError,
     "do not broadcast"),
    ("forward_values_list", lambda: G.forward([1, 2]), InputError, "mapping"),
    ("forward_values_str", lambda: G.forward("x"), InputError, "mapping"),
    ("forward_given_twice", lambda: G.forward({"x": 1, "y": 2}, x=3), InputError, "twice"),
    ("forward_nonstr_key", lambda: G.forward({1: 1, "x": 1, "y": 2}), InputError, "unknown input"),
    ("forward_strict_log0", lambda: sg.parse("log(x)").forward(x=0, strict=True), DomainError,
     "node 'a' (log)"),
    ("forward_strict_array", lambda: sg.parse("log(x)").forward(x=np.array([1.0, 0.0]),
                                                                strict=True),
     DomainError, "sample 1"),
    ("backward_strict_sqrt0", lambda: sg.parse("sqrt(x)").backward(x=0.0, strict=True),
     DomainError, "sqrt"),
    ("backward_unknown_output", lambda: G.backward(x=1, y=2, output="zz"), GraphError,
     "unknown node 'zz'"),
    ("backward_output_int", lambda: G.backward(x=1, y=2, output=3), GraphError, "unknown node 3"),
    ("grad_output_list", lambda: G.grad(x=1, y=2, output=["c"]), GraphError, "unknown node ['c']"),
    ("grad_missing", lambda: G.grad(x=1), InputError, "missing input"),
    ("grad_several_outputs", lambda: sg.parse("a = x\nb = x*2", outputs=["a", "b"]).grad(x=1),
     GraphError, "pass output="),
    ("result_unknown_node", lambda: G.forward(x=1, y=2)["zz"], KeyError, "no node 'zz'"),
    ("adjoint_unknown_node", lambda: G.backward(x=1, y=2)["zz"], KeyError, "no node 'zz'"),
    ("args_unknown", lambda: G.args("zz"), GraphError, "unknown node 'zz'"),
    ("args_none", lambda: G.args(None), GraphError, "unknown node None"),
    ("op_list", lambda: G.op(["x"]), GraphError, "unknown node ['x']"),
    ("is_input_unknown", lambda: G.is_input("zz"), GraphError, "unknown node"),
    ("default_output_unknown", lambda: G.default_output("zz"), GraphError, "unknown node"),
    ("to_sympy_unknown", lambda: G.to_sympy("zz"), GraphError, "unknown node 'zz'"),
    ("to_sympy_list", lambda: G.to_sympy(["x"]), GraphError, "unknown node"),
    ("symbolic_gradient_wrt_node", lambda: G.symbolic_gradient(wrt="a"), GraphError,
     "not an input"),
    ("symbolic_gradient_wrt_list", lambda: G.symbolic_gradient(wrt=["zz"]), GraphError, "'zz'"),
    ("symbolic_gradient_wrt_int", lambda: G.symbolic_gradient(wrt=3), GraphError, "wrt="),
    ("symbolic_gradient_output", lambda: G.symbolic_gradient(output="zz"), GraphError, "zz"),
    ("symbolic_adjoints_output", lambda: G.symbolic_adjoints(output="zz"), GraphError, "zz"),
]

TOOLS = [
    ("derive_none", lambda: sg.derive(None, x=1), TypeError, "derive() needs a symgrad Graph"),
    ("derive_str", lambda: sg.derive("x*y", x=1, y=2), TypeError, "sg.parse("),
    ("derive_missing", lambda: sg.derive(G, x=1), InputError, "missing input"),
    ("derive_values_list", lambda: sg.derive(G, [1, 2]), InputError, "mapping"),
    ("derive_digits_str", lambda: sg.derive(G, x=1, y=2, digits="a"), InputError, "digits"),
    ("derive_digits_zero", lambda: sg.derive(G, x=1, y=2, digits=0), InputError, "digits"),
    ("derive_digits_huge", lambda: sg.derive(G, x=1, y=2, digits=10**20), InputError, "digits"),
    ("derive_outputs_unknown", lambda: sg.derive(G, x=1, y=2, outputs=["zz"]), GraphError, "zz"),
    ("derive_outputs_int", lambda: sg.derive(G, x=1, y=2, outputs=3), InputError, "outputs="),
    ("derive_nodes_unknown", lambda: sg.derive(G, x=1, y=2, nodes=["zz"]), GraphError, "zz"),
    ("derive_nodes_int", lambda: sg.derive(G, x=1, y=2, nodes=3), InputError, "nodes="),
    ("derive_vector", lambda: sg.derive(G, x=np.ones(3), y=2), InputError, ""),
    ("derive_complex", lambda: sg.derive(G, x=1j, y=2), InputError, "input 'x'"),
    ("text_unknown_setting", lambda: D.text(foo=1), InputError, "unknown TextPrinter setting"),
    ("text_indent_int", lambda: D.text(indent=3), InputError, "indent= must be a str"),
    ("text_headings_str", lambda: D.text(headings="no"), InputError, "headings="),
    ("text_digits_zero", lambda: D.text(digits=0), InputError, "digits="),
    ("latex_unknown_setting", lambda: D.latex(foo=1), InputError, "setting"),
    ("latex_per_line_zero", lambda: D.latex(per_line=0), InputError, "per_line="),
    ("markdown_unknown_setting", lambda: D.markdown(foo=1), InputError, "setting"),
    ("document_unknown_setting", lambda: D.document(foo=1), InputError, "setting"),
    ("draw_none", lambda: sg.draw(None), TypeError, "draw() needs a symgrad Graph"),
    ("draw_format", lambda: sg.draw(G, format="bmpx"), InputError, "unknown picture format"),
    ("draw_format_none", lambda: sg.draw(G, format=None), InputError, "picture format"),
    ("draw_max_nodes_zero", lambda: sg.draw(G, max_nodes=0), InputError, "max_nodes"),
    ("draw_max_nodes_str", lambda: sg.draw(G, max_nodes="a"), InputError, "max_nodes"),
    ("draw_unknown_input", lambda: sg.draw(G, z=1), InputError, "unknown input"),
    ("draw_missing_input", lambda: sg.draw(G, x=1), InputError, "missing input"),
    ("draw_vector", lambda: sg.draw(G, x=np.ones(3), y=1), InputError, "scalar inputs"),
    ("check_none", lambda: sg.check(None, x=1), TypeError, "check() needs a symgrad Graph"),
    ("check_missing", lambda: sg.check(G, x=1), InputError, "missing input"),
    ("check_output", lambda: sg.check(G, x=1, y=2, output="zz"), GraphError, "zz"),
    ("check_rtol_str", lambda: sg.check(G, x=1, y=2, rtol="a"), InputError, "rtol"),
    ("check_rtol_negative", lambda: sg.check(G, x=1, y=2, rtol=-1), InputError, "rtol"),
    ("check_rtol_nan", lambda: sg.check(G, x=1, y=2, rtol=NAN), InputError, "rtol"),
    ("check_rtol_inf", lambda: sg.check(G, x=1, y=2, rtol=INF), InputError, "rtol"),
    ("check_str_input", lambda: sg.check(G, x="a", y=2), InputError, "input 'x'"),
    ("check_report_unknown_row", lambda: sg.check(G, x=1, y=2)["zz"], KeyError, "no row 'zz'"),
]

MLP = [
    ("mlp_none", lambda: sg.mlp(None), GraphError, "sizes"),
    ("mlp_empty", lambda: sg.mlp([]), GraphError, "sizes"),
    ("mlp_one", lambda: sg.mlp([2]), GraphError, "sizes"),
    ("mlp_zero", lambda: sg.mlp([2, 0, 1]), GraphError, "positive ints"),
    ("mlp_negative", lambda: sg.mlp([2, -1, 1]), GraphError, "positive ints"),
    ("mlp_float", lambda: sg.mlp([2, 1.5, 1]), GraphError, "positive ints"),
    ("mlp_str", lambda: sg.mlp("21"), GraphError, "sizes"),
    ("mlp_bool", lambda: sg.mlp([True, 1]), GraphError, "sizes"),
    ("mlp_huge", lambda: sg.mlp([10**6, 10**6]), GraphError, "more than the limit"),
    ("mlp_activation", lambda: sg.mlp([2, 1], activation="foo"), GraphError,
     "unknown activation 'foo'"),
    ("mlp_activation_none", lambda: sg.mlp([2, 1], activation=None), GraphError, "activation"),
    ("mlp_activation_dict", lambda: sg.mlp([2, 2, 1], activation={"a": 1}), GraphError,
     "activation"),
    ("mlp_activation_count", lambda: sg.mlp([2, 2, 1], activation=["tanh"] * 3), GraphError,
     "hidden layer"),
    ("mlp_output_activation", lambda: sg.mlp([2, 1], output_activation="foo"), GraphError,
     "unknown activation 'foo'"),
    ("mlp_loss", lambda: sg.mlp([2, 1], loss="foo"), GraphError, "unknown loss 'foo'"),
    ("mlp_loss_int", lambda: sg.mlp([2, 1], loss=3), GraphError, "unknown loss 3"),
    ("mlp_ce_sigmoid", lambda: sg.mlp([2, 1], loss="cross_entropy", output_activation="sigmoid"),
     GraphError, "logits"),
    ("mlp_seed_str", lambda: sg.mlp([2, 1], seed="a"), InputError, "seed"),
    ("mlp_seed_negative", lambda: sg.mlp([2, 1], seed=-1), InputError, "seed"),
    ("mlp_seed_float", lambda: sg.mlp([2, 1], seed=1.5), InputError, "seed"),
    ("mlp_weights_unknown", lambda: sg.mlp([2, 1], weights={"zz": 1.0}), InputError, "'zz'"),
    ("mlp_weights_missing", lambda: sg.mlp([2, 1], weights={"w1_0_1": 1.0}), InputError,
     "missing w1_1_1"),
    ("mlp_weights_list", lambda: sg.mlp([2, 1], weights=[1, 2]), InputError, "mapping"),
    ("net_forward_none", lambda: NET.forward(None, [1]), InputError, "x must have 2 value(s)"),
    ("net_forward_width", lambda: NET.forward([1, 2, 3], [1]), InputError, "x must have 2"),
    ("net_forward_str", lambda: NET.forward("ab", [1]), InputError, "x must be real numbers"),
    ("net_forward_dict", lambda: NET.forward({"a": 1}, [1]), InputError, "x must be real"),
    ("net_forward_complex", lambda: NET.forward([1j, 1], [1]), InputError, "x must be real"),
    ("net_forward_ragged", lambda: NET.forward([[1, 2], [3]], [[1], [1]]), InputError,
     "x must be real"),
    ("net_forward_3d", lambda: NET.forward(np.ones((2, 2, 2)), np.ones((2, 2, 1))), InputError,
     "x must have 2"),
    ("net_forward_y_width", lambda: NET.forward([1, 2], [1, 2]), InputError, "y must have 1"),
    ("net_forward_y_missing", lambda: NET.forward([1, 2]), InputError, "needs targets"),
    ("net_forward_y_without_loss", lambda: sg.mlp([2, 1], loss=None).forward([1, 2], [1]),
     InputError, "no loss"),
    ("net_samples_mismatch", lambda: NET.mean_loss([[1, 2], [1, 2]], [[1]]), InputError,
     "sample(s)"),
    ("net_backprop_width", lambda: NET.backprop([1], [1]), InputError, "x must have 2"),
    ("net_backprop_no_scalar", lambda: sg.mlp([2, 2], loss=None).backprop([1, 2]), GraphError,
     "no scalar"),
    ("net_check_rtol", lambda: NET.check([1, 2], [1], rtol="a"), InputError, "rtol"),
    ("net_check_width", lambda: NET.check([1], [1]), InputError, "x must have 2"),
    ("net_closed_form_values", lambda: NET.closed_form_values(None, None), InputError, "x must"),
    ("net_feed_weights_unknown", lambda: NET.feed([1, 2], [1], weights={"zz": 1}), InputError,
     "'zz'"),
    ("net_feed_weights_str", lambda: NET.feed([1, 2], [1],
                                              weights={n: "a" for n in NET.weight_names}),
     InputError, "must be a real number"),
    ("net_train_lr_str", lambda: fresh_net().train([[1, 2]], [[1]], lr="a", progress=False),
     InputError, "lr"),
    ("net_train_lr_nan", lambda: fresh_net().train([[1, 2]], [[1]], lr=NAN, progress=False),
     InputError, "lr"),
    ("net_train_lr_zero", lambda: fresh_net().train([[1, 2]], [[1]], lr=0, progress=False),
     InputError, "lr"),
    ("net_train_steps_negative", lambda: fresh_net().train([[1, 2]], [[1]], steps=-1,
                                                           progress=False),
     InputError, "steps"),
    ("net_train_steps_float", lambda: fresh_net().train([[1, 2]], [[1]], steps=1.5,
                                                        progress=False),
     InputError, "steps"),
    ("net_train_width", lambda: fresh_net().train([[1, 2, 3]], [[1]], steps=1, progress=False),
     InputError, "x must have 2"),
    ("net_train_none", lambda: fresh_net().train(None, None, steps=1, progress=False),
     InputError, "x must"),
]

TEACHING = [
    ("exercise_kind", lambda: sg.exercise("foo"), InputError, "unknown exercise kind 'foo'"),
    ("exercise_kind_none", lambda: sg.exercise(None), InputError, "unknown exercise kind"),
    ("exercise_seed_str", lambda: sg.exercise(seed="a"), InputError, "seed"),
    ("exercise_seed_float", lambda: sg.exercise(seed=1.5), InputError, "seed"),
    ("exercise_seed_none", lambda: sg.exercise(seed=None), InputError, "seed"),
    ("exercise_difficulty_zero", lambda: sg.exercise(difficulty=0), InputError, "difficulty"),
    ("exercise_difficulty_str", lambda: sg.exercise(difficulty="a"), InputError, "difficulty"),
    ("exercise_difficulty_bool", lambda: sg.exercise(difficulty=True), InputError, "difficulty"),
    ("exercise_difficulty_float", lambda: sg.exercise(difficulty=1.0), InputError, "difficulty"),
    ("exercise_show_forward_str", lambda: sg.exercise(show_forward="no"), InputError,
     "show_forward"),
    ("exercise_digits_zero", lambda: sg.exercise(digits=0), InputError, "digits"),
    ("exercise_digits_huge", lambda: sg.exercise(digits=10**6), InputError, "digits"),
    ("grade_none", lambda: EX.grade(None), InputError, "mapping"),
    ("grade_list", lambda: EX.grade([1, 2]), InputError, "mapping"),
    ("grade_str", lambda: EX.grade("x"), InputError, "mapping"),
    ("sheet_n_zero", lambda: sg.exercise_sheet(0), InputError, "n must be an int in 1..200"),
    ("sheet_n_negative", lambda: sg.exercise_sheet(-1), InputError, "n must"),
    ("sheet_n_str", lambda: sg.exercise_sheet("a"), InputError, "n must"),
    ("sheet_n_none", lambda: sg.exercise_sheet(None), InputError, "n must"),
    ("sheet_n_float", lambda: sg.exercise_sheet(1.5), InputError, "n must"),
    ("sheet_n_huge", lambda: sg.exercise_sheet(10**9), InputError, "n must"),
    ("sheet_kind", lambda: sg.exercise_sheet(2, kind="foo"), InputError, "kind 'foo'"),
    ("sheet_difficulty", lambda: sg.exercise_sheet(2, difficulty=0), InputError, "difficulty"),
    ("sheet_seed_str", lambda: sg.exercise_sheet(2, seed="a"), InputError, "seed must be an int"),
]

STRATEGIES = [
    ("expressions_no_variables", lambda: strategies.expressions(variables=[]), "variables"),
    ("expressions_bad_variable", lambda: strategies.expressions(variables=["1x"]), "'1x'"),
    ("expressions_variables_str", lambda: strategies.expressions(variables="xy"), "variables"),
    ("expressions_unknown_op", lambda: strategies.expressions(ops=["foo"]), "'foo'"),
    ("expressions_no_ops", lambda: strategies.expressions(ops=[]), "ops"),
    ("expressions_depth", lambda: strategies.expressions(max_depth=-1), "max_depth"),
    ("expressions_depth_str", lambda: strategies.expressions(max_depth="a"), "max_depth"),
    ("graphs_unknown_op", lambda: strategies.graphs(ops=["foo"]), "'foo'"),
    ("points_none", lambda: strategies.points(None), "needs a symgrad Graph"),
    ("points_interval", lambda: strategies.points(G, low=2, high=-2), "low < high"),
    ("points_nan", lambda: strategies.points(G, low=NAN), "low < high"),
    ("mlps_width", lambda: strategies.mlps(max_width=0), "max_width"),
    ("mlps_outputs", lambda: strategies.mlps(max_outputs=0), "max_outputs"),
    ("mlps_activations", lambda: strategies.mlps(activations=["foo"]), "'foo'"),
    ("mlps_losses", lambda: strategies.mlps(losses=["foo"]), "'foo'"),
    ("samples_none", lambda: strategies.samples(None), "needs a symgrad Net"),
    ("samples_interval", lambda: strategies.samples(NET, low=2, high=-2), "low < high"),
    ("smooth_at_none", lambda: strategies.smooth_at(None, {}), "needs a symgrad Graph"),
]

CASES = PARSE + BUILDER + SYMPY + EVALUATION + TOOLS + MLP + TEACHING

# Exceptions that must never escape from inside symgrad on bad input.
# (numpy's ufunc TypeError is caught by the check that a TypeError comes from symgrad's code.)
RAW = (KeyError, IndexError, AttributeError, OverflowError, ZeroDivisionError, RecursionError,
       MemoryError)


@pytest.mark.parametrize("case_id, thunk, cls, fragment", CASES, ids=[c[0] for c in CASES])
def test_bad_input_raises_a_clear_error(case_id, thunk, cls, fragment):
    t0 = time.perf_counter()
    with pytest.raises(cls) as info:
        thunk()
    assert time.perf_counter() - t0 < LIMIT_S
    err = info.value
    message = err.args[0] if isinstance(err, KeyError) else str(err)
    assert fragment in message, message
    if cls is not KeyError:
        assert not isinstance(err, RAW), repr(err)
    if cls in (TypeError, ValueError):       # builder type misuse: still raised by symgrad itself
        assert "/symgrad/" in info.traceback[-1].path.as_posix().replace("\\", "/")
    assert issubclass(cls, (SymgradError, TypeError, KeyError))


@pytest.mark.parametrize("case_id, thunk, fragment", STRATEGIES, ids=[c[0] for c in STRATEGIES])
def test_strategy_factories_reject_bad_arguments(case_id, thunk, fragment):
    from hypothesis.errors import InvalidArgument
    with pytest.raises(InvalidArgument, match=None) as info:
        strategy = thunk()
        strategy.example()                   # some strategies validate lazily
    assert fragment in str(info.value), str(info.value)


def test_grading_never_raises_on_garbage_answers():
    """A wrong, unreadable or absurd answer is a wrong item with feedback, never an exception."""
    for ex in (EX, EXS, sg.exercise("local", seed=0), sg.exercise("mlp", seed=0)):
        key = next(iter(ex.answers))
        for junk in ("abc", None, NAN, INF, [1], 1j, {}, np.ones(2), True, 10**400, b"1",
                     "1e999", "(" * 3000, "foo(x)", "__import__(1)", "x**99999999"):
            verdict = ex.grade({key: junk}).items[key]
            assert verdict.correct is False and verdict.feedback, (ex.kind, junk)


def test_printed_files_with_bad_paths_raise_oserror_naming_the_path(tmp_path):
    missing = tmp_path / "no" / "such" / "dir" / "x.svg"
    with pytest.raises(OSError, match="x.svg"):
        sg.draw(G, path=str(missing))


# -- the CLI: one short line on stderr, status 2, never a traceback ------------------
def run(*argv):
    env = {**os.environ, "PYTHONPATH": ROOT + os.pathsep + os.environ.get("PYTHONPATH", "")}
    p = subprocess.run([sys.executable, "-m", "symgrad", *argv], capture_output=True, text=True,
                       env=env, timeout=60, stdin=subprocess.DEVNULL)
    return p.returncode, p.stdout, p.stderr


CLI = [
    ([], "choose a command"),
    (["frobnicate"], "invalid choice"),
    (["derive"], "required"),
    (["derive", ""], "empty text"),
    (["derive", "x+"], "unexpected"),
    (["derive", "foo(x)", "--at", "x=1"], "unknown function 'foo'"),
    (["derive", "x*y", "--at", "x=1"], "missing input(s) 'y'"),
    (["derive", "x*y", "--at", "x=1,y=2,z=3"], "unknown input(s) 'z'"),
    (["derive", "x*y", "--at", "x=a,y=2"], "--at x: 'a' is not a number"),
    (["derive", "x*y", "--at", "x=1j,y=2"], "not a number"),
    (["derive", "x*y", "--at", "x=1,x=2,y=1"], "twice"),
    (["derive", "x*y", "--at", "=1"], "name=value"),
    (["derive", "x", "--at", "x=1", "--digits", "0"], "digits"),
    (["derive", "x", "--at", "x=1", "--digits", "99999999999999999999"], "digits"),
    (["derive", "x", "--at", "x=1", "--format", "foo"], "invalid choice"),
    (["derive", "x**1e400", "--at", "x=1"], "too large"),
    (["derive", "(" * 3000 + "x" + ")" * 3000, "--at", "x=1"], "nested deeper"),
    (["draw", "x*y", "--format", "foo"], "invalid choice"),
    (["draw", "x*y", "-o", "graph.jpeg"], "picture format"),
    (["draw", "x*y", "--at", "x=q,y=1"], "not a number"),
    (["exercise", "--kind", "foo"], "invalid choice"),
    (["exercise", "--seed", "a"], "invalid int value"),
    (["exercise", "--difficulty", "0"], "invalid choice"),
    (["exercise", "--count", "0"], "--count must be in 1..200"),
    (["exercise", "--count", "100000000"], "--count must be in 1..200"),
    (["quiz", "--kind", "foo"], "invalid choice"),
    (["check", "x*y", "--at", "x=1"], "missing input"),
    (["check", "x*y", "--at", "x=1,y=2", "--rtol", "a"], "invalid float value"),
    (["check", "x*y", "--at", "x=1,y=2", "--rtol", "-1"], "rtol"),
    (["check", "x*y", "--at", "x=1,y=2", "--rtol", "nan"], "rtol"),
    (["mlp"], "required"),
    (["mlp", "a"], "SIZES"),
    (["mlp", "2.5,1"], "SIZES must be comma-separated positive ints"),
    (["mlp", "2,0,1"], "positive ints"),
    (["mlp", "1000000,1000000"], "more than the limit"),
    (["mlp", "2,1", "--seed", "-1"], "seed"),
    (["mlp", "2,1", "--activation", "foo"], "unknown activation 'foo'"),
    (["mlp", "2,1", "--loss", "foo"], "unknown loss 'foo'"),
    (["mlp", "2,1", "--x", "1,2,3"], "--x needs 2 value(s)"),
    (["mlp", "2,1", "--x", "a,b"], "--x must be comma-separated numbers"),
    (["mlp", "2,1", "--y", "1,2"], "--y needs 1 value(s)"),
    (["mlp", "2,1", "--loss", "none", "--y", "1"], "--y"),
]


@pytest.mark.parametrize("argv, fragment", CLI, ids=[" ".join(a)[:40] or "none" for a, _ in CLI])
def test_cli_bad_input_is_one_line_and_status_2(argv, fragment):
    status, out, err = run(*argv)
    assert status == 2, (status, err)
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert lines[0].startswith("symgrad: error: ") and fragment in lines[0], err
    assert len(lines) == 1 or (len(lines) == 3 and lines[2].strip() == "^")  # caret for ParseError


@pytest.mark.parametrize("command", ["derive", "exercise", "draw"])
def test_cli_unwritable_output_is_one_line(command, tmp_path):
    target = str(tmp_path / "missing" / "out.pdf")
    argv = {"derive": ["derive", "x", "--at", "x=1", "--pdf", target],
            "exercise": ["exercise", "--moodle", target[:-3] + "xml"],
            "draw": ["draw", "x", "-o", target[:-3] + "svg"]}[command]
    status, _, err = run(*argv)
    assert status == 2 and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1 and "No such file or directory" in err
