"""The gateway's calendar day: dates of care, acknowledgements and default ``at=`` dates are
days in Paris, whatever the server's time zone."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from amelipro.errors import INVALID_DATE, AmeliproError

PARIS = ZoneInfo("Europe/Paris")


def paris_today() -> date:
    return datetime.now(PARIS).date()


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
