"""A professional's sector and specialty with dates: set by an operator (page and command),
shown on the account page, and read by the pricing of lots on the date of care."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal

import pytest

from amelipro.auth import practice
from amelipro.auth.models import Professional
from amelipro.errors import REGISTRY, AmeliproError
from amelipro.fse.demo import _amounts
from amelipro.fse.domain import LineKind
from amelipro.fse.pricing import ConventionSector, Sector
from amelipro.reference.queries import SqlReferenceLookup
from amelipro.xmlcore.arl import read_arl
from tests.api.test_fse_everyday_rules import sheet as everyday_sheet
from tests.conftest import csrf_from

PRACTICE_CODES = {"PRA-001", "PRA-002", "PRA-003", "PRA-004"}


def test_practice_codes_are_pinned():
    assert {c for c in REGISTRY if c.startswith("PRA-")} == PRACTICE_CODES
    for code in PRACTICE_CODES:
        assert REGISTRY[code].message and REGISTRY[code].hint


def test_set_practice_closes_the_previous_period(app, db_session, make_professional):
    pro = make_professional(login="docteur")
    pro = db_session.get(Professional, pro.id)
    practice.set_practice(db_session, pro, date(2024, 1, 1), ConventionSector.SECTOR_1, "Médecine générale")
    change = practice.set_practice(db_session, pro, date(2025, 1, 1), ConventionSector.SECTOR_2)
    assert change.closed.end == date(2024, 12, 31)
    history = practice.practice_history(db_session, pro.id)
    assert history.grid(date(2024, 12, 31)) == Sector.OPTAM and history.grid(date(2025, 1, 1)) == Sector.OTHER
    assert history.grid(date(2023, 12, 31)) == Sector.OPTAM  # nothing recorded then
    # the same start corrects the last period; an earlier one is refused
    practice.set_practice(db_session, pro, date(2025, 1, 1), ConventionSector.SECTOR_2_OPTAM)
    assert practice.practice_history(db_session, pro.id).at(date(2025, 6, 1)).sector == ConventionSector.SECTOR_2_OPTAM
    with pytest.raises(AmeliproError) as exc:
        practice.set_practice(db_session, pro, date(2024, 6, 1), ConventionSector.SECTOR_1)
    assert exc.value.code == "PRA-002"
    assert len(practice.practice_rows(db_session, pro.id)) == 2


def test_operator_page_sets_a_sector_and_the_account_shows_it(client, auth, make_professional):
    doctor = make_professional(login="docteur")
    make_professional(login="ops", rpps=None, role="operator")
    auth.login("ops")
    page = client.get(f"/operateur/professionnels/{doctor.id}")
    assert page.status_code == 200 and "Aucun secteur enregistré" in page.get_data(as_text=True)
    response = client.post(f"/operateur/professionnels/{doctor.id}", data={
        "csrf_token": csrf_from(page.get_data(as_text=True)), "start": "2025-01-01", "sector": "2_optam",
        "specialty": "Médecine générale"})
    assert response.status_code == 302  # Post/Redirect/Get
    listing = client.get("/operateur/professionnels").get_data(as_text=True)
    assert "Secteur 2 avec OPTAM" in listing
    bad = client.post(f"/operateur/professionnels/{doctor.id}", data={
        "csrf_token": csrf_from(page.get_data(as_text=True)), "start": "2024-01-01", "sector": "1"})
    assert bad.status_code == 400 and "Date de début invalide" in bad.get_data(as_text=True)
    wrong_sector = client.post(f"/operateur/professionnels/{doctor.id}", data={
        "csrf_token": csrf_from(page.get_data(as_text=True)), "start": "2026-01-01", "sector": "3"})
    assert wrong_sector.status_code == 400 and "Secteur conventionnel inconnu" in wrong_sector.get_data(as_text=True)
    no_date = client.post(f"/operateur/professionnels/{doctor.id}", data={
        "csrf_token": csrf_from(page.get_data(as_text=True)), "start": "demain", "sector": "1"})
    assert no_date.status_code == 400
    assert client.get("/operateur/professionnels/999999").status_code == 404
    auth.logout()
    auth.login("docteur")
    account = client.get("/compte").get_data(as_text=True)
    assert "Secteur 2 avec OPTAM" in account and "Médecine générale" in account and "01/01/2025" in account
    assert client.get("/operateur/professionnels").status_code == 403
    assert client.get(f"/operateur/professionnels/{doctor.id}").status_code == 403


def test_cli_sets_and_shows_the_sector(runner, make_professional):
    make_professional(login="docteur")
    result = runner.invoke(args=["pro", "secteur", "docteur", "--depuis", "2025-01-01", "--secteur", "2",
                                 "--specialite", "Cardiologie"])
    assert result.exit_code == 0, result.output
    assert "Secteur 2 à partir du 01/01/2025" in result.output
    shown = runner.invoke(args=["pro", "voir", "docteur"])
    assert "Secteur 2" in shown.output and "Cardiologie" in shown.output
    unknown = runner.invoke(args=["pro", "secteur", "personne", "--depuis", "2025-01-01", "--secteur", "1"])
    assert unknown.exit_code != 0 and "PRA-003" in unknown.output
    bad_date = runner.invoke(args=["pro", "secteur", "docteur", "--depuis", "01/01/2025", "--secteur", "1"])
    assert bad_date.exit_code != 0 and "AAAA-MM-JJ" in bad_date.output


def test_lot_is_priced_with_the_sector_on_the_date_of_care(client, fse_env, runner):
    """Sector 2 from yesterday: an ECG the day before is on the sector 1 grid, yesterday's on
    the other grid (14,77 € / 13,81 €, CCAM v81). A software pricing both on the sector 1 grid
    is right the day before and wrong yesterday."""
    yesterday = date.today() - timedelta(days=1)
    result = runner.invoke(args=["pro", "secteur", fse_env.doctor.login, "--depuis", yesterday.isoformat(),
                                 "--secteur", "2"])
    assert result.exit_code == 0, result.output
    headers = {"Authorization": f"Bearer {fse_env.token}", "Content-Type": "application/xml"}
    for day, ok in ((yesterday - timedelta(days=1), True), (yesterday, False)):
        care = everyday_sheet(fse_env, ("G", {}), day=day)
        ecg = replace(care.lines[0], kind=LineKind.CCAM, code="DEQP003", amounts=None)
        with fse_env.app.app_context():
            session = fse_env.app.extensions["amelipro.sessionmaker"]()
            care = _amounts(replace(care, lines=(ecg,)), SqlReferenceLookup(session), None)  # sector 1 grid
            session.close()
        assert care.totals.base == Decimal("14.77")
        response = client.post("/api/v1/lots", data=fse_env.lot([care], number=f"L-S{day}"), headers=headers)
        fse = read_arl(response.data).fses[0]
        codes = [e.code for e in fse.errors]
        assert codes == ([] if ok else ["FSE-R-015", "FSE-R-016"]), codes
        if not ok:
            assert "13,81" in fse.errors[0].detail
