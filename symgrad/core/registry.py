"""The one lazy registry: how the core reaches the layers above it.

The Graph's convenience methods (``g.forward``, ``g.to_sympy``, ...) are
one-line delegations to analyses that sit in higher layers and import the core.
They are reached here, by module name, on first use: the core never imports
upward, so there are no import cycles, and importing the graph does not load
the analyses (nor SymPy).  This table is the only place the core names a module
above it.

>>> analysis("reverse").__name__
'symgrad.numeric.reverse'
"""

from __future__ import annotations

import importlib
from types import ModuleType

__all__ = ["ANALYSES", "analysis"]

ANALYSES = {
    "forward": "symgrad.numeric.forward",
    "reverse": "symgrad.numeric.reverse",
    "builder": "symgrad.front.builder",
    "sympy_io": "symgrad.front.sympy_io",
    "symbolic": "symgrad.symbolic.gradient",
    "gradient_graph": "symgrad.core.gradient_graph",
    "tangents": "symgrad.numeric.tangents",
    "hessian": "symgrad.symbolic.hessian",
    "export": "symgrad.numeric.export",
    "source": "symgrad.numeric.source",
    "replay": "symgrad.numeric.replay",
    "json_io": "symgrad.front.json_io",
    "dot": "symgrad.show.dot",
}

_LOADED: dict[str, ModuleType] = {}


def analysis(name: str) -> ModuleType:
    """The module registered as ``name``, imported on first use, then found in a
    dict (forward/backward/grad are hot paths: an import statement per call
    costs about 1 us)."""
    mod = _LOADED.get(name)
    if mod is None:
        mod = _LOADED[name] = importlib.import_module(ANALYSES[name])
    return mod
