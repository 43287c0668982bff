"""The one tolerance rule for numeric answers.

Every place that grades a number uses this module: ``ex.grade``, the quiz, the
sheets, the practice pages and the LMS export (which writes the same absolute
tolerance into the question).

The rule: an answer is correct when it agrees with the exact value to
``digits`` significant digits, that is, when it lies within half a unit in the
``digits``-th significant digit of the exact value::

    |answer - exact| <= 0.5 * 10**(floor(log10(|exact|)) - digits + 1)

For an exact value of 0 the unit is ``10**-digits`` (so the tolerance is
``0.5 * 10**-digits``).  The bound is inclusive, with a relative slack of
``1e-9`` so that an exact value rounded either way at a tie (2.2295 to 2.229 or
2.230) is accepted.  Shorter answers are judged by the same rule: at 4 digits,
2.23 passes for 2.2298 (off by 0.0002) and fails for 2.2285 (off by 0.0015).

>>> tolerance(2.2295, 4)
0.0005000000005
>>> accepts(2.2295, 2.23, 4), accepts(2.2295, 2.228, 4)
(True, False)
>>> accepts(-182.86981, -182.9, 4), accepts(-182.86981, -183, 4)
(True, False)
"""

from __future__ import annotations

import math

SLACK = 1e-9


def unit(exact: float, digits: int) -> float:
    """One unit in the ``digits``-th significant digit of ``exact``."""
    if exact == 0 or not math.isfinite(exact):
        return 10.0 ** (-digits)
    return 10.0 ** (math.floor(math.log10(abs(exact))) - digits + 1)


def tolerance(exact: float, digits: int) -> float:
    """The absolute tolerance for ``exact`` asked to ``digits`` significant digits."""
    return 0.5 * unit(exact, digits) * (1 + SLACK)


def accepts(exact: float, answer: float, digits: int) -> bool:
    """True when ``answer`` agrees with ``exact`` to ``digits`` significant digits."""
    if not (math.isfinite(exact) and math.isfinite(answer)):
        return False
    return abs(answer - exact) <= tolerance(exact, digits)
