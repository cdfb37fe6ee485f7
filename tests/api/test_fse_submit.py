"""POST /api/v1/lots: signed lots in, signed ARL out; one transaction per lot; never a 5xx."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

import pytest
from sqlalchemy import select

from amelipro.fse.models import FseStatus, IdempotencyKey, Lot, StoredFse
from amelipro.xmlcore.arl import read_arl
from amelipro.xmlcore.schemas import get_registry
from amelipro.xmlcore.signature import verify_document
from tests.support import count_rows


def _headers(env, token: str | None = None, **extra) -> dict:
    return {"Authorization": f"Bearer {token or env.token}", "Content-Type": "application/xml", **extra}


def _errors(arl) -> list[str]:
    return [e.code for e in arl.errors] + [e.code for f in arl.fses for e in f.errors]


def test_valid_lot_accepted_and_arl_signed_by_the_gateway(client, fse_env):
    demo = fse_env.sheets(3)
    response = client.post("/api/v1/lots", data=fse_env.lot(demo.sheets), headers=_headers(fse_env))
    arl = read_arl(response.data)
    assert response.status_code == 201, _errors(arl)
    assert response.content_type.startswith("application/xml")
    assert arl.status.value == "positif" and (arl.accepted, arl.rejected, arl.duplicates) == (3, 0, 0)
    lot_id = int(arl.lot_reference)
    assert response.headers["Location"] == f"/api/v1/lots/{lot_id}"
    assert [f.invoice_number for f in arl.fses] == [s.invoice_number for s in demo.sheets]
    # The ARL is signed by the gateway's key and valid against arl.xsd.
    from lxml import etree

    root = etree.fromstring(response.data)
    verify_document(root, fse_env.pki.gateway.cert)
    assert get_registry().is_valid(root, "arl")
    assert count_rows(fse_env.app, Lot) == 1 and count_rows(fse_env.app, StoredFse, StoredFse.status == FseStatus.ACCEPTED) == 3
    lot = client.get(f"/api/v1/lots/{lot_id}", headers=_headers(fse_env)).get_json()
    assert lot["accepted"] == 3 and lot["status"] == "accepte"
    fse = client.get(f"/api/v1/fse/{lot['fse'][0]['id']}", headers=_headers(fse_env)).get_json()
    assert fse["amounts"]["sent"]["amo"] == fse["amounts"]["computed"]["amo"]
    assert fse["lines"] and fse["lines"][0]["computed"]["amo"] == fse["lines"][0]["sent"]["amo"]
    # The stored FSE is the signed element itself: it verifies again, on its own.
    signed = client.get(f"/api/v1/fse/{fse['id']}", headers={**_headers(fse_env), "Accept": "application/xml"})
    from amelipro.xmlcore.safe import parse_untrusted
    from amelipro.xmlcore.signature import TrustStore, VerifyPolicy, verify_signed_element

    result = verify_signed_element(parse_untrusted(signed.data), VerifyPolicy(TrustStore.load(fse_env.pki.trust_dir)))
    assert result.rpps == fse_env.doctor.rpps and result.element_id == fse["element_id"]


def test_rejected_fse_in_a_positive_arl_with_located_errors(client, fse_env):
    demo = fse_env.sheets(6, invalid=1.0, seed=3)
    response = client.post("/api/v1/lots", data=fse_env.lot(demo.sheets), headers=_headers(fse_env))
    arl = read_arl(response.data)
    assert response.status_code == 201
    assert arl.rejected == 6 and arl.accepted == 0
    for item in arl.fses:
        assert item.errors, item
        for error in item.errors:
            assert error.code.startswith("FSE-R-") and error.message and error.hint
            assert error.path.startswith(f"/Lot/FSE[{item.position}]") and error.line
    assert count_rows(fse_env.app, StoredFse, StoredFse.status == FseStatus.REJECTED) == 6


def test_mixed_lot_partial(client, fse_env):
    demo = fse_env.sheets(10, invalid=0.3, seed=11)
    arl = read_arl(client.post("/api/v1/lots", data=fse_env.lot(demo.sheets), headers=_headers(fse_env)).data)
    rejected = {f.position for f in arl.fses if f.status.value == "rejetee"}
    assert rejected == set(demo.invalid)
    lot = client.get(f"/api/v1/lots/{arl.lot_reference}", headers=_headers(fse_env)).get_json()
    assert lot["status"] == "partiel" and lot["rejected"] == 3 and lot["accepted"] == 7


def test_identical_resend_points_to_the_original(client, fse_env):
    demo = fse_env.sheets(2)
    first = read_arl(client.post("/api/v1/lots", data=fse_env.lot(demo.sheets), headers=_headers(fse_env)).data)
    # Signed again (another signature, another lot): same content -> duplicate of the original.
    again = client.post("/api/v1/lots", data=fse_env.lot(demo.sheets, number="L-TEST-2"), headers=_headers(fse_env))
    arl = read_arl(again.data)
    assert again.status_code == 201 and arl.duplicates == 2 and arl.accepted == 0
    assert [f.reference for f in arl.fses] == [f.reference for f in first.fses]
    assert count_rows(fse_env.app, StoredFse, StoredFse.status == FseStatus.ACCEPTED) == 2


def test_same_invoice_number_other_content_rejected(client, fse_env):
    demo = fse_env.sheets(1)
    client.post("/api/v1/lots", data=fse_env.lot(demo.sheets), headers=_headers(fse_env))
    sheet = demo.sheets[0]
    changed = replace(sheet, tiers_payant_amc=not sheet.tiers_payant_amc)
    arl = read_arl(client.post("/api/v1/lots", data=fse_env.lot([changed], number="L-2"),
                               headers=_headers(fse_env)).data)
    assert arl.rejected == 1 and _errors(arl) == ["FSE-R-018"]
    error = arl.fses[0].errors[0]
    assert error.path == "/Lot/FSE[1]/Facture/Numero" and error.line and sheet.invoice_number in error.detail


def test_same_invoice_twice_in_one_lot(client, fse_env):
    sheet = fse_env.sheets(1).sheets[0]
    other = replace(sheet, id=sheet.id + "b", tiers_payant_amc=not sheet.tiers_payant_amc)
    arl = read_arl(client.post("/api/v1/lots", data=fse_env.lot([sheet, replace(sheet, id=sheet.id + "c"), other]),
                               headers=_headers(fse_env)).data)
    assert [f.status.value for f in arl.fses] == ["acceptee", "doublon", "rejetee"]
    assert arl.fses[1].reference == arl.fses[0].reference
    from amelipro.fse.models import StoredFse  # the stored duplicate points at the lot's original

    assert count_rows(fse_env.app, StoredFse, StoredFse.duplicate_of_id == int(arl.fses[0].reference)) == 1


def test_corrected_resubmission_links_the_rejected_original(client, fse_env):
    demo = fse_env.sheets(1)
    sheet = demo.sheets[0]
    first_line = sheet.lines[0]
    wrong = replace(sheet, lines=(replace(first_line, amounts=replace(first_line.amounts, amo=first_line.amounts.amo + Decimal("1"))),
                                  *sheet.lines[1:]))
    bad = read_arl(client.post("/api/v1/lots", data=fse_env.lot([wrong]), headers=_headers(fse_env)).data)
    assert bad.rejected == 1
    same = read_arl(client.post("/api/v1/lots", data=fse_env.lot([wrong], number="L-1b"), headers=_headers(fse_env)).data)
    assert same.rejected == 1  # the same mistake again: rejected again, not a correction
    again = client.get(f"/api/v1/fse/{same.fses[0].reference}", headers=_headers(fse_env)).get_json()
    assert again["corrects"] is None
    good = read_arl(client.post("/api/v1/lots", data=fse_env.lot([sheet], number="L-2"), headers=_headers(fse_env)).data)
    assert good.accepted == 1
    fse = client.get(f"/api/v1/fse/{good.fses[0].reference}", headers=_headers(fse_env)).get_json()
    assert fse["corrects"] == int(same.fses[0].reference)  # the latest rejected one


@pytest.mark.parametrize("body, status, code", [
    (b"<Lot", 400, "XML-003"),
    (b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e "x">]><x>&e;</x>', 400, None),
    (b"<x xmlns='urn:other'/>", 422, "XML-010"),
    (b"   ", 400, "XML-001"),
])
def test_unreadable_or_invalid_lots_get_a_negative_arl(client, fse_env, body, status, code):
    response = client.post("/api/v1/lots", data=body, headers=_headers(fse_env))
    arl = read_arl(response.data)
    assert response.status_code == status and arl.status.value == "negatif"
    if code:
        assert _errors(arl)[0] == code
    assert count_rows(fse_env.app, Lot) == 0


def test_wrong_content_type_415(client, fse_env):
    response = client.post("/api/v1/lots", data=b"{}", headers=_headers(fse_env, **{"Content-Type": "application/json"}))
    assert response.status_code == 415 and _errors(read_arl(response.data)) == ["FSE-LOT-001"]


def test_too_large_413(client, fse_env):
    fse_env.app.config["XML_MAX_BYTES"] = 1000
    demo = fse_env.sheets(3)
    response = client.post("/api/v1/lots", data=fse_env.lot(demo.sheets), headers=_headers(fse_env))
    assert response.status_code == 413 and _errors(read_arl(response.data))[0] == "XML-002"
    assert count_rows(fse_env.app, Lot) == 0


def test_tampered_fse_refuses_the_whole_lot(client, fse_env):
    demo = fse_env.sheets(3)
    body = fse_env.lot(demo.sheets).replace(b"<Rang>1</Rang>", b"<Rang>2</Rang>", 1)
    response = client.post("/api/v1/lots", data=body, headers=_headers(fse_env))
    arl = read_arl(response.data)
    assert response.status_code == 422 and arl.status.value == "negatif"
    assert "FSE-SIG-003" in _errors(arl)
    assert count_rows(fse_env.app, Lot) == 0 and count_rows(fse_env.app, StoredFse) == 0


def test_signed_by_another_professional_refused(client, fse_env):
    demo = fse_env.sheets(1)
    response = client.post("/api/v1/lots", data=fse_env.lot(demo.sheets, holder=fse_env.pki.other),
                           headers=_headers(fse_env))
    assert response.status_code == 422 and "FSE-SIG-014" in _errors(read_arl(response.data))
    assert count_rows(fse_env.app, Lot) == 0


def test_token_of_another_professional_403(client, fse_env, make_professional, api_token):
    other = make_professional()
    demo = fse_env.sheets(1)
    response = client.post("/api/v1/lots", data=fse_env.lot(demo.sheets), headers=_headers(fse_env, api_token(other)))
    assert response.status_code == 403 and _errors(read_arl(response.data)) == ["FSE-SIG-015"]
    assert count_rows(fse_env.app, Lot) == 0


def test_operator_without_rpps_403(client, fse_env, make_professional, api_token):
    from amelipro.auth.models import Role

    operator = make_professional(role=Role.OPERATOR)
    response = client.post("/api/v1/lots", data=fse_env.lot(fse_env.sheets(1).sheets),
                           headers=_headers(fse_env, api_token(operator)))
    assert response.status_code == 403 and _errors(read_arl(response.data)) == ["FSE-LOT-002"]


def test_missing_or_bad_token_401(client, fse_env):
    body = fse_env.lot(fse_env.sheets(1).sheets)
    assert client.post("/api/v1/lots", data=body, content_type="application/xml").status_code == 401
    assert client.post("/api/v1/lots", data=body, headers=_headers(fse_env, "amp_nope")).status_code == 401


def test_dry_run_stores_nothing(client, fse_env):
    demo = fse_env.sheets(4, invalid=0.5, seed=5)
    body = fse_env.lot(demo.sheets)
    response = client.post("/api/v1/fse/validate", data=body, headers=_headers(fse_env))
    arl = read_arl(response.data)
    assert response.status_code == 200 and arl.accepted == 2 and arl.rejected == 2
    as_json = client.post("/api/v1/fse/validate", data=body, headers=_headers(fse_env, Accept="application/json"))
    report = as_json.get_json()
    assert report["dry_run"] is True and report["summary"] == {"fse": 4, "accepted": 2, "rejected": 2, "duplicates": 0}
    bad = client.post("/api/v1/fse/validate", data=b"<Lot", headers=_headers(fse_env))
    assert bad.status_code == 400
    assert count_rows(fse_env.app, Lot) == 0 and count_rows(fse_env.app, StoredFse) == 0 and count_rows(fse_env.app, IdempotencyKey) == 0


def test_idempotency_key_replays_and_refuses_other_bodies(client, fse_env):
    demo = fse_env.sheets(2)
    body = fse_env.lot(demo.sheets)
    first = client.post("/api/v1/lots", data=body, headers=_headers(fse_env, **{"Idempotency-Key": "abc-1"}))
    again = client.post("/api/v1/lots", data=body, headers=_headers(fse_env, **{"Idempotency-Key": "abc-1"}))
    assert first.status_code == again.status_code == 201
    assert again.data == first.data and again.headers["Idempotent-Replayed"] == "true"
    assert count_rows(fse_env.app, Lot) == 1
    other = client.post("/api/v1/lots", data=fse_env.lot(demo.sheets, number="L-9"),
                        headers=_headers(fse_env, **{"Idempotency-Key": "abc-1"}))
    assert other.status_code == 422 and other.get_json()["errors"][0]["code"] == "FSE-IDEM-002"
    bad_key = client.post("/api/v1/lots", data=body, headers=_headers(fse_env, **{"Idempotency-Key": "é"}))
    assert bad_key.status_code == 400 and bad_key.get_json()["errors"][0]["code"] == "FSE-IDEM-001"


def test_idempotency_replays_a_negative_answer_too(client, fse_env):
    headers = _headers(fse_env, **{"Idempotency-Key": "neg-1"})
    first = client.post("/api/v1/lots", data=b"<Lot", headers=headers)
    again = client.post("/api/v1/lots", data=b"<Lot", headers=headers)
    assert first.status_code == again.status_code == 400 and first.data == again.data


def test_idempotency_key_in_progress_409(client, fse_env):
    from amelipro.fse import idempotency

    body = fse_env.lot(fse_env.sheets(1).sheets)
    with fse_env.app.app_context():
        session = fse_env.app.extensions["amelipro.sessionmaker"]()
        idempotency.claim(session, fse_env.doctor.id, "busy", idempotency.request_hash("POST", "/api/v1/lots", body))
        session.close()
    response = client.post("/api/v1/lots", data=body, headers=_headers(fse_env, **{"Idempotency-Key": "busy"}))
    assert response.status_code == 409 and response.get_json()["errors"][0]["code"] == "FSE-IDEM-003"
    assert 1 <= int(response.headers["Retry-After"]) <= 5
    assert count_rows(fse_env.app, Lot) == 0


def test_gateway_without_signing_key_answers_503_and_stores_nothing(client, fse_env):
    import shutil
    from pathlib import Path

    shutil.rmtree(Path(fse_env.app.config["PKI_DIR"]) / "gateway")
    body = fse_env.lot(fse_env.sheets(1).sheets)
    response = client.post("/api/v1/lots", data=body, headers=_headers(fse_env, **{"Idempotency-Key": "k503"}))
    assert response.status_code == 503 and response.get_json()["errors"][0]["code"] == "FSE-LOT-009"
    assert int(response.headers["Retry-After"]) >= 1
    assert count_rows(fse_env.app, Lot) == 0 and count_rows(fse_env.app, IdempotencyKey) == 0


HOSTILE = [
    (b'<?xml version="1.0"?><!DOCTYPE l [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;&a;">]><Lot>&b;</Lot>', 400),
    (b'<?xml version="1.0"?><!DOCTYPE l SYSTEM "file:///etc/passwd"><Lot/>', 400),
    (b'<Lot xmlns:xi="http://www.w3.org/2001/XInclude"><xi:include href="file:///etc/passwd"/></Lot>', 400),
    (b"<a>" * 200 + b"</a>" * 200, 400),
    (b"\xff\xfe\x00<", 400),
    (b'<Lot xmlns="urn:amelipro:lot:1" Id="L" version="1"/>', 422),
]


@pytest.mark.parametrize("body, status", HOSTILE)
def test_hostile_bodies_refused_with_a_negative_arl(client, fse_env, body, status):
    response = client.post("/api/v1/lots", data=body, headers=_headers(fse_env))
    assert response.status_code == status
    arl = read_arl(response.data)
    assert arl.status.value == "negatif" and arl.errors and b"root:" not in response.data
    assert count_rows(fse_env.app, Lot) == 0


def test_announced_count_mismatch_422(client, fse_env):
    body = fse_env.lot(fse_env.sheets(2).sheets).replace(b"<NombreFSE>2</NombreFSE>", b"<NombreFSE>3</NombreFSE>")
    response = client.post("/api/v1/lots", data=body, headers=_headers(fse_env))
    assert response.status_code == 422 and _errors(read_arl(response.data)) == ["LOT-001"]


def test_a_lot_is_recorded_whole_or_not_at_all(client, fse_env, monkeypatch):
    """A failure after the FSE rows were inserted (here: building the ARL) leaves nothing."""
    from amelipro.fse import intake

    real = intake.build_arl

    def failing(gw, report):
        if report.positive and report.lot_id is not None:
            raise RuntimeError("simulated failure after the inserts")
        return real(gw, report)

    monkeypatch.setattr(intake, "build_arl", failing)
    fse_env.app.config["PROPAGATE_EXCEPTIONS"] = False
    body = fse_env.lot(fse_env.sheets(5).sheets)
    response = client.post("/api/v1/lots", data=body, headers=_headers(fse_env, **{"Idempotency-Key": "atom"}))
    assert response.status_code == 500 and response.get_json()["errors"][0]["code"] == "GEN-000"
    assert count_rows(fse_env.app, Lot) == 0 and count_rows(fse_env.app, StoredFse) == 0
    assert count_rows(fse_env.app, IdempotencyKey) == 0  # released: the client may retry with its key
    monkeypatch.setattr(intake, "build_arl", real)
    again = client.post("/api/v1/lots", data=body, headers=_headers(fse_env, **{"Idempotency-Key": "atom"}))
    assert again.status_code == 201 and count_rows(fse_env.app, StoredFse) == 5


def test_submission_is_audited(client, fse_env):
    from amelipro.audit import AuditEvent

    client.post("/api/v1/lots", data=fse_env.lot(fse_env.sheets(2).sheets), headers=_headers(fse_env))
    client.post("/api/v1/lots", data=b"<Lot", headers=_headers(fse_env))
    with fse_env.app.app_context():
        session = fse_env.app.extensions["amelipro.sessionmaker"]()
        events = {e.action: e.detail_dict for e in session.scalars(select(AuditEvent))}
        session.close()
    assert events["lot.submitted"]["accepted"] == 2 and events["lot.submitted"]["fse"] == 2
    assert events["lot.refused"]["codes"] == ["XML-003"]


def test_rule_errors_point_to_the_received_line(client, fse_env):
    """The ARL's line is the line, in the bytes sent, of the element at fault."""
    sheets = fse_env.sheets(3).sheets
    bad_nir = sheets[1].patient.nir[:13] + f"{(int(sheets[1].patient.nir[13:]) % 97) + 1:02d}"
    sheets = [sheets[0], replace(sheets[1], patient=replace(sheets[1].patient, nir=bad_nir)), sheets[2]]
    body = fse_env.lot(sheets)
    arl = read_arl(client.post("/api/v1/lots", data=body, headers=_headers(fse_env)).data)
    error = next(e for e in arl.fses[1].errors if e.code == "FSE-R-001")
    assert error.path == "/Lot/FSE[2]/Patient/NIR"
    lines = body.decode().splitlines()
    assert bad_nir in lines[error.line - 1] and "NIR" in lines[error.line - 1]


def test_checked_as_the_registered_profession_not_the_declared_one(client, fse_env):
    """A doctor's FSE declaring the pharmacist specialty cannot bill medicines."""
    from amelipro.fse.domain import Line, LineKind

    sheet = fse_env.sheets(1).sheets[0]
    med = Line(number=len(sheet.lines) + 1, kind=LineKind.MEDICINE, care_date=sheet.lines[0].care_date,
               code="3400930065891", quantity=1, amounts=sheet.lines[0].amounts)
    claimed = replace(sheet, professional=replace(sheet.professional, specialty="pharmacien"),
                      lines=(*sheet.lines, med))
    arl = read_arl(client.post("/api/v1/lots", data=fse_env.lot([claimed]), headers=_headers(fse_env)).data)
    assert arl.rejected == 1 and "FSE-R-019" in _errors(arl)  # kind of line not allowed


def test_mangled_lots_never_answer_5xx(client, fse_env):
    """Truncations, byte flips and element swaps of a valid lot: always a 2xx/4xx answer."""
    import random

    rng = random.Random(20261123)
    body = fse_env.lot(fse_env.sheets(2).sheets)
    variants = [body[:n] for n in (1, 40, len(body) // 2, len(body) - 3)]
    for _ in range(25):
        data = bytearray(body)
        for _ in range(rng.randrange(1, 4)):
            data[rng.randrange(len(data))] = rng.randrange(256)
        variants.append(bytes(data))
    variants += [
        body.replace(b"<Quantite>1</Quantite>", b"<Quantite>0</Quantite>", 1),
        body.replace(b"<Code>G</Code>", b"<Code>G</Code><Code>G</Code>", 1),
        body.replace(b"urn:amelipro:fse:1", b"urn:amelipro:fse:2", 1),
        body.replace(b"<DateSoins>", b"<DateSoins>9999-99-99", 1),
    ]
    for data in variants:
        response = client.post("/api/v1/lots", data=data, headers=_headers(fse_env))
        assert response.status_code < 500, (response.status_code, data[:80])
        read_arl(response.data)  # always an ARL


def test_keys_and_trust_store_loaded_once_per_app(client, fse_env, monkeypatch):
    from amelipro.fse import intake

    calls = []
    real = intake.load_gateway
    monkeypatch.setattr(intake, "load_gateway", lambda config: calls.append(1) or real(config))
    for number in ("L-1", "L-2", "L-3"):
        body = fse_env.lot(fse_env.sheets(2, seed=len(number) + len(calls)).sheets, number=number)
        assert client.post("/api/v1/lots", data=body, headers=_headers(fse_env)).status_code == 201
    assert len(calls) == 1 and intake.EXTENSION_KEY in fse_env.app.extensions


def test_rights_check_can_be_switched_off_without_a_caisse_file(client, fse_env):
    """FSE_CHECK_RIGHTS=False (no beneficiary file loaded): unknown patients are not rejected."""
    from amelipro.fse import intake

    sheet = fse_env.sheets(1).sheets[0]
    stranger = replace(sheet, patient=replace(sheet.patient, nir="185057800608436", birth_date=sheet.patient.birth_date))
    arl = read_arl(client.post("/api/v1/fse/validate", data=fse_env.lot([stranger]), headers=_headers(fse_env)).data)
    assert "FSE-R-006" in _errors(arl)
    fse_env.app.config["FSE_CHECK_RIGHTS"] = False
    fse_env.app.extensions.pop(intake.EXTENSION_KEY, None)
    arl = read_arl(client.post("/api/v1/fse/validate", data=fse_env.lot([stranger]), headers=_headers(fse_env)).data)
    assert "FSE-R-006" not in _errors(arl)


def test_a_new_crl_takes_effect_without_restart(client, fse_env):
    """The operator drops a CRL revoking the doctor's card: the next lot is refused (FSE-SIG-008)."""
    from datetime import UTC, datetime, timedelta
    from pathlib import Path

    from cryptography.hazmat.primitives import serialization

    from amelipro.xmlcore import pki as demo_pki

    first = fse_env.lot(fse_env.sheets(1, seed=3).sheets, number="L-AVANT")
    assert client.post("/api/v1/lots", data=first, headers=_headers(fse_env)).status_code == 201
    pki = fse_env.pki
    crl = demo_pki.make_crl(pki.ca_key, pki.ca_cert, [
        (pki.revoked.cert.serial_number, datetime.now(UTC) - timedelta(hours=1)),
        (pki.medecin.cert.serial_number, datetime.now(UTC) - timedelta(seconds=1)),
    ])
    (Path(fse_env.app.config["TRUST_STORE_DIR"]) / "test-ca.crl.pem").write_bytes(
        crl.public_bytes(serialization.Encoding.PEM))
    later = fse_env.lot(fse_env.sheets(1, seed=4).sheets, number="L-APRES")
    response = client.post("/api/v1/lots", data=later, headers=_headers(fse_env))
    assert response.status_code == 422 and "FSE-SIG-008" in _errors(read_arl(response.data))


def test_stored_and_served_fse_is_only_what_the_signature_covers(client, fse_env):
    """Comments, ds:Object and ds:KeyName the sender added are neither stored nor served."""
    from lxml import etree

    from amelipro.fse.document import build_lot, care_sheet_to_xml, document_bytes
    from amelipro.xmlcore.safe import parse_untrusted
    from amelipro.xmlcore.signature import DS_NS, VerifyPolicy, sign_fse, verify_signed_element

    ds = f"{{{DS_NS}}}"
    holder = fse_env.pki.medecin
    element = sign_fse(care_sheet_to_xml(fse_env.sheets(1).sheets[0]), holder.key, holder.cert)
    element.insert(0, etree.Comment(" note interne non signée "))
    signature = element.find(f"{ds}Signature")
    key_name = etree.Element(f"{ds}KeyName")
    key_name.text = "KeyName-non-signe"
    signature.find(f"{ds}KeyInfo").insert(0, key_name)
    etree.SubElement(etree.SubElement(signature, f"{ds}Object"), f"{ds}Extra").text = "Object-non-signe"
    body = document_bytes(build_lot([element], number="L-EXTRA", sender_rpps=holder.rpps))
    response = client.post("/api/v1/lots", data=body, headers=_headers(fse_env))
    arl = read_arl(response.data)
    assert response.status_code == 201, _errors(arl)
    fse_id = int(arl.fses[0].reference)
    served = client.get(f"/api/v1/fse/{fse_id}", headers={**_headers(fse_env), "Accept": "application/xml"})
    assert served.status_code == 200
    for unsigned in (b"note interne", b"KeyName", b"Object", b"<!--"):
        assert unsigned not in served.data
    with fse_env.app.app_context():
        stored = _stored_xml(fse_env, fse_id)
        policy = VerifyPolicy.from_config(fse_env.app.config)
    assert stored.encode() == served.data
    verify_signed_element(parse_untrusted(served.data), policy)  # still verifiable on its own


def _stored_xml(env, fse_id: int) -> str:
    session = env.app.extensions["amelipro.sessionmaker"]()
    try:
        return session.get(StoredFse, fse_id).signed_xml
    finally:
        session.close()


def test_pipeline_built_at_app_creation_and_gateway_taken_once_per_lot(client, fse_env, monkeypatch):
    """The submission pipeline exists once the app is created (its keys not yet loaded: they
    may come later); a lot takes its gateway once and passes it to every stage."""
    from amelipro.fse import intake

    pipe = fse_env.app.extensions[intake.PIPELINE_KEY]
    assert isinstance(pipe, intake.Pipeline) and intake.pipeline(fse_env.app) is pipe
    calls = []
    real = intake.Pipeline.gateway
    monkeypatch.setattr(intake.Pipeline, "gateway", lambda self: calls.append(1) or real(self))
    body = fse_env.lot(fse_env.sheets(3, seed=41).sheets, number="L-PIPE")
    assert client.post("/api/v1/lots", data=body, headers=_headers(fse_env)).status_code == 201
    assert len(calls) == 1
