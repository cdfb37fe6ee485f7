"""Référentiels in Chromium, without logging in (demo set, plus a BDPM release of 1 Sept 2026
that lowers DOLIPRANE 1000 mg): search by a prefix, a medicine's price at two dates, an LPP
code, an NGAP key at two dates, French 404s; keyboard use. Then « Droits du patient » for the
demo doctor: one NIR, rights open at one date and closed at another."""

from __future__ import annotations

import re
import shutil
from datetime import date, timedelta

import pytest
from playwright.sync_api import expect

from amelipro.errors import REGISTRY
from tests.browser.a11y import assert_accessible

DOLIPRANE = "3400935955838"
PRICE_CUT = date(2026, 9, 1)


@pytest.fixture
def price_cut(app, reference_demo, tmp_path):
    """The demo BDPM again, effective 1 Sept 2026, with DOLIPRANE 1000 mg at 1,06 € (was 1,16 €)."""
    from amelipro.reference.importers import DEMO_DIR
    from amelipro.reference.services import ImportConfig, import_reference

    source = tmp_path / "bdpm-septembre"
    shutil.copytree(DEMO_DIR, source)
    cip = source / "bdpm" / "CIS_CIP_bdpm.txt"
    text = cip.read_text(encoding="utf-8")
    assert f"{DOLIPRANE}\toui\t65%\t1,16\t2,18\t1,02" in text
    cip.write_text(text.replace(f"{DOLIPRANE}\toui\t65%\t1,16\t2,18", f"{DOLIPRANE}\toui\t65%\t1,06\t2,08"),
                   encoding="utf-8")
    with app.app_context():
        session = app.extensions["amelipro.sessionmaker"]()
        import_reference(session, ImportConfig(source=source, effective=PRICE_CUT, datasets=("bdpm",), actor="test"))
        session.close()


def _in_force(page):
    return page.get_by_test_id("in-force")


def test_search_medicine_lpp_act_at_dates_and_404(page, live_server, price_cut):
    page.goto(f"{live_server}/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Connexion")  # the home page needs a login
    assert_accessible(page)
    page.get_by_role("navigation", name="Navigation principale").get_by_role("link", name="Référentiels").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Référentiels")
    expect(page.get_by_test_id("summary")).to_contain_text("présentations de médicaments")
    assert_accessible(page)

    # Keyboard only: the search field has the focus, Enter submits.
    search_field = page.get_by_label("Code, nom, substance ou laboratoire")
    expect(search_field).to_be_focused()
    page.get_by_label("Tarifs en vigueur le").fill("2026-10-01")
    search_field.focus()
    page.keyboard.type("dolip")
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"q=dolip"))
    results = page.get_by_test_id("results")
    expect(results.locator("thead th").last).to_have_text("Au 01/10/2026")
    row = results.locator("tbody tr").filter(has_text=DOLIPRANE)
    expect(row.get_by_role("link")).to_have_text("DOLIPRANE 1000 mg, comprimé")
    expect(row.locator("td").last).to_have_text("65 % · 1,06 €")  # the price in force on 1 Oct
    assert_accessible(page)

    # The medicine: its price at the chosen date, then at another one
    row.get_by_role("link").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("DOLIPRANE 1000 mg, comprimé")
    expect(_in_force(page).get_by_role("heading")).to_have_text("En vigueur le 01/10/2026")
    expect(_in_force(page)).to_contain_text("Prix (hors honoraire)1,06 €")
    assert_accessible(page)
    page.get_by_label("Tarifs en vigueur le").fill("2026-08-01")
    page.get_by_role("button", name="Afficher").click()
    expect(page).to_have_url(re.compile(r"at=2026-08-01"))
    expect(_in_force(page).get_by_role("heading")).to_have_text("En vigueur le 01/08/2026")
    expect(_in_force(page)).to_contain_text("Prix (hors honoraire)1,16 €")
    expect(_in_force(page)).to_contain_text("Prix honoraire inclus2,18 €")
    history = page.locator("section", has=page.get_by_role("heading", name="Historique des prix et taux"))
    expect(history.locator("tbody tr")).to_have_count(2)
    expect(history.locator("tbody tr").first).to_contain_text("31/08/2026")  # the old price closed the day before
    # Skip link: the first Tab reaches it, Enter moves the focus to the content
    skip = page.get_by_role("link", name="Aller au contenu")
    expect(skip).not_to_be_in_viewport()  # off-screen until focused (app.css)
    page.keyboard.press("Tab")
    expect(skip).to_be_focused()
    expect(skip).to_be_in_viewport()
    page.keyboard.press("Enter")
    expect(page.locator("main")).to_be_focused()

    # An LPP code found by its code, with its EHPAD category
    page.get_by_role("navigation", name="Référentiels").get_by_role("link", name="Recherche").click()
    page.get_by_label("Code, nom, substance ou laboratoire").fill("1241763")
    page.get_by_role("button", name="Rechercher").click()
    hit = page.get_by_test_id("results").locator("tbody tr").first
    expect(hit).to_contain_text("code exact")
    hit.get_by_role("link").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("LPP 1241763")
    expect(_in_force(page)).to_contain_text("tarif inconnu")
    expect(page.get_by_test_id("ehpad")).to_contain_text("Compris dans le forfait soins des EHPAD")
    expect(page.get_by_test_id("ehpad")).to_contain_text("Lit médical et accessoires")
    assert_accessible(page)

    # An NGAP key: 26,50 € before 22 Dec 2024, 30,00 € from that day
    page.goto(f"{live_server}/referentiels/actes/G?at=2024-12-21")
    expect(page.get_by_role("heading", level=1)).to_have_text("Code NGAP G")
    expect(_in_force(page)).to_contain_text("Valeur de la lettre clé26,50 €")
    page.get_by_label("Tarifs en vigueur le").fill("2024-12-22")
    page.get_by_role("button", name="Afficher").click()
    expect(_in_force(page).get_by_role("heading")).to_have_text("En vigueur le 22/12/2024")
    expect(_in_force(page)).to_contain_text("Valeur de la lettre clé30,00 €")
    assert_accessible(page)
    assert page.watch.failed == []

    # Unknown codes: a French 404 page with the code's message and hint
    missing = {f"{live_server}/referentiels/medicaments/3400000000000": "REF-001",
               f"{live_server}/referentiels/actes/XXXX999": "REF-003"}
    for url, code in missing.items():
        page.goto(url)
        expect(page.get_by_role("heading", level=1)).to_have_text("Page introuvable")
        alert = page.get_by_role("alert")
        expect(alert.locator("strong")).to_have_text(REGISTRY[code].message)
        expect(alert).to_have_attribute("data-code", code)  # for support; not in the text for people
        expect(alert).not_to_contain_text(code)
        expect(alert).to_contain_text(REGISTRY[code].hint)
        assert_accessible(page)
    assert page.watch.failed == [f"{url} 404" for url in missing]
    assert page.watch.foreign == []


GARCIA = "1 85 07 44 109 222 44"  # demo file: rights open since 2020, closed 60 days ago


def test_patient_rights_at_a_date(app, page, live_server, login):
    from amelipro.beneficiaries.services import seed_demo

    today = date.today()
    with app.app_context():
        session = app.extensions["amelipro.sessionmaker"]()
        seed_demo(session, today)
        session.close()
    login(page, "medecin.demo")
    page.get_by_role("navigation", name="Navigation principale").get_by_role("link", name="Droits du patient").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Droits du patient")
    assert_accessible(page)
    earlier = today - timedelta(days=90)
    page.get_by_label("NIR (13 caractères + clé)").fill(GARCIA)
    page.get_by_label("Date de naissance").fill("1985-07-30")
    page.get_by_label("Date des soins").fill(earlier.isoformat())
    page.get_by_role("button", name="Consulter les droits").click()
    expect(page.get_by_role("heading", level=2)).to_have_text(f"Au {earlier:%d/%m/%Y} — NIR {GARCIA}")
    assert GARCIA.replace(" ", "") not in page.url  # Post/Redirect/Get: no NIR in the address
    person = page.get_by_test_id("beneficiary")
    expect(person).to_have_count(1)
    expect(person.get_by_role("heading")).to_have_text("Rang 1")
    expect(person.get_by_test_id("rights-status")).to_have_text("Droits ouverts")
    expect(person.get_by_test_id("covers")).to_have_text("Aucune à cette date")
    expect(page.get_by_text("GARCIA")).to_have_count(0)  # only what billing needs
    assert_accessible(page)
    page.reload()  # F5 shows the same answer (no second lookup)
    expect(page.get_by_test_id("rights-status")).to_have_text("Droits ouverts")
    page.get_by_label("NIR (13 caractères + clé)").fill(GARCIA)
    page.get_by_label("Date de naissance").fill("1985-07-30")
    page.get_by_label("Date des soins").fill(today.isoformat())
    page.get_by_role("button", name="Consulter les droits").click()
    expect(page.get_by_role("heading", level=2)).to_have_text(f"Au {today:%d/%m/%Y} — NIR {GARCIA}")
    expect(page.get_by_test_id("rights-status")).to_have_text("Droits fermés")
    assert page.watch.failed == []
    assert page.watch.foreign == []
