"""Every scenario has an owner and a team (sign-in for shared use).

Revision ID: 0003
Revises: 0002
Create Date: 2025-06-21

Scenarios saved before belong to local mode's one user, ``local``, in the team
``local``: a shared deployment shows them only to people its configuration
puts in that team.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add ``owner`` and ``team`` (indexed: every query filters on it)."""
    op.add_column("scenarios", sa.Column("owner", sa.String(320), nullable=False,
                                         server_default="local"))
    op.add_column("scenarios", sa.Column("team", sa.String(320), nullable=False,
                                         server_default="local"))
    op.create_index("ix_scenarios_team", "scenarios", ["team"])


def downgrade() -> None:
    """Drop ``owner`` and ``team``."""
    op.drop_index("ix_scenarios_team", "scenarios")
    with op.batch_alter_table("scenarios") as batch:
        batch.drop_column("team")
        batch.drop_column("owner")
