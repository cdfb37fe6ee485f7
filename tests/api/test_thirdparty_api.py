"""Tiers-payant API: returns feed (JSON and XML), payments, virements, penalties, isolation."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from lxml import etree

from amelipro.thirdparty.liquidation import LiquidationConfig, run_liquidation
from amelipro.thirdparty.rsp import RSP_NS

XSD = Path(__file__).resolve().parents[2] / "xsd" / "rsp" / "1" / "rsp.xsd"
LIQ_DAY = date(2026, 5, 27)  # working day 10 after 11 May: 10 % penalty


@pytest.fixture
def two_pros(app, make_professional, make_accepted_fse, tp_lookup, tp_session, api_token):
    app.config["THIRDPARTY_TODAY"] = "2026-05-29"
    a, b = make_professional(), make_professional()
    fa = [make_accepted_fse(a) for _ in range(3)] + [make_accepted_fse(a, code="ZZZ")]
    fb = [make_accepted_fse(b, invoice_number="SECRET-B")]
    run_liquidation(tp_session, LiquidationConfig(today=LIQ_DAY), lookup=tp_lookup)
    return {"a": a, "b": b, "fa": fa, "fb": fb,
            "ha": {"Authorization": f"Bearer {api_token(a)}"},
            "hb": {"Authorization": f"Bearer {api_token(b)}"}}


def test_feed_pages_without_missing_or_rereading(client, two_pros):
    h = two_pros["ha"]
    first = client.get("/api/v1/returns?since=0&limit=3", headers=h).get_json()
    assert len(first["returns"]) == 3
    rest = client.get(f"/api/v1/returns?since={first['next']}", headers=h).get_json()
    assert len(rest["returns"]) == 1
    seen = [r["fse_id"] for r in first["returns"] + rest["returns"]]
    assert sorted(seen) == sorted(two_pros["fa"])  # all of A's, none of B's
    end = client.get(f"/api/v1/returns?since={rest['next']}", headers=h).get_json()
    assert end == {"returns": [], "next": rest["next"]}
    rejected = rest["returns"][0] if rest["returns"][0]["status"] == "rejete" else next(
        r for r in first["returns"] if r["status"] == "rejete")
    assert rejected["codes"][0]["code"] == "AMP 001" and rejected["codes"][0]["hint"]
    paid = first["returns"][0]
    assert paid["status"] == "paye" and paid["amounts"]["amo_paid"] == "21.00"
    assert paid["virement"]["reference"].startswith("AMP20260527")


def test_feed_other_professional(client, two_pros):
    body = client.get("/api/v1/returns", headers=two_pros["hb"]).get_json()
    assert [r["invoice_number"] for r in body["returns"]] == ["SECRET-B"]


def test_feed_xml_is_valid(client, two_pros):
    resp = client.get("/api/v1/returns?since=0", headers={**two_pros["ha"], "Accept": "application/xml"})
    assert resp.status_code == 200 and resp.content_type.startswith("application/xml")
    doc = etree.fromstring(resp.data)
    etree.XMLSchema(etree.parse(str(XSD))).assertValid(doc)
    assert len(doc.findall(f"{{{RSP_NS}}}Retour")) == 4
    assert b"SECRET-B" not in resp.data


@pytest.mark.parametrize("since", ["abc", "-1", "1.5", "9" * 30])
def test_feed_bad_cursor(client, make_professional, api_token, since):
    headers = {"Authorization": f"Bearer {api_token(make_professional())}"}
    resp = client.get(f"/api/v1/returns?since={since}", headers=headers)
    assert resp.status_code == 400
    assert resp.get_json()["errors"][0]["code"] == "TP-API-001"


def test_token_required(client):
    for path in ("/api/v1/returns", "/api/v1/payments", "/api/v1/virements", "/api/v1/penalties"):
        assert client.get(path).status_code == 401


def test_payments_scoped_and_filtered(client, two_pros):
    h = two_pros["ha"]
    body = client.get("/api/v1/payments", headers=h).get_json()
    assert body["total"] == 4 and "SECRET-B" not in str(body)
    rejected = client.get("/api/v1/payments?statut=rejetee", headers=h).get_json()
    assert [p["reject_code"] for p in rejected["payments"]] == ["AMP 001"]
    paid = client.get("/api/v1/payments?statut=payee", headers=h).get_json()["payments"][0]
    assert paid["delay"] == {"working_days": 10, "days_late": 3, "penalty": "2.10",
                             "penalty_kind": "pourcentage"}
    bad = client.get("/api/v1/payments?du=31-12-2026", headers=h)
    assert bad.status_code == 400 and bad.get_json()["errors"][0]["code"] == "TP-API-002"


def test_payment_detail_and_isolation(client, two_pros):
    fse = two_pros["fa"][0]
    body = client.get(f"/api/v1/payments/{fse}", headers=two_pros["ha"]).get_json()
    assert [h["event"] for h in body["history"]] == ["acknowledge", "liquidate", "pay"]
    other = client.get(f"/api/v1/payments/{two_pros['fb'][0]}", headers=two_pros["ha"])
    assert other.status_code == 404 and other.get_json()["errors"][0]["code"] == "TP-API-404"


def test_virements_and_penalties(client, two_pros):
    h = two_pros["ha"]
    virements = client.get("/api/v1/virements", headers=h).get_json()["virements"]
    assert len(virements) == 1 and virements[0]["amount"] == "63.00"
    detail = client.get(f"/api/v1/virements/{virements[0]['id']}", headers=h).get_json()
    assert len(detail["fse"]) == 3
    b_virement = client.get("/api/v1/virements", headers=two_pros["hb"]).get_json()["virements"][0]
    assert client.get(f"/api/v1/virements/{b_virement['id']}", headers=h).status_code == 404
    penalties = client.get("/api/v1/penalties?mois=2026-05", headers=h).get_json()
    assert penalties["total"] == str(Decimal("2.10") * 3)
    assert {p["penalty_kind"] for p in penalties["penalties"]} == {"pourcentage"}
    assert client.get("/api/v1/penalties?mois=mai", headers=h).status_code == 400


def test_statement_upload_api_matches_and_is_scoped(client, two_pros):
    from amelipro.thirdparty.reconciliation import virement_reference

    ref = virement_reference(two_pros["a"].id, LIQ_DAY)
    csv_body = ("date;date_valeur;libelle;reference;montant\n"
                f"27/05/2026;27/05/2026;VIR CPAM;{ref};63,00\n"
                "28/05/2026;28/05/2026;MUTUELLE;;12,50\n").encode()
    h = {**two_pros["ha"], "Content-Type": "text/csv", "X-Filename": "releve-mai.csv"}
    resp = client.post("/api/v1/statements", data=csv_body, headers=h)
    body = resp.get_json()
    assert resp.status_code == 201, body
    assert resp.headers["Location"] == f"/api/v1/statements/{body['id']}"
    assert (body["lines"], body["matched"], body["unknown"], body["credits_total"]) == (2, 1, 1, "75.50")
    assert [c["status"] for c in body["credits"]] == ["rapproche", "inconnu"]
    assert body["credits"][0]["virement_reference"] == ref and body["credits"][0]["amount"] == "63.00"
    assert body["virements_not_received"] == [] and body["filename"] == "releve-mai.csv"
    # the same file again: 409 pointing to the first reconciliation, nothing stored twice
    again = client.post("/api/v1/statements", data=csv_body, headers=h)
    assert again.status_code == 409 and again.get_json()["errors"][0]["code"] == "TP-REL-005"
    assert again.headers["Location"] == resp.headers["Location"]
    listed = client.get("/api/v1/statements", headers=two_pros["ha"]).get_json()["statements"]
    assert [s["id"] for s in listed] == [body["id"]]
    # another professional sees neither the list nor the statement
    assert client.get("/api/v1/statements", headers=two_pros["hb"]).get_json() == {"statements": []}
    assert client.get(f"/api/v1/statements/{body['id']}", headers=two_pros["hb"]).status_code == 404


@pytest.mark.parametrize("data, status, code", [
    (b"", 400, "TP-REL-006"),
    (b"%PDF-1.4\x00\x01binary", 400, "TP-REL-001"),
    (b"date;montant\n2026-05-22;abc\n", 422, "TP-REL-003"),
    (b'<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><x>&e;</x>', 400, None),
])
def test_statement_upload_api_refusals(client, two_pros, data, status, code):
    resp = client.post("/api/v1/statements", data=data, headers={**two_pros["ha"], "Content-Type": "text/csv"})
    errors = resp.get_json()["errors"]
    assert resp.status_code == status and (code is None or errors[0]["code"] == code), errors
    assert "root:" not in resp.get_data(as_text=True)
    assert client.get("/api/v1/statements", headers=two_pros["ha"]).get_json() == {"statements": []}


def test_statement_upload_api_needs_a_token(client):
    assert client.post("/api/v1/statements", data=b"x").status_code == 401


def test_statement_filename_from_the_query_when_no_header(client, two_pros):
    body = b"date;date_valeur;libelle;reference;montant\n28/05/2026;28/05/2026;MUTUELLE;;12,50\n"
    resp = client.post("/api/v1/statements?filename=juin.csv", data=body,
                       headers={**two_pros["ha"], "Content-Type": "text/csv"})
    assert resp.status_code == 201 and resp.get_json()["filename"] == "juin.csv"
    assert resp.get_json()["unknown"] == 1
