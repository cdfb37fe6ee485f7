"""CCAM (technical acts): ``ccam.csv``, the act rows with their two tariffs.

The title row names the version and the date it applies from (« version 81 … applicable
01/01/2026 »), the release's effective date unless one is given.
"""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path
from typing import Any

from amelipro.clock import paris_today
from amelipro.reference import models as m
from amelipro.reference.importers.files import csv_rows, find_file
from amelipro.reference.importers.release import ImportContext, apply_snapshot, upsert_descriptive
from amelipro.reference.parsing import parse_date, parse_decimal

FILE = "ccam.csv"
_CCAM_CODE = re.compile(r"^[A-Z]{4}[0-9]{3}$")
_CCAM_TITLE = re.compile(r"version\s+(\d+).*?applicable\s+(\d{2}/\d{2}/\d{4})", re.IGNORECASE)


def present(root: Path) -> bool:
    return find_file(root, FILE) is not None


def import_ccam(ctx: ImportContext, root: Path, effective: date | None) -> None:
    path = find_file(root, FILE)
    if path is None:
        raise FileNotFoundError(FILE)
    acts: dict[str, dict[str, Any]] = {}
    tariffs: dict[str, dict[str, Any]] = {}
    release_date = None
    for no, row in csv_rows(path):
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
    eff = effective or release_date or paris_today()
    ctx.run.effective_date = eff
    upsert_descriptive(ctx, m.Act, "code", acts)
    apply_snapshot(ctx, m.ActTariff, "ccam", "code", tariffs, ("tariff", "tariff_other_sector", "note"), eff)
