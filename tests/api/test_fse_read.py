"""GET /api/v1/lots/<id> and /api/v1/fse/<id>: JSON, scoped to the token's professional."""

from __future__ import annotations


def _auth(secret: str) -> dict:
    return {"Authorization": f"Bearer {secret}"}


def test_lot_and_fse_json(client, make_professional, api_token, store_lot):
    pro = make_professional()
    lot_id, (ok_id, ko_id) = store_lot(pro)
    token = api_token(pro)
    lot = client.get(f"/api/v1/lots/{lot_id}", headers=_auth(token))
    assert lot.status_code == 200
    data = lot.get_json()
    assert data["id"] == lot_id and data["fse_count"] == 2
    assert data["accepted"] == 1 and data["rejected"] == 1 and data["status"] == "partiel"
    assert [f["status"] for f in data["fse"]] == ["acceptee", "rejetee"]
    fse = client.get(f"/api/v1/fse/{ko_id}", headers=_auth(token)).get_json()
    assert fse["errors"][0]["code"] == "FSE-R-001"
    assert fse["amounts"]["sent"]["amo"] == "21.00" and fse["amounts"]["computed"]["patient_charges"] == "2.00"
    assert fse["lines"][0]["computed"]["rate"] == 70
    listing = client.get("/api/v1/lots", headers=_auth(token)).get_json()
    assert [lot["id"] for lot in listing["lots"]] == [lot_id] and listing["total"] == 1


def test_another_professionals_ids_answer_404(client, make_professional, api_token, store_lot):
    owner, other = make_professional(), make_professional()
    lot_id, (fse_id, _) = store_lot(owner)
    token = api_token(other)
    for path in (f"/api/v1/lots/{lot_id}", f"/api/v1/fse/{fse_id}"):
        response = client.get(path, headers=_auth(token))
        assert response.status_code == 404
        assert response.get_json()["errors"][0]["code"] in {"FSE-LOT-006", "FSE-LOT-007"}
    assert client.get("/api/v1/lots", headers=_auth(token)).get_json()["lots"] == []


def test_token_required(client, store_lot, make_professional):
    pro = make_professional()
    lot_id, _ = store_lot(pro)
    assert client.get(f"/api/v1/lots/{lot_id}").status_code == 401
    assert client.get(f"/api/v1/lots/{lot_id}", headers=_auth("amp_wrong")).status_code == 401
    assert client.post("/api/v1/lots", data=b"<x/>", content_type="application/xml").status_code == 401
