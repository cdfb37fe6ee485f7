"""Dates typed by users and ``at=`` parameters; the gateway's day is the day in Paris."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from flask import Flask

from amelipro import clock
from amelipro.beneficiaries.models import Beneficiary
from amelipro.clock import date_or_today, paris_date, paris_today
from amelipro.errors import AmeliproError
from amelipro.thirdparty.models import Payment


def test_paris_day_differs_from_utc_around_midnight():
    assert paris_date(datetime(2026, 11, 29, 23, 30, tzinfo=UTC)) == date(2026, 11, 30)  # UTC+1 in winter
    assert paris_date(datetime(2026, 7, 14, 21, 59, tzinfo=UTC)) == date(2026, 7, 14)  # UTC+2 in summer
    assert paris_date(datetime(2026, 7, 14, 22, 0, tzinfo=UTC)) == date(2026, 7, 15)


def test_date_or_today():
    assert date_or_today(" 2024-02-29 ") == date(2024, 2, 29)
    assert date_or_today("") == date_or_today(None) == paris_today()
    for bad in ("2023-02-29", "29/02/2024", "demain"):
        with pytest.raises(AmeliproError) as err:
            date_or_today(bad)
        assert err.value.error.code == "GEN-DATE"


def test_the_app_setting_pins_the_pages_day_and_nothing_else():
    app = Flask("pinned")
    app.config["THIRDPARTY_TODAY"] = "2026-05-29"
    with app.app_context():
        assert clock.today() == date(2026, 5, 29)
        assert clock.paris_today() == datetime.now(clock.PARIS).date()  # the liquidation's default
    assert clock.today() == clock.paris_today()  # outside an app: today in Paris
    with Flask("free").app_context():
        assert clock.today() == clock.paris_today()


def test_one_override_moves_every_reader_of_the_clock():
    from amelipro.account.models import AccountLink
    from amelipro.audit import AuditEvent
    from amelipro.fse.models import Lot

    moment = datetime(2030, 1, 1, 23, 30, tzinfo=UTC)  # already 2 January in Paris
    with clock.frozen(moment):
        assert clock.utcnow() == moment
        assert paris_today() == clock.today() == date_or_today("") == date(2030, 1, 2)
        for column in (Payment.__table__.c.created_at, Beneficiary.__table__.c.updated_at,
                       Lot.__table__.c.received_at, AuditEvent.__table__.c.at,
                       AccountLink.__table__.c.created_at):
            assert column.default.arg(None) == moment, column
    assert clock.utcnow() != moment  # the real clock again
    assert abs(clock.utcnow() - datetime.now(UTC)).total_seconds() < 60


def test_frozen_needs_an_aware_moment_and_nests():
    with pytest.raises(ValueError):
        with clock.frozen(datetime(2030, 1, 1)):
            pass
    outer, inner = datetime(2030, 1, 1, tzinfo=UTC), datetime(2031, 1, 1, tzinfo=UTC)
    with clock.frozen(outer):
        with clock.frozen(inner):
            assert clock.utcnow() == inner
        assert clock.utcnow() == outer
