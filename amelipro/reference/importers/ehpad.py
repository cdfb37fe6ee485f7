"""EHPAD care package list: the categories of the annex (``article-annexe.md``) and the LPP
codes mapped to them by rules on their labels (``EHPAD_RULES``), for an operator to review.
"""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy import insert, select

from amelipro.db import utcnow
from amelipro.reference import models as m
from amelipro.reference.importers.files import DEMO_DIR, find_file, read_text
from amelipro.reference.importers.release import ImportContext
from amelipro.reference.parsing import fold

RELEASE = "Annexe de l'arrêté du 26 avril 1999 (forfait soins EHPAD)"


def present(root: Path) -> bool:
    return True  # falls back to the demo annex


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


def import_ehpad(ctx: ImportContext, root: Path, effective: date | None) -> None:
    """``effective`` is not used: the mappings are not dated."""
    ctx.run.release = RELEASE
    path = find_file(root, "article-annexe.md")
    if path is None:
        if ctx.session.scalar(select(m.EhpadCategory.id).limit(1)) is not None:
            # No annex in this source: keep the categories, map the LPP codes imported since.
            ctx.run.release = "Codes LPP rattachés aux catégories déjà importées"
            seed_ehpad_mappings(ctx)
            return
        path = DEMO_DIR / "ehpad_dm_forfait_soins" / "article-annexe.md"
    categories = parse_ehpad_annex(read_text(path))
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


def seed_ehpad_mappings(ctx: ImportContext) -> None:
    """Map LPP codes to categories by label; never re-adds a mapping an operator removed."""
    session = ctx.session
    by_label = {fold(c.label): c.id for c in session.scalars(select(m.EhpadCategory))}
    if not by_label:
        return
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

