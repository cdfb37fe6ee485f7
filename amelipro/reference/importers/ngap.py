"""NGAP (letter keys): the codes of ``ngap.csv`` and the dated letter-key values kept in the
repository (``data/ngap_letter_keys.csv``), applied as a history (``apply_history``)."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy import insert, select, update

from amelipro.reference import models as m
from amelipro.reference.importers.files import PACKAGE_DATA, csv_records, find_file
from amelipro.reference.importers.release import ImportContext, apply_history
from amelipro.reference.parsing import parse_date, parse_decimal

NGAP_KEYS_FILE = PACKAGE_DATA / "ngap_letter_keys.csv"
RELEASE = "NGAP : codes prestation et valeurs des lettres clés (configuration datée)"


def present(root: Path) -> bool:
    return True  # the letter-key values are in the repository


def load_letter_keys() -> list[dict[str, Any]]:
    """The dated letter-key values kept in the repository (``ngap_letter_keys.csv``)."""
    out = []
    for _no, row in csv_records(NGAP_KEYS_FILE):
        confirmed = row["confirmed"].strip().lower() in ("yes", "oui", "1", "true")
        out.append({
            "code": row["key"].strip(), "label": row["label"].strip(),
            "valid_from": parse_date(row["valid_from"]), "valid_to": parse_date(row["valid_to"]),
            "tariff": parse_decimal(row["value"]),
            "note": (("" if confirmed else "valeur non confirmée — ") + row["source"].strip())[:400],
        })
    return out


def import_ngap(ctx: ImportContext, root: Path, effective: date | None) -> None:
    """``effective`` is not used: every value carries its own dates."""
    ctx.run.release = RELEASE
    codes: dict[str, dict[str, Any]] = {}
    path = find_file(root, "ngap.csv")
    if path is not None:
        for no, row in csv_records(path):
            code = (row.get("code") or "").strip().upper()
            if not re.fullmatch(r"[A-Z0-9]{1,6}", code):
                ctx.anomaly(path.name, no, f"code {code!r} illisible")
                continue
            codes[code] = {"kind": "ngap", "label": (row.get("description") or "").strip()[:1000]}
        ctx.add_file(path, len(codes))
    keys = load_letter_keys()
    ctx.add_file(NGAP_KEYS_FILE, len(keys))
    for key in keys:
        codes.setdefault(key["code"], {"kind": "ngap", "label": key["label"]})
    _upsert_acts(ctx, codes)
    periods = [{"code": k["code"], "valid_from": k["valid_from"], "valid_to": k["valid_to"],
                "tariff": k["tariff"], "tariff_other_sector": None, "note": k["note"]} for k in keys]
    apply_history(ctx, m.ActTariff, "ngap", "code", periods, ("tariff", "tariff_other_sector", "note"))


def _upsert_acts(ctx: ImportContext, codes: dict[str, dict[str, Any]]) -> None:
    """New codes are added; the label of an NGAP code is updated (a CCAM code is left alone)."""
    session = ctx.session
    existing = {r.code: r for r in session.execute(select(m.Act.id, m.Act.code, m.Act.kind, m.Act.label))}
    inserts, updates = [], []
    for code, values in codes.items():
        current = existing.get(code)
        if current is None:
            inserts.append({"code": code, "kind": values["kind"], "label": values["label"], "grouping": "",
                            "conditional": False, "prior_approval": False, "exemption": "",
                            "not_covered": False})
        elif current.kind == "ngap" and current.label != values["label"]:
            updates.append({"id": current.id, "label": values["label"]})
    if updates:
        session.execute(update(m.Act), updates)
    if inserts:
        session.execute(insert(m.Act), inserts)
