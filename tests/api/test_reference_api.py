"""Public reference API and pages: no login, dated answers, stable 404 codes."""

import pytest

from amelipro.auth.models import Role


@pytest.fixture
def demo(reference_demo):
    return reference_demo


def test_search_api_is_public(client, demo):
    data = client.get("/api/v1/reference/search?q=dolip+1000&kind=medicine&at=2026-08-01").get_json()
    assert data["at"] == "2026-08-01"
    assert data["results"][0]["code"] == "3400935955838"
    assert data["results"][0]["kind"] == "medicine"


def test_search_api_exact_code_flag(client, demo):
    data = client.get("/api/v1/reference/search?q=DEQP003").get_json()
    assert data["results"][0] == {"kind": "act", "code": "DEQP003", "exact_code": True,
                                  "label": "Électrocardiographie sur au moins 12 dérivations",
                                  "detail": "CCAM · ATM"}


def test_medicine_api(client, demo):
    data = client.get("/api/v1/reference/medicines/3400930065891?at=2026-08-01").get_json()
    assert data["in_force"]["rate_percent"] == 65
    assert data["in_force"]["price"] == "1.96"
    assert data["in_force"]["dispensing_fee"] == "1.02"
    group = data["generic_groups"][0]
    assert (group["group_id"], group["type_label"]) == (787, "princeps")
    assert {mbr["cis"] for mbr in group["members"]} == {"68416845", "69990001"}
    assert data["composition"][0]["substance"] == "LÉVOTHYROXINE SODIQUE"


def test_lpp_api_without_tariff_says_so(client, demo):
    data = client.get("/api/v1/reference/lpp/1241763").get_json()
    assert data["in_force"] == {"tariff": None, "plv": None, "max_quantity": None, "tariff_known": False}
    assert data["ehpad"]["category"] == "Lit médical et accessoires"
    assert data["ehpad"]["reason"]


def test_act_api_at_date(client, demo):
    before = client.get("/api/v1/reference/acts/G?at=2024-12-21").get_json()
    after = client.get("/api/v1/reference/acts/G?at=2024-12-22").get_json()
    assert before["in_force"]["tariff"] == "26.50"
    assert after["in_force"]["tariff"] == "30.00"
    assert len(after["history"]) == 3


def test_ehpad_api(client, demo):
    data = client.get("/api/v1/reference/ehpad?at=2026-08-01").get_json()
    lit = next(c for c in data["categories"] if c["label"] == "Lit médical et accessoires")
    assert lit["part"] == "II"
    assert {c["code"] for c in lit["lpp_codes"]} == {"1241763", "1211383"}


def test_imports_api(client, demo):
    runs = client.get("/api/v1/reference/imports").get_json()["imports"]
    bdpm = next(r for r in runs if r["dataset"] == "bdpm")
    diff = client.get(f"/api/v1/reference/imports/{bdpm['id']}/diff").get_json()
    assert diff["run"]["counts"]["skipped"] == 1
    assert any("29/11/2924" in a["reason"] for a in diff["run"]["anomalies"])


API_ERRORS = [
    ("/api/v1/reference/medicines/3400000000000", "REF-001"),
    ("/api/v1/reference/lpp/0000000", "REF-002"),
    ("/api/v1/reference/acts/XXXX999", "REF-003"),
    ("/api/v1/reference/imports/999999/diff", "REF-004"),
    ("/api/v1/reference/search?q=a&kind=x", "REF-010"),
    ("/api/v1/reference/search?q=a&page=0", "REF-010"),
    ("/api/v1/reference/search?q=a&rate=abc", "REF-010"),
    ("/api/v1/reference/acts/G?at=2025-02-30", "GEN-DATE"),
]


def test_api_errors(client, demo):
    # One demo import for the whole table (the import is what costs).
    for path, code in API_ERRORS:
        response = client.get(path)
        assert response.status_code in (400, 404), path
        assert response.get_json()["errors"][0]["code"] == code, path


PAGES = [
    ("/referentiels/?q=doliprane+1000", "DOLIPRANE 1000 mg, comprimé"),
    ("/referentiels/medicaments/3400935955838?at=2026-08-01", "1,16"),
    ("/referentiels/medicaments/3400930065891", "Groupe générique n°787"),
    ("/referentiels/lpp/1241763", "tarif inconnu"),
    ("/referentiels/lpp/1241763", "Lit médical et accessoires"),
    ("/referentiels/actes/G?at=2024-12-21", "26,50"),
    ("/referentiels/actes/DEQP003", "13,81"),
    ("/referentiels/ehpad", "Lit médical et accessoires"),
    ("/referentiels/imports", "BDPM (médicaments)"),
]


def test_pages_are_public_and_french(client, demo):
    for path, text in PAGES:
        response = client.get(path)
        assert response.status_code == 200, path
        assert text in response.get_data(as_text=True), path


def test_search_page_shows_amounts_at_the_date(client, demo):
    page = client.get("/referentiels/?q=doliprane+1000&at=2026-08-01").get_data(as_text=True)
    assert "65 % · 1,16" in page
    page = client.get("/referentiels/?q=consultation+medecine&kind=act&at=2024-12-21").get_data(as_text=True)
    assert "26,50" in page
    page = client.get("/referentiels/?q=lit+medical&kind=lpp").get_data(as_text=True)
    assert "tarif inconnu" in page


def test_search_page_without_data_works(client):
    response = client.get("/referentiels/?q=doliprane")
    assert response.status_code == 200
    assert "Aucun résultat" in response.get_data(as_text=True)


def test_page_404_is_french(client, demo):
    response = client.get("/referentiels/medicaments/3400000000000")
    assert response.status_code == 404
    assert "Médicament inconnu" in response.get_data(as_text=True)


def test_only_operators_edit_ehpad_mappings(client, auth, demo, make_professional, db_session):
    from sqlalchemy import select

    from amelipro.reference import models as m

    make_professional("doc")
    make_professional("ope", role=Role.OPERATOR)
    mapping_id = db_session.scalar(select(m.EhpadMapping.id).where(m.EhpadMapping.lpp_code == "1241763"))
    path = f"/referentiels/ehpad/rattachements/{mapping_id}/retrait"
    anonymous = client.post(path, data={"csrf_token": auth.csrf("/connexion")})
    assert anonymous.status_code in (302, 401)
    auth.login("doc")
    assert client.post(path, data={"csrf_token": auth.csrf("/referentiels/lpp/1241763")}).status_code == 403
    auth.logout()
    auth.login("ope")
    page = client.get("/referentiels/lpp/1241763").get_data(as_text=True)
    assert "Retirer ce rattachement" in page
    response = client.post(path, data={"csrf_token": auth.csrf("/referentiels/lpp/1241763")})
    assert response.status_code == 302
    assert "Aucune catégorie" in client.get("/referentiels/lpp/1241763").get_data(as_text=True)


def test_search_page_summary(client, demo):
    page = client.get("/referentiels/").get_data(as_text=True)
    assert "présentations de médicaments" in page and "CCAM version 81" in page
