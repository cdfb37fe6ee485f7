"""Importers of the reference files into the dated tables.

Each importer reads one dataset's files, reports every skipped or defective line
(``Anomaly``) and applies the release through two rules:

* ``apply_snapshot``: the release is the complete state at ``effective``: a row whose values
  changed is closed the day before and a new one opened; a code absent from the release is
  closed; the first release of a stream opens its rows with ``valid_from = None`` (in force
  since before the first release we know of).
* ``apply_history``: the source carries its own validity dates (official LPP history,
  NGAP letter-key configuration): missing periods are added, open periods are closed when the
  source closes them, and a period whose amounts differ from what is stored is reported,
  never overwritten.

The same release imported twice changes nothing. Importers only flush: the caller (the
``import_reference`` service) commits.
"""

from __future__ import annotations

import csv
import io
import json
import re
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.orm import Session

from amelipro.db import utcnow
from amelipro.reference import models as m
from amelipro.reference.parsing import (
    Anomaly,
    decode_bytes,
    ean13_valid,
    fold,
    parse_date,
    parse_decimal,
    parse_rate,
    read_dbf,
    read_lines,
    sha256_of,
)

PACKAGE_DATA = Path(__file__).resolve().parent / "data"
DEMO_DIR = PACKAGE_DATA / "demo"
NGAP_KEYS_FILE = PACKAGE_DATA / "ngap_letter_keys.csv"

DATASETS = ("bdpm", "ccam", "ngap", "lpp", "ehpad")


@dataclass
class ImportContext:
    session: Session
    run: m.ImportRun
    anomalies: list[Anomaly] = field(default_factory=list)
    files: list[dict[str, Any]] = field(default_factory=list)
    created: int = 0
    changed: int = 0
    closed: int = 0
    unchanged: int = 0

    def anomaly(self, file: str, line: int, reason: str, skipped: bool = True) -> None:
        self.anomalies.append(Anomaly(file, line, reason, skipped))

    def add_file(self, path: Path, rows: int) -> None:
        self.files.append({"name": path.name, "sha256": sha256_of(path), "bytes": path.stat().st_size,
                           "rows": rows})

    def finish(self, status: str = "done") -> m.ImportRun:
        run = self.run
        run.created, run.changed, run.closed, run.unchanged = self.created, self.changed, self.closed, self.unchanged
        run.skipped = sum(1 for a in self.anomalies if a.skipped)
        run.anomalies = json.dumps([a.as_dict() for a in self.anomalies], ensure_ascii=False)
        run.files = json.dumps(self.files, ensure_ascii=False)
        run.status = status
        run.finished_at = utcnow()
        self.session.flush()
        return run


def find_file(root: Path, name: str) -> Path | None:
    """``name`` directly under ``root`` or one directory below (the shared layout)."""
    candidates = [root / name, *sorted(root.glob(f"*/{name}"))]
    for path in candidates:
        if path.is_file():
            return path
    return None


def find_glob(root: Path, pattern: str) -> Path | None:
    """Case-insensitive glob at ``root`` or one level below; the last match in name order."""
    regex = re.compile(pattern.replace(".", r"\.").replace("*", ".*") + "$", re.IGNORECASE)
    matches = [p for p in [*root.iterdir(), *(q for d in root.iterdir() if d.is_dir() for q in d.iterdir())]
               if p.is_file() and regex.match(p.name)] if root.is_dir() else []
    return sorted(matches, key=lambda p: p.name)[-1] if matches else None


# ---------------------------------------------------------------- dated rows


def apply_snapshot(
    ctx: ImportContext,
    model: type,
    stream: str,
    key: str,
    rows: dict[str, dict[str, Any]],
    fields: tuple[str, ...],
    effective: date,
    close_missing: bool = True,
) -> None:
    session = ctx.session
    key_col = getattr(model, key)
    first_release = session.scalar(select(func.count()).select_from(model).where(model.stream == stream)) == 0
    cols = [model.id, key_col, model.valid_from, *(getattr(model, f) for f in fields)]
    open_rows = {
        r[1]: r for r in session.execute(select(*cols).where(model.stream == stream, model.valid_to.is_(None)))
    }
    if open_rows and close_missing:
        missing = sum(1 for code in open_rows if code not in rows)
        if not rows or (missing > 100 and missing * 2 > len(open_rows)):
            # An empty or truncated file would close most codes: refuse the release instead.
            raise ValueError(f"{stream} : la version retirerait {missing} codes sur {len(open_rows)} "
                             "(fichier vide ou tronqué ?) : import refusé")
    inserts: list[dict[str, Any]] = []
    closes: list[dict[str, Any]] = []
    start = None if first_release else effective
    for code, values in rows.items():
        current = open_rows.get(code)
        if current is None:
            inserts.append({key: code, "stream": stream, "valid_from": start, "run_id": ctx.run.id, **values})
            ctx.created += 1
            continue
        if tuple(current[3:]) == tuple(values[f] for f in fields):
            ctx.unchanged += 1
            continue
        if current[2] is not None and effective <= current[2]:
            ctx.anomaly(stream, 0, f"{code} : version du {effective:%d/%m/%Y} antérieure à la valeur en vigueur "
                                   f"depuis le {current[2]:%d/%m/%Y}, ignorée")
            continue
        closes.append({"id": current[0], "valid_to": effective - timedelta(days=1), "closed_run_id": ctx.run.id})
        inserts.append({key: code, "stream": stream, "valid_from": effective, "run_id": ctx.run.id, **values})
        ctx.changed += 1
    if close_missing:
        for code, current in open_rows.items():
            if code not in rows:
                if current[2] is not None and effective <= current[2]:
                    continue
                closes.append({"id": current[0], "valid_to": effective - timedelta(days=1),
                               "closed_run_id": ctx.run.id})
                ctx.closed += 1
    if closes:
        session.execute(update(model), closes)
    if inserts:
        session.execute(insert(model), inserts)


def apply_history(
    ctx: ImportContext,
    model: type,
    stream: str,
    key: str,
    periods: list[dict[str, Any]],
    fields: tuple[str, ...],
) -> None:
    """``periods``: dicts with key, valid_from, valid_to and ``fields``."""
    session = ctx.session
    key_col = getattr(model, key)
    cols = [model.id, key_col, model.valid_from, model.valid_to, *(getattr(model, f) for f in fields)]
    stored = {(r[1], r[2]): r for r in session.execute(select(*cols).where(model.stream == stream))}
    inserts, closes = [], []
    for period in periods:
        ident = (period[key], period["valid_from"])
        current = stored.get(ident)
        if current is None:
            inserts.append({"stream": stream, "run_id": ctx.run.id, **period})
            ctx.created += 1
            continue
        if tuple(current[4:]) != tuple(period[f] for f in fields):
            ctx.anomaly(stream, 0, f"{period[key]} : la période du {_fmt(period['valid_from'])} a changé dans la "
                                   "source ; valeurs enregistrées conservées", skipped=True)
            continue
        if current[3] is None and period["valid_to"] is not None:
            closes.append({"id": current[0], "valid_to": period["valid_to"], "closed_run_id": ctx.run.id})
            ctx.closed += 1
        else:
            ctx.unchanged += 1
    if closes:
        session.execute(update(model), closes)
    if inserts:
        session.execute(insert(model), inserts)


def _fmt(d: date | None) -> str:
    return d.strftime("%d/%m/%Y") if d else "début"


def upsert_descriptive(
    ctx: ImportContext, model: type, key: str, rows: dict[str, dict[str, Any]], count: bool = False
) -> tuple[int, int]:
    """Insert new codes, update changed descriptions (labels are not dated). Returns (new, updated)."""
    session = ctx.session
    names = list(next(iter(rows.values())).keys()) if rows else []
    cols = [model.id, getattr(model, key), *(getattr(model, n) for n in names)]
    existing = {r[1]: r for r in session.execute(select(*cols))}
    inserts, updates = [], []
    for code, values in rows.items():
        current = existing.get(code)
        if current is None:
            inserts.append({key: code, **values})
        elif tuple(current[2:]) != tuple(values[n] for n in names):
            updates.append({"id": current[0], **values})
    if updates:
        session.execute(update(model), updates)
    if inserts:
        session.execute(insert(model), inserts)
    if count:
        ctx.created += len(inserts)
        ctx.changed += len(updates)
    return len(inserts), len(updates)


def replace_set(ctx: ImportContext, model: type, rows: list[dict[str, Any]], names: tuple[str, ...]) -> None:
    """Replace a whole descriptive table when its content differs (compositions, groups).

    Counted as rows created when the table was empty, else as one change of the table.
    """
    session = ctx.session
    current = sorted(tuple(r) for r in session.execute(select(*(getattr(model, n) for n in names))))
    wanted = sorted(tuple(r[n] for n in names) for r in rows)
    if current == wanted:
        ctx.unchanged += 1
        return
    session.execute(delete(model))
    if rows:
        session.execute(insert(model), rows)
    if current:
        ctx.changed += 1
    else:
        ctx.created += len(rows)


# ---------------------------------------------------------------- BDPM


def _split(line: str) -> list[str]:
    return line.rstrip("\r\n").split("\t")


def import_bdpm(ctx: ImportContext, root: Path, effective: date) -> None:
    """CIS_bdpm, CIS_CIP_bdpm (dated prices), CIS_GENER_bdpm, CIS_COMPO_bdpm."""
    paths = {name: find_file(root, name) for name in
             ("CIS_bdpm.txt", "CIS_CIP_bdpm.txt", "CIS_GENER_bdpm.txt", "CIS_COMPO_bdpm.txt")}
    missing = [n for n, p in paths.items() if p is None]
    if paths["CIS_bdpm.txt"] is None or paths["CIS_CIP_bdpm.txt"] is None:
        raise FileNotFoundError(", ".join(missing))
    for name in missing:
        ctx.anomaly(name, 0, "fichier absent de la version : non importé", skipped=False)

    # Specialities
    path = paths["CIS_bdpm.txt"]
    lines, _enc = read_lines(path)
    medicines: dict[str, dict[str, Any]] = {}
    for no, line in enumerate(lines, 1):
        if not line.strip():
            continue
        cols = _split(line)
        if len(cols) < 11 or not re.fullmatch(r"\d{8}", cols[0].strip()):
            ctx.anomaly(path.name, no, f"ligne illisible ({len(cols)} colonnes)")
            continue
        cols += [""] * (12 - len(cols))
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
    new, updated = upsert_descriptive(ctx, m.Medicine, "cis", medicines)

    # Boxes and their prices
    path = paths["CIS_CIP_bdpm.txt"]
    lines, _enc = read_lines(path)
    boxes: dict[str, dict[str, Any]] = {}
    prices: dict[str, dict[str, Any]] = {}
    for no, line in enumerate(lines, 1):
        if not line.strip():
            continue
        cols = _split(line)
        if len(cols) < 12:
            ctx.anomaly(path.name, no, f"ligne illisible ({len(cols)} colonnes)")
            continue
        cols += [""] * (13 - len(cols))
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
    box_new, box_updated = upsert_descriptive(ctx, m.MedicineBox, "cip13", boxes)
    apply_snapshot(ctx, m.MedicinePrice, "bdpm", "cip13", prices,
                   ("reimbursable", "rate_percent", "price", "price_with_fee", "dispensing_fee"), effective)

    # Generic groups
    path = paths["CIS_GENER_bdpm.txt"]
    if path is not None:
        lines, _enc = read_lines(path)
        members: dict[tuple[int, str], dict[str, Any]] = {}
        for no, line in enumerate(lines, 1):
            if not line.strip():
                continue
            cols = _split(line)
            if len(cols) < 4 or not cols[0].strip().isdigit() or not cols[3].strip().isdigit():
                ctx.anomaly(path.name, no, f"ligne illisible ({len(cols)} colonnes)")
                continue
            group_id, cis = int(cols[0]), cols[2].strip()
            members[(group_id, cis)] = {
                "group_id": group_id, "group_label": cols[1].strip()[:400], "cis": cis[:8],
                "generic_type": int(cols[3]),
                "sort_no": int(cols[4]) if len(cols) > 4 and cols[4].strip().isdigit() else 0,
            }
        ctx.add_file(path, len(members))
        replace_set(ctx, m.GenericMember, list(members.values()),
                    ("group_id", "group_label", "cis", "generic_type", "sort_no"))

    # Compositions
    path = paths["CIS_COMPO_bdpm.txt"]
    if path is not None:
        lines, _enc = read_lines(path)
        compo: list[dict[str, Any]] = []
        for no, line in enumerate(lines, 1):
            if not line.strip():
                continue
            cols = _split(line)
            if len(cols) < 7 or not re.fullmatch(r"\d{8}", cols[0].strip()):
                ctx.anomaly(path.name, no, f"ligne illisible ({len(cols)} colonnes)")
                continue
            cols += [""] * (8 - len(cols))
            compo.append({
                "cis": cols[0].strip(), "element": cols[1].strip()[:200], "substance_code": cols[2].strip()[:10],
                "substance": cols[3].strip()[:400], "dosage": cols[4].strip()[:200],
                "dosage_reference": cols[5].strip()[:200], "nature": cols[6].strip()[:4],
                "link_no": int(cols[7]) if cols[7].strip().isdigit() else None,
            })
        ctx.add_file(path, len(compo))
        replace_set(ctx, m.Composition, compo,
                    ("cis", "element", "substance_code", "substance", "dosage", "dosage_reference",
                     "nature", "link_no"))
    # New boxes are counted through their price rows (apply_snapshot); new specialities and
    # changed descriptions are counted here.
    ctx.created += new
    ctx.changed += updated + box_updated


# ---------------------------------------------------------------- CCAM

_CCAM_CODE = re.compile(r"^[A-Z]{4}[0-9]{3}$")
_CCAM_TITLE = re.compile(r"version\s+(\d+).*?applicable\s+(\d{2}/\d{2}/\d{4})", re.IGNORECASE)


def import_ccam(ctx: ImportContext, root: Path, effective: date | None) -> date:
    path = find_file(root, "ccam.csv")
    if path is None:
        raise FileNotFoundError("ccam.csv")
    text, _enc = decode_bytes(path.read_bytes())
    reader = csv.reader(io.StringIO(text))
    acts: dict[str, dict[str, Any]] = {}
    tariffs: dict[str, dict[str, Any]] = {}
    release_date = None
    for no, row in enumerate(reader, 1):
        if no == 1 and row:
            match = _CCAM_TITLE.search(row[0])
            if match:
                ctx.run.release = row[0].strip()[:200]
                release_date = parse_date(match.group(2))
            continue
        if not row or not _CCAM_CODE.match(row[0].strip()):
            continue
        row += [""] * (11 - len(row))
        code = row[0].strip()
        if row[3].strip() not in ("1", "") or row[4].strip() not in ("0", ""):
            continue  # other activities/phases carry their own tariffs (anesthesia): not the act's
        if code in acts:
            ctx.anomaly(path.name, no, f"{code} en double : seconde ligne ignorée")
            continue
        t1_raw, t2_raw = row[5].strip(), row[6].strip()
        not_covered = "non pris en charge" in (t1_raw + t2_raw).lower()
        try:
            t1 = None if not_covered else parse_decimal(t1_raw)
            t2 = None if not_covered else parse_decimal(t2_raw)
        except ValueError as exc:
            ctx.anomaly(path.name, no, f"{code} : {exc} : tarif ignoré", skipped=False)
            t1 = t2 = None
        acts[code] = {
            "kind": "ccam", "label": " ".join(row[2].split())[:1000], "grouping": row[10].strip()[:10],
            "conditional": row[7].strip().upper() == "RC", "prior_approval": row[8].strip().upper() == "AP",
            "exemption": row[9].strip()[:10], "not_covered": not_covered,
        }
        tariffs[code] = {"tariff": t1, "tariff_other_sector": t2, "note": ""}
    ctx.add_file(path, len(acts))
    eff = effective or release_date or date.today()
    ctx.run.effective_date = eff
    upsert_descriptive(ctx, m.Act, "code", acts)
    apply_snapshot(ctx, m.ActTariff, "ccam", "code", tariffs, ("tariff", "tariff_other_sector", "note"), eff)
    return eff


# ---------------------------------------------------------------- NGAP


def load_letter_keys(path: Path = NGAP_KEYS_FILE) -> list[dict[str, Any]]:
    """The dated letter-key values kept in the repository (``ngap_letter_keys.csv``)."""
    text, _enc = decode_bytes(path.read_bytes())
    out = []
    for row in csv.DictReader(io.StringIO(text)):
        confirmed = row["confirmed"].strip().lower() in ("yes", "oui", "1", "true")
        out.append({
            "code": row["key"].strip(), "label": row["label"].strip(),
            "valid_from": parse_date(row["valid_from"]), "valid_to": parse_date(row["valid_to"]),
            "tariff": parse_decimal(row["value"]),
            "note": (("" if confirmed else "valeur non confirmée — ") + row["source"].strip())[:400],
        })
    return out


def import_ngap(ctx: ImportContext, root: Path | None, keys_file: Path = NGAP_KEYS_FILE) -> None:
    codes: dict[str, dict[str, Any]] = {}
    path = find_file(root, "ngap.csv") if root else None
    if path is not None:
        text, _enc = decode_bytes(path.read_bytes())
        for no, row in enumerate(csv.DictReader(io.StringIO(text)), 2):
            code = (row.get("code") or "").strip().upper()
            if not re.fullmatch(r"[A-Z0-9]{1,6}", code):
                ctx.anomaly(path.name, no, f"code {code!r} illisible")
                continue
            codes[code] = {"kind": "ngap", "label": (row.get("description") or "").strip()[:1000]}
        ctx.add_file(path, len(codes))
    keys = load_letter_keys(keys_file)
    ctx.add_file(keys_file, len(keys))
    for key in keys:
        codes.setdefault(key["code"], {"kind": "ngap", "label": key["label"]})
    _upsert_acts(ctx, codes)
    periods = [{"code": k["code"], "valid_from": k["valid_from"], "valid_to": k["valid_to"],
                "tariff": k["tariff"], "tariff_other_sector": None, "note": k["note"]} for k in keys]
    apply_history(ctx, m.ActTariff, "ngap", "code", periods, ("tariff", "tariff_other_sector", "note"))


def _upsert_acts(ctx: ImportContext, codes: dict[str, dict[str, Any]]) -> None:
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


# ---------------------------------------------------------------- LPP

_LPP_VERSION_DATE = re.compile(r"(\d{2}[-/]\d{2}[-/]\d{4})")
LPP_STREAMS = ("lpp.official", "lpp.tariffs", "lpp.json")  # priority order for lookups


def import_lpp(ctx: ImportContext, root: Path, effective: date | None) -> None:
    fiche = find_glob(root, "lpp_fiche_tot*.dbf")
    histo = find_glob(root, "lpp_histo_tot*.dbf")
    json_codes = find_file(root, "lpp.json")
    prestations = find_file(root, "lppr-prestations.json")
    devices = find_file(root, "device-lpp.json")
    if not any((fiche, json_codes, prestations, devices)):
        raise FileNotFoundError("lpp_fiche_tot*.dbf, lpp.json")
    codes: dict[str, dict[str, Any]] = {}
    eff = effective

    if json_codes is not None:
        data = json.loads(decode_bytes(json_codes.read_bytes())[0])
        titres = data.get("titres", [])
        match = _LPP_VERSION_DATE.search(data.get("version", ""))
        version_date = parse_date(match.group(1)) if match else None
        ctx.run.release = (data.get("version") or "")[:200]
        rows: dict[str, dict[str, Any]] = {}
        for no, item in enumerate(data.get("acts", []), 1):
            try:
                code, label, titre_index = str(item[0]).strip(), str(item[1]), int(item[2])
            except (IndexError, TypeError, ValueError):
                ctx.anomaly(json_codes.name, no, "entrée illisible")
                continue
            if not re.fullmatch(r"\d{7}", code):
                ctx.anomaly(json_codes.name, no, f"code LPP {code!r} invalide")
                continue
            titre = titres[titre_index] if 0 <= titre_index < len(titres) else ""
            codes[code] = {"label": _clean_label(label), "titre": titre[:300], "category": ""}
            rows[code] = {"tariff": None, "plv": None, "max_quantity": None, "unit": ""}
        ctx.add_file(json_codes, len(rows))
        json_eff = eff or version_date or date.today()
        apply_snapshot(ctx, m.LppTariff, "lpp.json", "code", rows, ("tariff", "plv", "max_quantity", "unit"),
                       json_eff)
        eff = eff or version_date

    tariff_rows: dict[str, dict[str, Any]] = {}
    tariff_date = None
    for path in (prestations, devices):
        if path is None:
            continue
        data = json.loads(decode_bytes(path.read_bytes())[0])
        updated = parse_date(str(data.get("lastUpdated", ""))) if data.get("lastUpdated") else None
        tariff_date = max(filter(None, (tariff_date, updated)), default=None)
        items = data.get("products") or [
            {"code": v.get("code"), "label": f"Code mère {k}", "tarif": v.get("tarif"), "category": "VPH"}
            for k, v in (data.get("byType") or {}).items()
        ]
        count = 0
        for no, item in enumerate(items, 1):
            code = str(item.get("code") or "").strip()
            if not re.fullmatch(r"\d{7}", code):
                ctx.anomaly(path.name, no, f"code LPP {code!r} invalide")
                continue
            try:
                tariff = parse_decimal(str(item.get("tarif"))) if item.get("tarif") is not None else None
            except ValueError as exc:
                ctx.anomaly(path.name, no, f"{code} : {exc}")
                continue
            if code in tariff_rows and tariff_rows[code]["tariff"] != tariff:
                ctx.anomaly(path.name, no, f"{code} : tarif différent d'un autre fichier, premier conservé")
                continue
            tariff_rows[code] = {"tariff": tariff, "plv": None, "max_quantity": None,
                                 "unit": str(item.get("unit") or "")[:40]}
            if code not in codes:
                codes[code] = {"label": _clean_label(str(item.get("label") or f"Code LPP {code}")),
                               "titre": "", "category": str(item.get("category") or "")[:200]}
            else:
                codes[code]["category"] = str(item.get("category") or "")[:200]
            count += 1
        ctx.add_file(path, count)
    if tariff_rows:
        apply_snapshot(ctx, m.LppTariff, "lpp.tariffs", "code", tariff_rows,
                       ("tariff", "plv", "max_quantity", "unit"), effective or tariff_date or date.today())

    if fiche is not None:
        _import_lpp_official(ctx, fiche, histo, codes)

    ctx.run.effective_date = eff or tariff_date
    upsert_descriptive(ctx, m.LppCode, "code", codes)


def _clean_label(label: str) -> str:
    import html

    return " ".join(html.unescape(label).split())[:600]


def _import_lpp_official(ctx: ImportContext, fiche: Path, histo: Path | None, codes: dict[str, dict[str, Any]]) -> None:
    """The CNAM release: lpp_fiche_tot (codes) and lpp_histo_tot (dated tariffs)."""
    fields, records = read_dbf(fiche)
    names = {f.name for f in fields}
    if "CODE_TIPS" not in names:
        raise ValueError(f"{fiche.name} : colonne CODE_TIPS absente")
    end_dates: dict[str, date | None] = {}
    count = 0
    for no, rec in enumerate(records, 1):
        code = str(rec.get("CODE_TIPS") or "").strip()
        if not re.fullmatch(r"\d{7}", code):
            ctx.anomaly(fiche.name, no, f"code LPP {code!r} invalide")
            continue
        end = rec.get("DATE_FIN")
        if end is not None and not isinstance(end, date):
            ctx.anomaly(fiche.name, no, f"{code} : date de fin {end!r} illisible", skipped=False)
            end = None
        end_dates[code] = end
        arbo = " > ".join(str(rec.get(f"ARBO{i}") or "").strip() for i in range(1, 4) if rec.get(f"ARBO{i}"))
        previous = codes.get(code, {})
        codes[code] = {"label": _clean_label(str(rec.get("NOM_COURT") or previous.get("label") or code)),
                       "titre": previous.get("titre") or arbo[:300], "category": previous.get("category", "")}
        count += 1
    ctx.add_file(fiche, count)
    if histo is None:
        ctx.anomaly(fiche.name, 0, "lpp_histo_tot absent : aucun tarif officiel importé", skipped=False)
        return
    fields, records = read_dbf(histo)
    periods: list[dict[str, Any]] = []
    count = 0
    for no, rec in enumerate(records, 1):
        code = str(rec.get("CODE_TIPS") or "").strip()
        if code not in end_dates:
            ctx.anomaly(histo.name, no, f"code LPP {code!r} absent de lpp_fiche_tot")
            continue
        start, end = rec.get("DEBUTVALID"), rec.get("FINHISTO")
        if not isinstance(start, date) or (end is not None and not isinstance(end, date)):
            ctx.anomaly(histo.name, no, f"{code} : dates de validité illisibles ({start!r}, {end!r})")
            continue
        if end is not None and end < start:
            ctx.anomaly(histo.name, no, f"{code} : fin {end} avant début {start}")
            continue
        tariff = rec.get("TARIF")
        plv = rec.get("PUREGLEMEN")
        qmax = rec.get("QTE_MAX")
        if any(v is not None and not isinstance(v, Decimal) for v in (tariff, plv, qmax)):
            ctx.anomaly(histo.name, no, f"{code} : montant illisible")
            continue
        periods.append({
            "code": code, "valid_from": start, "valid_to": end,
            # In the official file a zero amount means "none": a tariff is never 0 €.
            "tariff": tariff.quantize(Decimal("0.01")) if tariff else None,
            "plv": plv.quantize(Decimal("0.01")) if plv else None,
            "max_quantity": int(qmax) if qmax else None, "unit": "",
        })
        count += 1
    ctx.add_file(histo, count)
    apply_history(ctx, m.LppTariff, "lpp.official", "code", periods, ("tariff", "plv", "max_quantity", "unit"))


# ---------------------------------------------------------------- EHPAD


def parse_ehpad_annex(text: str) -> list[dict[str, Any]]:
    """Categories of the annex: part I / II, position, label, condition."""
    part = None
    out: list[dict[str, Any]] = []
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        head = re.match(r"^(II|I)\s*\.?\s*-\s*(.+)$", line)
        if head:
            part = head.group(1)
            continue
        if part is None:
            continue
        label = line.rstrip(".")
        condition = ""
        marker = " sauf si le matériel est compris dans la rémunération de l'acte"
        if marker in label:
            label, condition = label.replace(marker, ""), marker.strip()
        out.append({"part": part, "position": len(out) + 1, "label": label.strip()[:400],
                    "condition": condition[:200]})
    return out


# Seed rules: (category label, regular expression on the folded LPP label, excluded words).
# Each rule names why a code matches; an operator reviews, adds and removes mappings.
EHPAD_RULES: tuple[tuple[str, str, str], ...] = (
    ("Compresseur pour surmatelas pneumatique à pression alternée", r"\bcompresseur\b", ""),
    ("Lit médical et accessoires", r"^lits?\b|\blits? medica", ""),
    ("Déambulateur", r"\bdeambulateur", ""),
    ("Soulève-malade mécanique ou électrique", r"\bsouleve[- ]?malade|\bleve[- ]?personne", ""),
    ("Fauteuil roulant à pousser ou manuel non affecté à un résident particulier pour un handicap particulier",
     r"\bfauteuil roulant\b.*\b(manuel|a pousser)\b|\bcode mere (frm|fmp)\b|\blcd\b.*\bfmp\b", r"electri"),
    ("Béquille et canne anglaise", r"\bcannes? anglaise|\bbequilles? (axillaire|d.appui)", ""),
    ("Coussin d'aide à la prévention d'escarres", r"(?=.*\bescarre)(?=.*\bcoussin)", ""),
    ("Matelas simple, matelas ou surmatelas d'aide à la prévention d'escarres et accessoires de protection du "
     "matelas ou surmatelas", r"\b(matelas|surmatelas)\b", ""),
    ("Chaise percée avec accoudoirs", r"\bchaise percee", ""),
    ("Appareil de verticalisation", r"\bverticalisation\b", r"\bvph\b"),
    ("Appareil de mesure pour glycémie", r"(?=.*\bglycemie)(?=.*\b(appareil|app|lecteur|lecture)\b)", ""),
    ("Dispositif médical pour autocontrôle (urine, sang)", r"\bautocontrole|\bautosurv", ""),
    ("Articles pour pansements", r"\bpansements?\b|\bcompresses?\b", ""),
    ("Sonde vésicale pour hétérosondage intermittent", r"\bsondes? vesic\w* intermit", ""),
    ("Dispositif médical pour incontinence urinaire à l'exclusion des stomies", r"\bincontinence\b",
     r"\bstomie"),
    ("Appareil générateur d'aérosol et nébuliseur associé", r"\bnebuliseur|\bgenerateur d.aerosol", ""),
    ("Pompe pour nutrition entérale", r"\bpompe\b.*\bnutrition|\bnutrition enterale\b.*\bpompe", ""),
    ("Bande de crêpe et de contention", r"\bbandes? (de )?(crepe|contention)", ""),
    ("Seringue et aiguille", r"\bseringues?\b|\baiguilles?\b", r"\bstylo|insuline"),
    ("Sondes naso-gastriques ou naso-entérale", r"\bsondes?\b.*\bnaso[- ]?(gastrique|jejunale|enterale)", ""),
    ("Nutriment pour supplémentation orale et nutriment pour supplémentation entérale",
     r"\bnutriment|\bcomplement nutritionnel oral|^nut\b\.?\s*(orale|enterale)\b", r"\bsans gluten"),
    ("Siège pouvant être adapté sur un châssis à roulettes", r"\bsiege\b.*\bchassis", ""),
)


def ehpad_match(label: str, titre: str, rules=EHPAD_RULES) -> tuple[str, str] | None:
    """(category label, reason) for an LPP label, or None."""
    text = fold(label)
    for category, pattern, exclude in rules:
        if re.search(pattern, text) and not (exclude and re.search(exclude, text)):
            return category, f"libellé LPP « {label[:120]} » ~ /{pattern}/ (appariement automatique)"
    return None


def import_ehpad(ctx: ImportContext, root: Path | None) -> None:
    path = find_file(root, "article-annexe.md") if root else None
    if path is None:
        if ctx.session.scalar(select(m.EhpadCategory.id).limit(1)) is not None:
            # No annex in this source: keep the categories, map the LPP codes imported since.
            ctx.run.release = "Codes LPP rattachés aux catégories déjà importées"
            seed_ehpad_mappings(ctx)
            return
        path = DEMO_DIR / "ehpad_dm_forfait_soins" / "article-annexe.md"
    categories = parse_ehpad_annex(decode_bytes(path.read_bytes())[0])
    ctx.add_file(path, len(categories))
    session = ctx.session
    existing = {c.label: c for c in session.scalars(select(m.EhpadCategory))}
    for cat in categories:
        row = existing.get(cat["label"])
        if row is None:
            session.add(m.EhpadCategory(**cat))
            ctx.created += 1
        elif (row.part, row.position, row.condition) != (cat["part"], cat["position"], cat["condition"]):
            row.part, row.position, row.condition = cat["part"], cat["position"], cat["condition"]
            ctx.changed += 1
        else:
            ctx.unchanged += 1
    session.flush()
    seed_ehpad_mappings(ctx)


def seed_ehpad_mappings(ctx: ImportContext) -> int:
    """Map LPP codes to categories by label; never re-adds a mapping an operator removed."""
    session = ctx.session
    by_label = {fold(c.label): c.id for c in session.scalars(select(m.EhpadCategory))}
    if not by_label:
        return 0
    mapped = set(session.scalars(select(m.EhpadMapping.lpp_code)))
    rules = tuple(r for r in EHPAD_RULES if fold(r[0]) in by_label or any(
        k.startswith(fold(r[0])) for k in by_label))
    added = []
    for code, label, titre in session.execute(select(m.LppCode.code, m.LppCode.label, m.LppCode.titre)):
        if code in mapped or re.match(r"^titre (ii|iii|v)\b", fold(titre or "")):
            continue  # implants, orthoses and invasive devices are not in the care package
        hit = ehpad_match(label, titre, rules)
        if hit is None:
            continue
        cat_id = by_label.get(fold(hit[0])) or next(v for k, v in by_label.items() if k.startswith(fold(hit[0])))
        added.append({"lpp_code": code, "category_id": cat_id, "reason": hit[1][:400], "origin": "auto",
                      "created_at": utcnow(), "created_by": "import"})
    if added:
        session.execute(insert(m.EhpadMapping), added)
        ctx.created += len(added)
    return len(added)

