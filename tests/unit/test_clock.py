"""Dates typed by users and ``at=`` parameters; the gateway's day is the day in Paris."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from amelipro.clock import date_or_today, paris_date, paris_today
from amelipro.errors import AmeliproError


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
