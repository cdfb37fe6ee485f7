"""Login, logout, sessions, CSRF, throttling, password hashing, audit (HTML side)."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DatabaseError

from amelipro.audit import AuditEvent
from amelipro.auth.models import LoginSession, Professional, Role
from tests.conftest import PASSWORD, csrf_from


def _actions(db_session) -> list[str]:
    return list(db_session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)))


def test_login_page_is_french_and_accessible(client):
    page = client.get("/connexion")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert '<html lang="fr">' in html
    assert '<label for="login">Identifiant</label>' in html
    assert '<label for="password">Mot de passe</label>' in html


def test_pages_require_login(client):
    response = client.get("/")
    assert response.status_code == 302
    assert "/connexion" in response.headers["Location"]


def test_login_shows_dashboard_with_name(client, auth, make_professional):
    make_professional("dr.house", first_name="Grégoire", last_name="Maison")
    response = auth.login("dr.house")
    assert response.status_code == 302
    page = client.get("/").get_data(as_text=True)
    assert "Dr Grégoire Maison" in page
    assert "Tableau de bord" in page


@pytest.mark.parametrize("login,password", [("dr.house", "mauvais-mot-de-passe"), ("inconnu", PASSWORD)])
def test_wrong_credentials_same_french_answer(client, auth, make_professional, db_session, login, password):
    make_professional("dr.house")
    response = auth.login(login, password)
    html = response.get_data(as_text=True)
    assert response.status_code == 401
    assert "Identifiant ou mot de passe incorrect." in html
    assert client.get("/").status_code == 302  # still anonymous
    assert _actions(db_session)[-1] == "login.failed"


def test_csrf_refused_without_token(client, make_professional):
    make_professional("dr.house")
    response = client.post("/connexion", data={"login": "dr.house", "password": PASSWORD})
    assert response.status_code == 400
    assert client.get("/").status_code == 302


def test_csrf_refused_on_logout_and_token_forms(client, auth, make_professional):
    make_professional("dr.house")
    auth.login("dr.house")
    assert client.post("/logiciels", data={"name": "X"}).status_code == 400
    assert client.post("/deconnexion", data={}).status_code == 400
    # the session survived the forged logout
    assert client.get("/").status_code == 200


def test_session_id_changes_at_login(client, auth, make_professional):
    make_professional("dr.house")
    client.get("/connexion")
    with client.session_transaction() as sess:
        sess["planted"] = "by-attacker"
        before = dict(sess)
    auth.login("dr.house")
    with client.session_transaction() as sess:
        first = sess.get("_user_id")
        assert "planted" not in sess  # fresh session: nothing survives the login
    assert first and first != before.get("_user_id")
    auth.logout()
    auth.login("dr.house")
    with client.session_transaction() as sess:
        assert sess.get("_user_id") not in (None, first)


def test_logout_invalidates_old_session_cookie(app, client, auth, make_professional, db_session):
    make_professional("dr.house")
    auth.login("dr.house")
    cookie = client.get_cookie("session").value
    assert client.get("/").status_code == 200
    auth.logout()
    replay = app.test_client()
    replay.set_cookie("session", cookie)
    response = replay.get("/")
    assert response.status_code == 302
    assert db_session.scalar(select(LoginSession.revoked_at)) is not None


def test_throttling_after_repeated_failures(client, auth, make_professional, db_session):
    make_professional("dr.house")
    for _ in range(5):
        assert auth.login("dr.house", "mauvais").status_code == 401
    blocked = auth.login("dr.house")  # even the right password
    assert blocked.status_code == 429
    assert "Trop de tentatives" in blocked.get_data(as_text=True)
    assert client.get("/").status_code == 302
    assert "login.throttled" in _actions(db_session)


def test_throttling_does_not_reveal_unknown_logins(auth):
    for _ in range(5):
        auth.login("personne", "x")
    assert auth.login("personne", "x").status_code == 429


def test_passwords_stored_as_argon2id(make_professional, db_session):
    make_professional("dr.house")
    stored = db_session.scalar(select(Professional.password_hash))
    assert stored.startswith("$argon2id$")
    assert PASSWORD not in stored


def test_open_redirect_refused(client, auth, make_professional):
    make_professional("dr.house")
    page = client.get("/connexion?next=//evil.example/")
    token = csrf_from(page.get_data(as_text=True))
    response = client.post(
        "/connexion?next=//evil.example/",
        data={"login": "dr.house", "password": PASSWORD, "csrf_token": token},
    )
    assert response.headers["Location"] == "/"


def test_audit_log_records_and_is_for_operators(client, auth, make_professional, db_session):
    make_professional("dr.house")
    make_professional("ops", role=Role.OPERATOR)
    auth.login("dr.house", "faux")
    auth.login("dr.house")
    assert client.get("/journal").status_code == 403
    auth.logout()
    auth.login("ops")
    page = client.get("/journal")
    assert page.status_code == 200
    html = page.get_data(as_text=True).replace("&#39;", "'")
    assert "dr.house a échoué à se connecter" in html and "dr.house s'est connecté(e)." in html
    assert "dr.house s'est déconnecté(e)." in html and "login.failed" not in re.sub(r"<[^>]*>", " ", html)


def test_audit_log_is_append_only_in_database(auth, make_professional, db_session):
    make_professional("dr.house")
    auth.login("dr.house")
    with pytest.raises(DatabaseError):
        db_session.execute(text("UPDATE audit_event SET action = 'x'"))
        db_session.commit()
    db_session.rollback()
    with pytest.raises(DatabaseError):
        db_session.execute(text("DELETE FROM audit_event"))
        db_session.commit()
    db_session.rollback()
    assert "x" not in _actions(db_session)


@pytest.mark.parametrize("target", [
    "/%09/evil.example",        # tab dropped by browsers: //evil.example
    "/%0A/evil.example",        # newline, same (and a newline in a Location header)
    "/%0D%0A/evil.example",
    "/%5Cevil.example",         # /\\evil.example: a backslash counts as a slash
    "%5C%5Cevil.example",
    "//evil.example",
    "https://evil.example/",
    "/%20/evil.example",
    "javascript:alert(1)",
    "evil.example",
    "/%2509/evil.example",      # double-encoded tab
])
def test_login_never_redirects_off_site(client, auth, make_professional, target):
    make_professional("dr.house")
    page = client.get(f"/connexion?next={target}")
    token = csrf_from(page.get_data(as_text=True))
    response = client.post(f"/connexion?next={target}",
                           data={"login": "dr.house", "password": PASSWORD, "csrf_token": token})
    assert response.status_code == 302
    assert response.headers["Location"] == "/"


def test_login_redirects_to_a_page_of_this_site(client, auth, make_professional):
    make_professional("dr.house")
    page = client.get("/connexion?next=/logiciels?x=1")
    token = csrf_from(page.get_data(as_text=True))
    response = client.post("/connexion?next=%2Flogiciels%3Fx%3D1",
                           data={"login": "dr.house", "password": PASSWORD, "csrf_token": token})
    assert response.status_code == 302
    assert response.headers["Location"] == "/logiciels?x=1"
