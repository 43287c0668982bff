"""Coverage-guided fuzzing of the text front end with atheris (libFuzzer).

Not part of the normal suite.  Run (documented in tests/fuzz/README.md):

    pip install atheris
    python tests/fuzz/fuzz_parse.py -max_total_time=600 -dict=tests/fuzz/symgrad.dict \
        /tmp/symgrad-fuzz-corpus tests/fuzz/seeds

The only acceptable outcomes for any text: a Graph (which then evaluates at a
point without raising anything but symgrad's own errors) or a ParseError whose
offset lies inside the text.  Anything else (RecursionError, IndexError, a hang
caught by libFuzzer's -timeout, ...) is a finding.
"""

import sys

import atheris

with atheris.instrument_imports():
    import numpy as np

    import symgrad as sg
    from symgrad.errors import ParseError, SymgradError


def check_one(text: str) -> None:
    try:
        g = sg.parse(text)
    except ParseError as err:
        if not 0 <= err.offset <= len(text):
            raise AssertionError(f"offset {err.offset} outside text of length {len(text)}") from err
        str(err)                                   # the caret rendering must not fail
        return
    at = {name: 0.5 for name in g.inputs}
    with np.errstate(all="ignore"):
        try:
            g.forward(at)
            g.backward(at)
        except SymgradError:
            pass


def TestOneInput(data: bytes) -> None:
    fdp = atheris.FuzzedDataProvider(data)
    check_one(fdp.ConsumeUnicodeNoSurrogates(2048))


if __name__ == "__main__":
    atheris.Setup(sys.argv, TestOneInput)
    atheris.Fuzz()
