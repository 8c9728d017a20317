"""Alembic environment for the store.

:func:`rotaplan.runs.store._migrate` runs the migrations on its own connection
(passed in ``config.attributes["connection"]``) inside its transaction. A
developer writing a new revision runs Alembic from the repository instead::

    .venv/bin/alembic -c rotaplan/runs/migrations/alembic.ini revision \
        --autogenerate -m "what changes"

which compares the models with a database at ``ROTAPLAN_DB_URL`` (or the default
file) that is at the newest revision.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection, create_engine

from rotaplan.runs.store import default_url, metadata


def _run(connection: Connection) -> None:
    """Configure Alembic on ``connection`` and run the pending revisions."""
    context.configure(connection=connection, target_metadata=metadata,
                      render_as_batch=True, compare_type=True)
    with context.begin_transaction():
        context.run_migrations()


def main() -> None:
    """Run the migrations on the store's connection, or on a new one (Alembic's CLI)."""
    connection = context.config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    url = context.config.get_main_option("sqlalchemy.url") or default_url()
    with create_engine(url).connect() as own:
        _run(own)


main()
