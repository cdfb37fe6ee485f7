"""The reference lookup of one lot: every code the lot uses loaded in one query per table,
then answered at any date in memory, with one cache.

``LotReferenceLookup(session, acts=..., medicines=..., lpp=...)`` reads the rows of every
code given (all their dated rows), and answers
``amelipro.reference.facts.ReferenceLookup`` exactly as ``SqlReferenceLookup`` would (same
rows in force, same order among them, per database). A code that was not loaded (asked by a
rule for a code not on a line) is asked to ``SqlReferenceLookup`` once and kept.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from amelipro.db import is_postgresql
from amelipro.reference import models as m
from amelipro.reference.facts import ActFact, LppFact, MedicineFact
from amelipro.reference.queries import (
    SqlReferenceLookup,
    _pick_lpp,
    act_fact,
    lpp_fact,
    medicine_fact,
)

_IN_CHUNK = 500  # bound on IN (...) lists


def _chunks(values: Iterable[str]) -> Iterable[list[str]]:
    items = sorted(set(values))
    for start in range(0, len(items), _IN_CHUNK):
        yield items[start:start + _IN_CHUNK]


def _in_force(row, at: date) -> bool:
    """``queries.in_force`` in memory (bounds inclusive, open when None)."""
    return (row.valid_from is None or row.valid_from <= at) and (row.valid_to is None or row.valid_to >= at)


class LotReferenceLookup:
    """Reference facts for one lot (one session, read only): preloaded, then one cache."""

    def __init__(self, session: Session, *, acts: Iterable[str] = (), medicines: Iterable[str] = (),
                 lpp: Iterable[str] = ()) -> None:
        self.session = session
        self.sql = SqlReferenceLookup(session)
        self.memo: dict[tuple[str, str, date], Any] = {}
        # NULL sorts last in a descending ORDER BY on SQLite, first on PostgreSQL.
        self._nulls_first = is_postgresql(session)
        self._acts: dict[str, tuple[m.Act, list[m.ActTariff]]] = {}
        self._medicines: dict[str, list[tuple[str, str, m.MedicinePrice]]] = {}
        self._lpp: dict[str, tuple[str, list[m.LppTariff], tuple[str | None, str | None]]] = {}
        self._load_acts({(c or "").strip().upper() for c in acts})
        self._load_medicines({(c or "").strip() for c in medicines})
        self._load_lpp({(c or "").strip() for c in lpp})

    # --- loading (one query per table) ------------------------------------------------------

    def _latest(self, rows: list, at: date):
        """``ORDER BY valid_from DESC LIMIT 1`` among the rows in force (rows in id order)."""
        best = None
        for row in rows:
            if not _in_force(row, at):
                continue
            if best is None or self._after(row.valid_from, best.valid_from):
                best = row
        return best

    def _after(self, candidate: date | None, best: date | None) -> bool:
        if candidate == best:
            return False  # a tie keeps the first row
        if candidate is None:
            return self._nulls_first
        if best is None:
            return not self._nulls_first
        return candidate > best

    def _load_acts(self, codes: set[str]) -> None:
        for chunk in _chunks(codes):
            for act in self.session.scalars(select(m.Act).where(m.Act.code.in_(chunk))):
                self._acts[act.code] = (act, [])
            for tariff in self.session.scalars(
                    select(m.ActTariff).where(m.ActTariff.code.in_(chunk)).order_by(m.ActTariff.id)):
                if tariff.code in self._acts:
                    self._acts[tariff.code][1].append(tariff)
        self._known_acts = codes

    def _load_medicines(self, codes: set[str]) -> None:
        for chunk in _chunks(codes):
            rows = self.session.execute(
                select(m.MedicineBox.cip13, m.Medicine.name, m.MedicineBox.label, m.MedicinePrice)
                .join(m.MedicinePrice, m.MedicinePrice.cip13 == m.MedicineBox.cip13)
                .outerjoin(m.Medicine, m.Medicine.cis == m.MedicineBox.cis)
                .where(m.MedicineBox.cip13.in_(chunk))
                .order_by(m.MedicinePrice.id)
            )
            for cip13, name, label, price in rows:
                self._medicines.setdefault(cip13, []).append((name, label, price))
        self._known_medicines = codes

    def _load_lpp(self, codes: set[str]) -> None:
        for chunk in _chunks(codes):
            labels = dict(self.session.execute(
                select(m.LppCode.code, m.LppCode.label).where(m.LppCode.code.in_(chunk))).all())
            tariffs: dict[str, list[m.LppTariff]] = {}
            for tariff in self.session.scalars(
                    select(m.LppTariff).where(m.LppTariff.code.in_(chunk)).order_by(m.LppTariff.id)):
                tariffs.setdefault(tariff.code, []).append(tariff)
            ehpad: dict[str, tuple[str | None, str | None]] = {}
            for code, label, reason in self.session.execute(
                select(m.EhpadMapping.lpp_code, m.EhpadCategory.label, m.EhpadMapping.reason)
                .join(m.EhpadCategory, m.EhpadCategory.id == m.EhpadMapping.category_id)
                .where(m.EhpadMapping.lpp_code.in_(chunk), m.EhpadMapping.removed_at.is_(None))
                .order_by(m.EhpadMapping.id)
            ):
                ehpad.setdefault(code, (label, reason))
            for code in chunk:
                self._lpp[code] = (labels.get(code) or "", tariffs.get(code, []), ehpad.get(code, (None, None)))
        self._known_lpp = codes

    # --- ReferenceLookup -------------------------------------------------------------------

    def _get(self, kind: str, code: str, at: date, answer) -> Any:
        key = (kind, code, at)
        try:
            return self.memo[key]
        except KeyError:
            found = self.memo[key] = answer()
            return found

    def _answer(self, kind: str, code: str, wanted: str, known: set[str], at: date, sql, loaded) -> Any:
        """The fact of ``wanted`` (``code`` normalised) from the loaded rows, else asked to
        ``sql`` with ``code`` as given; kept in the cache either way."""
        if wanted not in known:
            return self._get(kind, code, at, lambda: sql(code, at))
        return self._get(kind, wanted, at, lambda: loaded(wanted, at))

    def act(self, code: str, at: date) -> ActFact | None:
        return self._answer("act", code, (code or "").strip().upper(), self._known_acts, at,
                            self.sql.act, self._act)

    def _act(self, code: str, at: date) -> ActFact | None:
        found = self._acts.get(code)
        if found is None:
            return None
        act, tariffs = found
        return act_fact(act, self._latest(tariffs, at))

    def medicine(self, cip13: str, at: date) -> MedicineFact | None:
        return self._answer("medicine", cip13, (cip13 or "").strip(), self._known_medicines, at,
                            self.sql.medicine, self._medicine)

    def _medicine(self, cip13: str, at: date) -> MedicineFact | None:
        rows = self._medicines.get(cip13, [])
        price = self._latest([p for _n, _l, p in rows], at)
        if price is None:
            return None
        name, label, _price = next(r for r in rows if r[2] is price)
        return medicine_fact(cip13, name, label, price)

    def lpp(self, code: str, at: date) -> LppFact | None:
        return self._answer("lpp", code, (code or "").strip(), self._known_lpp, at, self.sql.lpp, self._lpp_fact)

    def _lpp_fact(self, code: str, at: date) -> LppFact | None:
        label, tariffs, ehpad = self._lpp[code]
        tariff = _pick_lpp([t for t in tariffs if _in_force(t, at)])
        if tariff is None:
            return None
        return lpp_fact(code, label, tariff, ehpad)


__all__ = ["LotReferenceLookup"]
