"""Fixtures of the fse capability (pytest plugin)."""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from amelipro.db import utcnow


@pytest.fixture
def store_lot(app):
    """Factory: a lot with FSE stored directly (for reading and scoping tests).

    ``store_lot(pro, statuses=("acceptee", "rejetee"))`` -> (lot_id, [fse_id, ...]).
    """
    from amelipro.fse.models import FseStatus, Lot, LotStatus, StoredFse

    counter = iter(range(1, 10**6))

    def make(pro, statuses=("acceptee", "rejetee"), invoice_prefix: str = "F") -> tuple[int, list[int]]:
        with app.app_context():
            session = app.extensions["amelipro.sessionmaker"]()
            statuses_ = [FseStatus(s) for s in statuses]
            rejected = sum(1 for s in statuses_ if s == FseStatus.REJECTED)
            lot = Lot(
                professional_id=pro.id, lot_number=f"L{next(counter)}", status=(
                    LotStatus.ACCEPTED if not rejected else
                    LotStatus.REJECTED if rejected == len(statuses_) else LotStatus.PARTIAL),
                fse_count=len(statuses_), accepted_count=statuses_.count(FseStatus.ACCEPTED),
                rejected_count=rejected, duplicate_count=statuses_.count(FseStatus.DUPLICATE),
                amo_accepted=Decimal("21.00") * statuses_.count(FseStatus.ACCEPTED),
                body_sha256="0" * 64, body_size=10, arl_xml="<ARL/>",
            )
            session.add(lot)
            session.flush()
            ids = []
            for position, status in enumerate(statuses_, start=1):
                errors = [] if status != FseStatus.REJECTED else [{
                    "code": "FSE-R-001", "message": "Clé du NIR invalide.", "hint": "Relisez la carte Vitale.",
                    "path": "/FSE/Patient/NIR", "line": 12}]
                fse = StoredFse(
                    lot_id=lot.id, professional_id=pro.id, position=position,
                    element_id=f"FSE-{position}", status=status, content_hash=f"{next(counter):064d}",
                    invoice_number=f"{invoice_prefix}{lot.id}-{position}",
                    invoice_date=date.today(), first_care_date=date.today() - timedelta(days=1),
                    last_care_date=date.today() - timedelta(days=1), patient_nir="185057800608436",
                    patient_birth_date=date(1985, 5, 12), nature="10", exemption="aucune",
                    tiers_payant_amo=True, charged_sent=Decimal("30.00"), base_sent=Decimal("30.00"),
                    amo_sent=Decimal("21.00"), charged_computed=Decimal("30.00"),
                    base_computed=Decimal("30.00"), amo_computed=Decimal("21.00"),
                    patient_charges=Decimal("2.00"), participation=Decimal("2.00"), franchise=Decimal("0.00"),
                    lines_json=json.dumps([{
                        "number": 1, "kind": "ngap", "code": "G", "care_date": "2026-11-20", "quantity": 1,
                        "coefficient": "1", "label": "Consultation",
                        "sent": {"charged": "30.00", "base": "30.00", "rate": 70, "amo": "21.00"},
                        "computed": {"charged": "30.00", "base": "30.00", "rate": 70, "amo": "21.00"}}]),
                    errors_json=json.dumps(errors), signed_xml="<FSE/>", created_at=utcnow(),
                )
                session.add(fse)
                session.flush()
                ids.append(fse.id)
            session.commit()
            lot_id = lot.id
            session.close()
        return lot_id, ids

    return make


# --- a gateway ready to receive signed lots ----------------------------------------------

@dataclass
class FseEnv:
    app: object
    doctor: object  # Professional with the test PKI's doctor RPPS
    token: str
    pki: object

    def sheets(self, count: int = 3, invalid: float = 0.0, seed: int = 7, pro=None):
        """Realistic care sheets priced by the gateway (amelipro.fse.demo)."""
        from amelipro.fse.demo import build_sheets

        with self.app.app_context():
            session = self.app.extensions["amelipro.sessionmaker"]()
            pro = session.get(type(self.doctor), (pro or self.doctor).id)
            lot = build_sheets(session, pro, count, invalid, today=date.today(), seed=seed)
            session.close()
        return lot

    def priced_sheet(self, pro, patient, lines, invoice: str, day: date, *, sheet_id: str | None = None):
        """An everyday care sheet of general practitioner ``pro`` for ``patient`` (their rights)
        carrying the gateway's own amounts (what a correct practice software sends)."""
        from amelipro.fse.demo import _amounts, plain_sheet
        from amelipro.fse.domain import ProfessionalRef
        from amelipro.reference.queries import SqlReferenceLookup

        professional = ProfessionalRef(pro.rpps, pro.am_number, "medecin_generaliste")
        sheet = plain_sheet(invoice, day, professional, patient, tuple(lines), sheet_id=sheet_id)
        with self.app.app_context():
            session = self.app.extensions["amelipro.sessionmaker"]()
            sheet = _amounts(sheet, SqlReferenceLookup(session), patient)
            session.close()
        return sheet

    def lot(self, sheets, holder=None, number: str = "L-TEST-1", **sign) -> bytes:
        """Sheets signed by ``holder`` (default: the doctor's certificate) in a lot."""
        return signed_lot(sheets, holder or self.pki.medecin, number, **sign)


def signed_lot(sheets, holder, number: str = "L-TEST-1", **sign) -> bytes:
    from amelipro.fse.document import build_lot, care_sheet_to_xml, document_bytes
    from amelipro.xmlcore.signature import sign_fse

    signed = [sign_fse(care_sheet_to_xml(s), holder.key, holder.cert, **sign) for s in sheets]
    return document_bytes(build_lot(signed, number=number, sender_rpps=holder.rpps or "10000000017"))


def install_gateway_pki(app, pki) -> None:
    """The test PKI's trust store and gateway key where the app's settings look for them."""
    trust = Path(app.config["TRUST_STORE_DIR"])
    trust.mkdir(parents=True, exist_ok=True)
    for item in pki.trust_dir.iterdir():
        shutil.copy(item, trust / item.name)
    gateway = Path(app.config["PKI_DIR"]) / "gateway"
    gateway.mkdir(parents=True, exist_ok=True)
    shutil.copy(pki.gateway.key_path, gateway / "key.pem")
    shutil.copy(pki.gateway.cert_path, gateway / "cert.pem")


@pytest.fixture
def fse_env(app, pki, reference_demo, make_professional, api_token) -> FseEnv:
    from amelipro.auth.models import Profession
    from amelipro.beneficiaries.services import seed_demo
    from tests.fixtures_pki import RPPS_MEDECIN

    install_gateway_pki(app, pki)
    with app.app_context():
        session = app.extensions["amelipro.sessionmaker"]()
        seed_demo(session, date.today())
        session.close()
    doctor = make_professional(rpps=RPPS_MEDECIN, profession=Profession.MEDECIN_GENERALISTE,
                               am_number="751234567")
    return FseEnv(app, doctor, api_token(doctor), pki)


def start_parallel_reading(app, monkeypatch, timeout: float = 60.0):
    """The app's lots read in two shares (``fse/parallel_read.py``) whatever their size and
    the machine's load, once its helper process is ready; the helper (``.close()`` it)."""
    import time

    from amelipro.fse import intake, parallel_read

    monkeypatch.setattr(parallel_read, "MIN_BYTES", 0)
    monkeypatch.setattr(parallel_read, "idle_core", lambda: True)
    reader = parallel_read.ParallelReader(app.config)
    intake.pipeline(app).gateway().parallel = reader
    reader.start()
    deadline = time.monotonic() + timeout
    while not reader.ready:
        assert time.monotonic() < deadline, "the helper process did not start"
        time.sleep(0.05)
    return reader
