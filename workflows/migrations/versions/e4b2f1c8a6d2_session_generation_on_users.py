"""session generation on users: signing out and new passwords end older web sessions

Revision ID: e4b2f1c8a6d2
Revises: a7c5e3b1d9f2
Create Date: 2026-12-07 23:10:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = 'e4b2f1c8a6d2'
down_revision = 'a7c5e3b1d9f2'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('session_generation', sa.Integer(), server_default='0', nullable=False))


def downgrade() -> None:
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('session_generation')
