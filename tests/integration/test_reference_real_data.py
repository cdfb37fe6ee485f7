"""Acceptance on the real files of ../shared/data, imported once per session (see fixtures)."""

import json
from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from amelipro.reference import models as m
from amelipro.reference.queries import SqlReferenceLookup, medicine_detail
from amelipro.reference.search import SearchQuery, search

AT = date(2026, 8, 1)


@pytest.fixture
def session(real_reference):
    with real_reference.sessionmaker() as session:
        yield session


def test_volumes(session, real_reference):
    assert session.scalar(select(func.count()).select_from(m.Medicine)) > 15_000
    assert session.scalar(select(func.count()).select_from(m.MedicineBox)) > 20_000
    assert session.scalar(select(func.count()).select_from(m.Act).where(m.Act.kind == "ccam")) == 8_257
    assert session.scalar(select(func.count()).select_from(m.LppCode)) >= 5_606
    bdpm = next(r for r in real_reference.runs if r.dataset == "bdpm")
    # Thousands written "1,466,29" are read, not skipped.
    assert bdpm.skipped == 0


def test_doliprane_by_words_and_by_code(session):
    by_words = [h.code for h in search(session, SearchQuery("doliprane 1000", AT, page_size=20)).hits]
    assert "3400935955838" in by_words
    by_code = search(session, SearchQuery("3400935955838", AT)).hits
    assert by_code[0].code == "3400935955838" and by_code[0].exact
    fact = SqlReferenceLookup(session).medicine("3400935955838", AT)
    assert (fact.rate_percent, fact.price, fact.dispensing_fee) == (65, Decimal("1.16"), Decimal("1.02"))


def test_levothyrox_princeps_of_group_787(session):
    detail = medicine_detail(session, "3400930065891", AT)
    group = next(g for g in detail.groups if g["group_id"] == 787)
    assert group["type"] == 0 and group["type_label"] == "princeps"
    assert len(group["members"]) > 1


def test_thousands_prices(session):
    # CIS_CIP_bdpm.txt writes 1 466,29 € as "1,466,29".
    assert SqlReferenceLookup(session).medicine("3400927849800", AT).price == Decimal("1466.29")


def test_broken_date_imported_with_anomaly(session, real_reference):
    bdpm = next(r for r in real_reference.runs if r.dataset == "bdpm")
    anomalies = json.loads(bdpm.anomalies)
    hit = [a for a in anomalies if "3400955097891" in a["reason"]]
    assert hit and "29/11/2924" in hit[0]["reason"] and hit[0]["skipped"] is False
    assert SqlReferenceLookup(session).medicine("3400955097891", AT) is not None


def test_lit_medical_in_ehpad_category(session):
    lookup = SqlReferenceLookup(session)
    codes = session.scalars(select(m.LppCode.code).where(m.LppCode.label.like("Lit médical%"))).all()
    assert codes
    for code in codes:
        assert lookup.lpp(code, AT).ehpad_category == "Lit médical et accessoires", code


def test_real_ccam_and_lpp_tariffs(session):
    lookup = SqlReferenceLookup(session)
    ecg = lookup.act("DEQP003", AT)
    assert (ecg.tariff, ecg.tariff_other_sector) == (Decimal("14.77"), Decimal("13.81"))
    assert lookup.act("JQGD010", AT).tariff == Decimal("313.50")
    assert lookup.lpp("1266390", AT).tariff == Decimal("50.00")
    assert lookup.lpp("4592457", AT).tariff == Decimal("443.64")
    assert lookup.lpp("1134458", AT).tariff is None  # listed without a tariff: never 0 €


def test_second_import_of_the_real_release_changes_nothing(session):
    from amelipro.reference.services import ImportConfig, import_reference
    from tests.fixtures_reference import SHARED_DATA

    prices = session.scalar(select(func.count()).select_from(m.MedicinePrice))
    result = import_reference(session, ImportConfig(source=SHARED_DATA, actor="test"))
    for run in result.runs:
        assert (run.created, run.changed, run.closed) == (0, 0, 0), run.dataset
    assert result.search_entries is None
    assert session.scalar(select(func.count()).select_from(m.MedicinePrice)) == prices


def _all_hits(session, q, **kw):
    hits, page = [], 1
    while True:
        result = search(session, SearchQuery(q, AT, page=page, page_size=100, **kw))
        hits += result.hits
        if not result.has_next or page == 10:
            return hits
        page += 1


def test_substance_finds_the_princeps_and_its_generics_accent_insensitive(session):
    """« lévothyroxine » (the DCI, from CIS_COMPO_bdpm.txt) finds LEVOTHYROX and its generics,
    including THYROFIX whose name does not say the substance."""
    with_accent = _all_hits(session, "lévothyroxine", kind="medicine")
    labels = {h.label for h in with_accent}
    assert any(label.startswith("LEVOTHYROX ") for label in labels)
    assert any(label.startswith("THYROFIX") for label in labels), sorted(labels)[:20]
    assert all("LÉVOTHYROXINE" in h.detail or "LEVOTHYROX" in h.label.upper() for h in with_accent)
    without = _all_hits(session, "LEVOTHYROXINE", kind="medicine")
    assert [h.code for h in without] == [h.code for h in with_accent]
    # The princeps and the generics of group 787 are all there.
    detail = medicine_detail(session, "3400930065891", AT)
    group = next(g for g in detail.groups if g["group_id"] == 787)
    member_boxes = {mbr["cip13"] for mbr in group["members"] if mbr["cip13"]}
    group_hits = {h.code for h in search(session, SearchQuery("", AT, generic_group=787, page_size=100)).hits}
    assert member_boxes & group_hits
    assert (member_boxes & group_hits) <= {h.code for h in with_accent}


def test_laboratory_and_substance_together(session):
    hits = _all_hits(session, "levothyroxine merck", kind="medicine")
    assert hits and all("MERCK" in h.detail.upper() for h in hits)
    assert any(h.label.startswith("LEVOTHYROX ") for h in hits)
