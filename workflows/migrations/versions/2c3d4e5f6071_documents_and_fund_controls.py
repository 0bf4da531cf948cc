"""documents (rectification notices, supervision orders) and the fund's controls

Numbered documents on a case with their state changes; fund spends get a status (proposed,
approved, refused), payee, receipt photo and who decided; the approval threshold and station
chief per workstation (or globally).

Revision ID: 2c3d4e5f6071
Revises: 0a6b4d3e8c14
Create Date: 2026-12-08 00:23:19.604376
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import engine.storage.db

revision = '2c3d4e5f6071'
down_revision = '0a6b4d3e8c14'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('fund_controls',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('org_unit_id', sa.Integer(), nullable=True),
    sa.Column('threshold_cents', sa.BigInteger(), nullable=False),
    sa.Column('chief_id', sa.Integer(), nullable=True),
    sa.CheckConstraint('threshold_cents >= 0', name=op.f('ck_fund_controls_threshold_cents')),
    sa.ForeignKeyConstraint(['chief_id'], ['users.id'], name=op.f('fk_fund_controls_chief_id_users')),
    sa.ForeignKeyConstraint(['org_unit_id'], ['org_units.id'], name=op.f('fk_fund_controls_org_unit_id_org_units')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_fund_controls')),
    sa.UniqueConstraint('org_unit_id', name='uq_fund_controls_org_unit')
    )
    op.create_table('case_documents',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('serial', sa.Integer(), nullable=False),
    sa.Column('number', sa.String(length=40), nullable=False),
    sa.Column('issuer_unit_id', sa.Integer(), nullable=False),
    sa.Column('issued_by_id', sa.Integer(), nullable=True),
    sa.Column('addressee_kind', sa.String(length=20), nullable=False),
    sa.Column('addressee_name', sa.String(length=200), nullable=False),
    sa.Column('addressee_contact', sa.String(length=200), nullable=True),
    sa.Column('addressee_unit_id', sa.Integer(), nullable=True),
    sa.Column('addressee_department_id', sa.Integer(), nullable=True),
    sa.Column('addressee_user_id', sa.Integer(), nullable=True),
    sa.Column('requirement', sa.Text(), nullable=False),
    sa.Column('deadline', engine.storage.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('state', sa.String(length=20), nullable=False),
    sa.Column('issued_at', engine.storage.db.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint("addressee_kind IN ('org_unit', 'department', 'user', 'outside')", name=op.f('ck_case_documents_addressee_kind')),
    sa.CheckConstraint("kind IN ('notice', 'supervision')", name=op.f('ck_case_documents_kind')),
    sa.CheckConstraint("state IN ('issued', 'served', 'answered', 'complied')", name=op.f('ck_case_documents_state')),
    sa.ForeignKeyConstraint(['addressee_department_id'], ['departments.id'], name=op.f('fk_case_documents_addressee_department_id_departments')),
    sa.ForeignKeyConstraint(['addressee_unit_id'], ['org_units.id'], name=op.f('fk_case_documents_addressee_unit_id_org_units')),
    sa.ForeignKeyConstraint(['addressee_user_id'], ['users.id'], name=op.f('fk_case_documents_addressee_user_id_users')),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_case_documents_case_id_cases')),
    sa.ForeignKeyConstraint(['issued_by_id'], ['users.id'], name=op.f('fk_case_documents_issued_by_id_users')),
    sa.ForeignKeyConstraint(['issuer_unit_id'], ['org_units.id'], name=op.f('fk_case_documents_issuer_unit_id_org_units')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_case_documents')),
    sa.UniqueConstraint('kind', 'year', 'serial', name='uq_case_documents_kind_year_serial')
    )
    with op.batch_alter_table('case_documents', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_case_documents_addressee_department_id'), ['addressee_department_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_case_documents_addressee_unit_id'), ['addressee_unit_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_case_documents_addressee_user_id'), ['addressee_user_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_case_documents_case_id'), ['case_id'], unique=False)

    op.create_table('document_events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('document_id', sa.Integer(), nullable=False),
    sa.Column('state', sa.String(length=20), nullable=False),
    sa.Column('at', engine.storage.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('actor_id', sa.Integer(), nullable=True),
    sa.Column('actor_name', sa.String(length=100), nullable=True),
    sa.Column('note', sa.Text(), nullable=True),
    sa.CheckConstraint("state IN ('issued', 'served', 'answered', 'complied')", name=op.f('ck_document_events_state')),
    sa.ForeignKeyConstraint(['actor_id'], ['users.id'], name=op.f('fk_document_events_actor_id_users')),
    sa.ForeignKeyConstraint(['document_id'], ['case_documents.id'], name=op.f('fk_document_events_document_id_case_documents'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_document_events'))
    )
    with op.batch_alter_table('document_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_document_events_document_id'), ['document_id'], unique=False)

    with op.batch_alter_table('fund_spends', schema=None) as batch_op:
        batch_op.add_column(sa.Column('status', sa.String(length=20), server_default='approved', nullable=False))
        batch_op.add_column(sa.Column('payee', sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column('receipt_name', sa.String(length=255), nullable=True))
        batch_op.add_column(sa.Column('receipt_type', sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column('decided_by_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('decided_at', engine.storage.db.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('decision_note', sa.Text(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_fund_spends_decided_by_id_users'), 'users', ['decided_by_id'], ['id'])
        batch_op.create_check_constraint(op.f('ck_fund_spends_status'), "status IN ('proposed', 'approved', 'refused')")



def downgrade() -> None:
    with op.batch_alter_table('fund_spends', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_fund_spends_status'), type_='check')
        batch_op.drop_constraint(batch_op.f('fk_fund_spends_decided_by_id_users'), type_='foreignkey')
        batch_op.drop_column('decision_note')
        batch_op.drop_column('decided_at')
        batch_op.drop_column('decided_by_id')
        batch_op.drop_column('receipt_type')
        batch_op.drop_column('receipt_name')
        batch_op.drop_column('payee')
        batch_op.drop_column('status')

    with op.batch_alter_table('document_events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_document_events_document_id'))

    op.drop_table('document_events')
    with op.batch_alter_table('case_documents', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_case_documents_case_id'))
        batch_op.drop_index(batch_op.f('ix_case_documents_addressee_user_id'))
        batch_op.drop_index(batch_op.f('ix_case_documents_addressee_unit_id'))
        batch_op.drop_index(batch_op.f('ix_case_documents_addressee_department_id'))

    op.drop_table('case_documents')
    op.drop_table('fund_controls')
