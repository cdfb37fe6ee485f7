"""RSP returns (paid / rejected / adjusted) as frozen values, and their JSON and XML forms.

The XML form follows ``xsd/rsp/1/rsp.xsd`` (namespace ``urn:amelipro:rsp:1``). It is
*generated* here, never parsed: nothing untrusted goes through this module.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from lxml import etree

RSP_NS = "urn:amelipro:rsp:1"
RSP_XSD = "rsp/1/rsp.xsd"  # under the schema directory, xsd/


@dataclass(frozen=True)
class ReturnCode:
    code: str  # e.g. "0250 050"
    message: str
    hint: str = ""


@dataclass(frozen=True)
class ReturnRecord:
    cursor: int
    fse_id: int | None  # None: a regularisation not tied to one FSE (penalty claim)
    invoice_number: str
    status: str  # "paye" | "rejete" | "ajuste"
    liquidated_on: date
    care_date: date | None
    charged: Decimal
    base: Decimal
    amo_claimed: Decimal
    amo_paid: Decimal
    codes: tuple[ReturnCode, ...] = ()
    virement_reference: str | None = None
    value_date: date | None = None
    bank_account: str | None = None  # masked account the virement went to (FR76 •••• 1234)
    kind: str = "fse"  # "fse": an RSP return; "regularisation": a granted complaint or claim paid
    adjustment: dict[str, Any] | None = None  # kind "regularisation": id, reason, month...


def _money(value: Decimal) -> str:
    return f"{Decimal(value).quantize(Decimal('0.01'))}"


def return_json(record: ReturnRecord) -> dict[str, Any]:
    body = {
        "cursor": str(record.cursor),
        "kind": record.kind,
        "fse_id": record.fse_id,
        "invoice_number": record.invoice_number,
        "status": record.status,
        "liquidated_on": record.liquidated_on.isoformat(),
        "care_date": record.care_date.isoformat() if record.care_date else None,
        "amounts": {
            "charged": _money(record.charged),
            "base": _money(record.base),
            "amo_claimed": _money(record.amo_claimed),
            "amo_paid": _money(record.amo_paid),
        },
        "codes": [{"code": c.code, "message": c.message, "hint": c.hint} for c in record.codes],
        "virement": (
            {"reference": record.virement_reference, "value_date": record.value_date.isoformat(),
             "bank_account": record.bank_account}
            if record.virement_reference and record.value_date else None
        ),
    }
    if record.adjustment is not None:
        body["adjustment"] = record.adjustment
    return body


def feed_json(records: list[ReturnRecord], next_cursor: int) -> dict[str, Any]:
    return {"returns": [return_json(r) for r in records], "next": str(next_cursor)}


def _sub(parent, name: str, text: str | None = None):
    el = etree.SubElement(parent, f"{{{RSP_NS}}}{name}")
    if text is not None:
        el.text = text
    return el


def feed_xml(records: list[ReturnRecord], next_cursor: int) -> bytes:
    root = etree.Element(f"{{{RSP_NS}}}Retours", nsmap={None: RSP_NS})
    root.set("suivant", str(next_cursor))
    root.set("version", "1")
    for record in records:
        if record.kind != "fse":
            continue  # regularisations are in the JSON feed only (rsp.xsd v1 has no such element)
        item = _sub(root, "Retour")
        item.set("curseur", str(record.cursor))
        _sub(item, "FseId", str(record.fse_id))
        _sub(item, "NumeroFacture", record.invoice_number)
        _sub(item, "Statut", record.status)
        _sub(item, "DateLiquidation", record.liquidated_on.isoformat())
        if record.care_date:
            _sub(item, "DateSoins", record.care_date.isoformat())
        amounts = _sub(item, "Montants")
        _sub(amounts, "Facture", _money(record.charged))
        _sub(amounts, "Base", _money(record.base))
        _sub(amounts, "PartAMODemandee", _money(record.amo_claimed))
        _sub(amounts, "PartAMOPayee", _money(record.amo_paid))
        if record.codes:
            motifs = _sub(item, "Motifs")
            for code in record.codes:
                motif = _sub(motifs, "Motif")
                _sub(motif, "Code", code.code)
                _sub(motif, "Libelle", code.message)
                if code.hint:
                    _sub(motif, "Conseil", code.hint)
        if record.virement_reference and record.value_date:
            virement = _sub(item, "Virement")
            _sub(virement, "Reference", record.virement_reference)
            _sub(virement, "DateValeur", record.value_date.isoformat())
            if record.bank_account:
                _sub(virement, "Compte", record.bank_account)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)
