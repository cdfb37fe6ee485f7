"""fse online billing: care-sheet drafts (fse_draft) and online-signing credentials

Revision ID: 0007
Revises: 0005
Create Date: 2026-11-30 09:45:00
"""
import sqlalchemy as sa
from alembic import op

import amelipro.db

revision = '0007'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('fse_draft',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('professional_id', sa.Integer(), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('status', sa.Enum('brouillon', 'envoye', name='draftstatus', native_enum=False, length=16), nullable=False),
    sa.Column('data_json', sa.Text(), nullable=False),
    sa.Column('invoice_number', sa.String(length=32), nullable=False),
    sa.Column('corrects_fse_id', sa.Integer(), nullable=True),
    sa.Column('fse_id', sa.Integer(), nullable=True),
    sa.Column('lot_id', sa.Integer(), nullable=True),
    sa.Column('created_at', amelipro.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', amelipro.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('sent_at', amelipro.db.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['corrects_fse_id'], ['fse.id'], name=op.f('fk_fse_draft_corrects_fse_id_fse')),
    sa.ForeignKeyConstraint(['fse_id'], ['fse.id'], name=op.f('fk_fse_draft_fse_id_fse')),
    sa.ForeignKeyConstraint(['lot_id'], ['fse_lot.id'], name=op.f('fk_fse_draft_lot_id_fse_lot')),
    sa.ForeignKeyConstraint(['professional_id'], ['professional.id'], name=op.f('fk_fse_draft_professional_id_professional')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_fse_draft')),
    sa.UniqueConstraint('professional_id', 'number', name=op.f('uq_fse_draft_professional_id_number'))
    )
    with op.batch_alter_table('fse_draft', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_fse_draft_professional_id'), ['professional_id'], unique=False)

    op.create_table('online_signing_credential',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('professional_id', sa.Integer(), nullable=False),
    sa.Column('certificate_pem', sa.Text(), nullable=False),
    sa.Column('key_encrypted_pem', sa.Text(), nullable=False),
    sa.Column('serial', sa.String(length=64), nullable=False),
    sa.Column('not_after', amelipro.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('created_at', amelipro.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['professional_id'], ['professional.id'], name=op.f('fk_online_signing_credential_professional_id_professional')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_online_signing_credential')),
    sa.UniqueConstraint('professional_id', name=op.f('uq_online_signing_credential_professional_id'))
    )


def downgrade() -> None:
    op.drop_table('online_signing_credential')
    with op.batch_alter_table('fse_draft', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_fse_draft_professional_id'))
    op.drop_table('fse_draft')
