"""Search over medicines, LPP codes and acts: one interface, two implementations.

* exact codes first (CIP13, CIP7, CIS, LPP, CCAM, NGAP) through ``ref_search_code``;
* then text: every word of the query is a prefix ("dolip 1000"), accents and case are
  ignored (the indexed text and the query are folded the same way, in Python), ranked by
  relevance (SQLite FTS5 bm25 / PostgreSQL ts_rank) then by shorter label;
* filters: kind, reimbursable, rate, generic group, EHPAD category, and the date (the code
  exists at that date; reimbursable/rate are read at that date).

``SqliteFtsSearch`` uses an FTS5 table, ``PostgresFtsSearch`` a GIN index on
``to_tsvector('simple', search_text)``. Both are derived indexes, (re)built by
``rebuild_search_index`` after an import. ``naive_search`` is the ``LIKE '%…%'`` baseline
used by the benchmark.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date
from typing import Any, Protocol

from sqlalchemy import Select, and_, exists, func, insert, or_, select, text
from sqlalchemy.orm import Session

from amelipro.reference import models as m
from amelipro.reference.parsing import search_text, tokens

KINDS = ("medicine", "lpp", "act")
PAGE_SIZE = 20


@dataclass(frozen=True)
class SearchQuery:
    q: str
    at: date
    kind: str | None = None  # medicine | lpp | act
    reimbursable: bool | None = None
    rate: int | None = None
    generic_group: int | None = None
    ehpad_category_id: int | None = None
    page: int = 1
    page_size: int = PAGE_SIZE


@dataclass(frozen=True)
class SearchHit:
    kind: str
    code: str
    label: str
    detail: str
    exact: bool  # matched by code


@dataclass(frozen=True)
class SearchPage:
    query: SearchQuery
    hits: list[SearchHit] = field(default_factory=list)
    has_next: bool = False


class SearchBackend(Protocol):
    name: str

    def ensure_index(self, session: Session) -> None: ...

    def text_ids(self, session: Session, words: list[str], base: Select, limit: int, offset: int) -> list[int]: ...


def _filters(query: SearchQuery) -> list[Any]:
    e = m.SearchEntry
    conds: list[Any] = [
        or_(e.valid_from.is_(None), e.valid_from <= query.at),
        or_(e.valid_to.is_(None), e.valid_to >= query.at),
    ]
    if query.kind:
        conds.append(e.kind == query.kind)
    if query.generic_group is not None:
        conds.append(e.generic_group == query.generic_group)
    if query.ehpad_category_id is not None:
        conds.append(e.ehpad_category_id == query.ehpad_category_id)
    if query.reimbursable is not None or query.rate is not None:
        p = m.MedicinePrice
        price_conds = [
            p.cip13 == e.code,
            or_(p.valid_from.is_(None), p.valid_from <= query.at),
            or_(p.valid_to.is_(None), p.valid_to >= query.at),
        ]
        if query.reimbursable is not None:
            price_conds.append(p.reimbursable == query.reimbursable)
        if query.rate is not None:
            price_conds.append(p.rate_percent == query.rate)
        conds.append(e.kind == "medicine")
        conds.append(exists().where(and_(*price_conds)))
    return conds


def code_candidates(q: str) -> list[str]:
    raw = q.strip().upper().replace(" ", "")
    return [raw] if raw and len(raw) <= 13 and raw.isalnum() else []


class SqliteFtsSearch:
    name = "sqlite-fts5"

    def ensure_index(self, session: Session) -> None:
        session.execute(text(
            "CREATE VIRTUAL TABLE IF NOT EXISTS ref_search_fts USING fts5("
            "search_text, tokenize = 'unicode61 remove_diacritics 2', prefix = '1 2 3 4')"
        ))

    def refill(self, session: Session) -> None:
        session.execute(text("DELETE FROM ref_search_fts"))
        session.execute(text("INSERT INTO ref_search_fts(rowid, search_text) SELECT id, search_text FROM ref_search_entry"))
        session.execute(text("INSERT INTO ref_search_fts(ref_search_fts) VALUES ('optimize')"))

    def text_ids(self, session: Session, words: list[str], base: Select, limit: int, offset: int) -> list[int]:
        match = " ".join(f'"{w}"*' for w in words)
        fts = text("SELECT rowid AS id, rank AS score FROM ref_search_fts WHERE ref_search_fts MATCH :match") \
            .columns(id=m.SearchEntry.id.type).subquery("fts")
        stmt = (base.join(fts, fts.c.id == m.SearchEntry.id)
                .order_by(text("fts.score"), func.length(m.SearchEntry.label), m.SearchEntry.id)
                .limit(limit).offset(offset))
        return list(session.scalars(stmt, {"match": match}))


class PostgresFtsSearch:
    name = "postgresql-tsvector"

    def ensure_index(self, session: Session) -> None:
        session.execute(text(
            "CREATE INDEX IF NOT EXISTS ix_ref_search_entry_tsv ON ref_search_entry "
            "USING gin (to_tsvector('simple', search_text))"
        ))

    def refill(self, session: Session) -> None:
        session.execute(text("ANALYZE ref_search_entry"))

    def text_ids(self, session: Session, words: list[str], base: Select, limit: int, offset: int) -> list[int]:
        tsquery = " & ".join(f"{w}:*" for w in words)
        vector = func.to_tsvector(text("'simple'"), m.SearchEntry.search_text)
        query = func.to_tsquery(text("'simple'"), tsquery)
        stmt = (base.where(vector.op("@@")(query))
                .order_by(func.ts_rank(vector, query).desc(), func.length(m.SearchEntry.label), m.SearchEntry.id)
                .limit(limit).offset(offset))
        return list(session.scalars(stmt))


def backend_for(session: Session) -> SqliteFtsSearch | PostgresFtsSearch:
    return PostgresFtsSearch() if session.get_bind().dialect.name == "postgresql" else SqliteFtsSearch()


def search(session: Session, query: SearchQuery, backend: SearchBackend | None = None) -> SearchPage:
    """Exact codes first, then ranked text matches; one extra row tells whether a next page exists."""
    backend = backend or backend_for(session)
    query = replace(query, page=max(1, query.page), page_size=max(1, min(query.page_size, 100)))
    conds = _filters(query)
    exact_ids: list[int] = []
    codes = code_candidates(query.q)
    if codes:
        exact_ids = list(session.scalars(
            select(m.SearchEntry.id).join(m.SearchCode, m.SearchCode.entry_id == m.SearchEntry.id)
            .where(m.SearchCode.code.in_(codes), *conds)
            .order_by(m.SearchCode.priority, m.SearchEntry.kind, m.SearchEntry.code)
            .limit(50)
        ))
        exact_ids = list(dict.fromkeys(exact_ids))
    words = tokens(query.q)[:8]
    if words and not exact_ids and session.scalar(select(m.SearchEntry.id).limit(1)) is None:
        words = []  # nothing imported yet: no text index to query
    want = query.page * query.page_size + 1  # rows needed up to this page, plus one
    text_ids: list[int] = []
    if words:
        base = select(m.SearchEntry.id).where(*conds)
        if exact_ids:
            base = base.where(m.SearchEntry.id.not_in(exact_ids))
        remaining = max(0, want - len(exact_ids))
        if remaining:
            text_ids = backend.text_ids(session, words, base, remaining, 0)
    ordered = exact_ids + text_ids
    start = (query.page - 1) * query.page_size
    page_ids = ordered[start : start + query.page_size]
    has_next = len(ordered) > start + query.page_size
    rows = {e.id: e for e in session.scalars(select(m.SearchEntry).where(m.SearchEntry.id.in_(page_ids)))} \
        if page_ids else {}
    exact = set(exact_ids)
    hits = [SearchHit(rows[i].kind, rows[i].code, rows[i].label, rows[i].detail, i in exact)
            for i in page_ids if i in rows]
    return SearchPage(query, hits, has_next)


def naive_search(session: Session, query: SearchQuery) -> list[int]:
    """Baseline for the benchmark: a ``LIKE '%word%'`` scan per word, no index, no ranking."""
    stmt = select(m.SearchEntry.id).where(*_filters(query))
    for word in tokens(query.q)[:8]:
        stmt = stmt.where(m.SearchEntry.search_text.like(f"%{word}%"))
    return list(session.scalars(stmt.order_by(func.length(m.SearchEntry.label)).limit(query.page_size)))


# ---------------------------------------------------------------- index build


def _window(session: Session, model, key: str) -> dict[str, tuple[date | None, date | None]]:
    """Existence window of each code: earliest start (None: open) and latest end (None: open)."""
    out: dict[str, list[Any]] = {}
    for code, start, end in session.execute(select(getattr(model, key), model.valid_from, model.valid_to)):
        w = out.get(code)
        if w is None:
            out[code] = [start, end, start is None, end is None]
            continue
        if start is None:
            w[2] = True
        elif w[0] is None or start < w[0]:
            w[0] = start
        if end is None:
            w[3] = True
        elif w[1] is None or end > w[1]:
            w[1] = end
    return {k: (None if v[2] else v[0], None if v[3] else v[1]) for k, v in out.items()}


def rebuild_search_index(session: Session) -> int:
    """Rebuild the derived search tables from the reference tables. Returns the entry count."""
    backend = backend_for(session)
    session.execute(m.SearchCode.__table__.delete())
    session.execute(m.SearchEntry.__table__.delete())
    entries: list[dict[str, Any]] = []
    codes: list[tuple[int, str, int]] = []  # (entry index, code, priority)

    groups: dict[str, int] = {}
    for cis, group_id in session.execute(select(m.GenericMember.cis, m.GenericMember.group_id)
                                         .order_by(m.GenericMember.generic_type)):
        groups.setdefault(cis, group_id)
    names = {cis: (name, form, holder) for cis, name, form, holder in session.execute(
        select(m.Medicine.cis, m.Medicine.name, m.Medicine.form, m.Medicine.holder))}
    window = _window(session, m.MedicinePrice, "cip13")
    for cip13, cip7, cis, label in session.execute(
            select(m.MedicineBox.cip13, m.MedicineBox.cip7, m.MedicineBox.cis, m.MedicineBox.label)):
        if cip13 not in window:
            continue
        name, _form, holder = names.get(cis, ("", "", ""))
        entries.append({
            "kind": "medicine", "code": cip13, "label": (name or label)[:1000],
            "detail": f"{label} — {holder.strip()}"[:600] if holder else label[:600],
            "search_text": search_text(name, label, holder, cip13, cip7, cis),
            "generic_group": groups.get(cis), "ehpad_category_id": None,
            "valid_from": window[cip13][0], "valid_to": window[cip13][1],
        })
        idx = len(entries) - 1
        codes += [(idx, cip13, 0), (idx, cip7, 1), (idx, cis, 2)]

    ehpad = {code: cat for code, cat in session.execute(
        select(m.EhpadMapping.lpp_code, m.EhpadMapping.category_id).where(m.EhpadMapping.removed_at.is_(None)))}
    window = _window(session, m.LppTariff, "code")
    for code, label, titre in session.execute(select(m.LppCode.code, m.LppCode.label, m.LppCode.titre)):
        if code not in window:
            continue
        entries.append({
            "kind": "lpp", "code": code, "label": label[:1000], "detail": titre[:600],
            "search_text": search_text(label, code), "generic_group": None,
            "ehpad_category_id": ehpad.get(code),
            "valid_from": window[code][0], "valid_to": window[code][1],
        })
        codes.append((len(entries) - 1, code, 0))

    window = _window(session, m.ActTariff, "code")
    for code, kind, label, grouping in session.execute(select(m.Act.code, m.Act.kind, m.Act.label, m.Act.grouping)):
        if kind == "ccam" and code not in window:
            continue
        start, end = window.get(code, (None, None))
        entries.append({
            "kind": "act", "code": code, "label": label[:1000],
            "detail": ("CCAM" if kind == "ccam" else "NGAP") + (f" · {grouping}" if grouping else ""),
            "search_text": search_text(label, code), "generic_group": None, "ehpad_category_id": None,
            "valid_from": start, "valid_to": end,
        })
        codes.append((len(entries) - 1, code, 0))

    if entries:
        # Ids are assigned here so that codes can refer to them without RETURNING.
        first = (session.scalar(select(func.max(m.SearchEntry.id))) or 0) + 1
        for i, entry in enumerate(entries):
            entry["id"] = first + i
        session.execute(insert(m.SearchEntry), entries)
        seen: set[tuple[str, int]] = set()
        code_rows = []
        for idx, code, priority in codes:
            code = code.strip().upper()
            if code and (code, idx) not in seen:
                seen.add((code, idx))
                code_rows.append({"code": code, "entry_id": first + idx, "priority": priority})
        session.execute(insert(m.SearchCode), code_rows)
    backend.ensure_index(session)
    backend.refill(session)
    return len(entries)

