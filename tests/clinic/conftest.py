"""Fixtures of the clinic store's tests: every store test runs on SQLite and on PostgreSQL.

PostgreSQL needs a server: ``PLANTAR_TEST_POSTGRES_URL`` names a database on it
through which each test creates (and afterwards drops) its own database; start a
throwaway server with ``eval "$(.ci/postgres start /tmp/plantar-pg)"``. Without
the URL the PostgreSQL tests skip, unless ``PLANTAR_REQUIRE_POSTGRES=1`` (as in
CI), where they fail.
"""

import os
import uuid

import pytest
import sqlalchemy as sa

import plantar
from plantar.clinic import Clinic

BACKENDS = ("sqlite", "postgresql")


def postgres_admin_url():
    """The admin URL of the test server, or skip (fail when PostgreSQL is required)."""
    url = os.environ.get("PLANTAR_TEST_POSTGRES_URL")
    if not url:
        if os.environ.get("PLANTAR_REQUIRE_POSTGRES") == "1":
            pytest.fail("PLANTAR_REQUIRE_POSTGRES=1 but PLANTAR_TEST_POSTGRES_URL is not set")
        pytest.skip("no PostgreSQL server (set PLANTAR_TEST_POSTGRES_URL; see .ci/postgres)")
    return url


class PostgresDatabases:
    """Creates fresh databases on the test server and drops them afterwards."""

    def __init__(self, admin_url):
        from plantar.clinic._db import normalise_url

        self.admin = sa.engine.make_url(normalise_url(admin_url))
        self.engine = sa.create_engine(self.admin, isolation_level="AUTOCOMMIT")
        self.names = []

    def new(self):
        name = f"clinic_test_{uuid.uuid4().hex[:12]}"
        with self.engine.connect() as connection:
            connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
        self.names.append(name)
        return self.admin.set(database=name).render_as_string(hide_password=False)

    def drop_all(self):
        with self.engine.connect() as connection:
            for name in self.names:
                connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        self.engine.dispose()


@pytest.fixture(params=BACKENDS)
def backend(request):
    return request.param


@pytest.fixture
def new_url(backend):
    """``new_url()``: a fresh empty database's URL for the backend (None = SQLite in the folder)."""
    if backend == "sqlite":
        yield lambda: None
        return
    databases = PostgresDatabases(postgres_admin_url())
    try:
        yield databases.new
    finally:
        databases.drop_all()


@pytest.fixture
def clinic(tmp_path, new_url):
    with Clinic.init(tmp_path / "clinic", url=new_url()) as opened:
        yield opened


@pytest.fixture(scope="session")
def walk():
    """A short synthetic walk (one pass) and its truth."""
    return plantar.synth.walk(seed=3, passes=1)
