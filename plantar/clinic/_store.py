"""The clinic store: a folder holding a database of patients, visits, trials and
reports, and the NetCDF trial files.

Layout of a clinic folder (created owner-only, 0o700; files 0o600)::

    clinic.json              settings: format, database URL (SQLite file by default)
    clinic.sqlite            the database (when no other URL is set), WAL mode
    trials/CODE/vID/KIND-UID.nc   the trial files (plantar NetCDF, with checksums)
    reports/                 reports written from the trials

A trial file and its row are added together or not at all: the file is written
under its final name first (atomically, never replacing a file, synced to disk),
then its row is added in a transaction; if the transaction fails the file is
removed again, and if the process dies in between, the file is an orphan that
:meth:`Clinic.check` reports and can adopt (every trial file carries its visit,
condition and id in its attributes). The database holds metadata and hashes,
never pressure frames. Patient names and notes are never logged: messages name
the patient by the clinic's code, and the database engine hides statement
parameters.
"""

import collections
import contextlib
import datetime
import hashlib
import json
import os
import re
import shutil
import threading
import uuid
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.orm import Session

from .. import io
from ..io import netcdf
from .._schema import SCHEMA_COUNTS, SCHEMA_TRIAL, check_trial
from ..utils import logger
from ..utils._files import write_text
from . import _db
from ._admin import AppSettings
from ._models import CONDITION_KINDS, Patient, Report, Trial, Visit

#: The value of ``format`` in ``clinic.json``.
FORMAT = "plantar-clinic/1"
SETTINGS = "clinic.json"
DATABASE = "clinic.sqlite"
TRIALS = "trials"
REPORTS = "reports"
#: Folder of the stored analyses of trials (derived files; see :meth:`Clinic.analysis`).
ANALYSES = "analyses"
#: Analyses a clinic keeps in memory.
KEPT_ANALYSES = 32
#: A patient code: what the clinic calls the patient (never the name); safe in a file name.
CODE_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
#: Attributes every clinic trial file carries, so that an orphan file can be adopted.
CLINIC_ATTRS = ("clinic_trial_uid", "clinic_visit_id", "clinic_condition_kind", "clinic_description")
SEXES = ("female", "male", "other")


class ClinicError(ValueError):
    """A clinic, patient, visit or trial is missing, exists already, or is not valid.

    The message is one line naming the clinic folder and the patient (by code),
    visit or file.
    """


class Clinic(AppSettings):
    """A clinic folder: a database of patients, visits, trials and reports, plus the trial files.

    Create one with :meth:`Clinic.init`, open one with :meth:`Clinic.open`;
    both return a ``Clinic``, which is a context manager (leaving it closes
    the database connections). Every method that changes the clinic runs
    in its own transaction.

    Parameters
    ----------
    folder : pathlib.Path
        The clinic folder.
    url : str
        The database URL.

    Attributes
    ----------
    folder : pathlib.Path
        The clinic folder.
    url : str
        The database URL (SQLite file in the folder, or a PostgreSQL server).

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> from plantar.clinic import Clinic
    >>> with Clinic.init(Path(tempfile.mkdtemp()) / "clinic") as clinic:
    ...     clinic.add_patient("P001", birth_year=1970)["code"]
    'P001'
    """

    def __init__(self, folder, url):
        self.folder = Path(folder)
        self.url = url
        self._engine = _db.make_engine(url)
        self._writer = _db.writer(self._engine)
        self._analyses = collections.OrderedDict()  # trial uid -> analysis, the last KEPT_ANALYSES
        self._analyses_lock = threading.Lock()
        self._analysing = threading.Lock()

    # ----------------------------------------------------------------------------
    # creating and opening

    @classmethod
    def init(cls, folder, *, url=None):
        """Create a new clinic folder (owner-only) and its database at the newest schema.

        Parameters
        ----------
        folder : str | os.PathLike
            The folder to create; it must not exist, or be empty.
        url : str | None
            A database URL, e.g. ``postgresql://user@host/clinic`` for a clinic
            with several workstations (the database must exist and be empty); it is
            stored in the folder's ``clinic.json`` (owner-only). ``None`` (default):
            an SQLite file ``clinic.sqlite`` in the folder.

        Returns
        -------
        clinic : Clinic
            The open clinic.

        Raises
        ------
        ClinicError
            If the folder is not empty or the database already holds tables.

        Examples
        --------
        >>> import stat, tempfile
        >>> from pathlib import Path
        >>> from plantar.clinic import Clinic
        >>> folder = Path(tempfile.mkdtemp()) / "clinic"
        >>> clinic = Clinic.init(folder)
        >>> oct(stat.S_IMODE(folder.stat().st_mode)), oct(stat.S_IMODE((folder / "clinic.sqlite").stat().st_mode))
        ('0o700', '0o600')
        >>> clinic.close()
        """
        folder = Path(os.fspath(folder))
        clinic = _create(folder, url, revision="head")
        logger.info("created clinic '%s' (%s)", folder, _describe_url(clinic.url))
        return clinic

    @classmethod
    def open(cls, folder, *, url=None):
        """Open a clinic folder; a database made by an older plantar is upgraded first.

        Parameters
        ----------
        folder : str | os.PathLike
            The clinic folder (made by :meth:`Clinic.init`).
        url : str | None
            Use this database URL instead of the one stored in the folder.

        Returns
        -------
        clinic : Clinic
            The open clinic.

        Raises
        ------
        ClinicError
            If the folder is not a clinic, or its database is missing, empty or
            made by a newer plantar.

        Examples
        --------
        >>> import tempfile
        >>> from pathlib import Path
        >>> from plantar.clinic import Clinic
        >>> folder = Path(tempfile.mkdtemp()) / "clinic"
        >>> Clinic.init(folder).close()
        >>> with Clinic.open(folder) as clinic:
        ...     clinic.patients()
        []
        """
        folder = Path(os.fspath(folder))
        settings = _read_settings(folder)
        url = _db.normalise_url(url or settings.get("database_url") or _db.sqlite_url(folder / DATABASE))
        if url.startswith("sqlite") and url.endswith(f"/{DATABASE}") and not (folder / DATABASE).is_file():
            raise ClinicError(f"clinic '{folder}': its database '{folder / DATABASE}' is missing")
        clinic = cls(folder, url)
        try:
            clinic._upgrade_schema()
        except BaseException:
            clinic.close()
            raise
        return clinic

    def close(self):
        """Close the database connections.

        Examples
        --------
        >>> import tempfile
        >>> from pathlib import Path
        >>> from plantar.clinic import Clinic
        >>> Clinic.init(Path(tempfile.mkdtemp()) / "clinic").close()
        """
        self._engine.dispose()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __repr__(self):
        return f"<Clinic '{self.folder}' ({_describe_url(self.url)})>"

    def _upgrade_schema(self):
        try:
            revision = _db.current_revision(self._engine)
        except sa.exc.OperationalError as exc:
            raise ClinicError(f"clinic '{self.folder}': cannot open its database "
                              f"({_describe_url(self.url)}): {_first_line(exc.orig)}") from None  # fmt: skip
        head = _db.head_revision()
        if revision is None:
            raise ClinicError(f"clinic '{self.folder}': its database ({_describe_url(self.url)}) holds no clinic")
        if revision not in _db.known_revisions():
            raise ClinicError(f"clinic '{self.folder}': its database is at schema revision {revision!r}, "
                              f"made by a newer plantar (this one knows up to {head!r})")  # fmt: skip
        if revision != head:
            logger.info("clinic '%s': upgrading the database schema from %s to %s", self.folder, revision, head)
            _db.upgrade(self._engine, "head")

    # ----------------------------------------------------------------------------
    # patients and visits

    def add_patient(self, code, *, name=None, birth_year=None, sex=None, body_mass_kg=None, shoe_size_eu=None,
                    notes=None):  # fmt: skip
        """Add a patient under a code chosen by the clinic.

        Parameters
        ----------
        code : str
            The clinic's id for the patient (letters, digits, ``.``, ``_``, ``-``;
            up to 64 characters). It names the patient in messages, logs, file
            names and trial files, so it must not be the patient's name.
        name : str | None
            The patient's name; kept in the database only (never logged, never
            written into trial files).
        birth_year : int | None
            Year of birth.
        sex : {"female", "male", "other"} | None
            Sex.
        body_mass_kg : float | None
            Body mass in kg.
        shoe_size_eu : float | None
            Shoe size, EU (Paris points).
        notes : str | None
            Free notes; kept in the database only, never logged.

        Returns
        -------
        patient : dict
            The patient's fields (see :meth:`patient`), without visits.

        Raises
        ------
        ClinicError
            If the code is not valid or already taken, or a value is out of range.

        Examples
        --------
        >>> import tempfile
        >>> from pathlib import Path
        >>> from plantar.clinic import Clinic
        >>> clinic = Clinic.init(Path(tempfile.mkdtemp()) / "clinic")
        >>> p = clinic.add_patient("P012", name="Jane Example", birth_year=1961, sex="female", body_mass_kg=68.5)
        >>> p["code"], p["body_mass_kg"]
        ('P012', 68.5)
        >>> clinic.close()
        """
        code = self._valid_code(code)
        if sex is not None and sex not in SEXES:
            raise ClinicError(f"clinic '{self.folder}', patient '{code}': sex must be one of {SEXES}, got {sex!r}")
        if birth_year is not None and not 1880 <= int(birth_year) <= datetime.date.today().year:
            raise ClinicError(f"clinic '{self.folder}', patient '{code}': birth year {birth_year} is not plausible")
        for what, value, low, high in (("body mass", body_mass_kg, 1.0, 500.0), ("shoe size", shoe_size_eu, 10.0, 60.0)):
            if value is not None and not low <= float(value) <= high:
                raise ClinicError(f"clinic '{self.folder}', patient '{code}': {what} {value} is outside {low:g}..{high:g}")
        patient = Patient(
            code=code, name=name or None, birth_year=None if birth_year is None else int(birth_year), sex=sex,
            body_mass_kg=None if body_mass_kg is None else float(body_mass_kg),
            shoe_size_eu=None if shoe_size_eu is None else float(shoe_size_eu), notes=notes or None,
        )  # fmt: skip
        try:
            with Session(self._writer, expire_on_commit=False) as session, session.begin():
                if session.scalar(sa.select(Patient.id).where(Patient.code == code)) is not None:
                    raise ClinicError(f"clinic '{self.folder}': patient '{code}' exists already")
                session.add(patient)
        except sa.exc.IntegrityError:  # added by another process meanwhile
            raise ClinicError(f"clinic '{self.folder}': patient '{code}' exists already") from None
        logger.info("clinic '%s': added patient '%s'", self.folder, code)
        return _patient_dict(patient)

    def patients(self):
        """List the patients, with their number of visits and trials and the dates of their visits.

        Returns
        -------
        patients : list of dict
            One per patient, by code: ``code``, ``name``, ``birth_year``, ``sex``,
            ``visits``, ``trials``, ``first_visit`` and ``last_visit``
            (:class:`datetime.date` or None).

        Examples
        --------
        >>> import datetime, tempfile
        >>> from pathlib import Path
        >>> from plantar.clinic import Clinic
        >>> clinic = Clinic.init(Path(tempfile.mkdtemp()) / "clinic")
        >>> _ = clinic.add_patient("P001")
        >>> _ = clinic.add_visit("P001", date=datetime.date(2024, 3, 1))
        >>> [(p["code"], p["visits"], p["trials"]) for p in clinic.patients()]
        [('P001', 1, 0)]
        >>> clinic.close()
        """
        trials = (sa.select(Trial.visit_id, sa.func.count(Trial.id).label("n"))
                  .group_by(Trial.visit_id).subquery())  # fmt: skip
        query = (
            sa.select(
                Patient.code, Patient.name, Patient.birth_year, Patient.sex,
                sa.func.count(Visit.id), sa.func.coalesce(sa.func.sum(trials.c.n), 0),
                sa.func.min(Visit.date), sa.func.max(Visit.date),
            )
            .select_from(Patient)
            .outerjoin(Visit, Visit.patient_id == Patient.id)
            .outerjoin(trials, trials.c.visit_id == Visit.id)
            .group_by(Patient.id)
            .order_by(Patient.code)
        )  # fmt: skip
        keys = ("code", "name", "birth_year", "sex", "visits", "trials", "first_visit", "last_visit")
        with Session(self._engine) as session:
            rows = session.execute(query).all()
        return [dict(zip(keys, (*row[:4], int(row[4]), int(row[5]), row[6], row[7]))) for row in rows]

    def patient(self, code):
        """One patient's details, with their visits and each visit's trials.

        Parameters
        ----------
        code : str
            The patient's code.

        Returns
        -------
        patient : dict
            ``code``, ``name``, ``birth_year``, ``sex``, ``body_mass_kg``,
            ``shoe_size_eu``, ``notes``, ``created_utc`` and ``visits``: a list
            (by date) of dicts with ``id``, ``date``, ``complaint``,
            ``clinician``, ``notes`` and ``trials`` (dicts as in :meth:`trials`).

        Raises
        ------
        ClinicError
            If there is no such patient.

        Examples
        --------
        >>> import datetime, tempfile
        >>> from pathlib import Path
        >>> from plantar.clinic import Clinic
        >>> clinic = Clinic.init(Path(tempfile.mkdtemp()) / "clinic")
        >>> _ = clinic.add_patient("P001", shoe_size_eu=42)
        >>> visit = clinic.add_visit("P001", date=datetime.date(2024, 3, 1), complaint="heel pain")
        >>> p = clinic.patient("P001")
        >>> p["shoe_size_eu"], [(v["id"], v["complaint"]) for v in p["visits"]]
        (42.0, [(1, 'heel pain')])
        >>> clinic.close()
        """
        with Session(self._engine) as session:
            patient = self._get_patient(session, code)
            result = _patient_dict(patient)
            result["visits"] = [
                {**_visit_dict(visit), "trials": [_trial_dict(trial, visit, patient.code) for trial in visit.trials]}
                for visit in patient.visits
            ]
        return result

    def add_visit(self, code, *, date, complaint=None, clinician=None, notes=None):
        """Add a visit of a patient.

        Parameters
        ----------
        code : str
            The patient's code.
        date : datetime.date | str
            The visit's date (``"2024-03-01"`` or a :class:`datetime.date`).
        complaint : str | None
            The complaint that brought the patient.
        clinician : str | None
            Who saw the patient.
        notes : str | None
            Free notes; never logged.

        Returns
        -------
        visit : int
            The visit's id (the clinic numbers visits across all patients).

        Raises
        ------
        ClinicError
            If there is no such patient or the date is not valid.

        Examples
        --------
        >>> import tempfile
        >>> from pathlib import Path
        >>> from plantar.clinic import Clinic
        >>> clinic = Clinic.init(Path(tempfile.mkdtemp()) / "clinic")
        >>> _ = clinic.add_patient("P001")
        >>> clinic.add_visit("P001", date="2024-03-01", clinician="Dr Example")
        1
        >>> clinic.close()
        """
        day = self._valid_date(date, code)
        with Session(self._writer) as session, session.begin():
            patient = self._get_patient(session, code)
            visit = Visit(patient_id=patient.id, date=day, complaint=complaint or None, clinician=clinician or None,
                          notes=notes or None)  # fmt: skip
            session.add(visit)
            session.flush()
            visit_id = visit.id
        logger.info("clinic '%s': added visit %d of patient '%s' on %s", self.folder, visit_id, code, day)
        return visit_id

    def visit(self, visit):
        """One visit's details, with its patient's code and its trials.

        Parameters
        ----------
        visit : int
            The visit's id.

        Returns
        -------
        visit : dict
            ``id``, ``patient`` (the code), ``date``, ``complaint``,
            ``clinician``, ``notes`` and ``trials`` (dicts as in :meth:`trials`,
            in the order they were added).

        Raises
        ------
        ClinicError
            If there is no such visit.

        Examples
        --------
        >>> import tempfile
        >>> from pathlib import Path
        >>> from plantar.clinic import Clinic
        >>> clinic = Clinic.init(Path(tempfile.mkdtemp()) / "clinic")
        >>> _ = clinic.add_patient("P001")
        >>> visit = clinic.add_visit("P001", date="2024-03-01", complaint="heel pain")
        >>> v = clinic.visit(visit)
        >>> v["patient"], str(v["date"]), v["complaint"], v["trials"]
        ('P001', '2024-03-01', 'heel pain', [])
        >>> clinic.close()
        """
        with Session(self._engine) as session:
            row = session.get(Visit, int(visit))
            if row is None:
                raise ClinicError(f"clinic '{self.folder}': there is no visit {visit}")
            code = row.patient.code
            trials = sorted(row.trials, key=lambda trial: trial.id)
            return {**_visit_dict(row), "patient": code, "trials": [_trial_dict(t, row, code) for t in trials]}

    # ----------------------------------------------------------------------------
    # trials

    def add_trial(self, trial, *, visit, kind, label=None, description="", calibration=None):
        """Add a trial to a visit: its file is written into the clinic, then its row.

        The trial is saved as a plantar NetCDF file (with checksums) under
        ``trials/CODE/vVISIT/`` in the clinic, written and synced to disk first
        (never replacing a file); then its row (hash, device, calibration,
        timing) is added in a transaction. If the transaction fails, the file is
        removed; if the process dies in between, :meth:`check` finds the file as
        an orphan and can adopt it. The file's ``subject`` attribute is the
        patient's code (a name a vendor file carried is not kept), its
        ``condition`` the label.

        Parameters
        ----------
        trial : xarray.Dataset
            A trial in kPa, or a raw recording in counts together with
            ``calibration``.
        visit : int
            The visit's id.
        kind : {"barefoot", "shod", "orthotic"}
            The kind of condition.
        label : str | None
            The condition's label, e.g. ``"orthotic A"``; default: ``kind``.
        description : str
            The footwear or orthotic, in words.
        calibration : str | os.PathLike | xarray.Dataset | None
            A calibration (file or Dataset) to turn a raw recording into kPa.

        Returns
        -------
        trial : dict
            The trial's row (see :meth:`trials`).

        Raises
        ------
        ClinicError
            If the visit does not exist, the kind is unknown, or a raw recording
            comes without a calibration.

        Examples
        --------
        >>> import tempfile
        >>> from pathlib import Path
        >>> import plantar
        >>> from plantar.clinic import Clinic
        >>> clinic = Clinic.init(Path(tempfile.mkdtemp()) / "clinic")
        >>> _ = clinic.add_patient("P001")
        >>> visit = clinic.add_visit("P001", date="2024-03-01")
        >>> walk, _ = plantar.synth.walk(seed=0, passes=1)
        >>> row = clinic.add_trial(walk, visit=visit, kind="barefoot")
        >>> row["patient"], row["kind"], row["frames"] == walk.sizes["time"], len(row["sha256"])
        ('P001', 'barefoot', True, 64)
        >>> clinic.close()
        """
        if kind not in CONDITION_KINDS:
            raise ClinicError(f"clinic '{self.folder}': kind must be one of {CONDITION_KINDS}, got {kind!r}")
        label = str(label) if label else kind
        with Session(self._engine) as session:
            row = session.execute(
                sa.select(Visit.id, Patient.code).join(Patient).where(Visit.id == int(visit))
            ).first()  # fmt: skip
        if row is None:
            raise ClinicError(f"clinic '{self.folder}': there is no visit {visit}")
        code = row.code
        trial = self._as_trial(trial, calibration, code)
        uid = uuid.uuid4().hex
        relative = f"{TRIALS}/{code}/v{int(visit)}/{kind}-{uid}.nc"
        path = self.folder / relative
        _private_folders(self.folder, path.parent)
        stored = trial.copy(deep=False)
        stored.attrs = {**trial.attrs, "subject": code, "condition": label, "clinic_trial_uid": uid,
                        "clinic_visit_id": int(visit), "clinic_condition_kind": kind,
                        "clinic_description": str(description or "")}  # fmt: skip
        # Checked above; written atomically, never replacing, synced: the file exists whole or not at all.
        # Its hash is of the bytes as they were written, not of the file read back.
        sha, size_bytes = netcdf.write(stored, path)
        os.chmod(path, 0o600)
        try:
            record = self._insert_trial(stored, relative, sha, size_bytes)
        except BaseException:
            path.unlink(missing_ok=True)  # no row, no file
            raise
        logger.info("clinic '%s': added %s trial %s to visit %d of patient '%s'", self.folder, kind, uid, visit, code)
        return _trial_dict(record, None, code)

    def import_trial(self, path, *, visit, kind, label=None, description="", format=None, calibration=None):
        """Import a recording (a NetCDF trial, a journal, a vendor export) into a visit.

        The file is read by :func:`plantar.read` (any format it knows) and added
        with :meth:`add_trial`: converted to a plantar NetCDF trial on the way in.
        The original file is left where it is.

        Parameters
        ----------
        path : str | os.PathLike
            The file to import.
        visit : int
            The visit's id.
        kind : {"barefoot", "shod", "orthotic"}
            The kind of condition.
        label : str | None
            The condition's label; default: ``kind``.
        description : str
            The footwear or orthotic, in words.
        format : str | None
            Force a file format (see :func:`plantar.io.known_formats`).
        calibration : str | os.PathLike | None
            A calibration file, for a raw recording in counts (a journal, a raw
            ``.nc``).

        Returns
        -------
        trial : dict
            The trial's row (see :meth:`trials`).

        Raises
        ------
        plantar.io.FileFormatError
            If the file cannot be read.
        ClinicError
            As :meth:`add_trial`.

        Examples
        --------
        >>> import tempfile
        >>> from pathlib import Path
        >>> import plantar
        >>> from plantar.clinic import Clinic
        >>> tmp = Path(tempfile.mkdtemp())
        >>> walk, _ = plantar.synth.walk(seed=0, passes=1)
        >>> plantar.save(walk, tmp / "walk.nc")
        >>> clinic = Clinic.init(tmp / "clinic")
        >>> _ = clinic.add_patient("P001")
        >>> visit = clinic.add_visit("P001", date="2024-03-01")
        >>> clinic.import_trial(tmp / "walk.nc", visit=visit, kind="shod", label="running shoe")["label"]
        'running shoe'
        >>> clinic.close()
        """
        trial = io.read(path, format=format)
        return self.add_trial(trial, visit=visit, kind=kind, label=label, description=description,
                              calibration=calibration)  # fmt: skip

    def trials(self, *, patient=None, visit=None, kind=None):
        """The clinic's trials as a table, optionally of one patient, visit or kind of condition.

        Parameters
        ----------
        patient : str | None
            Only this patient's trials (by code).
        visit : int | None
            Only this visit's trials.
        kind : {"barefoot", "shod", "orthotic"} | None
            Only trials of this kind of condition.

        Returns
        -------
        table : pandas.DataFrame
            One row per trial, by patient, visit date and order of adding:
            ``patient``, ``visit``, ``date``, ``uid``, ``kind``, ``label``,
            ``description``, ``path`` (relative to the clinic folder),
            ``sha256``, ``size_bytes``, ``device``, ``calibration_id``,
            ``recorded_utc``, ``sampling_rate_hz``, ``frames``, ``duration_s``,
            ``source_format`` and ``added_utc``.

        Examples
        --------
        >>> import tempfile
        >>> from pathlib import Path
        >>> import plantar
        >>> from plantar.clinic import Clinic
        >>> clinic = Clinic.init(Path(tempfile.mkdtemp()) / "clinic")
        >>> _ = clinic.add_patient("P001")
        >>> visit = clinic.add_visit("P001", date="2024-03-01")
        >>> walk, _ = plantar.synth.walk(seed=0, passes=1)
        >>> _ = clinic.add_trial(walk, visit=visit, kind="barefoot")
        >>> clinic.trials(patient="P001")[["patient", "visit", "kind", "sampling_rate_hz"]]
          patient  visit      kind  sampling_rate_hz
        0    P001      1  barefoot             100.0
        >>> clinic.close()
        """
        import pandas as pd

        query = (sa.select(Trial, Visit, Patient.code).join(Visit, Trial.visit_id == Visit.id)
                 .join(Patient, Visit.patient_id == Patient.id))  # fmt: skip
        if patient is not None:
            query = query.where(Patient.code == patient)
        if visit is not None:
            query = query.where(Visit.id == int(visit))
        if kind is not None:
            if kind not in CONDITION_KINDS:
                raise ClinicError(f"clinic '{self.folder}': kind must be one of {CONDITION_KINDS}, got {kind!r}")
            query = query.where(Trial.condition_kind == kind)
        query = query.order_by(Patient.code, Visit.date, Visit.id, Trial.id)
        with Session(self._engine) as session:
            if patient is not None:
                self._get_patient(session, patient)
            rows = [_trial_dict(t, v, code) for t, v, code in session.execute(query)]
        return pd.DataFrame(rows, columns=list(_TRIAL_COLUMNS))

    def read_trial(self, uid):
        """Read one of the clinic's trials, after checking its file's sha256.

        Parameters
        ----------
        uid : str
            The trial's id (``uid`` in :meth:`trials`).

        Returns
        -------
        trial : xarray.Dataset
            The trial.

        Raises
        ------
        ClinicError
            If there is no such trial, or its file is missing or changed.

        Examples
        --------
        >>> import tempfile
        >>> from pathlib import Path
        >>> import plantar
        >>> from plantar.clinic import Clinic
        >>> clinic = Clinic.init(Path(tempfile.mkdtemp()) / "clinic")
        >>> _ = clinic.add_patient("P001")
        >>> visit = clinic.add_visit("P001", date="2024-03-01")
        >>> walk, _ = plantar.synth.walk(seed=0, passes=1)
        >>> uid = clinic.add_trial(walk, visit=visit, kind="barefoot")["uid"]
        >>> back = clinic.read_trial(uid)
        >>> bool((back.pressure == walk.pressure).all()), back.attrs["subject"]
        (True, 'P001')
        >>> clinic.close()
        """
        with Session(self._engine) as session:
            trial = session.scalar(sa.select(Trial).where(Trial.uid == str(uid)))
            if trial is None:
                raise ClinicError(f"clinic '{self.folder}': there is no trial {uid}")
            relative, sha = trial.path, trial.sha256
        path = self.folder / relative
        if not path.is_file():
            raise ClinicError(f"clinic '{self.folder}': trial file '{relative}' is missing")
        if _sha256(path) != sha:
            raise ClinicError(f"clinic '{self.folder}': trial file '{relative}' changed since it was added "
                              "(sha256 differs); run 'plantar clinic check'")  # fmt: skip
        return io.read(path)

    def analysis(self, uid):
        """The analysis of one of the clinic's trials, computed once and kept.

        A trial's file never changes once added, so its :func:`plantar.analyze`
        result (default options) is computed once, kept in memory (the last
        :data:`KEPT_ANALYSES`) and stored in ``analyses/UID.nc`` in the clinic,
        stamped with the trial file's sha256 (and, as every analysis, plantar's
        version). A stored analysis is used only if both match (a newer plantar analyses
        again); the folder holds nothing but such derived files and may be
        deleted at any time.

        Parameters
        ----------
        uid : str
            The trial's id (``uid`` in :meth:`trials`).

        Returns
        -------
        analysis : xarray.Dataset
            The trial's analysis (``analysis/2``); do not change it in place,
            it is shared.

        Raises
        ------
        ClinicError
            If there is no such trial, or its file is missing or changed.

        Examples
        --------
        >>> import tempfile
        >>> from pathlib import Path
        >>> import plantar
        >>> from plantar.clinic import Clinic
        >>> clinic = Clinic.init(Path(tempfile.mkdtemp()) / "clinic")
        >>> _ = clinic.add_patient("P001")
        >>> visit = clinic.add_visit("P001", date="2024-03-01")
        >>> walk, _ = plantar.synth.walk(seed=0, passes=1)
        >>> uid = clinic.add_trial(walk, visit=visit, kind="barefoot")["uid"]
        >>> clinic.analysis(uid).sizes["step"] == plantar.analyze(walk).sizes["step"]
        True
        >>> (clinic.folder / "analyses" / f"{uid}.nc").is_file()
        True
        >>> clinic.close()
        """
        import xarray as xr

        from .._version import __version__
        from ..analyze import analyze

        uid = str(uid)
        with self._analyses_lock:
            if uid in self._analyses:
                self._analyses.move_to_end(uid)
                return self._analyses[uid]
        with Session(self._engine) as session:
            sha = session.scalar(sa.select(Trial.sha256).where(Trial.uid == uid))
        if sha is None:
            raise ClinicError(f"clinic '{self.folder}': there is no trial {uid}")
        stored = self.folder / ANALYSES / f"{uid}.nc"
        stamp = {"clinic_trial_sha256": sha}
        with self._analysing:  # one trial analysed at a time: no trial twice, and HDF5 is not thread-safe
            with self._analyses_lock:
                if uid in self._analyses:
                    return self._analyses[uid]
            analysis = None
            if stored.is_file():
                try:
                    loaded = xr.load_dataset(stored, engine="h5netcdf")  # h5py, as plantar.io: one HDF5 lock
                    if (loaded.attrs.get("clinic_trial_sha256") == sha
                            and loaded.attrs.get("plantar_version") == __version__):  # fmt: skip
                        analysis = loaded
                        del analysis.attrs["clinic_trial_sha256"]
                except (OSError, ValueError, RuntimeError) as exc:  # a damaged stored file is analysed again
                    logger.debug("clinic '%s': stored analysis of %s unreadable (%s)", self.folder, uid, exc)
            if analysis is None:
                analysis = analyze(self.read_trial(uid))
                self._store_analysis(analysis, stored, stamp)
        with self._analyses_lock:
            self._analyses[uid] = analysis
            while len(self._analyses) > KEPT_ANALYSES:
                self._analyses.popitem(last=False)
        return analysis

    def _store_analysis(self, analysis, path, stamp):
        """Keep an analysis on disk; one that cannot be written (full disk, odd attrs) is only kept in memory."""
        _private_folders(self.folder, path.parent)
        tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
        try:
            analysis.assign_attrs(stamp).to_netcdf(tmp, engine="h5netcdf")
            os.chmod(tmp, 0o600)
            os.replace(tmp, path)
        except (OSError, ValueError, TypeError, RuntimeError) as exc:
            logger.debug("clinic '%s': analysis not stored in '%s' (%s)", self.folder, path, exc)
            with contextlib.suppress(OSError):
                tmp.unlink()

    def analyze_visit(self, visit, **options):
        """Analyse every trial of a visit with :func:`plantar.analyze` (without options: the stored :meth:`analysis`).

        Parameters
        ----------
        visit : int
            The visit's id.
        **options
            Passed to :func:`plantar.analyze` (e.g. ``threshold_kpa``).

        Returns
        -------
        analyses : dict of str to xarray.Dataset
            :func:`plantar.analyze`'s result per trial uid, in the order the
            trials were added.

        Raises
        ------
        ClinicError
            If there is no such visit, or a trial file is missing or changed.

        Examples
        --------
        >>> import tempfile
        >>> from pathlib import Path
        >>> import plantar
        >>> from plantar.clinic import Clinic
        >>> clinic = Clinic.init(Path(tempfile.mkdtemp()) / "clinic")
        >>> _ = clinic.add_patient("P001")
        >>> visit = clinic.add_visit("P001", date="2024-03-01")
        >>> walk, truth = plantar.synth.walk(seed=0, passes=1)
        >>> uid = clinic.add_trial(walk, visit=visit, kind="barefoot")["uid"]
        >>> analyses = clinic.analyze_visit(visit)
        >>> analyses[uid].sizes["step"] == plantar.analyze(walk).sizes["step"]
        True
        >>> clinic.close()
        """
        from ..analyze import analyze

        with Session(self._engine) as session:
            if session.get(Visit, int(visit)) is None:
                raise ClinicError(f"clinic '{self.folder}': there is no visit {visit}")
            uids = session.scalars(sa.select(Trial.uid).where(Trial.visit_id == int(visit)).order_by(Trial.id)).all()
        if not options:  # the default analysis, computed once per trial
            return {uid: self.analysis(uid) for uid in uids}
        return {uid: analyze(self.read_trial(uid), **options) for uid in uids}

    def followup(self, code, *, confidence=0.95, **options):
        """Follow a patient over their visits: :func:`plantar.followup` of every trial's analysis.

        Every trial of the patient is analysed with :func:`plantar.analyze`
        (its stored :meth:`analysis` without options; read, its sha256 checked,
        and analysed again with them); trials are followed by their condition label
        (e.g. ``barefoot``, ``orthotic A``) across visits, dated by their visit.

        Parameters
        ----------
        code : str
            The patient's code.
        confidence : float
            Confidence of the intervals (see :func:`plantar.followup`).
        **options
            Passed to :func:`plantar.analyze` (e.g. ``threshold_kpa``).

        Returns
        -------
        result : plantar.FollowupResult
            The follow-up; its ``visits`` table names visits by their id.

        Raises
        ------
        ClinicError
            If there is no such patient, the patient has no trials, or a trial file
            is missing or changed.

        Examples
        --------
        >>> import tempfile
        >>> from pathlib import Path
        >>> import plantar
        >>> from plantar.clinic import Clinic
        >>> clinic = Clinic.init(Path(tempfile.mkdtemp()) / "clinic")
        >>> _ = clinic.add_patient("P001")
        >>> for date in ("2024-03-01", "2024-04-12"):
        ...     visit = clinic.add_visit("P001", date=date)
        ...     walk, _ = plantar.synth.walk(seed=visit, passes=1, mat_length_mm=1200)
        ...     _ = clinic.add_trial(walk, visit=visit, kind="barefoot")
        >>> result = clinic.followup("P001")
        >>> sorted(set(result.visits["weeks"]))
        [0.0, 6.0]
        >>> clinic.close()
        """
        from ..analyze import analyze
        from ..followup import followup

        table = self.trials(patient=code)
        if table.empty:
            raise ClinicError(f"clinic '{self.folder}': patient '{code}' has no trials to follow")
        records = [{"visit": int(row.visit), "date": row.date, "condition": row.label,
                    "analysis": analyze(self.read_trial(row.uid), **options) if options else self.analysis(row.uid)}
                   for row in table.itertuples()]  # fmt: skip
        logger.info("clinic '%s': following patient '%s' over %d visits, %d trials", self.folder, code,
                    table["visit"].nunique(), len(table))  # fmt: skip
        return followup(records, confidence=confidence)

    def write_followup_report(self, code, *, folder=None, anonymous=False, overwrite=False, **options):
        """Write a patient's follow-up report (HTML, CSV, JSON) and record it in the clinic.

        Parameters
        ----------
        code : str
            The patient's code.
        folder : str | os.PathLike | None
            Where to write; default ``reports/CODE`` in the clinic. A report
            written inside the clinic folder is recorded in its reports table
            (each file with its sha256); one written elsewhere is not.
        anonymous : bool
            Name the patient by code only. Otherwise the header shows the code,
            the name and the birth year.
        overwrite : bool
            Replace existing files.
        **options
            Passed to :meth:`followup`.

        Returns
        -------
        paths : dict of str to pathlib.Path
            ``{"html": ..., "csv": ..., "json": ...}``.

        Examples
        --------
        >>> import tempfile
        >>> from pathlib import Path
        >>> import plantar
        >>> from plantar.clinic import Clinic
        >>> clinic = Clinic.init(Path(tempfile.mkdtemp()) / "clinic")
        >>> _ = clinic.add_patient("P001", name="Jane Example")
        >>> for date in ("2024-03-01", "2024-04-12"):
        ...     visit = clinic.add_visit("P001", date=date)
        ...     walk, _ = plantar.synth.walk(seed=visit, passes=1, mat_length_mm=1200)
        ...     _ = clinic.add_trial(walk, visit=visit, kind="barefoot")
        >>> paths = clinic.write_followup_report("P001", anonymous=True, verbose="error")
        >>> "Jane" in paths["html"].read_text()
        False
        >>> clinic.close()
        """
        from ..report import write_followup_report

        verbose = options.pop("verbose", None)
        with Session(self._engine) as session:
            patient = _patient_dict(self._get_patient(session, code))
        subject = code if anonymous else _named(patient)
        stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
        folder = self.folder / REPORTS / code if folder is None else Path(os.fspath(folder))
        inside = self._inside(folder)
        if inside:
            _private_folders(self.folder, folder)
        result = self.followup(code, **options)
        fname = folder / f"{code}-followup-{stamp}{'-anonymous' if anonymous else ''}.html"
        paths = write_followup_report(result, fname, subject=subject, overwrite=overwrite, verbose=verbose,
                                      meta={"Anonymous": "yes" if anonymous else "no"})  # fmt: skip
        if inside:
            for path in paths.values():
                os.chmod(path, 0o600)
                self.add_report(path, patient=code, kind="followup", anonymous=anonymous)
        return paths

    def write_visit_report(self, visit, *, anonymous=False, pdf=False, animation=False, **options):
        """Write the loading report of a visit's conditions (HTML, CSV, JSON) and record it in the clinic.

        Every trial of the visit is read (its sha256 checked) and is one
        condition of :func:`plantar.report.write_report`, labelled and of the
        kind it was added with; the files go to ``reports/CODE`` in the clinic
        and each is recorded in the clinic's reports (kind ``"loading"``).

        Parameters
        ----------
        visit : int
            The visit's id.
        anonymous : bool
            Name the patient by code only. Otherwise the header shows the code,
            the name and the birth year.
        pdf : bool
            Also write a PDF.
        animation : bool
            Include the animation of each trial's frames.
        **options
            Passed to :func:`plantar.report.write_report` (e.g. ``baseline``,
            ``targets``, ``verbose``).

        Returns
        -------
        paths : dict of str to pathlib.Path
            ``{"html": ..., "csv": ..., "json": ...}`` (and ``"pdf"``).

        Raises
        ------
        ClinicError
            If there is no such visit, it has no trial, or a trial file is
            missing or changed.

        Examples
        --------
        >>> import tempfile
        >>> from pathlib import Path
        >>> import plantar
        >>> from plantar.clinic import Clinic
        >>> clinic = Clinic.init(Path(tempfile.mkdtemp()) / "clinic")
        >>> _ = clinic.add_patient("P001", name="Jane Example")
        >>> visit = clinic.add_visit("P001", date="2024-03-01")
        >>> walk, _ = plantar.synth.walk(seed=0, passes=1)
        >>> _ = clinic.add_trial(walk, visit=visit, kind="barefoot")
        >>> paths = clinic.write_visit_report(visit, verbose="error")
        >>> "Jane Example" in paths["html"].read_text(), sorted(paths)
        (True, ['csv', 'html', 'json'])
        >>> clinic.close()
        """
        from ..report import write_report
        from ..report._pair import can_pair

        found = self.visit(visit)
        code = found["patient"]
        if not found["trials"]:
            raise ClinicError(f"clinic '{self.folder}': visit {visit} has no trial to report")
        with Session(self._engine) as session:
            patient = _patient_dict(self._get_patient(session, code))
        trials = [self.read_trial(row["uid"]) for row in found["trials"]]
        if "analyses" not in options and options.get("mask", "percent") == "percent" and not any(
                can_pair(a, b) for a, b in zip(trials, trials[1:])):  # fmt: skip  (pairs are analysed joined)
            options["analyses"] = [self.analysis(row["uid"]) for row in found["trials"]]
        stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
        folder = self.folder / REPORTS / code
        _private_folders(self.folder, folder)
        fname = folder / f"{code}-v{int(visit)}-loading-{stamp}{'-anonymous' if anonymous else ''}.html"
        paths = write_report(trials, fname, kinds=[row["kind"] for row in found["trials"]], animation=animation,
                             pdf=pdf, subject=code if anonymous else _named(patient), anonymous=anonymous,
                             **options)  # fmt: skip
        for path in paths.values():
            os.chmod(path, 0o600)
            self.add_report(path, patient=code, kind="loading", visit=int(visit), anonymous=anonymous)
        return paths

    def _inside(self, folder):
        try:
            Path(os.path.realpath(folder)).relative_to(os.path.realpath(self.folder))
        except ValueError:
            return False
        return True

    # ----------------------------------------------------------------------------
    # reports

    def add_report(self, path, *, patient, kind, visit=None, anonymous=False):
        """Record a report file written into the clinic folder (its hash, and whether it names the patient).

        Parameters
        ----------
        path : str | os.PathLike
            The report file; it must lie in the clinic folder (e.g. in ``reports/``).
        patient : str
            The patient's code.
        kind : str
            What report it is, e.g. ``"loading"`` or ``"followup"``.
        visit : int | None
            The visit it reports, if one.
        anonymous : bool
            Whether the report was written without the patient's name.

        Returns
        -------
        report : dict
            ``id``, ``patient``, ``visit``, ``kind``, ``path`` (relative),
            ``sha256``, ``anonymous`` and ``created_utc``.

        Raises
        ------
        ClinicError
            If the file is outside the clinic folder or missing, or the patient or
            visit does not exist.

        Examples
        --------
        >>> import tempfile
        >>> from pathlib import Path
        >>> from plantar.clinic import Clinic
        >>> clinic = Clinic.init(Path(tempfile.mkdtemp()) / "clinic")
        >>> _ = clinic.add_patient("P001")
        >>> out = clinic.folder / "reports" / "P001-loading.html"
        >>> _ = out.write_text("<html></html>")
        >>> r = clinic.add_report(out, patient="P001", kind="loading", anonymous=True)
        >>> r["path"], r["anonymous"]
        ('reports/P001-loading.html', True)
        >>> clinic.close()
        """
        path = Path(os.fspath(path))
        relative = self._relative(path)
        if not path.is_file():
            raise ClinicError(f"clinic '{self.folder}': report file '{path}' does not exist")
        sha = _sha256(path)
        with Session(self._writer, expire_on_commit=False) as session, session.begin():
            owner = self._get_patient(session, patient)
            if visit is not None:
                found = session.get(Visit, int(visit))
                if found is None or found.patient_id != owner.id:
                    raise ClinicError(f"clinic '{self.folder}': patient '{patient}' has no visit {visit}")
            report = Report(patient_id=owner.id, visit_id=None if visit is None else int(visit), kind=str(kind),
                            path=relative, sha256=sha, anonymous=bool(anonymous))  # fmt: skip
            session.add(report)
        logger.info("clinic '%s': recorded %s report '%s' of patient '%s'", self.folder, kind, relative, patient)
        return {"id": report.id, "patient": patient, "visit": report.visit_id, "kind": report.kind,
                "path": relative, "sha256": sha, "anonymous": report.anonymous, "created_utc": report.created_utc}  # fmt: skip

    # ----------------------------------------------------------------------------
    # checking

    def check(self, *, adopt=False):
        """Check every trial and report file against its sha256; find orphan and missing files.

        An orphan is a trial file in ``trials/`` without a row: what a crash
        between writing a file and adding its row leaves. With ``adopt``, each
        orphan whose visit exists is read (its NetCDF checksums verified) and
        added from the clinic attributes it carries.

        Parameters
        ----------
        adopt : bool
            Add the orphan trial files that can be adopted.

        Returns
        -------
        result : dict
            ``checked`` (number of files whose hash matched), ``changed`` and
            ``missing`` (relative paths of files whose hash differs, or that are
            gone), ``orphans`` (trial files without a row, after adopting),
            ``adopted`` (relative paths), ``unadoptable`` (dict of path to the
            reason) and ``temporary`` (leftover temporary files of an interrupted
            write, safe to delete); ``ok`` is True when nothing is changed,
            missing or orphaned.

        Examples
        --------
        >>> import tempfile
        >>> from pathlib import Path
        >>> import plantar
        >>> from plantar.clinic import Clinic
        >>> clinic = Clinic.init(Path(tempfile.mkdtemp()) / "clinic")
        >>> _ = clinic.add_patient("P001")
        >>> visit = clinic.add_visit("P001", date="2024-03-01")
        >>> walk, _ = plantar.synth.walk(seed=0, passes=1)
        >>> _ = clinic.add_trial(walk, visit=visit, kind="barefoot")
        >>> result = clinic.check()
        >>> result["ok"], result["checked"]
        (True, 1)
        >>> clinic.close()
        """
        with Session(self._engine) as session:
            known = dict(session.execute(sa.select(Trial.path, Trial.sha256)).all())
            known.update(session.execute(sa.select(Report.path, Report.sha256)).all())
        result = {"ok": True, "checked": 0, "changed": [], "missing": [], "orphans": [], "adopted": [],
                  "unadoptable": {}, "temporary": []}  # fmt: skip
        for relative, sha in sorted(known.items()):
            path = self.folder / relative
            if not path.is_file():
                result["missing"].append(relative)
            elif _sha256(path) != sha:
                result["changed"].append(relative)
            else:
                result["checked"] += 1
        for path in sorted((self.folder / TRIALS).rglob("*")):
            if not path.is_file():
                continue
            relative = path.relative_to(self.folder).as_posix()
            if path.name.startswith(".") and ".tmp" in path.name:
                result["temporary"].append(relative)
            elif relative not in known:
                result["orphans"].append(relative)
        if adopt:
            for relative in list(result["orphans"]):
                try:
                    self._adopt(relative)
                except (ClinicError, io.FileFormatError) as exc:
                    result["unadoptable"][relative] = _first_line(exc)
                    continue
                result["orphans"].remove(relative)
                result["adopted"].append(relative)
        result["ok"] = not (result["changed"] or result["missing"] or result["orphans"])
        for key in ("changed", "missing", "orphans"):
            for relative in result[key]:
                logger.warning("clinic '%s': %s file '%s'", self.folder, key.rstrip("s"), relative)
        return result

    def _adopt(self, relative):
        path = self.folder / relative
        trial = io.read(path)
        attrs = trial.attrs
        missing = [name for name in CLINIC_ATTRS if name not in attrs]
        if missing:
            raise ClinicError(f"'{relative}' is not a clinic trial file (no attribute {missing[0]})")
        if attrs["clinic_condition_kind"] not in CONDITION_KINDS or not path.name.endswith(f"{attrs['clinic_trial_uid']}.nc"):
            raise ClinicError(f"'{relative}': its clinic attributes do not match its name")
        with Session(self._engine) as session:
            visit = session.get(Visit, int(attrs["clinic_visit_id"]))
            if visit is None:
                raise ClinicError(f"'{relative}': its visit {attrs['clinic_visit_id']} does not exist")
            if visit.patient.code != attrs.get("subject"):
                raise ClinicError(f"'{relative}': its visit {visit.id} is not of patient '{attrs.get('subject')}'")
        self._insert_trial(trial, relative, _sha256(path), path.stat().st_size)
        logger.info("clinic '%s': adopted orphan trial file '%s'", self.folder, relative)

    # ----------------------------------------------------------------------------
    # export, backup

    def export_patient(self, code, folder):
        """Export a patient's trials: copies of the trial files and a CSV table of them.

        The table (``trials.csv``) has one row per trial as in :meth:`trials`,
        with ``file`` naming its copy; names and notes are not exported.

        Parameters
        ----------
        code : str
            The patient's code.
        folder : str | os.PathLike
            The folder to write into; created if missing. Existing files are
            never replaced.

        Returns
        -------
        paths : list of pathlib.Path
            The files written, the table last.

        Raises
        ------
        ClinicError
            If there is no such patient, or a trial file is missing or changed.

        Examples
        --------
        >>> import tempfile
        >>> from pathlib import Path
        >>> import plantar
        >>> from plantar.clinic import Clinic
        >>> tmp = Path(tempfile.mkdtemp())
        >>> clinic = Clinic.init(tmp / "clinic")
        >>> _ = clinic.add_patient("P001")
        >>> visit = clinic.add_visit("P001", date="2024-03-01")
        >>> walk, _ = plantar.synth.walk(seed=0, passes=1)
        >>> _ = clinic.add_trial(walk, visit=visit, kind="barefoot")
        >>> [p.name[:22] for p in clinic.export_patient("P001", tmp / "export")]
        ['P001_2024-03-01_v1_bar', 'trials.csv']
        >>> clinic.close()
        """
        from ._archive import export_patient

        return export_patient(self, code, Path(os.fspath(folder)))

    def backup(self, path):
        """Back up the whole clinic into one archive: database dump, files, manifest with hashes.

        The archive (an uncompressed tar: the trial files are compressed already)
        holds ``database.json`` (every row of every table, portable between
        SQLite and PostgreSQL, with the schema revision), the trial and report
        files under ``files/``, and ``manifest.json`` with the sha256 of each.
        The rows are read in one transaction; every file is checked against its
        hash while it is archived. Restore with :meth:`Clinic.restore`.

        Parameters
        ----------
        path : str | os.PathLike
            The archive to write (``.tar``); never replaced if it exists.

        Returns
        -------
        manifest : dict
            What the archive holds: ``format``, ``schema_revision``, ``created_utc``,
            ``rows`` per table, ``files`` (relative path -> sha256 and size) and
            ``database_sha256``.

        Raises
        ------
        ClinicError
            If a file is missing or changed (run :meth:`check`).

        Examples
        --------
        >>> import tempfile
        >>> from pathlib import Path
        >>> from plantar.clinic import Clinic
        >>> tmp = Path(tempfile.mkdtemp())
        >>> clinic = Clinic.init(tmp / "clinic")
        >>> _ = clinic.add_patient("P001")
        >>> clinic.backup(tmp / "clinic.tar")["rows"]["patients"]
        1
        >>> clinic.close()
        """
        from ._archive import backup

        return backup(self, Path(os.fspath(path)))

    @classmethod
    def restore(cls, archive, folder, *, url=None):
        """Restore a backup archive into a new clinic folder.

        Every file is checked against the manifest's sha256 before anything is
        written; the database is built at the archive's schema revision, filled
        in one transaction and upgraded to the newest schema.

        Parameters
        ----------
        archive : str | os.PathLike
            The archive made by :meth:`backup`.
        folder : str | os.PathLike
            The new clinic folder; it must not exist, or be empty.
        url : str | None
            A database URL for the restored clinic (an empty database); default:
            an SQLite file in the folder.

        Returns
        -------
        clinic : Clinic
            The restored clinic, open.

        Raises
        ------
        ClinicError
            If the archive is not a clinic backup, a file in it fails its hash,
            or the folder or database is not empty.

        Examples
        --------
        >>> import tempfile
        >>> from pathlib import Path
        >>> from plantar.clinic import Clinic
        >>> tmp = Path(tempfile.mkdtemp())
        >>> with Clinic.init(tmp / "clinic") as clinic:
        ...     _ = clinic.add_patient("P001", name="Jane Example")
        ...     _ = clinic.backup(tmp / "clinic.tar")
        >>> with Clinic.restore(tmp / "clinic.tar", tmp / "restored") as again:
        ...     again.patient("P001")["name"]
        'Jane Example'
        """
        from ._archive import restore

        return restore(Path(os.fspath(archive)), Path(os.fspath(folder)), url=url)

    # ----------------------------------------------------------------------------
    # helpers

    def _valid_code(self, code):
        code = str(code)
        if not CODE_PATTERN.fullmatch(code):
            raise ClinicError(f"clinic '{self.folder}': a patient code is 1 to 64 letters, digits, '.', '_' or '-' "
                              f"starting with a letter or digit, got {code!r}")  # fmt: skip
        return code

    def _valid_date(self, date, code):
        if isinstance(date, datetime.datetime):
            return date.date()
        if isinstance(date, datetime.date):
            return date
        try:
            return datetime.date.fromisoformat(str(date))
        except ValueError:
            raise ClinicError(f"clinic '{self.folder}', patient '{code}': date must be YYYY-MM-DD, "
                              f"got {date!r}") from None  # fmt: skip

    def _get_patient(self, session, code):
        patient = session.scalar(sa.select(Patient).where(Patient.code == str(code)))
        if patient is None:
            raise ClinicError(f"clinic '{self.folder}': there is no patient '{code}'")
        return patient

    def _as_trial(self, trial, calibration, code):
        schema = trial.attrs.get("plantar_schema")
        if schema == SCHEMA_COUNTS:
            if calibration is None:
                raise ClinicError(f"clinic '{self.folder}', patient '{code}': this is a raw recording in counts; "
                                  "give a calibration (--calibration) to store it in kPa")  # fmt: skip
            from .. import calibration as _calibration

            cal = calibration if hasattr(calibration, "attrs") else _calibration.load(calibration, raw=trial)
            return _calibration.apply(trial, cal)
        if schema != SCHEMA_TRIAL:
            raise ClinicError(f"clinic '{self.folder}', patient '{code}': not a plantar trial "
                              f"(plantar_schema {schema!r})")  # fmt: skip
        check_trial(trial)
        return trial

    def _insert_trial(self, trial, relative, sha, size_bytes):
        a = trial.attrs
        n_frames = trial.sizes["time"]
        duration_s = float(trial.time[-1] - trial.time[0]) + 1.0 / float(a["sampling_rate_hz"]) if n_frames else 0.0
        record = Trial(
            uid=str(a["clinic_trial_uid"]), visit_id=int(a["clinic_visit_id"]),
            condition_kind=str(a["clinic_condition_kind"]), label=str(a.get("condition") or a["clinic_condition_kind"]),
            description=str(a["clinic_description"]), path=relative, sha256=sha, size_bytes=int(size_bytes),
            device=str(a.get("device", "")), calibration_id=str(a.get("calibration_id", "")),
            recorded_utc=str(a.get("start_time", "")), sampling_rate_hz=float(a["sampling_rate_hz"]),
            frame_count=int(n_frames), duration_s=duration_s, source_format=str(a.get("source_format", "")),
        )  # fmt: skip
        with Session(self._writer, expire_on_commit=False) as session, session.begin():
            session.add(record)
        return record

    def _relative(self, path):
        try:
            return path.resolve().relative_to(self.folder.resolve()).as_posix()
        except ValueError:
            raise ClinicError(f"clinic '{self.folder}': '{path}' is not inside the clinic folder") from None


_TRIAL_COLUMNS = ("patient", "visit", "date", "uid", "kind", "label", "description", "path", "sha256", "size_bytes",
                  "device", "calibration_id", "recorded_utc", "sampling_rate_hz", "frames", "duration_s",
                  "source_format", "added_utc")  # fmt: skip


def _patient_dict(patient):
    return {"code": patient.code, "name": patient.name, "birth_year": patient.birth_year, "sex": patient.sex,
            "body_mass_kg": patient.body_mass_kg, "shoe_size_eu": patient.shoe_size_eu, "notes": patient.notes,
            "created_utc": patient.created_utc}  # fmt: skip


def _visit_dict(visit):
    return {"id": visit.id, "date": visit.date, "complaint": visit.complaint, "clinician": visit.clinician,
            "notes": visit.notes}  # fmt: skip


def _named(patient):
    """The patient as a report names them: code, name and birth year where known."""
    parts = [patient["code"]]
    if patient["name"]:
        parts.append(patient["name"])
    if patient["birth_year"]:
        parts.append(f"born {patient['birth_year']}")
    return ", ".join(parts)


def _trial_dict(trial, visit, code):
    return {"patient": code, "visit": trial.visit_id, "date": None if visit is None else visit.date,
            "uid": trial.uid, "kind": trial.condition_kind, "label": trial.label, "description": trial.description,
            "path": trial.path, "sha256": trial.sha256, "size_bytes": trial.size_bytes, "device": trial.device,
            "calibration_id": trial.calibration_id, "recorded_utc": trial.recorded_utc,
            "sampling_rate_hz": trial.sampling_rate_hz, "frames": trial.frame_count, "duration_s": trial.duration_s,
            "source_format": trial.source_format, "added_utc": trial.added_utc}  # fmt: skip


def _sha256(path):
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _private_folders(root, folder):
    """Create ``folder`` (below ``root``) and its missing parents, owner-only."""
    missing = []
    while folder != root and not folder.is_dir():
        missing.append(folder)
        folder = folder.parent
    for path in reversed(missing):
        try:
            path.mkdir(mode=0o700)
        except FileExistsError:  # made by another process meanwhile
            continue
        os.chmod(path, 0o700)


def _first_line(exc):
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def _describe_url(url):
    """The database URL without its password, for messages."""
    try:
        return sa.engine.make_url(url).render_as_string(hide_password=True)
    except sa.exc.ArgumentError:
        return "an invalid database URL"


def _read_settings(folder):
    path = folder / SETTINGS
    if not folder.is_dir():
        raise ClinicError(f"clinic '{folder}' does not exist; create it with 'plantar clinic init {folder}'")
    if not path.is_file():
        raise ClinicError(f"'{folder}' is not a clinic folder (no {SETTINGS}); create one with 'plantar clinic init'")
    try:
        settings = json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise ClinicError(f"clinic '{folder}': {SETTINGS} is not valid JSON ({_first_line(exc)})") from None
    if not isinstance(settings, dict) or settings.get("format") != FORMAT:
        raise ClinicError(f"clinic '{folder}': {SETTINGS} is not a plantar clinic's (format must be {FORMAT!r})")
    return settings


def _create(folder, url, *, revision):
    """Make the clinic folder, its settings and its database at ``revision``; return the open Clinic."""
    if folder.exists() and (not folder.is_dir() or any(folder.iterdir())):
        raise ClinicError(f"cannot create clinic '{folder}': it exists and is not an empty folder")
    if not folder.parent.is_dir():
        raise ClinicError(f"cannot create clinic '{folder}': folder '{folder.parent}' does not exist")
    made_folder = not folder.exists()
    folder.mkdir(mode=0o700, exist_ok=True)
    os.chmod(folder, 0o700)
    try:
        return _fill(folder, url, revision)
    except BaseException:  # leave the folder as it was: absent, or empty
        for entry in (SETTINGS, DATABASE, f"{DATABASE}-wal", f"{DATABASE}-shm", TRIALS, REPORTS):
            path = folder / entry
            if path.is_dir():
                shutil.rmtree(path, ignore_errors=True)
            else:
                path.unlink(missing_ok=True)
        if made_folder:
            with contextlib.suppress(OSError):
                folder.rmdir()
        raise


def _fill(folder, url, revision):
    for name in (TRIALS, REPORTS):
        (folder / name).mkdir(mode=0o700)
        os.chmod(folder / name, 0o700)
    if url is None:
        _db.create_private_file(folder / DATABASE)
        url = _db.sqlite_url(folder / DATABASE)
        settings = {"format": FORMAT, "database_url": None}
    else:
        url = _db.normalise_url(url)
        settings = {"format": FORMAT, "database_url": url}
    write_text(folder / SETTINGS, json.dumps(settings, indent=2) + "\n")
    os.chmod(folder / SETTINGS, 0o600)
    clinic = Clinic(folder, url)
    try:
        try:
            tables = _db.table_names(clinic._engine)
        except sa.exc.OperationalError as exc:
            raise ClinicError(f"cannot create clinic '{folder}': cannot open its database "
                              f"({_describe_url(url)}): {_first_line(exc.orig)}") from None  # fmt: skip
        if tables:
            raise ClinicError(f"cannot create clinic '{folder}': its database ({_describe_url(url)}) is not empty")
        _db.upgrade(clinic._engine, revision)
    except BaseException:
        clinic.close()
        raise
    return clinic
