"""Messagerie in Chromium: the demo doctor files a complaint from a payment rejected 2900 005
with a PDF attached; the caisse agent answers and grants 21,00 €; the doctor sees the answer
(unread count), and after the next liquidation the adjustment is in Paiements and in
GET /api/v1/returns; the penalty claim of May carries its CSV and total; the pharmacist reads
none of it and the caisse pages are closed to professionals."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import pytest
from playwright.sync_api import expect

from amelipro.thirdparty.demo import nir_with_key
from amelipro.thirdparty.liquidation import LiquidationConfig, run_liquidation
from amelipro.thirdparty.tracking import track_accepted
from tests.browser.a11y import assert_accessible
from tests.fixtures_messaging import pdf_bytes
from tests.fixtures_thirdparty import professionals_by_login

LIQ_DAY = date(2026, 5, 22)
NEXT_LIQ = date(2026, 6, 1)


@pytest.fixture
def demo_payments(app, live_server, make_accepted_fse, tp_lookup, tp_session):
    app.config["THIRDPARTY_TODAY"] = "2026-05-29"
    pros = professionals_by_login(tp_session)
    doctor, pharmacist = pros["medecin.demo"], pros["pharmacien.demo"]
    nir = nir_with_key("2750575001002")
    make_accepted_fse(doctor, invoice_number="CAB-PAYEE", nir=nir)
    make_accepted_fse(doctor, invoice_number="CAB-DOUBLE", nir=nir)  # the same care again: 2900 005
    make_accepted_fse(pharmacist, invoice_number="PHA-SECRET")
    run_liquidation(tp_session, LiquidationConfig(today=LIQ_DAY), lookup=tp_lookup)
    make_accepted_fse(doctor, invoice_number="CAB-RETARD")  # acknowledged 11 May, unpaid: penalties
    with tp_session() as session:
        track_accepted(session)
    return pros


def _logout(page):
    page.get_by_role("button", name="Se déconnecter").click()
    expect(page.get_by_role("heading", level=1)).to_be_visible()


def test_complaint_answer_grant_liquidation_and_feed(page, live_server, login, demo_payments, tmp_path, tp_session,
                                                     tp_lookup, api_token):
    proof = tmp_path / "preuve-paiement.pdf"
    proof.write_bytes(pdf_bytes("Releve de compte"))
    login(page, "medecin.demo")
    page.goto(f"{live_server}/paiements/factures?statut=rejetee")
    page.get_by_role("link", name="CAB-DOUBLE").click()
    expect(page.get_by_test_id("reject").locator("code[data-code]")).to_have_text("2900 005")
    page.get_by_role("link", name="Faire une réclamation").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Faire une réclamation")
    expect(page.get_by_label("Catégorie")).to_have_value("reclamation_paiement")
    body = page.get_by_label("Message")
    expect(body).to_have_value(re.compile(r"facture CAB-DOUBLE"))
    expect(body).to_have_value(re.compile(r"Motif du rejet : 2900 005 — "))
    expect(body).to_have_value(re.compile(r"Part AMO demandée : 21,00"))
    expect(body).not_to_have_value(re.compile(r"2750575001002"))  # initials only, never the NIR
    assert_accessible(page)
    page.get_by_label(re.compile(r"^Pièces jointes")).set_input_files(proof)
    page.get_by_role("button", name="Envoyer à la caisse").click()
    expect(page.get_by_text("Votre message est envoyé à la caisse.")).to_be_visible()
    expect(page.get_by_test_id("attachment")).to_have_text("preuve-paiement.pdf")
    thread_url = page.url.split("?")[0]
    assert_accessible(page)
    _logout(page)

    # The caisse agent: inbox, the linked payment read only, assign, answer, grant 21,00 €
    login(page, "caisse.demo")
    page.get_by_role("navigation", name="Navigation principale").get_by_role("link", name=re.compile("Demandes")).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Demandes des professionnels")
    assert_accessible(page)
    row = page.get_by_test_id("inbox").locator("tbody tr")
    expect(row).to_have_count(1)
    expect(row).to_contain_text("Dr Claire Martin")
    row.get_by_role("link").click()
    expect(page.get_by_test_id("linked-payment")).to_contain_text("2900 005")
    expect(page.get_by_test_id("linked-payment")).to_contain_text("Rejetée")
    assert_accessible(page)
    with page.expect_download() as download:
        page.get_by_test_id("attachment").click()
    assert Path(download.value.path()).read_bytes() == proof.read_bytes()
    page.get_by_role("button", name="M'attribuer cette demande").click()
    page.get_by_label("Réponse", exact=True).fill("Nous vérifions le double paiement.")
    page.get_by_role("button", name="Envoyer la réponse").click()
    expect(page.get_by_test_id("messages").locator("li.msg")).to_have_count(2)
    page.get_by_label("Accordée").check()
    page.get_by_label(re.compile(r"^Montant accordé")).fill("21,00")
    page.get_by_role("button", name="Clôturer").click()
    expect(page.get_by_test_id("closed")).to_have_text(re.compile(r"Accordée, 21,00\s€"))
    _logout(page)

    # The doctor: two unread answers, in the navigation and on the home page
    login(page, "medecin.demo")
    expect(page.get_by_test_id("nav-unread")).to_have_text(re.compile(r"^2"))
    expect(page.get_by_text("Messages non lus")).to_be_visible()
    page.get_by_role("navigation", name="Navigation principale").get_by_role("link", name=re.compile("Messagerie")).click()
    expect(page.get_by_test_id("threads").locator("[data-testid=unread]")).to_have_text("2")
    page.get_by_test_id("threads").get_by_role("link").click()
    assert page.url == thread_url
    expect(page.get_by_test_id("outcome")).to_contain_text("Montant accordé : 21,00 €")
    expect(page.get_by_test_id("outcome")).to_contain_text("Accordée, à payer à la prochaine liquidation")
    page.get_by_role("button", name="Marquer comme lu").click()
    expect(page.get_by_test_id("nav-unread")).to_have_count(0)

    # The next liquidation pays it: Paiements (state and timeline), then the returns feed
    run_liquidation(tp_session, LiquidationConfig(today=NEXT_LIQ), lookup=tp_lookup)
    page.goto(f"{live_server}/paiements/")
    adjustments = page.get_by_test_id("adjustments")
    expect(adjustments.locator("[data-adjustment=payee]")).to_contain_text("21,00 €")
    expect(adjustments).to_contain_text("valeur 01/06/2026")
    adjustments.get_by_role("link", name="facture CAB-DOUBLE").click()
    expect(page.get_by_test_id("adjustments")).to_contain_text("Payée")
    expect(page.get_by_test_id("timeline").locator("li[data-event=regul_payee]")).to_contain_text(
        "Régularisation de 21,00\u00a0€ payée par virement, valeur 01/06/2026.")
    assert_accessible(page)
    token = api_token(demo_payments["medecin.demo"])
    feed = page.request.get(f"{live_server}/api/v1/returns", headers={"Authorization": f"Bearer {token}"}).json()
    regularisations = [r for r in feed["returns"] if r["kind"] == "regularisation"]
    assert len(regularisations) == 1
    assert regularisations[0]["amounts"]["amo_paid"] == "21.00"
    assert regularisations[0]["invoice_number"] == "CAB-DOUBLE"
    assert regularisations[0]["virement"]["value_date"] == "2026-06-01"


def test_penalty_claim_carries_the_months_csv_and_total(page, live_server, login, demo_payments):
    login(page, "medecin.demo")
    page.goto(f"{live_server}/paiements/penalites?mois=2026-05")
    total = page.get_by_test_id("penalty-total").locator("strong").inner_text()
    with page.expect_download() as export:
        page.get_by_role("link", name="Exporter le relevé (CSV)").click()
    exported = Path(export.value.path()).read_bytes()
    page.get_by_role("link", name="Réclamer les pénalités de mai 2026").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Réclamer les pénalités de mai 2026")
    expect(page.get_by_test_id("claim-total")).to_have_text(total)
    expect(page.get_by_label("Message")).to_have_value(re.compile(re.escape(f"total {total}")))
    assert_accessible(page)
    page.get_by_role("button", name="Envoyer à la caisse").click()
    expect(page.get_by_test_id("claimed")).to_have_text(f"mai 2026 : {total}")
    expect(page.get_by_test_id("attachment")).to_have_text("penalites-2026-05.csv")
    with page.expect_download() as attached:
        page.get_by_test_id("attachment").click()
    assert attached.value.suggested_filename == "penalites-2026-05.csv"
    content = Path(attached.value.path()).read_bytes()
    assert content == exported
    assert content.decode("utf-8-sig").splitlines()[-1].endswith(total.replace("\u00a0€", "").replace(" €", ""))


def test_isolation_and_agent_pages_closed_to_professionals(page, live_server, login, demo_payments, tmp_path):
    proof = tmp_path / "secret.pdf"
    proof.write_bytes(pdf_bytes("Secret"))
    login(page, "medecin.demo")
    page.goto(f"{live_server}/messagerie/nouveau")
    page.get_by_label("Objet").fill("Question confidentielle")
    page.get_by_label("Message").fill("<script>alert('x')</script> contenu du docteur")
    page.get_by_label(re.compile(r"^Pièces jointes")).set_input_files(proof)
    page.get_by_role("button", name="Envoyer à la caisse").click()
    expect(page.locator("pre.msg-body")).to_have_text("<script>alert('x')</script> contenu du docteur")
    thread_url = page.url.split("?")[0]
    # 390 px wide: nothing overflows sideways (thread, list, new message)
    page.set_viewport_size({"width": 390, "height": 844})
    for url in (thread_url, f"{live_server}/messagerie/", f"{live_server}/messagerie/nouveau"):
        page.goto(url)
        assert page.evaluate("() => document.documentElement.scrollWidth") <= 390, url
    page.set_viewport_size({"width": 1280, "height": 800})
    page.goto(thread_url)
    attachment_url = page.get_by_test_id("attachment").get_attribute("href")
    _logout(page)
    login(page, "pharmacien.demo")
    for url in (thread_url, f"{live_server}{attachment_url}"):
        response = page.request.get(url)
        assert response.status == 404 and "Question confidentielle" not in response.text()
    page.goto(thread_url)
    expect(page.get_by_role("heading", level=1)).to_have_text("Page introuvable")
    expect(page.locator('[data-code="MSG-040"]')).to_be_visible()
    page.goto(f"{live_server}/messagerie/")
    expect(page.get_by_test_id("summary")).to_have_text("0 conversation(s).")
    response = page.goto(f"{live_server}/caisse/")
    assert response.status == 403
    expect(page.locator('[data-code="MSG-030"]')).to_be_visible()
    page.goto(f"{live_server}/messagerie/nouveau?paiement=1")
    expect(page.locator('[data-code="MSG-042"]')).to_be_visible()
