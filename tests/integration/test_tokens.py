"""API tokens: creation and revocation in the UI, isolation between professionals."""

from __future__ import annotations

import hashlib

from sqlalchemy import select

from amelipro.audit import AuditEvent
from amelipro.auth.models import ApiToken


def _create(client, auth, name="LogicielX"):
    posted = client.post("/logiciels", data={"name": name, "csrf_token": auth.csrf("/logiciels")})
    assert posted.status_code == 302  # Post/Redirect/Get
    page = client.get(posted.headers["Location"])
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    start = html.index('data-testid="new-token">') + len('data-testid="new-token">')
    return html[start: html.index("<", start)]


def test_create_token_stores_only_a_hash(client, auth, make_professional, db_session):
    make_professional("dr.a")
    auth.login("dr.a")
    secret = _create(client, auth)
    assert secret.startswith("amp_")
    row = db_session.scalar(select(ApiToken))
    assert row.token_hash == hashlib.sha256(secret.encode()).hexdigest()
    assert secret not in (row.token_hash, row.prefix)
    assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {secret}"}).status_code == 200
    actions = list(db_session.scalars(select(AuditEvent.action)))
    assert "token.created" in actions


def test_revoke_token_in_ui(client, auth, make_professional, db_session):
    make_professional("dr.a")
    auth.login("dr.a")
    secret = _create(client, auth)
    token_id = db_session.scalar(select(ApiToken.id))
    response = client.post(f"/logiciels/{token_id}/revoquer", data={"csrf_token": auth.csrf("/logiciels")})
    assert response.status_code == 302
    assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {secret}"}).status_code == 401
    assert "token.revoked" in list(db_session.scalars(select(AuditEvent.action)))


def test_tokens_invisible_and_untouchable_by_another_professional(app, client, auth, make_professional, db_session):
    make_professional("dr.a")
    make_professional("dr.b")
    auth.login("dr.a")
    secret = _create(client, auth, name="Logiciel-de-A")
    token_id = db_session.scalar(select(ApiToken.id))
    auth.logout()
    auth.login("dr.b")
    page = client.get("/logiciels").get_data(as_text=True)
    assert "Logiciel-de-A" not in page
    response = client.post(f"/logiciels/{token_id}/revoquer", data={"csrf_token": auth.csrf("/logiciels")})
    assert response.status_code == 404
    db_session.expire_all()
    assert db_session.get(ApiToken, token_id).revoked_at is None
    assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {secret}"}).status_code == 200


def test_empty_token_name_refused(client, auth, make_professional, db_session):
    make_professional("dr.a")
    auth.login("dr.a")
    page = client.post("/logiciels", data={"name": "  ", "csrf_token": auth.csrf("/logiciels")})
    assert page.status_code in (200, 400)
    assert db_session.scalar(select(ApiToken)) is None


def test_revoking_asks_for_confirmation_and_get_writes_nothing(client, auth, make_professional, db_session):
    make_professional("dr.a")
    make_professional("dr.b")
    auth.login("dr.a")
    _create(client, auth, name="Logiciel-de-A")
    token_id = db_session.scalar(select(ApiToken.id))
    listing = client.get("/logiciels").get_data(as_text=True)
    assert f'href="/logiciels/{token_id}/revoquer"' in listing  # a link to the confirmation, not a POST
    assert f'action="/logiciels/{token_id}/revoquer"' not in listing
    assert 'href="/documentation-api"' in listing
    confirm = client.get(f"/logiciels/{token_id}/revoquer")
    html = confirm.get_data(as_text=True)
    assert confirm.status_code == 200 and "Oui, révoquer ce jeton" in html and "Logiciel-de-A" in html
    assert f'action="/logiciels/{token_id}/revoquer"' in html and 'href="/logiciels">Annuler' in html
    db_session.expire_all()
    assert db_session.get(ApiToken, token_id).revoked_at is None
    auth.logout()
    auth.login("dr.b")
    assert client.get(f"/logiciels/{token_id}/revoquer").status_code == 404
    assert client.get("/logiciels/999999/revoquer").status_code == 404


def test_new_token_has_a_copy_button_served_locally(client, auth, make_professional):
    make_professional("dr.a")
    auth.login("dr.a")
    html = client.post("/logiciels", data={"name": "X", "csrf_token": auth.csrf("/logiciels")},
                       follow_redirects=True).get_data(as_text=True)
    assert 'data-copy="new-token"' in html and 'id="new-token"' in html
    assert '<script src="/static/js/copy.js" defer></script>' in html
    static = client.get("/static/js/copy.js")
    assert static.status_code == 200 and b"navigator.clipboard" in static.get_data()
    static.close()
    assert "copy.js" not in client.get("/logiciels").get_data(as_text=True)  # only with a new token
def test_reload_after_creating_a_token_creates_nothing(client, auth, make_professional, db_session):
    """F5 on the page shown after the creation repeats a GET: no second token, no secret."""
    make_professional("dr.a")
    auth.login("dr.a")
    secret = _create(client, auth)
    reloaded = client.get("/logiciels")
    assert reloaded.status_code == 200
    assert secret not in reloaded.get_data(as_text=True)  # shown once
    assert 'data-testid="new-token"' not in reloaded.get_data(as_text=True)
    assert len(list(db_session.scalars(select(ApiToken)))) == 1
