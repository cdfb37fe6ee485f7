"""writes.insert_numbered (SQLite): rows numbered as SQLite would number them, one executemany;
a row skipped by a conflict leaves its id unused and the ids really used are read back."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from amelipro.thirdparty.demo import generate, insert_accepted
from amelipro.thirdparty.models import Payment
from amelipro.thirdparty.writes import insert_numbered
from tests.conftest import TEST_DB

pytestmark = pytest.mark.skipif(TEST_DB != "sqlite", reason="SQLite only (PostgreSQL: COPY)")


def _row(fse_id: int, pro_id: int) -> dict:
    return {"fse_id": fse_id, "professional_id": pro_id, "status": "acceptee", "invoice_number": "",
            "patient_nir": "", "care_date": None, "acknowledged_on": date(2026, 5, 4),
            "due_date": date(2026, 5, 13)}


def test_insert_numbered_gives_the_next_ids_and_skips_conflicts(db_session, make_professional):
    pro = make_professional()
    fse = insert_accepted(db_session, generate([pro.id], 5, first_day=date(2026, 5, 4), days=2))
    table = Payment.__table__
    first = insert_numbered(db_session, table, [_row(fse[0], pro.id), _row(fse[1], pro.id)], "fse_id")
    start = first[0][0]
    assert first == [(start, fse[0]), (start + 1, fse[1])]
    # fse[1] has its payment already: skipped, its id left unused, the others read back
    again = insert_numbered(db_session, table, [_row(f, pro.id) for f in fse[1:4]], "fse_id")
    assert again == [(start + 3, fse[2]), (start + 4, fse[3])]
    stored = db_session.execute(select(Payment.id, Payment.fse_id).order_by(Payment.id)).all()
    assert [tuple(r) for r in stored] == [*first, *again]
    assert insert_numbered(db_session, table, [], "fse_id") == []
