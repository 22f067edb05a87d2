"""Take the screenshot of the report's first screen shown in the README.

Run ``plantar demo -o plantar-demo`` first, then
``python docs/screenshot.py plantar-demo/report.html``; needs Chromium and
playwright (``pip install -e '.[test]'``).
"""

import sys
from pathlib import Path

from playwright.sync_api import sync_playwright

FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
         "--disable-sync", "--no-first-run"]  # fmt: skip


def main():
    report = Path(sys.argv[1]).resolve()
    out = Path(__file__).with_name("report-first-screen.png")
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path="/usr/bin/chromium", args=FLAGS)
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        page.goto(report.as_uri(), wait_until="load")
        page.wait_for_function("document.querySelectorAll('svg.main-svg').length > 0")
        page.wait_for_timeout(1000)
        page.screenshot(path=str(out))
        browser.close()
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
