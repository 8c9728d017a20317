"""Alembic migrations of the store's schema (applied by :class:`rotaplan.runs.store.Store`)."""
