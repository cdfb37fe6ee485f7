"""Accepted tiers-payant FSE written straight to storage, for demos, tests and the benchmark.

Real submissions go through ``amelipro.fse.services.submit_lot`` (signed XML, rules); this
module only fills the same tables with plausible accepted care sheets (consultation G at the
date of care, 70 % in the care pathway) so that the liquidation has work to do.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

from sqlalchemy import insert
from sqlalchemy.orm import Session

from amelipro.beneficiaries.demo import nir_with_key
from amelipro.fse.models import FseStatus, Lot, LotStatus, StoredFse
from amelipro.reference.facts import ActFact, StaticReferenceLookup

# Letter keys known to the static lookup; their values come from the FSE package's dated
# configuration (``amelipro/fse/data/rates.json``).
DEMO_ACTS = {
    "G": ActFact("G", "ngap", "Consultation de médecine générale", None),
    "GS": ActFact("GS", "ngap", "Consultation de médecine générale (spécialiste en MG)", None),
    "AMI": ActFact("AMI", "ngap", "Acte médico-infirmier", None),
    "AMK": ActFact("AMK", "ngap", "Acte de masso-kinésithérapie", None),
}


def demo_lookup() -> StaticReferenceLookup:
    return StaticReferenceLookup(acts=dict(DEMO_ACTS))


@dataclass(frozen=True)
class DemoFse:
    professional_id: int
    invoice_number: str
    care_date: date
    received_at: datetime
    nir: str
    amo: Decimal = Decimal("21.00")
    charged: Decimal = Decimal("30.00")
    base: Decimal = Decimal("30.00")
    rate: int = 70
    code: str = "G"
    coefficient: Decimal = Decimal("1")
    kind: str = "ngap"  # LineKind value of the single line ("medicament": code is a CIP13)
    nature: str = "10"
    exemption: str = "aucune"
    tiers_payant_amo: bool = True
    corrects_id: int | None = None
    birth_date: date = date(1980, 5, 17)


def lines_json(item: DemoFse) -> str:
    sent = {"charged": f"{item.charged:.2f}", "base": f"{item.base:.2f}", "rate": item.rate,
            "amo": f"{item.amo:.2f}"}
    return json.dumps([{
        "number": 1, "kind": item.kind, "code": item.code, "care_date": item.care_date.isoformat(),
        "quantity": 1, "coefficient": f"{item.coefficient:f}", "label": "", "sent": sent,
        "computed": {"number": 1, "base": sent["base"], "rate": item.rate, "amo": sent["amo"]},
    }])


def insert_accepted(session: Session, items: list[DemoFse], *, lot_size: int = 500) -> list[int]:
    """Insert lots of accepted FSE (no commit), one lot per professional and acknowledgement
    time (split every ``lot_size``); returns the FSE ids, grouped by lot."""
    ids: list[int] = []
    by_pro: dict[tuple[int, datetime], list[DemoFse]] = {}
    for item in items:
        by_pro.setdefault((item.professional_id, item.received_at), []).append(item)
    groups = []
    for (pro_id, received_at), whole in sorted(by_pro.items()):
        for start in range(0, len(whole), lot_size):
            groups.append((pro_id, received_at, start, whole[start:start + lot_size]))
    for pro_id, received_at, start, group in groups:
        lot_id = session.execute(insert(Lot).values(
            professional_id=pro_id, lot_number=f"DEMO-{received_at:%Y%m%d%H%M%S}",
            received_at=received_at, status=LotStatus.ACCEPTED, source="demo",
            fse_count=len(group), accepted_count=len(group), rejected_count=0,
            duplicate_count=0, amo_accepted=sum((g.amo for g in group), Decimal("0.00")),
            body_sha256=hashlib.sha256(f"{pro_id}{received_at}{start}".encode()).hexdigest(),
            body_size=0, arl_xml="",
        ).returning(Lot.id)).scalar_one()
        rows = []
        for position, item in enumerate(group, start=1):
            rows.append({
                "lot_id": lot_id, "professional_id": pro_id, "position": position,
                "element_id": f"FSE-{item.invoice_number}", "status": FseStatus.ACCEPTED,
                "content_hash": hashlib.sha256(f"{pro_id}|{item.invoice_number}".encode()).hexdigest(),
                "duplicate_of_id": None, "corrects_id": item.corrects_id,
                "invoice_number": item.invoice_number, "invoice_date": item.care_date,
                "first_care_date": item.care_date, "last_care_date": item.care_date,
                "patient_nir": item.nir, "patient_birth_date": item.birth_date, "patient_rank": 1,
                "nature": item.nature, "pathway": True, "exemption": item.exemption,
                "tiers_payant_amo": item.tiers_payant_amo, "tiers_payant_amc": False,
                "charged_sent": item.charged, "base_sent": item.base, "amo_sent": item.amo,
                "charged_computed": item.charged, "base_computed": item.base,
                "amo_computed": item.amo, "patient_charges": Decimal("2.00"),
                "participation": Decimal("2.00"), "franchise": Decimal("0.00"),
                "lines_json": lines_json(item), "errors_json": "[]", "signed_xml": "",
                "created_at": received_at,
            })
        ids.extend(session.execute(insert(StoredFse).returning(StoredFse.id, sort_by_parameter_order=True),
                                   rows).scalars())
    return ids


def generate(professional_ids: list[int], count: int, *, first_day: date,
             days: int = 20, prefix: str = "B") -> list[DemoFse]:
    """``count`` consultations spread over professionals and days (deterministic)."""
    items = []
    for n in range(count):
        pro = professional_ids[n % len(professional_ids)]
        day = first_day + timedelta(days=(n // len(professional_ids)) % days)
        received = datetime.combine(day + timedelta(days=1), time(9, 0), tzinfo=UTC)
        body = f"1{80 + n % 20:02d}{1 + n % 12:02d}75{n % 1_000_000:06d}"
        items.append(DemoFse(
            professional_id=pro, invoice_number=f"{prefix}{n:08d}", care_date=day,
            received_at=received, nir=nir_with_key(body),
            birth_date=date(1940 + n % 66, 1 + n % 12, 1 + n % 28),
        ))
    return items
