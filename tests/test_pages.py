"""The teaching pages: d.html() and ex.html(), read as HTML and driven in a real
browser (Debian's chromium and chromedriver through Selenium, headless, network off)."""

import html.parser
import json
import os
import shutil

import pytest

import symgrad as sg
from symgrad.show.printer import format_number

LECTURE = "sqrt(x**2 + exp(x**2)) + cos(x**2 + exp(x**2))"
HOSTILE = '</script><script>alert(1)</script>'


class _Tags(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags, self.attrs, self.data = [], [], {}
        self._in = None

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self.attrs += [(tag, k, v) for k, v in attrs]
        self._in = dict(attrs).get("id")

    def handle_data(self, data):
        if self._in:
            self.data[self._in] = self.data.get(self._in, "") + data


def _parse(page: str) -> _Tags:
    p = _Tags()
    p.feed(page)
    return p


def _self_contained(page: str) -> _Tags:
    p = _parse(page)
    assert p.tags.count("script") == 2                       # the data and the code, nothing injected
    loads = [(t, k, v) for t, k, v in p.attrs if k in ("src", "href", "xlink:href", "action")]
    assert loads == [], loads                                # nothing is fetched: works offline
    assert "default-src 'none'" in page
    return p


def test_derivation_page_is_one_self_contained_file_with_every_step():
    g = sg.parse(LECTURE)
    d = sg.derive(g, x=2.0)
    page = d.html()
    p = _self_contained(page)
    data = json.loads(p.data["symgrad-data"])
    assert data["nodes"] == list(g.nodes) and data["forward"] == len(d.forward)
    text = d.text(indent="")
    for line in text.splitlines()[1:]:
        if line and not line.startswith("Backward"):
            assert line.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;") in page
    assert "<svg" in page and "<?xml" not in page
    assert "Check: reverse mode, symbolic, finite differences" in page
    assert d._repr_html_() == page


def test_hostile_names_cannot_escape_the_page():
    x = sg.variable(HOSTILE)
    g = sg.Graph(sg.exp(x) * x)
    page = sg.derive(g, {HOSTILE: 0.5}).html()
    p = _self_contained(page)
    data = json.loads(p.data["symgrad-data"])
    assert HOSTILE in data["nodes"]


def test_huge_graphs_get_a_message_instead_of_a_picture():
    text = "\n".join(["a0 = sin(x)"] + [f"a{i} = sin(a{i - 1}) + a{i - 1}*x" for i in range(1, 500)])
    g = sg.parse(text)
    page = sg.derive(g, x=0.3).html(check=False)
    assert "too large to lay out" in page and "<svg" not in page
    assert page.count('data-kind="backward"') == len(sg.derive(g, x=0.3).backward)


def test_practice_page_carries_the_graders_rule_and_feedback():
    ex = sg.exercise(kind="backward", seed=7)
    page = ex.html()
    p = _self_contained(page)
    data = json.loads(p.data["symgrad-data"])
    assert [i["key"] for i in data["items"]] == [it.key for it in ex.items]
    for item, it in zip(data["items"], ex.items):
        assert item["exact"] == it.answer
        for m in item["mistakes"]:                          # each mistake the grader would name
            verdict = ex.grade({it.key: repr(m["value"])}).items[it.key]
            assert not verdict.correct
    formula = sg.exercise(kind="local", seed=3).html()
    assert '"formula": true' in formula


# -- in a real browser ---------------------------------------------------------------
CHROMIUM, DRIVER = shutil.which("chromium"), shutil.which("chromedriver")


@pytest.fixture(scope="module")
def browser():
    webdriver = pytest.importorskip("selenium.webdriver")
    if not (CHROMIUM and DRIVER):
        pytest.skip("Debian's chromium and chromium-driver are not installed (.ci/run installs them)")
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service
    opts = Options()
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=1400,1000"):
        opts.add_argument(arg)
    opts.binary_location = CHROMIUM
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(DRIVER), options=opts)
    driver.set_network_conditions(offline=True, latency=0, download_throughput=0, upload_throughput=0)
    yield driver
    driver.quit()


def _open(browser, tmp_path, page: str, name: str):
    path = tmp_path / name
    path.write_text(page, encoding="utf-8")
    browser.get(path.as_uri())
    return browser


def _node_texts(browser, name: str) -> list:
    """The visible text lines of node ``name``'s box in the picture."""
    return browser.execute_script(
        "var g = document.querySelector('#picture g.node[data-node=\"' + arguments[0] + '\"]');"
        "var out = []; g.querySelectorAll('text').forEach(function (t) {"
        "  out.push(getComputedStyle(t).visibility === 'hidden' ? null : t.textContent); });"
        "return out;", name)


def _click(browser, sel):
    from selenium.webdriver.common.by import By
    browser.find_element(By.CSS_SELECTOR, sel).click()


def test_lecture_page_steps_forward_and_backward_with_the_graphs_numbers(browser, tmp_path):
    from selenium.webdriver.common.by import By
    g = sg.parse(LECTURE)
    d = sg.derive(g, x=2.0)
    _open(browser, tmp_path, d.html(), "lecture.html")
    assert browser.get_log("browser") == []                  # no console errors (or messages)
    visible = lambda: [li.text for li in browser.find_elements(By.CSS_SELECTOR, "#steps li") if li.is_displayed()]
    assert visible() == []                                   # the start: only the inputs are known
    assert _node_texts(browser, "a")[1] is None
    _click(browser, "#next")
    assert visible() == ["a = x**2 = 4"]
    _click(browser, "#forward")
    fw, bw = g.forward(x=2.0), g.backward(x=2.0)
    for n in g.nodes:                                        # every value on the picture, no adjoint yet
        name, value, adjoint = _node_texts(browser, n)
        assert (name, value, adjoint) == (n, f"= {format_number(fw[n], 5)}", None)
    _click(browser, "#backward")
    for n in g.nodes:
        assert _node_texts(browser, n)[2] == f"∂f/∂{n} = {format_number(bw[n], 5)}".replace("-", "-")
    assert browser.find_element(By.ID, "status").text.startswith("backward pass, step 7 of 7")
    _click(browser, '#picture g.node[data-node="c"]')
    line = browser.find_element(By.ID, "panel-backward").text
    assert line == "∂f/∂c = ∂f/∂e * ∂e/∂c + ∂f/∂d * ∂d/∂c = 1 * (-sin(c)) + 1 * 1/(2*sqrt(c)) = -0.82228"
    assert browser.find_element(By.ID, "panel-consumers").text == "consumers: d, e"
    consumers = browser.find_elements(By.CSS_SELECTOR, "#picture g.node.consumer")
    assert sorted(c.get_attribute("data-node") for c in consumers) == ["d", "e"]
    from selenium.webdriver.common.keys import Keys
    browser.find_element(By.TAG_NAME, "body").send_keys(Keys.HOME)
    assert visible() == []
    assert browser.get_log("browser") == []
    if os.environ.get("SYMGRAD_SCREENSHOT"):                  # docs/lecture_page.png for the README
        _click(browser, "#forward")
        for _ in range(3):
            _click(browser, "#next")
        _click(browser, '#picture g.node[data-node="c"]')
        browser.save_screenshot(os.environ["SYMGRAD_SCREENSHOT"])


def test_forward_mode_page_steps_through_the_tangents(browser, tmp_path):
    from selenium.webdriver.common.by import By
    g = sg.parse(LECTURE)
    d = sg.derive(g, x=2.0, mode="forward", wrt="x")
    _open(browser, tmp_path, d.html(), "forward.html")
    _click(browser, "#backward")                               # the tangent pass, to the end
    tangents = g.tangents(x=2.0, wrt="x")
    for n in g.nodes:
        label = _node_texts(browser, n)[2]
        assert label.endswith(f" = {format_number(tangents[n], 5)}"), (n, label)
    assert browser.find_element(By.ID, "status").text == "tangent pass, step 7 of 7"
    _click(browser, '#picture g.node[data-node="c"]')
    assert browser.find_element(By.ID, "panel-backward").text == \
        "ċ = ∂c/∂a · ȧ + ∂c/∂b · ḃ = 1 * 4 + 1 * 218.39 = 222.39"
    assert browser.get_log("browser") == []


def test_mlp_page_shows_the_b_quantities(browser, tmp_path):
    from selenium.webdriver.common.by import By
    net = sg.mlp([2, 2, 1], seed=0)
    d = sg.derive(net.graph, net.feed([1.0, 0.5], [1.0]), quantities=True)
    _open(browser, tmp_path, d.html(), "mlp.html")
    _click(browser, "#backward")
    lines = [li.text for li in browser.find_elements(By.CSS_SELECTOR, "#steps li.backward")]
    assert any(line.startswith("B_1 = ") for line in lines)
    assert lines == [d2 for d2 in d.text(indent="").splitlines() if d2 in lines]
    assert browser.get_log("browser") == []


def test_practice_page_gives_the_graders_verdicts(browser, tmp_path):
    from selenium.webdriver.common.by import By
    ex = sg.exercise(kind="backward", seed=7)
    _open(browser, tmp_path, ex.html(), "practice.html")
    keys = [it.key for it in ex.items]
    answers = {k: format_number(ex.answers[k], ex.digits) for k in keys}
    fw = ex.values
    wrong = {keys[1]: format_number(-ex.answers[keys[1]], ex.digits),        # a sign error
             keys[2]: format_number(fw[ex.items[2].node], ex.digits),        # the forward value
             keys[3]: "12345"}                                               # plain wrong
    submitted = {**answers, **wrong}
    for i, k in enumerate(keys):
        box = browser.find_element(By.ID, f"answer-{i}")
        box.clear()
        box.send_keys(submitted[k])
    _click(browser, "#check")
    result = ex.grade(submitted)
    for i, k in enumerate(keys):
        page_feedback = browser.find_element(By.ID, f"feedback-{i}").text
        assert page_feedback == result.items[k].feedback, k
    right = sum(v.correct for v in result.items.values())
    assert browser.find_element(By.ID, "score").text == f"{right} of {len(keys)} correct"
    assert browser.get_log("browser") == []


def test_the_pages_number_format_is_pythons(browser, tmp_path):
    """The page writes a wrong answer back as the grader does (``format(v, ".4g")``,
    ties to even), so its feedback text is the grader's, character for character."""
    import random
    rng = random.Random(11)
    values = [12345.0, 0.125, 2.5, 3.5, -0.00012345, 1e-5, 123456789.0, 9.9995, 99995.0, 5e-324,
              1.7976931348623157e308, -2.675, 0.1, 1 / 3]
    values += [rng.uniform(-1, 1) * 10 ** rng.randint(-12, 12) for _ in range(200)]
    values += [round(rng.uniform(-100, 100), rng.randint(0, 4)) for _ in range(100)]
    ex = sg.exercise(kind="backward", seed=7)
    _open(browser, tmp_path, ex.html(), "practice.html")
    for digits in (2, 4, 8):
        got = browser.execute_script(
            "var p = arguments[1]; return arguments[0].map(function (v) { return window.symgrad.fmt(v, p); });",
            values, digits)
        assert got == [format_number(v, digits) for v in values], digits
