"""Online billing in Chromium: the demo doctor bills a G for a demo patient (30,00 € base,
21,00 € AMO, 2,00 € participation), signs after re-entering the password and gets a positive
acknowledgement, then finds the FSE in Facturation and Paiements; a pharmacist bills two boxes
of a real medicine found by its name; an error shown beside its field cannot be sent; a rejected
FSE is corrected and resent; keyboard only; 390 px wide without horizontal scrolling."""

from __future__ import annotations

import re
from datetime import date

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from amelipro.demo import DEMO_ACCOUNTS
from tests.browser.a11y import assert_accessible, watch_with_axe
from tests.fixtures_fse import install_gateway_pki, signed_lot
from tests.fixtures_online import MARTIN_NIR
from tests.fixtures_reference import SHARED_DATA

PASSWORDS = {a.login: a.password for a in DEMO_ACCOUNTS}
SPACED_NIR = "2 82 08 19 398 814 " + MARTIN_NIR[13:]


@pytest.fixture
def ready(app, runner, live_server, pki, reference_demo):
    """What `make run` sets up: demo accounts and patients, the gateway's keys (the test PKI's,
    so that lots signed by the test doctor are trusted) and `pki init-demo`'s online-signing
    certificates."""
    from amelipro.beneficiaries.services import seed_demo

    install_gateway_pki(app, pki)
    with app.app_context():
        session = app.extensions["amelipro.sessionmaker"]()
        seed_demo(session, date.today())
        session.close()
    result = runner.invoke(args=["pki", "init-demo"])
    assert result.exit_code == 0, result.output
    return live_server


def _open_new_sheet(page):
    page.get_by_role("navigation", name="Navigation principale").get_by_role("link", name="Facturation").click()
    page.get_by_role("link", name="Nouvelle feuille de soins").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Nouvelle feuille de soins")


def _fill_patient(page, nir=SPACED_NIR, birth="19/08/1982"):
    page.get_by_label("NIR (numéro de sécurité sociale)").fill(nir)
    page.get_by_label("Date de naissance").fill(birth)


def _sign(page, login):
    page.get_by_role("button", name="Signer et envoyer…").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Signer et envoyer la feuille")
    assert_accessible(page)
    page.get_by_label("Confirmez votre mot de passe pour signer").fill(PASSWORDS[login])
    page.get_by_role("button", name="Signer et envoyer").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Décompte pour le patient")


def test_demo_doctor_bills_a_g_consultation_online(page, ready, login, runner):
    login(page, "medecin.demo")
    _open_new_sheet(page)
    assert_accessible(page)
    nav = page.get_by_role("navigation", name="Navigation principale")
    expect(nav.get_by_role("link", name="Facturation")).to_have_attribute("aria-current", "page")
    _fill_patient(page)
    expect(page.get_by_test_id("patient")).to_contain_text("Claire MARTIN")
    expect(page.get_by_test_id("patient")).to_contain_text("droits ouverts")
    page.get_by_label("Ligne 1 : code").fill("G")
    totals = page.get_by_test_id("totals")
    expect(page.get_by_test_id("total-base")).to_have_text("30,00\u00a0€")  # live, by the JSON endpoint
    expect(page.get_by_test_id("total-amo")).to_have_text("21,00\u00a0€")
    expect(page.get_by_test_id("total-participation")).to_have_text("2,00\u00a0€")
    expect(page.get_by_test_id("line-1-amounts")).to_contain_text("70 %")
    expect(totals).to_be_visible()
    # « Calculer » (the way without JavaScript) gives the same figures from the server
    page.get_by_role("button", name="Calculer").click()
    expect(page.get_by_test_id("total-amo")).to_have_text("21,00\u00a0€")
    _sign(page, "medecin.demo")
    ack = page.get_by_test_id("ack")
    expect(ack).to_contain_text("Accusé de réception positif")
    expect(page.get_by_test_id("receipt-amo")).to_have_text("21,00\u00a0€")
    expect(page.get_by_test_id("receipt-participation")).to_have_text("2,00\u00a0€")
    expect(page.get_by_test_id("receipt-invoice")).to_have_text(re.compile(r"^EL\d{8}$"))
    invoice = page.get_by_test_id("receipt-invoice").inner_text()
    assert_accessible(page)
    assert page.watch.failed == [] and page.watch.foreign == []
    # in Facturation, marked « saisie en ligne »
    page.get_by_role("navigation", name="Navigation principale").get_by_role("link", name="Facturation").click()
    expect(page.get_by_test_id("online")).to_have_text("saisie en ligne")
    # then in Paiements once the caisse has processed it
    assert runner.invoke(args=["thirdparty", "liquidate"]).exit_code == 0
    page.get_by_role("navigation", name="Navigation principale").get_by_role("link", name="Paiements").click()
    page.goto(page.url.split("/paiements")[0] + "/paiements/factures")
    expect(page.get_by_test_id("payments")).to_contain_text(invoice)


def test_an_error_is_shown_beside_its_field_and_cannot_be_sent(page, ready, login):
    login(page, "medecin.demo")
    _open_new_sheet(page)
    _fill_patient(page)
    page.get_by_label("Ligne 1 : type").select_option("ccam")
    page.get_by_label("Ligne 1 : code").fill("ZZZZ999")
    errors = page.locator("#err-lines-1-code")
    expect(errors).to_contain_text("inconnu")
    expect(page.get_by_label("Ligne 1 : code")).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#sheet-form")).not_to_contain_text("/FSE")  # no XPath on this page
    page.get_by_role("button", name="Signer et envoyer…").click()
    expect(page.get_by_test_id("sheet-errors")).to_contain_text("ne peut pas être envoyée")
    expect(page.get_by_role("button", name="Signer et envoyer")).to_have_count(0)
    assert_accessible(page)


def test_rejected_fse_corrected_and_resent(page, ready, login, app, pki):
    from amelipro.auth.models import Professional
    from amelipro.fse.demo import build_sheets, make_invalid

    with app.app_context():
        session = app.extensions["amelipro.sessionmaker"]()
        doctor = session.scalar(select(Professional).where(Professional.login == "medecin.demo"))
        valid = build_sheets(session, doctor, 1, 0.0, today=date.today(), seed=5).sheets[0]
        session.close()
    invalid = make_invalid(valid, "nir_key", date.today(), None, None)
    login(page, "medecin.demo")
    base = "/".join(page.url.split("/", 3)[:3])
    from amelipro.auth.services import create_token
    from amelipro.fse.models import StoredFse

    with app.app_context():
        session = app.extensions["amelipro.sessionmaker"]()
        token = create_token(session, session.get(Professional, doctor.id), "Logiciel").secret
        session.close()
    # the practice software sends it in a lot; it is rejected (NIR key)
    sent = page.request.post(base + "/api/v1/lots", data=signed_lot([invalid], pki.medecin),
                             headers={"Authorization": f"Bearer {token}", "Content-Type": "application/xml"})
    assert sent.status == 201
    with app.app_context():
        session = app.extensions["amelipro.sessionmaker"]()
        rejected = session.scalar(select(StoredFse.id).where(StoredFse.invoice_number == invalid.invoice_number))
        session.close()
    page.goto(f"{base}/facturation/fse/{rejected}")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Rejetée")
    page.get_by_role("button", name="Corriger").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("(brouillon)")
    expect(page.get_by_text("Correction de la feuille rejetée")).to_be_visible()
    nir = page.get_by_label("NIR (numéro de sécurité sociale)")
    expect(nir).to_have_value(invalid.patient.nir)
    expect(page.locator("#err-nir")).to_contain_text("NIR du patient invalide")
    nir.fill(valid.patient.nir)
    expect(page.locator("#err-nir")).to_be_empty()
    _sign(page, "medecin.demo")
    expect(page.get_by_test_id("ack")).to_contain_text("Accusé de réception positif")
    expect(page.get_by_test_id("receipt-invoice")).to_have_text(invalid.invoice_number)
    page.get_by_role("link", name=re.compile(r"^← Feuille de soins")).click()
    expect(page.get_by_text("Correction de la feuille rejetée")).to_be_visible()


def _tab_to(page, element_id: str, limit: int = 80) -> None:
    for _ in range(limit):
        if page.evaluate("() => document.activeElement && document.activeElement.id") == element_id:
            return
        page.keyboard.press("Tab")
    raise AssertionError(f"#{element_id} never reached with Tab")


def _tab_to_button(page, label: str, limit: int) -> None:
    def focused() -> str:
        return page.evaluate("() => document.activeElement.textContent")

    for _ in range(limit):
        if focused() == label:
            return
        page.keyboard.press("Tab")
    assert focused() == label, f"« {label} » never reached with Tab"


def test_keyboard_only(page, ready, login):
    login(page, "medecin.demo")
    page.goto(f"{ready}/facturation/feuille")
    _tab_to(page, "nir")
    page.keyboard.type(SPACED_NIR)
    page.keyboard.press("Tab")
    page.keyboard.type("19/08/1982")
    _tab_to(page, "lines-1-code")
    page.keyboard.type("G")
    expect(page.get_by_test_id("total-amo")).to_have_text("21,00\u00a0€")
    # add a line with the keyboard: the new line's code field gets the focus
    _tab_to(page, "lines-1-care_date")
    _tab_to_button(page, "Ajouter une ligne", 20)
    page.keyboard.press("Enter")
    expect(page.locator("#lines-2-code")).to_be_focused()
    page.keyboard.type("DEQP003")
    page.keyboard.press("Shift+Tab")
    page.keyboard.press("ArrowDown")  # NGAP → CCAM in the type list
    expect(page.get_by_label("Ligne 2 : type")).to_have_value("ccam")
    expect(page.get_by_test_id("line-2-amounts")).to_contain_text("14,77")
    _tab_to_button(page, "Enregistrer le brouillon", 60)
    page.keyboard.press("Enter")
    expect(page.get_by_text("Brouillon enregistré.")).to_be_visible()
    expect(page.get_by_label("Ligne 2 : code")).to_have_value("DEQP003")


def _no_horizontal_scroll(page) -> None:
    width = page.evaluate("() => document.documentElement.scrollWidth")
    wide = page.evaluate("() => Array.from(document.querySelectorAll('body *')).filter(e => e.getBoundingClientRect().right > 391 && !e.closest('.table-scroll')).slice(0, 5).map(e => e.tagName + '.' + e.className + ' ' + e.textContent.slice(0, 40))")
    assert width <= 390, f"{page.url}: {width}px wide: {wide}"


def test_390_px_wide(browser, ready, login):
    context = browser.new_context(locale="fr-FR", viewport={"width": 390, "height": 844})
    page = context.new_page()
    watch_with_axe(page)  # the axe-core engine served to this context too
    try:
        login(page, "medecin.demo")
        page.goto(f"{ready}/facturation/feuille")
        _fill_patient(page)
        page.get_by_label("Ligne 1 : code").fill("G")
        expect(page.get_by_test_id("total-amo")).to_have_text("21,00\u00a0€")
        page.get_by_role("button", name="Ajouter une ligne").click()
        page.get_by_label("Ligne 2 : code").fill("ZZZ")
        page.get_by_role("button", name="Calculer").click()
        expect(page.locator("#err-lines-2-code")).not_to_be_empty()
        _no_horizontal_scroll(page)
        page.get_by_role("button", name="Supprimer la ligne 2").click()
        _sign(page, "medecin.demo")
        _no_horizontal_scroll(page)
        page.goto(f"{ready}/facturation/brouillons")
        _no_horizontal_scroll(page)
    finally:
        context.close()


@pytest.fixture
def real_bdpm(app, ready):
    """The real BDPM (../shared/data) imported into the test database."""
    if not (SHARED_DATA / "bdpm").is_dir():
        pytest.skip(f"real reference data not present in {SHARED_DATA} (set AMELIPRO_REFERENCE_DIR)")
    from amelipro.reference.services import ImportConfig, import_reference

    with app.app_context():
        session = app.extensions["amelipro.sessionmaker"]()
        import_reference(session, ImportConfig(source=SHARED_DATA, datasets=("bdpm",), actor="test"))
        session.close()
    return ready


def test_pharmacist_bills_two_boxes_of_a_real_medicine_found_by_name(page, real_bdpm, login):
    login(page, "pharmacien.demo")
    _open_new_sheet(page)
    _fill_patient(page)
    page.get_by_label("RPPS du prescripteur (si prescription)").fill("10000000017")
    page.get_by_label("Date de la prescription").fill(date.today().strftime("%d/%m/%Y"))
    page.get_by_label("Rechercher un médicament (nom, substance ou CIP13)").fill("amoxicilline")
    page.get_by_role("button", name="Chercher").click()
    results = page.get_by_test_id("med-results")
    expect(results).to_contain_text("AMOXICILLINE")
    # a substance search also finds brands (CLAMOXYL): take a box named AMOXICILLINE
    results.get_by_role("button", name=re.compile("AMOXICILLINE")).first.click()
    quantity = page.get_by_label("Ligne 1 : quantité")
    expect(quantity).to_be_focused()
    expect(page.get_by_label("Ligne 1 : code")).to_have_value(re.compile(r"^3400\d{9}$"))
    quantity.fill("2")
    expect(page.get_by_test_id("total-franchise")).to_have_text("2,00\u00a0€")  # 1 € per box
    expect(page.get_by_test_id("line-1-amounts")).to_contain_text("AMOXICILLINE")
    expect(page.get_by_test_id("total-amo")).not_to_have_text("0,00\u00a0€")
    expect(page.locator("#sheet-form .field-error")).to_have_count(0)
    _sign(page, "pharmacien.demo")
    expect(page.get_by_test_id("ack")).to_contain_text("Accusé de réception positif")
    expect(page.get_by_test_id("receipt-lines")).to_contain_text("2")
