"""Jinja filters for French display (amounts, dates)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from flask import Flask

from amelipro.clock import PARIS

THIN_SPACE = "\u202f"
NBSP = "\u00a0"


def euros(value: Decimal | int | None) -> str:
    """1234.5 -> '1 234,50 €' (narrow no-break space for thousands)."""
    if value is None:
        return "—"
    q = Decimal(value).quantize(Decimal("0.01"))
    sign = "-" if q < 0 else ""
    whole, cents = f"{abs(q):.2f}".split(".")
    groups = []
    while whole:
        groups.insert(0, whole[-3:])
        whole = whole[:-3]
    return f"{sign}{THIN_SPACE.join(groups)},{cents}{NBSP}€"


def date_fr(value: date | datetime | None) -> str:
    if value is None:
        return "—"
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            value = value.astimezone(PARIS)
        return value.strftime("%d/%m/%Y %H:%M")
    return value.strftime("%d/%m/%Y")


def init_app(app: Flask) -> None:
    app.jinja_env.filters["euros"] = euros
    app.jinja_env.filters["date_fr"] = date_fr

    @app.context_processor
    def _nav():
        def has_endpoint(name: str) -> bool:
            return name in app.view_functions

        return {"has_endpoint": has_endpoint}
