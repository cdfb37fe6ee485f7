"""The FSE page: the patient's name from the beneficiaries file, the prescription, the link to
its payment in Paiements; another professional's FSE stays a 404."""

from __future__ import annotations

import io
from dataclasses import replace
from datetime import timedelta

from sqlalchemy import select

from amelipro.beneficiaries.models import Beneficiary
from amelipro.fse.models import StoredFse
from amelipro.thirdparty.models import Payment
from tests.fixtures_pki import RPPS_MEDECIN


def _send(client, auth, body: bytes):
    token = auth.csrf("/facturation/envoyer")
    return client.post("/facturation/envoyer", data={
        "csrf_token": token, "action": "envoyer", "lot_file": (io.BytesIO(body), "lot.xml"),
    }, content_type="multipart/form-data")


def _db(env):
    return env.app.extensions["amelipro.sessionmaker"]()


def test_fse_page_shows_patient_prescription_and_payment(client, auth, fse_env):
    demo = fse_env.sheets(2, seed=31)
    first, second = demo.sheets
    care = first.first_care_date
    first = replace(first, prescriber_rpps=RPPS_MEDECIN, prescription_date=care - timedelta(days=3),
                    tiers_payant_amo=True)
    auth.login(fse_env.doctor.login)
    assert _send(client, auth, fse_env.lot([first, second])).status_code == 303
    with fse_env.app.app_context():
        session = _db(fse_env)
        stored = {f.invoice_number: f for f in session.scalars(select(StoredFse))}
        fse1, fse2 = stored[first.invoice_number], stored[second.invoice_number]
        person = session.scalar(select(Beneficiary).where(Beneficiary.nir == fse1.patient_nir,
                                                          Beneficiary.rank == fse1.patient_rank))
        payment_id = session.scalar(select(Payment.id).where(Payment.fse_id == fse1.id))
        payment2 = session.scalar(select(Payment.id).where(Payment.fse_id == fse2.id))
        session.close()
    html = client.get(f"/facturation/fse/{fse1.id}").get_data(as_text=True)
    assert person is not None and person.last_name.upper() in html and person.first_name in html
    assert f"prescripteur RPPS {RPPS_MEDECIN}, du {(care - timedelta(days=3)).strftime('%d/%m/%Y')}" in html
    assert payment_id is not None  # accepted in tiers payant: its payment exists
    assert f'href="/paiements/factures/{payment_id}"' in html and "Voir le paiement dans Paiements" in html
    assert client.get(f"/paiements/factures/{payment_id}").status_code == 200
    other = client.get(f"/facturation/fse/{fse2.id}").get_data(as_text=True)
    assert "Prescription</dt><dd data-testid=\"prescription\">aucune" in other
    if payment2 is None and not fse2.tiers_payant_amo:
        assert "sans tiers payant" in other


def test_fse_page_for_a_patient_unknown_to_the_file(client, auth, fse_env, store_lot):
    _lot_id, (fse_id,) = store_lot(fse_env.doctor, ["acceptee"])
    auth.login(fse_env.doctor.login)
    html = client.get(f"/facturation/fse/{fse_id}").get_data(as_text=True)
    assert "inconnu du fichier des bénéficiaires" in html and "aucune" in html  # <FSE/>: no prescription


def test_rejected_fse_page_says_places_in_words_without_codes_or_xpath(client, auth, fse_env):
    import re

    demo = fse_env.sheets(4, invalid=1.0, seed=33)
    auth.login(fse_env.doctor.login)
    posted = _send(client, auth, fse_env.lot(demo.sheets))
    assert posted.status_code == 303
    receipt = client.get(posted.headers["Location"]).get_data(as_text=True)
    with fse_env.app.app_context():
        session = _db(fse_env)
        rejected = list(session.scalars(select(StoredFse).where(StoredFse.status == "rejetee")))
        session.close()
    assert rejected
    for html in [receipt] + [client.get(f"/facturation/fse/{f.id}").get_data(as_text=True) for f in rejected]:
        text = re.sub(r"<[^>]+>", " ", html)  # visible text only (attributes dropped)
        assert "Emplacement : " in text
        assert not re.search(r"\bFSE-(R|SIG|LOT)-\d{3}\b", text), re.search(r"\bFSE-\S+", text)
        assert "/Lot/" not in text and "lines[" not in text
        assert 'data-code="FSE-' in html and 'data-path="/Lot/FSE[' in html  # kept for support
