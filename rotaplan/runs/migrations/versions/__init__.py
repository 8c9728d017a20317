"""Alembic revisions of the store's schema, oldest first by their ``down_revision``."""
