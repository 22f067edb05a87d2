"""Alembic environment of the clinic store, run programmatically by :mod:`plantar.clinic`.

The connection comes from the caller (``config.attributes["connection"]``); no
alembic.ini and no URL in a file are needed. To write a new revision after
changing ``plantar/clinic/_models.py``, from the repository root::

    python -c "from plantar.clinic._db import revision; revision('what it changes')"
"""

from alembic import context

from plantar.clinic._models import Base

target_metadata = Base.metadata


def run_migrations_online():
    connection = context.config.attributes["connection"]
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",  # SQLite alters tables by copying them
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


# Alembic sets up ``context`` before it runs this file; imported any other way (a
# doctest collector walking the package), the file does nothing.
if hasattr(context, "config"):
    if context.is_offline_mode():
        raise RuntimeError("the clinic store runs its migrations online, on a connection")
    run_migrations_online()
