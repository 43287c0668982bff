"""Exercise sheets: a LaTeX document, JSON for other tools, Moodle XML quizzes."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

from .errors import InputError
from .exercise import KINDS, Exercise, exercise
from .printer import format_number

__all__ = ["exercise_sheet", "Sheet"]


class Sheet(str):
    """The LaTeX source of an exercise sheet (a ``str``), with the exercises in
    :attr:`exercises` and the other formats as methods."""

    exercises: tuple

    def __new__(cls, source: str, exercises: tuple) -> "Sheet":
        obj = super().__new__(cls, source)
        obj.exercises = exercises
        return obj

    def latex(self) -> str:
        """The LaTeX document (the sheet itself, as a plain ``str``)."""
        return str(self)

    def json(self) -> str:
        """The exercises, their prompts and answers as JSON text."""
        return json.dumps({"exercises": [ex.to_dict() for ex in self.exercises]}, indent=2)

    def moodle(self) -> str:
        """A Moodle XML quiz: one question per asked value (numerical questions
        for numbers, short-answer questions for formulas); common mistakes are
        wrong answers with their feedback."""
        return moodle_xml(self.exercises)

    def pdf(self, path) -> str:
        """Compile the sheet with pdflatex and write the PDF to ``path``."""
        from .latex import compile_pdf
        return compile_pdf(str(self), path)


def _solution_latex(ex: Exercise) -> str:
    from .prompts import answers_latex
    d = ex.solution()
    return answers_latex(ex) + "\n\nWorked derivation:\n\\begin{align*}\n" + d.latex() + "\n\\end{align*}"


def sheet_latex(exercises, solutions: bool, title: str) -> str:
    """The LaTeX document of ``exercises``; solutions start on a new page."""
    from .escape import latex_text
    from .latex import preamble
    body = [r"\section*{" + latex_text(title) + "}"]
    for i, ex in enumerate(exercises, 1):
        body.append(rf"\subsection*{{Exercise {i}}}" + "\n" + ex.prompt_latex())
    if solutions:
        body.append(r"\newpage" + "\n" + r"\section*{Solutions}")
        for i, ex in enumerate(exercises, 1):
            body.append((r"\newpage" + "\n" if i > 1 else "")
                        + rf"\subsection*{{Solution {i}}}" + "\n" + _solution_latex(ex))
    return preamble(margin="2cm") + "\n\n".join(body) + "\n\\end{document}\n"


def exercise_sheet(n: int, seed: int = 0, kind: str = "backward", *, difficulty: int = 1,
                   solutions: bool = False) -> Sheet:
    """A sheet of ``n`` exercises: LaTeX source, with ``.json()`` and ``.moodle()``.

    Exercise ``i`` (from 0) is ``exercise(kind, seed=seed * 1000 + i, difficulty=...)``.

    Parameters
    ----------
    n
        Number of exercises (1..200).
    seed
        The sheet's seed.
    kind
        The exercise kind (see :func:`symgrad.exercise.exercise`).
    difficulty
        1, 2 or 3.
    solutions
        Append the answers and worked derivations, each on its own page.

    Returns
    -------
    Sheet
        A ``str`` holding a LaTeX document that compiles with pdflatex.

    Raises
    ------
    InputError
        Bad ``n``, kind or difficulty.

    Examples
    --------
    >>> import symgrad as sg
    >>> sheet = sg.exercise_sheet(2, seed=1, kind="backward")
    >>> sheet.startswith("\\\\documentclass"), len(sheet.exercises)
    (True, 2)
    >>> sheet.moodle().count("<question ") == sum(len(e.items) for e in sheet.exercises)
    True
    """
    if not isinstance(n, int) or isinstance(n, bool) or not 1 <= n <= 200:
        raise InputError(f"n must be an int in 1..200, got {n!r}")
    if kind not in KINDS:
        raise InputError(f"unknown exercise kind {kind!r}; valid are {', '.join(KINDS)}")
    if not isinstance(seed, int) or isinstance(seed, bool):
        raise InputError(f"seed must be an int, got {seed!r}")
    exercises = tuple(exercise(kind, seed=seed * 1000 + i, difficulty=difficulty) for i in range(n))
    title = f"Exercises: {kind} (difficulty {difficulty}, sheet {seed})"
    return Sheet(sheet_latex(exercises, solutions, title), exercises)


# -- Moodle XML ----------------------------------------------------------------------------
def _sub(parent, tag: str, text: str | None = None, **attrib) -> ET.Element:
    el = ET.SubElement(parent, tag, attrib)
    if text is not None:
        ET.SubElement(el, "text").text = text
    return el


def _html_prompt(ex: Exercise, item) -> str:
    from html import escape
    return (f"<pre>{escape(ex.prompt_text().split('Asked:')[0].rstrip())}</pre>"
            f"<p>{escape(item.text)} = ?</p>")


def _numerical(quiz, ex: Exercise, number: int, item) -> None:
    from .grading import _candidates, _context, _tolerance
    q = ET.SubElement(quiz, "question", type="numerical")
    _sub(q, "name", f"Exercise {number}: {item.text}")
    _sub(q, "questiontext", _html_prompt(ex, item), format="html")
    ET.SubElement(q, "defaultgrade").text = "1"
    exp = float(item.answer)
    answers = [(100, exp, "Correct.")]
    for _, msg, v in _candidates(ex, item, _context(ex)[0]):
        if all(abs(v - a) > _tolerance(a, ex.digits) * 2 for _, a, _ in answers):
            answers.append((0, v, msg))
    for fraction, v, msg in answers:
        a = ET.SubElement(q, "answer", fraction=str(fraction))
        ET.SubElement(a, "text").text = format_number(v, ex.digits + 2)
        ET.SubElement(a, "tolerance").text = format_number(_tolerance(v, ex.digits), 3)
        _sub(a, "feedback", msg)


def _shortanswer(quiz, ex: Exercise, number: int, item) -> None:
    from .prompts import formula_text
    q = ET.SubElement(quiz, "question", type="shortanswer")
    _sub(q, "name", f"Exercise {number}: {item.text}")
    _sub(q, "questiontext", _html_prompt(ex, item), format="html")
    ET.SubElement(q, "defaultgrade").text = "1"
    ET.SubElement(q, "usecase").text = "0"
    forms = dict.fromkeys([formula_text(item.answer), formula_text(item.answer).replace(" ", "")])
    for form in forms:
        a = ET.SubElement(q, "answer", fraction="100")
        ET.SubElement(a, "text").text = form
        _sub(a, "feedback", "Correct.")


def moodle_xml(exercises) -> str:
    """Moodle XML for ``exercises``: one question per item."""
    quiz = ET.Element("quiz")
    for number, ex in enumerate(exercises, 1):
        for item in ex.items:
            (_shortanswer if item.formula else _numerical)(quiz, ex, number, item)
    ET.indent(quiz)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(quiz, encoding="unicode") + "\n"
