"""The clinic app in a real browser: headless Chromium drives the workflow against the virtual mat.

Create a patient (with a hostile name), start a visit, connect the virtual mat,
record two short conditions while the live map changes, see the quality
summary, write the report and find it stored in the clinic. Needs Chromium and
the ``playwright`` package (test extra) and ``dash``; without them the test
skips, unless ``PLANTAR_REQUIRE_BROWSER=1`` (as in CI), when it fails.
"""

import io
import logging
import os
import re
import shutil
import threading
import time

import numpy as np
import pytest

from plantar.clinic import Clinic

BROWSER_FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]  # fmt: skip
HOSTILE = '<script>window.__pwned=1</script>"><img src=x onerror="window.__pwned=2">'
RECORD_S = 4.0


def _chromium():
    path = next((shutil.which(n) for n in ("chromium", "chromium-browser", "google-chrome") if shutil.which(n)), None)
    try:
        import dash  # noqa: F401
        import playwright.sync_api  # noqa: F401
    except ImportError:
        path = None
    if path is None:
        if os.environ.get("PLANTAR_REQUIRE_BROWSER") == "1":
            pytest.fail("PLANTAR_REQUIRE_BROWSER=1 but Chromium, playwright or dash is missing")
        pytest.skip("needs Chromium, playwright and dash")
    return path


@pytest.fixture
def served(tmp_path):
    """The app over a new clinic, served on a free port of 127.0.0.1 from a thread of this process."""
    from werkzeug.serving import make_server

    from plantar.app import make_app

    clinic = Clinic.init(tmp_path / "clinic")
    app = make_app(clinic, demo=True)
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    server = make_server("127.0.0.1", 0, app.server, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}", clinic, app.capture
    finally:
        server.shutdown()
        app.capture.close()
        clinic.close()


def _pixels(locator):
    from PIL import Image

    return np.asarray(Image.open(io.BytesIO(locator.screenshot())).convert("RGB"), dtype=np.int16)


def _record(page, kind, label, live_map):
    """Record one condition for about RECORD_S s; return how many pixels of the live map changed at most."""
    page.locator("#kind").get_by_label(kind, exact=True).check()
    page.fill("#label", label)
    page.click("#start")
    page.wait_for_function("document.querySelector('#capture-status').innerText.startsWith('RECORDING')",
                           timeout=20_000)  # fmt: skip
    # the live map over the walk (the walker steps on and off the mat): the most pixels changed from the first
    started = time.monotonic()
    first = _pixels(live_map)
    changed = 0
    while time.monotonic() - started < RECORD_S:
        time.sleep(0.4)
        changed = max(changed, int(np.count_nonzero(np.abs(first - _pixels(live_map)).sum(axis=2) > 30)))
    status = page.inner_text("#capture-status")
    page.click("#stop")
    page.wait_for_selector(f"#quality-summary:has-text('{kind}')", timeout=60_000)
    return changed, first.shape[0] * first.shape[1], status


def test_clinic_app_workflow_in_chromium(served, tmp_path):
    from playwright.sync_api import sync_playwright

    executable = _chromium()
    url, clinic, capture = served
    errors = []
    started = time.monotonic()
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=executable, args=BROWSER_FLAGS)
        page = browser.new_page(viewport={"width": 1300, "height": 1000}, accept_downloads=True)
        page.on("pageerror", lambda e: errors.append(f"page error: {e}"))
        page.on("dialog", lambda d: errors.append(f"dialog: {d.message}"))
        page.goto(url, wait_until="networkidle")

        # a patient with a hostile name: shown as text, never run
        page.fill("#new-code", "P100")
        page.fill("#new-name", HOSTILE)
        page.fill("#new-birth-year", "1961")
        page.click("#add-patient")
        page.wait_for_selector("#patient-message:has-text('Added patient P100')")
        assert HOSTILE in page.inner_text("#patient-list")
        assert page.evaluate("window.__pwned") is None
        assert page.evaluate("document.querySelectorAll('img[src=x]').length") == 0

        # the patient, a new visit
        page.click("text=P100")
        page.wait_for_selector("#add-visit")
        page.fill("#visit-complaint", "right heel pain")
        page.click("#add-visit")
        page.wait_for_url(re.compile(r"/visit/\d+$"))
        visit = int(page.url.rsplit("/", 1)[1])
        assert clinic.visit(visit)["patient"] == "P100"

        # the virtual mat, then two conditions
        page.click("#connect")
        page.wait_for_selector("#mat-message:has-text('Connected')", timeout=60_000)
        live_map = page.locator("#live-map")
        page.wait_for_function("document.querySelector('#capture-status').innerText.includes('frames/s')",
                               timeout=20_000)  # fmt: skip
        # the calibrated virtual mat: pressures in kPa, forces per foot in N, as the page's script draws them
        page.wait_for_function("document.querySelector('#live-map-title').innerText.endsWith('kPa')",
                               timeout=20_000)  # fmt: skip
        assert re.search(r"lost \d+, peak \d+ kPa, saturated cells \d+, drawn [\d.]+/s$",
                         page.inner_text("#capture-status")), page.inner_text("#capture-status")  # fmt: skip
        for side in ("left", "right"):
            assert re.fullmatch(r"\d+ N \(\d+ %\)", page.inner_text(f"#live-bar-{side}-text"))
        done = {}
        for kind, label in (("barefoot", "barefoot"), ("shod", "shod <b>A</b>")):
            changed, total, status = _record(page, kind, label, live_map)
            assert changed > 0.001 * total, f"{kind}: the live map did not change ({changed} of {total} pixels)"
            done[kind] = status
            summary = page.inner_text("#quality-summary")
            stored = capture.last
            assert stored["kind"] == kind and stored["label"] == label
            q = stored["quality"]
            # the page says what the stored trial holds
            assert f"left {q['steps_left']} steps ({q['complete_left']} complete)" in summary
            assert f"right {q['steps_right']} steps ({q['complete_right']} complete)" in summary
            assert ("Repeat this walk" in summary) == (min(q["complete_left"], q["complete_right"]) < 3)
            # and the recording lasted what was asked of it (started and stopped by the page)
            assert RECORD_S * 0.9 < stored["duration_s"] < RECORD_S + 10.0
        trials = clinic.visit(visit)["trials"]
        assert [(t["kind"], t["label"]) for t in trials] == [("barefoot", "barefoot"), ("shod", "shod <b>A</b>")]
        assert page.locator("tr.condition").count() == 2
        assert "shod <b>A</b>" in page.inner_text("#conditions")
        drawn = float(re.search(r"drawn ([\d.]+)/s", done["shod"]).group(1))

        # a broken upload says why and leaves the visit as it was
        page.set_input_files("#upload input[type=file]", files=[
            {"name": HOSTILE + ".csv", "mimeType": "text/csv", "buffer": b"not,a\ntrial,file\n"}])  # fmt: skip
        page.wait_for_selector("#upload-message:has-text('Not imported')", timeout=30_000)
        assert page.locator("tr.condition").count() == 2 and len(clinic.visit(visit)["trials"]) == 2

        # the report: stored in the clinic, offered as a download
        with page.expect_download(timeout=120_000) as download_info:
            page.click("#write-report")
        download = download_info.value
        saved = tmp_path / download.suggested_filename
        download.save_as(saved)
        page.wait_for_selector("#report-message:has-text('Report stored')")
        stored_reports = sorted((clinic.folder / "reports" / "P100").glob("*.html"))
        assert len(stored_reports) == 1
        assert saved.read_bytes() == stored_reports[0].read_bytes()
        assert clinic.check()["ok"]
        browser.close()
    assert not errors, errors
    print(f"live view drawn at {drawn:.1f} frames/s; workflow took {time.monotonic() - started:.0f} s")
    assert drawn > 0
