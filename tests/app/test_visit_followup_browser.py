"""The visit and follow-up pages in a real browser: three conditions captured, compared, reported, followed up.

Headless Chromium records barefoot, shod and an orthotic with a hostile label
on the virtual mat, reads the comparison's verdicts off the visit page and
checks them against the library's own (the trials analysed afresh), writes the
report and downloads its HTML and PDF, records a second visit two weeks later
and finds the follow-up chart drawn with the visit means of
:func:`plantar.followup`. Skips without Chromium, playwright or dash unless
``PLANTAR_REQUIRE_BROWSER=1``.
"""

import datetime
import logging
import re
import threading
import time

import numpy as np
import pytest
from test_clinic_app_browser import BROWSER_FLAGS, HOSTILE, _chromium

import plantar
from plantar.clinic import Clinic

#: Seconds of each recording of the first visit (enough complete steps per side to compare) and of the second.
WALK_S, SHORT_S = 5.0, 3.0


@pytest.fixture
def served(tmp_path):
    """The app over a new clinic with one patient, served on a free port of 127.0.0.1 from a thread."""
    from werkzeug.serving import make_server

    from plantar.app import make_app

    clinic = Clinic.init(tmp_path / "clinic")
    clinic.add_patient("P200", name=HOSTILE, birth_year=1958)
    app = make_app(clinic, demo=True, live_interval_ms=250)  # this test reads the page, not the live view's rate
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    server = make_server("127.0.0.1", 0, app.server, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_port}", clinic
    finally:
        server.shutdown()
        app.capture.close()
        clinic.close()


def _start_visit(page, url, date):
    page.goto(f"{url}/patient/P200", wait_until="load")
    page.wait_for_selector("#add-visit")
    page.fill("#visit-date", date)
    page.click("#add-visit")
    page.wait_for_url(re.compile(r"/visit/\d+$"))
    page.click("#connect")
    page.wait_for_selector("#mat-message:has-text('Connected')", timeout=60_000)
    return int(page.url.rsplit("/", 1)[1])


def _record(page, kind, label, seconds):
    """Record one condition until the server says it has recorded ``seconds``, then stop and wait for its quality."""
    page.locator("#kind").get_by_label(kind, exact=True).check()
    page.fill("#label", label)
    page.click("#start")
    page.wait_for_function(
        "(s) => { const m = /^RECORDING .*?: (\\d+) s/.exec(document.querySelector('#capture-status').innerText);"
        " return m && Number(m[1]) >= s; }", arg=seconds, timeout=60_000, polling=100)  # fmt: skip
    page.click("#stop")
    page.wait_for_selector(f"#quality-summary:has-text('({kind})')", timeout=120_000)


def _verdicts_on_page(page):
    """Per comparison table shown (its title), the verdict column as the page shows it."""
    return page.evaluate("""() => Array.from(document.querySelectorAll('#comparison h4.pair-title')).map(h => {
        const table = h.nextElementSibling;
        const rows = Array.from(table.querySelectorAll('tbody tr'));
        return [h.innerText, rows.map(r => [r.cells[0].innerText, r.cells[r.cells.length - 1].innerText,
                                            r.cells[r.cells.length - 1].classList.contains('beyond')])];
    })""")


def test_visit_comparison_report_and_followup_in_chromium(served, tmp_path):
    from playwright.sync_api import sync_playwright

    from plantar.report._conditions import measurement
    from plantar.report._loading import _comparison_table, plan_comparisons

    executable = _chromium()
    url, clinic = served
    errors = []
    started = time.monotonic()
    today = datetime.date.today()
    labels = {"barefoot": "barefoot", "shod": "shod", "orthotic": HOSTILE}
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=executable, args=BROWSER_FLAGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000}, accept_downloads=True)
        page.on("pageerror", lambda e: errors.append(f"page error: {e}"))
        page.on("dialog", lambda d: errors.append(f"dialog: {d.message}"))

        # first visit: three conditions, each with its quality summary
        visit = _start_visit(page, url, today.isoformat())
        for kind, label in labels.items():
            _record(page, kind, label, WALK_S)
        trials = clinic.visit(visit)["trials"]
        assert [(t["kind"], t["label"]) for t in trials] == list(labels.items())

        # the results: the conditions side by side, the comparisons
        page.wait_for_function("document.querySelectorAll('#side-by-side .condition-column').length === 3 && "
                               "document.querySelectorAll('#comparison h4.pair-title').length === 2",
                               timeout=60_000)  # fmt: skip
        titles = page.locator("#side-by-side .condition-title").all_inner_texts()
        assert titles == list(labels.values())  # the hostile label shown as text
        assert page.evaluate("window.__pwned") is None
        assert page.evaluate("document.querySelectorAll('img[src=x]').length") == 0

        # the verdicts shown are the library's, on the trials analysed afresh
        analyses = {label: plantar.analyze(clinic.read_trial(t["uid"])) for t, label in zip(trials, labels.values())}
        plan = plan_comparisons({label: dict(analysis=a, kind=kind, measurement=measurement(a.attrs))
                                 for (kind, label), a in zip(labels.items(), analyses.values())})  # fmt: skip
        assert plan["pairs"] == [("shod", "barefoot"), (HOSTILE, "shod")]
        shown = _verdicts_on_page(page)
        assert [title for title, _ in shown] == [f"{a} vs {b}: peak pressure (kPa)" for a, b in plan["pairs"]]
        for (label, base), (_, rows) in zip(plan["pairs"], shown):
            ready = [s for s in plan["sides"] if all(
                int(np.sum(analyses[k]["complete"].values & (analyses[k]["side"].values == s))) for k in (label, base))]
            frame, beyond = _comparison_table(plan["comparisons"][base], label, base, "peak_pressure", ready)
            assert [r[0] for r in rows] == list(frame.index)
            assert [r[1] for r in rows] == list(frame["verdict"])
            assert [r[2] for r in rows] == [(i, len(frame.columns) - 1) in beyond for i in range(len(frame))]
            assert {r[1] for r in rows} <= {"beyond noise", "within noise", "too few steps", "no data"}

        # the report: HTML downloaded at once, the PDF on asking; both the files stored in the clinic
        with page.expect_download(timeout=180_000) as download_info:
            page.click("#write-report")
        saved = tmp_path / download_info.value.suggested_filename
        download_info.value.save_as(saved)
        page.wait_for_selector("#report-message:has-text('Report stored')")
        stored = sorted((clinic.folder / "reports" / "P200").glob("*"))
        html_file = next(p for p in stored if p.suffix == ".html")
        assert saved.read_bytes() == html_file.read_bytes()
        if "HTML and PDF" in page.inner_text("#report-message"):
            with page.expect_download(timeout=60_000) as pdf_info:
                page.click("#download-pdf")
            pdf = tmp_path / pdf_info.value.suggested_filename
            pdf_info.value.save_as(pdf)
            assert pdf.read_bytes()[:5] == b"%PDF-"
            assert pdf.read_bytes() == next(p for p in stored if p.suffix == ".pdf").read_bytes()

        # a second visit two weeks later, one short walk; then the follow-up chart on the patient page
        later = (today + datetime.timedelta(days=14)).isoformat()
        second = _start_visit(page, url, later)
        _record(page, "barefoot", "barefoot", SHORT_S)
        assert len(clinic.visit(second)["trials"]) == 1
        page.goto(f"{url}/patient/P200", wait_until="load")
        page.wait_for_selector("#followup-chart .main-svg", timeout=60_000)
        traces = page.evaluate("""() => document.querySelector('#followup-chart .js-plotly-plot').data.map(
            t => [t.name, t.x, t.y])""")
        # the hostile label and name in the chart's legend and the table: text, never run
        assert page.evaluate("window.__pwned") is None
        assert page.evaluate("document.querySelectorAll('img[src=x]').length") == 0
        assert HOSTILE in page.inner_text("table.followup")
        browser.close()
    assert not errors, errors

    # the chart holds the follow-up's visit means of the trials analysed afresh (peak pressure, whole foot)
    records = [{"visit": int(row.visit), "date": row.date, "condition": row.label,
                "analysis": plantar.analyze(clinic.read_trial(row.uid))}
               for row in clinic.trials(patient="P200").itertuples()]  # fmt: skip
    truth = plantar.followup(records).visits
    truth = truth[(truth["metric"] == "peak_pressure") & (truth["region"] == "total")]
    drawn = {name: (x, y) for name, x, y in traces}
    assert set(drawn) == {f"{c}, {s}" for c, s in zip(truth["condition"], truth["side"])}
    for (condition, side), group in truth.groupby(["condition", "side"]):
        x, y = drawn[f"{condition}, {side}"]
        group = group.sort_values("weeks")
        np.testing.assert_allclose(x, group["weeks"], atol=0.01)
        np.testing.assert_allclose([np.nan if v is None else v for v in y], group["mean"], rtol=1e-4)
    assert sorted(set(truth["weeks"])) == [0.0, 2.0]
    print(f"visit and follow-up workflow took {time.monotonic() - started:.0f} s")
