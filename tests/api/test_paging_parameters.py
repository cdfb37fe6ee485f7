"""Paging parameters: a number that is not a positive integer is refused with GEN-NUM (400),
on the API and on the pages, instead of being silently replaced."""

from __future__ import annotations

import pytest

BAD = [(path, f"page={v}") for path in ("/api/v1/lots", "/api/v1/payments") for v in ("abc", "0", "-2", "1.5")]
BAD += [("/api/v1/returns", f"limit={v}") for v in ("abc", "0", "-1")]


@pytest.mark.parametrize("path, query", BAD)
def test_api_refuses_bad_numbers(client, make_professional, api_token, path, query):
    headers = {"Authorization": f"Bearer {api_token(make_professional())}"}
    response = client.get(f"{path}?{query}", headers=headers)
    errors = response.get_json()["errors"]
    assert response.status_code == 400 and errors[0]["code"] == "GEN-NUM", errors
    assert query.split("=")[0] in errors[0]["detail"] and errors[0]["hint"]


def test_api_accepts_good_numbers(client, make_professional, api_token):
    headers = {"Authorization": f"Bearer {api_token(make_professional())}"}
    assert client.get("/api/v1/lots?page=2", headers=headers).get_json()["page"] == 2
    assert client.get("/api/v1/returns?limit=5", headers=headers).status_code == 200
    assert client.get("/api/v1/payments?page=", headers=headers).status_code == 200  # empty: first page


@pytest.mark.parametrize("path", ["/facturation/?page=x", "/paiements/factures?page=0"])
def test_pages_refuse_bad_numbers_in_french(client, auth, make_professional, path):
    make_professional(login="alice")
    auth.login("alice")
    response = client.get(path)
    assert response.status_code == 400
    assert "Paramètre numérique invalide." in response.get_data(as_text=True)
