"""Revisions of the clinic schema, oldest first."""
