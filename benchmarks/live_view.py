"""The clinic app's live view in Chromium: frames drawn per second and delay from the mat to the page.

A virtual mat streams into the app's capture controller; headless Chromium
opens a visit page, connects the mat and counts the live map's redraws (the
``plantar-live-drawn`` events the page's script dispatches once it has drawn a
frame on the map's canvas) for ``--seconds``; the frames/s drawn counts
distinct frames shown, and each redraw's delay is the page's wall clock at the
redraw minus the wall-clock time the frame it shows arrived from the mat (the
server and the browser share the machine's clock).
Targets: at least 20 frames/s drawn on a 64 x 64 mat and 10 on a 400 x 100
walkway, median delay under 200 ms.

    python benchmarks/live_view.py [--shape 64x64] [--interval-ms 25] [--seconds 10] [--busy 1]
"""

import argparse
import logging
import shutil
import sys
import tempfile
import threading
from pathlib import Path

import numpy as np

from timing import BusyCores, MachineLoad, add_load_arguments

BROWSER_FLAGS = ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"]
TARGET_DELAY_MS = 200.0


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shape", default="64x64", help="mat ROWSxCOLS (default 64x64; a walkway: 400x100)")
    parser.add_argument("--interval-ms", type=int, default=None,
                        help="the page's shortest poll interval (default the app's, LIVE_INTERVAL_MS)")
    parser.add_argument("--seconds", type=float, default=10.0, help="measure for this long (default 10)")
    add_load_arguments(parser)
    args = parser.parse_args()
    rows, cols = (int(v) for v in args.shape.lower().split("x"))
    target_hz = 20.0 if rows * cols <= 64 * 64 else 10.0

    from playwright.sync_api import sync_playwright
    from werkzeug.serving import make_server

    from plantar.app import make_app
    from plantar.app._web import LIVE_INTERVAL_MS
    from plantar.clinic import Clinic
    from plantar.drivers.sim import VirtualMat

    chromium = next((shutil.which(n) for n in ("chromium", "chromium-browser", "google-chrome") if shutil.which(n)),
                    None)  # fmt: skip
    if chromium is None:
        print("needs Chromium")
        return 2
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    with tempfile.TemporaryDirectory() as tmp, Clinic.init(Path(tmp) / "clinic") as clinic:
        clinic.add_patient("B001")
        visit = clinic.add_visit("B001", date="2024-03-01")
        interval_ms = LIVE_INTERVAL_MS if args.interval_ms is None else args.interval_ms
        app = make_app(clinic, live_interval_ms=interval_ms)
        server = make_server("127.0.0.1", 0, app.server, threaded=True)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        mat = VirtualMat(shape=(rows, cols), pitch_mm=5.0 if rows > 100 else 8.0, walk_s=30.0).start()
        try:
            app.capture.connect(mat.url)
            with sync_playwright() as pw, BusyCores(args.busy), MachineLoad() as load:
                browser = pw.chromium.launch(executable_path=chromium, args=BROWSER_FLAGS)
                page = browser.new_page(viewport={"width": 1300, "height": 1000})
                page.goto(f"http://127.0.0.1:{server.server_port}/visit/{visit}", wait_until="load")
                page.wait_for_selector("#capture-status", timeout=30_000)
                page.wait_for_function("document.querySelector('#capture-status').innerText.includes('frames/s')",
                                       timeout=30_000)  # fmt: skip
                page.evaluate("""() => {
                    window.__draws = [];
                    window.addEventListener('plantar-live-drawn',
                        (e) => window.__draws.push([e.detail.drawn_unix_ms, e.detail.arrived_unix_ms]));
                }""")
                page.wait_for_timeout(args.seconds * 1000)
                draws = np.array(page.evaluate("window.__draws"), dtype=float).reshape(-1, 2)
                browser.close()
        finally:
            app.capture.close()
            mat.stop()
            server.shutdown()
    new = draws[np.r_[True, np.diff(draws[:, 1]) > 0]] if len(draws) else draws  # redraws of a newer frame
    span_s = (new[-1, 0] - new[0, 0]) / 1000 if len(new) > 1 else float("nan")
    drawn_hz = (len(new) - 1) / span_s if span_s > 0 else 0.0
    delay = new[:, 0] - new[:, 1]
    p50, p90, p99 = np.percentile(delay, [50, 90, 99]) if len(delay) else (np.nan,) * 3
    print(f"mat {rows} x {cols}, poll every {interval_ms} ms at most, {args.seconds:g} s")
    print(f"drawn: {drawn_hz:.1f} frames/s   (target >= {target_hz:g})")
    print(f"delay mat -> page: median {p50:.0f} ms, 90 % {p90:.0f} ms, 99 % {p99:.0f} ms   "
          f"(target median < {TARGET_DELAY_MS:g} ms)")  # fmt: skip
    print(load.line())
    ok = drawn_hz >= target_hz and p50 < TARGET_DELAY_MS
    print("targets met" if ok else "TARGETS MISSED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
