"""Read-only queries on the reference tables, every one answered *at a date*.

``SqlReferenceLookup`` implements ``amelipro.reference.facts.ReferenceLookup`` for the
FSE rules, pricing and liquidation. The ``*_detail`` functions feed the pages and the API.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import distinct, func, select
from sqlalchemy.orm import Session

from amelipro.reference import models as m
from amelipro.reference.facts import ActFact, LppFact, MedicineFact
from amelipro.reference.importers.lpp import LPP_STREAMS


def in_force(model, at: date):
    """SQL condition: the dated row is in force on ``at`` (bounds inclusive)."""
    return ((model.valid_from.is_(None)) | (model.valid_from <= at)) & (
        (model.valid_to.is_(None)) | (model.valid_to >= at)
    )


def _pick_lpp(rows: list[m.LppTariff]) -> m.LppTariff | None:
    """Among the rows in force, the most authoritative source with a tariff, else any."""
    if not rows:
        return None
    order = {s: i for i, s in enumerate(LPP_STREAMS)}
    rows = sorted(rows, key=lambda r: (r.tariff is None, order.get(r.stream, 99)))
    return rows[0]


def medicine_fact(cip13: str, name: str | None, label: str, price: m.MedicinePrice) -> MedicineFact:
    """The medicine fact of a box (its medicine's name, its label) at the price row in force."""
    return MedicineFact(
        cip13=cip13,
        name=f"{name or ''} — {label}".strip(" —"),
        reimbursable=price.reimbursable,
        rate_percent=price.rate_percent,
        price=price.price,
        dispensing_fee=price.dispensing_fee,
    )


def act_fact(act: m.Act, tariff: m.ActTariff | None) -> ActFact | None:
    """The act fact at the tariff row in force (None: none in force, for a CCAM code)."""
    if tariff is None and act.kind == "ccam":
        return None  # a CCAM code exists only while a release lists it
    return ActFact(
        code=act.code, kind=act.kind, label=act.label,
        tariff=tariff.tariff if tariff else None,
        tariff_other_sector=tariff.tariff_other_sector if tariff else None,
    )


def lpp_fact(code: str, label: str, tariff: m.LppTariff, ehpad: tuple[str | None, str | None]) -> LppFact:
    """The LPP fact at the tariff row chosen, with its EHPAD category and reason."""
    category, reason = ehpad
    return LppFact(
        code=code, label=label, tariff=tariff.tariff, plv=tariff.plv, max_quantity=tariff.max_quantity,
        ehpad_category=category, ehpad_reason=reason,
    )


@dataclass
class SqlReferenceLookup:
    """The reference lookup on the database (one session, read only)."""

    session: Session

    def medicine(self, cip13: str, at: date) -> MedicineFact | None:
        cip13 = (cip13 or "").strip()
        row = self.session.execute(
            select(m.MedicineBox.cip13, m.Medicine.name, m.MedicineBox.label, m.MedicinePrice)
            .join(m.MedicinePrice, m.MedicinePrice.cip13 == m.MedicineBox.cip13)
            .outerjoin(m.Medicine, m.Medicine.cis == m.MedicineBox.cis)
            .where(m.MedicineBox.cip13 == cip13, in_force(m.MedicinePrice, at))
            .order_by(m.MedicinePrice.valid_from.desc())
            .limit(1)
        ).first()
        if row is None:
            return None
        return medicine_fact(*row)

    def lpp(self, code: str, at: date) -> LppFact | None:
        code = (code or "").strip()
        tariff = _pick_lpp(list(self.session.scalars(
            select(m.LppTariff).where(m.LppTariff.code == code, in_force(m.LppTariff, at)))))
        if tariff is None:
            return None
        label = self.session.scalar(select(m.LppCode.label).where(m.LppCode.code == code)) or ""
        return lpp_fact(code, label, tariff, ehpad_of(self.session, code))

    def act(self, code: str, at: date) -> ActFact | None:
        code = (code or "").strip().upper()
        act = self.session.scalar(select(m.Act).where(m.Act.code == code))
        if act is None:
            return None
        tariff = self.session.scalar(
            select(m.ActTariff).where(m.ActTariff.code == code, in_force(m.ActTariff, at))
            .order_by(m.ActTariff.valid_from.desc()).limit(1)
        )
        return act_fact(act, tariff)


def ehpad_of(session: Session, lpp_code: str) -> tuple[str | None, str | None]:
    row = session.execute(
        select(m.EhpadCategory.label, m.EhpadMapping.reason)
        .join(m.EhpadCategory, m.EhpadCategory.id == m.EhpadMapping.category_id)
        .where(m.EhpadMapping.lpp_code == lpp_code, m.EhpadMapping.removed_at.is_(None))
        .order_by(m.EhpadMapping.id)
        .limit(1)
    ).first()
    return (row[0], row[1]) if row else (None, None)


# ---------------------------------------------------------------- page/API details


def _period(row) -> dict[str, Any]:
    return {
        "valid_from": row.valid_from.isoformat() if row.valid_from else None,
        "valid_to": row.valid_to.isoformat() if row.valid_to else None,
    }


def _money(value: Decimal | None) -> str | None:
    return None if value is None else f"{value:.2f}"


@dataclass(frozen=True)
class MedicineDetail:
    box: m.MedicineBox
    medicine: m.Medicine | None
    price: m.MedicinePrice | None  # in force at the date
    history: list[m.MedicinePrice]
    presentations: list[tuple[m.MedicineBox, m.MedicinePrice | None]]
    groups: list[dict[str, Any]]  # {group_id, label, type, members: [{cis, name, type}]}
    composition: list[m.Composition]
    at: date


GENERIC_TYPES = {0: "princeps", 1: "générique", 2: "générique par complémentarité posologique",
                 4: "générique substituable"}


def medicine_detail(session: Session, cip13: str, at: date) -> MedicineDetail | None:
    box = session.scalar(select(m.MedicineBox).where(m.MedicineBox.cip13 == cip13))
    if box is None:
        return None
    medicine = session.scalar(select(m.Medicine).where(m.Medicine.cis == box.cis))
    history = list(session.scalars(select(m.MedicinePrice).where(m.MedicinePrice.cip13 == cip13)
                                   .order_by(m.MedicinePrice.valid_from.is_(None).desc(),
                                             m.MedicinePrice.valid_from)))
    price = next((p for p in history if _covers(p, at)), None)
    siblings = list(session.scalars(select(m.MedicineBox).where(m.MedicineBox.cis == box.cis)
                                    .order_by(m.MedicineBox.cip13)))
    sibling_prices = {p.cip13: p for p in session.scalars(
        select(m.MedicinePrice).where(m.MedicinePrice.cip13.in_([s.cip13 for s in siblings]),
                                      in_force(m.MedicinePrice, at)))}
    groups = []
    for member in session.scalars(select(m.GenericMember).where(m.GenericMember.cis == box.cis)):
        rows = session.execute(
            select(m.GenericMember, m.Medicine.name)
            .outerjoin(m.Medicine, m.Medicine.cis == m.GenericMember.cis)
            .where(m.GenericMember.group_id == member.group_id)
            .order_by(m.GenericMember.generic_type, m.GenericMember.sort_no)
        ).all()
        groups.append({
            "group_id": member.group_id, "label": member.group_label, "type": member.generic_type,
            "type_label": GENERIC_TYPES.get(member.generic_type, str(member.generic_type)),
            "members": [{"cis": g.cis, "name": name or f"CIS {g.cis} (absent de la BDPM importée)", "type": g.generic_type,
                         "type_label": GENERIC_TYPES.get(g.generic_type, str(g.generic_type)),
                         "cip13": session.scalar(select(m.MedicineBox.cip13).where(m.MedicineBox.cis == g.cis)
                                                 .order_by(m.MedicineBox.cip13).limit(1))}
                        for g, name in rows],
        })
    composition = list(session.scalars(select(m.Composition).where(m.Composition.cis == box.cis)
                                       .order_by(m.Composition.link_no, m.Composition.nature.desc())))
    return MedicineDetail(box, medicine, price, history, [(s, sibling_prices.get(s.cip13)) for s in siblings],
                          groups, composition, at)


def _covers(row, at: date) -> bool:
    return (row.valid_from is None or row.valid_from <= at) and (row.valid_to is None or row.valid_to >= at)


def medicine_json(d: MedicineDetail) -> dict[str, Any]:
    def price_json(p: m.MedicinePrice | None) -> dict[str, Any] | None:
        if p is None:
            return None
        return {**_period(p), "reimbursable": p.reimbursable, "rate_percent": p.rate_percent,
                "price": _money(p.price), "price_with_fee": _money(p.price_with_fee),
                "dispensing_fee": _money(p.dispensing_fee)}

    med = d.medicine
    return {
        "cip13": d.box.cip13, "cip7": d.box.cip7, "cis": d.box.cis, "at": d.at.isoformat(),
        "name": med.name if med else None, "form": med.form if med else None,
        "holder": med.holder if med else None, "presentation": d.box.label,
        "status": d.box.status, "marketing_state": d.box.marketing_state,
        "declaration_date": d.box.declaration_date.isoformat() if d.box.declaration_date else None,
        "in_force": price_json(d.price),
        "history": [price_json(p) for p in d.history],
        "presentations": [{"cip13": b.cip13, "label": b.label, "in_force": price_json(p)}
                          for b, p in d.presentations],
        "generic_groups": [{k: v for k, v in g.items()} for g in d.groups],
        "composition": [{"substance": c.substance, "dosage": c.dosage, "reference": c.dosage_reference,
                         "nature": c.nature} for c in d.composition],
    }


@dataclass(frozen=True)
class LppDetail:
    code: m.LppCode
    fact: LppFact | None
    history: list[m.LppTariff]
    mapping: m.EhpadMapping | None
    category: m.EhpadCategory | None
    at: date


def lpp_detail(session: Session, code: str, at: date) -> LppDetail | None:
    row = session.scalar(select(m.LppCode).where(m.LppCode.code == code))
    if row is None:
        return None
    history = list(session.scalars(select(m.LppTariff).where(m.LppTariff.code == code)
                                   .order_by(m.LppTariff.valid_from.is_(None).desc(), m.LppTariff.valid_from)))
    mapping = session.scalar(select(m.EhpadMapping).where(m.EhpadMapping.lpp_code == code,
                                                          m.EhpadMapping.removed_at.is_(None)))
    category = session.get(m.EhpadCategory, mapping.category_id) if mapping else None
    return LppDetail(row, SqlReferenceLookup(session).lpp(code, at), history, mapping, category, at)


def lpp_json(d: LppDetail) -> dict[str, Any]:
    fact = d.fact
    return {
        "code": d.code.code, "label": d.code.label, "titre": d.code.titre, "at": d.at.isoformat(),
        "in_force": None if fact is None else {
            "tariff": _money(fact.tariff), "plv": _money(fact.plv), "max_quantity": fact.max_quantity,
            "tariff_known": fact.tariff is not None,
        },
        "history": [{**_period(t), "source": t.stream, "tariff": _money(t.tariff), "plv": _money(t.plv),
                     "max_quantity": t.max_quantity, "unit": t.unit or None} for t in d.history],
        "ehpad": None if d.category is None else {
            "category": d.category.label, "part": d.category.part, "reason": d.mapping.reason,
            "origin": d.mapping.origin, "by": d.mapping.created_by,
            "at": d.mapping.created_at.isoformat(),
        },
    }


@dataclass(frozen=True)
class LppTariffCoverage:
    in_force: int  # LPP codes in force on the date
    without_tariff: int  # of which no source gives a tariff (billing them is refused, FSE-R-042)


def lpp_tariff_coverage(session: Session, at: date) -> LppTariffCoverage:
    """How many LPP codes in force on ``at`` have no tariff in the loaded release."""
    total = session.scalar(select(func.count(distinct(m.LppTariff.code))).where(in_force(m.LppTariff, at))) or 0
    priced = session.scalar(select(func.count(distinct(m.LppTariff.code)))
                            .where(in_force(m.LppTariff, at), m.LppTariff.tariff.is_not(None))) or 0
    return LppTariffCoverage(int(total), int(total) - int(priced))


@dataclass(frozen=True)
class ActDetail:
    act: m.Act
    fact: ActFact | None
    history: list[m.ActTariff]
    at: date


def act_detail(session: Session, code: str, at: date) -> ActDetail | None:
    code = code.strip().upper()
    act = session.scalar(select(m.Act).where(m.Act.code == code))
    if act is None:
        return None
    history = list(session.scalars(select(m.ActTariff).where(m.ActTariff.code == code)
                                   .order_by(m.ActTariff.valid_from.is_(None).desc(), m.ActTariff.valid_from)))
    return ActDetail(act, SqlReferenceLookup(session).act(code, at), history, at)


def act_json(d: ActDetail) -> dict[str, Any]:
    a = d.act
    return {
        "code": a.code, "kind": a.kind, "label": a.label, "at": d.at.isoformat(),
        "grouping": a.grouping or None, "conditional": a.conditional, "prior_approval": a.prior_approval,
        "not_covered": a.not_covered,
        "in_force": None if d.fact is None else {
            "tariff": _money(d.fact.tariff), "tariff_other_sector": _money(d.fact.tariff_other_sector),
        },
        "history": [{**_period(t), "tariff": _money(t.tariff),
                     "tariff_other_sector": _money(t.tariff_other_sector), "note": t.note or None}
                    for t in d.history],
    }


def ehpad_list(session: Session) -> list[dict[str, Any]]:
    """Categories of the annex with their active LPP mappings."""
    mappings: dict[int, list[dict[str, Any]]] = {}
    rows = session.execute(
        select(m.EhpadMapping, m.LppCode.label)
        .outerjoin(m.LppCode, m.LppCode.code == m.EhpadMapping.lpp_code)
        .where(m.EhpadMapping.removed_at.is_(None))
        .order_by(m.EhpadMapping.lpp_code)
    ).all()
    for mapping, label in rows:
        mappings.setdefault(mapping.category_id, []).append({
            "id": mapping.id, "code": mapping.lpp_code, "label": label, "reason": mapping.reason,
            "origin": mapping.origin, "by": mapping.created_by, "at": mapping.created_at.isoformat(),
        })
    return [
        {"id": c.id, "part": c.part, "label": c.label, "condition": c.condition or None,
         "lpp_codes": mappings.get(c.id, [])}
        for c in session.scalars(select(m.EhpadCategory).order_by(m.EhpadCategory.part, m.EhpadCategory.position))
    ]


# ---------------------------------------------------------------- import runs and release diff


@dataclass(frozen=True)
class ReleaseDiff:
    run: m.ImportRun
    added: list[dict[str, Any]] = field(default_factory=list)
    removed: list[dict[str, Any]] = field(default_factory=list)
    changed: list[dict[str, Any]] = field(default_factory=list)


_DIFF_MODELS = (
    ("medicine", m.MedicinePrice, "cip13", ("reimbursable", "rate_percent", "price", "dispensing_fee")),
    ("lpp", m.LppTariff, "code", ("tariff", "plv", "max_quantity")),
    ("act", m.ActTariff, "code", ("tariff", "tariff_other_sector")),
)


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return f"{value:.2f}"
    if isinstance(value, date):
        return value.isoformat()
    return value


def release_diff(session: Session, run_id: int) -> ReleaseDiff | None:
    """What an import changed: rows it opened and closed, paired by code."""
    run = session.get(m.ImportRun, run_id)
    if run is None:
        return None
    diff = ReleaseDiff(run)
    for kind, model, key, fields in _DIFF_MODELS:
        opened = {getattr(r, key): r for r in session.scalars(
            select(model).where(model.run_id == run_id, model.valid_from.is_not(None)))}
        closed = {getattr(r, key): r for r in session.scalars(select(model).where(model.closed_run_id == run_id))}
        for code, row in sorted(opened.items()):
            values = {f: _plain(getattr(row, f)) for f in fields}
            if code in closed:
                before = {f: _plain(getattr(closed[code], f)) for f in fields}
                diff.changed.append({"kind": kind, "code": code, "source": row.stream,
                                     "from": _plain(row.valid_from), "before": before, "after": values})
            else:
                diff.added.append({"kind": kind, "code": code, "source": row.stream,
                                   "from": _plain(row.valid_from), "after": values})
        for code, row in sorted(closed.items()):
            if code not in opened:
                diff.removed.append({"kind": kind, "code": code, "source": row.stream,
                                     "until": _plain(row.valid_to),
                                     "before": {f: _plain(getattr(row, f)) for f in fields}})
    return diff


def run_json(run: m.ImportRun) -> dict[str, Any]:
    return {
        "id": run.id, "dataset": run.dataset, "release": run.release, "status": run.status,
        "effective_date": run.effective_date.isoformat() if run.effective_date else None,
        "started_at": run.started_at.isoformat(),
        "finished_at": run.finished_at.isoformat() if run.finished_at else None,
        "files": json.loads(run.files or "[]"),
        "counts": {"created": run.created, "changed": run.changed, "closed": run.closed,
                   "unchanged": run.unchanged, "skipped": run.skipped},
        "anomalies": run.anomaly_list,
    }


def diff_json(diff: ReleaseDiff) -> dict[str, Any]:
    return {"run": run_json(diff.run), "added": diff.added, "removed": diff.removed, "changed": diff.changed}


def list_runs(session: Session, limit: int = 100) -> list[m.ImportRun]:
    return list(session.scalars(select(m.ImportRun).order_by(m.ImportRun.id.desc()).limit(limit)))


def summary(session: Session) -> dict[str, Any]:
    """What is loaded: entries per kind and the last successful import of each dataset."""
    counts = dict(session.execute(select(m.SearchEntry.kind, func.count()).group_by(m.SearchEntry.kind)).all())
    last: dict[str, m.ImportRun] = {}
    for run in session.scalars(select(m.ImportRun).where(m.ImportRun.status == "done")
                               .order_by(m.ImportRun.id.desc()).limit(200)):
        last.setdefault(run.dataset, run)
    return {"counts": counts, "last_runs": sorted(last.values(), key=lambda r: r.dataset)}


def amounts_at(session: Session, hits: list, at: date) -> dict[tuple[str, str], dict[str, Any]]:
    """In-force rate/price (medicines), tariff (LPP, acts) of a page of search hits: 3 queries."""
    by_kind: dict[str, list[str]] = {}
    for h in hits:
        by_kind.setdefault(h.kind, []).append(h.code)
    out: dict[tuple[str, str], dict[str, Any]] = {}
    if by_kind.get("medicine"):
        for p in session.scalars(select(m.MedicinePrice).where(m.MedicinePrice.cip13.in_(by_kind["medicine"]),
                                                               in_force(m.MedicinePrice, at))):
            out[("medicine", p.cip13)] = {"rate": p.rate_percent, "reimbursable": p.reimbursable, "amount": p.price}
    if by_kind.get("lpp"):
        rows: dict[str, list[m.LppTariff]] = {}
        for t in session.scalars(select(m.LppTariff).where(m.LppTariff.code.in_(by_kind["lpp"]),
                                                           in_force(m.LppTariff, at))):
            rows.setdefault(t.code, []).append(t)
        for code, tariffs in rows.items():
            best = _pick_lpp(tariffs)
            out[("lpp", code)] = {"amount": best.tariff if best else None}
    if by_kind.get("act"):
        for t in session.scalars(select(m.ActTariff).where(m.ActTariff.code.in_(by_kind["act"]),
                                                           in_force(m.ActTariff, at))):
            out[("act", t.code)] = {"amount": t.tariff}
    return out
