"""Hypothesis profiles: deterministic and bounded in CI, bigger locally."""

import os

from hypothesis import HealthCheck, settings

settings.register_profile(
    "ci", derandomize=True, deadline=None, max_examples=100, print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.register_profile(
    "dev", deadline=None, max_examples=300,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.load_profile("ci" if os.environ.get("CI") else os.environ.get("HYPOTHESIS_PROFILE", "dev"))


# --- no eval/exec on user text -------------------------------------------------
# While anything in symgrad/front/parse.py is on the call stack (every parse in the whole
# suite: sg.parse, answer grading, the CLI run in-process), eval, exec, sympify and
# parse_expr called from symgrad's own code are tripwires.  Library internals run
# by a lazy import (dataclasses' exec) and generated code outside parsing (the
# lowered executor, sympy.lambdify) are not user text and are not affected.

import builtins
import sys

import pytest
import sympy
import sympy.parsing.sympy_parser as _sympy_parser

PARSER_FILE = "symgrad/front/parse.py"
TRIPPED: list[str] = []


PACKAGE_DIR = "/symgrad/"


def _parsing() -> bool:
    caller = sys._getframe(2).f_code.co_filename.replace("\\", "/")
    if PACKAGE_DIR not in caller or "/tests/" in caller:
        return False
    frame = sys._getframe(2)
    while frame is not None:
        if frame.f_code.co_filename.replace("\\", "/").endswith(PARSER_FILE):
            return True
        frame = frame.f_back
    return False


def _tripwire(name, original):
    def guarded(*args, **kwargs):
        if _parsing():
            TRIPPED.append(name)
            raise AssertionError(f"{name} called while parsing user text")
        if name in ("eval", "exec") and len(args) == 1 and not kwargs:
            caller = sys._getframe(1)            # eval/exec without globals use the caller's
            return original(args[0], caller.f_globals, caller.f_locals)
        return original(*args, **kwargs)
    guarded.__wrapped__ = original
    return guarded


@pytest.fixture(autouse=True)
def no_eval_while_parsing(monkeypatch):
    """Every test runs with the tripwires set; a trip fails the test."""
    monkeypatch.setattr(builtins, "eval", _tripwire("eval", builtins.eval))
    monkeypatch.setattr(builtins, "exec", _tripwire("exec", builtins.exec))
    monkeypatch.setattr(sympy, "sympify", _tripwire("sympify", sympy.sympify))
    monkeypatch.setattr(_sympy_parser, "parse_expr", _tripwire("parse_expr", _sympy_parser.parse_expr))
    before = len(TRIPPED)
    yield
    assert len(TRIPPED) == before, f"parsing reached {TRIPPED[before:]}"
