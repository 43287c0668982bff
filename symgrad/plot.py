"""The lecture's plots: ``symgrad.plot.activations()``, ``loss_curve(history)``,
``loss_landscape(net, X, Y)``, ``decision_boundary(net, X, Y)``,
``universal_approximation()``, ``parity()``.  Needs matplotlib
(``pip install "symgrad[plot]"``); see :mod:`symgrad.show.plot`."""

from .show.plot import (LECTURE_ACTIVATIONS, activations, decision_boundary, loss_curve,  # noqa: F401
                        loss_landscape, parity, parity_net, parity_sizes,
                        random_direction, universal_approximation)

__all__ = ["activations", "loss_curve", "loss_landscape", "decision_boundary",
           "universal_approximation", "parity", "parity_net", "parity_sizes", "random_direction",
           "LECTURE_ACTIVATIONS"]
