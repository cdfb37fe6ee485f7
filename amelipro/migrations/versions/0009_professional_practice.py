"""professional_practice: a doctor's sector (1, 2, 2 with OPTAM) and specialty, with dates

Revision ID: 0009
Revises: 0001
Create Date: 2026-11-30 09:30:00

Replaces the single global sector setting: the CCAM tariff grid is chosen from the sector in
force on the date of care. Professionals without a period are priced on the sector 1 / OPTAM
grid, as before.
"""
import sqlalchemy as sa
from alembic import op

import amelipro.db

revision = '0009'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('professional_practice',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('professional_id', sa.Integer(), nullable=False),
    sa.Column('valid_from', sa.Date(), nullable=False),
    sa.Column('valid_to', sa.Date(), nullable=True),
    sa.Column('sector', sa.String(length=10), nullable=True),
    sa.Column('specialty', sa.String(length=100), nullable=False),
    sa.Column('set_by', sa.String(length=64), nullable=False),
    sa.Column('created_at', amelipro.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['professional_id'], ['professional.id'],
                            name=op.f('fk_professional_practice_professional_id_professional')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_professional_practice')),
    sa.UniqueConstraint('professional_id', 'valid_from',
                        name=op.f('uq_professional_practice_professional_id_valid_from'))
    )
    with op.batch_alter_table('professional_practice', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_professional_practice_professional_id'), ['professional_id'],
                              unique=False)


def downgrade() -> None:
    with op.batch_alter_table('professional_practice', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_professional_practice_professional_id'))
    op.drop_table('professional_practice')
