"""query codes of cases and public categories

Revision ID: d3c1e0a7b5f1
Revises: e4b2f1c8a6d2
Create Date: 2026-12-07 23:20:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = 'd3c1e0a7b5f1'
down_revision = 'e4b2f1c8a6d2'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.add_column(sa.Column('query_code_hash', sa.String(length=128), nullable=True))
    with op.batch_alter_table('categories', schema=None) as batch_op:
        batch_op.add_column(sa.Column('public', sa.Boolean(), server_default=sa.false(), nullable=False))


def downgrade() -> None:
    with op.batch_alter_table('categories', schema=None) as batch_op:
        batch_op.drop_column('public')
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.drop_column('query_code_hash')
