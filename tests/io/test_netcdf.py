"""Tests for the native NetCDF format and the read/save dispatch (plantar.io)."""

import shutil
import tempfile
import warnings
import zlib
from pathlib import Path

import h5py

import numpy as np
import pytest
import xarray as xr
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import plantar
import plantar.io.netcdf
import plantar.utils._files
from plantar.io import FileFormatError, known_formats

CHUNK = (64, 32, 32)


# --------------------------------------------------------------------------------------
# helpers


def _hand_trial():
    """A small trial with NaN, -0.0, anisotropic pitch, origin, non-uniform time, attrs."""
    rng = np.random.default_rng(42)
    data = np.zeros((5, 6, 4), dtype=np.float32)
    data[1:4, 2:5, 1:3] = rng.uniform(0.5, 600.0, (3, 3, 2)).astype(np.float32)
    data[0, 0, 0] = np.nan
    data[4, 5, 3] = -0.0
    return plantar.make_trial(
        data,
        pitch_mm=(5.08, 7.62),
        rate_hz=120.0,
        time_s=[0.0, 0.008, 0.0165, 0.025, 0.0334],
        origin_mm=(-12.5, 40.0),
        subject="Zoë Ørsted 🦶",
        condition="shod",
        body_mass_kg=71.5,
        start_time="2026-11-21T09:30:00Z",
        trial_number=7,
        gain=1.25,
        gains=[1.0, 2.0, 3.0],
    )


def _bits(array):
    return np.ascontiguousarray(array).view(np.uint32)


def _stored_chunk_offsets(path, name="pressure"):
    with h5py.File(path, "r") as f:
        dset = f[name]
        return {dset.id.get_chunk_info(i).chunk_offset for i in range(dset.id.get_num_chunks())}


def _expected_chunk_offsets(data, chunks):
    """Offsets of the chunks holding any non-zero bit pattern (NaN and -0.0 count)."""
    bits = np.ascontiguousarray(data).view(f"u{data.dtype.itemsize}")
    offsets = set()
    for t0 in range(0, data.shape[0], chunks[0]):
        for y0 in range(0, data.shape[1], chunks[1]):
            for x0 in range(0, data.shape[2], chunks[2]):
                block = bits[t0 : t0 + chunks[0], y0 : y0 + chunks[1], x0 : x0 + chunks[2]]
                if np.any(block != 0):
                    offsets.add((t0, y0, x0))
    return offsets


def _leftovers(folder):
    return sorted(p.name for p in Path(folder).iterdir() if p.name.startswith("."))


def _assert_names_path(exc_info, path):
    assert str(path) in str(exc_info.value)


@pytest.fixture(scope="module")
def walk_trial():
    return plantar.synth.walk(seed=0, passes=1)[0]


@pytest.fixture
def saved(tmp_path):
    """A trial saved with plantar.save, and its path."""
    trial = _hand_trial()
    path = tmp_path / "trial.nc"
    plantar.save(trial, path)
    return trial, path


# --------------------------------------------------------------------------------------
# round trip


def test_round_trip_hand_made(tmp_path):
    trial = _hand_trial()
    original = trial.copy(deep=True)
    path = tmp_path / "hand.nc"
    assert plantar.save(trial, path) is None
    back = plantar.read(path)
    xr.testing.assert_identical(back, original)
    assert back.pressure.dtype == np.float32
    # bit-exact, including the NaN and the -0.0
    np.testing.assert_array_equal(_bits(back.pressure.values), _bits(original.pressure.values))
    assert np.signbit(back.pressure.values[4, 5, 3])
    assert np.isnan(back.pressure.values[0, 0, 0])
    # the coordinates are exact too
    for name in ("time", "y", "x"):
        np.testing.assert_array_equal(back[name].values, original[name].values)
        assert back[name].dtype == np.float64
    assert back.attrs["subject"] == "Zoë Ørsted 🦶"
    # saving did not touch the input
    xr.testing.assert_identical(trial, original)


def test_round_trip_str_path(tmp_path):
    trial = _hand_trial()
    path = str(tmp_path / "hand.nc")
    plantar.save(trial, path)
    xr.testing.assert_identical(plantar.read(path), trial)


def test_round_trip_synthetic_walk(tmp_path, walk_trial):
    path = tmp_path / "walk.nc"
    plantar.save(walk_trial, path)
    back = plantar.read(path)
    xr.testing.assert_identical(back, walk_trial)
    np.testing.assert_array_equal(_bits(back.pressure.values), _bits(walk_trial.pressure.values))
    # the walkway is mostly empty: not every chunk is stored
    offsets = _stored_chunk_offsets(path)
    assert offsets == _expected_chunk_offsets(walk_trial.pressure.values, CHUNK)


def test_round_trip_twice(tmp_path):
    """A trial read from a file (carrying its encoding) saves and reads back identically."""
    trial = _hand_trial()
    first, second = tmp_path / "first.nc", tmp_path / "second.nc"
    plantar.save(trial, first)
    plantar.save(plantar.read(first), second)
    xr.testing.assert_identical(plantar.read(second), trial)


def test_round_trip_counts(tmp_path):
    rng = np.random.default_rng(3)
    counts = np.zeros((70, 40, 33), dtype=np.int64)
    counts[5:9, 30:36, 2:6] = rng.integers(1, 65536, (4, 6, 4))
    counts[69, 39, 32] = 65535
    raw = plantar.make_counts(
        counts,
        pitch_mm=(8.0, 8.5),
        rate_hz=60.0,
        seq=np.arange(70) + 4_000_000_000 - 35,
        t_device_s=np.linspace(100.0, 101.15, 70),
        device="prototype mat",
    )
    path = tmp_path / "raw.nc"
    plantar.save(raw, path)
    back = plantar.read(path)
    xr.testing.assert_identical(back, raw)
    assert back.counts.dtype == np.uint16
    assert back.seq.dtype == np.uint32
    np.testing.assert_array_equal(back.counts.values, counts.astype(np.uint16))
    np.testing.assert_array_equal(back.seq.values, (np.arange(70) + 4_000_000_000 - 35).astype(np.uint32))
    np.testing.assert_array_equal(back.t_device.values, np.linspace(100.0, 101.15, 70))
    chunks = (64, 32, 32)
    assert _stored_chunk_offsets(path, "counts") == _expected_chunk_offsets(counts.astype(np.uint16), chunks)
    assert len(_stored_chunk_offsets(path, "counts")) == 3  # of 2 x 2 x 2 = 8


def test_round_trip_counts_default_t_device(tmp_path):
    raw = plantar.make_counts(np.ones((2, 3, 3), dtype=int), pitch_mm=5.0, rate_hz=100.0)
    path = tmp_path / "raw.nc"
    plantar.save(raw, path)
    back = plantar.read(path)
    xr.testing.assert_identical(back, raw)
    assert np.isnan(back.t_device.values).all()


# --------------------------------------------------------------------------------------
# property test

_NAN_PATTERNS = (0x7FC00000, 0xFFC00000, 0x7F800001, 0x7FC12345)  # quiet, negative, signalling, payload
_KNOWN_STR_ATTRS = ("subject", "condition", "device", "calibration_id")

_values = st.one_of(
    # up to the largest float32 below 100 MPa, the data model's limit
    st.floats(min_value=0.0, max_value=float(np.nextafter(np.float32(1e5), np.float32(0))), width=32),
    st.sampled_from([0.0, -0.0, np.nan]),
)
# NUL cannot be stored in an HDF5 string attr; check_trial refuses it (tested below).
_text = st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=12)
_attr_values = st.one_of(
    _text,
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.floats(allow_nan=False, allow_infinity=False),
)


@st.composite
def _trial_cases(draw):
    shape = (draw(st.integers(1, 80)), draw(st.integers(1, 70)), draw(st.integers(1, 40)))
    data = np.zeros(shape, dtype=np.float32)
    # a few non-zero blocks on an otherwise empty mat
    for _ in range(draw(st.integers(0, 4))):
        bshape = draw(hnp.array_shapes(min_dims=3, max_dims=3, min_side=1, max_side=8))
        bshape = tuple(min(b, s) for b, s in zip(bshape, shape))
        start = [draw(st.integers(0, s - b)) for s, b in zip(shape, bshape)]
        block = draw(hnp.arrays(np.float32, bshape, elements=_values))
        data[tuple(slice(a, a + b) for a, b in zip(start, bshape))] = block
    # isolated NaN sensels (various bit patterns) and -0.0 values
    bits = data.view(np.uint32)
    for pattern in draw(st.lists(st.sampled_from(_NAN_PATTERNS + (0x80000000,)), max_size=4)):
        index = tuple(draw(st.integers(0, s - 1)) for s in shape)
        bits[index] = pattern
    pitch = draw(
        st.one_of(
            st.floats(0.1, 20.0),
            st.tuples(st.floats(0.1, 20.0), st.floats(0.1, 20.0)),
        )
    )
    origin = draw(st.tuples(st.floats(-1e4, 1e4), st.floats(-1e4, 1e4)))
    rate = draw(st.floats(1.0, 2000.0))
    time_s = None
    if draw(st.booleans()):
        steps = draw(hnp.arrays(np.float64, shape[0] - 1, elements=st.floats(1e-4, 1.0)))
        time_s = np.concatenate([[0.0], np.cumsum(steps)])
        if steps.size:  # the rate must agree with the median step (the data model's rule)
            rate = 1.0 / float(np.median(steps))
    attrs = draw(
        st.dictionaries(
            st.from_regex(r"x_[a-z0-9_]{1,10}", fullmatch=True), _attr_values, max_size=4
        )
    )
    for key in draw(st.lists(st.sampled_from(_KNOWN_STR_ATTRS), unique=True, max_size=2)):
        attrs[key] = draw(_text)
    if draw(st.booleans()):
        attrs["body_mass_kg"] = draw(st.floats(0.0, 300.0))
    return data, dict(pitch_mm=pitch, origin_mm=origin, rate_hz=rate, time_s=time_s, **attrs)


@settings(
    max_examples=40,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(case=_trial_cases())
def test_round_trip_property(case):
    data, kwargs = case
    truth = data.copy()
    truth_bits = _bits(truth).copy()
    trial = plantar.make_trial(data, **kwargs)
    reference = trial.copy(deep=True)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "prop.nc"
        plantar.save(trial, path)
        back = plantar.read(path)
        # chunking: only chunks holding some non-zero bit pattern are stored
        chunks = tuple(min(s, c) for s, c in zip(data.shape, CHUNK))
        with h5py.File(path, "r") as f:
            assert f["pressure"].chunks == chunks
        assert _stored_chunk_offsets(path) == _expected_chunk_offsets(truth, chunks)
        assert _leftovers(folder) == []
    xr.testing.assert_identical(back, reference)
    # The writer compares bit patterns, so -0.0 and every NaN payload are stored
    # and come back bit-exactly (no -0.0 -> +0.0, no NaN canonicalisation).
    assert back.pressure.dtype == np.float32
    np.testing.assert_array_equal(_bits(back.pressure.values), truth_bits)
    np.testing.assert_array_equal(back.x.values, reference.x.values)
    np.testing.assert_array_equal(back.y.values, reference.y.values)
    np.testing.assert_array_equal(back.time.values, reference.time.values)
    for key, value in kwargs.items():
        if key not in ("pitch_mm", "origin_mm", "rate_hz", "time_s"):
            assert back.attrs[key] == value, key


# --------------------------------------------------------------------------------------
# zero chunks


def test_zero_chunks_not_stored(tmp_path):
    data = np.zeros((130, 200, 100), dtype=np.float32)  # 3 x 7 x 4 = 84 chunks
    rng = np.random.default_rng(7)
    # one small footprint, straddling a row-chunk boundary (rows 28..35)
    data[10:20, 28:36, 40:46] = rng.uniform(1.0, 400.0, (10, 8, 6)).astype(np.float32)
    trial = plantar.make_trial(data, pitch_mm=5.0, rate_hz=100.0)
    path = tmp_path / "sparse.nc"
    plantar.save(trial, path)
    with h5py.File(path, "r") as f:
        dset = f["pressure"]
        assert dset.chunks == (64, 32, 32)
        n_total = int(np.prod([-(-s // c) for s, c in zip(dset.shape, dset.chunks)]))
        assert n_total == 84
        n_stored = dset.id.get_num_chunks()
        assert n_stored == 2
        assert n_stored * 10 < n_total
        stored = {dset.id.get_chunk_info(i).chunk_offset for i in range(n_stored)}
        assert stored == {(0, 0, 32), (0, 32, 32)}
        assert "_FillValue" not in dset.attrs
        assert dset.fillvalue == 0
        assert dset.compression == "gzip"
        np.testing.assert_array_equal(dset[...], data)
    # 8 MB of float32 on disk in a few kB
    assert path.stat().st_size < 100_000
    back = plantar.read(path)
    xr.testing.assert_identical(back, trial)
    np.testing.assert_array_equal(back.pressure.values, data)


def test_all_zero_trial_stores_no_chunk(tmp_path):
    trial = plantar.make_trial(np.zeros((10, 8, 4)), pitch_mm=5.0, rate_hz=100.0)
    path = tmp_path / "empty.nc"
    plantar.save(trial, path)
    assert _stored_chunk_offsets(path) == set()
    back = plantar.read(path)
    xr.testing.assert_identical(back, trial)
    assert not np.signbit(back.pressure.values).any()
    assert (back.pressure.values == 0).all()


def test_negative_zero_and_nan_chunks_are_stored(tmp_path):
    data = np.zeros((3, 40, 40), dtype=np.float32)
    data[0, 0, 0] = -0.0  # chunk (0, 0, 0): only a -0.0
    data[2, 39, 39] = np.nan  # chunk (0, 32, 32): only a NaN
    trial = plantar.make_trial(data, pitch_mm=5.0, rate_hz=100.0)
    path = tmp_path / "special.nc"
    plantar.save(trial, path)
    assert _stored_chunk_offsets(path) == {(0, 0, 0), (0, 32, 32)}
    back = plantar.read(path).pressure.values
    assert np.signbit(back[0, 0, 0]) and back[0, 0, 0] == 0
    assert np.isnan(back[2, 39, 39])
    np.testing.assert_array_equal(_bits(back), _bits(data))


# --------------------------------------------------------------------------------------
# files laid out by other writers (read through HDF5 or plantar's own chunk reader)


def _sparse_trial():
    data = np.zeros((5, 40, 36), dtype=np.float32)
    data[1:4, 30:36, 30:34] = np.random.default_rng(11).uniform(0.5, 500.0, (3, 6, 4)).astype(np.float32)
    data[0, 0, 0] = np.nan
    data[4, 39, 35] = -0.0
    return data, plantar.make_trial(data, pitch_mm=(5.0, 6.0), rate_hz=100.0, subject="S02")


def _filters(path, name="pressure"):
    with h5py.File(path, "r") as f:
        plist = f[name].id.get_create_plist()
        return [plist.get_filter(i)[0] for i in range(plist.get_nfilters())]


@pytest.mark.parametrize(
    "encoding, filters",
    [
        pytest.param({"zlib": True, "shuffle": True, "chunksizes": (2, 16, 16), "_FillValue": None}, [2, 1], id="shuffle-deflate"),
        pytest.param({"zlib": True, "shuffle": False, "chunksizes": (3, 7, 5), "_FillValue": None}, [1], id="deflate-odd-chunks"),
        pytest.param({"chunksizes": (2, 16, 16), "_FillValue": None}, [], id="chunked-uncompressed"),
        pytest.param({"_FillValue": None}, [], id="contiguous"),
        pytest.param({"zlib": True, "fletcher32": True, "chunksizes": (2, 16, 16)}, [1, 3], id="fletcher32"),
        pytest.param({"zlib": True, "chunksizes": (2, 16, 16)}, [1], id="fillvalue-nan-attr"),
    ],
)
def test_reads_other_layouts(tmp_path, encoding, filters):
    data, trial = _sparse_trial()
    path = tmp_path / "other_writer.nc"
    trial.to_netcdf(path, engine="h5netcdf", encoding={"pressure": encoding})
    assert _filters(path) == filters  # precondition: the layout is what the case says
    back = plantar.read(path)
    xr.testing.assert_identical(back, trial)
    np.testing.assert_array_equal(_bits(back.pressure.values), _bits(data))


def test_reads_chunk_stored_with_deflate_skipped(tmp_path):
    """A chunk whose filter mask says 'not compressed' is read as HDF5 reads it."""
    data, trial = _sparse_trial()
    path = tmp_path / "raw_chunk.nc"
    encoding = {"zlib": True, "chunksizes": (5, 32, 32), "_FillValue": None}
    trial.to_netcdf(path, engine="h5netcdf", encoding={"pressure": encoding})  # another writer, no checksums
    chunk = np.zeros((5, 32, 32), dtype=np.float32)
    chunk[0, 0, 0], chunk[4, 31, 31], chunk[2, 10, 20] = 42.0, 7.0, -0.0
    with h5py.File(path, "a") as f:
        f["pressure"].id.write_direct_chunk((0, 0, 0), chunk.tobytes(), filter_mask=1)
    expected = data.copy()
    expected[:, :32, :32] = chunk
    with h5py.File(path, "r") as f:
        assert f["pressure"].id.get_chunk_info_by_coord((0, 0, 0)).filter_mask == 1
        np.testing.assert_array_equal(_bits(f["pressure"][...]), _bits(expected))  # HDF5's view
    back = plantar.read(path)
    np.testing.assert_array_equal(_bits(back.pressure.values), _bits(expected))


def test_chunk_of_wrong_size_is_corrupt(tmp_path):
    _, trial = _sparse_trial()
    path = tmp_path / "short_chunk.nc"
    plantar.save(trial, path)
    with h5py.File(path, "a") as f:
        f["pressure"].id.write_direct_chunk((0, 32, 32), zlib.compress(b"\0" * 40))
    with pytest.raises(FileFormatError, match="corrupt") as info:
        plantar.read(path)
    _assert_names_path(info, path)


def test_nonzero_fill_value_read_as_hdf5_does(tmp_path):
    """Unwritten chunks of a dataset whose HDF5 fill value is not 0 read as that value."""
    data, trial = _sparse_trial()
    path = tmp_path / "fill.nc"
    coords = ("time", "y", "x")
    trial.drop_vars("pressure").to_netcdf(
        path, engine="h5netcdf", encoding={c: {"_FillValue": None} for c in coords}
    )
    with h5py.File(path, "a") as f:
        dset = f.create_dataset(
            "pressure", shape=data.shape, dtype=np.float32, chunks=(5, 32, 32),
            compression="gzip", fillvalue=np.float32(2.5),
        )
        for i, dim in enumerate(coords):
            dset.dims[i].attach_scale(f[dim])
        dset.attrs.update(trial.pressure.attrs)
        dset[:, 32:, 32:] = data[:, 32:, 32:]  # only chunk (0, 32, 32) is written
        assert dset.id.get_num_chunks() == 1
    expected = np.full(data.shape, 2.5, dtype=np.float32)
    expected[:, 32:, 32:] = data[:, 32:, 32:]
    with h5py.File(path, "r") as f:
        np.testing.assert_array_equal(f["pressure"][...], expected)
    back = plantar.read(path)
    np.testing.assert_array_equal(back.pressure.values, expected)
    xr.testing.assert_identical(back.drop_vars("pressure"), trial.drop_vars("pressure"))
    assert back.pressure.attrs == trial.pressure.attrs


@pytest.mark.filterwarnings("ignore:saving variable pressure with floating point data as an integer")
def test_packed_data_decoded_as_xarray_does(tmp_path):
    """Packed (int16 + scale_factor) deflated data: plantar must apply the CF decoding too."""
    data = np.zeros((3, 40, 36), dtype=np.float32)
    data[1, 2, 3], data[0, 0, 0], data[2, 39, 35] = 123.4, 0.5, 3276.7
    trial = plantar.make_trial(data, pitch_mm=5.0, rate_hz=100.0)
    path = tmp_path / "packed.nc"
    encoding = {"dtype": "int16", "scale_factor": np.float32(0.1), "zlib": True, "_FillValue": None}
    trial.to_netcdf(path, engine="h5netcdf", encoding={"pressure": encoding})
    assert _filters(path) == [1]
    with xr.open_dataset(path, engine="h5netcdf") as ds:
        expected = ds.pressure.values
    assert expected.dtype == np.float32
    np.testing.assert_allclose(expected, data, rtol=1e-6)
    back = plantar.read(path)
    np.testing.assert_array_equal(back.pressure.values, expected)


@pytest.mark.parametrize(
    "encoding",
    [
        pytest.param({"zlib": True, "chunksizes": (5, 32, 32)}, id="deflate-with-fillvalue-attr"),
        pytest.param({"fletcher32": True, "chunksizes": (5, 32, 32), "_FillValue": None}, id="fletcher32"),
    ],
)
def test_corrupted_chunk_other_layout(tmp_path, encoding):
    data = np.random.default_rng(4).uniform(0, 500, (5, 40, 36)).astype(np.float32)
    trial = plantar.make_trial(data, pitch_mm=5.0, rate_hz=100.0)
    source = tmp_path / "good.nc"
    trial.to_netcdf(source, engine="h5netcdf", encoding={"pressure": encoding})
    xr.testing.assert_identical(plantar.read(source), trial)
    with h5py.File(source, "r") as f:
        info = f["pressure"].id.get_chunk_info(0)
    corrupt = bytearray(source.read_bytes())
    middle = info.byte_offset + info.size // 2
    for k in range(middle, middle + 16):
        corrupt[k] ^= 0xA5
    path = tmp_path / "corrupt.nc"
    path.write_bytes(bytes(corrupt))
    with pytest.raises(FileFormatError, match="corrupt") as exc_info:
        plantar.read(path)
    _assert_names_path(exc_info, path)


@pytest.mark.parametrize(
    "shape",
    [(1, 1, 1), (1, 70, 40), (63, 31, 31), (64, 32, 32), (65, 33, 33), (80, 64, 1), (129, 3, 65)],
)
def test_chunk_tiling_edges(tmp_path, shape):
    """Data in the first and the very last sensel of the last (partial) chunk survives."""
    data = np.zeros(shape, dtype=np.float32)
    data[0, 0, 0] = 1.0
    data[-1, -1, -1] = 2.0
    data[-1, 0, -1] = -0.0
    trial = plantar.make_trial(data, pitch_mm=5.0, rate_hz=100.0)
    path = tmp_path / "edges.nc"
    plantar.save(trial, path)
    chunks = tuple(min(s, c) for s, c in zip(shape, CHUNK))
    assert _stored_chunk_offsets(path) == _expected_chunk_offsets(data, chunks)
    back = plantar.read(path)
    xr.testing.assert_identical(back, trial)
    np.testing.assert_array_equal(_bits(back.pressure.values), _bits(data))


@pytest.mark.parametrize(
    "writer",
    [
        pytest.param(lambda trial, path: plantar.save(trial, path), id="plantar"),
        pytest.param(lambda trial, path: trial.to_netcdf(path, engine="h5netcdf"), id="xarray"),
        pytest.param(lambda trial, path: trial.to_netcdf(path, engine="scipy"), id="classic"),
    ],
)
def test_read_loads_everything_into_memory(tmp_path, writer):
    data, trial = _sparse_trial()
    path = tmp_path / "trial.nc"
    writer(trial, path)
    back = plantar.read(path)
    path.unlink()
    np.testing.assert_array_equal(_bits(back.pressure.values), _bits(data))
    xr.testing.assert_identical(back, trial)


# --------------------------------------------------------------------------------------
# interoperability


def test_xarray_h5netcdf_reads_it(saved):
    trial, path = saved
    with xr.open_dataset(path, engine="h5netcdf") as ds:
        ds = ds.load()
    assert ds.pressure.dtype == np.float32
    np.testing.assert_array_equal(ds.pressure.values, trial.pressure.values)
    np.testing.assert_array_equal(ds.x.values, trial.x.values)
    np.testing.assert_array_equal(ds.time.values, trial.time.values)
    assert ds.pressure.attrs["units"] == "kPa"


def test_xarray_h5netcdf_reads_sparse_file(tmp_path):
    data = np.zeros((70, 40, 40), dtype=np.float32)
    data[65:, 35:, 1:3] = 12.5
    path = tmp_path / "sparse.nc"
    plantar.save(plantar.make_trial(data, pitch_mm=5.0, rate_hz=100.0), path)
    with xr.open_dataset(path, engine="h5netcdf") as ds:
        np.testing.assert_array_equal(ds.pressure.values, data)


def test_netcdf4_reads_it(saved):
    netCDF4 = pytest.importorskip("netCDF4")
    trial, path = saved
    with netCDF4.Dataset(path) as nc:
        var = nc["pressure"]
        var.set_auto_mask(False)
        values = var[:]
        x = nc["x"][:]
        assert nc.getncattr("plantar_schema") == "trial/1"
    assert values.dtype == np.float32
    np.testing.assert_array_equal(values, trial.pressure.values)
    np.testing.assert_array_equal(x, trial.x.values)


def test_netcdf4_reads_unwritten_chunks_as_zero(tmp_path):
    netCDF4 = pytest.importorskip("netCDF4")
    data = np.zeros((3, 40, 40), dtype=np.float32)
    data[:, 33:, 33:] = 5.0
    path = tmp_path / "sparse.nc"
    plantar.save(plantar.make_trial(data, pitch_mm=5.0, rate_hz=100.0), path)
    with netCDF4.Dataset(path) as nc:
        values = nc["pressure"][:]
    assert not np.ma.getmaskarray(values).any()
    np.testing.assert_array_equal(np.ma.getdata(values), data)


def test_read_netcdf3_classic(tmp_path):
    trial = _hand_trial()
    path = tmp_path / "classic.nc"
    trial.to_netcdf(path, engine="scipy")
    assert path.read_bytes()[:3] == b"CDF"
    back = plantar.read(path)
    assert back.pressure.dtype == np.float32
    np.testing.assert_array_equal(back.pressure.values, trial.pressure.values)
    for name in ("time", "y", "x"):
        np.testing.assert_array_equal(back[name].values, trial[name].values)
    for key, value in trial.attrs.items():
        np.testing.assert_array_equal(back.attrs[key], value)
    xr.testing.assert_identical(back, trial)


def test_netcdf_renamed_dat_still_reads(saved, tmp_path):
    trial, path = saved
    renamed = tmp_path / "recording.dat"
    shutil.copy(path, renamed)
    xr.testing.assert_identical(plantar.read(renamed), trial)
    no_suffix = tmp_path / "recording"
    shutil.copy(path, no_suffix)
    xr.testing.assert_identical(plantar.read(no_suffix), trial)


def test_classic_renamed_dat_still_reads(tmp_path):
    trial = _hand_trial()
    path = tmp_path / "classic.dat"
    trial.to_netcdf(path, engine="scipy", format="NETCDF3_64BIT")
    xr.testing.assert_identical(plantar.read(path), trial)


def test_forced_format(saved):
    trial, path = saved
    xr.testing.assert_identical(plantar.read(path, format="netcdf"), trial)


def test_known_formats():
    formats = known_formats()
    assert "netcdf" in formats
    fmt = formats["netcdf"]
    assert fmt.name == "netcdf"
    assert fmt.extensions == (".nc",)
    assert fmt.reader is plantar.io.netcdf.read
    # a copy: changing it does not change the registry
    formats.pop("netcdf")
    assert "netcdf" in known_formats()


def test_sniff():
    sniff = plantar.io.netcdf.sniff
    assert sniff(b"\x89HDF\r\n\x1a\n" + b"\0" * 100)
    assert sniff(b"\0" * 512 + b"\x89HDF\r\n\x1a\n")
    assert sniff(b"CDF\x01rest") and sniff(b"CDF\x02rest") and sniff(b"CDF\x05rest")
    assert not sniff(b"")
    assert not sniff(b"CDF\x03rest")
    assert not sniff(b"hello world")
    assert not sniff(b"\0" * 100 + b"\x89HDF\r\n\x1a\n")


# --------------------------------------------------------------------------------------
# read errors


@pytest.mark.parametrize("fraction", [0.0, 0.01, 0.1, 0.5, 0.9, 0.99, "minus-one-byte"])
def test_truncated_file(tmp_path, fraction):
    data = np.zeros((70, 40, 35), dtype=np.float32)
    data[:, 20:40, 10:35] = np.random.default_rng(1).uniform(0, 500, (70, 20, 25)).astype(np.float32)
    source = tmp_path / "full.nc"
    plantar.save(plantar.make_trial(data, pitch_mm=5.0, rate_hz=100.0), source)
    content = source.read_bytes()
    size = len(content) - 1 if fraction == "minus-one-byte" else int(len(content) * fraction)
    path = tmp_path / "cut.nc"
    path.write_bytes(content[:size])
    with pytest.raises(FileFormatError) as info:
        plantar.read(path)
    _assert_names_path(info, path)


@pytest.mark.parametrize("fraction", [0.1, 0.5, 0.9, 0.99])
def test_truncated_classic_file(tmp_path, fraction):
    source = tmp_path / "full.nc"
    _hand_trial().to_netcdf(source, engine="scipy")
    content = source.read_bytes()
    path = tmp_path / "cut.nc"
    path.write_bytes(content[: int(len(content) * fraction)])
    with pytest.raises(FileFormatError) as info:
        plantar.read(path)
    _assert_names_path(info, path)


def test_corrupted_chunk(tmp_path):
    data = np.zeros((20, 40, 40), dtype=np.float32)
    data[:, :, :] = np.random.default_rng(2).uniform(0, 500, (20, 40, 40)).astype(np.float32)
    source = tmp_path / "good.nc"
    plantar.save(plantar.make_trial(data, pitch_mm=5.0, rate_hz=100.0), source)
    with h5py.File(source, "r") as f:
        dset = f["pressure"]
        infos = [dset.id.get_chunk_info(i) for i in range(dset.id.get_num_chunks())]
    assert len(infos) == 4
    content = source.read_bytes()
    for i, info in enumerate(infos):
        corrupt = bytearray(content)
        middle = info.byte_offset + info.size // 2
        for k in range(middle, middle + 16):
            corrupt[k] ^= 0xA5
        path = tmp_path / f"corrupt{i}.nc"
        path.write_bytes(bytes(corrupt))
        with pytest.raises(FileFormatError, match="corrupt") as exc_info:
            plantar.read(path)
        _assert_names_path(exc_info, path)
    # the untouched file still reads
    np.testing.assert_array_equal(plantar.read(source).pressure.values, data)


def test_random_bytes_named_nc(tmp_path):
    content = np.random.default_rng(5).bytes(10_000)
    assert content[:3] != b"CDF" and b"\x89HDF" not in content[:4096]
    path = tmp_path / "random.nc"
    path.write_bytes(content)
    with pytest.raises(FileFormatError, match="not a NetCDF") as info:
        plantar.read(path)
    _assert_names_path(info, path)


def test_empty_file_named_nc(tmp_path):
    path = tmp_path / "empty.nc"
    path.write_bytes(b"")
    with pytest.raises(FileFormatError, match="the file is empty") as info:
        plantar.read(path)
    _assert_names_path(info, path)


def test_text_file_unknown_format(tmp_path):
    path = tmp_path / "notes.txt"
    path.write_text("time,pressure\n0,1\n")
    with pytest.raises(FileFormatError, match="not a format plantar knows") as info:
        plantar.read(path)
    message = str(info.value)
    _assert_names_path(info, path)
    assert "netcdf" in message and ".nc" in message


def test_unknown_format_name(saved):
    _, path = saved
    with pytest.raises(FileFormatError, match="unknown format 'nonsense'") as info:
        plantar.read(path, format="nonsense")
    _assert_names_path(info, path)
    assert "netcdf" in str(info.value)


def test_directory(tmp_path):
    folder = tmp_path / "folder.nc"
    folder.mkdir()
    with pytest.raises(FileFormatError, match="directory") as info:
        plantar.read(folder)
    _assert_names_path(info, folder)


def test_missing_file(tmp_path):
    path = tmp_path / "nope.nc"
    with pytest.raises(FileNotFoundError) as info:
        plantar.read(path)
    _assert_names_path(info, path)


def test_netcdf_that_is_not_a_trial(tmp_path):
    path = tmp_path / "other.nc"
    xr.Dataset({"temperature": ("station", [12.5, 13.0])}, attrs={"title": "weather"}).to_netcdf(
        path, engine="h5netcdf"
    )
    with pytest.raises(FileFormatError, match="not a plantar trial") as info:
        plantar.read(path)
    _assert_names_path(info, path)
    assert "plantar_schema" in str(info.value)


def test_classic_netcdf_that_is_not_a_trial(tmp_path):
    path = tmp_path / "other.nc"
    xr.Dataset({"a": ("x", [1.0, 2.0])}).to_netcdf(path, engine="scipy")
    with pytest.raises(FileFormatError, match="not a plantar trial") as info:
        plantar.read(path)
    _assert_names_path(info, path)


def test_plain_hdf5_file(tmp_path):
    path = tmp_path / "plain.nc"
    with h5py.File(path, "w") as f:
        f["data"] = np.arange(5)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(FileFormatError, match="not a plantar trial") as info:
            plantar.read(path)
    _assert_names_path(info, path)


def test_cdf5_file_is_named_and_explained(tmp_path):
    path = tmp_path / "big.nc"
    path.write_bytes(b"CDF\x05" + bytes(200))
    with pytest.raises(FileFormatError, match="CDF-5") as info:
        plantar.read(path)
    _assert_names_path(info, path)


def test_netcdf_breaking_the_schema(tmp_path):
    bad = _hand_trial().copy(deep=True)
    bad["pressure"].values[2, 3, 1] = -4.0
    assert bad.attrs["plantar_schema"] == "trial/1"
    path = tmp_path / "bad.nc"
    bad.to_netcdf(path, engine="h5netcdf")
    with pytest.raises(FileFormatError, match="not a valid plantar trial") as info:
        plantar.read(path)
    _assert_names_path(info, path)
    assert "negative values (min -4 kPa at frame 2, row 3, col 1)" in str(info.value)


def test_netcdf_counts_breaking_the_schema(tmp_path):
    raw = plantar.make_counts(np.ones((2, 3, 3), dtype=int), pitch_mm=5.0, rate_hz=100.0)
    raw = raw.drop_vars("seq")
    path = tmp_path / "bad_raw.nc"
    raw.to_netcdf(path, engine="h5netcdf")
    with pytest.raises(FileFormatError, match="not a valid plantar trial.*no 'seq' coordinate") as info:
        plantar.read(path)
    _assert_names_path(info, path)


# --------------------------------------------------------------------------------------
# save


def test_save_refuses_to_overwrite(saved):
    _, path = saved
    before = path.read_bytes()
    other = plantar.make_trial(np.ones((2, 2, 2)), pitch_mm=5.0, rate_hz=100.0)
    with pytest.raises(FileExistsError) as info:
        plantar.save(other, path)
    _assert_names_path(info, path)
    assert path.read_bytes() == before
    assert _leftovers(path.parent) == []


def test_save_overwrite_replaces(saved):
    _, path = saved
    other = plantar.make_trial(np.full((2, 2, 2), 3.0), pitch_mm=5.0, rate_hz=50.0, subject="new")
    plantar.save(other, path, overwrite=True)
    back = plantar.read(path)
    xr.testing.assert_identical(back, other)
    assert back.attrs["subject"] == "new"
    assert _leftovers(path.parent) == []


@pytest.mark.parametrize("name", ["trial.h5", "trial.nc4", "trial", "trial.nc.tmp", "trial.cdf"])
def test_save_needs_nc_suffix(tmp_path, name):
    path = tmp_path / name
    with pytest.raises(ValueError, match=r"ending in \.nc") as info:
        plantar.save(_hand_trial(), path)
    _assert_names_path(info, path)
    assert list(tmp_path.iterdir()) == []


def test_save_upper_case_suffix(tmp_path):
    path = tmp_path / "TRIAL.NC"
    plantar.save(_hand_trial(), path)
    xr.testing.assert_identical(plantar.read(path), _hand_trial())


@pytest.mark.parametrize(
    "make_bad, exc_type, match",
    [
        pytest.param(
            lambda: _hand_trial().assign_attrs(body_mass_kg=-1.0), ValueError, "body_mass_kg", id="attr"
        ),
        pytest.param(
            lambda: _hand_trial().assign(pressure=_hand_trial().pressure.astype(np.float64)),
            ValueError,
            "float64",
            id="dtype",
        ),
        pytest.param(
            lambda: plantar.make_counts(np.ones((2, 2, 2), dtype=int), pitch_mm=1.0, rate_hz=1.0).drop_vars("seq"),
            ValueError,
            "seq",
            id="counts",
        ),
        pytest.param(lambda: xr.Dataset(), ValueError, "no 'pressure'", id="empty-dataset"),
        pytest.param(lambda: _hand_trial().pressure, TypeError, "xarray.Dataset", id="dataarray"),
    ],
)
def test_save_invalid_dataset(tmp_path, make_bad, exc_type, match):
    path = tmp_path / "bad.nc"
    with pytest.raises(exc_type, match=match):
        plantar.save(make_bad(), path)
    assert not path.exists()
    assert list(tmp_path.iterdir()) == []


def _failing_write_frames(*args):
    raise RuntimeError("simulated failure while writing the frames")


def test_save_failure_leaves_nothing(tmp_path, monkeypatch):
    monkeypatch.setattr(plantar.io.netcdf, "_write_frames", _failing_write_frames)
    path = tmp_path / "trial.nc"
    with pytest.raises(RuntimeError, match="simulated failure"):
        plantar.save(_hand_trial(), path)
    assert not path.exists()
    assert _leftovers(tmp_path) == []
    assert list(tmp_path.iterdir()) == []


def test_save_failure_keeps_existing_file(saved, monkeypatch):
    trial, path = saved
    before = path.read_bytes()
    monkeypatch.setattr(plantar.io.netcdf, "_write_frames", _failing_write_frames)
    other = plantar.make_trial(np.ones((2, 2, 2)), pitch_mm=5.0, rate_hz=100.0)
    with pytest.raises(RuntimeError, match="simulated failure"):
        plantar.save(other, path, overwrite=True)
    assert path.read_bytes() == before
    assert _leftovers(path.parent) == []
    assert sorted(p.name for p in path.parent.iterdir()) == [path.name]
    monkeypatch.undo()
    xr.testing.assert_identical(plantar.read(path), trial)


def test_save_writes_through_a_temporary_file(tmp_path, monkeypatch):
    """The file is built in memory, then written to a dot-file that becomes the target when complete."""
    seen = {}
    original_frames, original_sync = plantar.io.netcdf._write_frames, plantar.utils._files._sync

    def spy_frames(*args):
        seen["while building"] = sorted(p.name for p in tmp_path.iterdir())
        return original_frames(*args)

    def spy_sync(path):
        seen["before the move"] = sorted(p.name for p in tmp_path.iterdir())
        seen["size"] = Path(path).stat().st_size
        return original_sync(path)

    monkeypatch.setattr(plantar.io.netcdf, "_write_frames", spy_frames)
    monkeypatch.setattr(plantar.utils._files, "_sync", spy_sync)
    plantar.save(_hand_trial(), tmp_path / "trial.nc")
    assert seen["while building"] == []
    assert len(seen["before the move"]) == 1 and seen["before the move"][0].startswith(".trial.")
    assert seen["before the move"][0].endswith(".tmp.nc")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["trial.nc"]
    assert (tmp_path / "trial.nc").stat().st_size == seen["size"]
    xr.testing.assert_identical(plantar.read(tmp_path / "trial.nc"), _hand_trial())


# --------------------------------------------------------------------------------------
# bugs found while writing these tests, now fixed


def test_save_never_replaces_a_file_created_during_the_save(tmp_path, monkeypatch):
    path = tmp_path / "trial.nc"
    original = plantar.io.netcdf._write_frames

    def other_writer_meanwhile(*args):
        path.write_bytes(b"another process's recording")
        return original(*args)

    monkeypatch.setattr(plantar.io.netcdf, "_write_frames", other_writer_meanwhile)
    with pytest.raises(FileExistsError):
        plantar.save(_hand_trial(), path, overwrite=False)
    assert path.read_bytes() == b"another process's recording"


def test_one_element_array_attr_is_refused_up_front():
    # NetCDF reads a 1-element array attribute back as a scalar, so it could not round-trip.
    trial = _hand_trial().assign_attrs(channels=[5])
    with pytest.raises(ValueError, match=r"attr 'channels' is an array of 1 element"):
        plantar.check_trial(trial)
    plantar.check_trial(_hand_trial().assign_attrs(channels=[5, 6]))


@pytest.mark.parametrize(
    "value", [pytest.param("left\x00right", id="nul"), pytest.param(np.str_("S01"), id="np-str")]
)
def test_attrs_accepted_by_check_trial_are_storable(tmp_path, value):
    try:
        trial = plantar.make_trial(np.ones((2, 2, 2)), pitch_mm=5.0, rate_hz=100.0, note=value)
    except ValueError:
        return  # rejected up front: fine
    path = tmp_path / "trial.nc"
    plantar.save(trial, path)
    xr.testing.assert_identical(plantar.read(path), trial)


@pytest.mark.parametrize("dtype", ["float32", "uint16", "float64"])
def test_frame_chunks_are_the_bytes_hdf5s_own_filters_write(tmp_path, dtype):
    """The chunks compressed by plantar (deflate, then Fletcher-32) equal those HDF5's filters write, edges too."""
    import io as _io

    import h5py

    rng = np.random.default_rng(3)
    data = (rng.random((70, 40, 33)) * 400).astype(dtype)
    data[rng.random(data.shape) < 0.6] = 0
    data[:, 32:, :] = 0  # a row of chunks with no data: not written at all
    data[5, 33, 1] = 7  # ... but for one sample
    trial = plantar.make_trial(data.astype(float), pitch_mm=5.0, rate_hz=100.0)
    frames = trial.pressure.astype(dtype)
    chunks = {}
    for how in ("hdf5", "plantar"):
        buffer = _io.BytesIO()
        with h5py.File(buffer, "w") as f:
            dset = f.create_dataset("p", data.shape, data.dtype, chunks=plantar.io.netcdf._chunks(data.shape),
                                    compression="gzip", compression_opts=plantar.io.netcdf.DEFLATE_LEVEL,
                                    fletcher32=True)  # fmt: skip
            if how == "hdf5":
                dset[...] = frames.values
            else:
                plantar.io.netcdf._write_frames(dset, frames.values)
            chunks[how] = {dset.id.get_chunk_info(i).chunk_offset: bytes(dset.id.read_direct_chunk(
                dset.id.get_chunk_info(i).chunk_offset)[1]) for i in range(dset.id.get_num_chunks())}  # fmt: skip
            np.testing.assert_array_equal(dset[...], frames.values)
    hdf5 = {k: v for k, v in chunks["hdf5"].items() if any(np.frombuffer(v, np.uint8))}
    assert set(chunks["plantar"]) <= set(hdf5) and len(chunks["plantar"]) >= 4
    for offset, payload in chunks["plantar"].items():
        assert payload == hdf5[offset], offset


def test_fletcher32_matches_hdf5_on_odd_lengths_and_the_reduction_edge():
    from plantar.io.netcdf import _fletcher32

    # sum1 = 65535 words of 1 -> 65535 (not 0), as HDF5's folding reduction gives; an odd last byte is a high byte.
    assert _fletcher32(b"\x00\x01" * 65535) & 0xFFFF == 65535
    assert _fletcher32(b"\x01") == (0x0100 << 16) | 0x0100
    assert _fletcher32(b"") == 0
