"""The native file format: a trial as a compressed NetCDF-4 (HDF5) file.

Any NetCDF reader opens these files (xarray, netCDF4, R ncdf4, MATLAB ``ncread``,
``ncdump``): the layout is plain NetCDF-4 with deflate compression. Two choices
make pressure recordings small and fast to read back:

- The frame array (``pressure`` or ``counts``) is chunked in blocks of up to
  64 frames x 32 x 32 sensels and deflate-compressed at level 1. Deflate streams
  end in an Adler-32 checksum, so a corrupted chunk fails to read. (Byte shuffling
  is left out: on mostly-zero frames it makes files larger, not smaller, and
  undoing it costs more than inflating.)
- Other arrays with the frames' dims (a calibrated trial's per-cell
  ``saturated`` and ``extrapolated`` flags) are chunked and compressed alike.
- Chunks that hold only zeros are never written. HDF5 returns its fill value
  (zero) for unwritten chunks, and a walkway is empty almost everywhere almost all
  the time.

Reading such a file back, :func:`read` inflates the stored chunks itself and drops
them into a zeroed array, instead of letting HDF5 fill every unwritten chunk one by
one; this cuts the read time of a walkway recording by about a third. Files with any other layout
(written by other software) are read by xarray as usual.
"""

import os
import uuid
import zlib

import h5netcdf
import h5py
import numpy as np
import xarray as xr

from ._dispatch import FileFormat, FileFormatError

HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"
CLASSIC_SIGNATURES = (b"CDF\x01", b"CDF\x02", b"CDF\x05")
#: HDF5 allows a user block before the signature, of 512 bytes times a power of 2.
_HDF5_OFFSETS = (0, 512, 1024, 2048)

#: Chunk shape limits (frames, rows, cols) of the frame array.
CHUNK_FRAMES = 64
CHUNK_SENSELS = 32
DEFLATE_LEVEL = 1
_FRAME_VARIABLES = ("pressure", "counts")


def sniff(head):
    """Tell whether the first bytes of a file are a NetCDF file's.

    Parameters
    ----------
    head : bytes
        The first bytes of the file (a few kB).

    Returns
    -------
    is_netcdf : bool
        True for a NetCDF-4 (HDF5, with or without a user block) or NetCDF-3
        (classic) signature.

    Examples
    --------
    >>> from plantar.io import netcdf
    >>> netcdf.sniff(b"\\x89HDF\\r\\n\\x1a\\n" + bytes(8)), netcdf.sniff(b"DATA_TYPE MOVIE")
    (True, False)
    """
    if head[:4] in CLASSIC_SIGNATURES:
        return True
    return any(head[i : i + 8] == HDF5_SIGNATURE for i in _HDF5_OFFSETS)


def read(path):
    """Read a NetCDF file completely into memory.

    Use :func:`plantar.read`, which also checks the result against the schema;
    this is the format's reader behind it.

    Parameters
    ----------
    path : pathlib.Path
        The file.

    Returns
    -------
    ds : xarray.Dataset
        Everything in the file, loaded (the file is closed again).

    Raises
    ------
    plantar.io.FileFormatError
        If the file is not NetCDF, is truncated or corrupt, or is NetCDF-3
        64-bit-data (CDF-5), which is not read.

    Examples
    --------
    >>> import os, tempfile
    >>> from pathlib import Path
    >>> import numpy as np
    >>> import plantar
    >>> from plantar.io import netcdf
    >>> path = Path(tempfile.mkdtemp()) / "t.nc"
    >>> plantar.save(plantar.make_trial(np.ones((2, 2, 2)), pitch_mm=5.0, rate_hz=10.0), path)
    >>> netcdf.read(path).pressure.shape
    (2, 2, 2)
    """
    with open(path, "rb") as f:
        head = f.read(4096)
    if head[:4] == b"CDF\x05":
        raise FileFormatError(
            f"cannot read '{path}': it is a NetCDF-3 64-bit-data (CDF-5) file, which plantar does "
            "not read; convert it to NetCDF-4 first (nccopy -k nc4 IN OUT)"
        )
    if head[:4] in CLASSIC_SIGNATURES:
        options = dict(engine="scipy", mmap=False)
    elif any(head[i : i + 8] == HDF5_SIGNATURE for i in _HDF5_OFFSETS):
        # phony_dims: plain HDF5 files (no NetCDF dimensions) open, and are then
        # refused as "not a plantar trial" rather than with a warning.
        options = dict(engine="h5netcdf", phony_dims="access")
    else:
        raise FileFormatError(f"cannot read '{path}': not a NetCDF file (no NetCDF or HDF5 signature)")
    try:
        with xr.open_dataset(path, decode_times=False, decode_timedelta=False, **options) as ds:
            name = next((v for v in _FRAME_VARIABLES if v in ds.data_vars), None)
            frames = _read_stored_chunks(path, name) if (options["engine"] == "h5netcdf" and name) else None
            if frames is None:
                return ds.load()
            variable = ds[name].variable
            ds = ds.drop_vars(name).load()
            ds[name] = variable.copy(deep=False, data=frames)
            return ds
    except FileFormatError:
        raise
    except Exception as exc:
        first_line = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise FileFormatError(
            f"cannot read '{path}': the file is truncated or corrupt ({first_line})"
        ) from exc


# HDF5 filter ids, and the attributes that make xarray decode values (which the
# direct chunk reader would bypass).
_H5Z_FILTER_DEFLATE = 1
_H5Z_FILTER_SHUFFLE = 2
_CF_ENCODING_ATTRS = ("_FillValue", "missing_value", "scale_factor", "add_offset", "_Unsigned")


def _read_stored_chunks(path, name):
    """The frame array of a file laid out by :func:`write`, or None for other layouts.

    Only the chunks stored in the file are read: each is inflated (zlib checks its
    Adler-32), un-shuffled if it was shuffled, and placed into an array of zeros,
    the fill value of the chunks that were never written.
    """
    with h5py.File(path, "r") as f:
        dset = f[name]
        plist = dset.id.get_create_plist()
        pipeline = [plist.get_filter(i)[0] for i in range(plist.get_nfilters())]
        if (
            dset.chunks is None
            or pipeline not in ([_H5Z_FILTER_DEFLATE], [_H5Z_FILTER_SHUFFLE, _H5Z_FILTER_DEFLATE])
            or dset.dtype.byteorder not in ("<", "=", "|")
            or dset.fillvalue != 0
            or any(attr in dset.attrs for attr in _CF_ENCODING_ATTRS)
        ):
            return None
        stored = []
        for i in range(dset.id.get_num_chunks()):
            offset = dset.id.get_chunk_info(i).chunk_offset
            stored.append((offset, *dset.id.read_direct_chunk(offset)))
        shape, chunks, dtype = dset.shape, dset.chunks, dset.dtype.newbyteorder("=")
    frames = np.zeros(shape, dtype)
    count = int(np.prod(chunks))
    # Bit i of a chunk's filter mask is set when filter i was skipped for it.
    deflate_bit = 1 << pipeline.index(_H5Z_FILTER_DEFLATE)
    shuffled = _H5Z_FILTER_SHUFFLE in pipeline
    for offset, skipped, raw in stored:
        data = raw if skipped & deflate_bit else zlib.decompress(raw)
        if len(data) != count * dtype.itemsize or any(o % c or o >= n for o, c, n in zip(offset, chunks, shape)):
            raise FileFormatError(f"cannot read '{path}': chunk at {offset} of '{name}' is corrupt")
        block = np.frombuffer(data, np.uint8)
        if shuffled and not skipped & 1:
            block = block.reshape(dtype.itemsize, count).T
        block = np.ascontiguousarray(block).view(dtype).reshape(chunks)
        target = tuple(slice(o, min(o + c, n)) for o, c, n in zip(offset, chunks, shape))
        frames[target] = block[tuple(slice(0, t.stop - t.start) for t in target)]
    return frames


def write(ds, path, *, overwrite=False):
    """Write a checked trial or raw recording to ``path``, atomically.

    Use :func:`plantar.save`, which checks the Dataset first; this is the writer
    behind it. Everything but the frame array goes through
    :meth:`xarray.Dataset.to_netcdf`; the frame array is then added chunk by
    chunk, skipping all-zero chunks. The file is written under a temporary name
    and moved into place only when complete; without ``overwrite``, a file that
    appears at ``path`` meanwhile is never replaced.

    Parameters
    ----------
    ds : xarray.Dataset
        A trial or raw recording that passed its check.
    path : pathlib.Path
        Output file.
    overwrite : bool
        Replace an existing file.

    Raises
    ------
    FileExistsError
        If ``path`` exists (or appears while writing) and ``overwrite`` is False.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> import numpy as np
    >>> import plantar
    >>> from plantar.io import netcdf
    >>> path = Path(tempfile.mkdtemp()) / "t.nc"
    >>> netcdf.write(plantar.make_trial(np.zeros((3, 4, 4)), pitch_mm=5.0, rate_hz=10.0), path)
    >>> path.exists()
    True
    """
    name = next(v for v in _FRAME_VARIABLES if v in ds.data_vars)
    frames = ds[name]
    rest = ds.drop_vars(name).copy(deep=False)  # new Variables: the caller's attrs stay as they are
    rest.attrs = _storable(rest.attrs)
    for var in rest.variables.values():
        var.attrs = _storable(var.attrs)
    # Replace any encoding carried over from a file the data was read from.
    encoding = {var: {"_FillValue": None} for var in rest.variables}
    for var in rest.data_vars:  # other frame-shaped arrays (a calibration's per-cell flags): compressed too
        if rest[var].dims == frames.dims:
            encoding[var].update(zlib=True, complevel=DEFLATE_LEVEL, chunksizes=_chunks(frames.shape))
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        rest.to_netcdf(tmp, engine="h5netcdf", encoding=encoding)
        with h5netcdf.File(tmp, "a") as f:
            _write_frames(f, name, frames)
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
        if overwrite:
            os.replace(tmp, path)
        else:
            _move_unless_exists(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def _move_unless_exists(tmp, path):
    """Rename ``tmp`` to ``path``, failing if ``path`` exists, even if it appears meanwhile."""
    try:
        os.link(tmp, path)  # atomic: fails if path exists
    except FileExistsError:
        raise FileExistsError(f"'{path}' exists; pass overwrite=True to replace it") from None
    except OSError:
        # A file system without hard links: check, then rename.
        if path.exists():
            raise FileExistsError(f"'{path}' exists; pass overwrite=True to replace it") from None
        os.replace(tmp, path)


def _storable(attrs):
    """Attrs as NetCDF stores them: numpy strings as plain str."""
    return {key: str(value) if isinstance(value, np.str_) else value for key, value in attrs.items()}


def _chunks(shape):
    n_frames, n_rows, n_cols = shape
    return min(n_frames, CHUNK_FRAMES), min(n_rows, CHUNK_SENSELS), min(n_cols, CHUNK_SENSELS)


def _write_frames(f, name, frames):
    data = np.ascontiguousarray(frames.values)
    n_frames, n_rows, n_cols = data.shape
    ct, cy, cx = _chunks(data.shape)
    var = f.create_variable(
        name,
        frames.dims,
        data.dtype,
        chunks=(ct, cy, cx),
        compression="gzip",
        compression_opts=DEFLATE_LEVEL,
    )
    var.attrs.update(_storable(frames.attrs))
    # Compare bit patterns, so that NaN and -0.0 count as data.
    bits = data.view(f"u{data.dtype.itemsize}")
    ny, nx = -(-n_rows // cy), -(-n_cols // cx)
    for t0 in range(0, n_frames, ct):
        block = slice(t0, t0 + ct)
        used = np.zeros((ny * cy, nx * cx), dtype=bool)
        used[:n_rows, :n_cols] = np.any(bits[block] != 0, axis=0)
        tiles = used.reshape(ny, cy, nx, cx).any(axis=(1, 3))
        for j, k in zip(*np.nonzero(tiles)):
            rows, cols = slice(j * cy, (j + 1) * cy), slice(k * cx, (k + 1) * cx)
            var[block, rows, cols] = data[block, rows, cols]


FORMAT = FileFormat(
    name="netcdf",
    description="plantar NetCDF trial",
    extensions=(".nc",),
    sniff=sniff,
    reader=read,
)
