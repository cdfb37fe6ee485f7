"""Fixtures of the thirdparty capability (pytest plugin)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from amelipro.thirdparty.demo import DemoFse, demo_lookup, insert_accepted, nir_with_key
from amelipro.thirdparty.tracking import track_recorded

TP_CARE_DATE = date(2026, 5, 11)  # Monday; day 0 below is the same day
TP_ACK_AT = datetime(2026, 5, 11, 16, 0, tzinfo=UTC)  # 18:00 in Paris, still 11 May



def professionals_by_login(tp_session) -> dict:
    """The stored professionals by login (the demo ones: ``medecin.demo``, ``pharmacien.demo``…)."""
    from sqlalchemy import select

    from amelipro.auth.models import Professional

    with tp_session() as session:
        return {p.login: p for p in session.scalars(select(Professional))}

@pytest.fixture
def tp_lookup():
    """Reference lookup knowing the demo NGAP keys (values from the FSE dated config)."""
    return demo_lookup()


@pytest.fixture
def make_accepted_fse(app):
    """Factory: ``make_accepted_fse(pro, **DemoFse fields)`` -> stored accepted FSE id."""
    counter = iter(range(1, 10**6))

    def make(pro, **fields) -> int:
        n = next(counter)
        fields.setdefault("invoice_number", f"T{pro.id}-{n:05d}")
        fields.setdefault("care_date", TP_CARE_DATE)
        fields.setdefault("received_at", TP_ACK_AT)
        fields.setdefault("nir", nir_with_key(f"1800175{pro.id % 1000:03d}{n:03d}"))
        item = DemoFse(professional_id=pro.id, **fields)
        with app.app_context():
            session = app.extensions["amelipro.sessionmaker"]()
            (fse_id,) = insert_accepted(session, [item])
            track_recorded(session, [fse_id], "test")  # as the recording of a lot does
            session.commit()
            session.close()
        return fse_id

    return make


@pytest.fixture
def tp_session(app):
    """A session factory bound to the test app (services take a Session)."""
    return app.extensions["amelipro.sessionmaker"]


AMO_G = Decimal("21.00")
