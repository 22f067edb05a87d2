"""Screenshots of the clinic app's visit results and follow-up for the docs (docs/app-visit.png, docs/app-followup.png).

A clinic with the demo walker's barefoot, shod and orthotic walks at two
visits six weeks apart; headless Chromium opens the first visit (its results:
summary, conditions side by side, comparison) and the patient page (the
follow-up chart).

    PYTHONPATH=. python docs/app_visit_screenshots.py   (needs Chromium and playwright)
"""

import logging
import shutil
import tempfile
import threading
from pathlib import Path

from playwright.sync_api import sync_playwright
from werkzeug.serving import make_server

import plantar
from plantar.app import make_app
from plantar.clinic import Clinic

DOCS = Path(__file__).parent


def main():
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    clinic = Clinic.init(Path(tempfile.mkdtemp()) / "clinic")
    clinic.add_patient("P012", name="Jane Example", birth_year=1961)
    visits = []
    for k, date in enumerate(("2024-03-01", "2024-04-12")):
        visit = clinic.add_visit("P012", date=date, complaint="right heel pain" if not k else "review of the orthotic")
        for kind, (trial, _) in plantar.datasets.demo_walks(seed=10 * k, passes=4).items():
            clinic.add_trial(trial, visit=visit, kind=kind, label=kind)
        visits.append(visit)
    app = make_app(clinic, demo=True)
    server = make_server("127.0.0.1", 0, app.server, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_port}"
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=shutil.which("chromium"),
                                         args=["--no-sandbox", "--disable-gpu"])
            page = browser.new_page(viewport={"width": 1400, "height": 1500})
            page.goto(f"{url}/visit/{visits[0]}")
            page.wait_for_function("document.querySelectorAll('#side-by-side .js-plotly-plot .main-svg').length >= 9",
                                   timeout=120_000)  # fmt: skip
            page.wait_for_timeout(500)
            top = page.locator("#results").bounding_box()["y"]
            page.screenshot(path=str(DOCS / "app-visit.png"), full_page=True,
                            clip={"x": 0, "y": top - 10, "width": 1400, "height": 1650})
            page.goto(f"{url}/patient/P012")
            page.wait_for_selector("#followup-chart .main-svg", timeout=120_000)
            page.wait_for_timeout(500)
            page.screenshot(path=str(DOCS / "app-followup.png"), full_page=True)
            browser.close()
    finally:
        server.shutdown()
        app.capture.close()
        clinic.close()
    print(f"wrote {DOCS / 'app-visit.png'} and {DOCS / 'app-followup.png'}")


if __name__ == "__main__":
    main()
