"""Exporting a patient, backing up a whole clinic into one archive, and restoring it.

A backup archive is an uncompressed tar (the NetCDF trial files are compressed
already) holding, in this order:

- ``database.json``: every row of every table, as JSON (dates and times in ISO
  8601), with the schema revision: portable between SQLite and PostgreSQL;
- ``files/RELATIVE/PATH``: each trial and report file the database lists;
- ``manifest.json``: the format, the schema revision, the number of rows per
  table, and the sha256 and size of ``database.json`` and of every file.
"""

import datetime
import hashlib
import json
import os
import shutil
import tarfile
from pathlib import PurePosixPath

import sqlalchemy as sa
from alembic.runtime.migration import MigrationContext

from .._version import __version__
from ..utils import logger
from ..utils._files import check_output, output_files, write_bytes, write_csv
from . import _db
from ._models import Base, Report, Trial
from ._store import ClinicError, _create, _private_folders

#: The value of ``format`` in a backup's manifest.
BACKUP_FORMAT = "plantar-clinic-backup/1"
_BLOCK = 1 << 20


def export_patient(clinic, code, folder):
    table = clinic.trials(patient=code)
    names = [f"{code}_{row.date.isoformat()}_v{row.visit}_{row.kind}_{row.uid[:8]}.nc" for row in table.itertuples()]
    if folder.exists() and not folder.is_dir():
        raise ClinicError(f"cannot export patient '{code}' to '{folder}': it is not a folder")
    folder.mkdir(parents=True, exist_ok=True)
    planned = [folder / name for name in names] + [folder / "trials.csv"]
    for path in planned:
        check_output(path)  # before copying anything
    for row, path in zip(table.itertuples(), planned):
        data = (clinic.folder / row.path).read_bytes() if (clinic.folder / row.path).is_file() else None
        if data is None:
            raise ClinicError(f"clinic '{clinic.folder}': trial file '{row.path}' is missing")
        if hashlib.sha256(data).hexdigest() != row.sha256:
            raise ClinicError(f"clinic '{clinic.folder}': trial file '{row.path}' changed since it was added "
                              "(sha256 differs); run 'plantar clinic check'")  # fmt: skip
        write_bytes(path, data)
    out = table.drop(columns=["path"]).assign(file=names)
    out["date"] = out["date"].map(lambda day: day.isoformat())
    out["added_utc"] = out["added_utc"].map(lambda time: time.isoformat())
    write_csv(out, planned[-1])
    logger.info("clinic '%s': exported %d trials of patient '%s' to '%s'", clinic.folder, len(table), code, folder)
    return planned


def backup(clinic, path):
    check_output(path)  # before reading anything
    engine = clinic._engine
    options = {"isolation_level": "REPEATABLE READ"} if engine.dialect.name == "postgresql" else {}
    with engine.connect().execution_options(**options) as connection, connection.begin():  # one snapshot
        revision = MigrationContext.configure(connection).get_current_revision()
        tables = {}
        for table in Base.metadata.sorted_tables:
            rows = connection.execute(sa.select(table).order_by(*table.primary_key.columns)).mappings()
            tables[table.name] = [dict(row) for row in rows]
        hashes = dict(connection.execute(sa.select(Trial.path, Trial.sha256)).all())
        hashes.update(connection.execute(sa.select(Report.path, Report.sha256)).all())
    files = sorted(hashes)
    dump = json.dumps({"schema_revision": revision, "tables": tables}, default=_json_value, sort_keys=True,
                      indent=1).encode("utf-8")  # fmt: skip
    manifest = {
        "format": BACKUP_FORMAT,
        "plantar_version": __version__,
        "schema_revision": revision,
        "created_utc": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "rows": {name: len(rows) for name, rows in tables.items()},
        "database_sha256": hashlib.sha256(dump).hexdigest(),
        "files": {},
    }
    with output_files(path) as (tmp,):
        with tarfile.open(tmp, "w", format=tarfile.PAX_FORMAT) as tar:
            _add(tar, "database.json", dump)
            for relative in files:
                source = clinic.folder / relative
                if not source.is_file():
                    raise ClinicError(f"clinic '{clinic.folder}': file '{relative}' is missing; "
                                      "run 'plantar clinic check'")  # fmt: skip
                data = source.read_bytes()
                sha = hashlib.sha256(data).hexdigest()
                if sha != hashes[relative]:
                    raise ClinicError(f"clinic '{clinic.folder}': file '{relative}' changed since it was added "
                                      "(sha256 differs); run 'plantar clinic check'")  # fmt: skip
                _add(tar, f"files/{relative}", data)
                manifest["files"][relative] = {"sha256": sha, "size_bytes": len(data)}
            _add(tar, "manifest.json", json.dumps(manifest, indent=1, sort_keys=True).encode("utf-8"))
    os.chmod(path, 0o600)
    logger.info("clinic '%s': backed up %d rows and %d files to '%s'", clinic.folder,
                sum(manifest["rows"].values()), len(files), path)  # fmt: skip
    return manifest


def restore(archive, folder, *, url=None):
    if not archive.is_file():
        raise ClinicError(f"backup '{archive}' does not exist")
    if not tarfile.is_tarfile(archive):
        raise ClinicError(f"'{archive}' is not a clinic backup (not a tar archive)")
    with tarfile.open(archive, "r:") as tar:
        members = {member.name: member for member in tar.getmembers()}
        manifest = _json_member(tar, members, "manifest.json", archive)
        if not isinstance(manifest, dict) or manifest.get("format") != BACKUP_FORMAT:
            raise ClinicError(f"'{archive}' is not a clinic backup (manifest format is not {BACKUP_FORMAT!r})")
        revision = manifest.get("schema_revision")
        if revision not in _db.known_revisions():
            raise ClinicError(f"backup '{archive}' is at schema revision {revision!r}, made by a newer plantar")
        dump_bytes = _member_bytes(tar, members, "database.json", archive)
        if hashlib.sha256(dump_bytes).hexdigest() != manifest.get("database_sha256"):
            raise ClinicError(f"backup '{archive}': database.json fails its sha256 in the manifest")
        dump = json.loads(dump_bytes)
        files = manifest.get("files", {})
        for relative in files:
            if f"files/{relative}" not in members or not _safe(relative):
                raise ClinicError(f"backup '{archive}': file '{relative}' of the manifest is missing or unsafe")
        made = not folder.exists()
        clinic = _create(folder, url, revision=revision)
        try:
            for relative, expected in files.items():
                _extract(tar, members[f"files/{relative}"], folder, relative, expected["sha256"], archive)
            _load_rows(clinic, dump["tables"])
            _db.upgrade(clinic._engine, "head")
        except BaseException:
            _undo(clinic, folder, made)
            raise
    logger.info("restored clinic '%s' from '%s' (%d files)", folder, archive, len(files))
    return clinic


def _add(tar, name, data):
    import io

    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mode = 0o600
    info.mtime = int(datetime.datetime.now().timestamp())
    tar.addfile(info, io.BytesIO(data))


def _json_value(value):
    if isinstance(value, (datetime.date, datetime.datetime)):
        return value.isoformat()
    raise TypeError(f"cannot store {type(value).__name__} in a backup")


def _member_bytes(tar, members, name, archive):
    member = members.get(name)
    if member is None or not member.isfile():
        raise ClinicError(f"'{archive}' is not a clinic backup (no {name})")
    return tar.extractfile(member).read()


def _json_member(tar, members, name, archive):
    try:
        return json.loads(_member_bytes(tar, members, name, archive))
    except ValueError:
        raise ClinicError(f"backup '{archive}': {name} is not valid JSON") from None


def _safe(relative):
    parts = PurePosixPath(relative).parts
    return bool(parts) and parts[0] in ("trials", "reports") and ".." not in parts and not relative.startswith("/")


def _extract(tar, member, folder, relative, sha, archive):
    target = folder / relative
    _private_folders(folder, target.parent)
    digest = hashlib.sha256()
    with output_files(target, size_bytes=member.size) as (tmp,):
        source = tar.extractfile(member)
        with open(tmp, "wb") as out:
            for block in iter(lambda: source.read(_BLOCK), b""):
                digest.update(block)
                out.write(block)
        if digest.hexdigest() != sha:
            raise ClinicError(f"backup '{archive}': file '{relative}' fails its sha256 in the manifest")
    os.chmod(target, 0o600)


def _load_rows(clinic, tables):
    """Insert the dumped rows into the schema as it is at the dump's revision, in one transaction."""
    with _db.writer(clinic._engine).begin() as connection:
        metadata = sa.MetaData()
        metadata.reflect(bind=connection)
        for table in metadata.sorted_tables:
            rows = tables.get(table.name, [])
            if not rows or table.name == "alembic_version":
                continue
            converters = {column.name: _converter(column.type) for column in table.columns}
            connection.execute(table.insert(), [{key: converters[key](value) for key, value in row.items()}
                                                for row in rows])  # fmt: skip
            if connection.dialect.name == "postgresql" and "id" in table.columns:
                connection.exec_driver_sql(
                    f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), "
                    f"(SELECT MAX(id) FROM {table.name}))"
                )  # fmt: skip


def _converter(column_type):
    if isinstance(column_type, sa.DateTime):
        return lambda value: None if value is None else datetime.datetime.fromisoformat(value)
    if isinstance(column_type, sa.Date):
        return lambda value: None if value is None else datetime.date.fromisoformat(value)
    return lambda value: value


def _undo(clinic, folder, made):
    """A failed restore leaves no clinic behind: no files, no tables."""
    try:
        if clinic._engine.dialect.name != "sqlite":
            with _db.writer(clinic._engine).begin() as connection:
                metadata = sa.MetaData()
                metadata.reflect(bind=connection)
                metadata.drop_all(connection)
    finally:
        clinic.close()
        if made:
            shutil.rmtree(folder, ignore_errors=True)
        else:
            for entry in folder.iterdir():
                if entry.is_dir():
                    shutil.rmtree(entry, ignore_errors=True)
                else:
                    entry.unlink(missing_ok=True)

