"""BDPM (medicines): CIS_bdpm (specialities), CIS_CIP_bdpm (boxes and their dated prices),
CIS_GENER_bdpm (generic groups), CIS_COMPO_bdpm (compositions).

Tab-separated files without header, each in its own encoding (read by ``files.tab_rows``).
"""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path
from typing import Any

from amelipro.clock import paris_today
from amelipro.reference import models as m
from amelipro.reference.importers.files import find_file, tab_rows
from amelipro.reference.importers.release import (
    ImportContext,
    apply_snapshot,
    replace_set,
    upsert_descriptive,
)
from amelipro.reference.parsing import ean13_valid, parse_date, parse_decimal, parse_rate

SPECIALITIES, BOXES, GROUPS, COMPOSITIONS = (
    "CIS_bdpm.txt", "CIS_CIP_bdpm.txt", "CIS_GENER_bdpm.txt", "CIS_COMPO_bdpm.txt")
_CIS = re.compile(r"\d{8}")


# What makes a line readable, for each file (else it is reported and skipped).
def _speciality_line(cols: list[str]) -> bool:
    return len(cols) >= 11 and _CIS.fullmatch(cols[0].strip()) is not None


def _box_line(cols: list[str]) -> bool:
    return len(cols) >= 12


def _member_line(cols: list[str]) -> bool:
    return len(cols) >= 4 and cols[0].strip().isdigit() and cols[3].strip().isdigit()


def _component_line(cols: list[str]) -> bool:
    return len(cols) >= 7 and _CIS.fullmatch(cols[0].strip()) is not None


def present(root: Path) -> bool:
    return bool(find_file(root, SPECIALITIES) and find_file(root, BOXES))


def import_bdpm(ctx: ImportContext, root: Path, effective: date | None) -> None:
    """The four files; new boxes are counted through their price rows (``apply_snapshot``),
    new specialities and changed descriptions here."""
    effective = effective or paris_today()
    ctx.run.release = ctx.run.release or f"BDPM ({root.name})"
    ctx.run.effective_date = effective
    paths = {name: find_file(root, name) for name in (SPECIALITIES, BOXES, GROUPS, COMPOSITIONS)}
    missing = [n for n, p in paths.items() if p is None]
    if paths[SPECIALITIES] is None or paths[BOXES] is None:
        raise FileNotFoundError(", ".join(missing))
    for name in missing:
        ctx.anomaly(name, 0, "fichier absent de la version : non importé", skipped=False)

    medicines = _specialities(ctx, paths[SPECIALITIES])
    new, updated = upsert_descriptive(ctx, m.Medicine, "cis", medicines)
    boxes, prices = _boxes(ctx, paths[BOXES], medicines)
    _box_new, box_updated = upsert_descriptive(ctx, m.MedicineBox, "cip13", boxes)
    apply_snapshot(ctx, m.MedicinePrice, "bdpm", "cip13", prices,
                   ("reimbursable", "rate_percent", "price", "price_with_fee", "dispensing_fee"), effective)
    if paths[GROUPS] is not None:
        replace_set(ctx, m.GenericMember, _generic_members(ctx, paths[GROUPS]),
                    ("group_id", "group_label", "cis", "generic_type", "sort_no"))
    if paths[COMPOSITIONS] is not None:
        replace_set(ctx, m.Composition, _compositions(ctx, paths[COMPOSITIONS]),
                    ("cis", "element", "substance_code", "substance", "dosage", "dosage_reference",
                     "nature", "link_no"))
    ctx.created += new
    ctx.changed += updated + box_updated


def _specialities(ctx: ImportContext, path: Path) -> dict[str, dict[str, Any]]:
    medicines: dict[str, dict[str, Any]] = {}
    for no, cols in tab_rows(path, ctx.anomaly, 12, _speciality_line):
        try:
            amm_date = parse_date(cols[7])
        except ValueError as exc:
            amm_date = None
            ctx.anomaly(path.name, no, f"CIS {cols[0]} : {exc} (date d'AMM ignorée)", skipped=False)
        medicines[cols[0].strip()] = {
            "name": cols[1].strip()[:400], "form": cols[2].strip()[:200], "routes": cols[3].strip()[:200],
            "amm_status": cols[4].strip()[:100], "procedure": cols[5].strip()[:100],
            "marketed": cols[6].strip()[:60], "amm_date": amm_date, "bdm_status": cols[8].strip()[:60],
            "holder": cols[10].strip()[:400], "reinforced_monitoring": cols[11].strip().lower() == "oui",
        }
    ctx.add_file(path, len(medicines))
    return medicines


def _boxes(
    ctx: ImportContext, path: Path, medicines: dict[str, dict[str, Any]]
) -> tuple[dict[str, dict[str, Any]], dict[str, dict[str, Any]]]:
    """(boxes by CIP13, their prices by CIP13)."""
    boxes: dict[str, dict[str, Any]] = {}
    prices: dict[str, dict[str, Any]] = {}
    for no, cols in tab_rows(path, ctx.anomaly, 13, _box_line):
        cis, cip7, cip13 = cols[0].strip(), cols[1].strip(), cols[6].strip()
        if not ean13_valid(cip13):
            ctx.anomaly(path.name, no, f"CIP13 {cip13!r} invalide (clé EAN-13 fausse) : présentation ignorée")
            continue
        if cip13 in boxes:
            ctx.anomaly(path.name, no, f"CIP13 {cip13} en double : seconde ligne ignorée")
            continue
        if cis not in medicines:
            ctx.anomaly(path.name, no, f"CIP13 {cip13} : CIS {cis} absent de CIS_bdpm.txt", skipped=False)
        try:
            declared = parse_date(cols[5])
        except ValueError as exc:
            declared = None
            ctx.anomaly(path.name, no, f"CIP13 {cip13} : {exc} (date de déclaration ignorée)", skipped=False)
        try:
            rate = parse_rate(cols[8])
            price = parse_decimal(cols[9])
            price_with_fee = parse_decimal(cols[10])
            fee = parse_decimal(cols[11])
        except ValueError as exc:
            ctx.anomaly(path.name, no, f"CIP13 {cip13} : {exc} : présentation ignorée")
            continue
        collectivities = {"oui": True, "non": False}.get(cols[7].strip().lower())
        boxes[cip13] = {
            "cip7": cip7[:7], "cis": cis[:8], "label": cols[2].strip()[:400], "status": cols[3].strip()[:60],
            "marketing_state": cols[4].strip()[:100], "declaration_date": declared,
            "collectivities": collectivities, "indications": cols[12].strip(),
        }
        prices[cip13] = {
            "reimbursable": rate is not None, "rate_percent": rate, "price": price,
            "price_with_fee": price_with_fee, "dispensing_fee": fee,
        }
    ctx.add_file(path, len(boxes))
    return boxes, prices


def _generic_members(ctx: ImportContext, path: Path) -> list[dict[str, Any]]:
    members: dict[tuple[int, str], dict[str, Any]] = {}
    for _no, cols in tab_rows(path, ctx.anomaly, 5, _member_line):
        group_id, cis = int(cols[0]), cols[2].strip()
        members[(group_id, cis)] = {
            "group_id": group_id, "group_label": cols[1].strip()[:400], "cis": cis[:8],
            "generic_type": int(cols[3]), "sort_no": int(cols[4]) if cols[4].strip().isdigit() else 0,
        }
    ctx.add_file(path, len(members))
    return list(members.values())


def _compositions(ctx: ImportContext, path: Path) -> list[dict[str, Any]]:
    compo: list[dict[str, Any]] = []
    for _no, cols in tab_rows(path, ctx.anomaly, 8, _component_line):
        compo.append({
            "cis": cols[0].strip(), "element": cols[1].strip()[:200], "substance_code": cols[2].strip()[:10],
            "substance": cols[3].strip()[:400], "dosage": cols[4].strip()[:200],
            "dosage_reference": cols[5].strip()[:200], "nature": cols[6].strip()[:4],
            "link_no": int(cols[7]) if cols[7].strip().isdigit() else None,
        })
    ctx.add_file(path, len(compo))
    return compo
