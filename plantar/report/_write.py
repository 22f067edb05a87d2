"""write_report(): the orthotic loading report from trials, in one call."""

from pathlib import Path

from ..io import read
from ..utils import fill_doc, logger, verbose
from ._loading import TARGET_KPA
from ._report import Report, _paths, check_paths


@fill_doc
@verbose
def write_report(trials, fname, *, labels=None, baseline=None, target_kpa=TARGET_KPA, title=None,
                 animation=True, analyses=None, overwrite=False, pdf=False, open_browser=False, subject=None,
                 anonymous=False, verbose=None):  # fmt: skip
    """Write the loading report of one or more conditions: HTML, CSV and JSON.

    Each trial is one condition (e.g. barefoot, shod, orthotic A). The report
    has a header (subject, date, device, calibration), a plain-language summary
    for the prescription, the regional loading of each side with peaks above
    ``target_kpa`` flagged, left/right offloading, the comparison of every
    condition with the baseline (difference with 95 % confidence interval,
    effect size, beyond step-to-step noise or not), and the figures of each
    condition. What cannot be shown (a condition without complete steps, a
    single condition, conditions from different mats) is stated in a note; the
    rest of the report is still written.

    Parameters
    ----------
    trials : sequence of (xarray.Dataset | str | pathlib.Path) | dict
        Trials (``trial/1``), analyses (``analysis/2`` or ``analysis/1``) or files
        :func:`plantar.read` opens; or a dict ``{label: trial}``.
    fname : str | pathlib.Path
        The HTML file to write; ``.csv`` and ``.json`` of every number are
        written beside it (and ``.pdf`` with ``pdf=True``).
    labels : sequence of str | None
        Condition labels, one per trial; default each trial's ``condition``
        attribute (made unique with a number if two are the same).
    baseline : str | None
        The condition the others are compared with; default the first.
    target_kpa : float
        Peak-pressure target in kPa; see :meth:`Report.add_summary`.
    title : str | None
        Page title; default "Plantar pressure report: SUBJECT".
    animation : bool
        Include the animation of each trial's pressure frames.
    analyses : sequence of xarray.Dataset | dict | None
        The trials' analyses from :func:`plantar.analyze`, if already computed
        (in the order of ``trials``, or a dict with their labels): the report
        uses them instead of analysing the trials again. None (the default)
        analyses each trial.
    overwrite : bool
        Replace existing files. Without it, an existing file is refused before
        any analysis, and the files are never written over one (see
        :meth:`Report.save`).
    pdf : bool
        Also print the report to PDF with a headless Chromium.
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
    if isinstance(analyses, dict):
        if labels is None or list(analyses) != list(labels):
            raise ValueError(f"analyses as a dict must have the trials' labels as keys, in order ({labels}), "
                             f"got {list(analyses)}")  # fmt: skip
        analyses = list(analyses.values())
    analyses = [None] * len(trials) if analyses is None else list(analyses)
    if len(analyses) != len(trials):
        raise ValueError(f"analyses has {len(analyses)} analyses for {len(trials)} trials; give one per trial")
    if labels is not None:
        labels = [str(label) for label in labels]
        if len(labels) != len(trials):
            raise ValueError(f"labels has {len(labels)} names for {len(trials)} trials; give one per trial")
        if len(set(labels)) != len(labels):
            raise ValueError(f"labels must be different from each other, got {labels}")
    loaded = []
    for item in trials:
        if isinstance(item, (str, Path)):
            logger.info("reading %s", item)
            item = read(item)
        loaded.append(item)
    if labels is None:
        labels = _unique([str(t.attrs.get("condition", "") or f"condition {k + 1}") for k, t in enumerate(loaded)])
    if baseline is not None and str(baseline) not in labels:
        raise ValueError(f"baseline must be one of the conditions {labels}, got {baseline!r}")
    if subject is not None:
        subject = str(subject)
    elif anonymous:
        subject = "anonymous"
    else:
        subject = next((str(t.attrs.get("subject", "")) for t in loaded if t.attrs.get("subject")), "")
    report = Report(title=title or ("Plantar pressure report" + (f": {subject}" if subject else "")), subject=subject)
    for trial, label, analysis in zip(loaded, labels, analyses):
        logger.info("%s %s", "analysing" if analysis is None else "adding", label)
        report.add_trial(trial, label=label, animation=animation, analysis=analysis)
    report.add_summary(baseline=baseline, target_kpa=target_kpa)
    return report.save(fname, overwrite=overwrite, pdf=pdf, open_browser=open_browser)


def _unique(labels):
    seen, out = {}, []
    for label in labels:
        seen[label] = seen.get(label, 0) + 1
        out.append(label if labels.count(label) == 1 else f"{label} ({seen[label]})")
    return out
