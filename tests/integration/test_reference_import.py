"""Importers on the demo set and on modified releases: idempotency, dating, diff, anomalies."""

import json
import shutil
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import func, select

from amelipro.errors import AmeliproError
from amelipro.reference import models as m
from amelipro.reference.importers import DEMO_DIR
from amelipro.reference.queries import SqlReferenceLookup, release_diff
from amelipro.reference.services import ImportConfig, import_reference
from tests.fixtures_reference import REFERENCE_TEST_DATA

NEW_RELEASE = date(2026, 9, 1)


def counts(session):
    return {model.__tablename__: session.scalar(select(func.count()).select_from(model))
            for model in (m.Medicine, m.MedicineBox, m.MedicinePrice, m.GenericMember, m.Composition,
                          m.LppCode, m.LppTariff, m.Act, m.ActTariff, m.EhpadCategory, m.EhpadMapping)}


def test_demo_import_reports_anomalies(ref_session, reference_demo):
    bdpm = next(r for r in reference_demo.runs if r.dataset == "bdpm")
    anomalies = json.loads(bdpm.anomalies)
    reasons = " | ".join(a["reason"] for a in anomalies)
    assert "29/11/2924" in reasons  # imported, with the anomaly reported
    assert "clé EAN-13 fausse" in reasons  # skipped
    assert bdpm.skipped == 1
    broken = ref_session.scalar(select(m.MedicineBox).where(m.MedicineBox.cip13 == "3400999000338"))
    assert broken is not None and broken.declaration_date is None
    files = {f["name"]: f for f in json.loads(bdpm.files)}
    assert set(files) == {"CIS_bdpm.txt", "CIS_CIP_bdpm.txt", "CIS_GENER_bdpm.txt", "CIS_COMPO_bdpm.txt"}
    assert len(files["CIS_bdpm.txt"]["sha256"]) == 64


def test_second_import_of_same_release_changes_nothing(ref_session):
    before = counts(ref_session)
    result = import_reference(ref_session, ImportConfig(source=DEMO_DIR, effective=NEW_RELEASE))
    assert counts(ref_session) == before
    for run in result.runs:
        assert (run.created, run.changed, run.closed) == (0, 0, 0), run.dataset
    assert result.search_entries is None


def _modified_release(tmp_path: Path) -> Path:
    target = tmp_path / "release2"
    shutil.copytree(DEMO_DIR, target)
    cip = target / "bdpm" / "CIS_CIP_bdpm.txt"
    lines = cip.read_text(encoding="utf-8").splitlines()
    out = []
    for line in lines:
        if "3400935955838" in line:
            line = line.replace("\t1,16\t2,18\t1,02", "\t1,20\t2,22\t1,02")
        if "3400934744198" in line:  # KARDEGIC withdrawn from this release
            continue
        out.append(line)
    cip.write_text("\n".join(out) + "\n", encoding="utf-8")
    ccam = target / "ccam" / "ccam.csv"
    ccam.write_text(ccam.read_text(encoding="utf-8").replace("14.77,13.81", "15.00,13.81"), encoding="utf-8")
    return target


def test_modified_release_closes_and_opens_rows(ref_session, tmp_path):
    source = _modified_release(tmp_path)
    result = import_reference(ref_session, ImportConfig(source=source, effective=NEW_RELEASE))
    bdpm = next(r for r in result.runs if r.dataset == "bdpm")
    assert (bdpm.changed, bdpm.closed) == (1, 1)
    lookup = SqlReferenceLookup(ref_session)
    assert lookup.medicine("3400935955838", date(2026, 8, 31)).price == Decimal("1.16")
    assert lookup.medicine("3400935955838", NEW_RELEASE).price == Decimal("1.20")
    assert lookup.medicine("3400934744198", date(2026, 8, 31)).price == Decimal("1.62")
    assert lookup.medicine("3400934744198", NEW_RELEASE) is None
    assert lookup.act("DEQP003", date(2026, 8, 31)).tariff == Decimal("14.77")
    assert lookup.act("DEQP003", NEW_RELEASE).tariff == Decimal("15.00")
    rows = list(ref_session.scalars(select(m.MedicinePrice).where(m.MedicinePrice.cip13 == "3400935955838")
                                    .order_by(m.MedicinePrice.id)))
    assert [(r.valid_from, r.valid_to, r.price) for r in rows] == [
        (None, date(2026, 8, 31), Decimal("1.16")), (NEW_RELEASE, None, Decimal("1.20"))]

    diff = release_diff(ref_session, bdpm.id)
    assert [(c["code"], c["before"]["price"], c["after"]["price"]) for c in diff.changed] == [
        ("3400935955838", "1.16", "1.20")]
    assert [r["code"] for r in diff.removed] == ["3400934744198"]

    again = import_reference(ref_session, ImportConfig(source=source, effective=NEW_RELEASE))
    assert all((r.created, r.changed, r.closed) == (0, 0, 0) for r in again.runs)


def test_older_release_than_the_one_in_force_is_refused_per_row(ref_session, tmp_path):
    source = _modified_release(tmp_path)
    import_reference(ref_session, ImportConfig(source=source, effective=NEW_RELEASE))
    result = import_reference(ref_session, ImportConfig(source=DEMO_DIR, effective=date(2026, 8, 15),
                                                        datasets=("bdpm",)))
    run = result.runs[0]
    assert "antérieure" in run.anomalies
    lookup = SqlReferenceLookup(ref_session)
    assert lookup.medicine("3400935955838", NEW_RELEASE).price == Decimal("1.20")


def test_lpp_official_layout_history(ref_session):
    v900 = REFERENCE_TEST_DATA / "lpp_official" / "v900"
    result = import_reference(ref_session, ImportConfig(source=v900, datasets=("lpp",)))
    run = result.runs[0]
    assert "1888880" in run.anomalies  # history row whose code is not in lpp_fiche_tot
    lookup = SqlReferenceLookup(ref_session)
    assert lookup.lpp("1241763", date(2023, 6, 1)).tariff == Decimal("12.00")
    assert lookup.lpp("1241763", date(2026, 10, 1)).tariff == Decimal("12.50")
    fact = lookup.lpp("1322792", date(2026, 10, 1))
    assert (fact.tariff, fact.plv, fact.max_quantity) == (Decimal("3.25"), Decimal("4.87"), 10)
    assert lookup.lpp("1999990", date(2026, 10, 1)).tariff is None  # 0 in the file means none
    # The label of the official release wins over the demo extract's.
    assert lookup.lpp("1241763", date(2026, 10, 1)).label.startswith("LIT MEDICAL")

    v901 = REFERENCE_TEST_DATA / "lpp_official" / "v901"
    result = import_reference(ref_session, ImportConfig(source=v901, datasets=("lpp",)))
    run = result.runs[0]
    assert (run.created, run.closed) == (1, 1)
    assert lookup.lpp("1241763", date(2026, 8, 31)).tariff == Decimal("12.50")
    assert lookup.lpp("1241763", date(2026, 9, 1)).tariff == Decimal("13.00")
    diff = release_diff(ref_session, run.id)
    assert [(c["code"], c["before"]["tariff"], c["after"]["tariff"]) for c in diff.changed] == [
        ("1241763", "12.50", "13.00")]
    again = import_reference(ref_session, ImportConfig(source=v901, datasets=("lpp",)))
    assert (again.runs[0].created, again.runs[0].closed) == (0, 0)


def test_missing_source_is_a_stable_error(ref_session, tmp_path):
    with pytest.raises(AmeliproError) as exc:
        import_reference(ref_session, ImportConfig(source=tmp_path / "absent"))
    assert exc.value.code == "REF-020"


def test_ehpad_mapping_add_and_remove_are_recorded(ref_session):
    from amelipro.audit import AuditEvent
    from amelipro.reference.services import add_ehpad_mapping, remove_ehpad_mapping

    lookup = SqlReferenceLookup(ref_session)
    mapping = ref_session.scalar(select(m.EhpadMapping).where(m.EhpadMapping.lpp_code == "1241763"))
    removed = remove_ehpad_mapping(ref_session, mapping.id, "operateur.demo")
    assert removed.removed_by == "operateur.demo" and removed.removed_at is not None
    assert lookup.lpp("1241763", date(2026, 8, 1)).ehpad_category is None
    # A later import does not re-add what an operator removed.
    import_reference(ref_session, ImportConfig(source=DEMO_DIR, effective=NEW_RELEASE))
    assert lookup.lpp("1241763", date(2026, 8, 1)).ehpad_category is None

    cat = ref_session.scalar(select(m.EhpadCategory).where(m.EhpadCategory.label == "Déambulateur"))
    with pytest.raises(AmeliproError) as exc:
        add_ehpad_mapping(ref_session, "1241763", cat.id, "  ", "operateur.demo")
    assert exc.value.code == "REF-024"
    add_ehpad_mapping(ref_session, "1241763", cat.id, "vérifié sur la fiche", "operateur.demo")
    fact = lookup.lpp("1241763", date(2026, 8, 1))
    assert (fact.ehpad_category, fact.ehpad_reason) == ("Déambulateur", "vérifié sur la fiche")
    with pytest.raises(AmeliproError) as exc:
        add_ehpad_mapping(ref_session, "1241763", cat.id, "doublon", "operateur.demo")
    assert exc.value.code == "REF-022"
    actions = set(ref_session.scalars(select(AuditEvent.action)))
    assert {"reference.ehpad.add", "reference.ehpad.remove", "reference.import"} <= actions


def test_diff_page_and_api_show_the_change(app, client, ref_session, tmp_path):
    source = _modified_release(tmp_path)
    result = import_reference(ref_session, ImportConfig(source=source, effective=NEW_RELEASE))
    bdpm = next(r for r in result.runs if r.dataset == "bdpm")
    page = client.get(f"/referentiels/imports/{bdpm.id}").get_data(as_text=True)
    assert "3400935955838" in page and "prix : 1,16\u00a0€" in page and "prix : 1,20\u00a0€" in page
    assert "3400934744198" in page  # removed code listed
    data = client.get(f"/api/v1/reference/imports/{bdpm.id}/diff").get_json()
    assert data["changed"][0]["after"]["price"] == "1.20"
    earlier = client.get("/api/v1/reference/medicines/3400935955838?at=2026-08-31").get_json()
    later = client.get("/api/v1/reference/medicines/3400935955838?at=2026-09-01").get_json()
    assert (earlier["in_force"]["price"], later["in_force"]["price"]) == ("1.16", "1.20")
    assert len(later["history"]) == 2


def test_unreadable_release_is_recorded_and_changes_nothing(ref_session, tmp_path):
    target = tmp_path / "broken"
    shutil.copytree(DEMO_DIR, target)
    (target / "lpp" / "lpp.json").write_text("{ pas du JSON", encoding="utf-8")
    before = counts(ref_session)
    with pytest.raises(AmeliproError) as exc:
        import_reference(ref_session, ImportConfig(source=target, effective=NEW_RELEASE, datasets=("lpp",)))
    assert exc.value.code == "REF-025"
    failed = ref_session.get(m.ImportRun, exc.value.extra["run_id"])
    assert failed.status == "failed" and "import interrompu" in failed.anomalies
    assert counts(ref_session) == before


def test_empty_release_does_not_close_everything(ref_session, tmp_path):
    target = tmp_path / "empty"
    shutil.copytree(DEMO_DIR, target)
    ccam = target / "ccam" / "ccam.csv"
    ccam.write_text("\n".join(ccam.read_text(encoding="utf-8").splitlines()[:3]) + "\n", encoding="utf-8")
    with pytest.raises(AmeliproError) as exc:
        import_reference(ref_session, ImportConfig(source=target, effective=NEW_RELEASE, datasets=("ccam",)))
    assert exc.value.code == "REF-025" and "import refusé" in exc.value.detail
    assert SqlReferenceLookup(ref_session).act("DEQP003", NEW_RELEASE).tariff == Decimal("14.77")


def test_source_without_annex_keeps_the_categories(ref_session):
    categories = [(c.label, c.position) for c in ref_session.scalars(select(m.EhpadCategory))]
    v900 = REFERENCE_TEST_DATA / "lpp_official" / "v900"
    result = import_reference(ref_session, ImportConfig(source=v900))
    ehpad = next(r for r in result.runs if r.dataset == "ehpad")
    assert (ehpad.changed, ehpad.closed) == (0, 0)
    assert [(c.label, c.position) for c in ref_session.scalars(select(m.EhpadCategory))] == categories


def test_release_without_a_date_takes_effect_today_in_paris(ref_session):
    """A release whose files carry no date takes effect on the gateway's day (Paris, read
    through ``amelipro.clock``), not the server's local date: at 23:30 UTC on 31 December it
    is already 1 January in Paris."""
    from datetime import UTC, datetime

    from amelipro import clock

    with clock.frozen(datetime(2026, 12, 31, 23, 30, tzinfo=UTC)):
        result = import_reference(ref_session, ImportConfig(source=DEMO_DIR, datasets=("bdpm",)))
    (run,) = result.runs
    assert run.dataset == "bdpm" and run.status == "done"
    assert run.effective_date == date(2027, 1, 1)
