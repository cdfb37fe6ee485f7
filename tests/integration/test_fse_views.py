"""Facturation pages: login required, own data only, lots list, lot page, FSE page."""

from __future__ import annotations


def test_login_required(client):
    response = client.get("/facturation/")
    assert response.status_code == 302 and "/connexion" in response.headers["Location"]


def test_lots_lot_and_fse_pages(client, auth, make_professional, store_lot):
    pro = make_professional()
    lot_id, (ok_id, ko_id) = store_lot(pro)
    auth.login(pro.login)
    html = client.get("/facturation/").get_data(as_text=True)
    assert f"/facturation/lots/{lot_id}" in html and "Partiellement accepté" in html
    lot = client.get(f"/facturation/lots/{lot_id}").get_data(as_text=True)
    assert f"/facturation/fse/{ok_id}" in lot and "Clé du NIR invalide." in lot
    only_rejected = client.get(f"/facturation/lots/{lot_id}?etat=rejetee").get_data(as_text=True)
    assert f'"/facturation/fse/{ko_id}"' in only_rejected and f'"/facturation/fse/{ok_id}"' not in only_rejected
    assert client.get(f"/facturation/lots/{lot_id}?etat=nimporte").status_code == 200
    page = client.get(f"/facturation/fse/{ko_id}").get_data(as_text=True)
    assert "Relisez la carte Vitale." in page and "FSE-R-001" in page and "ligne 12" in page
    assert "21,00" in page and "Consultation" in page
    signed = client.get(f"/facturation/fse/{ko_id}/fse.xml")
    assert signed.status_code == 200 and signed.data == b"<FSE/>" and "attachment" in signed.headers["Content-Disposition"]
    arl = client.get(f"/facturation/lots/{lot_id}/arl.xml")
    assert arl.status_code == 200 and arl.data == b"<ARL/>"


def test_other_professionals_data_hidden(client, auth, make_professional, store_lot):
    owner, other = make_professional(), make_professional()
    lot_id, (fse_id, _) = store_lot(owner)
    auth.login(other.login)
    assert f"/facturation/lots/{lot_id}" not in client.get("/facturation/").get_data(as_text=True)
    for path in (f"/facturation/lots/{lot_id}", f"/facturation/fse/{fse_id}", f"/facturation/lots/{lot_id}/arl.xml",
                 f"/facturation/fse/{fse_id}/fse.xml"):
        assert client.get(path).status_code == 404


def test_upload_page_and_missing_file(client, auth, make_professional):
    pro = make_professional()
    auth.login(pro.login)
    page = client.get("/facturation/envoyer")
    assert page.status_code == 200 and 'type="file"' in page.get_data(as_text=True)
    token = auth.csrf("/facturation/envoyer")
    response = client.post("/facturation/envoyer", data={"csrf_token": token, "action": "envoyer"})
    assert response.status_code == 400 and "FSE-LOT-008" in response.get_data(as_text=True)
