"""An exercise as a practice page: one self-contained HTML file.

:func:`practice_page` (``ex.html()``) shows the exercise's graph (inline SVG,
the picture of :func:`symgrad.draw` without numbers), its prompt, and one input
per asked item.  Numbers are graded IN the page with the one tolerance rule
(:mod:`symgrad.teach.tolerance`): the page carries, per item, the exact answer
with its tolerance and the common mistakes of
:func:`symgrad.teach.grading.mistake_candidates` with their values, tolerances
and feedback, so a number gets the same verdict and the same feedback as
``ex.grade`` gives it.  What the page does not grade it says so: a formula item
(local and symbolic derivatives, graded by symbolic equivalence), or a number
written as a formula (``1/2``, ``-sin(2)``), is marked "check it with
``symgrad quiz`` or ``ex.grade``" rather than guessed at.

Works offline (no network: a Content-Security-Policy forbids external loads);
without JavaScript it is the printed exercise.
"""

from __future__ import annotations

import html

from ..show.html import inline_svg, page
from .grading import mistake_candidates
from .tolerance import accepts, tolerance

__all__ = ["practice_page"]

_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Helvetica,Arial,sans-serif;margin:1.5em;color:#222;max-width:70em}
h1{font-size:1.3em}
#picture{overflow:auto;border:1px solid #ddd;border-radius:4px;padding:.3em;margin:.6em 0}
pre{background:#f6f6f6;padding:.6em;border-radius:4px;white-space:pre-wrap}
table{border-collapse:collapse}
td,th{padding:.25em .6em;text-align:left;vertical-align:top;border-bottom:1px solid #eee}
input[type=text]{font:inherit;width:10em;padding:.15em .3em}
.correct{color:#1a7f37}.wrong{color:#b42318}.unsure{color:#8c6d00}
button{font:inherit;padding:.25em .9em;border:1px solid #3182bd;background:#eef5fb;border-radius:4px;cursor:pointer}
#score{margin-left:1em;font-weight:600}
.nojs{color:#555}
.js .nojs{display:none}
"""

_JS = r"""
(function () {
  "use strict";
  document.documentElement.classList.add("js");
  var D = JSON.parse(document.getElementById("symgrad-data").textContent);
  function exact(v) {                  // |v| = digits * 10**-point, exactly (v's binary value)
    var view = new DataView(new ArrayBuffer(8));
    view.setFloat64(0, Math.abs(v));
    var hi = view.getUint32(0), lo = view.getUint32(4);
    var bits = (hi >>> 20) & 0x7ff, mant = (BigInt(hi & 0xfffff) << 32n) | BigInt(lo), e2;
    if (bits === 0) e2 = -1074; else { mant |= 1n << 52n; e2 = bits - 1075; }
    if (e2 >= 0) return {digits: (mant << BigInt(e2)).toString(), point: 0};
    return {digits: (mant * (5n ** BigInt(-e2))).toString(), point: -e2};
  }
  function fmt(v, p) {                 // Python's format(v, ".{p}g") (ties to even), "-0" as "0"
    if (v === 0) return "0";
    var x = exact(v), s = x.digits.replace(/^0+/, ""), e = s.length - 1 - x.point;
    var head = s.slice(0, p), rest = s.slice(p);
    while (head.length < p) head += "0";
    var up = rest.length > 0 && (rest[0] > "5" || (rest[0] === "5" &&
             (/[1-9]/.test(rest.slice(1)) || parseInt(head[p - 1], 10) % 2 === 1)));
    if (up) {
      var n = (BigInt(head) + 1n).toString();
      if (n.length > p) { n = n.slice(0, p); e += 1; }
      head = n;
    }
    var out;
    if (e >= -4 && e < p) {
      out = e >= 0 ? head.slice(0, e + 1) + "." + head.slice(e + 1) : "0." + "0".repeat(-e - 1) + head;
      out = out.replace(/0+$/, "").replace(/\.$/, "");
    } else {
      out = (head[0] + "." + head.slice(1)).replace(/0+$/, "").replace(/\.$/, "") +
            "e" + (e < 0 ? "-" : "+") + (Math.abs(e) < 10 ? "0" : "") + Math.abs(e);
    }
    return (v < 0 ? "-" : "") + out;
  }
  function read(text) {                // a plain number, as the grader reads one
    var t = text.trim().replace(/\u2212/g, "-").replace(/\u2013/g, "-");
    if (t === "") return {error: "no answer"};
    if ((t.match(/,/g) || []).length === 1 && t.indexOf(".") < 0) {
      var parts = t.split(","), whole = parts[0], frac = parts[1];
      if (/^\d{3}$/.test(frac) && /^[+-]?\d+$/.test(whole) && whole.replace(/^[+-]?0*/, "") !== "")
        return {error: "'" + t + "' is ambiguous (one thousand, or one point zero?): write " +
                whole + "." + frac + " or " + whole + frac + ", without a comma"};
      t = t.replace(",", ".");
    }
    if (!/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(t))
      return {unsure: "this page reads plain numbers such as -0.8223; check a formula like 1/2 " +
              "with symgrad quiz or ex.grade"};
    var v = parseFloat(t);
    if (!isFinite(v)) return {error: t + " is not a finite number; write a number like -0.8223"};
    return {value: v};
  }
  function within(exact, tol, v) { return isFinite(exact) && Math.abs(v - exact) <= tol; }
  function grade(item, text) {
    if (item.formula) return {cls: "unsure", msg: "a formula: check it with symgrad quiz or ex.grade (graded by symbolic equivalence)"};
    var r = read(text);
    if (r.error) return {cls: "wrong", msg: "could not read the answer: " + r.error};
    if (r.unsure) return {cls: "unsure", msg: r.unsure};
    if (within(item.exact, item.tol, r.value)) return {cls: "correct", msg: "correct.", ok: true};
    for (var i = 0; i < item.mistakes.length; i++) {
      var m = item.mistakes[i];
      if (within(m.value, m.tol, r.value)) return {cls: "wrong", msg: m.feedback};
    }
    return {cls: "wrong", msg: "not correct (" + fmt(r.value, D.digits) + " is not " + item.text +
            " to " + D.digits + " significant digits); recompute it step by step."};
  }
  function check() {
    var right = 0;
    D.items.forEach(function (item, i) {
      var box = document.getElementById("answer-" + i), out = document.getElementById("feedback-" + i);
      var v = grade(item, box.value);
      out.textContent = v.msg; out.className = v.cls;
      if (v.ok) right += 1;
    });
    document.getElementById("score").textContent = right + " of " + D.items.length + " correct";
  }
  document.getElementById("check").addEventListener("click", check);
  Array.prototype.forEach.call(document.querySelectorAll("input[type=text]"), function (box) {
    box.addEventListener("keydown", function (e) { if (e.key === "Enter") check(); });
  });
  window.symgrad = {check: check, fmt: fmt, read: read};
})();
"""


def _ordinal(n: int) -> str:
    return f"{n}{'th' if 10 <= n % 100 <= 20 else {1: 'st', 2: 'nd', 3: 'rd'}.get(n % 10, 'th')}"


def _item_data(ex, item) -> dict:
    if not isinstance(item.answer, float):
        return {"key": item.key, "text": item.text, "formula": True}
    exact = float(item.answer)
    mistakes = []
    for _, feedback, value in mistake_candidates(ex, item):
        value = float(value)
        # the grader skips a mistake whose value is itself a right answer
        if value == value and abs(value) != float("inf") and not accepts(exact, value, ex.digits):
            mistakes.append({"feedback": feedback, "value": value, "tol": tolerance(value, ex.digits)})
    return {"key": item.key, "text": item.text, "formula": False, "exact": exact,
            "tol": tolerance(exact, ex.digits), "mistakes": mistakes}


def practice_page(ex, *, title: str | None = None) -> str:
    """The exercise ``ex`` as one self-contained practice page (see the module)."""
    esc = html.escape
    heading = title or f"symgrad exercise: {ex.kind} (seed {ex.seed})"
    svg = inline_svg(ex.graph, max_height="60vh")
    picture = f'<div id="picture">{svg}</div>' if svg is not None else ""
    rows = []
    for i, item in enumerate(ex.items):
        rows.append(f'<tr><td><label for="answer-{i}">{esc(item.text)}</label></td>'
                    f'<td><input type="text" id="answer-{i}" name="{esc(item.key)}" autocomplete="off"></td>'
                    f'<td id="feedback-{i}"></td></tr>')
    data = {"digits": ex.digits, "items": [_item_data(ex, it) for it in ex.items]}
    return page(heading, _CSS, f"""{picture}
<pre id="prompt">{esc(ex.prompt_text())}</pre>
<p>Give each number to {ex.digits} significant digits (correct when within half a unit in the
{_ordinal(ex.digits)} significant digit of the exact value).</p>
<form onsubmit="return false">
<table id="answers"><tr><th>asked</th><th>your answer</th><th>feedback</th></tr>
{chr(10).join(rows)}
</table>
<p><button id="check" type="button">Check</button><span id="score"></span></p>
</form>
<p class="nojs">This page grades in the browser with JavaScript; without it, grade with
<code>symgrad quiz</code> or <code>ex.grade</code>.</p>""", data, _JS)
