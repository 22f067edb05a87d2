"""Screenshots of the clinic app for the docs: a visit page while recording on the virtual mat, and after.

    PYTHONPATH=. python docs/app_screenshots.py   (needs Chromium and playwright; writes docs/clinic-app-*.png)
"""
import logging
import shutil
import tempfile
import threading
import time
from pathlib import Path
from werkzeug.serving import make_server
from playwright.sync_api import sync_playwright
from plantar.app import make_app
from plantar.clinic import Clinic
logging.getLogger("werkzeug").setLevel(logging.WARNING)
clinic = Clinic.init(Path(tempfile.mkdtemp()) / "clinic")
clinic.add_patient("P012", name="Jane Example", birth_year=1961)
v = clinic.add_visit("P012", date="2024-03-01", complaint="right heel pain")
app = make_app(clinic, demo=True)
server = make_server("127.0.0.1", 0, app.server, threaded=True)
threading.Thread(target=server.serve_forever, daemon=True).start()
url = f"http://127.0.0.1:{server.server_port}"
with sync_playwright() as pw:
    b = pw.chromium.launch(executable_path=shutil.which("chromium"), args=["--no-sandbox", "--disable-gpu"])
    page = b.new_page(viewport={"width": 1100, "height": 1250})
    page.goto(f"{url}/visit/{v}"); page.wait_for_selector("#connect"); page.click("#connect")
    page.wait_for_selector("#mat-message:has-text('Connected')", timeout=60000)
    page.click("#start")
    # a moment with both feet on the mat
    page.wait_for_function("['left', 'right'].every(s => /^[1-9]\\d* N/.test("
                           "document.querySelector('#live-bar-' + s + '-text').innerText))", timeout=30000)
    page.screenshot(path="docs/clinic-app-capture.png")
    page.click("#stop"); page.wait_for_selector("#quality-summary", timeout=60000); time.sleep(0.5)
    page.screenshot(path="docs/clinic-app-visit.png", full_page=True)
    b.close()
app.capture.close(); server.shutdown()
