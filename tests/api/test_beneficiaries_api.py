"""GET /api/v1/beneficiaries/<nir>/rights?at=YYYY-MM-DD (token required)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from amelipro.beneficiaries import services

TODAY = date(2026, 1, 15)
GARCIA = "185074410922244"
DUBOIS = "158037511204568"
ROUX = "190069306611155"


@pytest.fixture
def token(app, db_session, make_professional, api_token):
    services.seed_demo(db_session, TODAY)
    return api_token(make_professional("dr.api"))


def get(client, nir: str, token: str | None, at: str | None = None):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    query = f"?at={at}" if at else ""
    return client.get(f"/api/v1/beneficiaries/{nir}/rights{query}", headers=headers)


def test_token_required(client, token):
    response = get(client, GARCIA, None, TODAY.isoformat())
    assert response.status_code == 401
    assert response.get_json()["errors"][0]["code"].startswith("AUTH-")
    assert get(client, GARCIA, "amp_not-a-token", TODAY.isoformat()).status_code == 401


def test_rights_answer_at_the_chosen_date(client, token):
    closed = get(client, GARCIA, token, TODAY.isoformat())
    assert closed.status_code == 200
    body = closed.get_json()
    assert body["nir"] == GARCIA and body["at"] == TODAY.isoformat()
    assert body["beneficiaries"][0]["rights_open"] is False
    before = get(client, GARCIA, token, (TODAY - timedelta(days=90)).isoformat()).get_json()
    assert before["beneficiaries"][0]["rights_open"] is True
    assert before["beneficiaries"][0]["periods"]["rights"] == [
        {"start": "2020-01-01", "end": (TODAY - timedelta(days=60)).isoformat()}
    ]


def test_exemptions_are_those_in_force_on_the_date(client, token):
    now = get(client, ROUX, token, TODAY.isoformat()).get_json()["beneficiaries"][0]
    assert [e["type"] for e in now["exemptions"]] == ["c2s"]
    later = get(client, ROUX, token, (TODAY + timedelta(days=400)).isoformat()).get_json()
    assert later["beneficiaries"][0]["exemptions"] == []
    assert later["beneficiaries"][0]["periods"]["exemptions"][0]["type"] == "c2s"


def test_every_rank_under_a_nir(client, token):
    body = get(client, DUBOIS, token, TODAY.isoformat()).get_json()
    assert [(b["rank"], b["first_name"]) for b in body["beneficiaries"]] == [(1, "Paul"), (2, "Léa")]
    assert body["beneficiaries"][1]["age"] == 13


def test_nir_with_spaces_and_default_date(client, token):
    response = get(client, "1%2090%2006%2093%20066%20111%2055", token)
    assert response.status_code == 200
    assert response.get_json()["nir"] == ROUX


@pytest.mark.parametrize(
    ("nir", "at", "status", "code"),
    [
        ("282081939881410", "2026-01-15", 400, "BEN-001"),
        ("184127645108946", "2026-01-15", 404, "BEN-002"),
        (GARCIA, "15/01/2026", 400, "GEN-DATE"),
        (GARCIA, "2026-02-30", 400, "GEN-DATE"),
    ],
)
def test_errors_have_codes(client, token, nir, at, status, code):
    response = get(client, nir, token, at)
    assert response.status_code == status
    error = response.get_json()["errors"][0]
    assert error["code"] == code and error["message"]
    if code == "BEN-002":
        assert error["cpam_code"] == "0250 050"
