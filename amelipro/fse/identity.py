"""Content identity of an FSE: what the care sheet says, independent of XML layout,
signature and Id (``content_hash``, to tell an identical resend from a correction), and the
hash of the received bytes (``raw_hash``)."""

from __future__ import annotations

import hashlib
from datetime import date
from decimal import Decimal

from amelipro.fse.domain import CareSheet, Line


def _dec(value: Decimal | None) -> str:
    return "" if value is None else f"{value.normalize():f}"


def _day(value: date | None) -> str:
    return "" if value is None else value.isoformat()


def _line_key(line: Line) -> tuple:
    a = line.amounts
    amounts = ("",) if a is None else (_dec(a.charged), _dec(a.base), str(a.rate), _dec(a.amo))
    key = (line.number, line.kind.value, _day(line.care_date), line.code, line.quantity,
           _dec(line.coefficient), *amounts)
    if line.care_time is not None or line.second_act:  # schema 2 only: v1 hashes unchanged
        key += (line.care_time.isoformat() if line.care_time else "", line.second_act)
    return key


def canonical_content(sheet: CareSheet) -> tuple:
    """Every field of the care sheet except its element Id, in a fixed order, numbers
    normalized (30.00 == 30.0): two FSE with the same content have the same tuple, however
    they were laid out, signed or identified."""
    pro, pat, tot = sheet.professional, sheet.patient, sheet.totals
    return (
        "fse/1", sheet.invoice_number, _day(sheet.invoice_date),
        (pro.rpps, pro.am_number, pro.specialty, pro.finess or ""),
        (pat.nir, _day(pat.birth_date), pat.rank, pat.regime, pat.caisse, pat.centre),
        sheet.nature.value, sheet.pathway, sheet.exemption.value,
        sheet.tiers_payant_amo, sheet.tiers_payant_amc,
        tuple(_line_key(line) for line in sheet.lines),
        (_dec(tot.charged), _dec(tot.base), _dec(tot.amo)),
        sheet.prescriber_rpps or "", _day(sheet.prescription_date),
    )


def content_hash(sheet: CareSheet) -> str:
    """Hash of what the care sheet says, independent of XML layout, signature and Id."""
    return hashlib.sha256(repr(canonical_content(sheet)).encode()).hexdigest()


def raw_hash(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


__all__ = ["canonical_content", "content_hash", "raw_hash"]
