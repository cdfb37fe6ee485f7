"""operations: background jobs started by operators from their pages (operator_job)

Revision ID: 0012
Revises: 0001
Create Date: 2026-11-30 10:00:00

A new table only; ``active_kind`` is unique (NULL once the job is finished), so that two runs
of the same operation cannot overlap.
"""
import sqlalchemy as sa
from alembic import op

import amelipro.db

revision = '0012'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('operator_job',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('active_kind', sa.String(length=20), nullable=True),
    sa.Column('requested_by', sa.String(length=64), nullable=False),
    sa.Column('created_at', amelipro.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('started_at', amelipro.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('updated_at', amelipro.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('finished_at', amelipro.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('progress_done', sa.Integer(), nullable=False),
    sa.Column('progress_total', sa.Integer(), nullable=True),
    sa.Column('step', sa.String(length=200), nullable=False),
    sa.Column('result', sa.Text(), nullable=False),
    sa.Column('error', sa.String(length=400), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_operator_job')),
    sa.UniqueConstraint('active_kind', name=op.f('uq_operator_job_active_kind'))
    )


def downgrade() -> None:
    op.drop_table('operator_job')
