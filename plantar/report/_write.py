"""write_report(): the orthotic loading report from trials, in one call."""

from pathlib import Path

from ..io import read
from ..utils import fill_doc, logger, verbose
from ._pair import can_pair, file_side, pair_feet
from ._report import Report, _paths, check_paths


@fill_doc
@verbose
def write_report(trials, fname, *, labels=None, kinds=None, baseline=None, target_kpa=None, targets=None,
                 title=None, animation=True, analyses=None, mask="percent", pair="auto", overwrite=False, pdf=False,
                 paper="A4", open_browser=False, subject=None, anonymous=False, verbose=None):  # fmt: skip
    """Write the loading report of one or more conditions: HTML, CSV and JSON.

    Each trial is one condition (e.g. barefoot, shod, orthotic A); two
    one-foot recordings of one walk (one file per insole, e.g. Tekscan F-Scan
    ``FrasP01L.asf`` and ``FrasP01R.asf``) are one condition with both feet
    (:func:`plantar.report.pair_feet`). The report has a header (subject, date,
    device, calibration, conditions), a plain-language summary for the
    prescription, the regional loading of each side with peaks above the
    condition's target flagged, left/right offloading, the comparisons (a shoe
    with barefoot, each orthotic with its shoe, or all with ``baseline``:
    difference with 95 % confidence interval, effect size, beyond step-to-step
    noise or not), and the figures of each condition. What cannot be shown (a condition without complete steps, a
    single condition, conditions from different mats) is stated in a note; the
    rest of the report is still written.

    Parameters
    ----------
    trials : sequence of (xarray.Dataset | str | pathlib.Path | tuple) | dict
        Trials (``trial/1``), analyses (``analysis/2`` or ``analysis/1``) or files
        :func:`plantar.read` opens; or a dict ``{label: trial}``. A tuple
        ``(left, right)`` of two trials or files, or a file name
        ``"L.asf+R.asf"``, is one condition of both feet.
    fname : str | pathlib.Path
        The HTML file to write; ``.csv`` and ``.json`` of every number are
        written beside it (and ``.pdf`` with ``pdf=True``).
    labels : sequence of str | None
        Condition labels, one per trial; default each trial's ``condition``
        attribute (made unique with a number if two are the same).
    kinds : sequence of str | None
        Kind of each condition (``"barefoot"``, ``"shod"``, ``"orthotic"``);
        default from each trial's attr ``condition_kind`` or its label
        (:func:`plantar.report.condition_kind`).
    baseline : str | None
        The condition every other is compared with; default by kind (see
        :meth:`Report.add_summary`).
    target_kpa : float | None
        One peak-pressure target in kPa for every condition; default None: the
        targets by measurement and kind (:data:`plantar.report.DEFAULT_TARGETS`).
    targets : dict of str to float | None
        Targets per condition kind, kPa or None; see :meth:`Report.add_summary`.
    title : str | None
        Page title; default "Plantar pressure report: SUBJECT".
    animation : bool
        Include the animation of each trial's pressure frames.
    analyses : sequence of xarray.Dataset | dict | None
        The trials' analyses from :func:`plantar.analyze`, if already computed
        (in the order of ``trials``, or a dict with their labels): the report
        uses them instead of analysing the trials again. None (the default)
        analyses each trial.
    mask : {"percent", "anatomical"}
        The regions of the analyses done here: the percent scheme (default) or
        the anatomical one (each metatarsal head, the hallux, the second toe and
        the lesser toes; see :func:`plantar.analyze`).
    pair : "auto" | bool
        ``"auto"`` (default): two trials in a row that are the left and the
        right foot of one recording (their attr ``side`` or file names end in
        L/R or left/right, same start time, rate and pitch) become one
        condition. True: the trials are taken two by two as left and right.
        False: never.
    overwrite : bool
        Replace existing files. Without it, an existing file is refused before
        any analysis, and the files are never written over one (see
        :meth:`Report.save`).
    pdf : bool
        Also print the report to PDF with a headless Chromium.
    paper : str
        Page size of the printed report: ``"A4"`` (default) or ``"Letter"``.
    open_browser : bool
        Open the report in the web browser.
    subject : str | None
        Who the report is of, shown in its header and title (e.g. a patient
        code); default the ``subject`` attribute of the first trial that has one.
    anonymous : bool
        Never take the subject from the trials (a vendor file may carry the
        patient's name there): the header shows ``subject`` if given, else
        "anonymous".
    %(verbose)s

    Returns
    -------
    paths : dict of str to pathlib.Path
        ``{"html": ..., "csv": ..., "json": ...}`` (and ``"pdf"``).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> import plantar
    >>> from plantar.report import write_report
    >>> walks = [plantar.synth.walk(seed=s, passes=2, mat_length_mm=1500, condition=c)[0]
    ...          for s, c in enumerate(["barefoot", "shod"])]
    >>> out = pathlib.Path(tempfile.mkdtemp()) / "report.html"
    >>> paths = write_report(walks, out, animation=False, verbose="error")
    >>> sorted(paths)
    ['csv', 'html', 'json']

    Analyses already computed are used, not computed again:

    >>> analyses = [plantar.analyze(walk) for walk in walks]
    >>> paths = write_report(walks, out, analyses=analyses, animation=False, overwrite=True, verbose="error")

    An anonymous report names the subject by the code given, whatever the trials say:

    >>> named = [walk.assign_attrs(subject="Jane Example") for walk in walks]
    >>> paths = write_report(named, out, analyses=analyses, animation=False, overwrite=True, subject="P012",
    ...                      anonymous=True, verbose="error")
    >>> any("Jane" in path.read_text() for path in paths.values())
    False
    """
    check_paths(_paths(fname, pdf=pdf).values(), overwrite=overwrite)  # before the analysis, not after
    if isinstance(trials, dict):
        if labels is not None:
            raise ValueError("give labels either as the keys of trials or as labels, not both")
        labels, trials = list(trials), list(trials.values())
    trials = list(trials)
    if not trials:
        raise ValueError("trials is empty: give at least one trial")
    if pair not in ("auto", True, False):
        raise ValueError(f"pair must be 'auto', True or False, got {pair!r}")
    loaded = _conditions([_load(item) for item in trials], pair=pair, given=analyses is not None)
    if isinstance(analyses, dict):
        if labels is None or list(analyses) != list(labels):
            raise ValueError(f"analyses as a dict must have the trials' labels as keys, in order ({labels}), "
                             f"got {list(analyses)}")  # fmt: skip
        analyses = list(analyses.values())
    analyses = [None] * len(loaded) if analyses is None else list(analyses)
    if len(analyses) != len(loaded):
        raise ValueError(f"analyses has {len(analyses)} analyses for {len(loaded)} conditions; give one per condition")
    if labels is not None:
        labels = [str(label) for label in labels]
        if len(labels) != len(loaded):
            raise ValueError(f"labels has {len(labels)} names for {len(loaded)} conditions; give one per condition")
        if len(set(labels)) != len(labels):
            raise ValueError(f"labels must be different from each other, got {labels}")
    kinds = [None] * len(loaded) if kinds is None else list(kinds)
    if len(kinds) != len(loaded):
        raise ValueError(f"kinds has {len(kinds)} kinds for {len(loaded)} conditions; give one per condition")
    if labels is None:
        labels = _unique([str(t.attrs.get("condition", "") or t.attrs.get("_pair_name", "") or f"condition {k + 1}")
                          for k, t in enumerate(loaded)])  # fmt: skip
    for trial in loaded:
        trial.attrs.pop("_pair_name", None)
    if baseline is not None and str(baseline) not in labels:
        raise ValueError(f"baseline must be one of the conditions {labels}, got {baseline!r}")
    if subject is not None:
        subject = str(subject)
    elif anonymous:
        subject = "anonymous"
    else:
        subject = next((str(t.attrs.get("subject", "")) for t in loaded if t.attrs.get("subject")), "")
    report = Report(title=title or ("Plantar pressure report" + (f": {subject}" if subject else "")), subject=subject)
    for trial, label, kind, analysis in zip(loaded, labels, kinds, analyses):
        logger.info("%s %s", "analysing" if analysis is None else "adding", label)
        report.add_trial(trial, label=label, kind=kind, animation=animation, analysis=analysis, mask=mask)
    report.add_summary(baseline=baseline, target_kpa=target_kpa, targets=targets)
    return report.save(fname, overwrite=overwrite, pdf=pdf, paper=paper, open_browser=open_browser)


def _read(path):
    logger.info("reading %s", path)
    return read(path)


def _load(item):
    """A trial, or ``(left, right)`` for a condition given as two files or trials (``"L.asf+R.asf"``)."""
    if isinstance(item, (tuple, list)):
        if len(item) != 2:
            raise ValueError(f"a condition of two feet is (left, right), got {len(item)} items")
        return tuple(_read(x) if isinstance(x, (str, Path)) else x for x in item)
    if isinstance(item, (str, Path)):
        text = str(item)
        if "+" in text and not Path(text).exists():
            parts = text.split("+")
            if len(parts) == 2 and all(Path(p).exists() for p in parts):
                return (_read(parts[0]), _read(parts[1]))
        return _read(item)
    return item


def _paired(left, right):
    """One trial of both feet; the two are swapped if the files say so."""
    if (file_side(left), file_side(right)) == ("right", "left"):
        left, right = right, left
    from ._pair import _SIDE_STEM

    trial = pair_feet(left, right)
    match = _SIDE_STEM.match(Path(str(left.attrs.get("source_file", "") or "")).stem)
    name = match.group("stem").rstrip(" _-.") if match else ""
    if name and not trial.attrs.get("condition"):
        trial.attrs["_pair_name"] = name
    logger.info("paired %s", trial.attrs.get("source_file", "two one-foot recordings"))
    return trial


def _conditions(items, *, pair, given):
    """The conditions: explicit pairs joined, and with ``pair`` two one-foot recordings in a row joined."""
    items = [_paired(*item) if isinstance(item, tuple) else item for item in items]
    if pair is True:
        if len(items) % 2:
            raise ValueError(f"pair=True takes the trials two by two (left, right), got {len(items)} trials")
        return [_paired(items[k], items[k + 1]) for k in range(0, len(items), 2)]
    if pair is False or given:
        return items
    out, k = [], 0
    while k < len(items):
        if k + 1 < len(items) and _is_trial(items[k]) and _is_trial(items[k + 1]) and can_pair(items[k], items[k + 1]):
            out.append(_paired(items[k], items[k + 1]))
            k += 2
        else:
            out.append(items[k])
            k += 1
    return out


def _is_trial(data):
    from .._schema import SCHEMA_TRIAL

    return data.attrs.get("plantar_schema") == SCHEMA_TRIAL


def _unique(labels):
    seen, out = {}, []
    for label in labels:
        seen[label] = seen.get(label, 0) + 1
        out.append(label if labels.count(label) == 1 else f"{label} ({seen[label]})")
    return out
