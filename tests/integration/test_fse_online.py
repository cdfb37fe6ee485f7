"""Online billing: pricing endpoint, drafts, sign and send through the lot path, correction."""

from __future__ import annotations

import json
import re
import time
from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from amelipro.fse import errors as E
from amelipro.fse.models import FseStatus, IdempotencyKey, Lot, StoredFse
from amelipro.fse.online_models import Draft, DraftStatus
from tests.conftest import PASSWORD, csrf_from
from tests.fixtures_online import MARTIN_NIR, day_fr, form_of, g_sheet


def _price(client, token, sheet):
    return client.post("/api/v1/fse/price", json=sheet, headers={"Authorization": f"Bearer {token}"})


def _login(auth, pro):
    assert auth.login(pro.login).status_code == 302


def _save_draft(client, auth, sheet) -> int:
    csrf = auth.csrf("/facturation/feuille")
    response = client.post("/facturation/feuille", data=form_of(sheet, csrf, "enregistrer"))
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    return int(re.search(r"/brouillons/(\d+)", response.headers["Location"]).group(1))


def _send(client, draft_id, password=PASSWORD):
    page = client.get("/facturation/brouillons")  # the form's token (the send page may redirect)
    data = {"csrf_token": csrf_from(page.get_data(as_text=True))}
    if password is not None:
        data["password"] = password
    return client.post(f"/facturation/brouillons/{draft_id}/envoyer", data=data)


def test_price_a_g_consultation(client, online_env):
    response = _price(client, online_env.env.token, g_sheet())
    assert response.status_code == 200
    data = response.get_json()
    assert data["errors"] == []
    assert data["ok"] is True
    assert data["patient"]["status"] == "ok" and data["patient"]["name"] == "Claire MARTIN"
    assert data["lines"][0]["base"] == "30.00" and data["lines"][0]["rate"] == 70
    assert data["lines"][0]["amo"] == "21.00"
    assert data["totals"]["participation"] == "2.00"
    assert online_env.count(StoredFse) == 0 and online_env.count(Draft) == 0  # nothing stored


def test_nir_with_spaces_accepted_and_birth_date_mismatch_is_unknown(client, online_env):
    spaced = " ".join([MARTIN_NIR[:1], MARTIN_NIR[1:3], MARTIN_NIR[3:5], MARTIN_NIR[5:7], MARTIN_NIR[7:10],
                       MARTIN_NIR[10:13], MARTIN_NIR[13:]])
    data = _price(client, online_env.env.token, g_sheet(patient={"nir": spaced, "birth_date": "19/08/1982",
                                                                  "rank": 1})).get_json()
    assert data["ok"] is True
    other = _price(client, online_env.env.token, g_sheet(patient={"nir": MARTIN_NIR, "birth_date": "20/08/1982",
                                                                   "rank": 1})).get_json()
    assert other["patient"]["status"] == "unknown" and other["patient"]["name"] == ""
    assert "MARTIN" not in json.dumps(other)
    assert [e["code"] for e in other["errors"]] == [E.PATIENT_UNKNOWN.code]
    assert other["errors"][0]["field"] == "patient.nir"


BAD = [
    ("unreadable NIR", {"patient": {"nir": "28208193988", "birth_date": "19/08/1982", "rank": 1}},
     E.NIR_INVALID.code, "patient.nir"),
    ("wrong key", {"patient": {"nir": MARTIN_NIR[:13] + "00", "birth_date": "19/08/1982", "rank": 1}},
     E.NIR_INVALID.code, "patient.nir"),
    ("future date", {"care_date": day_fr(date.today() + timedelta(days=3))}, E.CARE_DATE_FUTURE.code, "care_date"),
    ("unknown code", {"lines": [{"kind": "ccam", "code": "ZZZZ999", "quantity": "1"}]}, E.ACT_UNKNOWN.code,
     "lines[1].code"),
    ("quantity 0", {"lines": [{"kind": "ngap", "code": "G", "coefficient": "1", "quantity": "0"}]},
     E.QUANTITY_INVALID.code, "lines[1].quantity"),
    ("quantity 10000", {"lines": [{"kind": "ngap", "code": "G", "coefficient": "1", "quantity": "10000"}]},
     "FSE-EL-004", "lines[1].quantity"),
    ("non-numeric coefficient", {"lines": [{"kind": "ngap", "code": "G", "coefficient": "un", "quantity": "1"}]},
     "FSE-EL-003", "lines[1].coefficient"),
    ("long text", {"lines": [{"kind": "ngap", "code": "G" * 500, "quantity": "1"}]}, "FSE-EL-005",
     "lines[1].code"),
    ("unreadable date", {"care_date": "31/02/2026"}, "FSE-EL-002", "care_date"),
    ("missing birth date", {"patient": {"nir": MARTIN_NIR, "birth_date": "", "rank": 1}}, "FSE-EL-001",
     "patient.birth_date"),
    ("unknown kind", {"lines": [{"kind": "potion", "code": "G"}]}, "FSE-EL-006", "lines[1].kind"),
]


@pytest.mark.parametrize(("case", "changes", "code", "field"), BAD, ids=[b[0] for b in BAD])
def test_bad_input_has_a_defined_answer_beside_its_field(client, online_env, case, changes, code, field):
    response = _price(client, online_env.env.token, g_sheet(**changes))
    assert response.status_code == 200
    data = response.get_json()
    assert data["ok"] is False
    found = [(e["code"], e["field"]) for e in data["errors"]]
    assert (code, field) in found, found
    for error in data["errors"]:
        assert error["message"] and "/FSE" not in json.dumps(error)  # French, no XPath


@pytest.mark.parametrize("body", [b"not json", b"[]", b'"x"', b"{\"lines\": 3}", b"\xff\xfe"])
def test_price_refuses_what_is_not_a_sheet(client, online_env, body):
    response = client.post("/api/v1/fse/price", data=body, content_type="application/json",
                           headers={"Authorization": f"Bearer {online_env.env.token}"})
    assert response.status_code == 400
    assert response.get_json()["errors"][0]["code"] == "FSE-EL-007"


def test_a_3_mb_text_field(client, auth, online_env):
    big = g_sheet(lines=[{"kind": "ngap", "code": "G" * 3_000_000, "quantity": "1"}])
    response = _price(client, online_env.env.token, big)
    assert response.status_code == 413 and response.get_json()["errors"][0]["code"] == "GEN-413"
    _login(auth, online_env.env.doctor)
    csrf = auth.csrf("/facturation/feuille")
    page = client.post("/facturation/feuille", data=form_of(big, csrf, "calculer"))
    assert page.status_code == 200
    box = re.search(r'id="err-lines-1-code"[^>]*>(.*?)</div>', page.get_data(as_text=True), re.S).group(1)
    assert "FSE-EL-005" in box and "Texte trop long." in box
    assert len(page.get_data()) < 200_000  # the text is not echoed back whole


def test_price_from_the_page_needs_the_csrf_token(client, auth, online_env):
    assert client.post("/api/v1/fse/price", json=g_sheet()).status_code == 401
    _login(auth, online_env.env.doctor)
    refused = client.post("/api/v1/fse/price", json=g_sheet())
    assert refused.status_code == 400 and refused.get_json()["errors"][0]["code"] == "GEN-CSRF"
    csrf = auth.csrf("/facturation/feuille")
    ok = client.post("/api/v1/fse/price", json=g_sheet(), headers={"X-CSRFToken": csrf})
    assert ok.status_code == 200 and ok.get_json()["ok"] is True


def test_form_without_javascript_calculates_and_shows_errors_beside_fields(client, auth, online_env):
    _login(auth, online_env.env.doctor)
    csrf = auth.csrf("/facturation/feuille")
    page = client.post("/facturation/feuille", data=form_of(g_sheet(), csrf, "calculer")).get_data(as_text=True)
    assert 'data-testid="total-amo">21,00' in page and 'data-testid="total-participation">2,00' in page
    bad = g_sheet(lines=[{"kind": "ngap", "code": "G", "coefficient": "abc", "quantity": "1"}])
    page = client.post("/facturation/feuille", data=form_of(bad, csrf, "calculer")).get_data(as_text=True)
    box = re.search(r'id="err-lines-1-coefficient"[^>]*>(.*?)</div>', page, re.S).group(1)
    assert "Nombre illisible." in box and "FSE-EL-003" in box
    # a missing CSRF token: refused, nothing stored
    response = client.post("/facturation/feuille", data={**form_of(g_sheet(), "", "enregistrer")})
    assert response.status_code == 400
    assert online_env.count(Draft) == 0


def test_add_and_remove_lines(client, auth, online_env):
    _login(auth, online_env.env.doctor)
    csrf = auth.csrf("/facturation/feuille")
    page = client.post("/facturation/feuille", data=form_of(g_sheet(), csrf, "ajouter")).get_data(as_text=True)
    assert 'id="lines-2-code"' in page
    two = g_sheet(lines=[{"kind": "ngap", "code": "G", "coefficient": "1", "quantity": "1"},
                         {"kind": "ccam", "code": "DEQP003", "quantity": "1"}])
    page = client.post("/facturation/feuille", data=form_of(two, csrf, "supprimer-1")).get_data(as_text=True)
    assert 'value="DEQP003"' in page and 'id="lines-2-code"' not in page


def test_drafts_survive_logout_and_are_the_owners_only(client, auth, online_env, make_professional, app):
    doctor = online_env.env.doctor
    _login(auth, doctor)
    draft_id = _save_draft(client, auth, g_sheet())
    auth.logout()
    _login(auth, doctor)
    listing = client.get("/facturation/brouillons").get_data(as_text=True)
    assert f"/facturation/brouillons/{draft_id}" in listing
    assert 'value="G"' in client.get(f"/facturation/brouillons/{draft_id}").get_data(as_text=True)
    auth.logout()
    other = make_professional()
    _login(auth, other)
    assert client.get(f"/facturation/brouillons/{draft_id}").status_code == 404
    assert client.get(f"/facturation/brouillons/{draft_id}/envoyer").status_code == 404
    csrf = auth.csrf("/facturation/brouillons")
    assert client.post(f"/facturation/brouillons/{draft_id}", data=form_of(g_sheet(), csrf, "enregistrer")
                       ).status_code == 404
    assert f"/facturation/brouillons/{draft_id}" not in client.get("/facturation/brouillons").get_data(as_text=True)
    assert client.get("/facturation/brouillons/999999").status_code == 404


def test_sign_and_send_after_reauthentication_creates_one_fse(client, auth, online_env, app):
    _login(auth, online_env.env.doctor)
    draft_id = _save_draft(client, auth, g_sheet())
    before = online_env.count(Draft)
    # no password: asked again, nothing sent
    response = _send(client, draft_id, password=None)
    assert response.status_code == 401 and "REAUTH-001" in response.get_data(as_text=True)
    wrong = _send(client, draft_id, password="pas-le-bon")
    assert wrong.status_code == 400 and online_env.count(StoredFse) == 0
    sent = _send(client, draft_id)
    assert sent.status_code == 302 and "/decompte" in sent.headers["Location"]
    receipt = client.get(sent.headers["Location"]).get_data(as_text=True)
    assert "Accusé de réception positif" in receipt and "21,00" in receipt
    # resent form / double click: the same FSE, not a second one
    again = _send(client, draft_id)
    assert again.status_code == 302 and again.headers["Location"] == sent.headers["Location"]
    assert online_env.count(StoredFse) == 1 and online_env.count(Draft) == before
    with app.app_context():
        session = app.extensions["amelipro.sessionmaker"]()
        fse = session.scalar(select(StoredFse))
        assert fse.status == FseStatus.ACCEPTED and fse.lot.source == "en_ligne"
        assert fse.invoice_number.startswith("EL") and fse.amo_computed == 21 and fse.participation == 2
        draft = session.get(Draft, draft_id)
        assert draft.status == DraftStatus.SENT and draft.fse_id == fse.id
        session.close()
    listing = client.get("/facturation/").get_data(as_text=True)
    assert "saisie en ligne" in listing


def test_sending_twice_through_the_service_creates_one_fse(app, online_env):
    from amelipro.auth.models import Professional
    from amelipro.clock import paris_today
    from amelipro.fse import online, online_drafts
    from amelipro.fse.intake import load_gateway
    from amelipro.fse.online_signing import SigningSettings

    with app.app_context():
        session = app.extensions["amelipro.sessionmaker"]()
        pro = session.get(Professional, online_env.env.doctor.id)
        draft = online_drafts.save_draft(session, pro, online.SheetInput.from_json(g_sheet()))
        settings = SigningSettings.from_config(app.config, app.instance_path)
        config = load_gateway(app.config).rule_config
        first = online_drafts.send_draft(session, pro, draft.id, settings=settings, rule_config=config, today=paris_today())
        second = online_drafts.send_draft(session, pro, draft.id, settings=settings, rule_config=config, today=paris_today())
        assert first.fse_id == second.fse_id and second.replayed
        session.close()
    assert online_env.count(StoredFse) == 1


def test_reauthentication_window_expired_asks_again(client, auth, online_env, app):
    _login(auth, online_env.env.doctor)
    draft_id = _save_draft(client, auth, g_sheet())
    app.config["STEP_UP_MINUTES"] = 0  # any earlier confirmation is too old
    page = client.get(f"/facturation/brouillons/{draft_id}/envoyer")
    csrf = csrf_from(page.get_data(as_text=True))
    response = client.post(f"/facturation/brouillons/{draft_id}/envoyer", data={"csrf_token": csrf,
                                                                               "password": PASSWORD})
    assert response.status_code == 401 and "REAUTH-001" in response.get_data(as_text=True)
    assert online_env.count(StoredFse) == 0


def test_sheet_with_errors_cannot_be_sent(client, auth, online_env):
    _login(auth, online_env.env.doctor)
    draft_id = _save_draft(client, auth, g_sheet(lines=[{"kind": "ccam", "code": "ZZZZ999", "quantity": "1"}]))
    page = client.get(f"/facturation/brouillons/{draft_id}/envoyer").get_data(as_text=True)
    assert 'data-testid="sheet-errors"' in page and 'name="password"' not in page
    response = _send(client, draft_id)
    assert response.status_code == 409 and "FSE-EL-009" in response.get_data(as_text=True)
    assert online_env.count(StoredFse) == 0


def test_never_sign_with_anothers_certificate(client, auth, online_env, make_professional, app):
    from amelipro.auth.models import Profession
    from amelipro.fse.online_models import OnlineSigningCredential

    other = make_professional(profession=Profession.MEDECIN_GENERALISTE)
    _login(auth, other)
    draft_id = _save_draft(client, auth, g_sheet())
    response = _send(client, draft_id)
    assert response.status_code == 503 and "FSE-EL-011" in response.get_data(as_text=True)
    # a credential row holding the doctor's certificate, forged for the other account
    with app.app_context():
        session = app.extensions["amelipro.sessionmaker"]()
        mine = session.scalar(select(OnlineSigningCredential).where(
            OnlineSigningCredential.professional_id == online_env.env.doctor.id))
        session.add(OnlineSigningCredential(professional_id=other.id, certificate_pem=mine.certificate_pem,
                                            key_encrypted_pem=mine.key_encrypted_pem, serial=mine.serial,
                                            not_after=mine.not_after))
        session.commit()
        session.close()
    response = _send(client, draft_id)
    assert response.status_code == 503 and "FSE-EL-011" in response.get_data(as_text=True)
    assert online_env.count(StoredFse) == 0
    with app.app_context():
        session = app.extensions["amelipro.sessionmaker"]()
        assert session.get(Draft, draft_id).status == DraftStatus.DRAFT
        session.close()


def test_failure_while_sending_leaves_the_draft_as_it_was(client, auth, online_env, app):
    from amelipro.fse.online_signing import TRUST_CA_FILE

    _login(auth, online_env.env.doctor)
    draft_id = _save_draft(client, auth, g_sheet())
    with app.app_context():
        session = app.extensions["amelipro.sessionmaker"]()
        before = session.get(Draft, draft_id).data_json
        session.close()
    trusted = Path(app.config["TRUST_STORE_DIR"]) / TRUST_CA_FILE
    saved = trusted.read_bytes()
    trusted.unlink()  # the gateway no longer trusts its online-signing CA: the lot is refused
    response = _send(client, draft_id)
    assert response.status_code == 422 and "FSE-EL-013" in response.get_data(as_text=True)
    with app.app_context():
        session = app.extensions["amelipro.sessionmaker"]()
        draft = session.get(Draft, draft_id)
        assert draft.status == DraftStatus.DRAFT and draft.data_json == before and draft.fse_id is None
        assert session.scalar(select(IdempotencyKey)) is None
        session.close()
    assert online_env.count(StoredFse) == 0 and online_env.count(Lot) == 0
    trusted.write_bytes(saved)
    assert _send(client, draft_id).status_code == 302
    assert online_env.count(StoredFse) == 1


def test_online_and_lot_give_the_same_verification_rules_amounts_and_arl(app, online_env):
    """The same care sheet, signed by practice software in a lot (dry run) and entered online
    (stored): same verification, rules, amounts and ARL content."""
    from amelipro.auth.models import Professional
    from amelipro.clock import paris_today
    from amelipro.fse import online, online_drafts, services
    from amelipro.fse.intake import load_gateway
    from amelipro.fse.online_signing import SigningSettings
    from amelipro.xmlcore.arl import read_arl
    from tests.fixtures_fse import signed_lot

    with app.app_context():
        session = app.extensions["amelipro.sessionmaker"]()
        pro = session.get(Professional, online_env.env.doctor.id)
        config = load_gateway(app.config).rule_config
        settings = SigningSettings.from_config(app.config, app.instance_path)
        two = g_sheet(lines=[{"kind": "ngap", "code": "G", "coefficient": "1", "quantity": "1"},
                             {"kind": "ccam", "code": "DEQP003", "quantity": "1"}])
        draft = online_drafts.save_draft(session, pro, online.SheetInput.from_json(two))
        priced = online.price_sheet(session, pro, online.SheetInput.from_json(two), today=paris_today(),
                                    rule_config=config, invoice_number=online_drafts.invoice_of(draft))
        lot_body = signed_lot([priced.sheet], online_env.env.pki.medecin, number="L-PARITE")
        dry = services.validate_lot(session, pro, lot_body)
        sent = online_drafts.send_draft(session, pro, draft.id, settings=settings, rule_config=config,
                                 today=paris_today())
        stored = session.get(StoredFse, sent.fse_id)
        arl = read_arl(stored.lot.arl_xml.encode())
        dry_arl = read_arl(dry.arl)
        report = dry.report.fses[0]
        assert dry.report.positive and arl.status.value == dry_arl.status.value == "positif"
        assert report.status == stored.status == FseStatus.ACCEPTED
        assert list(report.errors) == stored.errors == []
        assert report.amo_computed == stored.amo_computed and report.participation == stored.participation
        assert (arl.fses[0].status, arl.fses[0].invoice_number, arl.fses[0].errors) == \
            (dry_arl.fses[0].status, dry_arl.fses[0].invoice_number, dry_arl.fses[0].errors)
        # and a sheet with an error: the same rule codes online (blocked) as in a lot (rejected)
        ald = g_sheet(exemption="ald")
        bad = online.price_sheet(session, pro, online.SheetInput.from_json(ald), today=paris_today(),
                                 rule_config=config, invoice_number="EL-PARITE-2")
        dry_bad = services.validate_lot(session, pro, signed_lot([bad.sheet], online_env.env.pki.medecin))
        assert sorted(e.code for e in bad.errors) == sorted(e.code for e in dry_bad.report.fses[0].errors)
        assert bad.errors and dry_bad.report.fses[0].status == FseStatus.REJECTED
        session.close()


def test_correct_a_rejected_lot_fse_and_resend(client, auth, online_env, app):
    from amelipro.fse import services
    from amelipro.fse.demo import make_invalid

    env = online_env.env
    valid = env.sheets(1, seed=11).sheets[0]
    invalid = make_invalid(valid, "nir_key", date.today(), None, None)
    with app.app_context():
        session = app.extensions["amelipro.sessionmaker"]()
        from amelipro.auth.models import Professional

        result = services.submit_lot(session, session.get(Professional, env.doctor.id), env.lot([invalid]))
        rejected_id = result.report.fses[0].fse_id
        assert result.report.fses[0].status == FseStatus.REJECTED
        session.close()
    _login(auth, env.doctor)
    page = client.get(f"/facturation/fse/{rejected_id}").get_data(as_text=True)
    assert "Corriger" in page
    response = client.post(f"/facturation/fse/{rejected_id}/corriger", data={"csrf_token": csrf_from(page)})
    assert response.status_code == 302
    draft_page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert invalid.patient.nir in draft_page and "FSE-R-001" in draft_page
    draft_id = int(re.search(r"/brouillons/(\d+)", response.headers["Location"]).group(1))
    # asked twice: the same draft
    again = client.post(f"/facturation/fse/{rejected_id}/corriger", data={"csrf_token": csrf_from(page)})
    assert again.headers["Location"] == response.headers["Location"]
    form = {k: v for k, v in re.findall(r'name="([\w-]+)" value="([^"]*)"', draft_page)}
    form.update({"nir": valid.patient.nir, "action": "enregistrer", "tiers_payant_amo": "on"})
    for select_name in ("nature", "exemption", "lines-1-kind"):
        form[select_name] = re.search(rf'name="{select_name}".*?<option value="([^"]+)" selected', draft_page,
                                      re.S).group(1)
    form["pathway"] = "oui"
    assert client.post(f"/facturation/brouillons/{draft_id}", data=form).status_code == 302
    sent = _send(client, draft_id)
    assert sent.status_code == 302, sent.get_data(as_text=True)[:800]
    with app.app_context():
        session = app.extensions["amelipro.sessionmaker"]()
        fse = session.scalar(select(StoredFse).where(StoredFse.id != rejected_id))
        assert fse.status == FseStatus.ACCEPTED and fse.corrects_id == rejected_id
        assert fse.invoice_number == invalid.invoice_number
        session.close()
    # an accepted FSE cannot be "corrected"
    page = client.get(f"/facturation/fse/{fse.id}").get_data(as_text=True)
    refused = client.post(f"/facturation/fse/{fse.id}/corriger", data={"csrf_token": csrf_from(page)})
    assert refused.status_code == 409


def test_pki_init_demo_gives_demo_professionals_an_online_certificate(app, runner):
    from amelipro.fse.online_models import OnlineSigningCredential
    from amelipro.xmlcore.pki import rpps_of

    assert runner.invoke(args=["demo", "seed"]).exit_code == 0
    result = runner.invoke(args=["pki", "init-demo"])
    assert result.exit_code == 0, result.output
    assert "Signature en ligne" in result.output
    with app.app_context():
        session = app.extensions["amelipro.sessionmaker"]()
        rows = session.scalars(select(OnlineSigningCredential)).all()
        assert len(rows) == 3
        for row in rows:
            assert "ENCRYPTED" in row.key_encrypted_pem
            from cryptography import x509

            assert rpps_of(x509.load_pem_x509_certificate(row.certificate_pem.encode()))
        session.close()
    again = runner.invoke(args=["pki", "init-demo"])
    assert "conservés : medecin.demo" in again.output
    trust = Path(app.config["TRUST_STORE_DIR"])
    assert (trust / "amelipro-online-signing-ca.pem").exists()


def test_a_missing_crl_of_the_online_ca_is_issued_again_before_signing(client, auth, online_env, app):
    from amelipro.fse.online_signing import TRUST_CRL_FILE

    crl = Path(app.config["TRUST_STORE_DIR"]) / TRUST_CRL_FILE
    crl.unlink()
    _login(auth, online_env.env.doctor)
    draft_id = _save_draft(client, auth, g_sheet())
    assert _send(client, draft_id).status_code == 302
    assert crl.exists() and online_env.count(StoredFse) == 1


def _nir(body: str) -> str:
    from amelipro.beneficiaries.services import _nir as with_key

    return with_key(body)


def test_patient_rights_exemptions_and_ehpad_at_the_date_of_care(client, online_env):
    token = online_env.env.token
    ald = _price(client, token, g_sheet(patient={"nir": _nir("1580375112045"), "birth_date": "15/03/1958",
                                                  "rank": 1}, exemption="ald")).get_json()
    assert ald["patient"]["status"] == "ok" and ald["patient"]["name"] == "Paul DUBOIS"
    assert any("ALD" in e and "Diabète" in e for e in ald["patient"]["exemptions"])
    assert ald["lines"][0]["rate"] == 100 and ald["ok"] is True
    child = _price(client, token, g_sheet(patient={"nir": _nir("1580375112045"), "birth_date": "03/09/2012",
                                                    "rank": 2})).get_json()
    assert child["patient"]["name"] == "Léa DUBOIS" and child["totals"]["participation"] == "0.00"
    ehpad = _price(client, token, g_sheet(patient={"nir": _nir("2380475056789"), "birth_date": "07/04/1938",
                                                    "rank": 1})).get_json()
    assert "EHPAD" in (ehpad["patient"]["ehpad"] or "")
    closed = _price(client, token, g_sheet(patient={"nir": _nir("1850744109222"), "birth_date": "30/07/1985",
                                                     "rank": 1})).get_json()
    assert closed["patient"]["status"] == "closed" and "Aucun droit ouvert" in closed["patient"]["reason"]
    assert E.RIGHTS_CLOSED.code in [e["code"] for e in closed["errors"]] and closed["ok"] is False


def test_a_nurse_needs_the_prescription_beside_its_fields(client, online_env, make_professional, api_token):
    from amelipro.auth.models import Profession

    nurse = make_professional(profession=Profession.INFIRMIER)
    token = api_token(nurse)
    ami = [{"kind": "ngap", "code": "AMI", "coefficient": "1,5", "quantity": "1"}]
    data = _price(client, token, g_sheet(lines=ami)).get_json()
    fields = {e["code"]: e["field"] for e in data["errors"]}
    assert fields[E.PRESCRIBER_MISSING.code] == "prescriber_rpps"
    assert fields[E.PRESCRIPTION_DATE_MISSING.code] == "prescription_date"
    yesterday = day_fr(date.today() - timedelta(days=1))
    ok = _price(client, token, g_sheet(lines=ami, prescriber_rpps="10000000017",
                                       prescription_date=yesterday)).get_json()
    assert ok["ok"] is True and ok["lines"][0]["rate"] == 60
    assert ok["totals"]["franchise"] == "1.00"  # franchise per paramedical act
    # the G is the doctors': beside the line's code
    g = _price(client, token, g_sheet(prescriber_rpps="10000000017", prescription_date=yesterday)).get_json()
    assert (E.KEY_NOT_ALLOWED.code, "lines[1].code") in [(e["code"], e["field"]) for e in g["errors"]]


def test_an_operator_cannot_bill_online(client, auth, make_professional):
    from amelipro.auth.models import Role

    operator = make_professional(role=Role.OPERATOR)
    _login(auth, operator)
    assert client.get("/facturation/feuille").status_code == 403


def test_signing_asks_for_the_second_factor_once_enrolled(client, auth, online_env, app):
    """Online signing is a step-up action: with a second factor enrolled, the password alone
    does not sign; the password and a current TOTP code do (the same step-up as a bank change)."""
    import pyotp

    from amelipro.account import second_factor as account_services
    from amelipro.auth.models import Professional

    _login(auth, online_env.env.doctor)  # logged in before enrolling (then a login asks for a code)
    draft_id = _save_draft(client, auth, g_sheet())
    secret = account_services.new_totp_secret()
    with app.app_context():
        session = app.extensions["amelipro.sessionmaker"]()
        pro = session.get(Professional, online_env.env.doctor.id)
        # enrolled on the previous time step, so that the current code is still unused
        account_services.enrol_totp(session, pro, secret, pyotp.TOTP(secret).at(time.time() - 30))
        session.commit()
        session.close()
    page = client.get(f"/facturation/brouillons/{draft_id}/envoyer").get_data(as_text=True)
    assert 'name="code"' in page and 'autocomplete="one-time-code"' in page
    password_only = _send(client, draft_id)
    assert password_only.status_code in (400, 401, 403) and online_env.count(StoredFse) == 0
    csrf = csrf_from(client.get("/facturation/brouillons").get_data(as_text=True))
    sent = client.post(f"/facturation/brouillons/{draft_id}/envoyer",
                       data={"csrf_token": csrf, "password": PASSWORD, "code": pyotp.TOTP(secret).now()})
    assert sent.status_code == 302 and "/decompte" in sent.headers["Location"]
    assert online_env.count(StoredFse) == 1


def test_pki_online_issue_command(app, runner):
    """An operator issues one professional's online-signing certificate; again: kept; an
    unknown login is refused with a message and nothing written."""
    from amelipro.fse.online_models import OnlineSigningCredential

    assert runner.invoke(args=["demo", "seed"]).exit_code == 0
    assert runner.invoke(args=["pki", "init-demo"]).exit_code == 0
    with app.app_context():
        session = app.extensions["amelipro.sessionmaker"]()
        session.execute(OnlineSigningCredential.__table__.delete())
        session.commit()
        session.close()
    first = runner.invoke(args=["pki", "online-issue", "medecin.demo"])
    assert first.exit_code == 0, first.output
    assert "Certificat de signature en ligne délivré pour medecin.demo" in first.output
    again = runner.invoke(args=["pki", "online-issue", "medecin.demo"])
    assert again.exit_code == 0 and "déjà présent" in again.output
    unknown = runner.invoke(args=["pki", "online-issue", "personne.inconnue"])
    assert unknown.exit_code != 0 and "Professionnel inconnu : personne.inconnue" in unknown.output
    with app.app_context():
        session = app.extensions["amelipro.sessionmaker"]()
        assert len(session.scalars(select(OnlineSigningCredential)).all()) == 1
        session.close()
