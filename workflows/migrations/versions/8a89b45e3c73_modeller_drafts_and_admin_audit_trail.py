"""modeller drafts and admin audit trail

Revision ID: 8a89b45e3c73
Revises: a4f462041d98
Create Date: 2026-11-21 22:19:43.025483
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import engine.storage.db

revision = '8a89b45e3c73'
down_revision = 'a4f462041d98'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('admin_audit',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('at', engine.storage.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('actor', sa.String(length=64), nullable=True),
    sa.Column('action', sa.String(length=64), nullable=False),
    sa.Column('target', sa.String(length=200), nullable=True),
    sa.Column('details', sa.JSON(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_admin_audit'))
    )
    with op.batch_alter_table('admin_audit', schema=None) as batch_op:
        batch_op.create_index('ix_admin_audit_at', ['at'], unique=False)

    op.create_table('modeller_drafts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('process_id', sa.String(length=200), nullable=True),
    sa.Column('base_version', sa.Integer(), nullable=True),
    sa.Column('files', sa.JSON(), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('deployed_versions', sa.JSON(), nullable=False),
    sa.Column('created_by', sa.String(length=64), nullable=True),
    sa.Column('updated_by', sa.String(length=64), nullable=True),
    sa.Column('created_at', engine.storage.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', engine.storage.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_modeller_drafts'))
    )
    with op.batch_alter_table('modeller_drafts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_modeller_drafts_process_id'), ['process_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('modeller_drafts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_modeller_drafts_process_id'))

    op.drop_table('modeller_drafts')
    with op.batch_alter_table('admin_audit', schema=None) as batch_op:
        batch_op.drop_index('ix_admin_audit_at')

    op.drop_table('admin_audit')
