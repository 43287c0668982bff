"""The lecture's MLP, read off a graph: the one place that recognises it.

:func:`lecture` finds the layers of a multilayer perceptron in a graph from its
structure -- a loss node of pairs ``(yhat{i}, y{i})``, each prediction a
weighted sum (an op of the table marked ``linear``) or an activation of one,
each weighted sum's pairs ``(w{l}_0_{j}, 1), (w{l}_1_{j}, h{l-1}_1), ...`` --
and from the node names of DESIGN.md's lecture notation (``x{i}``,
``w{l}_{i}_{j}``, ``a{l}_{j}``, ``h{l}_{j}``, ``yhat{j}``, ``y{i}``).  Anything
else is not the lecture's network (None), and is derived and drawn generically.

The result, a :class:`Lecture`, knows what the slides call each node
(:meth:`Lecture.quantities`: ``B_1``, ``B_{2,i}``, ``B_{3,i}``, ...) and in which
order the slides go backwards (:meth:`Lecture.backward_order`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..core.graph import Graph, is_node
from ..core.ops import PAIRS

__all__ = ["Layer", "Lecture", "lecture"]

_NAME = re.compile(r"^(?:x(?P<x>[0-9]+)|y(?P<y>[0-9]+)|yhat(?P<yhat>[0-9]+)|"
                   r"w(?P<wl>[0-9]+)_(?P<wi>[0-9]+)_(?P<wj>[0-9]+)|"
                   r"(?P<k>[ah])(?P<l>[0-9]+)_(?P<j>[0-9]+))$")


def _parts(name: str) -> dict | None:
    m = _NAME.match(name)
    return None if m is None else {k: int(v) if v.isdigit() else v
                                   for k, v in m.groupdict().items() if v is not None}


@dataclass(frozen=True)
class Layer:
    """Layer ``index`` (1 .. L+1) of the lecture's network.

    ``sums[j-1]`` is neuron j's weighted sum ``a{l}_{j}`` (``yhat{j}`` itself in an
    identity output layer), ``outs[j-1]`` its output ``h{l}_{j}`` (``yhat{j}`` in the
    output layer), ``activation`` the op name of ``phi_l`` (``"identity"`` when the
    output is the sum), ``weights[j-1]`` the weights ``w{l}_{i}_{j}`` for
    ``i = 0 .. H_{l-1}`` (``i = 0``: the bias, against the dummy feature 1) and
    ``feeds`` the layer below's outputs ``h{l-1}_1, ...`` (the ``x``'s for layer 1)."""

    index: int
    sums: tuple
    outs: tuple
    activation: str
    weights: tuple
    feeds: tuple


@dataclass(frozen=True)
class Lecture:
    """The lecture's network found in a graph: inputs ``x``, layers 1 .. L+1,
    targets ``y`` and the loss node."""

    inputs: tuple
    layers: tuple
    targets: tuple
    loss: str
    loss_op: str

    @property
    def predictions(self) -> tuple:
        return self.layers[-1].outs

    @property
    def hidden(self) -> tuple:
        """The hidden layers 1 .. L."""
        return self.layers[:-1]

    def quantities(self) -> dict:
        """``{node: ("B", k, i)}``: ``B_1`` (``B_{1,i}`` with several outputs) on
        ``yhat{i}``; from the last hidden layer L down, ``B_{2,i}`` on ``h{L}_{i}``,
        ``B_{3,i}`` on ``a{L}_{i}``, ``B_{4,i}`` on ``h{L-1}_{i}``, ...  An output
        layer's own sums (before a non-identity output activation) get no label."""
        ys = self.predictions
        labels = {y: ("B", 1) if len(ys) == 1 else ("B", 1, j) for j, y in enumerate(ys, 1)}
        for depth, layer in enumerate(reversed(self.hidden)):
            for j, (s, h) in enumerate(zip(layer.sums, layer.outs, strict=True), 1):
                labels[h] = ("B", 2 + 2 * depth, j)
                labels[s] = ("B", 3 + 2 * depth, j)
        return labels

    def backward_order(self) -> list:
        """The nodes in the slides' backward order: the loss; the predictions
        (``B_1``); the output layer's sums if they are nodes of their own; per
        hidden layer from the top its outputs (``B_2``) then its sums (``B_3``);
        the weight gradients layer by layer from the top (neuron j, then i); the
        inputs ``x``; last the targets ``y``, which the slides do not derive."""
        top = self.layers[-1]
        order = [self.loss, *top.outs, *[s for s, o in zip(top.sums, top.outs) if s != o]]
        for layer in reversed(self.hidden):
            order += [*layer.outs, *layer.sums]
        for layer in reversed(self.layers):
            order += [w for ws in layer.weights for w in ws]
        return order + [*self.inputs, *self.targets]

    def activations(self) -> dict:
        """``{output node: activation op name}`` of every neuron."""
        return {o: layer.activation for layer in self.layers for o in layer.outs}


def lecture(graph: Graph) -> Lecture | None:
    """The lecture's network in ``graph``, or None if ``graph`` is not one.

    Examples
    --------
    >>> import symgrad as sg
    >>> net = sg.mlp([2, 3, 1], seed=0)
    >>> found = lecture(net.graph)
    >>> [layer.sums for layer in found.layers]
    [('a1_1', 'a1_2', 'a1_3'), ('yhat1',)]
    >>> found.layers[0].weights[0]
    ('w1_0_1', 'w1_1_1', 'w1_2_1')
    >>> lecture(sg.parse("x**2")) is None
    True
    """
    if len(graph.outputs) != 1:
        return None
    loss = graph.outputs[0]
    ops = {n: op for n, op, _ in graph.program}
    if loss not in ops or ops[loss].arity != PAIRS or ops[loss].linear:
        return None
    args = graph.args(loss)
    preds, targets = args[0::2], args[1::2]
    if not all(is_node(t) and graph.is_input(t) and _parts(t) == {"y": k}
               for k, t in enumerate(targets, 1)):
        return None
    if not all(is_node(p) and _parts(p) == {"yhat": k} for k, p in enumerate(preds, 1)):
        return None
    layers = []
    outs = tuple(preds)
    while True:
        layer = _layer(graph, ops, outs, top=not layers)
        if layer is None:
            return None
        layers.append(layer)
        if layer.index == 1:
            break
        outs = layer.feeds
    layers.reverse()
    if [layer.index for layer in layers] != list(range(1, len(layers) + 1)):
        return None
    xs = layers[0].feeds
    if not all(graph.is_input(x) and _parts(x) == {"x": i} for i, x in enumerate(xs, 1)):
        return None
    return Lecture(tuple(xs), tuple(layers), tuple(targets), loss, ops[loss].name)


def _neuron(graph: Graph, ops: dict, out: str, top: bool):
    """``(sum node, activation name)`` of the neuron whose output is ``out``, or None."""
    op = ops.get(out)
    if op is None:
        return None
    if op.linear and top:
        return out, "identity"
    args = graph.args(out)
    if op.linear or not args or not is_node(args[0]) or any(is_node(a) for a in args[1:]):
        return None
    s = args[0]
    return (s, op.name) if s in ops and ops[s].linear else None


def _layer(graph: Graph, ops: dict, outs: tuple, top: bool) -> Layer | None:
    """The layer whose neurons' outputs are ``outs`` (checked against the names)."""
    sums, acts, weights, feeds, index = [], set(), [], None, None
    for j, out in enumerate(outs, 1):
        found = _neuron(graph, ops, out, top)
        if found is None:
            return None
        s, act = found
        args = graph.args(s)
        ws, hs = args[0::2], args[1::2]
        if not hs or hs[0] != 1 or any(not is_node(h) for h in hs[1:]):
            return None
        parts = [_parts(w) if is_node(w) and graph.is_input(w) else None for w in ws]
        if any(p is None or "wl" not in p for p in parts):
            return None
        index = parts[0]["wl"] if index is None else index
        if [(p["wl"], p["wi"], p["wj"]) for p in parts] != [(index, i, j) for i in range(len(ws))]:
            return None
        if not _named(out, s, index, j, top):
            return None
        if feeds is None:
            feeds = tuple(hs[1:])
        if tuple(hs[1:]) != feeds:
            return None
        sums.append(s)
        acts.add(act)
        weights.append(tuple(ws))
    if len(acts) != 1 or not feeds:
        return None
    below = {"x": None} if index == 1 else {"k": "h", "l": index - 1}
    for i, h in enumerate(feeds, 1):
        p = _parts(h)
        want = {"x": i} if index == 1 else {**below, "j": i}
        if p != want:
            return None
    return Layer(index, tuple(sums), tuple(outs), acts.pop(), tuple(weights), feeds)


def _named(out: str, s: str, l: int, j: int, top: bool) -> bool:
    """True if neuron j of layer l is named as the lecture writes it."""
    want_out = {"yhat": j} if top else {"k": "h", "l": l, "j": j}
    if _parts(out) != want_out:
        return False
    return s == out or _parts(s) == {"k": "a", "l": l, "j": j}
