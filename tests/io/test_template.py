"""Published mean peak-pressure images (MUN104) read as reference maps, never as recordings."""

import zipfile

import numpy as np
import pytest

import plantar
from plantar.io import FileFormatError, read_template
from real_data import real_file


def test_mun104_reads_as_both_feet_with_the_file_s_own_values():
    path = real_file("mun104-template", "MUN104.csv.zip")
    template = read_template(path)
    maps = template.mean_peak_pressure_map
    assert maps.dims == ("side", "along_mm", "across_mm") and maps.shape == (2, 63, 27)
    assert template.side.values.tolist() == ["left", "right"]
    with zipfile.ZipFile(path) as archive:  # what the file states, cell by cell (integers)
        for side, name in (("left", "MUN104L.csv"), ("right", "MUN104R.csv")):
            rows = [list(map(int, line.split(","))) for line in archive.read(name).decode().splitlines() if line]
            np.testing.assert_array_equal(maps.sel(side=side).values, np.array(rows, dtype=np.float32))
    # the README's facts: the loaded rows 4-57 of 5 mm pixels, a foot of 270 mm
    loaded = np.flatnonzero(maps.sel(side="left").values.sum(axis=1) > 0)
    assert (loaded[0], loaded[-1]) == (4, 57)
    assert template.along_mm.values[57] - template.along_mm.values[4] + 5.0 == pytest.approx(270.0)
    # seen from above with the toes up: each hallux medial (left foot: + across; right foot: - across),
    # the heel at the low rows
    for side, sign in (("left", 1), ("right", -1)):
        image = maps.sel(side=side)
        toes = image.where(image.along_mm >= 250.0, 0)
        hallux_across = float(toes.across_mm[np.unravel_index(int(np.argmax(toes.values)), toes.shape)[1]])
        assert sign * hallux_across > 10.0, side
        heel = image.where(image.along_mm < 80.0, 0)
        assert float(heel.max()) > 0.5 * float(image.max())
    assert template.attrs["pitch_mm"] == 5.0 and maps.attrs["units_stated"] == "no"


def test_a_template_is_not_a_recording_and_plantar_read_says_where_it_goes():
    path = real_file("mun104-template", "MUN104.csv.zip")
    with pytest.raises(FileFormatError, match="not a format plantar knows.*plantar.io.read_template") as error:
        plantar.read(path)
    assert "\n" not in str(error.value)


@pytest.mark.parametrize("text, message", [
    ("0,1,2\n0,1\n", "line 2 has not as many cells as line 1"),
    ("0,1,2\n0,-4,2\n", "line 2, column 2 is -4, not a pressure >= 0"),
    ("0,1,2\n0,x,2\n", "as a template"),
])  # fmt: skip
def test_a_broken_image_names_the_file_and_the_place(tmp_path, text, message):
    path = tmp_path / "imageL.csv"
    path.write_text(text)
    with pytest.raises(FileFormatError, match=message) as error:
        read_template(path)
    assert str(path) in str(error.value) and "\n" not in str(error.value)


def test_the_side_comes_from_the_name_or_is_asked_for(tmp_path):
    path = tmp_path / "image.csv"
    path.write_text("0,1\n2,3\n")
    with pytest.raises(FileFormatError, match="give side='left' or 'right'"):
        read_template(path)
    template = read_template(path, side="right", pitch_mm=4.0)
    assert template.side.values.tolist() == ["right"] and template.across_mm.values.tolist() == [-2.0, 2.0]
    with zipfile.ZipFile(tmp_path / "one.zip", "w") as archive:
        archive.writestr("imageL.csv", "0,1\n2,3\n")
    with pytest.raises(FileFormatError, match="no left and right CSV"):
        read_template(tmp_path / "one.zip")
