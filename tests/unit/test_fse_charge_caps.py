"""Patient charges against what was already taken: annual caps (per patient, calendar year of
care) and day caps (per patient and professional), with ``PriorCharges`` and the in-memory
``ChargeLedger``. Pure: no database."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from amelipro.auth.models import Profession
from amelipro.fse.domain import LineKind
from amelipro.fse.history import ChargeLedger
from amelipro.fse.pricing import DayCharges, PriorCharges, YearCharges, recharge
from tests.unit.test_fse_pricing import CIP_DOLI, line, price, rights, sheet

D = Decimal
DAY = date(2025, 6, 3)


def _pf(result) -> list[Decimal]:
    return [item.participation for item in result.lines]


def _fr(result) -> list[Decimal]:
    return [item.franchise for item in result.lines]


# --- annual caps -------------------------------------------------------------------------

def test_participation_cap_reached_mid_sheet():
    """48 € already taken this year: the first act pays the last 2 €, the others nothing."""
    care = sheet(line(1, at=DAY), line(2, at=date(2025, 6, 4)), line(3, at=date(2025, 6, 5)))
    result = price(care, rights(), prior=PriorCharges(years=(YearCharges(2025, D("48.00")),)))
    assert _pf(result) == [D("2.00"), D("0.00"), D("0.00")]
    assert result.charges.participation == D("2.00")


def test_participation_cap_partially_deducted():
    """49 € taken (1 € units before 15 May 2024 make odd totals): 1 € left, not 2 €."""
    care = sheet(line(1, at=DAY), line(2, at=date(2025, 6, 4)))
    result = price(care, rights(), prior=PriorCharges(years=(YearCharges(2025, D("49.00")),)))
    assert _pf(result) == [D("1.00"), D("0.00")]
    assert result.charges.total == D("1.00")


def test_cap_already_reached_gives_nothing_and_does_not_touch_amo():
    care = sheet(line(1, at=DAY), line(2, "DEQP003", at=DAY, kind=LineKind.CCAM))
    free = price(care, rights())
    capped = price(care, rights(), prior=PriorCharges(years=(YearCharges(2025, D("50.00")),)))
    assert capped.charges.total == D("0.00") and free.charges.participation == D("4.00")
    # What the liquidation pays and compares never depends on the history.
    assert (capped.amo, capped.base, capped.charged) == (free.amo, free.base, free.charged)
    assert [item.amo for item in capped.lines] == [item.amo for item in free.lines]


def test_sheet_across_new_year_uses_each_year_own_history():
    """Care on 31 December and 2 January: the 2025 cap is reached, 2026 starts from zero."""
    care = sheet(line(1, at=date(2025, 12, 31)), line(2, at=date(2026, 1, 2)),
                 invoice_date=date(2026, 1, 2))
    prior = PriorCharges(years=(YearCharges(2025, D("50.00"), D("50.00")), YearCharges(2026)))
    result = price(care, rights(), prior=prior)
    assert _pf(result) == [D("0.00"), D("2.00")]


def test_year_or_day_not_in_history_starts_from_zero():
    prior = PriorCharges(years=(YearCharges(2024, D("50.00")),), days=(DayCharges(DAY, D("8.00")),))
    assert prior.year(2024).participation == D("50.00")
    assert prior.year(2025) == YearCharges(2025)
    assert prior.day(DAY).participation == D("8.00")
    assert prior.day(DAY.replace(year=DAY.year + 1)) == DayCharges(DAY.replace(year=DAY.year + 1))


def test_franchise_cap_shared_by_boxes_and_paramedical_acts():
    boxes = sheet(line(1, CIP_DOLI, at=DAY, kind=LineKind.MEDICINE, quantity=3),
                  profession=Profession.PHARMACIEN)
    result = price(boxes, rights(), prior=PriorCharges(years=(YearCharges(2025, D("0.00"), D("48.00")),)))
    assert result.charges.franchise == D("2.00")
    nurse = sheet(line(1, "AMI", at=DAY), profession=Profession.INFIRMIER)
    result = price(nurse, rights(), prior=PriorCharges(years=(YearCharges(2025, D("0.00"), D("50.00")),)))
    assert result.charges.franchise == D("0.00")


# --- day caps (same professional) --------------------------------------------------------

def test_participation_day_cap_counts_the_same_day_already_charged():
    """6 € already taken today by this doctor: one more act at 2 €, then nothing (8 €/day)."""
    care = sheet(line(1, at=DAY), line(2, at=DAY), line(3, at=date(2025, 6, 4)))
    result = price(care, rights(), prior=PriorCharges(days=(DayCharges(DAY, D("6.00")),)))
    assert _pf(result) == [D("2.00"), D("0.00"), D("2.00")]


def test_paramedical_day_cap_counts_the_same_day_already_charged():
    care = sheet(line(1, "AMI", at=DAY), line(2, "AMI", at=DAY), profession=Profession.INFIRMIER)
    result = price(care, rights(), prior=PriorCharges(days=(DayCharges(DAY, D("0.00"), D("3.00")),)))
    assert _fr(result) == [D("1.00"), D("0.00")]


def test_medicine_boxes_have_no_day_cap():
    care = sheet(line(1, CIP_DOLI, at=DAY, kind=LineKind.MEDICINE, quantity=6),
                 profession=Profession.PHARMACIEN)
    result = price(care, rights(), prior=PriorCharges(days=(DayCharges(DAY, D("8.00"), D("4.00")),)))
    assert result.charges.franchise == D("6.00")


# --- recharge: the same pricing, charged again ------------------------------------------

def test_recharge_changes_only_the_charges():
    care = sheet(line(1, at=DAY), line(2, "DEQP003", at=DAY, kind=LineKind.CCAM))
    first = price(care, rights())
    again = recharge(first, care, rights(), prior=PriorCharges(years=(YearCharges(2025, D("48.00")),)))
    assert _pf(again) == [D("2.00"), D("0.00")] and again.charges.participation == D("2.00")
    assert [(x.base, x.rate, x.amo) for x in again.lines] == [(x.base, x.rate, x.amo) for x in first.lines]
    assert recharge(again, care, rights()) == first


# --- the ledger: a lot's FSE accumulate in order ----------------------------------------

NIR = sheet().patient.nir


@pytest.mark.parametrize("count", [1, 24, 25, 26])
def test_ledger_accumulates_fse_of_a_lot_in_order(count):
    """One consultation a day: the 26th of the year pays nothing, the 25th pays the last 2 €."""
    ledger = ChargeLedger()
    paid = []
    for n in range(count):
        care = sheet(line(1, at=date(2025, 1, 1 + n)), invoice_number=f"F{n}")
        result = price(care, rights(), prior=ledger.prior(care))
        ledger.add(NIR, 1, result.lines)
        paid.append(result.charges.participation)
    assert paid[-1] == (D("0.00") if count == 26 else D("2.00"))
    assert ledger.year_total(NIR, 1, 2025) == (min(D(2) * count, D(50)), D("0.00"))


def test_ledger_day_totals_are_by_date_and_patient():
    ledger = ChargeLedger()
    care = sheet(line(1, at=DAY), line(2, at=DAY), line(3, at=date(2025, 6, 4)))
    ledger.add(NIR, 1, price(care, rights()).lines)
    prior = ledger.prior(sheet(line(1, at=DAY), line(2, at=date(2025, 6, 5))))
    assert prior.day(DAY) == DayCharges(DAY, D("4.00"), D("0.00"))
    assert prior.day(date(2025, 6, 5)) == DayCharges(date(2025, 6, 5))
    assert prior.year(2025) == YearCharges(2025, D("6.00"), D("0.00"))
    other = sheet(line(1, at=DAY), patient_nir="1" + NIR[1:])
    assert ledger.prior(other).year(2025).participation == D("0.00")

