"""What plantar.read says about a file it cannot read: one line naming the file; nothing printed.

The attacks on the real recordings (cut copies and seeded mutants) are those of
``reader_attacks.py``, run here on small samples; ``python tests/io/reader_attacks.py``
runs them in full and prints the counts.
"""

import numpy as np
import pytest
from reader_attacks import FILES, attack_cuts, attack_mutants, attack_sheet, cut_positions
from vendor_helpers import real_file

import plantar
from plantar.io import FileFormatError


@pytest.mark.parametrize("name", ["walk.asf", "step.lst", "walk.csv", "step.xls", "stand.asc", "walk.nc", "walk.pmrec"])
def test_an_empty_file_is_called_empty(tmp_path, name):
    path = tmp_path / name
    path.write_bytes(b"")
    with pytest.raises(FileFormatError) as exc:
        plantar.read(path)
    assert str(exc.value) == f"cannot read '{path}': the file is empty"


def test_an_unknown_csv_is_not_a_format_plantar_knows(tmp_path):
    """.csv is Tekscan's and XSENSOR's ending: a CSV of neither is not 'not a Tekscan movie'."""
    path = tmp_path / "weights.csv"
    path.write_text("name,weight_kg\nA,71.5\nB,64.0\n")
    with pytest.raises(FileFormatError) as exc:
        plantar.read(path)
    message = str(exc.value)
    assert message.startswith(f"cannot read '{path}': not a format plantar knows (known: netcdf (.nc), tekscan")
    assert "xsensor (.csv)" in message and "Tekscan movie" not in message and "\n" not in message


def test_a_file_of_one_format_with_its_ending_is_explained_by_its_reader(tmp_path):
    """.lst is only emed's: its reader says what is wrong."""
    path = tmp_path / "notes.lst"
    path.write_text("shopping\n")
    with pytest.raises(FileFormatError, match=r"line 1: 'Page <n>' line: not found"):
        plantar.read(path)


def test_cut_positions_cover_the_tail_and_a_sample():
    data = b"".join(b"line %d\n" % k for k in range(500))
    cuts = cut_positions(data, tail_lines=20, line_sample=10, byte_sample=10, seed=1)
    boundaries = [i + 1 for i, byte in enumerate(data) if byte == 10][:-1]
    assert set(boundaries[-20:]) <= set(cuts)  # every line boundary near the end
    assert 0 in cuts and len(cuts) <= 1 + 20 + 10 + 10
    assert cuts == cut_positions(data, tail_lines=20, line_sample=10, byte_sample=10, seed=1)  # seeded


@pytest.fixture(params=FILES, ids=[f"{folder}/{name}" for folder, name, _ in FILES])
def real(request):
    folder, name, is_text = request.param
    return real_file(folder, name), is_text


def test_no_cut_of_a_real_file_reads_as_a_shorter_trial(real, tmp_path):
    """Every cut is refused in one line naming the file (and the line), or, for XSENSOR, lies between frames."""
    path, is_text = real
    counts, examples = attack_cuts(path, is_text, tmp_path, tail_lines=12, line_sample=6, byte_sample=6, seed=5)
    assert set(counts) <= {"refused", "same", "at a frame boundary"}, examples
    assert counts.get("refused", 0) >= 12


def test_every_mutant_of_a_real_file_is_refused_clearly_or_reads(real, tmp_path):
    """No other exception, no message without the file or the line, nothing printed."""
    path, is_text = real
    counts, examples = attack_mutants(path, is_text, tmp_path, n=20 if is_text else 6, seed=11)
    if path.suffix == ".xls":
        sheet, sheet_examples = attack_sheet(path, n=20, seed=11)
        for kind, n in sheet.items():
            counts[kind] = counts.get(kind, 0) + n
        examples.update({f"sheet {k}": v for k, v in sheet_examples.items()})
    assert "unclear" not in counts and "printed" not in counts, examples
    assert counts.get("refused", 0) > 0


def test_a_huge_value_in_a_real_file_is_refused_where_it_stands(tmp_path):
    """The two values of the defect report: a 1e300 Hz trial, a 3.4e38 kPa cell."""
    source = real_file("tekscan-fscan", "FrasP01L.asf")
    text = source.read_bytes()
    lines = text.split(b"\n")
    spf = next(i for i, line in enumerate(lines) if line.startswith(b"SECONDS_PER_FRAME"))
    path = tmp_path / "fast.asf"
    path.write_bytes(text.replace(b"SECONDS_PER_FRAME 0.032", b"SECONDS_PER_FRAME 1e-300"))
    with pytest.raises(FileFormatError, match=rf"line {spf + 1}: header field 'SECONDS_PER_FRAME': .*1e\+300 Hz"):
        plantar.read(path)
    emed = real_file("novel-emed", "emed_test.lst").read_bytes()
    at = emed.index(b"\n45\t", emed.index(b"Pict-No.: 60 ")) + 1
    cell = emed.index(b"\t", at) + 1
    mutant = emed[:cell] + b"3.4e38" + emed[emed.index(b"\t", cell) :]
    path = tmp_path / "huge.lst"
    path.write_bytes(mutant)
    line = mutant[:at].count(b"\n") + 1
    with pytest.raises(FileFormatError, match=rf"line {line}: column 1: 3\.4e\+38 is not a pressure"):
        plantar.read(path)


def test_reading_prints_nothing(real, tmp_path, capfd):
    """Library output goes to the logger: neither a good nor a cut file writes to stdout or stderr."""
    path, _ = real
    plantar.read(path)
    cut = tmp_path / f"cut{path.suffix}"
    data = path.read_bytes()
    for at in (len(data) * np.array([0.1, 0.4, 0.7, 0.95])).astype(int):
        cut.write_bytes(data[:at])
        with pytest.raises(FileFormatError):
            plantar.read(cut)
    assert capfd.readouterr() == ("", "")


def test_every_real_file_is_recognised_by_exactly_one_format(real):
    """Content decides: no two formats claim the same file (pedar and pliance share .asc)."""
    path, _ = real
    head = path.read_bytes()[: plantar.io._dispatch.SNIFF_BYTES]
    claimed = [f.name for f in plantar.io.known_formats().values() if f.sniff(head)]
    assert len(claimed) == 1, claimed
