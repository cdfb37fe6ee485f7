"""French display of values: amounts, numbers, dates, months, caisse codes, audit events.

Every function here is plain Python (no Flask at import time): services that write a
sentence for people (a payment's history, a flash message) call them too, so that a page
never shows « 54.60 € » or « 2026-11-29 ». ``init_app`` registers them as Jinja filters:

================  ==========================================  ==========================
filter            input                                       output
================  ==========================================  ==========================
``euros``         Decimal, int, "14.77"                       « 14,77 € », « 1 234,50 € »
``number``        int, Decimal, "20874"                       « 20 874 »
``date_fr``       date, datetime, "2026-11-29"                « 29/11/2026 » (« … 14:05 »)
``date_long``     date, datetime, "2026-11-29"                « 29 novembre 2026 »
``month_fr``      date, "2026-11"                             « novembre 2026 »
``caisse_code``   "0250 050"                                  « Assuré inconnu de la caisse. »
``french_text``   "Paiement de 54.60 € … 2026-05-22"          « Paiement de 54,60 € … 22/05/2026 »
================  ==========================================  ==========================

Thousands are grouped with a narrow no-break space (U+202F), the euro sign follows a
no-break space (U+00A0), as the French typographic rules want; neither can break a line.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING

from amelipro.clock import PARIS
from amelipro.thirdparty.decision import code_catalogue

if TYPE_CHECKING:
    from flask import Flask

THIN_SPACE = "\u202f"
NBSP = "\u00a0"
EMPTY = "—"

MONTHS = ("janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre",
          "octobre", "novembre", "décembre")


def _group(digits: str) -> str:
    groups = []
    while digits:
        groups.insert(0, digits[-3:])
        digits = digits[:-3]
    return THIN_SPACE.join(groups)


def _decimal(value) -> Decimal | None:
    if value is None or value == "":
        return None
    try:
        return Decimal(str(value).replace(",", ".")) if not isinstance(value, Decimal) else value
    except InvalidOperation:
        return None


def euros(value: Decimal | int | str | None) -> str:
    """1234.5 -> '1 234,50 €' (narrow no-break space for thousands). None -> '—'."""
    q = _decimal(value)
    if q is None:
        return EMPTY if value in (None, "") else str(value)
    q = q.quantize(Decimal("0.01"))
    sign = "-" if q < 0 else ""
    whole, cents = f"{abs(q):.2f}".split(".")
    return f"{sign}{_group(whole)},{cents}{NBSP}€"


def number(value: int | Decimal | str | None) -> str:
    """20874 -> '20 874'; 2.5 -> '2,5'. None -> '—'."""
    q = _decimal(value)
    if q is None:
        return EMPTY if value in (None, "") else str(value)
    sign = "-" if q < 0 else ""
    whole, _, frac = f"{abs(q):f}".partition(".")
    return f"{sign}{_group(whole)}" + (f",{frac}" if frac else "")


def _as_date(value) -> date | datetime | None:
    """A date, a datetime, or its ISO text (as JSON-shaped data carries it)."""
    if value is None or value == "":
        return None
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value) if "T" in value or " " in value else date.fromisoformat(value)
        except ValueError:
            return None
    return value


def _local(value: date | datetime) -> date | datetime:
    if isinstance(value, datetime) and value.tzinfo is not None:
        return value.astimezone(PARIS)
    return value


def date_fr(value: date | datetime | str | None) -> str:
    """'29/11/2026', with the time (Paris) for a datetime: '29/11/2026 14:05'."""
    d = _as_date(value)
    if d is None:
        return EMPTY if value in (None, "") else str(value)
    d = _local(d)
    if isinstance(d, datetime):
        return d.strftime("%d/%m/%Y %H:%M")
    return d.strftime("%d/%m/%Y")


def date_long(value: date | datetime | str | None) -> str:
    """'29 novembre 2026' ('1er' for the first day of a month)."""
    d = _as_date(value)
    if d is None:
        return EMPTY if value in (None, "") else str(value)
    d = _local(d)
    day = "1er" if d.day == 1 else str(d.day)
    return f"{day} {MONTHS[d.month - 1]} {d.year}"


def month_fr(value: date | str | None) -> str:
    """'novembre 2026' (a date of the month, or '2026-11')."""
    if isinstance(value, str) and len(value) == 7:
        value = f"{value}-01"
    d = _as_date(value)
    if d is None:
        return EMPTY if value in (None, "") else str(value)
    return f"{MONTHS[d.month - 1]} {d.year}"


def caisse_code(code: str | None) -> str:
    """The French text of a caisse return code ('0250 050' -> 'Assuré inconnu de la caisse.')."""
    if not code:
        return ""
    known = code_catalogue().get(code.strip())
    return known.message if known else "code de la caisse sans libellé connu"


_POINT_AMOUNT = re.compile(r"(?<![\d.])(\d+)\.(\d{2})\s?€")
_ISO_DATE = re.compile(r"\b((?:19|20)\d\d)-([01]\d)-([0-3]\d)\b")


def french_text(text: str | None) -> str:
    """A sentence stored before these filters existed (a payment's history, an old message),
    shown the French way: « 54.60 € » -> « 54,60 € », « 2026-05-22 » -> « 22/05/2026 »."""
    if not text:
        return ""
    text = _POINT_AMOUNT.sub(lambda m: euros(f"{m.group(1)}.{m.group(2)}"), text)
    return _ISO_DATE.sub(lambda m: f"{m.group(3)}/{m.group(2)}/{m.group(1)}", text)


def init_app(app: Flask) -> None:
    for name, func in (("euros", euros), ("number", number), ("date_fr", date_fr), ("date_long", date_long),
                       ("month_fr", month_fr), ("caisse_code", caisse_code), ("french_text", french_text)):
        app.jinja_env.filters[name] = func

    @app.context_processor
    def _nav():
        def has_endpoint(name: str) -> bool:
            return name in app.view_functions

        return {"has_endpoint": has_endpoint}
