"""sweep index on (status, next_due) instead of status alone

An idle timer sweep read every waiting instance through the status index and sorted them; with
(status, next_due) it reads one empty index range per sweepable status.

Revision ID: 0a6b4d3e8c14
Revises: f5a3c2d9b7e3
Create Date: 2026-12-07 23:15:00
"""

from __future__ import annotations

from alembic import op

revision = '0a6b4d3e8c14'
down_revision = 'f5a3c2d9b7e3'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("process_instances") as batch_op:
        batch_op.create_index("ix_process_instances_status_next_due", ["status", "next_due"], unique=False)
        batch_op.drop_index("ix_process_instances_status")


def downgrade() -> None:
    with op.batch_alter_table("process_instances") as batch_op:
        batch_op.create_index("ix_process_instances_status", ["status"], unique=False)
        batch_op.drop_index("ix_process_instances_status_next_due")
