"""The password mode in a real browser: login page, wrong password refused, the right one, then the settings page.

Headless Chromium logs in to an app whose clinic has a password, adds a mat with
a hostile name on the settings page (shown as text, never run) and logs out;
Dash's own callback requests carry the CSRF token by themselves. Skips without
Chromium, playwright or dash, unless ``PLANTAR_REQUIRE_BROWSER=1``.
"""

import logging
import threading

import pytest

from plantar.clinic import Clinic
from test_clinic_app_browser import BROWSER_FLAGS, HOSTILE, _chromium

PASSWORD = "metatarsal heads 5"


@pytest.fixture
def served(tmp_path):
    from werkzeug.serving import make_server

    from plantar.app import make_app

    clinic = Clinic.init(tmp_path / "clinic")
    clinic.set_password(PASSWORD)
    app = make_app(clinic)
    app.guard.fail_delay_s = 0.2
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    server = make_server("127.0.0.1", 0, app.server, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}", clinic
    finally:
        server.shutdown()
        app.capture.close()
        clinic.close()


def test_login_then_a_mat_on_the_settings_page_in_chromium(served):
    from playwright.sync_api import sync_playwright

    executable = _chromium()
    url, clinic = served
    errors = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=executable, args=BROWSER_FLAGS)
        page = browser.new_page(viewport={"width": 1300, "height": 900})
        page.on("pageerror", lambda e: errors.append(f"page error: {e}"))
        page.on("dialog", lambda d: errors.append(f"dialog: {d.message}"))

        page.goto(url + "/settings")  # sent to the login page first
        page.wait_for_selector("#password")
        assert "/login" in page.url
        page.fill("#password", "metatarsal heads")
        page.click("#login")
        page.wait_for_selector("#login-message:has-text('Wrong password.')")
        assert page.locator("#page").count() == 0
        page.fill("#password", PASSWORD)
        page.click("#login")
        page.wait_for_selector("h1:has-text('Settings')", timeout=60_000)  # back where it was going

        # a mat with a hostile name, through Dash's callbacks (which carry the session's token)
        page.fill("#settings-mat-name", HOSTILE)
        page.click("#settings-add-mat")
        page.wait_for_selector("#settings-mat-message:has-text('Added mat')", timeout=30_000)
        assert [m["name"] for m in clinic.mats()] == [HOSTILE]
        assert HOSTILE in page.inner_text("#settings-mats")
        assert page.evaluate("window.__pwned") is None
        assert page.evaluate("document.querySelectorAll('img[src=x]').length") == 0

        # the patients page, then out
        page.click("text=plantar clinic")
        page.wait_for_selector("h1:has-text('Patients')")
        page.click("#nav-logout")
        page.click("#logout")
        page.wait_for_selector("#login-message:has-text('You are logged out.')")
        page.goto(url + "/")
        page.wait_for_selector("#password")
        browser.close()
    assert not errors, errors
