"""Inputs that used to answer 500 (issue 13, item 10): each now has its defined answer.

And what the API says of itself: the penalty statement's ``month`` as documented, 400 on
``page=0`` documented, an ``Allow`` header on every 405.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import amelipro

BIG = str(2**64 + 1)  # beyond the database's 64-bit integers
PG_BIG = str(2**31)  # beyond PostgreSQL's 32-bit ids
SPEC = json.loads((Path(amelipro.__file__).parent / "static" / "openapi.json").read_text(encoding="utf-8"))


@pytest.fixture
def headers(make_professional, api_token):
    return {"Authorization": f"Bearer {api_token(make_professional(login='alice'))}"}


@pytest.mark.parametrize("path, code", [
    ("/api/v1/lots?page=%C2%B2", "GEN-NUM"),            # ² is a "digit" to str.isdigit
    ("/api/v1/lots?page=%D9%A3", "GEN-NUM"),            # Arabic-Indic three
    (f"/api/v1/lots?page={BIG}", "GEN-NUM"),
    (f"/api/v1/payments?page={BIG}", "GEN-NUM"),
    ("/api/v1/returns?limit=%C2%B2", "GEN-NUM"),
    (f"/api/v1/returns?since={BIG}", "TP-API-001"),
    ("/api/v1/returns?since=9999999999999999999", "TP-API-001"),
    ("/api/v1/returns?since=%C2%B2", "TP-API-001"),
    ("/api/v1/penalties?mois=9999-12", "TP-API-003"),
    ("/api/v1/penalties?mois=0005-4", "TP-API-003"),
    ("/api/v1/payments?min=sNaN", "TP-API-002"),
    ("/api/v1/payments?max=NaN", "TP-API-002"),
    ("/api/v1/payments?min=Infinity", "TP-API-002"),
    ("/api/v1/payments?min=1e999999", "TP-API-002"),
    (f"/api/v1/payments?max={'9' * 40}", "TP-API-002"),
    (f"/api/v1/reference/search?q=x&page={BIG}", "REF-010"),
    (f"/api/v1/reference/search?group={BIG}", "REF-010"),
    (f"/api/v1/reference/search?ehpad={BIG}", "REF-010"),
    ("/api/v1/reference/search?q=x&per_page=-5", "REF-010"),
    ("/api/v1/reference/search?q=x&page=%C2%B2", "REF-010"),
])
def test_strange_query_values_are_400_with_their_code(client, headers, path, code):
    response = client.get(path, headers=headers)
    assert response.status_code == 400, response.get_data(as_text=True)
    assert response.get_json()["errors"][0]["code"] == code


@pytest.mark.parametrize("path", [
    f"/api/v1/lots/{BIG}", f"/api/v1/fse/{BIG}", f"/api/v1/payments/{BIG}",
    f"/api/v1/virements/{BIG}", f"/api/v1/statements/{BIG}", f"/api/v1/reference/imports/{BIG}/diff",
    f"/api/v1/lots/{PG_BIG}", f"/api/v1/fse/{PG_BIG}", f"/api/v1/payments/{PG_BIG}",
    f"/api/v1/virements/{PG_BIG}", f"/api/v1/statements/{PG_BIG}", f"/api/v1/reference/imports/{PG_BIG}/diff",
])
def test_huge_ids_in_api_paths_are_not_found(client, headers, path):
    response = client.get(path, headers=headers)
    assert response.status_code == 404 and response.is_json
    assert client.delete(f"/api/v1/tokens/{BIG}", headers=headers).status_code == 404
    assert client.delete(f"/api/v1/tokens/{PG_BIG}", headers=headers).status_code == 404


@pytest.mark.parametrize("path", [
    f"/facturation/lots/{BIG}", f"/facturation/fse/{BIG}", f"/facturation/fse/{BIG}/fse.xml",
    f"/facturation/lots/{BIG}/accuse", f"/paiements/factures/{BIG}", f"/paiements/virements/{BIG}",
    f"/paiements/releves/{BIG}", f"/referentiels/imports/{BIG}", f"/droits/consultations/{BIG}",
    f"/facturation/lots/{PG_BIG}", f"/paiements/factures/{PG_BIG}", f"/droits/consultations/{PG_BIG}",
])
def test_huge_ids_in_page_paths_are_not_found(client, auth, make_professional, path):
    make_professional(login="bruno")
    auth.login("bruno")
    assert client.get(path).status_code == 404


@pytest.mark.parametrize("query", [f"group={BIG}", f"ehpad={BIG}", f"q=x&page={BIG}", "q=x&page=%C2%B2",
                                   "mois=9999-12"])
def test_pages_answer_strange_values_with_400(client, auth, make_professional, query):
    make_professional(login="bruno")
    auth.login("bruno")
    path = "/paiements/penalites" if query.startswith("mois") else "/referentiels/"
    assert client.get(f"{path}?{query}").status_code == 400


def _statement(client, headers, body: bytes):
    return client.post("/api/v1/statements", data=body, headers={**headers, "Content-Type": "text/csv"})


def test_statement_with_cr_only_line_endings_is_read(client, headers):
    body = b"date;date_valeur;libelle;reference;montant\r2026-05-22;2026-05-22;VIR CPAM;REF-1;63,00\r"
    response = _statement(client, headers, body)
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["lines"] == 1


def test_statement_with_a_field_over_128_kib_is_refused(client, headers):
    body = b'date;montant\n2026-05-22;"' + b"9" * (200 * 1024) + b'"\n'
    response = _statement(client, headers, body)
    assert response.status_code in (400, 422)
    assert response.get_json()["errors"][0]["code"].startswith("TP-REL-")


def test_statement_with_a_40_digit_amount_is_refused_line_by_line(client, headers):
    response = _statement(client, headers, b"date;montant\n2026-05-22;" + b"9" * 40 + b",00\n")
    assert response.status_code == 422
    assert response.get_json()["errors"][0]["code"] == "TP-REL-003"


def test_penalty_month_is_always_yyyy_mm(client, headers):
    body = client.get("/api/v1/penalties?mois=2026-04", headers=headers).get_json()
    assert body["month"] == "2026-04"


def test_paging_400_is_documented_on_every_operation_with_a_query():
    for path, item in SPEC["paths"].items():
        for method, op in item.items():
            params = op.get("parameters", []) if isinstance(op, dict) else []
            if any(p.get("in") == "query" or "$ref" in p for p in params):
                assert "400" in op["responses"], f"{method.upper()} {path}"


@pytest.mark.parametrize("method, path", [("delete", "/api/v1/lots"), ("put", "/api/v1/me"),
                                          ("post", "/healthz"), ("put", "/connexion"),
                                          ("delete", "/facturation/envoyer")])
def test_every_405_says_what_is_allowed(client, method, path):
    response = getattr(client, method)(path)
    assert response.status_code == 405
    allowed = {m.strip() for m in response.headers["Allow"].split(",")}
    assert "GET" in allowed or "POST" in allowed
    assert method.upper() not in allowed


def test_every_undescribed_method_of_every_api_path_is_405_with_the_described_ones_allowed(client, headers):
    methods = {"get", "post", "put", "patch", "delete"}
    for path, item in SPEC["paths"].items():
        described = {m for m in item if m in methods}
        url = path.replace("{", "").replace("}", "")
        url = "/".join("1" if part.endswith(("_id", "id")) and part != "validate" else part for part in url.split("/"))
        for method in sorted(methods - described):
            response = client.open(url, method=method.upper(), headers=headers)
            assert response.status_code == 405, (method, url, response.status_code)
            allowed = {m.strip().lower() for m in response.headers["Allow"].split(",")}
            assert allowed - {"head", "options"} == described, (method, url, allowed)
