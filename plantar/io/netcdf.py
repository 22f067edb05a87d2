"""The native file format: a trial as a compressed NetCDF-4 (HDF5) file.

Any NetCDF reader opens these files (xarray, netCDF4, R ncdf4, MATLAB ``ncread``,
``ncdump``): the layout is plain NetCDF-4 with deflate compression. Two choices
make pressure recordings small and fast to read back:

- The frame array (``pressure`` or ``counts``) is chunked in blocks of up to
  64 frames x 32 x 32 sensels, byte-shuffled and deflate-compressed at level 1.
  Deflate streams end in an Adler-32 checksum, so a corrupted chunk fails to read.
- Chunks that hold only zeros are never written. HDF5 returns its fill value
  (zero) for unwritten chunks without reading or decompressing anything, and a
  walkway is empty almost everywhere almost all the time.
"""

import os
import uuid

import h5netcdf
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
    """True if ``head`` starts a NetCDF-4 (HDF5) or NetCDF-3 (classic) file."""
    if head[:4] in CLASSIC_SIGNATURES:
        return True
    return any(head[i : i + 8] == HDF5_SIGNATURE for i in _HDF5_OFFSETS)


def read(path):
    """Read a NetCDF file completely into memory; return the Dataset unchecked.

    :func:`plantar.read` checks the result against the schema.
    """
    with open(path, "rb") as f:
        head = f.read(4096)
    if head[:4] in CLASSIC_SIGNATURES:
        engine = "scipy"
    elif any(head[i : i + 8] == HDF5_SIGNATURE for i in _HDF5_OFFSETS):
        engine = "h5netcdf"
    else:
        raise FileFormatError(f"cannot read '{path}': not a NetCDF file (no NetCDF or HDF5 signature)")
    try:
        with xr.open_dataset(
            path, engine=engine, decode_times=False, decode_timedelta=False
        ) as ds:
            return ds.load()
    except Exception as exc:
        first_line = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise FileFormatError(
            f"cannot read '{path}': the file is truncated or corrupt ({first_line})"
        ) from exc


def write(ds, path):
    """Write a checked trial or raw recording to ``path``, atomically.

    Everything but the frame array goes through :meth:`xarray.Dataset.to_netcdf`;
    the frame array is then added chunk by chunk, skipping all-zero chunks.
    """
    name = next(v for v in _FRAME_VARIABLES if v in ds.data_vars)
    frames = ds[name]
    rest = ds.drop_vars(name)
    # Replace any encoding carried over from a file the data was read from.
    encoding = {var: {"_FillValue": None} for var in rest.variables}
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        rest.to_netcdf(tmp, engine="h5netcdf", encoding=encoding)
        with h5netcdf.File(tmp, "a") as f:
            _write_frames(f, name, frames)
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def _write_frames(f, name, frames):
    data = np.ascontiguousarray(frames.values)
    n_frames, n_rows, n_cols = data.shape
    ct, cy, cx = min(n_frames, CHUNK_FRAMES), min(n_rows, CHUNK_SENSELS), min(n_cols, CHUNK_SENSELS)
    var = f.create_variable(
        name,
        frames.dims,
        data.dtype,
        chunks=(ct, cy, cx),
        compression="gzip",
        compression_opts=DEFLATE_LEVEL,
        shuffle=True,
    )
    var.attrs.update(frames.attrs)
    # Compare bit patterns, so that NaN and -0.0 count as data.
    bits = data.view(np.uint32 if data.dtype.itemsize == 4 else f"u{data.dtype.itemsize}")
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
