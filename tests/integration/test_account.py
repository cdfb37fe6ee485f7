"""The professional's account over HTTP, with e-mail through a real SMTP server on loopback."""

from __future__ import annotations

import re
import time
from datetime import date, timedelta

import pyotp
import pytest
from sqlalchemy import select

from amelipro.account.models import (
    AccountLink,
    AccountProfile,
    AccountStatus,
    BankAccount,
    PracticeDetails,
)
from amelipro.audit import AuditEvent
from amelipro.auth.models import LoginSession, Professional, Role
from amelipro.db import utcnow
from tests.conftest import PASSWORD, csrf_from, valid_rpps

STRONG = "cheval-agrafe-batterie-correcte-42"
NEW_IBAN = "FR1420041010050500013M02606"


@pytest.fixture
def app_config(app_config, mailbox):
    return {**app_config, "SMTP_URL": f"smtp://127.0.0.1:{mailbox.port}"}


def post(client, path: str, data: dict, page: str | None = None):
    token = csrf_from(client.get(page or path).get_data(as_text=True))
    return client.post(path, data={**data, "csrf_token": token})


def signup_data(n: int, **over) -> dict:
    data = {"login": f"nouveau{n}", "email": f"nouveau{n}@exemple.fr", "first_name": "Lucie",
            "last_name": "Bernard", "profession": "infirmier", "rpps": valid_rpps(900 + n),
            "am_number": "331234567", "finess": "", "password": STRONG}
    data.update(over)
    return data


def events(db_session, action: str) -> list[AuditEvent]:
    db_session.expire_all()
    return list(db_session.scalars(select(AuditEvent).where(AuditEvent.action == action)))


def path_of(url: str) -> str:
    return re.sub(r"^https?://[^/]+", "", url)


@pytest.fixture
def operator(make_professional, app):
    """An operator with a second factor enrolled (required to administer accounts)."""
    op = make_professional("operateur", role=Role.OPERATOR)
    secret = pyotp.random_base32()
    with app.app_context():
        session = app.extensions["amelipro.sessionmaker"]()
        from amelipro.account.second_factor import enrol_totp

        enrol_totp(session, session.get(Professional, op.id), secret, pyotp.TOTP(secret).now())
        session.close()
    op.totp = secret
    return op


def code_after(secret: str, used: int = 0) -> str:
    """A code for a time step not used yet (the next one when ``used`` is the current)."""
    totp = pyotp.TOTP(secret)
    step = int(time.time()) // 30
    return totp.at((step + used) * 30)


def login_with_code(client, login: str, secret: str, password: str = PASSWORD, offset: int = 1):
    page = client.get("/connexion")
    response = client.post("/connexion", data={"login": login, "password": password,
                                               "csrf_token": csrf_from(page.get_data(as_text=True))})
    assert response.status_code == 302 and response.headers["Location"].endswith("/connexion/code")
    return post(client, "/connexion/code", {"code": code_after(secret, offset)})


# --- sign-up -----------------------------------------------------------------------------------

def test_signup_confirm_approve_then_first_login(client, app, db_session, mailbox, operator):
    response = post(client, "/compte/creer", signup_data(1))
    assert response.status_code == 302 and response.headers["Location"].endswith("/compte/creer/envoye")
    pro = db_session.scalar(select(Professional).where(Professional.login == "nouveau1"))
    assert pro is not None and not pro.active
    message = mailbox.last("nouveau1@exemple.fr")
    assert message["Subject"] == "Confirmez votre adresse e-mail"
    assert "valable 7 jours" in mailbox.text(message) and "<a href=" in mailbox.html(message)
    link = path_of(mailbox.link("nouveau1@exemple.fr", "/compte/confirmer/"))
    # not yet confirmed nor approved: the password alone does not open the account
    assert post(client, "/connexion", {"login": "nouveau1", "password": STRONG}).status_code == 401
    assert client.get(link).status_code == 200  # GET never writes
    assert db_session.get(AccountProfile, pro.id).email_confirmed_at is None
    assert post(client, link, {}).status_code == 302
    db_session.expire_all()
    assert db_session.get(AccountProfile, pro.id).email_confirmed_at is not None
    assert post(client, "/connexion", {"login": "nouveau1", "password": STRONG}).status_code == 401
    # the operator approves
    login_with_code(client, "operateur", operator.totp)
    listing = client.get("/operateur/comptes?filtre=en_attente").get_data(as_text=True)
    assert "nouveau1" in listing
    response = post(client, f"/operateur/comptes/{pro.id}/approuver", {},
                    page=f"/operateur/comptes/{pro.id}")
    assert response.status_code == 302
    assert mailbox.last("nouveau1@exemple.fr")["Subject"] == "Votre compte amelipro est ouvert"
    client.cookie_jar.clear() if hasattr(client, "cookie_jar") else None
    other = app.test_client()
    response = post(other, "/connexion", {"login": "nouveau1", "password": STRONG})
    assert response.status_code == 302
    assert "Lucie Bernard" in other.get("/").get_data(as_text=True)
    assert [e.detail_dict["professional"] for e in events(db_session, "account.approved")] == [pro.id]


def test_signup_never_tells_what_exists(client, db_session, mailbox, make_professional):
    existing = make_professional("deja.la")
    first = post(client, "/compte/creer", signup_data(2))
    assert first.status_code == 302
    # the same e-mail, another login: same answer, nothing created, the owner is told
    again = post(client, "/compte/creer", signup_data(3, email="nouveau2@exemple.fr"))
    assert again.status_code == 302 and again.headers["Location"] == first.headers["Location"]
    assert mailbox.last("nouveau2@exemple.fr")["Subject"] == "Votre demande de compte amelipro"
    # a known login, a known RPPS: same answer, nothing created, no e-mail to the new address
    for data in (signup_data(4, login="deja.la"), signup_data(5, rpps=existing.rpps)):
        response = post(client, "/compte/creer", data)
        assert response.status_code == 302 and response.headers["Location"] == first.headers["Location"]
        assert mailbox.to(data["email"]) == []
    logins = set(db_session.scalars(select(Professional.login)))
    assert "nouveau3" not in logins and "nouveau5" not in logins
    assert len(events(db_session, "account.signup_duplicate")) == 3


@pytest.mark.parametrize("field, value, problem", [
    ("rpps", "10000000018", "RPPS"),  # wrong Luhn key
    ("password", "password123", "mot de passe"),  # common
    ("password", "Bernard2026!", "mot de passe"),  # the name and a year
    ("email", "pas-une-adresse", "e-mail"),
    ("profession", "sorcier", "profession"),
    ("am_number", "12", "AM"),
])
def test_signup_refuses_bad_input(client, db_session, field, value, problem):
    response = post(client, "/compte/creer", signup_data(6, **{field: value}))
    assert response.status_code == 400
    assert problem in response.get_data(as_text=True)
    assert db_session.scalar(select(Professional.id).where(Professional.login == "nouveau6")) is None


def test_refusal_with_reason(client, db_session, mailbox, operator):
    post(client, "/compte/creer", signup_data(7))
    pro = db_session.scalar(select(Professional).where(Professional.login == "nouveau7"))
    login_with_code(client, "operateur", operator.totp)
    page = f"/operateur/comptes/{pro.id}"
    assert post(client, f"/operateur/comptes/{pro.id}/refuser", {"reason": ""}, page).status_code == 400
    assert post(client, f"/operateur/comptes/{pro.id}/refuser", {"reason": "x" * 501}, page).status_code == 400
    response = post(client, f"/operateur/comptes/{pro.id}/refuser", {"reason": "RPPS d'une autre personne"}, page)
    assert response.status_code == 302
    assert "RPPS d'une autre personne" in mailbox.text(mailbox.last("nouveau7@exemple.fr"))
    db_session.expire_all()
    assert db_session.get(AccountProfile, pro.id).status == AccountStatus.REFUSED
    # an approval after the refusal is refused
    assert post(client, f"/operateur/comptes/{pro.id}/approuver", {}, page).status_code == 409


# --- links ---------------------------------------------------------------------------------------

def test_links_expired_reused_forged(client, db_session, mailbox):
    post(client, "/compte/creer", signup_data(8))
    link = path_of(mailbox.link("nouveau8@exemple.fr", "/compte/confirmer/"))
    forged = link[:-4] + ("AAAA" if not link.endswith("AAAA") else "BBBB")
    for path in (forged, "/compte/confirmer/x", "/compte/confirmer/" + "a" * 300):
        response = client.get(path)
        assert response.status_code == 400 and "ACC-003" in response.get_data(as_text=True)
        assert post(client, path, {}, page="/connexion").status_code == 400
    assert post(client, link, {}).status_code == 302
    reused = post(client, link, {}, page="/connexion")
    assert reused.status_code == 400 and "ACC-003" in reused.get_data(as_text=True)
    # an expired link: clear page, nothing changed
    post(client, "/compte/creer", signup_data(9))
    link = path_of(mailbox.link("nouveau9@exemple.fr", "/compte/confirmer/"))
    pro = db_session.scalar(select(Professional).where(Professional.login == "nouveau9"))
    row = db_session.scalar(select(AccountLink).where(AccountLink.professional_id == pro.id))
    row.expires_at = utcnow() - timedelta(seconds=1)
    db_session.commit()
    expired = post(client, link, {}, page="/connexion")
    assert expired.status_code == 400 and "ACC-004" in expired.get_data(as_text=True)
    db_session.expire_all()
    assert db_session.get(AccountProfile, pro.id).email_confirmed_at is None


def test_a_reset_link_is_not_a_confirmation_link(client, db_session, mailbox, make_professional):
    pro = make_professional("avec.mail")
    _set_email(db_session, pro, "avec.mail@exemple.fr")
    post(client, "/mot-de-passe-oublie", {"identifier": "avec.mail"})
    reset = path_of(mailbox.link("avec.mail@exemple.fr", "/mot-de-passe/"))
    token = reset.rsplit("/", 1)[1]
    assert client.get(f"/compte/confirmer/{token}").status_code == 400
    assert client.get(f"/compte/email/{token}").status_code == 400


def _set_email(db_session, pro, email: str) -> None:
    profile = db_session.get(AccountProfile, pro.id) or AccountProfile(
        professional_id=pro.id, status=AccountStatus.ACTIVE, totp_last_step=0)
    profile.email = email
    db_session.add(profile)
    db_session.commit()


# --- passwords -----------------------------------------------------------------------------------

def test_change_password_revokes_other_sessions_and_notifies(app, client, auth, db_session, mailbox,
                                                             make_professional):
    pro = make_professional("change.mdp")
    _set_email(db_session, pro, "change.mdp@exemple.fr")
    other = app.test_client()
    post(other, "/connexion", {"login": "change.mdp", "password": PASSWORD})
    assert other.get("/").status_code == 200
    auth.login("change.mdp")
    wrong = post(client, "/compte/mot-de-passe", {"old_password": "faux", "new_password": STRONG})
    assert wrong.status_code == 400 and "incorrect" in wrong.get_data(as_text=True)
    weak = post(client, "/compte/mot-de-passe", {"old_password": PASSWORD, "new_password": "azertyuiop"})
    assert weak.status_code == 400
    ok = post(client, "/compte/mot-de-passe", {"old_password": PASSWORD, "new_password": STRONG})
    assert ok.status_code == 302
    assert client.get("/").status_code == 200  # this session stays
    assert other.get("/").status_code == 302  # the other one is closed
    assert "vient d'être changé" in mailbox.text(mailbox.last("change.mdp@exemple.fr"))
    db_session.expire_all()
    assert db_session.get(Professional, pro.id).password_hash.startswith("$argon2id$")


def test_password_reset_by_link(app, client, db_session, mailbox, make_professional):
    pro = make_professional("oubli")
    _set_email(db_session, pro, "oubli@exemple.fr")
    logged = app.test_client()
    post(logged, "/connexion", {"login": "oubli", "password": PASSWORD})
    for identifier in ("inconnu", "oubli@exemple.fr"):
        response = post(client, "/mot-de-passe-oublie", {"identifier": identifier})
        assert response.status_code == 302 and response.headers["Location"].endswith("/mot-de-passe-oublie/envoye")
    assert len(mailbox.to("oubli@exemple.fr")) == 1
    link = path_of(mailbox.link("oubli@exemple.fr", "/mot-de-passe/"))
    assert "une heure" in mailbox.text(mailbox.last("oubli@exemple.fr"))
    assert post(client, link, {"new_password": "motdepasse"}).status_code == 400  # weak: link kept
    assert post(client, link, {"new_password": STRONG}).status_code == 302
    assert post(client, link, {"new_password": STRONG + "x"}, page="/connexion").status_code == 400  # used
    assert logged.get("/").status_code == 302  # every session closed
    assert post(app.test_client(), "/connexion", {"login": "oubli", "password": STRONG}).status_code == 302
    # a reset link lives one hour
    post(client, "/mot-de-passe-oublie", {"identifier": "oubli"})
    row = db_session.scalars(select(AccountLink).where(AccountLink.professional_id == pro.id)
                             .order_by(AccountLink.id.desc())).first()
    assert timedelta(minutes=59) < row.expires_at - row.created_at <= timedelta(hours=1)


# --- second factor -------------------------------------------------------------------------------

def enrol(client, db_session, pro) -> str:
    page = client.get("/compte/double-authentification").get_data(as_text=True)
    assert "<svg" in page
    secret = re.search(r'data-testid="totp-secret">([A-Z2-7]+)<', page).group(1)
    wrong = post(client, "/compte/double-authentification", {"code": "000000"})
    assert wrong.status_code == 400
    response = post(client, "/compte/double-authentification", {"code": pyotp.TOTP(secret).now()})
    assert response.status_code == 302
    codes_page = client.get(response.headers["Location"]).get_data(as_text=True)
    codes = re.findall(r"<li><code>([a-z0-9-]+)</code></li>", codes_page)
    assert len(codes) == 10 and len(set(codes)) == 10
    assert client.get("/compte/double-authentification/codes").status_code == 302  # shown once
    pro.codes = codes
    return secret


def test_totp_enrol_login_replay_recovery_and_throttle(app, client, auth, db_session, make_professional):
    pro = make_professional("totp.pro")
    auth.login("totp.pro")
    secret = enrol(client, db_session, pro)
    assert [e.actor_id for e in events(db_session, "totp.enrolled")] == [pro.id]
    auth.logout()
    # the password alone no longer opens a session
    fresh = app.test_client()
    response = post(fresh, "/connexion", {"login": "totp.pro", "password": PASSWORD})
    assert response.headers["Location"].endswith("/connexion/code")
    assert fresh.get("/").status_code == 302
    code = code_after(secret, 1)
    assert post(fresh, "/connexion/code", {"code": code}).status_code == 302
    assert fresh.get("/").status_code == 200
    # the same code again, within its window: refused
    replay = app.test_client()
    post(replay, "/connexion", {"login": "totp.pro", "password": PASSWORD})
    again = post(replay, "/connexion/code", {"code": code})
    assert again.status_code == 400 and "déjà utilisé" in again.get_data(as_text=True)
    # a recovery code works once
    assert post(replay, "/connexion/code", {"code": pro.codes[0]}).status_code == 302
    third = app.test_client()
    post(third, "/connexion", {"login": "totp.pro", "password": PASSWORD})
    assert post(third, "/connexion/code", {"code": pro.codes[0]}).status_code == 400
    assert events(db_session, "totp.recovery_code_used")
    # brute force: throttled like logins, even the right code then
    for n in range(4):
        assert post(third, "/connexion/code", {"code": f"{n:06d}"}).status_code == 400
    throttled = post(third, "/connexion/code", {"code": code_after(secret, 0)})
    assert throttled.status_code == 429
    assert events(db_session, "totp.throttled")


def test_second_factor_pending_login_expires(app, client, db_session, make_professional):
    pro = make_professional("lent")
    auth_client = app.test_client()
    post(auth_client, "/connexion", {"login": "lent", "password": PASSWORD})
    enrol(auth_client, db_session, pro)
    with client.session_transaction() as sess:
        sess["mfa_pending"] = {"pro": pro.id, "at": (utcnow() - timedelta(minutes=6)).isoformat(), "next": "/"}
    assert client.get("/connexion/code").status_code == 302


# --- coordonnées and e-mail change ----------------------------------------------------------------

def test_details_history_and_email_change_confirmed_from_new_address(client, auth, db_session, mailbox,
                                                                      make_professional):
    pro = make_professional("coord")
    _set_email(db_session, pro, "ancienne@exemple.fr")
    auth.login("coord")
    data = {"practice_name": "Cabinet du Port", "address": "1 quai Ouest", "postcode": "29200",
            "city": "Brest", "phone": "02 98 00 00 00", "email": "ancienne@exemple.fr"}
    assert post(client, "/compte/coordonnees", data).status_code == 302
    assert post(client, "/compte/coordonnees", {**data, "city": "Brest Centre"}).status_code == 302
    assert post(client, "/compte/coordonnees", {**data, "city": "Brest Centre"}).status_code == 302  # unchanged
    rows = db_session.scalars(select(PracticeDetails).where(PracticeDetails.professional_id == pro.id)).all()
    assert [r.city for r in rows] == ["Brest", "Brest Centre"]
    page = client.get("/compte/coordonnees").get_data(as_text=True)
    assert "Modifié : ville" in page
    for bad in ({"postcode": "2920"}, {"phone": "abc"}, {"practice_name": "x" * 201}, {"email": "x@"}):
        assert post(client, "/compte/coordonnees", {**data, **bad}).status_code == 400
    # a new address: the old one stays until confirmed from the new one
    post(client, "/compte/coordonnees", {**data, "email": "nouvelle@exemple.fr"})
    db_session.expire_all()
    assert db_session.get(AccountProfile, pro.id).email == "ancienne@exemple.fr"
    assert "nouvelle@exemple.fr" in mailbox.text(mailbox.last("ancienne@exemple.fr"))
    link = path_of(mailbox.link("nouvelle@exemple.fr", "/compte/email/"))
    assert mailbox.to("ancienne@exemple.fr")[-1]["Subject"] == "Changement d'adresse e-mail demandé"
    assert "/compte/email/" not in mailbox.text(mailbox.last("ancienne@exemple.fr"))
    assert post(client, link, {}).status_code == 302
    db_session.expire_all()
    assert db_session.get(AccountProfile, pro.id).email == "nouvelle@exemple.fr"
    assert mailbox.last("ancienne@exemple.fr")["Subject"] == "Votre adresse e-mail amelipro a changé"
    assert post(client, link, {}, page="/compte").status_code == 400  # single use


# --- bank account ---------------------------------------------------------------------------------

def bank_setup(client, auth, db_session, make_professional, login: str):
    pro = make_professional(login)
    _set_email(db_session, pro, f"{login}@exemple.fr")
    auth.login(login)
    secret = enrol(client, db_session, pro)
    return pro, secret


def step_up(client, secret: str, offset: int = 1, password: str = PASSWORD):
    return post(client, "/compte/verification?next=/compte/banque/modifier",
                {"password": password, "code": code_after(secret, offset)})


def test_bank_change_needs_step_up_and_cools_off(client, auth, db_session, mailbox, make_professional,
                                                 monkeypatch):
    monday = date(2026, 11, 30)
    monkeypatch.setattr("amelipro.clock.paris_today", lambda: monday)
    pro, secret = bank_setup(client, auth, db_session, make_professional, "rib")
    response = client.get("/compte/banque/modifier")
    assert response.status_code == 302 and "/compte/verification" in response.headers["Location"]
    # without a step-up, a POST is refused
    token = csrf_from(client.get("/compte/banque").get_data(as_text=True))
    refused = client.post("/compte/banque/modifier", data={"holder": "X", "iban": NEW_IBAN, "bic": "PSSTFRPPLYO",
                                                          "csrf_token": token})
    assert refused.status_code == 403 and "ACC-009" in refused.get_data(as_text=True)
    assert step_up(client, secret, password="faux").status_code == 400
    assert step_up(client, secret, offset=1).status_code == 302
    form = {"holder": "Cabinet Rib", "iban": NEW_IBAN, "bic": "PSSTFRPPLYO"}
    for bad, problem in ((dict(iban="FR1520041010050500013M02606"), "IBAN"),  # wrong key
                         (dict(bic="PSSTFRPPL"), "BIC"),  # 9 characters
                         (dict(holder="x" * 5000), "titulaire")):
        response = post(client, "/compte/banque/modifier", {**form, **bad})
        assert response.status_code == 400 and problem in response.get_data(as_text=True)
    assert db_session.scalar(select(BankAccount.id).where(BankAccount.iban == NEW_IBAN)) is None
    assert post(client, "/compte/banque/modifier", form).status_code == 302
    account = db_session.scalar(select(BankAccount).where(BankAccount.iban == NEW_IBAN))
    assert account.effective_on == date(2026, 12, 2)  # 2 working days after Monday
    notice = mailbox.last("rib@exemple.fr")
    assert notice["Subject"] == "Changement de coordonnées bancaires"
    assert "FR14 •••• 2606" in mailbox.text(notice) and NEW_IBAN not in mailbox.text(notice)
    page = client.get("/compte/banque").get_data(as_text=True)
    assert "FR76 •••• 0189" in page and "FR14 •••• 2606" in page and "02/12/2026" in page
    monkeypatch.setattr("amelipro.clock.paris_today", lambda: date(2026, 12, 2))
    assert "FR14 •••• 2606" in client.get("/compte").get_data(as_text=True).split("bank-in-force")[1][:40]
    changes = events(db_session, "bank.change_requested")
    assert [e.detail_dict["iban"] for e in changes] == ["FR14 •••• 2606"]


def test_bank_change_cancel_and_another_professionals_id(client, auth, db_session, mailbox,
                                                         make_professional, monkeypatch):
    monkeypatch.setattr("amelipro.clock.paris_today", lambda: date(2026, 11, 30))
    pro, secret = bank_setup(client, auth, db_session, make_professional, "annule")
    step_up(client, secret)
    post(client, "/compte/banque/modifier", {"holder": "Annule", "iban": NEW_IBAN, "bic": "PSSTFRPPLYO"})
    account = db_session.scalar(select(BankAccount).where(BankAccount.professional_id == pro.id,
                                                          BankAccount.iban == NEW_IBAN))
    other = make_professional("autre.pro")
    theirs = db_session.scalar(select(BankAccount).where(BankAccount.professional_id == other.id))
    assert post(client, f"/compte/banque/{theirs.id}/annuler", {}, page="/compte/banque").status_code == 404
    assert post(client, "/compte/banque/999999/annuler", {}, page="/compte/banque").status_code == 404
    assert post(client, f"/compte/banque/{account.id}/annuler", {}, page="/compte/banque").status_code == 302
    assert mailbox.last("annule@exemple.fr")["Subject"] == "Changement de coordonnées bancaires annulé"
    db_session.expire_all()
    assert db_session.get(BankAccount, account.id).status.value == "annule"
    monkeypatch.setattr("amelipro.clock.paris_today", lambda: date(2026, 12, 10))
    assert "FR76 •••• 0189" in client.get("/compte/banque").get_data(as_text=True)
    # an account already in force cannot be "cancelled"
    in_force = db_session.scalar(select(BankAccount).where(BankAccount.professional_id == pro.id,
                                                           BankAccount.iban != NEW_IBAN))
    assert post(client, f"/compte/banque/{in_force.id}/annuler", {}, page="/compte/banque").status_code == 409


def test_bank_change_requires_a_second_factor(client, auth, make_professional):
    make_professional("sans.totp")
    auth.login("sans.totp")
    response = client.get("/compte/banque/modifier")
    assert response.status_code == 302 and response.headers["Location"].endswith("/compte/double-authentification")
    # a password-only confirmation is not a step-up for an action that needs the second factor
    assert post(client, "/compte/verification", {"password": PASSWORD}).status_code == 302
    refused = post(client, "/compte/banque/modifier", {"holder": "X", "iban": NEW_IBAN, "bic": "PSSTFRPPLYO"},
                   page="/compte/banque")
    assert refused.status_code == 403 and "ACC-008" in refused.get_data(as_text=True)


def test_forms_refuse_csrf(client, auth, make_professional):
    make_professional("csrf")
    auth.login("csrf")
    for path, data in (("/compte/mot-de-passe", {"old_password": PASSWORD, "new_password": STRONG}),
                       ("/compte/coordonnees", {"city": "Paris"}),
                       ("/compte/double-authentification", {"code": "123456"}),
                       ("/compte/verification", {"password": PASSWORD}),
                       ("/compte/banque/1/annuler", {}),
                       ("/compte/creer", signup_data(10)),
                       ("/mot-de-passe-oublie", {"identifier": "csrf"})):
        response = client.post(path, data=data)
        assert response.status_code == 400 and "GEN-CSRF" in response.get_data(as_text=True), path


# --- operators -------------------------------------------------------------------------------------

def test_lock_stops_sessions_and_tokens_at_once(app, client, db_session, make_professional, api_token,
                                                operator):
    pro = make_professional("a.verrouiller")
    secret = api_token(pro)
    user = app.test_client()
    post(user, "/connexion", {"login": "a.verrouiller", "password": PASSWORD})
    assert user.get("/").status_code == 200
    headers = {"Authorization": f"Bearer {secret}"}
    assert client.get("/api/v1/me", headers=headers).status_code == 200
    login_with_code(client, "operateur", operator.totp)
    page = f"/operateur/comptes/{pro.id}"
    assert post(client, f"/operateur/comptes/{pro.id}/verrouiller", {"reason": ""}, page).status_code == 400
    assert post(client, f"/operateur/comptes/{pro.id}/verrouiller", {"reason": "Vol du poste"}, page).status_code == 302
    assert user.get("/").status_code == 302
    assert client.get("/api/v1/me", headers=headers).status_code == 401
    assert post(app.test_client(), "/connexion", {"login": "a.verrouiller", "password": PASSWORD}).status_code == 401
    assert "a.verrouiller" in client.get("/operateur/comptes?filtre=verrouille").get_data(as_text=True)
    assert db_session.scalars(select(LoginSession).where(LoginSession.professional_id == pro.id,
                                                         LoginSession.revoked_at.is_(None))).all() == []
    assert post(client, f"/operateur/comptes/{pro.id}/deverrouiller", {}, page).status_code == 302
    assert client.get("/api/v1/me", headers=headers).status_code == 200
    assert [e.action for e in db_session.scalars(select(AuditEvent).where(
        AuditEvent.action.in_(["account.locked", "account.unlocked"])).order_by(AuditEvent.id))] == [
        "account.locked", "account.unlocked"]


def test_operator_resets_a_lost_second_factor(app, client, db_session, mailbox, make_professional, operator):
    pro = make_professional("perdu")
    _set_email(db_session, pro, "perdu@exemple.fr")
    user = app.test_client()
    post(user, "/connexion", {"login": "perdu", "password": PASSWORD})
    enrol(user, db_session, pro)
    login_with_code(client, "operateur", operator.totp)
    page = f"/operateur/comptes/{pro.id}"
    assert post(client, f"/operateur/comptes/{pro.id}/reinitialiser-2fa", {"reason": ""}, page).status_code == 400
    response = post(client, f"/operateur/comptes/{pro.id}/reinitialiser-2fa",
                    {"reason": "Rappel au numéro du cabinet, RPPS vérifié"}, page)
    assert response.status_code == 302
    assert mailbox.last("perdu@exemple.fr")["Subject"] == "Double authentification réinitialisée"
    assert post(app.test_client(), "/connexion", {"login": "perdu", "password": PASSWORD}).headers[
        "Location"].endswith("/")
    assert events(db_session, "totp.reset")[0].detail_dict["reason"].startswith("Rappel")


def test_operator_pages_are_for_operators_with_a_second_factor(client, auth, make_professional):
    pro = make_professional("curieux")
    auth.login("curieux")
    assert client.get("/operateur/comptes").status_code == 404
    assert post(client, f"/operateur/comptes/{pro.id}/verrouiller", {"reason": "x"}, page="/").status_code == 404
    auth.logout()
    make_professional("op.sans.totp", role=Role.OPERATOR)
    auth.login("op.sans.totp")
    response = client.get("/operateur/comptes")
    assert response.status_code == 302 and response.headers["Location"].endswith("/compte/double-authentification")


def test_operator_home_counts_pending_and_professionals_without_bank_account(client, operator,
                                                                             make_professional):
    make_professional("sans.rib", bank=False)
    post(client, "/compte/creer", signup_data(11))
    login_with_code(client, "operateur", operator.totp)
    home = client.get("/").get_data(as_text=True)
    assert "Comptes des professionnels" in home
    section = home.split("Comptes des professionnels")[1]
    assert "Sans compte bancaire en vigueur" in section and "la liquidation ne les paie pas" in section
    assert "à activer" not in section  # this operator has a second factor


# --- API ---------------------------------------------------------------------------------------------

def test_api_me_has_practice_and_masked_bank_account(client, auth, make_professional, api_token):
    pro = make_professional("api.me")
    auth.login("api.me")
    post(client, "/compte/coordonnees", {"practice_name": "Cabinet API", "city": "Lyon", "postcode": "69001"})
    body = client.get("/api/v1/me", headers={"Authorization": f"Bearer {api_token(pro)}"}).get_json()
    assert body["practice"]["practice_name"] == "Cabinet API" and body["practice"]["city"] == "Lyon"
    assert body["bank_account"]["iban"] == "FR76 •••• 0189"
    assert "3000600001" not in str(body)
    for method in ("post", "put", "patch", "delete"):
        assert getattr(client, method)("/api/v1/me", headers={"Authorization": f"Bearer {api_token(pro)}"},
                                       json={"iban": NEW_IBAN}).status_code == 405
