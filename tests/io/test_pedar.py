"""novel pedar insole exports (.asc): the real walk and small files written here."""

import numpy as np
import pytest
from vendor_helpers import assert_names, real_file, run_convert

import plantar
from plantar.io import FileFormatError, pedar, pliance
from plantar.io.pedar import insole_geometry

REFERENCE = real_file.__globals__["REAL"].parent / "reference" / "pedar-insoles"


def _real():
    return real_file("novel-pedar", "pedar_example.asc")


def _reference_areas(size):
    path = REFERENCE / "sensor_areas_mm2.csv"
    if not path.is_file():
        pytest.skip("pedar reference areas not available")
    table = np.genfromtxt(path, delimiter=",", names=True)
    return table[size]


# --------------------------------------------------------------------------------------
# the real walk


def test_the_real_walk_reads_both_insoles_with_every_value_of_the_file():
    path = _real()
    trial = plantar.read(path)
    table = np.loadtxt(path, skiprows=10, usecols=range(199), delimiter="\t", encoding="latin-1")
    assert trial.sizes["time"] == table.shape[0] == 1505  # 15.050 s at 0.01 s, as the header states
    assert trial.attrs["sampling_rate_hz"] == 100.0 and trial.attrs["insole_size"] == "y"
    np.testing.assert_array_equal(trial.pressure.values, table[:, 1:].astype(np.float32))
    np.testing.assert_allclose(trial.time.values, table[:, 0] - 0.01, atol=1e-9)
    side = trial.sensor_side.values.astype(str)
    assert (side[:99] == "left").all() and (side[99:] == "right").all()
    np.testing.assert_array_equal(trial.sensor_number.values, np.tile(np.arange(1, 100), 2))
    assert trial.attrs["start_time"] == "2023-04-25T10:49:00"


def test_force_is_the_sum_of_pressure_times_the_published_areas_of_the_size():
    """The file states no force: force per frame must be sum(kPa x published area of size y)."""
    path = _real()
    trial = plantar.read(path)
    areas = _reference_areas("y")
    np.testing.assert_array_equal(trial.sensor_area.values, np.tile(areas, 2))
    table = np.loadtxt(path, skiprows=10, usecols=range(199), delimiter="\t", encoding="latin-1")
    expected_n = table[:, 1:100] @ areas / 1000.0, table[:, 100:199] @ areas / 1000.0
    for k, side in enumerate(("left", "right")):
        got = (trial.pressure * trial.sensor_area).where(trial.sensor_side == side).sum("sensor") / 1000.0
        np.testing.assert_allclose(got.values, expected_n[k], rtol=1e-6)
    # a walk of a person of plausible weight: the stance peaks near body weight, not 10x off
    assert 700 < expected_n[0].max() < 1100 and 700 < expected_n[1].max() < 1100


def test_the_layout_has_toes_forward_left_at_smaller_x_and_medial_sides_facing():
    trial = plantar.read(_real())
    side = trial.sensor_side.values.astype(str)
    x, y, number = trial.sensor_x.values, trial.sensor_y.values, trial.sensor_number.values
    split = trial.attrs["side_split_x_mm"]
    assert x[side == "left"].max() < split < x[side == "right"].min()
    for s in ("left", "right"):
        here = side == s
        heel, toes = y[here & (number <= 5)].mean(), y[here & (number >= 96)].mean()
        assert toes - heel > 200  # mm: toes toward +y
        # the hallux (96) lies at the medial edge, toward the other insole, and carries the most toe pressure
        hallux, fifth = x[here & (number == 96)][0], x[here & (number == 99)][0]
        assert abs(hallux - split) < abs(fifth - split)
        peaks = trial.pressure.values[:, here].max(axis=0)
        assert peaks[number[here] == 96][0] >= peaks[number[here] == 99][0]
    # at each contact the heel (sensors 1-20) rises first: the mean y of the 5 sensors rising most is in the rear third
    pressure, area = trial.pressure.values, trial.sensor_area.values
    for s in ("left", "right"):
        here = side == s
        force = pressure[:, here] @ area[here] / 1000.0
        onsets = np.flatnonzero((force[1:] > 80) & (force[:-1] <= 80)) + 1
        assert onsets.size >= 8
        for o in onsets:
            rising = np.argsort(-(pressure[o + 2, here] - pressure[o - 6, here]))[:5]
            assert y[here][rising].mean() < y[here].min() + 0.34 * np.ptp(y[here])


def test_geometry_scale_and_drawn_areas():
    g = insole_geometry("y")
    assert g["mm_per_unit"] == pytest.approx(305.7, abs=0.1)
    length = g["outline_y_mm"].max() - g["outline_y_mm"].min()
    assert length == pytest.approx(280.3, abs=0.5)
    x, y = g["outline_x_mm"], g["outline_y_mm"]
    drawn = 0.5 * np.abs(np.sum(x * np.roll(y, -1, -1) - np.roll(x, -1, -1) * y, axis=-1))
    ratio = drawn / g["area_mm2"]
    assert abs(np.median(ratio) - 1) < 1e-9  # the scale is the median ratio
    low, high = np.percentile(ratio, [10, 90])
    assert 0.9 < low < 1 < high < 1.1  # the drawing's areas are within a few % of the published ones
    with pytest.raises(KeyError):
        insole_geometry("q")


def test_pedar_is_recognised_from_its_content_and_never_as_pliance(tmp_path):
    """Regression: a pedar .asc was taken for a pliance export and called truncated."""
    head = _real().read_bytes()[:4096]
    assert pedar.sniff(head) and not pliance.sniff(head)
    pliance_head = real_file("novel-pliance", "pliance_test.asc").read_bytes()[:4096]
    assert pliance.sniff(pliance_head) and not pedar.sniff(pliance_head)
    renamed = tmp_path / "walk.dat"
    renamed.write_bytes(_real().read_bytes())
    assert plantar.read(renamed).attrs["source_format"].startswith("novel pedar")


def test_convert_writes_the_pedar_trial_exactly(tmp_path):
    trial = plantar.read(_real())
    again = run_convert(_real(), tmp_path)
    assert again.identical(trial)


# --------------------------------------------------------------------------------------
# small files written here


def _text(n_frames=3, *, total=None, size_type="y-1865l-1870r", cell=None, last_tab=True):
    numbers = "\t".join(str(k) for k in range(1, 100))
    rows = []
    for f in range(n_frames):
        cells = ["0.000"] * 198
        cells[0] = f"{10.0 * (f + 1):.3f}"
        rows.append(f"{0.01 * (f + 1):.5f}\t" + "\t".join(cells) + "\t")
    if cell is not None:
        row, col, value = cell
        parts = rows[row].split("\t")
        parts[col] = value
        rows[row] = "\t".join(parts)
    if not last_tab:
        rows[-1] = rows[-1].rstrip("\t")
    total = 0.01 * n_frames if total is None else total
    return "\n".join(
        [
            "file name:  walk.sol\tdate/time  25.04.23 10.49",
            f"sensor type:  {size_type} ",
            f"total time [secs]:  {total:.3f}\ttime per frame [secs]:  0.01000\tscanning rate [Hz]:   100",
            "pressure values in  kPa",
            "",
            f"time[secs]    \t{numbers}\t{numbers}\t",
            *rows,
        ]
    )


def _write(tmp_path, text, name="walk.asc"):
    path = tmp_path / name
    path.write_text(text, encoding="latin-1")
    return path


def test_a_small_file_reads_with_its_size_and_force(tmp_path):
    trial = plantar.read(_write(tmp_path, _text(3, size_type="xw_1750")))
    assert trial.attrs["insole_size"] == "xw"
    areas = insole_geometry("xw")["area_mm2"]
    force = (trial.pressure * trial.sensor_area).sum("sensor").values / 1000
    np.testing.assert_allclose(force, [10 * areas[0] / 1000, 20 * areas[0] / 1000, 30 * areas[0] / 1000], rtol=1e-6)


@pytest.mark.parametrize(
    ("kwargs", "parts"),
    [
        ({"total": 0.05}, ["line 9", "frames", "3 frame rows", "(5 frames)", "cut short"]),
        ({"last_tab": False}, ["line 9", "cell 199", "cut short"]),
        ({"size_type": "q-1865l"}, ["line 2", "sensor type:", "unknown insole size"]),
        ({"cell": (1, 5, "x7")}, ["line 8", "cell 6", "'x7' is not a number"]),
        ({"cell": (1, 5, "")}, ["line 8", "cell 6", "'' is not a number"]),
        ({"cell": (2, 7, "3.4e38")}, ["line 9", "sensor left 7", "not a pressure"]),
        ({"cell": (0, 9, "-5")}, ["line 7", "sensor left 9", "not a pressure"]),
        ({"cell": (1, 0, "0.05000")}, ["line 8", "time[secs]", "expected a step of 0.01 s"]),
    ],
)
def test_a_broken_file_is_refused_naming_the_line_and_field(tmp_path, kwargs, parts):
    path = _write(tmp_path, _text(3, **kwargs))
    with pytest.raises(FileFormatError) as exc:
        plantar.read(path)
    assert "\n" not in str(exc.value)
    assert_names(exc, path, *parts)


def test_a_row_cut_short_is_refused(tmp_path):
    text = _text(3)
    path = _write(tmp_path, text[: text.rindex("\t0.000\t0.000") + 3])
    with pytest.raises(FileFormatError) as exc:
        plantar.read(path)
    assert_names(exc, path, "line 9", "frame row")


def test_an_asc_file_of_no_known_format_is_not_taken_for_pliance(tmp_path):
    """.asc is both pliance's and pedar's ending: a file of neither is 'not a format plantar knows'."""
    path = _write(tmp_path, "some notes\nnothing here\n", "notes.asc")
    with pytest.raises(FileFormatError, match="not a format plantar knows"):
        plantar.read(path)


def test_a_blank_line_inside_the_frames_is_refused(tmp_path):
    lines = _text(3).split("\n")
    lines.insert(7, "")
    path = _write(tmp_path, "\n".join(lines))
    with pytest.raises(FileFormatError) as exc:
        plantar.read(path)
    assert_names(exc, path, "line 8", "0 cells, expected 199")


def test_a_one_insole_export_takes_its_side_from_the_mask_definition(tmp_path):
    numbers = "\t".join(str(k) for k in range(1, 100))
    rows = [f"{0.01 * (f + 1):.5f}\t" + "\t".join([f"{5.0 * f:.3f}"] + ["0.000"] * 98) + "\t" for f in range(2)]
    text = "\n".join(
        ["file name:  walk.sol\tdate/time  25.04.23 10.49", "sensor type:  y-1870r ",
         "total time [secs]:  0.020\ttime per frame [secs]:  0.01000\tscanning rate [Hz]:   100",
         "pressure values in  kPa", "", "mask definition: ", "right insole: 1,2,3", "",
         f"time[secs]    \t{numbers}\t", *rows]
    )
    trial = plantar.read(_write(tmp_path, text))
    assert trial.attrs["side"] == "right" and set(trial.sensor_side.values.astype(str)) == {"right"}
    assert trial.sensor_x.values.min() > trial.attrs["side_split_x_mm"]  # placed where the right insole is
    without_mask = _write(tmp_path, text.replace("right insole: 1,2,3", ""), "nomask.asc")
    with pytest.raises(FileFormatError) as exc:
        plantar.read(without_mask)
    assert_names(exc, without_mask, "line 9", "sensor numbers", "one run")
