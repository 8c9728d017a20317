"""Safe concurrent writes and compact plans.

Revision ID: 0002
Revises: 0001
Create Date: 2025-06-20

- ``scenarios.last_number``: the version-number counter, bumped under the
  scenario row's lock (filled from each scenario's highest version number);
- ``scenario_versions.revision``: a draft's revision, for optimistic concurrency;
- ``run_plans``: each run's plan CSVs, zlib-compressed, in their own table (moved
  out of ``runs``, so listing runs never reads them).
"""

from __future__ import annotations

import zlib

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

BATCH = 20  # runs moved per round trip: about 80 MB of CSV at 2,000 learners a plan

_runs = sa.table("runs", sa.column("id", sa.Integer()),
                 sa.column("assignments_csv", sa.Text()), sa.column("timetable_csv", sa.Text()))
_plans = sa.table("run_plans", sa.column("run_id", sa.Integer()),
                  sa.column("assignments", sa.LargeBinary()),
                  sa.column("timetable", sa.LargeBinary()), sa.column("csv_bytes", sa.Integer()))


def upgrade() -> None:
    """Add the counter and revision columns and move the plans into ``run_plans``."""
    op.add_column("scenarios", sa.Column("last_number", sa.Integer(), nullable=False,
                                         server_default="0"))
    op.execute("UPDATE scenarios SET last_number = COALESCE((SELECT max(v.number) FROM "
               "scenario_versions v WHERE v.scenario_id = scenarios.id), 0)")
    op.add_column("scenario_versions", sa.Column("revision", sa.Integer(), nullable=False,
                                                 server_default="1"))
    op.create_table(
        "run_plans",
        sa.Column("run_id", sa.Integer(), sa.ForeignKey("runs.id", ondelete="CASCADE"),
                  primary_key=True),
        sa.Column("assignments", sa.LargeBinary(), nullable=False),
        sa.Column("timetable", sa.LargeBinary(), nullable=False),
        sa.Column("csv_bytes", sa.Integer(), nullable=False),
    )
    bind = op.get_bind()
    last = 0
    while True:
        rows = bind.execute(
            sa.select(_runs.c.id, _runs.c.assignments_csv, _runs.c.timetable_csv)
            .where(_runs.c.id > last, _runs.c.assignments_csv.is_not(None),
                   _runs.c.timetable_csv.is_not(None))
            .order_by(_runs.c.id).limit(BATCH)).all()
        if not rows:
            break
        bind.execute(sa.insert(_plans), [
            {"run_id": rid, "assignments": zlib.compress(a.encode("utf-8"), 1),
             "timetable": zlib.compress(t.encode("utf-8"), 1), "csv_bytes": len(a) + len(t)}
            for rid, a, t in rows])
        last = rows[-1][0]
    with op.batch_alter_table("runs") as batch:
        batch.drop_column("assignments_csv")
        batch.drop_column("timetable_csv")


def downgrade() -> None:
    """Put the plans back into ``runs`` as text and drop the new columns."""
    with op.batch_alter_table("runs") as batch:
        batch.add_column(sa.Column("assignments_csv", sa.Text()))
        batch.add_column(sa.Column("timetable_csv", sa.Text()))
    bind = op.get_bind()
    for rid, a, t in bind.execute(sa.select(_plans.c.run_id, _plans.c.assignments,
                                            _plans.c.timetable)).all():
        bind.execute(sa.update(_runs).where(_runs.c.id == rid).values(
            assignments_csv=zlib.decompress(a).decode("utf-8"),
            timetable_csv=zlib.decompress(t).decode("utf-8")))
    op.drop_table("run_plans")
    with op.batch_alter_table("scenario_versions") as batch:
        batch.drop_column("revision")
    with op.batch_alter_table("scenarios") as batch:
        batch.drop_column("last_number")
