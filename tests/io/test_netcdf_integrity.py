"""Checksums of the native NetCDF file: every flipped bit is refused or harmless, never silent.

The attack flips one bit at a time at seeded positions of a saved trial: in every
variable's stored bytes (time, x, y, each pressure chunk), in the attributes'
values, and anywhere in the file. After each flip, ``plantar.read`` must either
refuse the file with a FileFormatError naming it, or return exactly the saved
trial (the bit was in unused space). A read that succeeds with any value,
coordinate or attribute changed is a silent change; there must be none.
"""

from pathlib import Path

import h5py
import numpy as np
import pytest
import xarray as xr

import plantar
from plantar.io import FileFormatError
from plantar.io import netcdf

DATA = Path(__file__).parent.parent / "data"


def _trial():
    """A small trial: two blocks of frames, several tiles, NaN, attrs of every kind."""
    rng = np.random.default_rng(7)
    data = np.zeros((70, 40, 34), np.float32)
    data[5:65, 3:30, 2:20] = rng.uniform(0.0, 400.0, (60, 27, 18)).astype(np.float32)
    data[1, 39, 33] = np.nan
    return plantar.make_trial(
        data, pitch_mm=(5.0, 7.5), rate_hz=100.0, subject="P012 Zoë", condition="shod",
        body_mass_kg=71.5, start_time="2026-11-21T09:30:00Z", gains=[1.0, 2.0, 3.0],
    )  # fmt: skip


def _regions(path, trial):
    """Byte ranges ``(name, start, stop)`` of each variable's stored data and of attribute values."""
    regions = []
    with h5py.File(path, "r") as f:
        for name in ("time", "x", "y", "pressure"):
            dset = f[name]
            if dset.chunks is None:
                regions.append((name, dset.id.get_offset(), dset.id.get_offset() + dset.id.get_storage_size()))
            else:
                for i in range(dset.id.get_num_chunks()):
                    info = dset.id.get_chunk_info(i)
                    regions.append((f"{name} chunk {info.chunk_offset}", info.byte_offset, info.byte_offset + info.size))
    content = path.read_bytes()
    for key, value in trial.attrs.items():
        pattern = (value.encode("utf-8") if isinstance(value, str)
                   else np.asarray(value, dtype=np.float64 if isinstance(value, float) else None).tobytes())  # fmt: skip
        if len(pattern) < 4:
            continue
        start = content.find(pattern)
        while start >= 0:
            regions.append((f"attr {key}", start, start + len(pattern)))
            start = content.find(pattern, start + 1)
    return regions


def _attack(path, trial, *, seed=0, per_region=6, anywhere=60):
    """Flip one bit at a time; return counts of each outcome and the silent changes' places."""
    rng = np.random.default_rng(seed)
    original = path.read_bytes()
    targets = []
    for name, start, stop in _regions(path, trial):
        for byte in rng.integers(start, stop, per_region):
            targets.append((name, int(byte)))
    targets += [("anywhere", int(byte)) for byte in rng.integers(0, len(original), anywhere)]
    outcome = {"refused": 0, "unchanged": 0, "silent": 0, "other error": 0}
    silent, other = [], []
    try:
        for name, byte in targets:
            mutant = bytearray(original)
            mutant[byte] ^= 1 << int(rng.integers(8))
            path.write_bytes(mutant)
            try:
                back = plantar.read(path)
            except FileFormatError as exc:
                assert str(path) in str(exc) and "\n" not in str(exc)
                outcome["refused"] += 1
                continue
            except Exception as exc:  # noqa: BLE001 - counted, and the test fails on any
                outcome["other error"] += 1
                other.append((name, byte, repr(exc)))
                continue
            if back.identical(trial):
                outcome["unchanged"] += 1
            else:
                outcome["silent"] += 1
                silent.append((name, byte))
    finally:
        path.write_bytes(original)
    return outcome, silent, other, len(targets)


def test_no_bit_flip_changes_a_trial_silently(tmp_path):
    trial = _trial()
    path = tmp_path / "trial.nc"
    plantar.save(trial, path)
    outcome, silent, other, n = _attack(path, trial)
    assert n > 150
    assert silent == [], f"{outcome}: silent changes at {silent[:10]}"
    assert other == [], f"errors that are not FileFormatError: {other[:5]}"
    # A flip in the data the trial is made of is always seen: most flips are refused.
    assert outcome["refused"] > n / 2
    xr.testing.assert_identical(plantar.read(path), trial)


@pytest.mark.parametrize("variable", ["time", "x", "y", "pressure"])
def test_a_flip_in_a_variable_is_refused_naming_it(tmp_path, variable):
    trial = _trial()
    path = tmp_path / "trial.nc"
    plantar.save(trial, path)
    with h5py.File(path, "r") as f:
        info = f[variable].id.get_chunk_info(0)
    content = bytearray(path.read_bytes())
    content[info.byte_offset + info.size // 2] ^= 0x10
    path.write_bytes(content)
    with pytest.raises(FileFormatError, match=f"'{path}'.*variable '{variable}'"):
        plantar.read(path)


def test_a_flip_in_a_text_attribute_is_refused(tmp_path):
    trial = _trial()
    path = tmp_path / "trial.nc"
    plantar.save(trial, path)
    content = bytearray(path.read_bytes())
    where = content.find("P012 Zoë".encode())
    assert where > 0
    content[where + 1] ^= 0x01  # "P012" -> "P112"
    path.write_bytes(content)
    with pytest.raises(FileFormatError, match=f"'{path}'"):
        plantar.read(path)


def test_every_variable_is_checksummed(tmp_path):
    counts = plantar.make_counts(np.arange(5 * 3 * 4, dtype=np.uint16).reshape(5, 3, 4), pitch_mm=5.0, rate_hz=10.0)
    path = tmp_path / "raw.nc"
    plantar.save(counts, path)
    with h5py.File(path, "r") as f:
        for name in counts.variables:
            plist = f[name].id.get_create_plist()
            filters = [plist.get_filter(i)[0] for i in range(plist.get_nfilters())]
            assert 3 in filters, f"{name}: filters {filters} lack Fletcher-32"  # H5Z_FILTER_FLETCHER32
    xr.testing.assert_identical(plantar.read(path), counts)


def test_fletcher32_matches_hdf5():
    """The chunk reader's Fletcher-32 agrees with HDF5's on chunks of every length parity."""
    rng = np.random.default_rng(3)
    import io

    for size in (1, 2, 3, 7, 720, 721, 4096, 100_001):
        buffer = io.BytesIO()
        with h5py.File(buffer, "w") as f:
            f.create_dataset("d", data=rng.integers(0, 256, size, dtype=np.uint8), chunks=(size,), fletcher32=True)
        with h5py.File(buffer, "r") as f:
            _, raw = f["d"].id.read_direct_chunk((0,))
        assert netcdf._fletcher32_ok(raw), size
        damaged = bytearray(raw)
        damaged[size // 2] ^= 0x04
        assert not netcdf._fletcher32_ok(bytes(damaged)), size


def test_files_of_the_release_without_checksums_still_read():
    """``tests/data/walk_v0.1.nc`` was written by plantar 0.1 (no Fletcher-32, no plantar_checksums)."""
    path = DATA / "walk_v0.1.nc"
    with h5py.File(path, "r") as f:
        assert netcdf.CHECKSUM_ATTR not in f.attrs
        plist = f["pressure"].id.get_create_plist()
        assert [plist.get_filter(i)[0] for i in range(plist.get_nfilters())] == [1]  # deflate only
    trial = plantar.read(path)
    with xr.open_dataset(path, engine="h5netcdf", decode_times=False) as other:  # another reader's view
        expected = other.load()
    xr.testing.assert_identical(trial, expected)
    assert trial.sizes == {"time": 222, "y": 120, "x": 60}
    assert float(trial.pressure.max()) > 100.0  # a walk, not an empty file


def test_a_file_read_and_saved_again_gets_checksums(tmp_path):
    trial = plantar.read(DATA / "walk_v0.1.nc")
    path = tmp_path / "again.nc"
    plantar.save(trial, path)
    with h5py.File(path, "r") as f:
        assert netcdf.CHECKSUM_ATTR in f.attrs
    xr.testing.assert_identical(plantar.read(path), trial)


def test_a_chunk_rewritten_after_saving_is_refused(tmp_path):
    """A chunk replaced by valid data with a valid Fletcher-32 still fails the chunk index's CRC."""
    trial = _trial()
    path = tmp_path / "trial.nc"
    plantar.save(trial, path)
    with h5py.File(path, "a") as f:
        dset = f["pressure"]
        first = dset.id.get_chunk_info(0).chunk_offset
        mask, raw = dset.id.read_direct_chunk(dset.id.get_chunk_info(1).chunk_offset)
        dset.id.write_direct_chunk(first, raw, filter_mask=mask)  # another chunk's bytes, checksum and all
    with pytest.raises(FileFormatError, match=f"'{path}'.*variable 'pressure' does not match"):
        plantar.read(path)
