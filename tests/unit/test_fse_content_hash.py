"""The canonical content hash: identical content, identical hash; any field changes it."""

from __future__ import annotations

import dataclasses
from dataclasses import replace
from datetime import date, time, timedelta
from decimal import Decimal

import pytest

from amelipro.fse.domain import (
    CareSheet,
    Exemption,
    InsuranceNature,
    Line,
    PatientRef,
    ProfessionalRef,
)
from amelipro.fse.services import canonical_content, content_hash
from tests.fixtures_pki import sample_care_sheet


def test_id_and_number_layout_do_not_count():
    sheet = sample_care_sheet(1)
    same = replace(sheet, id="other-id", lines=tuple(
        replace(line, coefficient=Decimal("1.00")) for line in sheet.lines))
    assert content_hash(same) == content_hash(sheet)


@pytest.mark.parametrize("change", [
    lambda s: replace(s, invoice_number="X-1"),
    lambda s: replace(s, invoice_date=s.invoice_date - timedelta(days=1)),
    lambda s: replace(s, professional=replace(s.professional, am_number="751234568")),
    lambda s: replace(s, professional=replace(s.professional, finess="750000001")),
    lambda s: replace(s, patient=replace(s.patient, rank=2)),
    lambda s: replace(s, patient=replace(s.patient, centre="0002")),
    lambda s: replace(s, nature=InsuranceNature.AT_MP),
    lambda s: replace(s, pathway=False),
    lambda s: replace(s, exemption=Exemption.ALD),
    lambda s: replace(s, tiers_payant_amo=False),
    lambda s: replace(s, tiers_payant_amc=True),
    lambda s: replace(s, lines=s.lines[:1]),
    lambda s: replace(s, lines=(replace(s.lines[0], quantity=2), *s.lines[1:])),
    lambda s: replace(s, lines=(replace(s.lines[0], code="GS"), *s.lines[1:])),
    lambda s: replace(s, lines=(replace(s.lines[0], care_date=date(2026, 1, 2)), *s.lines[1:])),
    lambda s: replace(s, lines=(replace(s.lines[0], amounts=replace(s.lines[0].amounts, rate=30)), *s.lines[1:])),
    lambda s: replace(s, totals=replace(s.totals, amo=Decimal("1.00"))),
    lambda s: replace(s, lines=(replace(s.lines[0], care_time=time(21, 0)), *s.lines[1:])),
    lambda s: replace(s, lines=(replace(s.lines[0], second_act=True), *s.lines[1:])),
    lambda s: replace(s, prescriber_rpps="10000000041"),
    lambda s: replace(s, prescription_date=date(2026, 1, 1)),
])
def test_every_field_counts(change):
    sheet = sample_care_sheet(1)
    assert content_hash(change(sheet)) != content_hash(sheet)


def test_canonical_content_covers_every_domain_field():
    """A field added to the domain must be added to the canonical content (or this fails)."""
    covered = {"id", "invoice_number", "invoice_date", "professional", "patient", "nature", "pathway",
               "exemption", "tiers_payant_amo", "tiers_payant_amc", "lines", "totals",
               "prescriber_rpps", "prescription_date"}
    assert {f.name for f in dataclasses.fields(CareSheet)} == covered
    assert {f.name for f in dataclasses.fields(ProfessionalRef)} == {"rpps", "am_number", "specialty", "finess"}
    assert {f.name for f in dataclasses.fields(PatientRef)} == {"nir", "birth_date", "rank", "regime", "caisse", "centre"}
    assert {f.name for f in dataclasses.fields(Line)} == {"number", "kind", "care_date", "code", "quantity",
                                                          "coefficient", "amounts", "care_time",
                                                          "second_act"}
    assert len(canonical_content(sample_care_sheet(1))) == 14


def test_gc_pause_nests_and_restores():
    import gc

    from amelipro.fse.services import _GcPause

    assert gc.isenabled()
    with _GcPause():
        assert not gc.isenabled()
        with _GcPause():
            assert not gc.isenabled()
        assert not gc.isenabled()
    assert gc.isenabled()


def _pinned_sheets():
    sheet = sample_care_sheet(1, care_date=date(2026, 3, 2))
    v2 = replace(sheet, lines=(replace(sheet.lines[0], care_time=time(21, 0), second_act=True, amounts=None,
                                       coefficient=Decimal("1.50")), *sheet.lines[1:]),
                 prescriber_rpps="10000000041", prescription_date=date(2026, 2, 1))
    return sheet, v2


def test_hash_values_are_stable():
    """Stored hashes are compared across lots: the values never change (computed once, kept here)."""
    sheet, v2 = _pinned_sheets()
    assert content_hash(sheet) == "3c82527436fd3d1cbb6f5b3e58e7434b53ea92fffaf79d015510f90a21cb8c74"
    assert content_hash(v2) == "17a68b814f65f431c6264456b525a9a90a2824990ded08372e87252f76c77223"


def test_a_sheet_read_back_from_its_xml_has_its_hash_and_fields():
    from amelipro.fse.document import care_sheet_from_xml, care_sheet_to_xml

    for sheet in _pinned_sheets():
        read = care_sheet_from_xml(care_sheet_to_xml(sheet))
        assert read == sheet
        assert content_hash(read) == content_hash(sheet)
