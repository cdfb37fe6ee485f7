"""fse: participation forfaitaire and franchises stored apart (fse.participation,
fse.franchise), and an index on the patient for the history of charges

Revision ID: 0005
Revises: 0003
Create Date: 2026-11-29 23:30:00

FSE stored before this revision get both columns from their stored lines (each computed line
carries its participation and franchise); rows whose lines say nothing keep NULL (counted as
nothing by the caps).
"""
import json
from decimal import Decimal

import sqlalchemy as sa
from alembic import op

revision = '0005'
down_revision = '0003'
branch_labels = None
depends_on = None

_BATCH = 1000


def upgrade() -> None:
    with op.batch_alter_table('fse', schema=None) as batch_op:
        batch_op.add_column(sa.Column('participation', sa.Numeric(precision=12, scale=2), nullable=True))
        batch_op.add_column(sa.Column('franchise', sa.Numeric(precision=12, scale=2), nullable=True))
        batch_op.create_index('ix_fse_patient_care', ['patient_nir', 'patient_rank', 'first_care_date'],
                              unique=False)
    _backfill()


def _split(lines_json: str | None) -> tuple[Decimal, Decimal] | None:
    try:
        lines = json.loads(lines_json or "[]")
    except ValueError:
        return None
    participation = franchise = Decimal("0.00")
    seen = False
    for line in lines:
        computed = line.get("computed") if isinstance(line, dict) else None
        if not isinstance(computed, dict) or "participation" not in computed:
            continue
        seen = True
        participation += Decimal(str(computed.get("participation") or "0"))
        franchise += Decimal(str(computed.get("franchise") or "0"))
    return (participation, franchise) if seen else None


def _backfill() -> None:
    fse = sa.table('fse', sa.column('id', sa.Integer()), sa.column('lines_json', sa.Text()),
                   sa.column('patient_charges', sa.Numeric(12, 2)),
                   sa.column('participation', sa.Numeric(12, 2)), sa.column('franchise', sa.Numeric(12, 2)))
    conn = op.get_bind()
    last_id = 0
    while True:
        rows = conn.execute(
            sa.select(fse.c.id, fse.c.lines_json)
            .where(fse.c.patient_charges.is_not(None), fse.c.id > last_id)
            .order_by(fse.c.id).limit(_BATCH)
        ).all()
        if not rows:
            return
        last_id = rows[-1][0]
        updates = []
        for fse_id, lines_json in rows:
            split = _split(lines_json)
            if split is not None:
                updates.append({"fse_id": fse_id, "p": split[0], "f": split[1]})
        if updates:
            conn.execute(
                sa.update(fse).where(fse.c.id == sa.bindparam("fse_id"))
                .values(participation=sa.bindparam("p"), franchise=sa.bindparam("f")),
                updates,
            )


def downgrade() -> None:
    with op.batch_alter_table('fse', schema=None) as batch_op:
        batch_op.drop_index('ix_fse_patient_care')
        batch_op.drop_column('franchise')
        batch_op.drop_column('participation')
