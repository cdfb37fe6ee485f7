"""POST /api/v1/beneficiaries/rights {nir, birth_date, rank?, at?} (token required): the
rights billing needs, for a patient identified as on the carte Vitale; recorded, throttled."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select

from amelipro.audit import AuditEvent
from amelipro.beneficiaries import services

TODAY = date(2026, 1, 15)
GARCIA = "185074410922244"  # born 1985-07-30
DUBOIS = "158037511204568"  # Paul 1958-03-15 (rank 1), Léa 2012-09-03 (rank 2)
ROUX = "190069306611155"    # born 1990-06-09, C2S
PETIT = "238047505678910"   # born 1938-04-07, ALD, EHPAD


@pytest.fixture
def token(app, db_session, make_professional, api_token):
    services.seed_demo(db_session, TODAY)
    return api_token(make_professional("dr.api"))


def post(client, token: str | None, **body):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return client.post("/api/v1/beneficiaries/rights", json=body, headers=headers)


def test_token_required(client, token):
    response = post(client, None, nir=GARCIA, birth_date="1985-07-30")
    assert response.status_code == 401
    assert response.get_json()["errors"][0]["code"].startswith("AUTH-")
    assert post(client, "amp_not-a-token", nir=GARCIA, birth_date="1985-07-30").status_code == 401


def test_the_old_nir_only_address_is_gone(client, token):
    response = client.get(f"/api/v1/beneficiaries/{GARCIA}/rights",
                          headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 404


def test_rights_answer_at_the_chosen_date(client, token):
    closed = post(client, token, nir=GARCIA, birth_date="1985-07-30", at=TODAY.isoformat())
    assert closed.status_code == 200
    body = closed.get_json()
    assert body["nir"] == GARCIA and body["at"] == TODAY.isoformat()
    assert body["beneficiaries"][0]["rights_open"] is False
    before = post(client, token, nir=GARCIA, birth_date="30/07/1985",
                  at=(TODAY - timedelta(days=90)).isoformat()).get_json()
    assert before["beneficiaries"][0]["rights_open"] is True


def test_only_what_billing_needs(client, token):
    body = post(client, token, nir=PETIT, birth_date="1938-04-07", at=TODAY.isoformat()).get_json()
    (person,) = body["beneficiaries"]
    assert set(person) == {"rank", "age", "regime", "caisse", "centre", "alsace_moselle", "rights_open",
                           "exemptions", "ehpad_resident"}
    assert person["ehpad_resident"] is True
    assert [set(e) for e in person["exemptions"]] == [{"type", "label", "start", "end"}]
    text = str(body)
    for private in ("PETIT", "Jeanne", "Alzheimer", services.DEMO_EHPAD_NAME, "1938-04-07"):
        assert private not in text


def test_exemptions_are_those_in_force_on_the_date(client, token):
    now = post(client, token, nir=ROUX, birth_date="1990-06-09", at=TODAY.isoformat()).get_json()
    assert [e["type"] for e in now["beneficiaries"][0]["exemptions"]] == ["c2s"]
    later = post(client, token, nir=ROUX, birth_date="1990-06-09",
                 at=(TODAY + timedelta(days=400)).isoformat()).get_json()
    assert later["beneficiaries"][0]["exemptions"] == []


def test_birth_date_and_rank_choose_the_beneficiary(client, token):
    lea = post(client, token, nir=DUBOIS, birth_date="2012-09-03", at=TODAY.isoformat()).get_json()
    assert [(b["rank"], b["age"]) for b in lea["beneficiaries"]] == [(2, 13)]
    paul = post(client, token, nir=DUBOIS, birth_date="1958-03-15", rank=1, at=TODAY.isoformat())
    assert [b["rank"] for b in paul.get_json()["beneficiaries"]] == [1]


def test_nir_with_spaces_and_default_date(client, token):
    response = post(client, token, nir="1 90 06 93 066 111 55", birth_date="1990-06-09")
    assert response.status_code == 200
    assert response.get_json()["nir"] == ROUX


@pytest.mark.parametrize("body", [
    {"nir": "184127645108946", "birth_date": "1984-12-01"},   # unknown NIR
    {"nir": GARCIA, "birth_date": "1985-07-31"},               # the wrong birth date
    {"nir": GARCIA, "birth_date": "1985-07-30", "rank": 2},    # the wrong rank
    {"nir": DUBOIS, "birth_date": "2012-09-03", "rank": 1},    # a sibling's birth date
])
def test_unknown_and_mismatch_answer_exactly_alike(client, token, body):
    response = post(client, token, at=TODAY.isoformat(), **body)
    assert response.status_code == 404
    assert response.get_json() == {"errors": [{
        "code": "BEN-002", "message": "Assuré inconnu du fichier de la caisse.",
        "hint": "Vérifiez le NIR sur la carte Vitale ou l'attestation de droits (rejet caisse 0250 050).",
        "cpam_code": "0250 050"}]}


def test_each_lookup_recorded_in_the_audit_log(client, token, db_session):
    post(client, token, nir=GARCIA, birth_date="1985-07-30", at=TODAY.isoformat())
    post(client, token, nir=GARCIA, birth_date="1985-07-31", at=TODAY.isoformat())
    events = list(db_session.scalars(select(AuditEvent).where(AuditEvent.action == "beneficiaries.lookup")
                                     .order_by(AuditEvent.id)))
    assert [e.actor_login for e in events] == ["dr.api", "dr.api"]
    assert [e.detail_dict["found"] for e in events] == [[1], []]
    assert {e.detail_dict["nir"] for e in events} == {GARCIA}


def test_throttled_with_a_stable_code(app, client, token):
    app.config["RIGHTS_LOOKUP_LIMIT"] = 3
    for _ in range(3):
        assert post(client, token, nir=GARCIA, birth_date="1985-07-30").status_code == 200
    response = post(client, token, nir=GARCIA, birth_date="1985-07-30")
    assert response.status_code == 429
    assert response.get_json()["errors"][0]["code"] == "BEN-006"


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"nir": "282081939881410", "birth_date": "1982-08-19"}, 400, "BEN-001"),
        ({"nir": GARCIA}, 400, "BEN-005"),
        ({"nir": GARCIA, "birth_date": "1985-02-30"}, 400, "BEN-005"),
        ({"nir": GARCIA, "birth_date": "1985-07-30", "rank": 0}, 400, "BEN-007"),
        ({"nir": GARCIA, "birth_date": "1985-07-30", "rank": "x"}, 400, "BEN-007"),
        ({"nir": GARCIA, "birth_date": "1985-07-30", "rank": True}, 400, "BEN-007"),
        ({"nir": GARCIA, "birth_date": "1985-07-30", "at": "15/01/2026"}, 400, "GEN-DATE"),
        ({"nir": 185074410922244, "birth_date": "1985-07-30"}, 400, "GEN-400"),
    ],
)
def test_errors_have_codes(client, token, body, status, code):
    response = post(client, token, **body)
    assert response.status_code == status
    error = response.get_json()["errors"][0]
    assert error["code"] == code and error["message"]


def test_a_body_that_is_not_json_is_a_400(client, token):
    response = client.post("/api/v1/beneficiaries/rights", data=b"nir=1",
                           headers={"Authorization": f"Bearer {token}", "Content-Type": "text/plain"})
    assert response.status_code == 400 and response.get_json()["errors"][0]["code"] == "GEN-400"
