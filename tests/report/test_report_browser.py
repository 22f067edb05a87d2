"""The report in a real browser: headless Chromium opens it offline and draws every plot.

Needs Chromium (Debian's ``chromium``, which ``.ci/run`` installs) and the
``playwright`` package (test extra). Without them the test skips, unless
``PLANTAR_REQUIRE_BROWSER=1`` is set (as ``.ci/run`` does), when it fails.
"""

import os
import re
import shutil

import numpy as np
import pytest

import plantar
from plantar.report import write_report

BROWSER_FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]  # fmt: skip


def _chromium():
    path = next((shutil.which(n) for n in ("chromium", "chromium-browser", "google-chrome") if shutil.which(n)), None)
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        path = None
    if path is None:
        if os.environ.get("PLANTAR_REQUIRE_BROWSER") == "1":
            pytest.fail("PLANTAR_REQUIRE_BROWSER=1 but Chromium or playwright is missing")
        pytest.skip("needs Chromium and playwright")
    return path


@pytest.fixture(scope="module")
def report_path(tmp_path_factory):
    walks = plantar.datasets.demo_walks(seed=0, passes=3)
    out = tmp_path_factory.mktemp("browser") / "report.html"
    write_report({label: trial for label, (trial, _) in walks.items()}, out, verbose="error")
    return out


def test_report_renders_in_chromium_without_errors(report_path, tmp_path):
    from playwright.sync_api import sync_playwright

    executable = _chromium()
    errors, requests = [], []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=executable, args=BROWSER_FLAGS)
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        page.on("console", lambda m: errors.append(f"console {m.type}: {m.text}") if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(f"page error: {e}"))
        page.on("request", lambda r: requests.append(r.url))
        # a page of 20-odd figures loads in seconds, but in minutes on a machine whose cores are all busy
        page.goto(report_path.resolve().as_uri(), wait_until="load", timeout=180_000)
        n_plots = page.evaluate("document.querySelectorAll('div[id^=figure-]').length")
        # every plot div drawn: plotly puts an SVG (or a WebGL canvas) with content in it
        page.wait_for_function(
            "Array.from(document.querySelectorAll('div[id^=figure-]')).every("
            "d => d.querySelector('svg.main-svg') !== null)", timeout=60_000)  # fmt: skip
        drawn = page.evaluate(
            """Array.from(document.querySelectorAll('div[id^=figure-]')).map(d => {
                 const svg = d.querySelector('svg.main-svg');
                 const box = d.getBoundingClientRect();
                 const marks = d.querySelectorAll('.heatmaplayer image, .trace, .point, path.js-line, rect').length;
                 return {id: d.id, width: box.width, height: box.height, marks: marks,
                         svgChildren: svg ? svg.childElementCount : 0};
               })"""
        )
        # The walk's step numbers are drawn as text, every one of them.
        numbers = page.evaluate(
            """Array.from(document.querySelectorAll('div[id^=figure-]'))
                 .filter(d => (d.querySelector('.gtitle') || {}).textContent === 'Footprints of the walk')
                 .map(d => Array.from(d.querySelectorAll('g.textpoint text')).map(t => t.textContent))"""
        )
        shot = tmp_path / "first-screen.png"
        page.screenshot(path=str(shot))
        browser.close()
    assert errors == []
    assert n_plots >= 12 and len(drawn) == n_plots
    for plot in drawn:
        assert plot["width"] > 100 and plot["height"] > 100, plot
        assert plot["svgChildren"] > 0 and plot["marks"] > 0, plot
    assert all(url.startswith(("file:", "data:", "blob:", "about:")) for url in requests), requests
    walks = plantar.datasets.demo_walks(seed=0, passes=3)
    expected = []
    for trial, _ in walks.values():
        analysis = plantar.analyze(trial)
        steps = zip(analysis.step.values, analysis.complete.values)
        expected.append(sorted(f"{step}" + ("" if complete else "*") for step, complete in steps))
    assert [sorted(texts) for texts in numbers] == expected
    _assert_not_blank(shot)


def _assert_not_blank(png):
    from skimage.io import imread

    image = imread(png)[..., :3].astype(float)
    assert image.shape[:2] == (900, 1400)
    not_white = np.any(image < 235, axis=-1).mean()
    assert not_white > 0.05, f"the first screen is {1 - not_white:.0%} white"
    assert image.std() > 20


def test_pdf_is_printed_with_chromium(tmp_path):
    _chromium()
    trial, _ = plantar.synth.walk(seed=0, passes=2, mat_length_mm=1500)
    paths = write_report([trial], tmp_path / "r.html", pdf=True, animation=False, verbose="error")
    pdf = paths["pdf"].read_bytes()
    assert pdf.startswith(b"%PDF-") and len(pdf) > 20_000
    assert b"/Type /Page" in pdf or b"/Type/Page" in pdf


@pytest.fixture(scope="module")
def printed(tmp_path_factory):
    """The demo's three conditions printed to PDF (A4), its text and page images."""
    import subprocess

    _chromium()
    for tool in ("pdftotext", "pdftoppm"):
        if shutil.which(tool) is None:
            if os.environ.get("PLANTAR_REQUIRE_BROWSER") == "1":
                pytest.fail(f"PLANTAR_REQUIRE_BROWSER=1 but {tool} (poppler-utils) is missing")
            pytest.skip(f"needs {tool} (poppler-utils)")
    walks = plantar.datasets.demo_walks(seed=0, passes=3)
    out = tmp_path_factory.mktemp("pdf") / "report.html"
    paths = write_report({k: t for k, (t, _) in walks.items()}, out, pdf=True, verbose="error")
    pages = []
    text = subprocess.run(["pdftotext", "-layout", str(paths["pdf"]), "-"], capture_output=True, text=True,
                          check=True).stdout  # fmt: skip
    subprocess.run(["pdftoppm", "-r", "40", "-png", str(paths["pdf"]), str(out.parent / "page")], check=True)
    pages = sorted(out.parent.glob("page-*.png"))
    info = subprocess.run(["pdfinfo", str(paths["pdf"])], capture_output=True, text=True).stdout
    return paths, text, pages, info


def test_pdf_first_page_holds_the_header_and_the_summary(printed):
    import json

    paths, text, pages, info = printed
    assert "(A4)" in info
    first = text.split("\f")[0]
    content = json.loads(paths["json"].read_text())
    for key in ("Subject", "Date", "Device", "Calibration", "Conditions"):
        assert key in first and str(content["meta"].get(key, "demo")).split(",")[0] in first
    words = " ".join(first.split())
    for sentence in content["summary"]:  # every number of the summary is on page 1
        for number in re.findall(r"[-+]?\d+(?:\.\d+)?", sentence):
            assert number in words, (number, sentence)


def test_pdf_holds_every_number_of_the_comparison_tables(printed):
    """No column is cut off: every cell of every comparison table is in the PDF's text."""
    paths, text, pages, _ = printed
    html = paths["html"].read_text()
    comparison = html.split('<section id="comparison">')[1].split("</section>")[0]
    cells = re.findall(r"<td[^>]*>([^<]*)</td>", comparison)
    assert len(cells) > 200
    words = set(re.findall(r"-?\d+(?:\.\d+)?", text))
    numbers = {n for cell in cells for n in re.findall(r"-?\d+(?:\.\d+)?", cell)}
    missing = sorted(numbers - words)
    assert missing == [], missing[:20]


def test_pdf_pages_are_not_cut_at_the_right_and_have_no_toolbars(printed):
    """Each page image: content inside the page (no dark pixel in the right margin); no plotly toolbar text."""
    from skimage.io import imread

    _, text, pages, _ = printed
    assert len(pages) >= 5
    for png in pages:
        image = imread(png)[..., :3].astype(float)
        margin = image[:, -int(0.03 * image.shape[1]):]  # the right 3 % of the page: blank paper
        assert margin.min() > 200, png.name
    assert "Download plot as a png" not in text and "Produced with Plotly" not in text


@pytest.mark.parametrize("width", [390, 900, 1400])
def test_html_reads_without_horizontal_scrolling(report_path, width):
    from playwright.sync_api import sync_playwright

    executable = _chromium()
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=executable, args=BROWSER_FLAGS)
        page = browser.new_page(viewport={"width": width, "height": 900})
        page.goto(report_path.resolve().as_uri(), wait_until="load")
        page.wait_for_function(
            "Array.from(document.querySelectorAll('div[id^=figure-]')).every("
            "d => d.querySelector('svg.main-svg') !== null)", timeout=60_000)  # fmt: skip
        scroll = page.evaluate("[document.documentElement.scrollWidth, document.body.scrollWidth, window.innerWidth]")
        wide = page.evaluate(
            """Array.from(document.querySelectorAll('div[id^=figure-]'))
                 .filter(d => d.getBoundingClientRect().right > window.innerWidth + 1).map(d => d.id)""")
        browser.close()
    assert scroll[0] <= scroll[2] and scroll[1] <= scroll[2], scroll
    assert wide == []
