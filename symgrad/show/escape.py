r"""How a node name (or any user text) is written in each output language.

One rule per language, each in one function, used by every printer at the one
place where it turns a name into text, so that no front end can bypass it:

- :func:`visible` -- plain text (and the base of every other rule): characters
  that would be invisible or rearrange the line (control and format characters
  such as U+202E RIGHT-TO-LEFT OVERRIDE, line separators, unassigned and
  private-use code points, lone surrogates, a combining mark with nothing to
  combine with) are written as Python-style escapes: ``\x07``, ``\u202e``.
- :func:`latex_text` -- LaTeX text mode, pure ASCII output: TeX specials are
  escaped (``\input{x}`` prints literally, never runs), Latin letters with
  diacritics become T1 accent commands (``größe`` -> ``gr\"{o}\ss{}e``), Greek
  letters become math letters (``\ensuremath{\alpha}``), letters of scripts
  pdflatex's T1 fonts lack are transliterated by their Unicode letter name in
  sans serif (Cyrillic ``х`` -> ``\textsf{ha}``), anything else is a typewriter
  code point (``\texttt{\textbackslash{}u4e2d}``).
- :func:`latex_math_text` -- a name inside math mode: ``\text{...}`` of the above.
- :func:`dot_string` -- a quoted DOT string (``"..."``) that Graphviz shows
  literally: never an HTML-like ``<...>`` label, backslashes doubled, so
  ``\N``-style escapes and a trailing backslash cannot change the source.
- :func:`html` -- HTML/SVG/XML text and attribute values.
- :func:`markdown_inline` -- Markdown outside code: every ASCII punctuation
  character backslash-escaped (no emphasis, links or raw HTML);
  :func:`markdown_fence` -- a code fence longer than any backtick run inside.
- :func:`json_text` -- JSON (``json.dumps``, ASCII only, no nan).

:func:`confusables` finds distinct names that print the same (Cyrillic ``х``
and Latin ``x``, a name and the same name with an invisible character).
"""

from __future__ import annotations

import html as _html
import json
import re
import unicodedata
import warnings

__all__ = ["visible", "latex_text", "latex_math_text", "dot_string", "dot_label", "html",
           "markdown_inline", "markdown_fence", "json_text", "confusables", "warn_confusables",
           "ConfusableNamesWarning"]

_HIDDEN = {"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"}
_MARKS = {"Mn", "Mc", "Me"}


def _code(ch: str) -> str:
    """``\\x07``, ``\\u202e`` or ``\\U0001f600``: the code point as Python writes it."""
    o = ord(ch)
    return f"\\x{o:02x}" if o < 0x100 else f"\\u{o:04x}" if o < 0x10000 else f"\\U{o:08x}"


def visible(s: str, keep_lines: bool = False) -> str:
    r"""``s`` with every invisible or line-breaking character written as its
    Python escape, so a printed name shows exactly what it is (and text stays
    valid XML 1.0); ``keep_lines`` keeps newlines and tabs of multi-line text.

    >>> visible("x\u202ey"), visible("a\nb"), visible("größe")
    ('x\\u202ey', 'a\\x0ab', 'größe')
    """
    out = []
    for ch in str(s):
        cat = unicodedata.category(ch)
        hidden = cat in _HIDDEN or (cat == "Zs" and ch != " ") or (cat in _MARKS and not out)
        out.append(_code(ch) if hidden and not (keep_lines and ch in "\n\t") else ch)
    return "".join(out)


# -- LaTeX ----------------------------------------------------------------------------
_TEX_ASCII = {
    "\\": r"\textbackslash{}", "{": r"\{", "}": r"\}", "$": r"\$", "&": r"\&", "#": r"\#",
    "%": r"\%", "_": r"\_", "^": r"\textasciicircum{}", "~": r"\textasciitilde{}",
    "<": r"\textless{}", ">": r"\textgreater{}", "|": r"\textbar{}", '"': r"\textquotedbl{}",
    "'": r"\textquotesingle{}", "`": r"\textasciigrave{}", "-": "{-}", "[": "{[}", "]": "{]}",
    "*": "{*}", "!": "{!}", "?": "{?}", " ": r"\ ", ",": "{,}",
}
# Combining marks that are T1 text accents (applied to the preceding letter).
_ACCENTS = {
    0x300: r"\`", 0x301: r"\'", 0x302: r"\^", 0x303: r"\~", 0x304: r"\=", 0x306: r"\u",
    0x307: r"\.", 0x308: r'\"', 0x30A: r"\r", 0x30B: r"\H", 0x30C: r"\v", 0x323: r"\d",
    0x327: r"\c", 0x328: r"\k", 0x331: r"\b",
}
_BELOW = {0x323, 0x327, 0x328, 0x331}
# Latin letters without a decomposition that T1 has.
_LATIN = {"ß": r"\ss{}", "æ": r"\ae{}", "Æ": r"\AE{}", "ø": r"\o{}", "Ø": r"\O{}", "ł": r"\l{}",
          "Ł": r"\L{}", "œ": r"\oe{}", "Œ": r"\OE{}", "đ": r"\dj{}", "Đ": r"\DJ{}", "ð": r"\dh{}",
          "Ð": r"\DH{}", "þ": r"\th{}", "Þ": r"\TH{}", "ı": r"\i{}", "ȷ": r"\j{}", "ŋ": r"\ng{}",
          "Ŋ": r"\NG{}"}
_GREEK_SMALL = {"alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta", "iota",
                "kappa", "lambda", "mu", "nu", "xi", "pi", "rho", "sigma", "tau", "upsilon",
                "phi", "chi", "psi", "omega"}
_GREEK_CAPITAL = {"Gamma", "Delta", "Theta", "Lambda", "Xi", "Pi", "Sigma", "Upsilon", "Phi",
                  "Psi", "Omega"}
_GREEK_LATIN = {"Alpha": "A", "Beta": "B", "Epsilon": "E", "Zeta": "Z", "Eta": "H", "Iota": "I",
                "Kappa": "K", "Mu": "M", "Nu": "N", "Omicron": "O", "Rho": "P", "Tau": "T",
                "Chi": "X", "omicron": "o"}
_GREEK_VARIANT = {"FINAL SIGMA": "varsigma", "THETA SYMBOL": "vartheta", "PHI SYMBOL": "phi",
                  "LUNATE EPSILON SYMBOL": "epsilon", "RHO SYMBOL": "varrho", "PI SYMBOL": "varpi",
                  "KAPPA SYMBOL": "varkappa"}
_LETTER_NAME = re.compile(r"^(?:[A-Z-]+ )+?(?:(SMALL|CAPITAL) )?LETTER ([A-Z]+(?: [A-Z]+)?)$")


def greek_word(ch: str) -> str | None:
    """The LaTeX name of a Greek letter (``α`` -> ``alpha``, ``Δ`` -> ``Delta``,
    ``Α`` -> ``Alpha``), or None."""
    name = unicodedata.name(ch, "")
    if name.startswith("GREEK SMALL LETTER ") or name.startswith("GREEK CAPITAL LETTER "):
        word = name.split(" LETTER ", 1)[1]
        if " " in word:
            return None
        return word.lower() if "SMALL" in name else word.capitalize()
    if name.startswith("GREEK ") and name[6:] in _GREEK_VARIANT:
        return _GREEK_VARIANT[name[6:]]
    return None


def greek_latex(word: str) -> str:
    """``\\alpha`` for a Greek letter's word; capitals without their own glyph as Latin."""
    if word in _GREEK_LATIN:
        return _GREEK_LATIN[word]
    return "\\" + word if word in _GREEK_SMALL | _GREEK_CAPITAL | set(_GREEK_VARIANT.values()) \
        else r"\mathrm{" + word + "}"


def _tex_letter(ch: str) -> str:
    """One non-ASCII character in LaTeX text mode (ASCII output)."""
    if ch in _LATIN:
        return _LATIN[ch]
    word = greek_word(ch)
    if word is not None:
        return r"\ensuremath{" + greek_latex(word) + "}"
    base, *marks = unicodedata.normalize("NFD", ch)
    if marks and (base.isascii() or greek_word(base)) and all(ord(m) in _ACCENTS for m in marks):
        s = _tex_letter(base) if not base.isascii() else _TEX_ASCII.get(base, base)
        for m in marks:
            if s in ("i", "j") and ord(m) not in _BELOW:
                s = "\\" + s
            s = f"{_ACCENTS[ord(m)]}{{{s}}}"
        return s
    m = _LETTER_NAME.match(unicodedata.name(ch, ""))
    if m and unicodedata.category(ch).startswith("L"):
        word = m[2].lower().replace(" ", "")
        return r"\textsf{" + (word.capitalize() if m[1] == "CAPITAL" else word) + "}"
    if unicodedata.category(ch) == "Nd":
        return str(unicodedata.digit(ch))
    return r"\texttt{\textbackslash{}" + _code(ch)[1:] + "}"


def latex_text(s: str) -> str:
    r"""``s`` for LaTeX text mode, as ASCII that prints it literally.

    >>> print(latex_text(r"\input{/etc/hostname}"))
    \textbackslash{}input\{/etc/hostname\}
    >>> print(latex_text("größe"), latex_text("αβ"), latex_text("х"))
    gr\"{o}\ss{}e \ensuremath{\alpha}\ensuremath{\beta} \textsf{ha}
    """
    parts: list[str] = []
    for ch in unicodedata.normalize("NFC", visible(s)):
        if ch.isascii():
            parts.append(_TEX_ASCII.get(ch, ch))
        elif unicodedata.category(ch) in _MARKS:        # a mark NFC could not compose
            acc = _ACCENTS.get(ord(ch))
            if acc and parts:
                parts[-1] = f"{acc}{{{parts[-1]}}}"
            else:
                parts.append(r"\texttt{\textbackslash{}" + _code(ch)[1:] + "}")
        else:
            parts.append(_tex_letter(ch))
    return "".join(parts)


def latex_math_text(s: str) -> str:
    r"""A name inside math mode: ``\text{...}`` of :func:`latex_text`.

    >>> print(latex_math_text("a&b"))
    \text{a\&b}
    """
    return r"\text{" + latex_text(s) + "}"


# -- DOT, HTML, Markdown, JSON ---------------------------------------------------------
def dot_string(s: str) -> str:
    r"""``s`` as a double-quoted DOT string that Graphviz shows literally.

    >>> print(dot_string('<x> URL="j" label=<y>'), dot_string("a\\"))
    "<x> URL=\"j\" label=<y>" "a\\"
    """
    body = visible(s).replace("\\", "\\\\").replace('"', '\\"')
    return f'"{body}"'


def dot_label(lines: list[str]) -> str:
    """Several lines of user text as one quoted DOT label (centred lines)."""
    return '"' + r"\n".join(dot_string(ln)[1:-1] for ln in lines) + '"'


def html(s: str) -> str:
    """``s`` as HTML/SVG/XML text or attribute value.

    >>> html('<a href="x">&')
    '&lt;a href=&quot;x&quot;&gt;&amp;'
    """
    return _html.escape(visible(s), quote=True)


_MD_PUNCT = re.compile(r"([!-/:-@\[-`{-~])")


def markdown_inline(s: str) -> str:
    r"""``s`` in Markdown running text: ASCII punctuation backslash-escaped.

    >>> print(markdown_inline("*a* <b>"))
    \*a\* \<b\>
    """
    return _MD_PUNCT.sub(r"\\\1", visible(s))


def markdown_fence(body: str) -> str:
    """A fence of backticks longer than any run of backticks in ``body`` (at least 3)."""
    longest = max((len(m) for m in re.findall(r"`+", body)), default=0)
    return "`" * max(3, longest + 1)


def json_text(obj, indent: int | None = 2) -> str:
    """``obj`` as JSON text: ASCII only (every name escaped), nan/inf refused."""
    return json.dumps(obj, indent=indent, ensure_ascii=True, allow_nan=False)


# -- confusables -----------------------------------------------------------------------
# Letters of other scripts that look like Latin letters (Unicode TR39's most common).
_LOOKALIKE = dict(zip(
    "авсеһіјкмнорѕтухԁԛԝАВСЕНІЈКМОРЅТХУΑΒΕΖΗΙΚΜΝΟΡΤΥΧονρι",
    "abcehijkmhopstyxdqwABCEHIJKMOPSTXYABEZHIKMNOPTYXovpi", strict=True))


def _skeleton(name: str) -> str:
    s = unicodedata.normalize("NFKC", name)
    s = "".join(_LOOKALIKE.get(ch, ch) for ch in s if unicodedata.category(ch) != "Cf")
    return unicodedata.normalize("NFC", s)


def confusables(names, printed=None) -> list[tuple[str, str]]:
    """Pairs of distinct names that look the same when printed: equal after
    NFKC, dropping invisible characters and mapping Cyrillic/Greek lookalikes
    to Latin, or equal in ``printed`` (a function giving the printed form).

    >>> confusables(["x", "\u0445", "y"])
    [('x', 'х')]
    """
    seen: dict[str, str] = {}
    pairs = []
    for n in names:
        keys = {"s:" + _skeleton(n)}
        if printed is not None:
            keys.add("p:" + printed(n))
        first = next((seen[k] for k in keys if k in seen), None)
        if first is not None and first != n:
            pairs.append((first, n))
        for k in keys:
            seen.setdefault(k, n)
    return pairs


class ConfusableNamesWarning(UserWarning):
    """Two distinct node names look the same when printed (see :func:`confusables`)."""


def _spell(name: str) -> str:
    odd = [f"U+{ord(c):04X} {unicodedata.name(c, '?')}" for c in name if not c.isascii()]
    return repr(name) + (f" ({', '.join(odd[:3])})" if odd else "")


def warn_confusables(names, where: str) -> None:
    """Warn (:class:`ConfusableNamesWarning`) if two of ``names`` print the same."""
    pairs = confusables(names)
    if pairs:
        listed = "; ".join(f"{_spell(a)} and {_spell(b)}" for a, b in pairs[:3])
        more = f" (and {len(pairs) - 3} more pairs)" if len(pairs) > 3 else ""
        warnings.warn(f"{where}: distinct node names print the same: {listed}{more}; "
                      "rename one of each pair to tell them apart", ConfusableNamesWarning,
                      stacklevel=3)
