"""``batch()``: one task per file of a study, mapped over a Dask cluster, into one tidy table.

:func:`analyse_one` is the whole work on one file: read, analyse, tidy table
and the steps' aligned peak-pressure maps. It is a pure function of the file
and the options; :func:`batch` maps it over the study's files (on Dask, or in a
plain loop) and nothing else in plantar knows about Dask. Each result is cached
under the output folder by the file's content hash and the options, so a
re-run redoes only new or changed files.
"""

import hashlib
import io
import json
import os
import resource
import sys
import time
import traceback
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from .._version import __version__
from ..analyze import STEP_VARIABLES, analyze, to_table
from ..geometry import aligned_peak_maps
from ..io import read
from ..metrics import STEP_REGION_METRICS
from ..utils import fill_doc, logger, verbose as _verbose
from ..utils._files import csv_text, output_files
from ._manifest import MANIFEST_COLUMNS, manifest_from_pattern, read_manifest

#: Columns of the study's tidy table, in order.
TABLE_COLUMNS = ["subject", "condition", "visit", "trial", "step", "side", "complete", "region", "metric", "value",
                 "units", "definition"]  # fmt: skip
#: Columns of the per-file status table, in order.
STATUS_COLUMNS = ["file", "subject", "condition", "visit", "trial", "body_mass_kg", "status", "reason", "steps",
                  "seconds", "worker_peak_mb", "sha256", "cache"]  # fmt: skip
#: What the status column says.
STATUSES = ("ok", "error", "skipped")
#: Grid spacing of the aligned maps by default, mm: one grid for every device of a study.
SPACING_MM = 5.0
#: Files of the output folder.
OUTPUTS = {"table_csv": "table.csv", "table_parquet": "table.parquet", "status": "status.csv", "maps": "maps.nc",
           "options": "batch.json"}  # fmt: skip
_SIDES = ("left", "right")
_DEFINITIONS = {name: spec[2] for name, spec in {**STEP_REGION_METRICS, **STEP_VARIABLES}.items()}


def analyse_one(path, *, threshold_kpa=None, mask="percent", spacing_mm=SPACING_MM, side="", body_mass_kg=None):
    """Read one file, analyse it, and return its tidy table and its aligned peak-pressure maps.

    This is the task :func:`batch` runs once per file; it is a pure function
    of the file's content and the options, and runs the same in a loop.

    Parameters
    ----------
    path : str | os.PathLike
        A file :func:`plantar.read` opens.
    threshold_kpa : float | None
        Contact threshold, kPa (see :func:`plantar.analyze`); None = from the data.
    mask : str
        Masking scheme name (see :func:`plantar.regions.get_mask`).
    spacing_mm : float
        Grid spacing of the aligned maps, mm.
    side : {"", "left", "right"}
        The foot a one-foot file (an insole) holds, if the file does not say;
        "" = as the file says or as the analysis finds.
    body_mass_kg : float | None
        Body mass to store in the trial, if the file lacks it.

    Returns
    -------
    result : dict
        ``table``: the tidy table (:func:`plantar.to_table` with a
        ``definition`` column); ``maps``: an xarray.Dataset with
        ``peak_pressure_sum`` (side, along_mm, across_mm; kPa, the sum over the
        side's complete steps of their aligned peak-pressure maps, NaN where a
        side has none) and ``n_steps`` (side); ``steps`` (int); ``warnings``
        (str, the analysis' warnings joined by "; "). For insoles of irregular
        sensors (attr ``map_layout = "sensor"``) the maps are per sensor, which
        is fixed to the foot and needs no alignment: ``peak_pressure_sum`` on
        (side, sensor), ``sensor`` the sensor number, with each sensor's
        geometry (``sensor_x``, ``sensor_y``, ``sensor_area``, ``outline_x``,
        ``outline_y`` on (side, sensor[, vertex])) as coordinates.

    Raises
    ------
    plantar.io.FileFormatError
        If the file cannot be read.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> import plantar
    >>> from plantar.cohort import analyse_one
    >>> trial, _ = plantar.synth.walk(seed=1, passes=2)
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "walk.nc"
    >>> plantar.save(trial, path)
    >>> result = analyse_one(path)
    >>> result["steps"] == len(result["table"].step.unique())
    True
    >>> result["maps"].peak_pressure_sum.dims
    ('side', 'along_mm', 'across_mm')
    """
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        trial = read(path)
        if side:
            trial.attrs["side"] = side
        if body_mass_kg is not None and np.isfinite(body_mass_kg) and body_mass_kg > 0:
            trial.attrs["body_mass_kg"] = float(body_mass_kg)
        analysis = analyze(trial, threshold_kpa=threshold_kpa, mask=mask)
        del trial  # the trial is the largest thing a task holds: free it before the maps
    table = to_table(analysis)
    table["definition"] = table["metric"].map(_DEFINITIONS).fillna("")
    sensors = analysis.attrs.get("map_layout") == "sensor"
    return {
        "table": table,
        "maps": _sensor_map_sums(analysis) if sensors else _map_sums(analysis, spacing_mm),
        "steps": int(analysis.sizes["step"]),
        "warnings": "; ".join(dict.fromkeys(str(w.message).splitlines()[0] for w in caught)),
    }


def footprint_axis(analysis):
    """Each step's foot axis from its footprint's shape alone: the long principal axis of the contact area.

    The analysis' ``axis_angle`` runs from the heel centre to the forefoot's
    load centroid, so a change of load under the forefoot (an offload under
    one metatarsal head) turns it by a degree or so, and maps aligned on it
    differ along every edge of the footprint. The principal axis of the
    footprint (the sensels above the contact threshold, unweighted; second
    moments) depends on where the foot touches, not how hard: the maps of
    :func:`batch` are aligned on it, pointing the same way as ``axis_angle``
    (toward the toes).

    Parameters
    ----------
    analysis : xarray.Dataset
        An analysis from :func:`plantar.analyze`.

    Returns
    -------
    axis_angle : numpy.ndarray
        Per step, deg counter-clockwise from +x; the analysis' own angle where
        the footprint has fewer than 3 sensels.

    Examples
    --------
    >>> import numpy as np
    >>> import plantar
    >>> from plantar.cohort import footprint_axis
    >>> trial, truth = plantar.synth.walk(seed=0, passes=1, toe_out_deg=0.0, variability=0.0)
    >>> analysis = plantar.analyze(trial)
    >>> bool(np.all(np.abs(footprint_axis(analysis) - analysis.axis_angle.values) < 10))
    True
    """
    x, y = analysis["x"].values.astype(float), analysis["y"].values.astype(float)
    peak = analysis["peak_pressure_map"].values
    threshold = float(analysis.attrs.get("threshold_kpa", 0.0))
    angles = analysis["axis_angle"].values.astype(float).copy()
    for k in range(peak.shape[0]):  # one footprint per step
        rows, cols = np.nonzero(np.nan_to_num(peak[k]) > threshold)
        if rows.size < 3 or not np.isfinite(angles[k]):
            continue
        px, py = x[cols] - x[cols].mean(), y[rows] - y[rows].mean()
        covariance = np.array([[px @ px, px @ py], [px @ py, py @ py]])
        _, vectors = np.linalg.eigh(covariance)
        long_axis = vectors[:, -1]
        toward = np.array([np.cos(np.radians(angles[k])), np.sin(np.radians(angles[k]))])
        long_axis = long_axis if long_axis @ toward >= 0 else -long_axis
        angles[k] = np.degrees(np.arctan2(long_axis[1], long_axis[0]))
    return angles


def _map_sums(analysis, spacing_mm):
    """Sum and count of each side's aligned complete-step maps, on one grid for both sides."""
    analysis = analysis.assign(axis_angle=("step", footprint_axis(analysis), analysis["axis_angle"].attrs))
    sums, counts = {}, {}
    for side in _SIDES:
        chosen = (analysis["side"].values == side) & analysis["complete"].values.astype(bool)
        if not chosen.any():
            continue
        aligned = aligned_peak_maps(analysis, side=side, spacing_mm=spacing_mm)
        sums[side] = aligned["peak_pressure_map"].astype(np.float64).sum("step")
        counts[side] = int(aligned.attrs["n_steps"])
    along, across = _union_grid([s for s in sums.values()], spacing_mm)
    data = np.full((len(_SIDES), along.size, across.size), np.nan)
    for i, side in enumerate(_SIDES):
        if side in sums:
            data[i] = sums[side].reindex(along_mm=along, across_mm=across, method="nearest", tolerance=spacing_mm / 4,
                                         fill_value=0.0).values  # fmt: skip
    return xr.Dataset(
        {"peak_pressure_sum": (("side", "along_mm", "across_mm"), data, {"units": "kPa"}),
         "n_steps": ("side", np.array([counts.get(s, 0) for s in _SIDES], dtype=np.int64), {"units": "1"})},
        coords={"side": list(_SIDES), "along_mm": along, "across_mm": across},
        attrs={"spacing_mm": float(spacing_mm)},
    )  # fmt: skip


#: Geometry of each sensor carried by the sensor maps, on (side, sensor[, vertex]).
_SENSOR_GEOMETRY = ("sensor_x", "sensor_y", "sensor_area", "outline_x", "outline_y")


def _sensor_map_sums(analysis):
    """Sum and count of each side's complete-step peak maps per sensor (an insole's sensors are fixed to the foot)."""
    peaks = np.nan_to_num(analysis["peak_pressure_map"].values.astype(np.float64))
    number = analysis["sensor_number"].values.astype(np.int64)
    sensor_side = analysis["sensor_side"].values
    numbers = np.unique(number)
    n_vertex = analysis.sizes.get("vertex", analysis["outline_x"].shape[-1])
    data = np.full((len(_SIDES), numbers.size), np.nan)
    counts = np.zeros(len(_SIDES), dtype=np.int64)
    geometry = {name: np.full((len(_SIDES), numbers.size) + ((n_vertex,) if name.startswith("outline") else ()),
                              np.nan) for name in _SENSOR_GEOMETRY}  # fmt: skip
    for i, side in enumerate(_SIDES):
        own = sensor_side == side
        if not own.any():
            continue
        at = np.searchsorted(numbers, number[own])
        for name in _SENSOR_GEOMETRY:
            geometry[name][i, at] = analysis[name].values[own]
        chosen = (analysis["side"].values == side) & analysis["complete"].values.astype(bool)
        if chosen.any():
            data[i, at] = peaks[chosen][:, own].sum(axis=0)
            counts[i] = int(chosen.sum())
    return _sensor_dataset(numbers, data, counts, geometry)


def _sensor_dataset(numbers, data, counts, geometry):
    """The per-sensor map sums of one file as a Dataset (see :func:`analyse_one`)."""
    coords = {"side": list(_SIDES), "sensor": ("sensor", numbers, {"long_name": "sensor number"})}
    for name, values in geometry.items():
        dims = ("side", "sensor", "vertex")[: values.ndim]
        coords[name] = (dims, values, {"units": "mm2" if name == "sensor_area" else "mm"})
    return xr.Dataset(
        {"peak_pressure_sum": (("side", "sensor"), data, {"units": "kPa"}),
         "n_steps": ("side", np.asarray(counts, dtype=np.int64), {"units": "1"})},
        coords=coords, attrs={"map_layout": "sensor"},
    )  # fmt: skip


def _union_grid(maps, spacing):
    """Grid nodes (multiples of ``spacing``) covering every map's along_mm and across_mm."""
    if not maps:
        return np.zeros(0), np.zeros(0)
    out = []
    for dim in ("along_mm", "across_mm"):
        lo = min(int(np.round(float(m[dim].min()) / spacing)) for m in maps)
        hi = max(int(np.round(float(m[dim].max()) / spacing)) for m in maps)
        out.append(np.arange(lo, hi + 1) * spacing)
    return out


def _run_job(job):
    """One task: the file's result, or its error in one line; never raises (a broken file stops nothing).

    All the work on one file happens here, in the worker: besides the analysis,
    the result is made ready for the driver, which only writes and gathers it.
    The maps come back as plain arrays (not an xarray object, whose pickling is
    slow), and the cache entry's files come back already encoded (``cache``:
    name -> bytes), so the driver writes bytes and stays free for the
    scheduler; the workers need not see the output folder.
    """
    started = time.perf_counter()
    try:
        result = analyse_one(job["file"], **job["options"], side=job["side"], body_mass_kg=job["body_mass_kg"])
        result.update(status="ok", reason=result.pop("warnings"), maps=_map_arrays(result["maps"]))
        result["cache"] = _encoded(result)
    except Exception as exc:  # noqa: BLE001  (any failure of one file is that file's status)
        text = str(exc).strip().splitlines()
        reason = text[0] if text else type(exc).__name__
        if not isinstance(exc, ValueError):  # a FileFormatError names the file itself; say what else failed
            reason = f"{type(exc).__name__}: {reason}"
        name = Path(job["file"]).name
        if name not in reason:  # an analysis error says what, not which file: the reason names it
            reason = f"'{name}': {reason}"
        logger.debug("%s failed:\n%s", job["file"], traceback.format_exc())
        result = {"status": "error", "reason": reason, "steps": 0}
    result["seconds"] = time.perf_counter() - started
    result["worker_peak_mb"] = _peak_rss_mb()
    return result


def _peak_rss_mb():
    """Peak resident memory of this process so far, MB."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 1e6 if sys.platform == "darwin" else peak / 1e3


def _sha256(path):
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@fill_doc
@_verbose
def batch(source, output, *, manifest=None, pattern=None, scheduler=None, n_workers=None, threshold_kpa=None,
          mask="percent", spacing_mm=SPACING_MM, progress=None, verbose=None):  # fmt: skip
    """Analyse every file of a study, one task per file, on Dask; write one tidy table.

    Each file is read, analysed (:func:`plantar.analyze`) and summarised in a
    task of its own (:func:`analyse_one`). The results are gathered as they
    come, so memory is bounded by the largest trial per worker, not by the
    study. A file that cannot be read or analysed is an ``error`` row of the
    status table with its one-line reason; the batch goes on. Each file's
    result is cached in ``output/cache`` under the SHA-256 of its content and
    the options, so a re-run skips the files already done (status
    ``skipped``, reason ``done before``) and their numbers still fill the
    table.

    Writes into ``output`` (made if missing):

    - ``table.csv`` and ``table.parquet``: one row per subject, condition,
      visit, trial, step, side, region and metric (columns
      :data:`TABLE_COLUMNS`; step-level metrics have an empty region);
    - ``status.csv``: one row per file (columns :data:`STATUS_COLUMNS`):
      ``ok``, ``error`` with the reason, or ``skipped`` (done before, or a
      file that does not match the pattern);
    - ``maps.nc``: the aligned mean peak-pressure map per subject, condition
      and side (complete steps aligned on heel centre and foot axis, see
      :func:`plantar.geometry.aligned_peak_maps`), for
      :func:`plantar.pixel_compare`; for a study of insoles of irregular
      sensors, the mean peak pressure per sensor on (subject, condition,
      side, sensor) with the sensors' geometry (a sensor is fixed to the
      foot: no alignment; attr ``map_layout = "sensor"``);
    - ``batch.json``: the options, and ``cache/``.

    Parameters
    ----------
    source : str | os.PathLike
        The study's folder (searched recursively) or a glob (``"data/*.asf"``).
        With a manifest, the files it lists are taken and ``source`` only
        names the study.
    output : str | os.PathLike
        Output folder. An existing folder must be empty or one written by
        ``batch`` before (its table, status and maps are replaced).
    manifest : str | os.PathLike | pandas.DataFrame | None
        The manifest CSV (see :func:`plantar.cohort.read_manifest`) or a
        DataFrame of its columns. Give it or ``pattern``.
    pattern : str | None
        Infer the manifest from file names, e.g.
        ``"{subject}_{condition}_{trial}.asf"`` (see
        :func:`plantar.cohort.manifest_from_pattern`).
    scheduler : None | str | distributed.Client
        Where the tasks run: ``None`` (default) starts a local Dask cluster of
        processes (``n_workers``, one task per worker at a time) for this
        call; an address such as ``"tcp://host:8786"`` uses an existing Dask
        distributed cluster (its workers must see the files and have
        plantar installed); a ``distributed.Client`` uses that client;
        ``"serial"`` runs the tasks one after the other in this process,
        without Dask.
    n_workers : int | None
        Workers of the local cluster; default every core.
    threshold_kpa : float | None
        Contact threshold, kPa (see :func:`plantar.analyze`).
    mask : str
        Masking scheme name (see :func:`plantar.regions.get_mask`).
    spacing_mm : float
        Grid spacing of the aligned maps, mm; one grid for the whole study.
    progress : callable | None
        Called as ``progress(done, total, row)`` after each file, ``row``
        being its status row (a dict); the ``plantar batch`` command draws
        its progress bar with it.
    %(verbose)s

    Returns
    -------
    study : dict
        ``table`` (pandas.DataFrame), ``status`` (pandas.DataFrame), ``maps``
        (xarray.Dataset: ``mean_peak_pressure_map`` on (subject, condition,
        side, along_mm, across_mm), kPa, NaN where the subject has no complete
        step of that side in that condition, and ``n_steps``) and ``paths``
        (dict of the files written).

    Raises
    ------
    ValueError
        If neither or both of ``manifest`` and ``pattern`` are given, or the
        manifest is wrong.

    Notes
    -----
    With the local cluster, call ``batch`` from under ``if __name__ ==
    "__main__":`` in a script (Dask starts its workers as new processes).
    The local cluster's workers keep the C library's own memory trimming
    (Dask's default ``MALLOC_TRIM_THRESHOLD_=65536`` made each file 2-4 times
    slower to analyse); on a cluster of your own, start the workers without
    that variable for the same speed.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> import plantar
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> for subject in ("s1", "s2"):
    ...     for seed, condition in enumerate(("barefoot", "shod")):
    ...         trial, _ = plantar.synth.walk(seed=seed, passes=1, condition=condition)
    ...         plantar.save(trial, folder / f"{subject}_{condition}_1.nc")
    >>> study = plantar.batch(folder, folder / "out", pattern="{subject}_{condition}_{trial}.nc",
    ...                       scheduler="serial")
    >>> study["status"].status.tolist()
    ['ok', 'ok', 'ok', 'ok']
    >>> sorted(study["table"].subject.unique())
    ['s1', 's2']
    >>> study["maps"].mean_peak_pressure_map.dims
    ('subject', 'condition', 'side', 'along_mm', 'across_mm')
    >>> again = plantar.batch(folder, folder / "out", pattern="{subject}_{condition}_{trial}.nc",
    ...                       scheduler="serial")
    >>> again["status"].status.tolist()    # done before: read from the cache
    ['skipped', 'skipped', 'skipped', 'skipped']
    """
    if (manifest is None) == (pattern is None):
        raise ValueError("give manifest (a CSV file or DataFrame) or pattern (e.g. "
                         "'{subject}_{condition}_{trial}.nc'), one of them")
    if not (np.isfinite(spacing_mm) and spacing_mm > 0):
        raise ValueError(f"spacing_mm must be a positive number of mm, got {spacing_mm!r}")
    output = _output_folder(output)
    unmatched = []
    if pattern is not None:
        frame, unmatched = manifest_from_pattern(source, pattern, exclude=output)
    elif isinstance(manifest, pd.DataFrame):
        from ._manifest import _checked

        frame = _checked(manifest, "manifest", line_offset=2)
    else:
        frame = read_manifest(manifest)
    options = {"threshold_kpa": threshold_kpa, "mask": str(mask), "spacing_mm": float(spacing_mm)}
    cache = output / "cache"
    cache.mkdir(exist_ok=True)
    # One job per manifest row; its cache key is the content hash and everything that changes its result.
    jobs, rows = [], []
    for row in frame.to_dict(orient="records"):
        base = {c: row[c] for c in MANIFEST_COLUMNS}
        if not Path(row["file"]).is_file():
            rows.append({**base, "status": "error", "reason": f"'{row['file']}' does not exist", "steps": 0})
            continue
        digest = _sha256(row["file"])
        mass = None if pd.isna(row["body_mass_kg"]) else float(row["body_mass_kg"])
        key_text = json.dumps({"sha256": digest, **options, "side": row["side"], "body_mass_kg": mass,
                               "plantar_version": __version__}, sort_keys=True)  # fmt: skip
        key = hashlib.sha256(key_text.encode()).hexdigest()[:32]
        jobs.append({"file": row["file"], "options": options, "side": row["side"], "body_mass_kg": mass,
                     "key": key, "sha256": digest, "base": base, "order": len(jobs)})  # fmt: skip
    rows += [{"file": f, "subject": "", "condition": "", "visit": "", "trial": "", "status": "skipped",
              "reason": "its name does not match the pattern", "steps": 0} for f in unmatched]  # fmt: skip
    todo = [job for job in jobs if not (cache / f"{job['key']}.json").is_file()]
    done_before = [job for job in jobs if (cache / f"{job['key']}.json").is_file()]
    total, finished = len(frame) + len(unmatched), 0
    tables, maps = [], []

    def keep(job, result, status, reason):
        nonlocal finished
        table = result["table"]
        for column in ("subject", "condition", "visit", "trial"):
            table[column] = job["base"][column]
        tables.append(table)
        maps.append((job["order"], job["base"]["subject"], job["base"]["condition"], result["maps"]))
        row = {**job["base"], "status": status, "reason": reason, "steps": result["steps"],
               "seconds": result.get("seconds", np.nan), "worker_peak_mb": result.get("worker_peak_mb", np.nan),
               "sha256": job["sha256"], "cache": f"cache/{job['key']}"}  # fmt: skip
        rows.append(row)
        finished += 1
        if progress is not None:
            progress(finished, total, row)

    for job in done_before:
        keep(job, _read_cache(cache, job["key"]), "skipped", "done before (same content and options)")
    logger.info("%d files: %d to analyse, %d done before, %d not matching", total, len(todo), len(done_before),
                len(unmatched))  # fmt: skip
    for job, result in _execute(todo, scheduler, n_workers):
        if result["status"] == "ok":
            _write_cache(cache, job["key"], result)
            keep(job, result, "ok", result["reason"])
        else:
            row = {**job["base"], "status": "error", "reason": result["reason"], "steps": 0,
                   "seconds": result.get("seconds", np.nan), "worker_peak_mb": result.get("worker_peak_mb", np.nan),
                   "sha256": job["sha256"], "cache": ""}  # fmt: skip
            rows.append(row)
            finished += 1
            reason = result["reason"]
            logger.warning("%s", reason if job["file"] in reason else f"{job['file']}: {reason}")
            if progress is not None:
                progress(finished, total, row)
    study = {"table": _table(tables), "status": _status(rows, frame), "maps": _maps([m[1:] for m in sorted(maps, key=lambda m: m[0])], spacing_mm)}
    study["paths"] = _write(output, study, options)
    counts = study["status"]["status"].value_counts()
    logger.info("batch: %d ok, %d errors, %d skipped; wrote %s", counts.get("ok", 0), counts.get("error", 0),
                counts.get("skipped", 0), output)  # fmt: skip
    return study


def _execute(jobs, scheduler, n_workers):
    """Yield (job, result) as the tasks finish."""
    if not jobs:
        return
    if isinstance(scheduler, str) and scheduler == "serial":
        for job in jobs:
            yield job, _run_job(job)
        return
    from distributed import Client, as_completed

    own_cluster = own_client = None
    if scheduler is None:
        own_cluster = _local_cluster(n_workers or os.cpu_count() or 1)
        client = own_client = Client(own_cluster)
    elif isinstance(scheduler, str):
        client = own_client = Client(scheduler)
    else:
        client = scheduler
    try:
        futures = client.map(_run_job, jobs, key=[f"plantar-{job['key']}-{k}" for k, job in enumerate(jobs)],
                             pure=False)  # fmt: skip
        index = {future.key: k for k, future in enumerate(futures)}
        for future in as_completed(futures):
            job = jobs[index[future.key]]
            try:
                result = future.result()
            except Exception as exc:  # noqa: BLE001  (a worker that died: that file's error, not the batch's)
                text = str(exc).splitlines()
                result = {"status": "error", "reason": f"{type(exc).__name__}: {text[0] if text else ''}"}
            future.release()
            yield job, result
    finally:
        if own_client is not None:
            own_client.close()
        if own_cluster is not None:
            own_cluster.close()


def _local_cluster(n_workers):
    """A local cluster of processes, one task per worker at a time, tuned for tasks that are numpy on big arrays.

    Dask starts its workers with ``MALLOC_TRIM_THRESHOLD_=65536``, which hands
    every freed block back to the system: each of a task's large temporary
    arrays is then mapped and zeroed anew, which made the analysis 2-4 times
    slower per file than in a plain loop. The workers here keep glibc's own
    threshold, and skip Dask's statistical profiler (a thread sampling the
    task's stack every 10 ms). Each worker's event loop also wakes less often
    (its tick, system and memory monitors every 0.5-2 s instead of every
    20-500 ms): every wake-up takes the interpreter lock from the task, and
    with a task running all the time those hand-overs cost it CPU.
    """
    import logging

    import dask
    from distributed import LocalCluster

    environ = {key: value for key, value in dask.config.get("distributed.nanny.pre-spawn-environ", {}).items()
               if key != "MALLOC_TRIM_THRESHOLD_"}  # fmt: skip
    quiet = {"distributed.worker.profile.enabled": False, "distributed.admin.tick.interval": "500ms",
             "distributed.admin.system-monitor.interval": "2s", "distributed.worker.memory.monitor-interval": "500ms"}
    with dask.config.set({"distributed.nanny.pre-spawn-environ": environ, **quiet}):
        return LocalCluster(n_workers=n_workers, threads_per_worker=1, processes=True, dashboard_address=None,
                            silence_logs=logging.ERROR)  # fmt: skip


def _map_arrays(maps):
    """The map sums of :func:`analyse_one` as the plain arrays the cache keeps (per sensor for insoles)."""
    if maps.attrs.get("map_layout") == "sensor":
        names = ("sensor", "peak_pressure_sum", "n_steps", *_SENSOR_GEOMETRY)
    else:
        names = ("along_mm", "across_mm", "peak_pressure_sum", "n_steps")
    return {name: maps[name].values for name in names}


def _encoded(result):
    """A result's table (Parquet) and map sums (npz), as the bytes of its cache entry."""
    buffer = io.BytesIO()
    np.savez(buffer, **result["maps"])
    return {"parquet": result["table"].to_parquet(index=False), "npz": buffer.getvalue()}


def _write_cache(cache, key, result):
    """Write a result's cache entry: its encoded table and maps, then the JSON that marks the entry complete."""
    info = {"steps": result["steps"], "reason": result["reason"], "seconds": result["seconds"],
            "worker_peak_mb": result["worker_peak_mb"]}  # fmt: skip
    content = {**result["cache"], "json": json.dumps(info).encode()}  # the JSON last: moved into place last
    with output_files(*(cache / f"{key}.{suffix}" for suffix in content), overwrite=True,
                      size_bytes=sum(len(data) for data in content.values())) as temporary:  # fmt: skip
        for tmp, data in zip(temporary, content.values()):
            tmp.write_bytes(data)


def _read_cache(cache, key):
    info = json.loads((cache / f"{key}.json").read_text())
    table = pd.read_parquet(cache / f"{key}.parquet")
    with np.load(cache / f"{key}.npz") as saved:
        maps = {name: saved[name] for name in saved.files}
    return {"table": table, "maps": maps, "steps": info["steps"]}


def _table(tables):
    if not tables:
        table = pd.DataFrame({c: pd.Series(dtype=object) for c in TABLE_COLUMNS})
        table["value"] = table["value"].astype(float)
        return table
    table = pd.concat(tables, ignore_index=True)[TABLE_COLUMNS]
    for column in ("subject", "condition", "visit", "trial", "side", "region", "metric", "units", "definition"):
        table[column] = table[column].astype(str)
    return table.sort_values(["subject", "condition", "visit", "trial"], kind="stable", ignore_index=True)


def _status(rows, frame):
    status = pd.DataFrame(rows).reindex(columns=STATUS_COLUMNS)
    order = {f: k for k, f in enumerate(frame["file"])}
    status["_order"] = status["file"].map(order).fillna(len(order))
    status = status.sort_values(["_order", "file"], kind="stable").drop(columns="_order").reset_index(drop=True)
    for column in ("file", "subject", "condition", "visit", "trial", "status", "reason", "sha256", "cache"):
        status[column] = status[column].fillna("").astype(str)
    status["steps"] = status["steps"].fillna(0).astype(int)
    return status


def _maps(maps, spacing_mm):
    """The aligned mean map of each subject, condition and side: sums of the files' maps over their steps."""
    sensors = ["sensor" in m for _, _, m in maps]
    if maps and all(sensors):
        return _sensor_maps([(subject, condition, _sensor_dataset(m["sensor"], m["peak_pressure_sum"], m["n_steps"],
                                                                  {name: m[name] for name in _SENSOR_GEOMETRY}))
                             for subject, condition, m in maps])  # fmt: skip
    if any(sensors):  # a sensor's map and a foot-frame grid cannot be averaged together: the grid maps are kept
        logger.warning("the study mixes grid recordings and insoles of irregular sensors: the %d insole files' "
                       "maps are left out of the aligned maps (run plantar batch on the insoles apart for their "
                       "per-sensor maps)", sum(sensors))  # fmt: skip
        maps = [m for m, sensor in zip(maps, sensors) if not sensor]
    subjects = sorted({s for s, _, _ in maps})
    conditions = list(dict.fromkeys(c for _, c, _ in maps))
    along, across = _union_grid([m for _, _, m in maps if m["along_mm"].size], spacing_mm)
    shape = (len(subjects), len(conditions), len(_SIDES), along.size, across.size)
    total, count = np.zeros(shape), np.zeros(shape[:3], dtype=np.int64)
    for subject, condition, m in maps:
        if not m["along_mm"].size:
            continue
        i, j = subjects.index(subject), conditions.index(condition)
        a0 = int(np.round((float(m["along_mm"][0]) - along[0]) / spacing_mm))
        c0 = int(np.round((float(m["across_mm"][0]) - across[0]) / spacing_mm))
        block = np.nan_to_num(m["peak_pressure_sum"])
        total[i, j, :, a0 : a0 + block.shape[1], c0 : c0 + block.shape[2]] += block
        count[i, j] += m["n_steps"]
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(count[..., None, None] > 0, total / count[..., None, None], np.nan)
    dims = ("subject", "condition", "side", "along_mm", "across_mm")
    return xr.Dataset(
        {
            "mean_peak_pressure_map": (dims, mean.astype(np.float32), {
                "units": "kPa", "long_name": "mean peak pressure of the subject's steps, in the foot frame",
                "definition": "mean over the subject's complete steps of the side, in all trials of the condition, "
                              "of the aligned peak-pressure maps (0 where a step has no contact); NaN without such "
                              "a step"}),
            "n_steps": (dims[:3], count, {"units": "1", "long_name": "complete steps averaged"}),
        },
        coords={
            "subject": ("subject", subjects), "condition": ("condition", conditions), "side": ("side", list(_SIDES)),
            "along_mm": ("along_mm", along, {"units": "mm", "long_name": "along the foot axis from the heel centre"}),
            "across_mm": ("across_mm", across, {"units": "mm", "long_name": "across the foot axis, + to its right"}),
        },
        attrs={"spacing_mm": float(spacing_mm), "plantar_version": __version__,
               "frame": "foot frame of plantar.geometry.aligned_peak_maps: heel centre at 0, toes toward +along_mm; "
                        "feet not mirrored"},
    )  # fmt: skip


def _sensor_maps(maps):
    """The mean per-sensor peak map of each subject, condition and side (insoles: no alignment needed)."""
    subjects = sorted({s for s, _, _ in maps})
    conditions = list(dict.fromkeys(c for _, c, _ in maps))
    layouts = {tuple(m["sensor"].values.tolist()) for _, _, m in maps}
    if len(layouts) > 1:
        sizes = sorted({len(layout) for layout in layouts})
        raise ValueError(f"the study's insoles have different sensor layouts ({', '.join(map(str, sizes))} sensors "
                         "per insole, or other sensor numbers): their maps cannot be averaged sensor by sensor")
    numbers = np.array(next(iter(layouts)), dtype=np.int64)
    shape = (len(subjects), len(conditions), len(_SIDES), numbers.size)
    total, count = np.zeros(shape), np.zeros(shape[:3], dtype=np.int64)
    geometry = {name: [] for name in _SENSOR_GEOMETRY}
    for subject, condition, m in maps:
        i, j = subjects.index(subject), conditions.index(condition)
        total[i, j] += np.nan_to_num(m["peak_pressure_sum"].values)
        count[i, j] += m["n_steps"].values
        for name in _SENSOR_GEOMETRY:
            geometry[name].append(m[name].values)
    with np.errstate(invalid="ignore", divide="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # a side no file has: NaN geometry, as it should be
        mean = np.where(count[..., None] > 0, total / count[..., None], np.nan)
        # Insoles of several sizes share their sensor numbers: the map is drawn at the mean size.
        drawn = {name: np.nanmean(np.stack(values), axis=0) if values else np.zeros((len(_SIDES), 0))
                 for name, values in geometry.items()}  # fmt: skip
    dims = ("subject", "condition", "side", "sensor")
    coords = {"subject": ("subject", subjects), "condition": ("condition", conditions), "side": ("side", list(_SIDES)),
              "sensor": ("sensor", numbers, {"long_name": "sensor number"})}  # fmt: skip
    for name, values in drawn.items():
        coords[name] = (("side", "sensor", "vertex")[: values.ndim], values,
                        {"units": "mm2" if name == "sensor_area" else "mm",
                         "long_name": f"{name} (mean over the study's files)"})  # fmt: skip
    return xr.Dataset(
        {
            "mean_peak_pressure_map": (dims, mean.astype(np.float32), {
                "units": "kPa", "long_name": "mean peak pressure of the subject's steps, per sensor",
                "definition": "mean over the subject's complete steps of the side, in all trials of the condition, "
                              "of each sensor's peak pressure; NaN without such a step"}),
            "n_steps": (dims[:3], count, {"units": "1", "long_name": "complete steps averaged"}),
        },
        coords=coords,
        attrs={"plantar_version": __version__, "map_layout": "sensor",
               "frame": "insole sensors, each fixed to the foot: no alignment; geometry in the insole's frame (toes "
                        "toward +y), the mean over the study's files of each sensor's; feet not mirrored"},
    )  # fmt: skip


def _output_folder(output):
    output = Path(output)
    if output.exists():
        if not output.is_dir():
            raise NotADirectoryError(f"output '{output}' is a file; give a folder")
        if any(output.iterdir()) and not (output / OUTPUTS["options"]).is_file():
            raise FileExistsError(f"output folder '{output}' is not empty and was not written by plantar batch; "
                                  "give a new or empty folder")  # fmt: skip
    output.mkdir(parents=True, exist_ok=True)
    return output


def _write(output, study, options):
    """Write the table (CSV, Parquet), the status, the maps and the options together (all or none)."""
    paths = {name: output / file for name, file in OUTPUTS.items()}
    content = {
        "table_csv": csv_text(study["table"]).encode("utf-8"),
        "table_parquet": study["table"].to_parquet(index=False),
        "status": csv_text(study["status"]).encode("utf-8"),
        "options": json.dumps({**options, "plantar_version": __version__}, indent=1).encode(),
    }
    size = sum(len(data) for data in content.values()) + study["maps"].nbytes
    with output_files(*paths.values(), overwrite=True, size_bytes=size) as temporary:
        for name, tmp in zip(paths, temporary):
            if name == "maps":  # to a path: xarray's write lock for an in-memory file fails under a Dask client
                study["maps"].to_netcdf(tmp, engine="h5netcdf")
            else:
                tmp.write_bytes(bytes(content[name]))
    return paths


def read_study(output):
    """Read back what :func:`batch` wrote: the table, the status and the maps.

    Parameters
    ----------
    output : str | os.PathLike
        The output folder of :func:`batch` (or ``plantar batch``).

    Returns
    -------
    study : dict
        ``table``, ``status`` (pandas.DataFrame), ``maps`` (xarray.Dataset)
        and ``paths``, as :func:`batch` returns them.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> import plantar
    >>> from plantar.cohort import read_study
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> trial, _ = plantar.synth.walk(seed=0, passes=1)
    >>> plantar.save(trial, folder / "s1_barefoot_1.nc")
    >>> _ = plantar.batch(folder, folder / "out", pattern="{subject}_{condition}_{trial}.nc", scheduler="serial")
    >>> study = read_study(folder / "out")
    >>> study["status"].status.tolist(), study["table"].subject.unique().tolist()
    (['ok'], ['s1'])
    """
    output = Path(output)
    paths = {name: output / file for name, file in OUTPUTS.items()}
    if not paths["options"].is_file():
        raise FileNotFoundError(f"'{output}' holds no study written by plantar batch (no {OUTPUTS['options']})")
    table = pd.read_parquet(paths["table_parquet"])
    status = pd.read_csv(paths["status"], dtype={c: str for c in ("file", "subject", "condition", "visit", "trial",
                                                                   "status", "reason", "sha256", "cache")},
                         keep_default_na=False, na_values={"seconds": [""], "worker_peak_mb": [""],
                                                           "body_mass_kg": [""]})  # fmt: skip
    maps = xr.load_dataset(paths["maps"], engine="h5netcdf")
    return {"table": table, "status": status, "maps": maps, "paths": paths}
