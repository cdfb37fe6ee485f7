"""« Envoyer ce lot » after « Vérifier » (the checked bytes kept server side), the 413 page."""

from __future__ import annotations

import io
import re
from pathlib import Path

from amelipro.fse.models import Lot, StoredFse
from tests.support import count_rows


def _verify(client, auth, body: bytes, name: str = "mon-lot.xml"):
    token = auth.csrf("/facturation/envoyer")
    return client.post("/facturation/envoyer", data={
        "csrf_token": token, "action": "verifier", "lot_file": (io.BytesIO(body), name),
    }, content_type="multipart/form-data")


def _send_form(html: str) -> dict[str, str]:
    form = re.search(r'<form method="post" action="(/facturation/envoyer-verifie)"[^>]*>(.*?)</form>', html, re.S)
    assert form, "no « Envoyer ce lot » form"
    fields = dict(re.findall(r'name="([^"]+)" value="([^"]*)"', form.group(2)))
    return {"action": form.group(1), **fields}


def test_send_after_verify_without_choosing_the_file_again(client, auth, fse_env):
    demo = fse_env.sheets(3, seed=21)
    auth.login(fse_env.doctor.login)
    checked = _verify(client, auth, fse_env.lot(demo.sheets))
    html = checked.get_data(as_text=True)
    assert checked.status_code == 200 and "Rapport de vérification" in html and "Envoyer ce lot" in html
    assert count_rows(fse_env.app, Lot) == 0  # the dry run recorded nothing
    form = _send_form(html)
    stored = list((Path(fse_env.app.instance_path) / "checked_lots").glob("*.xml"))
    assert len(stored) == 1 and form["lot"] in stored[0].name
    sent = client.post(form.pop("action"), data=form)
    assert sent.status_code == 303  # Post/Redirect/Get
    receipt = client.get(sent.headers["Location"]).get_data(as_text=True)
    assert "Lot reçu" in receipt and "mon-lot.xml" in receipt and "3 feuille(s) de soins acceptée(s)" in receipt
    assert count_rows(fse_env.app, Lot) == 1 and count_rows(fse_env.app, StoredFse) == 3
    assert not list((Path(fse_env.app.instance_path) / "checked_lots").glob("*.xml"))
    # The same POST again (F5 on it, a double click): nothing is sent a second time.
    again = client.post("/facturation/envoyer-verifie", data={"csrf_token": form["csrf_token"], "lot": form["lot"]})
    text = again.get_data(as_text=True)
    assert again.status_code == 400 and "plus disponible" in text and 'data-code="FSE-LOT-010"' in text
    assert count_rows(fse_env.app, Lot) == 1 and count_rows(fse_env.app, StoredFse) == 3


def test_a_checked_lot_belongs_to_its_professional(tmp_path):
    from amelipro.fse import checked

    digest = checked.keep(str(tmp_path), 7, b"<Lot/>")
    assert checked.take(str(tmp_path), 8, digest) is None  # another professional: nothing
    assert checked.take(str(tmp_path), 7, digest) == b"<Lot/>"
    assert checked.take(str(tmp_path), 7, digest) is None  # taken once only


def test_forged_or_unknown_digest_is_refused(client, auth, fse_env):
    auth.login(fse_env.doctor.login)
    token = auth.csrf("/facturation/envoyer")
    for value in ("", "../../secret_key", "0" * 64, "x" * 5000):
        r = client.post("/facturation/envoyer-verifie", data={"csrf_token": token, "lot": value})
        assert r.status_code == 400 and "FSE-LOT-010" in r.get_data(as_text=True)
    assert client.post("/facturation/envoyer-verifie", data={"lot": "0" * 64}).status_code == 400  # no CSRF
    assert count_rows(fse_env.app, Lot) == 0


def test_a_refused_lot_offers_no_send_button(client, auth, fse_env):
    auth.login(fse_env.doctor.login)
    html = _verify(client, auth, b"<Lot").get_data(as_text=True)
    assert "Lot refusé" in html and "envoyer-verifie" not in html


def test_upload_page_states_the_limit_and_413_says_how_to_split(client, auth, fse_env):
    auth.login(fse_env.doctor.login)
    page = client.get("/facturation/envoyer").get_data(as_text=True)
    assert "Taille maximale d'un envoi : 20 Mo" in page and 'data-upload-progress' in page
    assert "/static/js/upload.js" in page and "<progress" in page
    fse_env.app.config["MAX_CONTENT_LENGTH"] = 256 * 1024
    token = auth.csrf("/facturation/envoyer")
    r = client.post("/facturation/envoyer", data={
        "csrf_token": token, "action": "envoyer", "lot_file": (io.BytesIO(b"<a/>" * 80_000), "gros.xml"),
    }, content_type="multipart/form-data", headers={"Accept": "text/html"})
    html = r.get_data(as_text=True)
    assert r.status_code == 413 and "Envoi trop volumineux" in html
    assert "0,2 Mo" in html and "32 feuilles de soins" in html and "plusieurs lots plus petits" in html
    assert "GEN-413" not in re.sub(r'data-code="[^"]*"', "", html)  # no code in the text
    assert count_rows(fse_env.app, Lot) == 0


def test_upload_script_is_served(client):
    r = client.get("/static/js/upload.js")
    try:
        assert r.status_code == 200 and b"upload.addEventListener" in r.data
    finally:
        r.close()
