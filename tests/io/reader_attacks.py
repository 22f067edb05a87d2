"""Attacks on the vendor readers: truncated copies and seeded mutants of the real recordings.

Used by ``tests/io/test_reader_attacks.py``, and runnable as a script that prints
the counts for every real file::

    python tests/io/reader_attacks.py [--quick]

Each attacked copy is read with :func:`plantar.read` and its outcome classified:

- ``refused``: a :class:`plantar.io.FileFormatError` of one line naming the file
  and, for text formats, the line (``line <n>``) and a field; for a spreadsheet
  the row (``line <n>``) where there is one, else the workbook;
- ``unclear``: any other exception, or a message of several lines, or one that
  does not name the file, or (text formats) names no line;
- ``same``: read, and identical to the complete file's trial (a cut that removed
  only what carries no data, or a mutant of a field the reader does not use);
- ``altered`` (mutants) / ``shorter`` (cuts): read, but a different trial. For a
  cut this is the defect: a truncated file read as a shorter trial. For a mutant
  it is a changed value the format cannot tell from a real one (a digit of a
  pressure), reported but not a defect;
- ``at a frame boundary`` (cuts of XSENSOR exports): read as the whole frames
  before the cut, which that format cannot tell from a complete file;
- ``printed``: anything written to the process's stdout or stderr while reading
  (counted on top of the outcome).

Cuts: every line boundary among the last ``tail_lines`` lines, a seeded sample of
the other line boundaries, and a seeded sample of byte offsets. Mutants (seeded):
a number replaced by a huge, negative, NaN, infinite or garbage value, a line
deleted or duplicated, a header line's value changed, bytes flipped.
"""

import contextlib
import os
import re
import sys
import tempfile
from pathlib import Path

import numpy as np

if __name__ == "__main__":  # run as a script from the repository root
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import plantar
from plantar.io import FileFormatError

REAL = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "real"

#: (folder, file, is text) of every real recording a reader opens.
FILES = [
    ("tekscan-fscan", "FrasP01L.asf", True),
    ("tekscan-fscan", "FrasP01R.asf", True),
    ("novel-emed", "emed_test.lst", True),
    ("xsensor", "xsensor_data.csv", True),
    ("novel-pliance", "pliance_test.asc", True),
    ("rsscan-footscan", "footscan_test.xls", False),
    ("novel-pedar", "pedar_example.asc", True),
    ("moticon-opengo", "230927_102114.txt", True),
    ("moticon-opengo", "text_export_events.txt", True),
]

#: Values a number is replaced with.
BAD_NUMBERS = ["1e20", "-5", "nan", "NaN", "inf", "-inf", "x7", "99999999999999999999", "3.4e38", "", "1e-300",
               "0", "-0.0", "1,2", "\t"]  # fmt: skip
_NUMBER = re.compile(rb"(?<![\w.])-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?(?![\w.])")


@contextlib.contextmanager
def captured_output():
    """Capture what the process writes to file descriptors 1 and 2 (yields a list, filled on exit)."""
    sys.stdout.flush()
    sys.stderr.flush()
    saved = os.dup(1), os.dup(2)
    out = []
    with tempfile.TemporaryFile() as sink:
        os.dup2(sink.fileno(), 1)
        os.dup2(sink.fileno(), 2)
        try:
            yield out
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            os.close(saved[0])
            os.close(saved[1])
            sink.seek(0)
            out.append(sink.read().decode("utf-8", "replace"))


def classify(path, is_text, reference):
    """Outcome of ``plantar.read(path)``: (kind, detail)."""
    try:
        trial = plantar.read(path)
    except FileFormatError as exc:
        message = str(exc)
        problems = []
        if "\n" in message.strip():
            problems.append("several lines")
        if str(path) not in message:
            problems.append("file not named")
        if is_text and not re.search(r"\bline \d+", message) and not message.endswith("the file is empty"):
            problems.append("no line")
        return ("unclear", f"{'; '.join(problems)}: {message}") if problems else ("refused", message)
    except Exception as exc:  # noqa: BLE001  (what the harness looks for)
        return "unclear", f"{type(exc).__name__}: {exc}"
    if reference is not None and trial.assign_attrs(source_file=reference.attrs["source_file"]).identical(reference):
        return "same", ""
    return "changed", f"{trial.sizes['time']} frames"


def cut_positions(data, *, tail_lines=150, line_sample=60, byte_sample=60, seed=0):
    """Offsets to cut ``data`` at: line boundaries near the end, a sample of the others, bytes."""
    rng = np.random.default_rng(seed)
    boundaries = np.flatnonzero(np.frombuffer(data, np.uint8) == 10) + 1
    boundaries = boundaries[boundaries < len(data)]
    tail = boundaries[-tail_lines:]
    rest = boundaries[:-tail_lines]
    sample = rng.choice(rest, min(line_sample, rest.size), replace=False) if rest.size else rest
    offsets = rng.integers(1, len(data), byte_sample)
    return sorted({0, *tail.tolist(), *sample.tolist(), *offsets.tolist()})


def mutate(data, rng, is_text):
    """One seeded mutant of ``data`` and what was done."""
    if not is_text:
        kind = "flip"
    else:
        kind = rng.choice(["number", "number", "header", "delete", "duplicate", "flip"])
    if kind == "flip":
        out = bytearray(data)
        for at in rng.integers(0, len(data), int(rng.integers(1, 4))).tolist():
            out[at] ^= 1 << int(rng.integers(0, 8))
        return bytes(out), f"flip {at}"
    lines = data.split(b"\n")
    if kind == "header":
        k = int(rng.integers(0, min(40, len(lines))))
    else:
        k = int(rng.integers(0, len(lines)))
    if kind == "delete":
        del lines[k]
        return b"\n".join(lines), f"delete line {k + 1}"
    if kind == "duplicate":
        lines.insert(k, lines[k])
        return b"\n".join(lines), f"duplicate line {k + 1}"
    numbers = list(_NUMBER.finditer(lines[k]))
    bad = BAD_NUMBERS[int(rng.integers(0, len(BAD_NUMBERS)))].encode()
    if numbers:
        m = numbers[int(rng.integers(0, len(numbers)))]
        lines[k] = lines[k][: m.start()] + bad + lines[k][m.end() :]
    else:  # a line of text: change its last word
        lines[k] = re.sub(rb"\S+(\s*)$", lambda w: bad + w.group(1), lines[k], count=1) if lines[k].strip() else bad
    return b"\n".join(lines), f"{kind} line {k + 1} -> {bad!r}"


def attack_cuts(source, is_text, workdir, **options):
    """Outcome counts of reading cut copies of ``source``; also the examples of each bad outcome."""
    data = source.read_bytes()
    reference = plantar.read(source)
    counts, examples = {}, {}
    target = Path(workdir) / f"cut{source.suffix}"
    for at in cut_positions(data, **options):
        target.write_bytes(data[:at])
        with captured_output() as printed:
            kind, detail = classify(target, is_text, reference)
        if kind == "changed":
            kind = "at a frame boundary" if _frame_boundary(data, at, source.suffix) else "shorter"
        counts[kind] = counts.get(kind, 0) + 1
        examples.setdefault(kind, (at, detail))
        if printed[0]:
            counts["printed"] = counts.get("printed", 0) + 1
            examples.setdefault("printed", (at, printed[0][:200]))
    return counts, examples


def _frame_boundary(data, at, suffix):
    """Whether a cut at ``at`` leaves whole frames and nothing else: what an XSENSOR export cannot reveal.

    The XSENSOR export has no frame count and no end marker: a file cut between
    two frames (its blank padding lines aside) is a complete file of fewer frames.
    """
    if suffix != ".csv":
        return False
    return data[at:].lstrip(b",\r\n").startswith(b"FRAME,") and b"\nFRAME," in data[:at]


def attack_sheet(source, *, n=300, seed=0):
    """Outcome counts of ``n`` seeded mutants of a footscan workbook's cells (not its bytes).

    The workbook is read once; each mutant changes its cells (a number made huge,
    negative, NaN or text; a row deleted or duplicated; a header cell changed) and
    is given to the reader in place of the workbook.
    """
    from plantar.io import footscan

    types, values = footscan._load_sheet(source)
    reference = plantar.read(source)
    rng = np.random.default_rng(seed)
    counts, examples = {}, {}
    original = footscan._load_sheet
    try:
        for _ in range(n):
            t, v = types.copy(), values.copy()
            kind = rng.choice(["number", "number", "header", "delete", "duplicate"])
            if kind in ("delete", "duplicate"):
                r = int(rng.integers(0, t.shape[0]))
                rows = np.delete(np.arange(t.shape[0]), r) if kind == "delete" else np.insert(np.arange(t.shape[0]), r, r)
                t, v = t[rows], v[rows]
                what = f"{kind} row {r + 1}"
            else:
                if kind == "header":
                    r, c = int(rng.integers(0, min(40, t.shape[0]))), 0
                else:
                    cells = np.argwhere(t == 2)
                    r, c = (int(i) for i in cells[int(rng.integers(0, len(cells)))])
                bad = BAD_NUMBERS[int(rng.integers(0, len(BAD_NUMBERS)))]
                try:
                    t[r, c], v[r, c] = 2, float(bad)
                except ValueError:
                    t[r, c], v[r, c] = 1, bad
                what = f"{kind} cell ({r + 1}, {c + 1}) -> {bad!r}"
            footscan._load_sheet = lambda path, t=t, v=v: (t, v)
            _tally(counts, examples, what, source, True, reference)
    finally:
        footscan._load_sheet = original
    return counts, examples


def _tally(counts, examples, what, path, is_text, reference):
    """Read one mutant, classify it against ``reference`` and count the outcome (and any printing)."""
    with captured_output() as printed:
        kind, detail = classify(path, is_text, reference)
    if kind == "changed":
        kind = "altered"
    counts[kind] = counts.get(kind, 0) + 1
    examples.setdefault(kind, []).append((what, detail))
    if printed[0]:
        counts["printed"] = counts.get("printed", 0) + 1
        examples.setdefault("printed", []).append((what, printed[0][:200]))


def attack_mutants(source, is_text, workdir, *, n=300, seed=0):
    """Outcome counts of reading ``n`` seeded mutants of ``source``; also examples."""
    data = source.read_bytes()
    reference = plantar.read(source)
    rng = np.random.default_rng(seed)
    counts, examples = {}, {}
    target = Path(workdir) / f"mutant{source.suffix}"
    for _ in range(n):
        mutant, what = mutate(data, rng, is_text)
        target.write_bytes(mutant)
        _tally(counts, examples, what, target, is_text, reference)
    return counts, examples


def main(argv):
    quick = "--quick" in argv
    total_cuts, total_mutants = {}, {}
    with tempfile.TemporaryDirectory() as workdir:
        for folder, name, is_text in FILES:
            source = REAL / folder / name
            if not source.is_file():
                print(f"{folder}/{name}: not available")
                continue
            cuts, cut_examples = attack_cuts(source, is_text, workdir, **({"tail_lines": 40, "line_sample": 20,
                                                                             "byte_sample": 20} if quick else {}))  # fmt: skip
            mutants, mutant_examples = attack_mutants(source, is_text, workdir, n=60 if quick else 300)
            if source.suffix == ".xls":
                sheet, sheet_examples = attack_sheet(source, n=60 if quick else 300)
                for k, v in sheet.items():
                    mutants[k] = mutants.get(k, 0) + v
                for k, v in sheet_examples.items():
                    mutant_examples.setdefault(k, []).extend(v)
            print(f"{folder}/{name}")
            print(f"  cuts:    {sum(v for k, v in cuts.items() if k != 'printed')} " + _counts(cuts))
            for kind in ("shorter", "unclear", "printed"):
                if kind in cut_examples:
                    print(f"    e.g. {kind}: cut at {cut_examples[kind][0]}: {cut_examples[kind][1][:160]}")
            print(f"  mutants: {sum(v for k, v in mutants.items() if k != 'printed')} " + _counts(mutants))
            for kind in ("unclear", "printed"):
                for what, detail in mutant_examples.get(kind, [])[:3]:
                    print(f"    e.g. {kind}: {what}: {detail[:160]}")
            for k, v in cuts.items():
                total_cuts[k] = total_cuts.get(k, 0) + v
            for k, v in mutants.items():
                total_mutants[k] = total_mutants.get(k, 0) + v
    print(f"all cuts:    {_counts(total_cuts)}")
    print(f"all mutants: {_counts(total_mutants)}")
    bad = total_cuts.get("shorter", 0) + total_cuts.get("unclear", 0) + total_mutants.get("unclear", 0)
    bad += total_cuts.get("printed", 0) + total_mutants.get("printed", 0)
    return 1 if bad else 0


def _counts(counts):
    order = ("refused", "same", "at a frame boundary", "shorter", "altered", "unclear", "printed")
    return "(" + ", ".join(f"{k} {counts[k]}" for k in order if k in counts) + ")"


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
