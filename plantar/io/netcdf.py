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
- Every variable (coordinates included) carries HDF5's Fletcher-32 checksum on
  each of its chunks, and the file's internal structures carry HDF5's metadata
  checksums (the HDF5 1.8 file format). The root attribute ``plantar_checksums``
  holds a CRC-32 per variable of its shape, type, attributes and chunk index (each
  stored chunk's position with its Fletcher-32), and one of the root attributes: a
  flipped bit anywhere in the values, coordinates or attributes fails the read,
  naming the variable. Files written before the checksums (no
  ``plantar_checksums``) still read, unchecked beyond deflate's Adler-32.
- The whole file is built in memory and then written to disk in one go, through
  a temporary file moved into place: HDF5 never meets a full disk, which it cannot
  recover from.

Reading such a file back, :func:`read` inflates the stored chunks itself and drops
them into a zeroed array, instead of letting HDF5 fill every unwritten chunk one by
one; this cuts the read time of a walkway recording by about a third. Files with any other layout
(written by other software) are read by xarray as usual.
"""

import io
import json
import os
import zlib

import h5netcdf
import h5py
import numpy as np
import xarray as xr

from ..utils._files import write_bytes
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
#: Root attribute holding the CRC-32s of each variable and of the root attributes (JSON).
CHECKSUM_ATTR = "plantar_checksums"
#: Attributes HDF5 and NetCDF-4 keep for themselves (object references, bookkeeping).
_INTERNAL_ATTRS = frozenset(
    ("DIMENSION_LIST", "REFERENCE_LIST", "CLASS", "NAME", "_Netcdf4Dimid", "_Netcdf4Coordinates",
     "_NCProperties", "_nc3_strict", CHECKSUM_ATTR)
)  # fmt: skip
#: HDF5 file format: 1.8 (object headers, superblock and heaps carry checksums), readable by HDF5 >= 1.8.
_LIBVER = ("v108", "latest")


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
    if options["engine"] == "scipy":
        try:
            with xr.open_dataset(path, decode_times=False, decode_timedelta=False, **options) as ds:
                return ds.load()
        except Exception as exc:
            message = f"cannot read '{path}': the file is truncated or corrupt ({_first_line(exc)})"
            raise FileFormatError(message) from exc
    try:
        # Checksums and the frame array first, with h5py: a damaged file is refused
        # before xarray opens it.
        name, frames = _read_checked(path)
        with xr.open_dataset(path, decode_times=False, decode_timedelta=False, **options) as ds:
            for var_name, var in ds.variables.items():
                if var_name != name or frames is None:
                    try:
                        var.load()
                    except Exception as exc:
                        raise FileFormatError(
                            f"cannot read '{path}': variable '{var_name}' is corrupt or fails its checksum "
                            f"({_first_line(exc)})"
                        ) from exc
            if frames is not None:
                variable = ds[name].variable.copy(deep=False, data=frames)
                ds = ds.drop_vars(name).assign({name: variable})
            ds = ds.load()
            ds.attrs.pop(CHECKSUM_ATTR, None)
            return ds
    except FileFormatError:
        raise
    except Exception as exc:
        bad = _unreadable_variable(path)
        what = "the file is truncated or corrupt"
        if bad is not None:
            what = f"variable '{bad}' is corrupt or fails its checksum"
        raise FileFormatError(f"cannot read '{path}': {what} ({_first_line(exc)})") from exc


def _unreadable_variable(path):
    """The name of the first variable HDF5 cannot read (a failed checksum...), or None."""
    names = []
    try:
        with h5py.File(path, "r") as f:
            f.visititems(lambda key, obj: names.append(key) if isinstance(obj, h5py.Dataset) else None)
            for name in names:
                try:
                    f[name][()]
                except Exception:
                    return name
    except Exception:
        return None
    return None


def _first_line(exc):
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]


# HDF5 filter ids, and the attributes that make xarray decode values (which the
# direct chunk reader would bypass).
_H5Z_FILTER_DEFLATE = 1
_H5Z_FILTER_SHUFFLE = 2
_H5Z_FILTER_FLETCHER32 = 3
_CF_ENCODING_ATTRS = ("_FillValue", "missing_value", "scale_factor", "add_offset", "_Unsigned")
#: Filter pipelines of the frame array that the direct chunk reader handles.
_DIRECT_PIPELINES = tuple(
    [*shuffle, _H5Z_FILTER_DEFLATE, *fletcher]
    for shuffle in ([], [_H5Z_FILTER_SHUFFLE])
    for fletcher in ([], [_H5Z_FILTER_FLETCHER32])
)


def _read_checked(path):
    """Check the file's checksums; return ``(name, frames)``: its frame array, read chunk by chunk.

    With a ``plantar_checksums`` attribute, the CRC-32 of every variable (shape,
    type, attributes, chunk index) and of the root attributes is checked. The frame
    array (``pressure`` or ``counts``, ``name``) is read by :func:`_assemble` if its
    layout is the one :func:`write` makes; otherwise ``frames`` is None and xarray
    reads it.
    """
    with h5py.File(path, "r") as f:
        name = next((v for v in _FRAME_VARIABLES if isinstance(f.get(v), h5py.Dataset)), None)
        stored = None if name is None else _stored_chunks(path, f[name], name)
        if CHECKSUM_ATTR in f.attrs:
            try:
                expected = json.loads(_attr_value(f.attrs[CHECKSUM_ATTR]))
                if not isinstance(expected, dict):
                    raise ValueError("not a JSON object")
            except ValueError as exc:
                raise FileFormatError(f"cannot read '{path}': attribute '{CHECKSUM_ATTR}' is corrupt ({exc})") from None
            found = _checksums(f, {name: stored[1]} if stored is not None else {})
            for key in sorted(set(expected) | set(found)):
                if expected.get(key) != found.get(key):
                    what = "the file's attributes do" if key == "" else f"variable '{key}' does"
                    raise FileFormatError(
                        f"cannot read '{path}': {what} not match the checksum stored in the file "
                        "(the file was changed or corrupted after it was written)"
                    )
    return name, None if stored is None else _assemble(path, name, *stored)


def _stored_chunks(path, dset, name):
    """``(layout, chunks)`` of a frame array laid out by :func:`write`, or None for other layouts.

    ``chunks`` is a list of ``(offset, filter_mask, raw_bytes)``, as stored.
    """
    plist = dset.id.get_create_plist()
    pipeline = [plist.get_filter(i)[0] for i in range(plist.get_nfilters())]
    if (
        dset.chunks is None
        or pipeline not in _DIRECT_PIPELINES
        or dset.dtype.byteorder not in ("<", "=", "|")
        or dset.fillvalue != 0
        or any(attr in dset.attrs for attr in _CF_ENCODING_ATTRS)
    ):
        return None
    chunks = []
    for i in range(dset.id.get_num_chunks()):
        offset = dset.id.get_chunk_info(i).chunk_offset
        chunks.append((offset, *dset.id.read_direct_chunk(offset)))
    layout = (dset.shape, dset.chunks, dset.dtype.newbyteorder("="), pipeline)
    return layout, chunks


def _assemble(path, name, layout, stored):
    """The frame array from its stored chunks.

    Each chunk's Fletcher-32 is checked (if the file has them), then it is
    inflated (zlib checks its Adler-32), un-shuffled if it was shuffled, and placed
    into an array of zeros, the fill value of the chunks that were never written.
    """
    shape, chunks, dtype, pipeline = layout
    frames = np.zeros(shape, dtype)
    count = int(np.prod(chunks))
    # Bit i of a chunk's filter mask is set when filter i was skipped for it.
    bit = {f: 1 << i for i, f in enumerate(pipeline)}
    for offset, skipped, raw in stored:
        if _H5Z_FILTER_FLETCHER32 in bit and not skipped & bit[_H5Z_FILTER_FLETCHER32]:
            if not _fletcher32_ok(raw):
                raise FileFormatError(
                    f"cannot read '{path}': chunk at {offset} of variable '{name}' fails its checksum"
                )
            raw = raw[:-4]
        try:
            data = raw if skipped & bit[_H5Z_FILTER_DEFLATE] else zlib.decompress(raw)
        except zlib.error as exc:
            raise FileFormatError(
                f"cannot read '{path}': chunk at {offset} of variable '{name}' is corrupt ({exc})"
            ) from None
        if len(data) != count * dtype.itemsize or any(o % c or o >= n for o, c, n in zip(offset, chunks, shape)):
            raise FileFormatError(f"cannot read '{path}': chunk at {offset} of variable '{name}' is corrupt")
        block = np.frombuffer(data, np.uint8)
        if _H5Z_FILTER_SHUFFLE in bit and not skipped & bit[_H5Z_FILTER_SHUFFLE]:
            block = block.reshape(dtype.itemsize, count).T
        block = np.ascontiguousarray(block).view(dtype).reshape(chunks)
        target = tuple(slice(o, min(o + c, n)) for o, c, n in zip(offset, chunks, shape))
        frames[target] = block[tuple(slice(0, t.stop - t.start) for t in target)]
    return frames


def _fletcher32_ok(raw):
    """Whether a chunk's last 4 bytes are HDF5's Fletcher-32 of the bytes before them.

    HDF5 sums the data as big-endian 16-bit words ``w[0..n-1]`` (a last odd byte as
    the high byte of a word): ``sum1 = sum(w)`` and ``sum2 = sum((n - i) w[i])``,
    both modulo 65535 (compared modulo 65535, as its folding may leave 65535 for
    0). The words are summed in blocks of 256, without a Python loop.
    """
    raw = memoryview(raw)
    if len(raw) < 4:
        return False
    data, stored = raw[:-4], int.from_bytes(raw[-4:], "little")
    odd = len(data) % 2
    words = np.frombuffer(data[: len(data) - odd], ">u2")
    n_blocks = len(words) // _BLOCK
    blocks = words[: n_blocks * _BLOCK].reshape(n_blocks, _BLOCK)
    tail = words[n_blocks * _BLOCK :].astype(np.int64)
    if odd:
        tail = np.append(tail, np.int64(data[-1]) << 8)
    n = len(words) + odd
    block_sums = blocks.sum(axis=1, dtype=np.int64)
    column_sums = blocks.sum(axis=0, dtype=np.int64)
    sum1 = int(block_sums.sum()) + int(tail.sum())
    weighted = (  # sum(i * w[i])
        _BLOCK * int(np.dot(block_sums, np.arange(n_blocks, dtype=np.int64)))
        + int(np.dot(column_sums, np.arange(_BLOCK, dtype=np.int64)))
        + int(np.dot(tail, np.arange(n_blocks * _BLOCK, n, dtype=np.int64)))
    )
    sum2 = n * sum1 - weighted
    return (stored & 0xFFFF) % 65535 == sum1 % 65535 and (stored >> 16) % 65535 == sum2 % 65535


_BLOCK = 256


def _checksums(f, stored=None):
    """CRC-32 of the root attributes (key ``""``) and of each variable of an open HDF5 file.

    A variable's CRC covers its shape, type, attributes, and for chunked ones the
    chunk index: each stored chunk's position, filter mask, size and (with the
    Fletcher-32 filter) its checksum, so a chunk cannot move or be swapped unseen.
    ``stored`` gives the chunks already read, by variable name.
    """
    stored = stored or {}
    sums = {"": _crc_attrs(f.attrs)}
    datasets = []
    f.visititems(lambda key, obj: datasets.append(key) if isinstance(obj, h5py.Dataset) else None)
    for key in datasets:
        dset = f[key]
        crc = zlib.crc32(f"{key}|{dset.shape}|{dset.dtype.str}|".encode(), _crc_attrs(dset.attrs))
        if dset.chunks is not None:
            plist = dset.id.get_create_plist()
            fletcher = any(plist.get_filter(i)[0] == _H5Z_FILTER_FLETCHER32 for i in range(plist.get_nfilters()))
            chunks = stored.get(key)
            if chunks is None:
                chunks = []
                for i in range(dset.id.get_num_chunks()):
                    offset = dset.id.get_chunk_info(i).chunk_offset
                    chunks.append((offset, *dset.id.read_direct_chunk(offset)))
            for offset, mask, raw in sorted(chunks, key=lambda c: c[0]):
                tail = bytes(raw[-4:]) if fletcher else b""
                crc = zlib.crc32(f"{offset}|{mask}|{len(raw)}|".encode() + tail, crc)
        sums[key] = crc
    return sums


def _crc_attrs(attrs):
    crc = 0
    for key in sorted(k for k in attrs if k not in _INTERNAL_ATTRS):
        value = attrs[key]
        if isinstance(value, bytes):
            payload = b"b" + value
        elif isinstance(value, str):
            payload = b"s" + value.encode("utf-8", "surrogatepass")
        else:
            array = np.asarray(value)
            if array.dtype.kind == "O":
                payload = b"o" + "\x00".join(map(str, array.ravel())).encode("utf-8", "surrogatepass")
            else:
                payload = f"{array.dtype.str}{array.shape}".encode() + array.tobytes()
        crc = zlib.crc32(key.encode("utf-8", "surrogatepass") + b"=" + payload + b"|", crc)
    return crc


def _attr_value(value):
    return value.decode("utf-8") if isinstance(value, bytes) else str(value)


def write(ds, path, *, overwrite=False):
    """Write a checked trial or raw recording to ``path``, atomically.

    Use :func:`plantar.save`, which checks the Dataset first; this is the writer
    behind it. The file is built in memory: everything but the frame array
    through xarray, then the frame array chunk by chunk, skipping all-zero
    chunks, then the checksums. It is written to disk under a temporary name and
    moved into place only when complete (see :func:`plantar.utils._files.output_files`);
    without ``overwrite``, a file that appears at ``path`` meanwhile is never
    replaced, and a full disk leaves nothing behind.

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
    plantar.utils._files.DiskFullError
        If the disk is full (checked before writing, and while writing).

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
    for var in rest.variables:  # HDF5 checksums chunked data only: every array but a scalar is chunked
        if rest[var].ndim:
            encoding[var]["fletcher32"] = True
    write_bytes(path, _image(rest, encoding, name, frames), overwrite=overwrite)


def _image(rest, encoding, name, frames):
    """The bytes of the NetCDF file, built in memory (HDF5 never touches the disk)."""
    buffer = io.BytesIO()
    with h5netcdf.File(buffer, "w", libver=_LIBVER) as f:
        rest.dump_to_store(xr.backends.H5NetCDFStore(f), encoding=encoding)
        data = _create_frames(f, name, frames)
    with h5py.File(buffer, "r+", libver=_LIBVER) as f:  # closed by h5netcdf: every attribute is final
        _write_frames(f, name, data)  # through h5py itself: h5netcdf looks the variable up on every write
        f.attrs[CHECKSUM_ATTR] = json.dumps(_checksums(f), sort_keys=True)
    return buffer.getbuffer()


def _storable(attrs):
    """Attrs as NetCDF stores them: numpy strings as plain str."""
    return {key: str(value) if isinstance(value, np.str_) else value for key, value in attrs.items()}


def _chunks(shape):
    n_frames, n_rows, n_cols = shape
    return min(n_frames, CHUNK_FRAMES), min(n_rows, CHUNK_SENSELS), min(n_cols, CHUNK_SENSELS)


def _create_frames(f, name, frames):
    """Declare the frame array in the h5netcdf file ``f`` (chunked, deflated, checksummed); return its values."""
    data = np.ascontiguousarray(frames.values)
    var = f.create_variable(
        name,
        frames.dims,
        data.dtype,
        chunks=_chunks(data.shape),
        compression="gzip",
        compression_opts=DEFLATE_LEVEL,
        fletcher32=True,
    )
    var.attrs.update(_storable(frames.attrs))
    return data


def _write_frames(f, name, data):
    """Write the chunks of ``data`` that hold a non-zero value into variable ``name`` of the h5py file ``f``."""
    dataset = f[name]
    n_frames, n_rows, n_cols = data.shape
    ct, cy, cx = _chunks(data.shape)
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
            dataset[block, rows, cols] = data[block, rows, cols]


FORMAT = FileFormat(
    name="netcdf",
    description="plantar NetCDF trial",
    extensions=(".nc",),
    sniff=sniff,
    reader=read,
)
