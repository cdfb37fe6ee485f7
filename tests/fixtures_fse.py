"""Fixtures of the fse capability (pytest plugin)."""

from __future__ import annotations

import json
from datetime import date, timedelta
from decimal import Decimal

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
                    patient_charges=Decimal("2.00"),
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
