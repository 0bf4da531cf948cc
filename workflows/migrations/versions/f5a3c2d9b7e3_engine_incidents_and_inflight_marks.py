"""engine incidents and in-flight marks

Revision ID: f5a3c2d9b7e3
Revises: d3c1e0a7b5f1
Create Date: 2026-12-07 23:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import engine.storage.db

revision = 'f5a3c2d9b7e3'
down_revision = 'd3c1e0a7b5f1'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('engine_incidents',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('instance_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('element_id', sa.String(length=200), nullable=True),
    sa.Column('message', sa.Text(), nullable=False),
    sa.Column('at', engine.storage.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('resolved_at', engine.storage.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('resolved_by', sa.String(length=200), nullable=True),
    sa.ForeignKeyConstraint(['instance_id'], ['process_instances.id'],
                            name=op.f('fk_engine_incidents_instance_id_process_instances'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_engine_incidents'))
    )
    with op.batch_alter_table('engine_incidents', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_engine_incidents_at'), ['at'], unique=False)
        batch_op.create_index(batch_op.f('ix_engine_incidents_instance_id'), ['instance_id'], unique=False)

    op.create_table('engine_inflight',
    sa.Column('instance_id', sa.Integer(), nullable=False),
    sa.Column('owner', sa.String(length=200), nullable=True),
    sa.Column('started_at', engine.storage.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('failures', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['instance_id'], ['process_instances.id'],
                            name=op.f('fk_engine_inflight_instance_id_process_instances'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('instance_id', name=op.f('pk_engine_inflight'))
    )


def downgrade() -> None:
    op.drop_table('engine_inflight')
    with op.batch_alter_table('engine_incidents', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_engine_incidents_instance_id'))
        batch_op.drop_index(batch_op.f('ix_engine_incidents_at'))
    op.drop_table('engine_incidents')
