"""The gateway's clock: the one place where "now" and "today" are read.

Dates of care, acknowledgements and default ``at=`` dates are days in Paris, whatever the
server's time zone; instants are stored in UTC. Callers read the clock through the module
(``clock.paris_today()``, ``clock.utcnow()``), so that one override moves every package:
a test writes ``monkeypatch.setattr("amelipro.clock.paris_today", lambda: day)``. Pages and
API count up to :func:`today`, which the app setting ``THIRDPARTY_TODAY`` (ISO date) pins
for demos and tests.
"""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from flask import current_app, has_app_context

from amelipro import db
from amelipro.errors import INVALID_DATE, AmeliproError

PARIS = ZoneInfo("Europe/Paris")
PINNED_DAY_SETTING = "THIRDPARTY_TODAY"


def utcnow() -> datetime:
    """Now, in UTC (what the database stores): ``amelipro.db.utcnow``, the models' column
    default, read at each call, so that pinning either one pins both."""
    return db.utcnow()


def paris_today() -> date:
    return datetime.now(PARIS).date()


def today() -> date:
    """The day pages and API count up to: the app's pinned day when set, else today in Paris."""
    pinned = current_app.config.get(PINNED_DAY_SETTING) if has_app_context() else None
    return date.fromisoformat(pinned) if pinned else paris_today()


def paris_date(moment: datetime) -> date:
    return moment.astimezone(PARIS).date()


def date_or_today(raw: str | None) -> date:
    """``AAAA-MM-JJ`` (a date picker's value, an ``at=`` parameter); today in Paris when empty."""
    if not raw or not raw.strip():
        return paris_today()
    try:
        return date.fromisoformat(raw.strip())
    except ValueError as exc:
        raise AmeliproError(INVALID_DATE, f"« {raw} »") from exc
