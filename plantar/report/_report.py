"""The Report class: ``add_*`` methods, then ``save``: one HTML file, a CSV and a JSON."""

import base64
import datetime
import json
import shutil
import subprocess
import tempfile
import webbrowser
from pathlib import Path

import numpy as np
import pandas as pd

from .._version import __version__
from ..utils import fill_doc, logger, verbose
from ..utils._files import check_output, csv_text, output_files
from ..viz._common import REGION_TITLES as REGION_NAMES
from . import _html

#: Columns of the tidy table of every number in a report (``Report.numbers``).
NUMBER_COLUMNS = ["table", "condition", "baseline", "side", "step", "region", "region_name", "metric", "statistic",
                  "value", "units"]

#: Sections that always come first, in this order; others follow in the order they were added.
FIRST_SECTIONS = ("Summary", "Regional loading", "Comparison")


class Report:
    """An HTML report of plantar pressure figures, tables and notes.

    Add content with the ``add_*`` methods, then :meth:`save` writes one
    self-contained HTML file (it works offline: plotly.js is embedded once) and,
    beside it, every number of the report as a tidy CSV and as JSON, so nothing
    is only in a picture. :func:`plantar.report.write_report` builds the full
    orthotic loading report from trials with this class.

    Parameters
    ----------
    title : str
        Title of the page.
    subject : str
        Subject (patient) label shown in the header; by default the ``subject``
        attribute of the first trial added.

    Attributes
    ----------
    numbers : pandas.DataFrame
        Every number added to the report, one per row, with the columns of
        :data:`NUMBER_COLUMNS`.
    notes : list of str
        What could not be shown, and why.
    summary : list of str
        The plain-language summary sentences.

    Examples
    --------
    >>> import plotly.graph_objects as go
    >>> from plantar.report import Report
    >>> report = Report(title="Gait lab, session 1")
    >>> report.add_figure(go.Figure(go.Bar(x=["left", "right"], y=[1.0, 2.0])), "Bars")
    >>> report.add_note("The shod walk had no complete step.")
    >>> [title for title, _ in report.sections]
    ['Summary', 'Figures']
    """

    def __init__(self, title="Plantar pressure report", *, subject=""):
        self.title = str(title)
        self.subject = str(subject)
        self.summary = []
        self.notes = []
        self.meta = {}
        self.conditions = {}
        self.comparison = None
        self.comparisons = {}
        self.pairs = []
        self.targets = {}
        self._items = []  # dicts: section, title, kind ("figure" | "html"), content
        self._numbers = []

    # -- adding content -------------------------------------------------------------------
    def add_trial(self, trial, *, label=None, kind=None, animation=True, analysis=None, mask="percent"):
        """Add one condition: analyse the trial and add its section.

        The section holds the recording and gait table, the footprints of the
        walk, the mean peak-pressure map of each side with region outlines and
        gait line, the regional force curves, the gait line and butterfly, and
        (for a trial) the pressure frames as an animation. Steps' numbers go to
        the CSV and JSON. Parts that cannot be shown (no complete step, no step of
        one side) become notes.

        Parameters
        ----------
        trial : xarray.Dataset
            A trial (``trial/1``, analysed here with :func:`plantar.analyze`) or
            an analysis (``analysis/2``, or an ``analysis/1``, upgraded; then no animation).
        label : str | None
            Condition label, e.g. ``"orthotic A"``; default the trial's
            ``condition`` attribute.
        kind : str | None
            ``"barefoot"``, ``"shod"`` or ``"orthotic"``: what the condition is,
            which decides what it is compared with and which target applies;
            default from the trial's attr ``condition_kind``, else the words of
            the label (:func:`plantar.report.condition_kind`).
        animation : bool
            Add the animation of the pressure frames.
        analysis : xarray.Dataset | None
            The trial's analysis from :func:`plantar.analyze`, if it was already
            computed: it is used instead of analysing the trial again (the
            trial still gives the animation).
        mask : {"percent", "anatomical"}
            The regions of the analysis done here (:func:`plantar.analyze`):
            the percent scheme, or the anatomical one (each metatarsal head,
            hallux, second toe, lesser toes). Unused when ``analysis`` is given.

        Returns
        -------
        analysis : xarray.Dataset
            The analysis of the trial.

        Examples
        --------
        >>> import plantar
        >>> from plantar.report import Report
        >>> trial, _ = plantar.synth.walk(seed=0, passes=1, mat_length_mm=1000)
        >>> report = Report()
        >>> analysis = report.add_trial(trial, label="barefoot", animation=False)
        >>> list(report.conditions)
        ['barefoot']
        """
        from ._loading import add_trial

        return add_trial(self, trial, label=label, kind=kind, animation=animation, analysis=analysis, mask=mask)

    def add_summary(self, *, baseline=None, target_kpa=None, targets=None):
        """Add regional loading, left/right offloading, the comparisons and the summary sentences.

        Call it after the conditions are added with :meth:`add_trial`. Each
        condition is compared with the one a clinician asks about: a shoe with
        barefoot, each orthotic with its shoe (the nearest shod condition before
        it); ``baseline`` compares every condition with one instead. A
        comparison (:func:`plantar.compare.compare`) gives the difference with
        its 95 % confidence interval, effect size and whether it is beyond the
        patient's step-to-step noise. The summary leads, for each comparison
        and foot, with the regions above the target and what became of them,
        then the other changes beyond noise, largest first.

        Targets fit the measurement: in-shoe recordings (insoles) of shod and
        orthotic conditions are flagged above 200 kPa, the in-shoe criterion of
        Owings et al. 2009 (Diabet Med 26:1141-1146); plate and walkway
        recordings get no target (see :data:`plantar.report.DEFAULT_TARGETS`
        for why no barefoot threshold is set).

        Parameters
        ----------
        baseline : str | None
            The condition every other is compared with; default: by kind, as above
            (conditions of no kind are compared with the first).
        target_kpa : float | None
            One peak-pressure target in kPa for every condition, whatever its
            measurement; default None: the targets by measurement and kind.
        targets : dict of str to float | None
            Targets per condition kind (``"barefoot"``, ``"shod"``,
            ``"orthotic"``), kPa or None for no target; they replace the
            defaults (and ``target_kpa``) for that kind.

        Returns
        -------
        comparison : xarray.Dataset | None
            The comparison (``comparison/1``) of every condition with the first
            baseline, or None if no condition was added; every baseline's is in
            :attr:`comparisons`, the pairs compared in :attr:`pairs`.

        Examples
        --------
        >>> import plantar
        >>> from plantar.report import Report
        >>> report = Report()
        >>> for seed, label in enumerate(["barefoot", "shod", "orthotic A"]):
        ...     trial, _ = plantar.synth.walk(seed=seed, passes=2, mat_length_mm=1500,
        ...                                   condition="barefoot" if seed == 0 else "shod")
        ...     _ = report.add_trial(trial, label=label, animation=False)
        >>> comparison = report.add_summary()
        >>> report.pairs
        [('shod', 'barefoot'), ('orthotic A', 'shod')]
        >>> report.targets["shod"]["target_kpa"] is None    # a shoe on a plate: no in-shoe target
        True
        """
        from ._loading import add_summary

        return add_summary(self, baseline=baseline, target_kpa=target_kpa, targets=targets)

    def add_figure(self, fig, title, *, section=None, caption="", replace=False):
        """Add a plotly figure.

        Parameters
        ----------
        fig : plotly.graph_objects.Figure
            The figure (from :mod:`plantar.viz` or your own).
        title : str
            Its heading; with ``replace=True`` an item of the same title and
            section is replaced.
        section : str | None
            Section it belongs to (default ``"Figures"``).
        caption : str
            One or two sentences under the heading: what the figure shows.
        replace : bool
            Replace an item with the same title in the same section.

        Examples
        --------
        >>> import plotly.graph_objects as go
        >>> from plantar.report import Report
        >>> report = Report()
        >>> report.add_figure(go.Figure(), "Empty", section="Tests", caption="nothing")
        >>> report.sections[1][0]
        'Tests'
        """
        self._add(section or "Figures", title, "figure", fig, caption, replace)

    def add_html(self, html, title, *, section=None, replace=False):
        """Add a piece of HTML (trusted: it is inserted as it is).

        Parameters
        ----------
        html : str
            The HTML.
        title : str
            Its heading.
        section : str | None
            Section it belongs to (default ``"Notes"``).
        replace : bool
            Replace an item with the same title in the same section.

        Examples
        --------
        >>> from plantar.report import Report
        >>> report = Report()
        >>> report.add_html("<p>Orthotic A: 3 mm PPT top cover.</p>", "Devices", section="Session")
        """
        self._add(section or "Notes", title, "html", str(html), "", replace)

    def add_table(self, frame, title, *, section=None, caption="", flags=None, replace=False):
        """Add a table (shown as it is; add its numbers with :meth:`add_numbers`).

        Parameters
        ----------
        frame : pandas.DataFrame
            The table; its index is the first column.
        title : str
            Its heading.
        section : str | None
            Section it belongs to (default ``"Tables"``).
        caption : str
            What the table shows, and what flagged cells mean.
        flags : numpy.ndarray of bool | None
            Same shape as ``frame``: cells to flag (shown bold red with a marker).
        replace : bool
            Replace an item with the same title in the same section.

        Examples
        --------
        >>> import pandas as pd
        >>> from plantar.report import Report
        >>> report = Report()
        >>> table = pd.DataFrame({"peak (kPa)": [250.0, 180.0]}, index=["heel", "arch"])
        >>> report.add_table(table, "Peaks", flags=table.values > 200)
        """
        flags = None if flags is None else np.asarray(flags, dtype=bool)
        if flags is not None and flags.shape != frame.shape:
            raise ValueError(f"flags must have the table's shape {frame.shape}, got {flags.shape}")
        html = _html.table(frame, flags=flags)
        self._add(section or "Tables", title, "html", html, caption, replace)

    def add_note(self, text):
        """Say what could not be shown, and why; notes appear in the summary.

        Parameters
        ----------
        text : str
            One or two plain sentences.

        Examples
        --------
        >>> from plantar.report import Report
        >>> report = Report()
        >>> report.add_note("Only one condition: no comparison.")
        >>> report.notes
        ['Only one condition: no comparison.']
        """
        text = str(text).strip()
        if text and text not in self.notes:
            self.notes.append(text)
            logger.warning("report: %s", text)

    def add_numbers(self, frame, *, table):
        """Add numbers to the CSV and JSON written beside the report.

        Parameters
        ----------
        frame : pandas.DataFrame
            Tidy rows with any of the columns of :data:`NUMBER_COLUMNS` (missing
            ones are left empty) and at least ``value``.
        table : str
            Which table of the report they belong to (e.g. ``"steps"``).

        Examples
        --------
        >>> import pandas as pd
        >>> from plantar.report import Report
        >>> report = Report()
        >>> report.add_numbers(pd.DataFrame({"metric": ["cadence"], "value": [110.0],
        ...                                  "units": ["steps/min"]}), table="gait")
        >>> row = report.numbers.iloc[0]
        >>> row["table"], row["metric"], float(row["value"])
        ('gait', 'cadence', 110.0)
        """
        if "value" not in frame.columns:
            raise ValueError(f"numbers of table {table!r} need a 'value' column, got {list(frame.columns)}")
        frame = frame.copy()
        frame["table"] = table
        self._numbers.append(frame.reindex(columns=NUMBER_COLUMNS))

    # -- reading back ---------------------------------------------------------------------
    @property
    def numbers(self):
        """Every number added, as one tidy DataFrame (see :data:`NUMBER_COLUMNS`)."""
        if not self._numbers:
            return pd.DataFrame(columns=NUMBER_COLUMNS)
        frame = pd.concat(self._numbers, ignore_index=True)
        for column in ("table", "condition", "baseline", "side", "region", "region_name", "metric", "statistic",
                       "units"):
            frame[column] = frame[column].astype(object).where(frame[column].notna(), "")
        named = frame["region"] != ""
        frame.loc[named, "region_name"] = frame.loc[named, "region"].map(lambda r: REGION_NAMES.get(r, r))
        frame["value"] = pd.to_numeric(frame["value"], errors="coerce")
        return frame

    @property
    def sections(self):
        """``[(title, [item titles])]`` in the order the page shows them."""
        order = ["Summary"] + [s for s in FIRST_SECTIONS[1:] if any(i["section"] == s for i in self._items)]
        order += list(dict.fromkeys(i["section"] for i in self._items if i["section"] not in order))
        return [(s, [i["title"] for i in self._items if i["section"] == s]) for s in order]

    # -- writing ----------------------------------------------------------------------------
    @fill_doc
    @verbose
    def save(self, fname, *, overwrite=False, open_browser=False, pdf=False, paper="A4", verbose=None):
        """Write the report: ``fname`` (HTML), and beside it ``.csv`` and ``.json`` of every number.

        The files are written to temporary files in the same folder and moved
        into place together once all are complete: a failure (a full disk, a
        Chromium error) leaves none of them behind, and without ``overwrite`` an
        existing file, or one another writer creates meanwhile, is never replaced
        (of two writers racing for one name, exactly one succeeds). The files get
        the permissions the umask allows. Text cells of the CSV that a
        spreadsheet would run as a formula are written as text.

        Parameters
        ----------
        fname : str | pathlib.Path
            The HTML file to write (``.html``). Its folder is made if missing.
        overwrite : bool
            Replace existing files; otherwise an existing file is an error and
            nothing is written.
        open_browser : bool
            Open the report in the default web browser.
        pdf : bool
            Also print it to ``.pdf`` with a headless Chromium (needs
            ``chromium`` or ``google-chrome`` on the PATH): the summary on the
            first page under the header (subject, date, device, calibration,
            conditions), each section from a new page, no figure or table row
            split across pages, no plot toolbars.
        paper : str
            Page size of the print: ``"A4"`` (default) or ``"Letter"``.
        %(verbose)s

        Returns
        -------
        paths : dict of str to pathlib.Path
            ``{"html": ..., "csv": ..., "json": ...}`` and ``"pdf"`` if written.

        Raises
        ------
        FileExistsError
            If a file exists (or appears while writing) and ``overwrite`` is False.
        plantar.utils._files.DiskFullError
            If the disk is full; nothing is left behind.

        Examples
        --------
        >>> import tempfile, pathlib
        >>> from plantar.report import Report
        >>> report = Report()
        >>> report.add_note("Nothing to show yet.")
        >>> out = pathlib.Path(tempfile.mkdtemp()) / "report.html"
        >>> sorted(report.save(out))
        ['csv', 'html', 'json']
        """
        paper = _check_paper(paper)
        paths = _paths(fname, pdf=pdf)
        check_paths(paths.values(), overwrite=overwrite)
        browser = _chromium() if pdf else None
        if pdf and browser is None:
            raise RuntimeError("--pdf needs Chromium (chromium or google-chrome on the PATH); nothing written")
        paths["html"].parent.mkdir(parents=True, exist_ok=True)
        numbers = self.numbers
        content = {
            "html": self.to_html(paper=paper).encode("utf-8"),
            "csv": csv_text(numbers).encode("utf-8"),
            "json": self._json_text(numbers).encode("utf-8"),
        }
        # All files are written, then moved into place together: none is left half-written, and
        # without overwrite an existing file (or one another writer makes meanwhile) is never replaced.
        size = sum(len(data) for data in content.values())
        with output_files(*paths.values(), overwrite=overwrite, size_bytes=size) as temporary:
            temporary = dict(zip(paths, temporary))
            for kind, data in content.items():
                temporary[kind].write_bytes(data)
            if pdf:
                _print_pdf(browser, temporary["html"], temporary["pdf"], width_px=_html.PAPER[paper][1])
        for kind, path in paths.items():
            logger.info("wrote %s (%s)", path, _size(path))
        if open_browser:
            webbrowser.open(paths["html"].resolve().as_uri())
        return paths

    def to_html(self, *, paper="A4"):
        """The report as one HTML document (str); ``paper`` ("A4" or "Letter") is its printed page size."""
        import plotly.offline

        paper = _check_paper(paper)
        sections, n_fig = [], 0
        for section, _ in self.sections:
            parts = [self._summary_html()] if section == "Summary" else []
            for item in (i for i in self._items if i["section"] == section):
                caption = f'<p class="caption">{_html.esc(item["caption"])}</p>' if item["caption"] else ""
                css = "item"
                if item["kind"] == "figure":
                    n_fig += 1
                    content = _figure_html(item["content"], f"figure-{n_fig}")
                else:
                    content = item["content"]
                    css += " long" if content.count("<tr>") > 14 else ""
                parts.append(f'<div class="{css}"><h3>{_html.esc(item["title"])}</h3>{caption}{content}</div>')
            sections.append((section, "\n".join(parts)))
        meta = [("Subject", self.subject)] + list(self.meta.items())
        footer = (f"Written by plantar {__version__} on "
                  f"{datetime.datetime.now().astimezone().isoformat(timespec='minutes')}. "
                  "Every number in this report is in the CSV and JSON files beside it.")  # fmt: skip
        return _html.page(title=self.title, meta=meta, sections=sections, paper=paper,
                          plotlyjs=plotly.offline.get_plotlyjs() if n_fig else "", footer=footer)  # fmt: skip

    # -- internals ----------------------------------------------------------------------------
    def _add(self, section, title, kind, content, caption, replace):
        section, title = str(section), str(title)
        if kind == "figure" and not hasattr(content, "to_html"):
            raise TypeError(f"fig must be a plotly Figure, got {type(content).__name__}")
        item = dict(section=section, title=title, kind=kind, content=content, caption=str(caption))
        for k, old in enumerate(self._items):
            if old["section"] == section and old["title"] == title:
                if not replace:
                    raise ValueError(f"section {section!r} already has an item {title!r}; pass replace=True")
                self._items[k] = item
                return
        self._items.append(item)

    def _summary_html(self):
        parts = []
        if self.summary:
            items = "".join(f"<li>{_html.esc(s)}</li>" for s in self.summary)
            parts.append(f'<div class="summary"><ul>{items}</ul></div>')
        parts += [f'<div class="note">{_html.esc(n)}</div>' for n in self.notes]
        return "\n".join(parts) or "<p>Nothing to summarise.</p>"

    def _json_text(self, numbers):
        """The JSON file: the header indented, then one line per number (the C encoder writes those fast)."""
        data = self._json(numbers)
        records = data.pop("numbers")
        head = json.dumps(data, indent=1, allow_nan=False)  # ends with "\n}"
        encode = json.JSONEncoder(allow_nan=False).encode
        lines = ",\n  ".join(map(encode, records))
        return head[:-2] + ',\n "numbers": [\n  ' + lines + "\n ]\n}\n"

    def _json(self, numbers):
        records = [dict(zip(NUMBER_COLUMNS, row)) for row in zip(*(_json_column(numbers[c]) for c in NUMBER_COLUMNS))]
        return {
            "title": self.title,
            "subject": self.subject,
            "meta": {k: str(v) for k, v in self.meta.items()},
            "summary": list(self.summary),
            "notes": list(self.notes),
            "columns": NUMBER_COLUMNS,
            "numbers": records,
            "plantar_version": __version__,
        }


#: Paper sizes of the printed report.
PAPER_SIZES = tuple(_html.PAPER)


def _check_paper(paper):
    for name in _html.PAPER:
        if str(paper).lower() == name.lower():
            return name
    raise ValueError(f"paper must be one of {PAPER_SIZES}, got {paper!r}")


def _figure_html(fig, div_id):
    """A figure as a div that fills its column up to the figure's own width (screen, phone and print)."""
    import plotly.io

    width = fig.layout.width
    figure = _figure_dict(fig)
    figure["layout"].pop("width", None)  # drawn at the width of its column
    content = plotly.io.to_html(figure, full_html=False, include_plotlyjs=False, div_id=div_id, validate=False,
                                config={"displaylogo": False, "responsive": True})  # fmt: skip
    styles = [f"max-width: {int(width)}px"] if width else []
    height = fig.layout.height or 450
    if height > _html.PRINT_HEIGHT_PX:  # printed smaller, so that it fits on one page
        styles.append(f"--print-zoom: {_html.PRINT_HEIGHT_PX / height:.3f}")
    style = f' style="{"; ".join(styles)}"' if styles else ""
    css = "figure animation" if fig.frames else "figure"
    after = ('<p class="caption print-only">An animation: open the HTML report to play it.</p>'
             if fig.frames else "")  # fmt: skip
    return f'<div class="{css}"{style}>{content}</div>{after}'


def _figure_dict(fig):
    """``fig.to_dict()`` without its deep copy of the figure and its second validation of every array.

    The figure's data, layout and frames (each dict and list new, the values the figure's own), with every
    array that is a dict's value sent as plotly.js's typed array (base64), as ``to_dict`` does
    (``convert_to_base64``): a report's figures are written once, and their arrays, validated when the
    figure was built, need no copy to be encoded.
    """
    figure = {"data": _typed(fig._data), "layout": _typed(fig._layout)}
    frames = [_typed(frame._props) for frame in fig._frame_objs]
    if frames:
        figure["frames"] = frames
    return figure


def _typed(value):
    """A copy of nested dicts and lists, the arrays among dict values as typed-array specs (plotly's rules)."""
    from _plotly_utils.utils import is_homogeneous_array, is_skipped_key

    if isinstance(value, dict):
        return {key: item if is_skipped_key(key) else _typed_array(item) if is_homogeneous_array(item) else _typed(item)
                for key, item in value.items()}  # fmt: skip
    if isinstance(value, (list, tuple)):
        return [_typed(item) for item in value]
    return value


#: numpy dtypes plotly.js reads as typed arrays, by their plotly.js names.
_TYPED = {"int8": "i1", "uint8": "u1", "int16": "i2", "uint16": "u2", "int32": "i4", "uint32": "u4", "float32": "f4",
          "float64": "f8"}  # fmt: skip


def _typed_array(array):
    """plotly's ``to_typed_array_spec`` of a numeric numpy array, without its copy; anything else by plotly."""
    from _plotly_utils.utils import to_typed_array_spec

    if not (isinstance(array, np.ndarray) and array.size and str(array.dtype) in _TYPED):
        return to_typed_array_spec(array)
    array = np.ascontiguousarray(array)
    spec = {"dtype": _TYPED[str(array.dtype)], "bdata": base64.b64encode(array).decode("ascii")}
    if array.ndim > 1:
        spec["shape"] = str(array.shape)[1:-1]
    return spec


def _json_column(column):
    """A column as a list for JSON: NaN as None, steps as int (numpy's tolist, no per-cell pandas)."""
    if column.dtype == object:
        return column.tolist()
    values = column.to_numpy(dtype=float)
    finite = np.isfinite(values)
    out = (values.astype(np.int64) if column.name == "step" else values).tolist() if finite.all() else None
    if out is None:
        out = np.where(finite, values, 0).astype(np.int64 if column.name == "step" else float).tolist()
        for k in np.flatnonzero(~finite).tolist():
            out[k] = None
    return out


def _paths(fname, *, pdf=False):
    """The files a report named ``fname`` is made of: HTML, CSV, JSON (and PDF)."""
    fname = Path(fname)
    if fname.suffix.lower() not in (".html", ".htm"):
        raise ValueError(f"report file name must end in .html, got '{fname}'")
    paths = {"html": fname, "csv": fname.with_suffix(".csv"), "json": fname.with_suffix(".json")}
    if pdf:
        paths["pdf"] = fname.with_suffix(".pdf")
    return paths


def check_paths(paths, *, overwrite=False):
    """Check up front that the report's files can be written (their folder is made if missing)."""
    for path in paths:
        folder = path.parent
        while not folder.exists() and folder != folder.parent:
            folder = folder.parent
        if folder != path.parent:  # made by save: only the nearest existing folder can be checked
            check_output(folder / path.name, overwrite=True)
        else:
            check_output(path, overwrite=overwrite)


def _chromium():
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        path = shutil.which(name)
        if path:
            return path
    return None


def _print_pdf(browser, html_path, pdf_path, *, width_px=718):
    # The window is as wide as the printed page, so that the figures are drawn at the page's width.
    with tempfile.TemporaryDirectory() as profile:
        command = [browser, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                   f"--window-size={width_px},1000", "--hide-scrollbars",
                   "--disable-background-networking", "--disable-component-update", "--disable-sync",
                   f"--user-data-dir={profile}", "--no-pdf-header-footer", "--virtual-time-budget=20000",
                   f"--print-to-pdf={pdf_path}", html_path.resolve().as_uri()]  # fmt: skip
        result = subprocess.run(command, capture_output=True, text=True, timeout=180)
    if result.returncode != 0 or not pdf_path.exists() or pdf_path.stat().st_size == 0:
        raise RuntimeError(f"Chromium could not print '{html_path}' to PDF (exit {result.returncode})")


def _size(path):
    size = path.stat().st_size
    return f"{size / 1e6:.1f} MB" if size >= 1e6 else f"{size / 1e3:.0f} kB"
