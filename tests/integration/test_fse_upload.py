"""Facturation: upload a signed lot file (ARL explained in French), dry run, demo command."""

from __future__ import annotations

import io
import re

from markupsafe import escape
from sqlalchemy import select

from amelipro.fse.models import Lot, StoredFse
from tests.support import count_rows


def _upload(client, auth, body: bytes, action: str):
    token = auth.csrf("/facturation/envoyer")
    return client.post("/facturation/envoyer", data={
        "csrf_token": token, "action": action, "lot_file": (io.BytesIO(body), "lot.xml"),
    }, content_type="multipart/form-data")


def test_upload_then_pages(client, auth, fse_env):
    demo = fse_env.sheets(4, invalid=0.5, seed=5)
    auth.login(fse_env.doctor.login)
    posted = _upload(client, auth, fse_env.lot(demo.sheets), "envoyer")
    assert posted.status_code == 303  # Post/Redirect/Get
    response = client.get(posted.headers["Location"])
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Lot reçu" in html and "lot.xml" in html and "2 feuille(s) de soins acceptée(s), 2 rejetée(s)" in html
    assert "Comment corriger" in html and "FSE-R-" in html
    assert count_rows(fse_env.app, Lot) == 1 and count_rows(fse_env.app, StoredFse) == 4
    lots = client.get("/facturation/").get_data(as_text=True)
    assert "Partiellement accepté" in lots
    with fse_env.app.app_context():
        session = fse_env.app.extensions["amelipro.sessionmaker"]()
        rejected = session.scalars(select(StoredFse).where(StoredFse.status == "rejetee")).first()
        session.close()
    page = client.get(f"/facturation/fse/{rejected.id}").get_data(as_text=True)
    assert "Motifs de rejet" in page and str(escape(rejected.errors[0].hint)) in page
    assert "Envoyé" in page and "Calculé" in page


def _without_csrf(html: str) -> str:
    """The page without its CSRF tokens' values (signed with the second they were made in)."""
    return re.sub(r'(name="csrf_token" value=")[^"]*"', r'\1"', html)


def test_reload_after_sending_a_lot_sends_nothing(client, auth, fse_env):
    """F5 on the acknowledgement repeats a GET: the lot is not sent a second time."""
    demo = fse_env.sheets(3, seed=8)
    auth.login(fse_env.doctor.login)
    posted = _upload(client, auth, fse_env.lot(demo.sheets), "envoyer")
    assert posted.status_code == 303
    first = _without_csrf(client.get(posted.headers["Location"]).get_data(as_text=True))
    again = _without_csrf(client.get(posted.headers["Location"]).get_data(as_text=True))
    assert first == again and "3 feuille(s) de soins acceptée(s)" in again
    assert count_rows(fse_env.app, Lot) == 1 and count_rows(fse_env.app, StoredFse) == 3


def test_receipt_of_another_professionals_lot_is_not_found(client, auth, fse_env, make_professional):
    demo = fse_env.sheets(1, seed=9)
    auth.login(fse_env.doctor.login)
    location = _upload(client, auth, fse_env.lot(demo.sheets), "envoyer").headers["Location"]
    auth.logout()
    make_professional("dr.autre")
    auth.login("dr.autre")
    assert client.get(location).status_code == 404


def test_dry_run_upload_stores_nothing(client, auth, fse_env):
    demo = fse_env.sheets(2)
    auth.login(fse_env.doctor.login)
    html = _upload(client, auth, fse_env.lot(demo.sheets), "verifier").get_data(as_text=True)
    assert "Rapport de vérification" in html and "Rien n'a été enregistré." in html
    assert count_rows(fse_env.app, Lot) == 0 and count_rows(fse_env.app, StoredFse) == 0


def test_unreadable_upload_explained(client, auth, fse_env):
    auth.login(fse_env.doctor.login)
    response = _upload(client, auth, b"<Lot", "envoyer")
    html = response.get_data(as_text=True)
    assert "Lot refusé" in html and "XML-003" in html and "aucune feuille de soins n'a été enregistrée" in html
    assert count_rows(fse_env.app, Lot) == 0


def test_demo_lot_command_writes_an_accepted_lot(fse_env, runner, tmp_path, client):
    from amelipro.fse.demo import INVALID_KINDS
    from amelipro.xmlcore.arl import read_arl

    # The doctor's demo key: the test PKI's doctor certificate, where the command looks for it.
    pki_dir = tmp_path / "pki" / fse_env.doctor.login
    pki_dir.mkdir(parents=True, exist_ok=True)
    (pki_dir / "key.pem").write_bytes(fse_env.pki.medecin.key_path.read_bytes())
    (pki_dir / "cert.pem").write_bytes(fse_env.pki.medecin.cert_path.read_bytes())
    fse_env.app.config["PKI_DIR"] = str(tmp_path / "pki")
    out = tmp_path / "lot.xml"
    result = runner.invoke(args=["demo", "lot", fse_env.doctor.login, "--count", "12", "--invalid", "0.5",
                                 "--seed", "4", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "12 FSE dont 6 invalides" in result.output
    headers = {"Authorization": f"Bearer {fse_env.token}", "Content-Type": "application/xml"}
    arl = read_arl(client.post("/api/v1/lots", data=out.read_bytes(), headers=headers).data)
    assert arl.accepted == 6 and arl.rejected == 6
    codes = {e.code for f in arl.fses for e in f.errors}
    assert len(codes) >= len(INVALID_KINDS) - 1  # varied errors, not one kind
    valid = runner.invoke(args=["demo", "lot", fse_env.doctor.login, "--count", "3", "--out", str(out)])
    assert valid.exit_code == 0
    assert read_arl(client.post("/api/v1/lots", data=out.read_bytes(), headers=headers).data).accepted == 3


def test_demo_lot_command_errors(runner, fse_env, tmp_path):
    result = runner.invoke(args=["demo", "lot", "inconnu", "--out", str(tmp_path / "x.xml")])
    assert result.exit_code != 0 and "Clé de démonstration absente" in result.output
