"""Facturation in Chromium: the demo doctor checks then sends a signed lot (one valid FSE, one
with a rule error), reads the ARL in French, opens the rejected FSE, finds the lot in the list;
the same file altered after signing is refused whole."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from amelipro.errors import REGISTRY
from amelipro.xmlcore.arl import read_arl
from tests.browser.a11y import assert_accessible
from tests.fixtures_fse import install_gateway_pki, signed_lot


@pytest.fixture
def lot_file(app, live_server, pki, reference_demo, tmp_path):
    """A lot signed with the test PKI's doctor key (the demo doctor's RPPS): FSE 1 valid,
    FSE 2 with a wrong NIR key; the app trusts the test CA, acts and patients are loaded."""
    from amelipro.auth.models import Professional
    from amelipro.beneficiaries.services import seed_demo
    from amelipro.fse.demo import build_sheets, make_invalid

    install_gateway_pki(app, pki)
    with app.app_context():
        session = app.extensions["amelipro.sessionmaker"]()
        seed_demo(session, date.today())
        doctor = session.scalar(select(Professional).where(Professional.login == "medecin.demo"))
        valid, other = build_sheets(session, doctor, 2, 0.0, today=date.today(), seed=3).sheets
        session.close()
    invalid = make_invalid(other, "nir_key", date.today(), None, None)
    path = tmp_path / "lot-cabinet.xml"
    path.write_bytes(signed_lot([valid, invalid], pki.medecin, number="L-NAVIGATEUR-1"))
    return path, (valid, invalid)


def test_check_then_send_a_lot_and_read_the_rejection(page, live_server, login, lot_file):
    path, (valid, invalid) = lot_file
    nir_error = REGISTRY["FSE-R-001"]
    login(page, "medecin.demo")
    page.get_by_role("navigation", name="Navigation principale").get_by_role("link", name="Facturation").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Facturation")
    expect(page.get_by_text("Aucun lot envoyé pour l'instant.")).to_be_visible()
    assert_accessible(page)

    # 1. Check only: the report, and nothing stored
    page.get_by_role("link", name="Envoyer ou vérifier un lot signé").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Envoyer ou vérifier un lot signé")
    assert_accessible(page)
    page.get_by_label("Fichier du lot signé (XML)").set_input_files(path)
    page.get_by_role("button", name="Vérifier sans envoyer").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Rapport de vérification")
    report = page.get_by_test_id("arl-positive")
    expect(report.get_by_role("heading")).to_have_text("Lot lisible")
    expect(report).to_contain_text("Si vous l'envoyez : 1 feuille(s) de soins acceptée(s), 1 rejetée(s).")
    expect(report).to_contain_text("Rien n'a été enregistré.")
    rows = page.get_by_test_id("report-fses").locator("tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.nth(1).locator("[data-code='FSE-R-001']")).to_contain_text(nir_error.message)
    expect(rows.nth(1).get_by_role("link")).to_have_count(0)  # nothing stored, nothing to open
    assert_accessible(page)
    page.get_by_role("link", name="← Facturation").click()
    expect(page.get_by_text("Aucun lot envoyé pour l'instant.")).to_be_visible()
    expect(page.get_by_test_id("lots")).to_have_count(0)

    # 2. Send: the ARL in French, then the rejected FSE
    page.get_by_role("link", name="Envoyer ou vérifier un lot signé").click()
    page.get_by_label("Fichier du lot signé (XML)").set_input_files(path)
    page.get_by_role("button", name="Envoyer le lot").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Accusé de réception du lot")
    expect(page.get_by_text("Fichier : lot-cabinet.xml")).to_be_visible()
    arl = page.get_by_role("status")
    expect(arl.get_by_role("heading")).to_have_text(re.compile(r"^Lot reçu \(n° \d+\)$"))
    expect(arl).to_contain_text("1 feuille(s) de soins acceptée(s), 1 rejetée(s).")
    expect(arl).to_contain_text("Les feuilles rejetées ne seront pas payées")
    lot_number = re.search(r"n° (\d+)", arl.get_by_role("heading").inner_text()).group(1)
    rows = page.get_by_test_id("report-fses").locator("tbody tr")
    expect(rows.nth(0).locator("[data-status]")).to_have_text("Acceptée")
    expect(rows.nth(1).locator("[data-status]")).to_have_text("Rejetée")
    assert_accessible(page)
    with page.expect_download() as download:  # the signed ARL, as the practice software gets it
        arl.get_by_role("link", name="Télécharger l'ARL signé").click()
    assert download.value.suggested_filename == f"arl-lot-{lot_number}.xml"
    received = read_arl(Path(download.value.path()).read_bytes())
    assert (received.accepted, received.rejected) == (1, 1)
    rows.nth(1).get_by_role("link", name=invalid.invoice_number).click()

    expect(page.get_by_role("heading", level=1)).to_have_text(f"Feuille de soins {invalid.invoice_number} Rejetée")
    reasons = page.get_by_role("region", name=re.compile(r"^Motifs de rejet"))
    error = reasons.locator("li[data-code='FSE-R-001']")
    expect(error.locator("code")).to_have_count(0)  # the code only in data-code, not for people
    expect(error.locator(".where")).to_contain_text("Emplacement : NIR du patient")
    expect(error.locator(".where")).not_to_contain_text("/Lot")  # no XPath on the page
    expect(error).to_contain_text(nir_error.message)
    expect(error.locator(".hint")).to_have_text(f"Comment corriger : {nir_error.hint}")
    expect(error.locator(".where")).to_contain_text("ligne")  # located in the received document
    expect(page.get_by_test_id("fse-totals")).to_be_visible()
    assert_accessible(page)

    # 3. The lot in the list, partially accepted; its page filters the rejected FSE
    page.get_by_role("navigation", name="Navigation principale").get_by_role("link", name="Facturation").click()
    lots = page.get_by_test_id("lots").locator("tbody tr")
    expect(lots).to_have_count(1)
    expect(lots.first).to_contain_text(f"n° {lot_number} (L-NAVIGATEUR-1)")
    expect(lots.first.locator("td.num")).to_have_text(["2", "1", "1", "0", re.compile(r"\d+,\d\d\s€")])
    expect(lots.first.locator("[data-status]")).to_have_text("Partiellement accepté")
    lots.first.get_by_role("link").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Lot n° {lot_number} Partiellement accepté")
    page.get_by_role("navigation", name="Filtrer les feuilles de soins").get_by_role("link", name="rejetées").click()
    fses = page.get_by_test_id("lot-fses")
    expect(fses.locator("caption")).to_have_text("Feuilles de soins du lot : rejetées (1)")
    expect(fses.locator("tbody tr")).to_have_count(1)
    expect(fses.locator("tbody tr")).to_contain_text(invalid.invoice_number)
    expect(fses).not_to_contain_text(valid.invoice_number)
    assert_accessible(page)

    # 4. The same file altered after signing: the whole lot refused, nothing stored
    tampered = path.with_name("lot-modifie.xml")
    body = path.read_bytes()
    tampered.write_bytes(re.sub(rb"<DateNaissance>(\d{4})",
                                lambda m: b"<DateNaissance>%d" % (int(m.group(1)) - 1), body, count=1))
    page.goto(f"{live_server}/facturation/envoyer")
    page.get_by_label("Fichier du lot signé (XML)").set_input_files(tampered)
    page.get_by_role("button", name="Envoyer le lot").click()
    refused = page.get_by_role("alert")
    expect(refused.get_by_role("heading")).to_have_text("Lot refusé")
    expect(refused).to_contain_text("Le lot est refusé en entier : aucune feuille de soins n'a été enregistrée.")
    signature_error = REGISTRY["FSE-SIG-003"]
    expect(refused.locator("li[data-code='FSE-SIG-003'] strong")).to_have_text(signature_error.message)
    expect(refused.locator("li[data-code='FSE-SIG-003'] .hint")).to_have_text(f"Comment corriger : {signature_error.hint}")
    assert_accessible(page)
    page.get_by_role("link", name="← Facturation").click()
    expect(page.get_by_test_id("lots").locator("tbody tr")).to_have_count(1)

    assert page.watch.failed == []
    assert page.watch.foreign == []
