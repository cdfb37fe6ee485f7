"""Bearer tokens on /api/: stable JSON error codes, scoping to the token's owner."""

from __future__ import annotations


def _bearer(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


def test_missing_token(client):
    response = client.get("/api/v1/me")
    assert response.status_code == 401
    assert response.json["errors"][0]["code"] == "AUTH-010"
    assert response.json["errors"][0]["message"] == "Jeton d'API absent."


def test_invalid_token(client):
    response = client.get("/api/v1/me", headers=_bearer("amp_nope"))
    assert response.status_code == 401
    assert response.json["errors"][0]["code"] == "AUTH-011"


def test_wrong_scheme(client, make_professional, api_token):
    secret = api_token(make_professional("dr.a"))
    response = client.get("/api/v1/me", headers={"Authorization": f"Basic {secret}"})
    assert response.json["errors"][0]["code"] == "AUTH-010"


def test_me_answers_the_owner(client, make_professional, api_token):
    pro = make_professional("dr.a", rpps="10000000041")
    response = client.get("/api/v1/me", headers=_bearer(api_token(pro)))
    assert response.status_code == 200
    assert response.json["login"] == "dr.a"
    assert response.json["rpps"] == "10000000041"


def test_tokens_scoped_to_owner(client, make_professional, api_token):
    a, b = make_professional("dr.a"), make_professional("dr.b")
    secret_a = api_token(a, "A-soft")
    secret_b = api_token(b, "B-soft")
    names_a = [t["name"] for t in client.get("/api/v1/tokens", headers=_bearer(secret_a)).json["tokens"]]
    assert names_a == ["A-soft"]
    b_tokens = client.get("/api/v1/tokens", headers=_bearer(secret_b)).json["tokens"]
    response = client.delete(f"/api/v1/tokens/{b_tokens[0]['id']}", headers=_bearer(secret_a))
    assert response.status_code == 404
    assert response.json["errors"][0]["code"] == "AUTH-014"
    assert client.get("/api/v1/me", headers=_bearer(secret_b)).status_code == 200


def test_revoke_own_token_via_api(client, make_professional, api_token):
    secret = api_token(make_professional("dr.a"))
    token_id = client.get("/api/v1/tokens", headers=_bearer(secret)).json["tokens"][0]["id"]
    assert client.delete(f"/api/v1/tokens/{token_id}", headers=_bearer(secret)).status_code == 200
    assert client.get("/api/v1/me", headers=_bearer(secret)).status_code == 401


def test_unknown_api_route_is_json_404(client):
    response = client.get("/api/v1/nope")
    assert response.status_code == 404
    assert response.json["errors"][0]["code"] == "GEN-404"


def test_healthz(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json == {"status": "ok", "database": "ok"}


def test_healthz_reports_an_unmigrated_database(tmp_path):
    from amelipro import create_app

    app = create_app({"DATABASE_URL": f"sqlite:///{tmp_path / 'empty.sqlite3'}", "INSTANCE_PATH": str(tmp_path),
                      "SECRET_KEY": "x"})
    response = app.test_client().get("/healthz")
    assert response.status_code == 503
    assert response.json["status"] == "error"
    app.extensions["amelipro.engine"].dispose()
