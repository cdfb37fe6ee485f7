"""French working days, the 7-working-day payment rule and late-payment penalties.

Pure functions, no database. The counting convention lives in ONE place,
:func:`working_day_number`: the day of the positive acknowledgement is day 0, and working
days are counted from the next day (Saturdays, Sundays and French public holidays do not
count). *The official convention is unconfirmed*: change it here only.

Penalty amounts are dated configuration (``data/penalties.json``): the rule in force on the
day of the acknowledgement applies.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from functools import lru_cache
from pathlib import Path

from amelipro.codes import AmeliproError
from amelipro.thirdparty import errors

CENT = Decimal("0.01")
DEFAULT_RULES_PATH = Path(__file__).with_name("data") / "penalties.json"

# Fixed-date public holidays (month, day) and Easter-based ones (offset from Easter Sunday).
FIXED_HOLIDAYS = {
    (1, 1): "Jour de l'an",
    (5, 1): "Fête du Travail",
    (5, 8): "Victoire 1945",
    (7, 14): "Fête nationale",
    (8, 15): "Assomption",
    (11, 1): "Toussaint",
    (11, 11): "Armistice 1918",
    (12, 25): "Noël",
}
EASTER_HOLIDAYS = {
    1: "Lundi de Pâques",
    39: "Ascension",
    50: "Lundi de Pentecôte",
}


def easter_sunday(year: int) -> date:
    """Easter Sunday in the Gregorian calendar (anonymous Gregorian algorithm)."""
    a = year % 19
    b, c = divmod(year, 100)
    d, e = divmod(b, 4)
    f = (b + 8) // 25
    g = (b - f + 1) // 3
    h = (19 * a + b - d - g + 15) % 30
    i, k = divmod(c, 4)
    ell = (32 + 2 * e + 2 * i - h - k) % 7
    m = (a + 11 * h + 22 * ell) // 451
    month, day = divmod(h + ell - 7 * m + 114, 31)
    return date(year, month, day + 1)


@lru_cache(maxsize=256)
def public_holidays(year: int) -> dict[date, str]:
    """French national public holidays of ``year`` (metropolitan list)."""
    days = {date(year, m, d): name for (m, d), name in FIXED_HOLIDAYS.items()}
    easter = easter_sunday(year)
    for offset, name in EASTER_HOLIDAYS.items():
        days[easter + timedelta(days=offset)] = name
    return days


def holiday_name(day: date) -> str | None:
    return public_holidays(day.year).get(day)


def is_working_day(day: date) -> bool:
    return day.weekday() < 5 and day not in public_holidays(day.year)


def working_day_number(day0: date, day: date) -> int:
    """THE counting convention: how many working days ``day`` is after ``day0`` (day 0).

    Counts the working days d with day0 < d <= day; a weekend or holiday keeps the number of
    the last working day before it. Negative spans count 0.
    """
    if day <= day0:
        return 0
    # whole weeks first (5 working days minus holidays falling on weekdays), then the rest
    count = 0
    current = day0
    span = (day - day0).days
    weeks, rest = divmod(span, 7)
    if weeks:
        end = day0 + timedelta(days=7 * weeks)
        count += 5 * weeks - _weekday_holidays(day0, end)
        current = end
    for _ in range(rest):
        current += timedelta(days=1)
        if is_working_day(current):
            count += 1
    return count


def _weekday_holidays(start: date, end: date) -> int:
    """Public holidays falling Monday-Friday in (start, end]."""
    total = 0
    for year in range(start.year, end.year + 1):
        for day in public_holidays(year):
            if start < day <= end and day.weekday() < 5:
                total += 1
    return total


def add_working_days(day0: date, n: int) -> date:
    """The ``n``-th working day after ``day0`` (same convention as working_day_number)."""
    current = day0
    remaining = n
    while remaining > 0:
        current += timedelta(days=1)
        if is_working_day(current):
            remaining -= 1
    return current


# --- Dated penalty rules ---------------------------------------------------------------


@dataclass(frozen=True)
class PenaltyRule:
    valid_from: date
    due_working_days: int  # paid on or before this working day: on time
    flat_from_day: int  # from this working day: flat amount
    flat_amount: Decimal
    percent_from_day: int  # from this working day: percent of the AMO part instead
    percent: Decimal


@lru_cache(maxsize=8)
def load_penalty_rules(path: Path = DEFAULT_RULES_PATH) -> tuple[PenaltyRule, ...]:
    raw = json.loads(Path(path).read_text(encoding="utf-8"))
    rules = tuple(
        PenaltyRule(
            valid_from=date.fromisoformat(r["valid_from"]),
            due_working_days=int(r["due_working_days"]),
            flat_from_day=int(r["flat_from_day"]),
            flat_amount=Decimal(r["flat_amount"]),
            percent_from_day=int(r["percent_from_day"]),
            percent=Decimal(r["percent"]),
        )
        for r in raw["rules"]
    )
    return tuple(sorted(rules, key=lambda r: r.valid_from))


def rule_at(day: date, rules: tuple[PenaltyRule, ...] | None = None) -> PenaltyRule:
    """The penalty rule in force on ``day``."""
    chosen = None
    for rule in rules if rules is not None else load_penalty_rules():
        if rule.valid_from <= day:
            chosen = rule
    if chosen is None:
        raise AmeliproError(errors.CONFIG_MISSING, day.isoformat())
    return chosen


@dataclass(frozen=True)
class DelayAssessment:
    acknowledged_on: date  # day 0
    due_date: date  # last working day for an on-time payment
    evaluated_on: date  # payment value date, or today when unpaid
    paid: bool
    day_number: int  # working days since day 0 at evaluated_on
    days_late: int  # working days beyond the due date
    penalty: Decimal  # owed (paid late) or accruing (unpaid and late)
    penalty_kind: str  # "" | "forfait" | "pourcentage"

    @property
    def late(self) -> bool:
        return self.days_late > 0

    @property
    def ageing_bucket(self) -> str:
        return ageing_bucket(self.day_number)


def due_date(acknowledged_on: date, rules: tuple[PenaltyRule, ...] | None = None) -> date:
    return add_working_days(acknowledged_on, rule_at(acknowledged_on, rules).due_working_days)


def penalty_for(day_number: int, amo: Decimal, rule: PenaltyRule) -> tuple[Decimal, str]:
    """Penalty owed when paid on working day ``day_number``."""
    if day_number >= rule.percent_from_day:
        return (amo * rule.percent / Decimal(100)).quantize(CENT, ROUND_HALF_UP), "pourcentage"
    if day_number >= rule.flat_from_day:
        return rule.flat_amount, "forfait"
    return Decimal("0.00"), ""


def assess_delay(
    acknowledged_on: date,
    amo: Decimal,
    *,
    paid_on: date | None,
    today: date,
    rules: tuple[PenaltyRule, ...] | None = None,
) -> DelayAssessment:
    """Due date, delay and penalty of one tiers-payant FSE (paid on ``paid_on``, or not yet)."""
    rule = rule_at(acknowledged_on, rules)
    evaluated = paid_on if paid_on is not None else today
    number = working_day_number(acknowledged_on, evaluated)
    penalty, kind = penalty_for(number, amo, rule)
    return DelayAssessment(
        acknowledged_on=acknowledged_on,
        due_date=add_working_days(acknowledged_on, rule.due_working_days),
        evaluated_on=evaluated,
        paid=paid_on is not None,
        day_number=number,
        days_late=max(0, number - rule.due_working_days),
        penalty=penalty,
        penalty_kind=kind,
    )


AGEING_BUCKETS = ("0–7", "8–9", "10–15", ">15")


def ageing_bucket(day_number: int) -> str:
    if day_number <= 7:
        return AGEING_BUCKETS[0]
    if day_number <= 9:
        return AGEING_BUCKETS[1]
    if day_number <= 15:
        return AGEING_BUCKETS[2]
    return AGEING_BUCKETS[3]
