"""SqlReferenceLookup on the demo set: the contract the FSE pricing relies on."""

from datetime import date
from decimal import Decimal

import pytest

from amelipro.reference.facts import ReferenceLookup
from amelipro.reference.queries import SqlReferenceLookup


@pytest.fixture
def lookup(ref_session) -> SqlReferenceLookup:
    return SqlReferenceLookup(ref_session)


def test_satisfies_the_protocol(lookup):
    assert isinstance(lookup, SqlReferenceLookup)
    probe: ReferenceLookup = lookup  # static contract; the calls below check behaviour
    assert probe.medicine("0000000000000", date(2026, 1, 1)) is None


def test_medicine_box_priced(lookup):
    fact = lookup.medicine("3400935955838", date(2026, 8, 1))
    assert fact is not None
    assert fact.reimbursable is True
    assert fact.rate_percent == 65
    assert fact.price == Decimal("1.16")
    assert fact.dispensing_fee == Decimal("1.02")
    assert "DOLIPRANE 1000 mg" in fact.name


def test_rate_with_space_and_15_percent(lookup):
    assert lookup.medicine("3400930065891", date(2026, 8, 1)).rate_percent == 65  # "65 %"
    assert lookup.medicine("3400930986080", date(2026, 8, 1)).rate_percent == 15


def test_not_reimbursable_medicine(lookup):
    fact = lookup.medicine("3400999000222", date(2026, 8, 1))
    assert fact.reimbursable is False
    assert fact.rate_percent is None
    assert fact.price is None


LETTER_KEYS = [
        ("G", date(2024, 12, 21), Decimal("26.50")),
        ("G", date(2024, 12, 22), Decimal("30.00")),
        ("G", date(2025, 1, 10), Decimal("30.00")),
        ("g", date(2025, 1, 10), Decimal("30.00")),
        ("TCG", date(2025, 3, 1), Decimal("25.00")),
    ("AMI", date(2025, 3, 1), Decimal("3.15")),  # unconfirmed value, still served
]


def test_ngap_letter_key_value_at_date(lookup):
    for code, at, tariff in LETTER_KEYS:
        fact = lookup.act(code, at)
        assert fact.kind == "ngap", code
        assert fact.tariff == tariff, (code, at)


def test_ngap_code_without_value_has_no_tariff(lookup):
    fact = lookup.act("VG", date(2025, 1, 10))
    assert fact is not None and fact.tariff is None


def test_ccam_act_both_sectors(lookup):
    fact = lookup.act("DEQP003", date(2026, 3, 1))
    assert (fact.kind, fact.tariff, fact.tariff_other_sector) == ("ccam", Decimal("14.77"), Decimal("13.81"))
    qzfa = lookup.act("QZFA001", date(2026, 3, 1))
    assert qzfa.tariff_other_sector == Decimal("54.96")


def test_ccam_not_covered_has_no_tariff(lookup):
    fact = lookup.act("ZZZZ901", date(2026, 3, 1))
    assert fact is not None and fact.tariff is None


def test_lpp_without_tariff_is_none_not_zero(lookup):
    fact = lookup.lpp("1241763", date(2026, 8, 1))
    assert fact.tariff is None
    assert fact.ehpad_category == "Lit médical et accessoires"
    assert "Lit médical" in fact.ehpad_reason


def test_lpp_with_tariff(lookup):
    assert lookup.lpp("1266390", date(2026, 8, 1)).tariff == Decimal("50.00")
    assert lookup.lpp("4592457", date(2026, 8, 1)).tariff == Decimal("443.64")


def test_unknown_codes(lookup):
    assert lookup.lpp("9999999", date(2026, 8, 1)) is None
    assert lookup.act("XXXX999", date(2026, 8, 1)) is None
