"""Moticon OpenGo text exports (.txt and the semicolon .csv): the real walks and small files written here."""

import numpy as np
import pytest
from vendor_helpers import assert_names, real_file, run_convert

import plantar
from plantar.io import FileFormatError, moticon, pedar, pliance

#: The export prints total force to 1 N: exact to half of that.
FORCE_ROUNDING_N = 0.5


def _walk():
    return real_file("moticon-opengo", "230927_102114.txt")


def _events():
    return real_file("moticon-opengo", "text_export_events.txt")


def _columns(path):
    """The file's table parsed plainly, row by row: header names and a float array (NaN = empty)."""
    lines = path.read_text(encoding="utf-8").split("\n")
    names = next(line for line in lines if line.startswith("# time"))[2:].split("\t")
    rows = [line.split("\t") for line in lines if line and not line.startswith("#")]
    values = np.array([[float(c) if c and c != "Event" else np.nan for c in row] for row in rows])
    return names, values


def _side_force(trial, side):
    here = trial.sensor_side == side
    return ((trial.pressure * trial.sensor_area).where(here).sum("sensor", min_count=1) / 1000.0).values


@pytest.mark.parametrize("which", ["walk", "events"])
def test_the_real_exports_read_with_every_value_of_the_file(which):
    path = _walk() if which == "walk" else _events()
    trial = plantar.read(path)
    names, table = _columns(path)
    col = {name: k for k, name in enumerate(names)}
    assert trial.sizes["time"] == table.shape[0] and trial.sizes["sensor"] == 32
    assert trial.attrs["sampling_rate_hz"] == pytest.approx(100.0)
    np.testing.assert_allclose(trial.time.values, table[:, 0] - table[0, 0], atol=1e-9)
    for side in ("left", "right"):
        here = trial.sensor_side.values.astype(str) == side
        expected = table[:, [col[f"{side} pressure {k}[N/cm²]"] for k in range(1, 17)]] * 10.0
        np.testing.assert_array_equal(trial.pressure.values[:, here], expected.astype(np.float32))
        np.testing.assert_array_equal(trial[f"force_reported_{side}"].values, table[:, col[f"{side} total force[N]"]])
        np.testing.assert_array_equal(
            trial[f"cop_vendor_x_{side}"].values, table[:, col[f"{side} center of pressure X[-0.5...+0.5]"]]
        )
        np.testing.assert_array_equal(trial[f"acc_z_{side}"].values, table[:, col[f"{side} acceleration Z[g]"]])
    assert trial.attrs["force_variable"] == "force_reported"
    assert trial.attrs["insole_size"] == ("7" if which == "walk" else "3")


def test_samples_missing_from_one_insole_are_nan_on_that_side_only():
    trial = plantar.read(_walk())
    side = trial.sensor_side.values.astype(str)
    missing_left = np.isnan(trial.pressure.values[:, side == "left"]).all(axis=1)
    missing_right = np.isnan(trial.pressure.values[:, side == "right"]).all(axis=1)
    assert missing_left.sum() == 63 and missing_right.sum() == 13  # as counted in the file
    assert missing_left[:3].all() and missing_right[-3:].all()  # the left insole starts late, the right ends early
    assert np.isnan(trial.force_reported_left.values[missing_left]).all()
    assert not np.isnan(trial.pressure.values[~missing_left][:, side == "left"]).any()


@pytest.mark.parametrize("which", ["walk", "events"])
def test_force_and_cop_from_the_sensors_equal_the_files_within_one_percent(which):
    """The sensor layout and area shares are shipped; per file only the total area is fitted (one number).

    On the size-3 export the shares derived from both files must still give the file's force
    and COP: an independent check of the layout.
    """
    trial = plantar.read(_walk() if which == "walk" else _events())
    for side in ("left", "right"):
        reported = trial[f"force_reported_{side}"].values
        computed = _side_force(trial, side)
        loaded = reported > 100.0
        assert loaded.sum() > 100
        np.testing.assert_allclose(computed[loaded], reported[loaded], rtol=0.01)
        here = trial.sensor_side == side
        weight = (trial.pressure * trial.sensor_area).where(here)
        total = weight.sum("sensor")
        length = trial.attrs["insole_length_mm"]
        for axis in ("x", "y"):
            cop = ((weight * trial[f"sensor_{axis}"]).sum("sensor") / total).values
            error = np.abs(cop - trial[f"cop_{axis}_reported_{side}"].values)[loaded]
            assert error.max() < 0.01 * length  # within 1 % of the insole length
            assert np.median(error) < 0.001 * length


def test_the_layout_has_toes_forward_left_at_smaller_x_and_medial_sides_facing():
    trial = plantar.read(_walk())
    side = trial.sensor_side.values.astype(str)
    x, y, number = trial.sensor_x.values, trial.sensor_y.values, trial.sensor_number.values
    split = trial.attrs["side_split_x_mm"]
    assert x[side == "left"].max() < split < x[side == "right"].min()
    for s in ("left", "right"):
        here = side == s
        assert y[here & (number == 14)][0] - y[here & (number == 1)][0] > 0.6 * trial.attrs["insole_length_mm"]
        # sensor 14 (hallux, the highest toe pressure) lies nearer the other insole than sensor 16
        assert abs(x[here & (number == 14)][0] - split) < abs(x[here & (number == 16)][0] - split)
        peaks = np.nanmax(trial.pressure.values[:, here], axis=0)
        assert peaks[13] == peaks[13:16].max()
        # the medial arch (7) carries next to nothing, the lateral midfoot (8) a real load
        assert peaks[6] < 0.2 * peaks[7]
        # heel sensors (1-4) are the ones loaded at the vendor's heel strikes
        strikes = np.flatnonzero(trial[f"step_event_{s}"].values == 1)
        assert strikes.size == 7
        for k in strikes:
            after = trial.pressure.values[k + 2, here]
            assert after[:4].sum() > 0.8 * np.nansum(after)


def test_the_vendors_step_events_and_manual_events_are_kept():
    trial = plantar.read(_walk())
    time = trial.time.values
    left, right = trial.step_event_left.values, trial.step_event_right.values
    np.testing.assert_allclose(time[left == 1], [3.00, 4.52, 5.82, 7.09, 8.36, 9.62, 10.90], atol=1e-9)
    np.testing.assert_allclose(time[left == 2], [3.97, 5.31, 6.57, 7.85, 9.12, 10.38, 11.73], atol=1e-9)
    np.testing.assert_allclose(time[right == 1], [3.80, 5.19, 6.43, 7.73, 8.99, 10.24, 11.58], atol=1e-9)
    assert (right == 2).sum() == 7 and set(np.unique(left)) == {0, 1, 2}
    events = plantar.read(_events())
    right_events = events.event_right_events
    t0 = 0.01  # the export's first sample
    np.testing.assert_allclose(events.time.values[right_events.values > 0] + t0,
                               [0.77, 1.12, 1.89, 2.24, 2.99, 3.34, 4.09, 4.41], atol=1e-9)
    assert right_events.values[right_events.values > 0].tolist() == [1, 2] * 4
    assert right_events.attrs["event_labels"] == "Event"


def test_the_semicolon_csv_variant_reads_the_same(tmp_path):
    text = _walk().read_text(encoding="utf-8")
    csv = tmp_path / "walk.csv"
    csv.write_text(text.replace("\t", ";"), encoding="utf-8")
    comma = tmp_path / "walk_comma.csv"
    head, _, body = text.partition("\n0.00")
    comma.write_text(head.replace("\t", ";") + "\n0,00" + body.replace(".", ",").replace("\t", ";"), encoding="utf-8")
    trial = plantar.read(_walk())
    bare = tmp_path / "walk_bare.csv"
    bare.write_text(text.replace("\t", ";").replace("# time;", "time;"), encoding="utf-8")
    for path in (csv, comma, bare):
        again = plantar.read(path)
        for name in ("pressure", "force_reported_left", "cop_vendor_y_right", "step_event_left"):
            np.testing.assert_array_equal(again[name].values, trial[name].values)
        assert again.attrs["source_format"].endswith("(.csv, semicolons)")


def test_moticon_is_recognised_from_its_content_only():
    head = _walk().read_bytes()[:4096]
    assert moticon.sniff(head) and not pedar.sniff(head) and not pliance.sniff(head)
    for folder, name in (("novel-pedar", "pedar_example.asc"), ("novel-pliance", "pliance_test.asc")):
        assert not moticon.sniff(real_file(folder, name).read_bytes()[:4096])


def test_convert_writes_the_moticon_trial_exactly(tmp_path):
    trial = plantar.read(_walk())
    again = run_convert(_walk(), tmp_path)
    assert again.identical(trial)


# --------------------------------------------------------------------------------------
# small files written here


def _small(rows=None, *, duration="00:00.020", extra_header=()):
    names = ["time"] + [f"left pressure {k}[N/cm²]" for k in range(1, 17)] + ["left total force[N]", "left steps[]"]
    if rows is None:
        rows = [
            ["0.00"] + ["1.00"] * 16 + ["200.00", "11.00"],
            ["0.01"] + ["2.00"] * 16 + ["400.00", ""],
            ["0.02"] + ["0.00"] * 16 + ["0.00", "15.00"],
        ]
    return "\n".join(
        ["# Start time: 27.09.2023 10:21:14.922", f"# Duration: {duration}", "# Sensor insoles: Left SN1", "# Size: 7",
         *extra_header, "# " + "\t".join(names), *("\t".join(r) for r in rows), ""]
    )


def _write(tmp_path, text, name="walk.txt"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_a_one_insole_file_reads(tmp_path):
    trial = plantar.read(_write(tmp_path, _small()))
    assert trial.attrs["side"] == "left" and trial.sizes["sensor"] == 16
    np.testing.assert_allclose(_side_force(trial, "left"), [200.0, 400.0, 0.0], rtol=1e-9)
    assert trial.step_event_left.values.tolist() == [1, 0, 2]
    # no loaded sample: the total area cannot be fitted and is the size's estimate (stated in the attrs)
    idle = plantar.read(_write(tmp_path, _small(_rows(lambda r: [row.__setitem__(slice(1, 18), ["0.00"] * 17) for row in r])),
                               "idle.txt"))
    assert float(idle.sensor_area.sum()) == pytest.approx(20_480.0)
    assert "not fittable" in idle.attrs["sensor_area_source"]


def _rows(change):
    rows = [["0.00"] + ["1.00"] * 16 + ["200.00", "11.00"], ["0.01"] + ["2.00"] * 16 + ["400.00", ""],
            ["0.02"] + ["0.00"] * 16 + ["0.00", "15.00"]]
    change(rows)
    return rows


@pytest.mark.parametrize(
    ("text", "parts"),
    [
        (_small(duration="00:00.050"), ["line 8", "samples", "duration of 0.05 s", "cut short"]),
        (_small(_rows(lambda r: r[1].__setitem__(3, "x7"))), ["line 7", "column 4", "'x7' is not a number"]),
        (_small(_rows(lambda r: r[1].__setitem__(3, ""))), ["line 7", "left pressure 3", "empty cell"]),
        (_small(_rows(lambda r: r[2].pop())), ["line 8", "row", "18 cells, expected 19", "cut short"]),
        (_small(_rows(lambda r: r[1].__setitem__(5, "-3.00"))), ["line 7", "left pressure 5", "not a pressure"]),
        (_small(_rows(lambda r: r[1].__setitem__(18, "12.00"))), ["line 7", "left steps", "not a step code"]),
        (_small(_rows(lambda r: r[2].__setitem__(0, "0.01"))), ["line 8", "column 'time'", "does not follow"]),
        (_small(extra_header=["# Size: big"]), ["line 5", "header field 'Size'"]),
        (_small(_rows(lambda r: r[0].__setitem__(17, "3.4e38"))), ["line 6", "left total force", "outside 0 .. 100000 N"]),
    ],
)
def test_a_broken_file_is_refused_naming_the_line_and_field(tmp_path, text, parts):
    path = _write(tmp_path, text)
    with pytest.raises(FileFormatError) as exc:
        plantar.read(path)
    assert "\n" not in str(exc.value)
    assert_names(exc, path, *parts)


def test_a_text_file_of_no_known_format_is_refused(tmp_path):
    path = _write(tmp_path, "shopping\n", "notes.txt")
    with pytest.raises(FileFormatError, match="not a format plantar knows"):
        plantar.read(path)
    # the same text handed to the reader by name is refused naming the line and field
    with pytest.raises(FileFormatError) as exc:
        plantar.read(path, format="moticon")
    assert_names(exc, path, "'# time' line of column names", "missing")
