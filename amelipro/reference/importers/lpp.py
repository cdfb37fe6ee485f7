"""LPP (devices): the CNAM official release (dBase ``lpp_fiche_tot*.dbf`` and
``lpp_histo_tot*.dbf``, dated tariffs) and the JSON extracts (``lpp.json``: the code list
without tariffs; ``lppr-prestations.json`` and ``device-lpp.json``: tariffs).

Each source feeds its own stream of ``LppTariff`` rows; ``LPP_STREAMS`` is the order in which
a lookup prefers them.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Iterable, Iterator
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

from amelipro.clock import paris_today
from amelipro.reference import models as m
from amelipro.reference.importers.files import find_file, find_glob, read_text
from amelipro.reference.importers.release import (
    ImportContext,
    apply_history,
    apply_snapshot,
    upsert_descriptive,
)
from amelipro.reference.parsing import parse_date, parse_decimal, read_dbf

LPP_STREAMS = ("lpp.official", "lpp.tariffs", "lpp.json")  # priority order for lookups
TARIFF_FIELDS = ("tariff", "plv", "max_quantity", "unit")
_LPP_CODE = re.compile(r"\d{7}")
_LPP_VERSION_DATE = re.compile(r"(\d{2}[-/]\d{2}[-/]\d{4})")


def present(root: Path) -> bool:
    return bool(find_file(root, "lpp.json") or find_file(root, "lppr-prestations.json")
                or find_glob(root, "lpp_fiche_tot*.dbf"))


def import_lpp(ctx: ImportContext, root: Path, effective: date | None) -> None:
    fiche = find_glob(root, "lpp_fiche_tot*.dbf")
    histo = find_glob(root, "lpp_histo_tot*.dbf")
    json_codes = find_file(root, "lpp.json")
    prestations = find_file(root, "lppr-prestations.json")
    devices = find_file(root, "device-lpp.json")
    if not any((fiche, json_codes, prestations, devices)):
        raise FileNotFoundError("lpp_fiche_tot*.dbf, lpp.json")
    codes: dict[str, dict[str, Any]] = {}
    version_date = None
    if json_codes is not None:
        version_date = _import_code_list(ctx, json_codes, effective, codes)
    tariff_date = _import_extract_tariffs(ctx, [p for p in (prestations, devices) if p is not None], effective,
                                          codes)
    if fiche is not None:
        _import_official(ctx, fiche, histo, codes)
    ctx.run.effective_date = effective or version_date or tariff_date
    upsert_descriptive(ctx, m.LppCode, "code", codes)


def _with_code(
    ctx: ImportContext, path: Path, records: Iterable[dict[str, Any]], field: str
) -> Iterator[tuple[int, str, dict[str, Any]]]:
    """(number from 1, code, record) of the records whose ``field`` is an LPP code; the others
    are reported."""
    for no, record in enumerate(records, 1):
        code = str(record.get(field) or "").strip()
        if not _LPP_CODE.fullmatch(code):
            ctx.anomaly(path.name, no, f"code LPP {code!r} invalide")
            continue
        yield no, code, record


def _clean_label(label: str) -> str:
    return " ".join(html.unescape(label).split())[:600]


def _import_code_list(
    ctx: ImportContext, path: Path, effective: date | None, codes: dict[str, dict[str, Any]]
) -> date | None:
    """``lpp.json``: codes, labels and titles, no tariff. Returns the version's date."""
    data = json.loads(read_text(path))
    titres = data.get("titres", [])
    match = _LPP_VERSION_DATE.search(data.get("version", ""))
    version_date = parse_date(match.group(1)) if match else None
    ctx.run.release = (data.get("version") or "")[:200]
    rows: dict[str, dict[str, Any]] = {}
    for no, item in enumerate(data.get("acts", []), 1):
        try:
            code, label, titre_index = str(item[0]).strip(), str(item[1]), int(item[2])
        except (IndexError, TypeError, ValueError):
            ctx.anomaly(path.name, no, "entrée illisible")
            continue
        if not _LPP_CODE.fullmatch(code):
            ctx.anomaly(path.name, no, f"code LPP {code!r} invalide")
            continue
        titre = titres[titre_index] if 0 <= titre_index < len(titres) else ""
        codes[code] = {"label": _clean_label(label), "titre": titre[:300], "category": ""}
        rows[code] = {"tariff": None, "plv": None, "max_quantity": None, "unit": ""}
    ctx.add_file(path, len(rows))
    apply_snapshot(ctx, m.LppTariff, "lpp.json", "code", rows, TARIFF_FIELDS,
                   effective or version_date or paris_today())
    return version_date


def _import_extract_tariffs(
    ctx: ImportContext, paths: list[Path], effective: date | None, codes: dict[str, dict[str, Any]]
) -> date | None:
    """``lppr-prestations.json`` and ``device-lpp.json`` (VPH tariffs). Returns their latest update."""
    tariff_rows: dict[str, dict[str, Any]] = {}
    tariff_date = None
    for path in paths:
        data = json.loads(read_text(path))
        updated = parse_date(str(data.get("lastUpdated", ""))) if data.get("lastUpdated") else None
        tariff_date = max(filter(None, (tariff_date, updated)), default=None)
        items = data.get("products") or [
            {"code": v.get("code"), "label": f"Code mère {k}", "tarif": v.get("tarif"), "category": "VPH"}
            for k, v in (data.get("byType") or {}).items()
        ]
        count = 0
        for no, code, item in _with_code(ctx, path, items, "code"):
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
        apply_snapshot(ctx, m.LppTariff, "lpp.tariffs", "code", tariff_rows, TARIFF_FIELDS,
                       effective or tariff_date or paris_today())
    return tariff_date


def _import_official(ctx: ImportContext, fiche: Path, histo: Path | None, codes: dict[str, dict[str, Any]]) -> None:
    """The CNAM release: lpp_fiche_tot (codes) and lpp_histo_tot (dated tariffs)."""
    fields, records = read_dbf(fiche)
    names = {f.name for f in fields}
    if "CODE_TIPS" not in names:
        raise ValueError(f"{fiche.name} : colonne CODE_TIPS absente")
    end_dates: dict[str, date | None] = {}
    count = 0
    for no, code, rec in _with_code(ctx, fiche, records, "CODE_TIPS"):
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
    apply_history(ctx, m.LppTariff, "lpp.official", "code", periods, TARIFF_FIELDS)
