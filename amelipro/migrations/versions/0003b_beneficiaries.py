"""beneficiaries: the caisse's file of insured persons (rights, covers, EHPAD stays)

Revision ID: 0003b
Revises: 0001
Create Date: 2026-11-23 19:20:00
"""
import sqlalchemy as sa
from alembic import op

import amelipro.db

revision = '0003b'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('beneficiary',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('nir', sa.String(length=15), nullable=False),
    sa.Column('rank', sa.Integer(), nullable=False),
    sa.Column('birth_date', sa.Date(), nullable=False),
    sa.Column('last_name', sa.String(length=100), nullable=False),
    sa.Column('first_name', sa.String(length=100), nullable=False),
    sa.Column('regime', sa.String(length=2), nullable=False),
    sa.Column('caisse', sa.String(length=3), nullable=False),
    sa.Column('centre', sa.String(length=4), nullable=False),
    sa.Column('alsace_moselle', sa.Boolean(), nullable=False),
    sa.Column('updated_at', amelipro.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_beneficiary')),
    sa.UniqueConstraint('nir', 'rank', name=op.f('uq_beneficiary_nir_rank'))
    )
    op.create_table('beneficiary_rights',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('beneficiary_id', sa.Integer(), nullable=False),
    sa.Column('start_date', sa.Date(), nullable=False),
    sa.Column('end_date', sa.Date(), nullable=True),
    sa.ForeignKeyConstraint(['beneficiary_id'], ['beneficiary.id'], name=op.f('fk_beneficiary_rights_beneficiary_id_beneficiary'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_beneficiary_rights'))
    )
    with op.batch_alter_table('beneficiary_rights', schema=None) as batch_op:
        batch_op.create_index('ix_beneficiary_rights_beneficiary_start', ['beneficiary_id', 'start_date'], unique=False)

    op.create_table('beneficiary_cover',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('beneficiary_id', sa.Integer(), nullable=False),
    sa.Column('cover', sa.Enum('ald', 'maternite', 'atmp', 'c2s', 'ame', name='cover', native_enum=False, length=16), nullable=False),
    sa.Column('start_date', sa.Date(), nullable=False),
    sa.Column('end_date', sa.Date(), nullable=True),
    sa.Column('detail', sa.String(length=200), nullable=False),
    sa.ForeignKeyConstraint(['beneficiary_id'], ['beneficiary.id'], name=op.f('fk_beneficiary_cover_beneficiary_id_beneficiary'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_beneficiary_cover'))
    )
    with op.batch_alter_table('beneficiary_cover', schema=None) as batch_op:
        batch_op.create_index('ix_beneficiary_cover_beneficiary_start', ['beneficiary_id', 'start_date'], unique=False)

    op.create_table('beneficiary_ehpad_stay',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('beneficiary_id', sa.Integer(), nullable=False),
    sa.Column('start_date', sa.Date(), nullable=False),
    sa.Column('end_date', sa.Date(), nullable=True),
    sa.Column('finess', sa.String(length=9), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.ForeignKeyConstraint(['beneficiary_id'], ['beneficiary.id'], name=op.f('fk_beneficiary_ehpad_stay_beneficiary_id_beneficiary'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_beneficiary_ehpad_stay'))
    )
    with op.batch_alter_table('beneficiary_ehpad_stay', schema=None) as batch_op:
        batch_op.create_index('ix_beneficiary_ehpad_stay_beneficiary_start', ['beneficiary_id', 'start_date'], unique=False)


def downgrade() -> None:
    for table in ('beneficiary_ehpad_stay', 'beneficiary_cover', 'beneficiary_rights'):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_index(f'ix_{table}_beneficiary_start')
        op.drop_table(table)
    op.drop_table('beneficiary')
