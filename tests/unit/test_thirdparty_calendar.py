"""Working days, the 7-working-day rule and late-payment penalties."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest

from amelipro.errors import AmeliproError
from amelipro.thirdparty.calendar import (
    PenaltyRule,
    add_working_days,
    ageing_bucket,
    assess_delay,
    due_date,
    easter_sunday,
    holiday_name,
    is_working_day,
    load_penalty_rules,
    public_holidays,
    rule_at,
    working_day_number,
)


@pytest.mark.parametrize(
    ("year", "easter"),
    [(1818, date(1818, 3, 22)), (2000, date(2000, 4, 23)), (2019, date(2019, 4, 21)),
     (2024, date(2024, 3, 31)), (2025, date(2025, 4, 20)), (2026, date(2026, 4, 5)),
     (2027, date(2027, 3, 28)), (2038, date(2038, 4, 25)), (2285, date(2285, 3, 22))],
)
def test_easter(year, easter):
    assert easter_sunday(year) == easter


def test_holidays_2026():
    days = public_holidays(2026)
    assert len(days) == 11
    assert days[date(2026, 4, 6)] == "Lundi de Pâques"
    assert days[date(2026, 5, 14)] == "Ascension"
    assert days[date(2026, 5, 25)] == "Lundi de Pentecôte"
    assert holiday_name(date(2026, 7, 14)) == "Fête nationale"
    assert holiday_name(date(2026, 7, 15)) is None


def test_working_days():
    assert is_working_day(date(2026, 11, 23))  # Monday
    assert not is_working_day(date(2026, 11, 21))  # Saturday
    assert not is_working_day(date(2026, 11, 22))  # Sunday
    assert not is_working_day(date(2026, 5, 14))  # Ascension (Thursday)
    assert not is_working_day(date(2025, 6, 9))  # Whit Monday 2025


def _brute(day0: date, day: date) -> int:
    n, d = 0, day0
    while d < day:
        d += timedelta(days=1)
        n += is_working_day(d)
    return n


def test_counting_matches_day_by_day_over_three_years():
    start = date(2025, 12, 20)
    for offset in range(0, 900, 7):
        day0 = start + timedelta(days=offset % 11)
        for span in (0, 1, 3, 6, 7, 8, 13, 14, 20, 45, 400):
            day = day0 + timedelta(days=span + offset)
            assert working_day_number(day0, day) == _brute(day0, day), (day0, day)


def test_add_working_days_is_inverse():
    for offset in range(0, 400, 3):
        day0 = date(2026, 1, 1) + timedelta(days=offset)
        for n in (1, 7, 10, 15):
            d = add_working_days(day0, n)
            assert is_working_day(d) and working_day_number(day0, d) == n


def test_day_zero_is_the_acknowledgement_day():
    ack = date(2026, 11, 23)  # Monday
    assert working_day_number(ack, ack) == 0
    assert working_day_number(ack, date(2026, 11, 24)) == 1
    assert working_day_number(ack, date(2026, 11, 1)) == 0


@pytest.mark.parametrize(
    ("ack", "due"),
    [
        (date(2026, 11, 20), date(2026, 12, 1)),  # Friday: two weekends
        (date(2026, 5, 11), date(2026, 5, 21)),  # Ascension Thursday 14 May skipped
        (date(2026, 7, 10), date(2026, 7, 22)),  # 14 July (Tuesday) skipped
        (date(2026, 4, 2), date(2026, 4, 14)),  # Easter Monday 6 April skipped
        (date(2026, 12, 24), date(2027, 1, 6)),  # Christmas and New Year
        (date(2026, 11, 21), date(2026, 12, 1)),  # acknowledged on a Saturday
        (date(2025, 6, 2), date(2025, 6, 12)),  # Whit Monday 9 June 2025 skipped
    ],
)
def test_due_date(ack, due):
    assert due_date(ack) == due
    assert working_day_number(ack, due) == 7


AMO = Decimal("23.45")


@pytest.mark.parametrize(
    ("paid_on", "day", "penalty", "kind"),
    [
        (date(2026, 5, 21), 7, Decimal("0.00"), ""),  # due date: on time
        (date(2026, 5, 16), 3, Decimal("0.00"), ""),  # Saturday after day 3: still day 3
        (date(2026, 5, 22), 8, Decimal("1.00"), "forfait"),  # day 8
        (date(2026, 5, 25), 8, Decimal("1.00"), "forfait"),  # Whit Monday does not count
        (date(2026, 5, 26), 9, Decimal("1.00"), "forfait"),  # day 9
        (date(2026, 5, 27), 10, Decimal("2.35"), "pourcentage"),  # day 10: 10 % of 23.45, half up
        (date(2026, 6, 30), 34, Decimal("2.35"), "pourcentage"),
    ],
)
def test_penalty_thresholds_around_ascension_and_whit_monday(paid_on, day, penalty, kind):
    result = assess_delay(date(2026, 5, 11), AMO, paid_on=paid_on, today=date(2026, 12, 31))
    assert result.due_date == date(2026, 5, 21)
    assert result.day_number == day
    assert result.days_late == max(0, day - 7)
    assert result.penalty == penalty and result.penalty_kind == kind
    assert result.paid and result.late == (day > 7)


@pytest.mark.parametrize(
    ("today", "day", "penalty"),
    [
        (date(2026, 7, 22), 7, Decimal("0.00")),
        (date(2026, 7, 23), 8, Decimal("1.00")),
        (date(2026, 7, 24), 9, Decimal("1.00")),
        (date(2026, 7, 25), 9, Decimal("1.00")),  # Saturday
        (date(2026, 7, 27), 10, Decimal("3.00")),
    ],
)
def test_unpaid_penalty_accrues_around_14_july(today, day, penalty):
    result = assess_delay(date(2026, 7, 10), Decimal("30.00"), paid_on=None, today=today)
    assert not result.paid
    assert result.day_number == day and result.penalty == penalty


def test_rules_are_dated():
    rules = (
        PenaltyRule(date(2017, 1, 1), 7, 8, Decimal("1.00"), 10, Decimal("10")),
        PenaltyRule(date(2027, 1, 1), 7, 8, Decimal("2.00"), 10, Decimal("20")),
    )
    assert rule_at(date(2026, 12, 31), rules).flat_amount == Decimal("1.00")
    late_2027 = assess_delay(date(2027, 3, 1), Decimal("10.00"), paid_on=date(2027, 3, 11),
                             today=date(2027, 4, 1), rules=rules)
    assert late_2027.day_number == 8 and late_2027.penalty == Decimal("2.00")
    with pytest.raises(AmeliproError) as info:
        rule_at(date(2016, 1, 1), rules)
    assert info.value.code == "TP-CFG-001"


def test_shipped_configuration():
    rules = load_penalty_rules()
    assert rules[0].due_working_days == 7 and rules[0].flat_amount == Decimal("1.00")
    assert rules[0].percent == Decimal("10") and rules[0].percent_from_day == 10


@pytest.mark.parametrize(("day", "bucket"), [(0, "0–7"), (7, "0–7"), (8, "8–9"), (9, "8–9"),
                                             (10, "10–15"), (15, "10–15"), (16, ">15")])
def test_ageing_buckets(day, bucket):
    assert ageing_bucket(day) == bucket
