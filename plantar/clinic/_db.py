"""The clinic's database: engines (SQLite by default, PostgreSQL by URL) and migrations.

SQLite runs in WAL mode with a busy timeout, so several processes can add trials
at once: a writing transaction starts with ``BEGIN IMMEDIATE`` (it waits for the
write lock up front instead of failing half-way), readers never wait for writers.
Every engine hides statement parameters from logs and error messages, and its
logger drops the records that show result rows, so that a patient's name or
notes never reach a log, whatever the log level. The schema is built and upgraded by
the Alembic revisions shipped in ``plantar/clinic/migrations``.
"""

import logging
import os
from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from ._models import Base

#: How long a writer waits for another one's lock before giving up, in s.
BUSY_TIMEOUT_S = 60.0
MIGRATIONS = Path(__file__).with_name("migrations")
#: Execution option that marks a writing transaction (``BEGIN IMMEDIATE`` on SQLite).
WRITE = "plantar_clinic_write"
#: The clinic's engines log as ``sqlalchemy.engine.Engine.plantar_clinic``.
LOGGING_NAME = "plantar_clinic"


def _no_rows(record):
    """Drop the DEBUG records in which SQLAlchemy logs result rows (they hold names and notes)."""
    return record.levelno > logging.DEBUG


logging.getLogger(f"sqlalchemy.engine.Engine.{LOGGING_NAME}").addFilter(_no_rows)


def normalise_url(url):
    """A database URL with the driver plantar uses (psycopg 3 for PostgreSQL)."""
    url = str(url)
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def sqlite_url(path):
    return f"sqlite:///{Path(path).resolve()}"


def make_engine(url):
    """An engine for ``url``; SQLite gets WAL, a busy timeout, foreign keys and full syncs."""
    url = normalise_url(url)
    if url.startswith("sqlite"):
        engine = sa.create_engine(url, hide_parameters=True, logging_name=LOGGING_NAME,
                                  connect_args={"timeout": BUSY_TIMEOUT_S})  # fmt: skip

        @sa.event.listens_for(engine, "connect")
        def _connect(dbapi_connection, record):
            dbapi_connection.isolation_level = None  # transactions are begun below, not by the driver
            cursor = dbapi_connection.cursor()
            cursor.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")
            cursor.execute("PRAGMA journal_mode = WAL")
            cursor.execute("PRAGMA synchronous = FULL")
            cursor.execute("PRAGMA foreign_keys = ON")
            cursor.close()

        @sa.event.listens_for(engine, "begin")
        def _begin(connection):
            write = connection.get_execution_options().get(WRITE)
            connection.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")

        return engine
    return sa.create_engine(url, hide_parameters=True, logging_name=LOGGING_NAME, pool_pre_ping=True)


def writer(engine):
    """The same engine, for transactions that write (they take SQLite's write lock up front)."""
    return engine.execution_options(**{WRITE: True})


def _config(connection):
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


def head_revision():
    """The newest schema revision this plantar knows."""
    return ScriptDirectory.from_config(_config(None)).get_current_head()


def known_revisions():
    return {script.revision for script in ScriptDirectory.from_config(_config(None)).walk_revisions()}


def current_revision(engine):
    """The schema revision of the database (None for an empty database)."""
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def upgrade(engine, revision="head"):
    """Build or upgrade the schema to ``revision``, in a transaction."""
    with writer(engine).begin() as connection:
        command.upgrade(_config(connection), revision)


def schema_drift(engine):
    """Differences between the models and the database's schema (empty: none)."""
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return compare_metadata(context, Base.metadata)


def table_names(engine):
    return set(sa.inspect(engine).get_table_names())


def create_private_file(path):
    """Create an empty file readable and writable by its owner only (0o600)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    os.close(fd)
    os.chmod(path, 0o600)  # whatever the umask


def revision(message):
    """Write a new migration for the changes made to the models (a developer's tool)."""
    engine = make_engine("sqlite://")
    upgrade(engine)
    with engine.begin() as connection:
        command.revision(_config(connection), message=message, autogenerate=True)
