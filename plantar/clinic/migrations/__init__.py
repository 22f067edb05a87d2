"""Alembic migrations of the clinic store (run by plantar.clinic, no alembic.ini needed)."""
