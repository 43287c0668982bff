"""Exercise sheets: a LaTeX document, JSON for other tools, Moodle XML quizzes."""

from __future__ import annotations

import json

from ..errors import InputError
from .exercise import KINDS, Exercise, exercise
from .lms import moodle_xml

__all__ = ["exercise_sheet", "Sheet", "exercises_json", "moodle_xml", "MAX_EXERCISES"]


class Sheet(str):
    """The LaTeX source of an exercise sheet (a ``str``), with the exercises in
    :attr:`exercises` and the other formats as methods."""

    exercises: tuple
    solutions: bool

    def __new__(cls, source: str, exercises: tuple, solutions: bool = False) -> "Sheet":
        obj = super().__new__(cls, source)
        obj.exercises = exercises
        obj.solutions = solutions
        return obj

    def latex(self) -> str:
        """The LaTeX document (the sheet itself, as a plain ``str``)."""
        return str(self)

    def json(self, solutions: bool | None = None) -> str:
        """The exercises, their prompts and answers as JSON text; with
        ``solutions`` (default: as the sheet was made) each exercise also has
        ``"solution"``, the worked derivation as text."""
        return exercises_json(self.exercises, self.solutions if solutions is None else solutions)

    def moodle(self, formulas: str = "stack", layout: str = "items",
               solutions: bool | None = None) -> str:
        """A Moodle XML quiz that grades like symgrad (see :mod:`symgrad.teach.lms`).

        ``formulas``: ``"stack"`` (STACK questions, algebraic equivalence) or
        ``"numeric"`` (the formula's value at a stated point, plain Moodle);
        ``layout``: ``"items"`` (one question per value) or ``"cloze"`` (one
        question per exercise); ``solutions`` (default: as the sheet was made)
        puts the worked derivation into the general feedback."""
        return moodle_xml(self.exercises, formulas=formulas, layout=layout,
                          solution=self.solutions if solutions is None else solutions)

    def _repr_html_(self) -> str:
        """The exercises' prompts in a notebook (the LaTeX source stays ``str(sheet)``)."""
        import html
        parts = [f"<h3>Exercise {i}</h3><pre>{html.escape(ex.prompt_text())}</pre>"
                 for i, ex in enumerate(self.exercises, 1)]
        return f"<div><p>{len(self.exercises)} exercise(s); .pdf(path), .json(), .moodle()</p>" \
            + "".join(parts) + "</div>"

    def __repr__(self) -> str:
        return f"<Sheet: {len(self.exercises)} exercise(s), {len(self):,} characters of LaTeX>"

    def pdf(self, path) -> str:
        """Compile the sheet with pdflatex and write the PDF to ``path``."""
        from ..show.latex import compile_pdf
        return compile_pdf(str(self), path)


def _solution_latex(ex: Exercise) -> str:
    from .prompts import answers_latex
    d = ex.solution()
    return answers_latex(ex) + "\n\nWorked derivation:\n\\begin{align*}\n" + d.latex() + "\n\\end{align*}"


MAX_EXERCISES = 200
"""The most exercises one sheet (or ``symgrad exercise --count``) holds."""


def sheet_latex(exercises, solutions: bool, title: str) -> str:
    """The LaTeX document of ``exercises``: the instructions once per kind, each
    exercise kept on one page (a ``minipage``), then (on a new page) the
    solutions one after another."""
    from ..show.escape import latex_text
    from ..show.latex import preamble
    from .prompts import prompt_latex, task_latex
    body = [r"\section*{" + latex_text(title) + "}"]
    kinds = list(dict.fromkeys(ex.kind for ex in exercises))
    numbers = [ex.digits for ex in exercises if not any(it.formula for it in ex.items)]
    intro = [rf"\item[\textbf{{{latex_text(k)}}}] {task_latex(k)}" for k in kinds] if len(kinds) > 1 \
        else [task_latex(kinds[0])]
    if len(kinds) > 1:
        intro = ["\\begin{description}\n" + "\n".join(intro) + "\n\\end{description}"]
    if numbers:
        intro.append(f"Give each number to {max(numbers)} significant digits.")
    body.append(r"\subsection*{Instructions}" + "\n" + "\n\n".join(intro))
    for i, ex in enumerate(exercises, 1):
        kind = f" ({latex_text(ex.kind)})" if len(kinds) > 1 else ""
        body.append(r"\noindent\begin{minipage}{\linewidth}" + "\n"
                    + rf"\subsection*{{Exercise {i}{kind}}}" + "\n" + prompt_latex(ex, instructions=False)
                    + "\n" + r"\end{minipage}" + "\n" + r"\medskip")
    if solutions:
        body.append(r"\newpage" + "\n" + r"\section*{Solutions}")
        for i, ex in enumerate(exercises, 1):
            body.append(rf"\subsection*{{Solution {i}}}" + "\n" + _solution_latex(ex))
    return preamble(margin="2cm") + "\n\n".join(body) + "\n\\end{document}\n"


def exercise_sheet(n: int, seed: int = 0, kind: str = "backward", *, difficulty: int = 1,
                   solutions: bool = False, kinds=None) -> Sheet:
    """A sheet of ``n`` exercises: LaTeX source, with ``.json()`` and ``.moodle()``.

    Exercise ``i`` (from 0) is ``exercise(kind, seed=seed * 1000 + i, difficulty=...)``;
    with ``kinds`` (a list), exercise ``i`` is of kind ``kinds[i % len(kinds)]``.

    Parameters
    ----------
    n
        Number of exercises (1..200, :data:`MAX_EXERCISES`).
    seed
        The sheet's seed.
    kind, kinds
        The exercise kind (see :func:`symgrad.teach.exercise.exercise`), or a list
        of kinds the sheet mixes in turn.
    difficulty
        1, 2 or 3.
    solutions
        Append the answers and worked derivations after the exercises.

    Returns
    -------
    Sheet
        A ``str`` holding a LaTeX document that compiles with pdflatex.

    Raises
    ------
    InputError
        Bad ``n``, kind(s) or difficulty.

    Examples
    --------
    >>> import symgrad as sg
    >>> sheet = sg.exercise_sheet(2, seed=1, kind="backward")
    >>> sheet.startswith("\\\\documentclass"), len(sheet.exercises)
    (True, 2)
    >>> sheet.moodle().count("<question ") == sum(len(e.items) for e in sheet.exercises)
    True
    >>> [e.kind for e in sg.exercise_sheet(3, kinds=["forward", "backward"]).exercises]
    ['forward', 'backward', 'forward']
    """
    if not isinstance(n, int) or isinstance(n, bool) or not 1 <= n <= MAX_EXERCISES:
        raise InputError(f"n must be an int in 1..{MAX_EXERCISES}, got {n!r}")
    if kinds is None:
        kinds = [kind]
    elif isinstance(kinds, str) or not kinds:
        raise InputError(f"kinds must be a non-empty list of kinds such as ['forward', 'backward'], "
                         f"got {kinds!r}")
    for k in kinds:
        if k not in KINDS:
            raise InputError(f"unknown exercise kind {k!r}; valid are {', '.join(KINDS)}")
    if not isinstance(seed, int) or isinstance(seed, bool):
        raise InputError(f"seed must be an int, got {seed!r}")
    exercises = tuple(exercise(kinds[i % len(kinds)], seed=seed * 1000 + i, difficulty=difficulty)
                      for i in range(n))
    title = f"Exercises: {', '.join(kinds)} (difficulty {difficulty}, sheet {seed})"
    return Sheet(sheet_latex(exercises, solutions, title), exercises, solutions)


# -- JSON ------------------------------------------------------------------------------------
def exercises_json(exercises, solutions: bool = False) -> str:
    """``{"exercises": [...]}`` as JSON text; with ``solutions`` each exercise
    carries ``"solution"``, its worked derivation as text."""
    rows = []
    for ex in exercises:
        row = ex.to_dict()
        if solutions:
            row["solution"] = ex.solution().text()
        rows.append(row)
    return json.dumps({"exercises": rows}, indent=2)
