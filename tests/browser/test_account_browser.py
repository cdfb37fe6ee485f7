"""The professional's account in Chromium, with e-mail through a real SMTP server on loopback:
sign-up → e-mail link → operator approval → first login; TOTP enrolment → bank account change
with step-up → in force after the cooling-off → the next virement carries it; password reset by
e-mail link; an operator locks an account and its session and API token stop at once."""

from __future__ import annotations

import re
import time
from datetime import date

import pyotp
import pytest
import requests
from playwright.sync_api import expect
from sqlalchemy import select

from amelipro.auth.models import Professional
from tests.browser.a11y import assert_accessible, watch_with_axe
from tests.conftest import valid_rpps

STRONG = "cheval-agrafe-batterie-correcte-42"
OPERATOR_SECRET = pyotp.random_base32()


@pytest.fixture
def app_config(app_config, mailbox):
    return {**app_config, "SMTP_URL": f"smtp://127.0.0.1:{mailbox.port}"}


def next_code(secret: str, offset: int = 1) -> str:
    """The code of a time step not used yet (each step is accepted once)."""
    return pyotp.TOTP(secret).at((int(time.time()) // 30 + offset) * 30)


@pytest.fixture
def operator(app, live_server):
    """The demo operator, with a second factor enrolled (needed to administer accounts)."""
    from amelipro.account.second_factor import enrol_totp

    session = app.extensions["amelipro.sessionmaker"]()
    op = session.scalar(select(Professional).where(Professional.login == "operateur.demo"))
    enrol_totp(session, op, OPERATOR_SECRET, pyotp.TOTP(OPERATOR_SECRET).now())
    session.close()
    return "operateur.demo"


def fits_390(page) -> None:
    """At 390 px wide (a phone), nothing makes the page scroll sideways."""
    page.set_viewport_size({"width": 390, "height": 844})
    assert page.evaluate("document.documentElement.scrollWidth") <= 390, page.url
    page.set_viewport_size({"width": 1280, "height": 720})


def log_in(page, base: str, login: str, password: str, secret: str | None = None) -> None:
    page.goto(f"{base}/connexion")
    page.get_by_label("Identifiant").fill(login)
    page.get_by_label("Mot de passe").fill(password)
    page.get_by_role("button", name="Se connecter").click()
    if secret:
        expect(page.get_by_role("heading", name="Code de vérification")).to_be_visible()
        assert_accessible(page)
        page.get_by_label("Code de vérification").fill(next_code(secret))
        page.get_by_role("button", name="Valider").click()
    expect(page.get_by_role("button", name="Se déconnecter")).to_be_visible()


def log_out(page) -> None:
    page.get_by_role("button", name="Se déconnecter").click()
    expect(page.get_by_text("Vous êtes déconnecté.")).to_be_visible()


def test_signup_email_link_operator_approval_first_login(page, live_server, mailbox, operator):
    page.goto(f"{live_server}/connexion")
    page.get_by_role("link", name="Créer mon compte").first.click()
    expect(page.get_by_role("heading", name="Créer mon compte")).to_be_visible()
    assert_accessible(page)
    fits_390(page)
    page.get_by_label("Profession").select_option("masseur_kinesitherapeute")
    page.get_by_label("Prénom").fill("Hugo")
    page.get_by_label("Nom", exact=True).fill("Lefèvre")
    page.get_by_label("Numéro RPPS (11 chiffres)").fill(valid_rpps(4242))
    page.get_by_label("Numéro AM (9 caractères)").fill("131234567")
    page.get_by_label("Adresse e-mail").fill("hugo.lefevre@exemple.fr")
    page.get_by_label("Identifiant").fill("hugo.kine")
    page.get_by_label("Mot de passe").fill(STRONG)
    page.get_by_role("button", name="Créer mon compte").click()
    expect(page.get_by_role("heading", name="Demande enregistrée")).to_be_visible()

    link = mailbox.link("hugo.lefevre@exemple.fr", "/compte/confirmer/")
    page.goto(link)
    assert_accessible(page)
    page.get_by_role("button", name="Confirmer mon adresse").click()
    expect(page.get_by_text("Adresse e-mail confirmée.")).to_be_visible()
    # F5 or the link again: nothing more happens, a clear page
    page.goto(link)
    expect(page.get_by_role("heading", name="Lien non valable")).to_be_visible()

    log_in(page, live_server, operator, "demo-operateur-2026", OPERATOR_SECRET)
    page.get_by_role("navigation", name="Navigation principale").get_by_role("link", name="Comptes").click()
    page.get_by_role("link", name="En attente").click()
    assert_accessible(page)
    page.get_by_role("link", name="Hugo Lefèvre").click()
    assert_accessible(page)
    expect(page.get_by_test_id("account-status")).to_have_text("En attente")
    page.get_by_role("button", name="Approuver").click()
    expect(page.get_by_test_id("account-status")).to_have_text("Actif")
    log_out(page)
    assert mailbox.last("hugo.lefevre@exemple.fr")["Subject"] == "Votre compte amelipro est ouvert"

    log_in(page, live_server, "hugo.kine", STRONG)
    expect(page.get_by_test_id("user-name")).to_have_text("Hugo Lefèvre")
    assert page.watch.foreign == []


def test_totp_then_bank_change_with_step_up_applies_after_cooling_off(page, live_server, login, app,
                                                                     monkeypatch, mailbox,
                                                                     make_accepted_fse, tp_lookup,
                                                                     tp_session):
    from amelipro.thirdparty.liquidation import LiquidationConfig, run_liquidation

    monkeypatch.setattr("amelipro.clock.paris_today", lambda: date(2026, 11, 30))  # a Monday
    login(page, "medecin.demo")
    page.get_by_role("navigation", name="Navigation principale").get_by_role("link", name="Mon compte").click()
    assert_accessible(page)
    page.get_by_role("link", name="Activer la double authentification").click()
    assert_accessible(page)
    expect(page.locator(".qr svg")).to_be_visible()
    fits_390(page)
    secret = page.get_by_test_id("totp-secret").inner_text()
    page.get_by_label("Code de vérification").fill(pyotp.TOTP(secret).now())
    page.get_by_role("button", name="Activer").click()
    expect(page.get_by_test_id("recovery-codes").locator("li")).to_have_count(10)

    page.goto(f"{live_server}/compte/banque")
    assert_accessible(page)
    expect(page.get_by_test_id("bank-in-force")).to_have_text("FR76 •••• 0189")
    page.get_by_role("link", name="Changer de compte bancaire").click()
    expect(page.get_by_role("heading", name="Confirmer votre identité")).to_be_visible()
    assert_accessible(page)
    page.get_by_label("Mot de passe").fill("demo-medecin-2026")
    page.get_by_label("Code de vérification").fill(next_code(secret))
    page.get_by_role("button", name="Confirmer").click()
    expect(page.get_by_role("heading", name="Changer de compte bancaire")).to_be_visible()
    assert_accessible(page)
    page.get_by_label("Titulaire du compte").fill("SELARL Dr Martin")
    page.get_by_label("IBAN").fill("FR14 2004 1010 0505 0001 3M02 607")  # wrong key
    page.get_by_label("BIC").fill("PSSTFRPPLYO")
    page.get_by_role("button", name="Enregistrer le nouveau compte").click()
    expect(page.get_by_role("alert")).to_contain_text("IBAN invalide")
    page.get_by_label("IBAN").fill("FR14 2004 1010 0505 0001 3M02 606")
    page.get_by_role("button", name="Enregistrer le nouveau compte").click()
    expect(page.get_by_test_id("bank-pending")).to_contain_text("FR14 •••• 2606")
    expect(page.get_by_test_id("bank-pending")).to_contain_text("02/12/2026")
    fits_390(page)
    expect(page.get_by_test_id("bank-in-force")).to_have_text("FR76 •••• 0189")
    notice = mailbox.last("medecin.demo@amelipro.invalid")
    assert "FR14 •••• 2606" in mailbox.text(notice)

    # the cooling-off ends (2 working days): the new account is in force, and paid to
    monkeypatch.setattr("amelipro.clock.paris_today", lambda: date(2026, 12, 2))
    page.reload()
    expect(page.get_by_test_id("bank-in-force")).to_have_text("FR14 •••• 2606")
    with tp_session() as session:
        doctor = session.scalar(select(Professional).where(Professional.login == "medecin.demo"))
    make_accepted_fse(doctor, invoice_number="CAB-RIB")
    run_liquidation(tp_session, LiquidationConfig(today=date(2026, 12, 2)), lookup=tp_lookup)
    page.goto(f"{live_server}/paiements/virements")
    expect(page.get_by_test_id("virement-account").first).to_have_text("FR14 •••• 2606")
    page.get_by_role("link", name=re.compile(r"^AMP20261202")).click()
    expect(page.get_by_test_id("virement-account")).to_have_text("FR14 •••• 2606")
    assert page.watch.foreign == []


def test_password_reset_by_email_link(page, live_server, mailbox):
    page.goto(f"{live_server}/connexion")
    page.get_by_role("link", name="Mot de passe oublié ?").click()
    assert_accessible(page)
    page.get_by_label("Identifiant ou adresse e-mail").fill("infirmier.demo")
    page.get_by_role("button", name="Envoyer le lien").click()
    expect(page.get_by_role("heading", name="Demande enregistrée")).to_be_visible()
    link = mailbox.link("infirmier.demo@amelipro.invalid", "/mot-de-passe/")
    page.goto(link)
    assert_accessible(page)
    page.get_by_label("Nouveau mot de passe").fill("azertyuiop1")
    page.get_by_role("button", name="Enregistrer le mot de passe").click()
    expect(page.get_by_role("alert")).to_contain_text("trop facile")
    page.get_by_label("Nouveau mot de passe").fill(STRONG)
    page.get_by_role("button", name="Enregistrer le mot de passe").click()
    expect(page.get_by_text("Mot de passe changé")).to_be_visible()
    page.goto(link)
    expect(page.get_by_role("heading", name="Lien non valable")).to_be_visible()
    log_in(page, live_server, "infirmier.demo", STRONG)
    assert mailbox.last("infirmier.demo@amelipro.invalid")["Subject"] == "Votre mot de passe amelipro a changé"


def test_operator_locks_an_account_sessions_and_tokens_stop_at_once(browser, page, live_server, login,
                                                                    operator, api_token, tp_session):
    with tp_session() as session:
        pharmacist = session.scalar(select(Professional).where(Professional.login == "pharmacien.demo"))
    token = api_token(pharmacist)
    headers = {"Authorization": f"Bearer {token}"}
    assert requests.get(f"{live_server}/api/v1/me", headers=headers, timeout=10).status_code == 200
    login(page, "pharmacien.demo")

    context = browser.new_context(locale="fr-FR")
    op_page = context.new_page()
    watch_with_axe(op_page)  # the axe-core engine served to this context too
    try:
        log_in(op_page, live_server, operator, "demo-operateur-2026", OPERATOR_SECRET)
        op_page.goto(f"{live_server}/operateur/comptes/{pharmacist.id}")
        op_page.get_by_label("Motif du verrouillage").fill("Poste volé au cabinet")
        op_page.get_by_role("button", name="Verrouiller le compte").click()
        expect(op_page.get_by_test_id("account-status")).to_have_text("Verrouillé")
        assert_accessible(op_page)
    finally:
        context.close()

    page.reload()
    expect(page).to_have_url(re.compile(r"/connexion"))
    assert requests.get(f"{live_server}/api/v1/me", headers=headers, timeout=10).status_code == 401
