"""How an FSE is stored, both ways: the ``fse`` row of a checked FSE (its columns, its lines
and errors as JSON) and what is read back from the stored lines. The one module that knows
the stored lines' JSON (``lines_json``: each line as sent next to the gateway's computation)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from amelipro.fse.domain import CareSheet
from amelipro.issues import Issue, as_dicts

# --- writing -------------------------------------------------------------------------------

_CENT = Decimal("0.01")
# One encoder for every row: ``json.dumps(value, ensure_ascii=False, default=str)`` builds
# one per call; the text is the same (the stored values are never circular).
_to_json = json.JSONEncoder(ensure_ascii=False, default=str, check_circular=False).encode


def _money(value: Decimal | None) -> Decimal | None:
    if value is None:
        return None
    return (value if type(value) is Decimal else Decimal(value)).quantize(_CENT)


def lines_view(sheet: CareSheet, computed) -> list[dict[str, Any]]:
    """Lines as sent next to the gateway's computation (an ``intake.Computed`` or None): what
    is stored in ``lines_json``, shown on the FSE page and in the JSON API."""
    by_number = {c["number"]: c for c in (computed.lines if computed else ())}
    out = []
    for line in sheet.lines:
        sent = line.amounts
        out.append({
            "number": line.number,
            "kind": line.kind.value,
            "code": line.code,
            "care_date": line.care_date.isoformat(),
            "quantity": line.quantity,
            "coefficient": f"{line.coefficient:f}",
            "care_time": line.care_time.strftime("%H:%M") if line.care_time else None,
            "second_act": line.second_act,
            "label": by_number.get(line.number, {}).get("label", ""),
            "sent": None if sent is None else {
                "charged": f"{sent.charged:.2f}", "base": f"{sent.base:.2f}", "rate": sent.rate,
                "amo": f"{sent.amo:.2f}",
            },
            "computed": by_number.get(line.number),
        })
    return out


def fse_row(*, lot_id: int, professional_id: int, position: int, element_id: str, status, content_hash: str,
            duplicate_of_id: int | None, corrects_id: int | None, errors: list[Issue],
            signed_xml: str, created_at: datetime, sheet: CareSheet | None, computed) -> dict[str, Any]:
    """The ``fse`` row (a plain dict, for one bulk insert) of a checked FSE; every row has the
    same keys in the same order, with or without a care sheet and a computation."""
    row: dict[str, Any] = {
        "lot_id": lot_id, "professional_id": professional_id, "position": position,
        "element_id": element_id[:64], "status": status, "content_hash": content_hash,
        "duplicate_of_id": duplicate_of_id, "corrects_id": corrects_id,
        "errors_json": _to_json(as_dicts(errors)) if errors else "[]",
        "signed_xml": signed_xml, "created_at": created_at,
    }
    if sheet is not None:
        patient, totals = sheet.patient, sheet.totals
        row.update({
            "invoice_number": sheet.invoice_number[:32], "invoice_date": sheet.invoice_date,
            "first_care_date": sheet.first_care_date, "last_care_date": sheet.last_care_date,
            "patient_nir": patient.nir[:15], "patient_birth_date": patient.birth_date,
            "patient_rank": patient.rank, "nature": sheet.nature.value, "pathway": sheet.pathway,
            "exemption": sheet.exemption.value, "tiers_payant_amo": sheet.tiers_payant_amo,
            "tiers_payant_amc": sheet.tiers_payant_amc,
            "charged_sent": _money(totals.charged), "base_sent": _money(totals.base),
            "amo_sent": _money(totals.amo),
        })
    else:
        row.update(_NO_SHEET)
    if computed is not None:
        row.update({
            "charged_computed": _money(computed.charged), "base_computed": _money(computed.base),
            "amo_computed": _money(computed.amo), "patient_charges": _money(computed.patient_charges),
            "participation": _money(computed.participation), "franchise": _money(computed.franchise),
        })
    else:
        row.update(_NOT_COMPUTED)
    row["lines_json"] = _to_json(lines_view(sheet, computed)) if sheet is not None else "[]"
    return row


_NO_SHEET: dict[str, Any] = {  # the columns of an FSE whose care sheet could not be read
    "invoice_number": "", "invoice_date": None, "first_care_date": None, "last_care_date": None,
    "patient_nir": "", "patient_birth_date": None, "patient_rank": 1, "nature": "", "pathway": True,
    "exemption": "", "tiers_payant_amo": False, "tiers_payant_amc": False,
    "charged_sent": None, "base_sent": None, "amo_sent": None,
}
_NOT_COMPUTED: dict[str, Any] = dict.fromkeys((
    "charged_computed", "base_computed", "amo_computed", "patient_charges", "participation", "franchise"))


# --- reading -------------------------------------------------------------------------------

def read_lines(text: str | None) -> list[dict[str, Any]]:
    """The stored lines (``lines_json``), as :func:`lines_view` wrote them."""
    return json.loads(text or "[]")


def read_errors(text: str | None) -> list[Issue]:
    """The stored errors (``errors_json``: ``[{code, message, hint, path, line, ...}]``), each
    written back by ``as_dict`` with the same keys in the same order."""
    return [Issue.from_dict(e) for e in json.loads(text or "[]")]


def charged_lines(text: str | None) -> Iterator[tuple[date, str, Decimal, Decimal]]:
    """(care date, kind, participation, franchise) of each stored line that charged the
    patient something."""
    for raw in read_lines(text):
        computed = raw.get("computed") or {}
        participation = Decimal(str(computed.get("participation") or "0"))
        franchise = Decimal(str(computed.get("franchise") or "0"))
        if participation or franchise:
            yield date.fromisoformat(raw["care_date"]), raw.get("kind", ""), participation, franchise


__all__ = ["charged_lines", "fse_row", "lines_view", "read_errors", "read_lines"]
