"""Read speed of a large Tekscan ASCII movie (``.asf``).

Writes a Tekscan movie of about 100 MB: an in-shoe sensor of 60 x 21 sensels
(5.08 mm) with the trimmed outline as ``B`` cells and integer kPa inside, walking
steps of a few hundred kPa, CRLF line endings (as Tekscan writes them). Then times
``plantar.read`` on it and prints, measured in this one run:

- read speed in MB/s of file            target >= 60 MB/s
- read speed / target                   target >= 1
- the read speed per second of CPU time, and pandas' C parser alone on the
  rows' text in the same run (what a C-level CSV parser gives on these cells)
- peak memory of one read (in a fresh process), relative to the array read
  and to the file
- how busy the machine was while the reads were timed

and checks that what was read equals what was written, bit for bit. Times are
the best of several repeats. Run: ``python benchmarks/read_tekscan.py [--busy 1]``
(``--busy 1`` keeps another core busy, the condition the target is set for).
"""

import argparse
import io
import os
import subprocess
import sys
import tempfile
import time

import numpy as np
from timing import BusyCores, MachineLoad, add_load_arguments

import plantar

TARGET_MB_S = 60.0

#: Run in a fresh process: the peak resident memory one read adds to the process, in bytes
#: (VmHWM, which starts afresh with the process; ru_maxrss would keep the parent's peak from before exec).
_PEAK_MEMORY_SCRIPT = """
import sys
import plantar

def peak_bytes():
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) * 1024 for line in f if line.startswith("VmHWM:"))

before = peak_bytes()
trial = plantar.read(sys.argv[1])
print(peak_bytes() - before, trial.pressure.nbytes)
"""
ROWS, COLS, PITCH_MM, SECONDS_PER_FRAME = 60, 21, 5.08, 0.01

HEADER = """DATA_TYPE MOVIE
VERSION Tekscan Pressure Measurement System 6.33
HARDWARE 116-1974-1
SENSOR_TYPE FSCAN
ROWS {rows}
COLS {cols}
ROW_SPACING {pitch} mm
COL_SPACING {pitch} mm
SENSEL_AREA 25.8064 mm2
NOISE_THRESHOLD 3
SECONDS_PER_FRAME {spf}
TIME Thursday, 16 February 2017 11:26:22 a.m.
CALIBRATION_POINT_1 75 (Kgs) 4798 (Raw Sum) 240 (Number of Loaded Cells)
COMMENTS:
benchmark
START_FRAME 1
END_FRAME {n_frames}
UNITS KPa
MIRROR_ROW 0
MIRROR_COL 0
ASCII_DATA @@

"""


def outline():
    """True where the insole has a sensel: a rounded insole shape on the 60 x 21 grid."""
    row, col = np.mgrid[0:ROWS, 0:COLS]
    half_width = 10.5 * np.sqrt(np.clip(1 - ((row - 27) / 33.0) ** 2, 0, 1)) * (0.75 + 0.25 * (row < 30))
    return np.abs(col - 10) <= half_width


def stance_frames(n_distinct, rng):
    """``n_distinct`` integer kPa frames of a heel-to-toe roll-off, NaN outside the outline."""
    inside = outline()
    row, col = np.mgrid[0:ROWS, 0:COLS]
    frames = np.zeros((n_distinct, ROWS, COLS))
    for k, phase in enumerate(np.linspace(-0.2, 1.2, n_distinct)):
        centre = 50 - 45 * phase  # heel (row 50) to toes (row 5)
        blob = 600 * np.exp(-(((row - centre) / 6.0) ** 2 + ((col - 10) / 4.0) ** 2))
        frames[k] = np.where(blob > 3, blob + rng.uniform(0, 20, blob.shape), 0)
    frames = np.rint(frames)
    frames[:, ~inside] = np.nan
    return frames


def frame_text(frame):
    lines = (",".join("B" if np.isnan(v) else str(int(v)) for v in row) for row in frame)
    return "\r\n".join(lines) + "\r\n"


def write_movie(path, megabytes, rng):
    """Write a movie of about ``megabytes`` MB; return the frames written and the text of their rows alone."""
    distinct = stance_frames(64, rng)
    texts = [frame_text(f) for f in distinct]
    per_frame = np.mean([len(t) for t in texts]) + 12
    n_frames = int(megabytes * 1e6 / per_frame)
    order = np.arange(n_frames) % len(distinct)
    with open(path, "w", newline="") as f:
        f.write(
            HEADER.format(rows=ROWS, cols=COLS, pitch=PITCH_MM, spf=SECONDS_PER_FRAME, n_frames=n_frames).replace(
                "\n", "\r\n"
            )
        )
        f.write("".join(f"Frame {i + 1}\r\n{texts[k]}\r\n" for i, k in enumerate(order)))
        f.write("@@\r\n")
    return distinct[order], "".join(texts[k] for k in order).encode()


def c_parser_alone(rows_text):
    """Decode the rows' text (no header, no frame lines) with pandas' C parser alone, B as NaN."""
    import pandas as pd

    return pd.read_csv(io.BytesIO(rows_text), header=None, dtype=np.float32, na_values=["B"],
                       keep_default_na=False, engine="c").to_numpy()  # fmt: skip


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--megabytes", type=float, default=100.0, help="file size (default 100)")
    parser.add_argument("--repeats", type=int, default=3, help="timed reads (default 3)")
    add_load_arguments(parser)
    args = parser.parse_args()

    rng = np.random.default_rng(0)
    with tempfile.TemporaryDirectory(dir=os.environ.get("PLANTAR_BENCH_DIR")) as folder:
        path = os.path.join(folder, "walk.asf")
        start = time.perf_counter()
        written, rows_text = write_movie(path, args.megabytes, rng)
        size = os.path.getsize(path)
        print(f"movie: {written.shape[0]} frames of {ROWS} x {COLS} sensels, {size / 1e6:.1f} MB "
              f"(written in {time.perf_counter() - start:.1f} s)")  # fmt: skip
        best = best_cpu = best_c = float("inf")
        with BusyCores(args.busy), MachineLoad() as load:
            for _ in range(args.repeats):
                start, start_cpu = time.perf_counter(), time.process_time()
                trial = plantar.read(path)
                best = min(best, time.perf_counter() - start)
                best_cpu = min(best_cpu, time.process_time() - start_cpu)
                start = time.perf_counter()
                c_parser_alone(rows_text)
                best_c = min(best_c, time.perf_counter() - start)
        expected = written[:, ::-1, :].astype(np.float32)  # toes toward +y
        same = np.array_equal(trial.pressure.values.view(np.uint32), expected.view(np.uint32))
        assert same, "values read differ from those written"
        del trial, written, expected, rows_text
        peak, array_bytes = (int(v) for v in subprocess.run(
            [sys.executable, "-c", _PEAK_MEMORY_SCRIPT, path], check=True, capture_output=True, text=True,
            cwd=folder, env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}).stdout.split())  # fmt: skip
    speed = size / 1e6 / best
    ratio = speed / TARGET_MB_S
    print(f"read:  {best:.2f} s = {speed:.1f} MB/s = {ratio:.2f} x target   (target >= {TARGET_MB_S:g} MB/s)")
    print(f"       {size / 1e6 / best_cpu:.1f} MB per second of this process's CPU time (what one free core gives)")
    print(f"the C parser alone on the rows' text (pandas.read_csv): {size / 1e6 / best_c:.1f} MB/s of file; "
          f"read / C parser alone = {best_c / best:.2f}")  # fmt: skip
    print(f"peak memory of one read: {peak / 1e6:.0f} MB = {peak / array_bytes:.2f} x the array read "
          f"({array_bytes / 1e6:.0f} MB), {peak / size:.2f} x the file")  # fmt: skip
    print(load.line())
    ok = speed >= TARGET_MB_S
    print("target met" if ok else "TARGET MISSED")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
