"""Importing recordings into a visit: a NetCDF trial, a raw recording with its calibration, a vendor export."""

import numpy as np
import pytest

import plantar
from plantar.clinic import ClinicError
from plantar.io import FileFormatError


@pytest.fixture
def visit(clinic):
    clinic.add_patient("P001")
    return clinic.add_visit("P001", date="2024-03-01")


def _tekscan(path, frames, seconds_per_frame=0.01, spacing_mm=5.08):
    """A small Tekscan ASCII movie (kPa) of ``frames``; its name on the vendor side is a patient's."""
    n, rows, cols = frames.shape
    lines = ["DATA_TYPE MOVIE", "VERSION Tekscan Pressure Measurement System 6.33", "HARDWARE 116-1974-1",
             "SENSOR_TYPE FSCAN", f"ROWS {rows}", f"COLS {cols}", f"ROW_SPACING {spacing_mm} mm",
             f"COL_SPACING {spacing_mm} mm", "SENSEL_AREA 25.8064 mm2", "NOISE_THRESHOLD 3",
             f"SECONDS_PER_FRAME {seconds_per_frame}", "TIME Thursday, 16 February 2017 11:26:22 a.m.",
             "SATURATION_PRESSURE 1514.73 KPa", "CALIBRATION_POINT_1 75.0 (Kgs) 4798 (Raw Sum) 240 (Number of Loaded Cells)",
             "CALIBRATION_MODE_1 Walk", "COMMENTS:", "Mrs Vendorname, left foot", "START_FRAME 1", f"END_FRAME {n}",
             "UNITS KPa", "MIRROR_ROW 0", "MIRROR_COL 0", "ASCII_DATA @@", ""]  # fmt: skip
    for k, frame in enumerate(frames):
        lines.append(f"Frame {k + 1}")
        lines += [",".join(str(int(v)) for v in row) for row in frame]
        lines.append("")
    lines.append("@@")
    path.write_text("\n".join(lines) + "\n", encoding="latin-1")
    return path


def test_a_vendor_export_is_converted_on_the_way_in(clinic, visit, tmp_path):
    frames = np.random.default_rng(0).integers(0, 400, (12, 6, 4)).astype(float)
    source = _tekscan(tmp_path / "Vendorname_walk.asf", frames)
    expected = plantar.read(source)
    row = clinic.import_trial(source, visit=visit, kind="orthotic", label="orthotic A")
    assert row["path"].endswith(".nc") and row["source_format"] == expected.attrs["source_format"]
    assert (row["frames"], row["sampling_rate_hz"]) == (12, pytest.approx(100.0))
    stored = clinic.read_trial(row["uid"])
    np.testing.assert_array_equal(stored.pressure.values, expected.pressure.values)
    assert stored.attrs["subject"] == "P001"  # whatever the vendor file called the subject
    assert source.is_file()  # the original stays where it was


def test_a_raw_recording_is_stored_in_kpa_through_its_calibration(clinic, visit, tmp_path):
    from plantar import calibration
    from plantar.drivers.sim import VirtualMat, bench_calibration

    mat = VirtualMat(shape=(60, 40), walk_s=1.0)
    cal = bench_calibration(mat)
    calibration.save(cal, tmp_path / "mat.pmcal.nc")
    rng = np.random.default_rng(4)
    pressure = np.zeros((30, 60, 40))
    pressure[:, 20:40, 10:25] = np.linspace(50, 250, 30)[:, None, None]
    raw = plantar.make_counts(mat.sensor.counts(pressure, rng), pitch_mm=tuple(mat.info["pitch_mm"]), rate_hz=100.0,
                              device=cal.attrs["device"], adc_bits=mat.info["adc_bits"])  # fmt: skip
    plantar.save(raw, tmp_path / "raw.nc")
    with pytest.raises(ClinicError, match="raw recording in counts; give a calibration"):
        clinic.import_trial(tmp_path / "raw.nc", visit=visit, kind="barefoot")
    row = clinic.import_trial(tmp_path / "raw.nc", visit=visit, kind="barefoot", calibration=tmp_path / "mat.pmcal.nc")
    expected = calibration.apply(plantar.read(tmp_path / "raw.nc"), calibration.load(tmp_path / "mat.pmcal.nc"))
    stored = clinic.read_trial(row["uid"])
    np.testing.assert_array_equal(stored.pressure.values, expected.pressure.values)
    assert row["calibration_id"] == cal.attrs["calibration_id"] != ""
    assert row["device"] == cal.attrs["device"]


def test_an_unreadable_file_is_named_and_adds_nothing(clinic, visit, tmp_path):
    (tmp_path / "junk.csv").write_text("not,a,recording\n")
    with pytest.raises(FileFormatError, match=r"cannot read '.*junk.csv'"):
        clinic.import_trial(tmp_path / "junk.csv", visit=visit, kind="shod")
    assert len(clinic.trials()) == 0
