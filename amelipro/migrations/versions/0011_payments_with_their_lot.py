"""tp_payment: every accepted tiers-payant FSE has its payment row

Revision ID: 0011
Revises: 0004
Create Date: 2026-11-30 10:00:00

Payments are now created when a lot is recorded, in the lot's transaction, instead of by the
Paiements pages on display (a GET must never write). FSE recorded before this revision and
not yet shown on those pages have no payment: they get it here, exactly as the recording
path would have made it (status "acceptée", due date from the acknowledgement). No schema
change; downgrading leaves the rows (they are valid under the previous revision too).
"""

from alembic import op
from sqlalchemy.orm import Session

revision = '0011'
down_revision = '0004'
branch_labels = None
depends_on = None

_BATCH = 5000


def upgrade() -> None:
    from amelipro.thirdparty.tracking import backfill_rows, track_rows

    session = Session(bind=op.get_bind(), join_transaction_mode="create_savepoint")
    rows = session.execute(backfill_rows()).all()
    for start in range(0, len(rows), _BATCH):
        track_rows(session, rows[start:start + _BATCH], "migration 0011")
    session.commit()  # releases the savepoint; the migration's transaction commits the rows
    session.close()


def downgrade() -> None:
    pass
