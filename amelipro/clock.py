"""The gateway's clock: the one place where "now" and "today" are read.

Dates of care, acknowledgements and default ``at=`` dates are days in Paris, whatever the
server's time zone; instants are stored in UTC. Callers read the clock through the module
(``clock.paris_today()``, ``clock.utcnow()``; ``amelipro.db.utcnow``, the models' column
default, is :func:`utcnow` itself). The one override is :func:`frozen`: inside
``with clock.frozen(moment):`` every package's "now" is ``moment`` and its "today" the day in
Paris at that moment (tests, demos). Pages and API count up to :func:`today`, which the app
setting ``THIRDPARTY_TODAY`` (ISO date) pins for demos and tests.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from flask import current_app, has_app_context

from amelipro.errors import INVALID_DATE, AmeliproError

PARIS = ZoneInfo("Europe/Paris")
PINNED_DAY_SETTING = "THIRDPARTY_TODAY"


_frozen_at: datetime | None = None  # set only inside frozen()


def utcnow() -> datetime:
    """Now, in UTC (what the database stores; the models' column default)."""
    return _frozen_at if _frozen_at is not None else datetime.now(UTC)


def paris_today() -> date:
    return utcnow().astimezone(PARIS).date()


@contextmanager
def frozen(moment: datetime) -> Iterator[None]:
    """Every reader of the clock, in every package, sees ``moment`` inside the block."""
    global _frozen_at
    if moment.tzinfo is None:
        raise ValueError("frozen() needs an aware datetime")
    previous, _frozen_at = _frozen_at, moment.astimezone(UTC)
    try:
        yield
    finally:
        _frozen_at = previous


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
