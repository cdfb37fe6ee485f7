"""Search over medicines, LPP codes and acts: one interface, two implementations.

* exact codes first (CIP13, CIP7, CIS, LPP, CCAM, NGAP) through ``ref_search_code``;
* then text: every word of the query is a prefix ("dolip 1000"), accents and case are
  ignored (the indexed text and the query are folded the same way, in Python), ranked by
  entry id: ``rebuild_search_index`` numbers the entries shorter (more specific) label first;
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

from sqlalchemy import Boolean, Date, bindparam, func, insert, select, text
from sqlalchemy.orm import Session

from amelipro.db import is_postgresql
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
    no_limit: int | None  # the LIMIT value that means "no limit"
    build_sql: tuple[str, ...]  # statements that (re)build the index from ref_search_entry, in order

    def text_sql(self, words: list[str]) -> tuple[str, dict[str, Any]]:
        """SQL of the entry ids matching every word, best (lowest id) first, ``LIMIT :inner``."""
        ...


def _set_conditions(params: dict[str, Any], conditions: tuple[tuple[str, str, Any], ...]) -> list[str]:
    """The SQL of each (SQL, parameter, value) whose value is set; the values go to ``params``."""
    out = []
    for sql, name, value in conditions:
        if value is not None:
            out.append(sql)
            params[name] = value
    return out


def _filters(query: SearchQuery) -> tuple[str, dict[str, Any], bool]:
    """SQL conditions on ``e`` (ref_search_entry), their parameters, and whether they are selective."""
    params: dict[str, Any] = {"at": query.at}
    parts = ["(e.valid_from IS NULL OR e.valid_from <= :at)", "(e.valid_to IS NULL OR e.valid_to >= :at)",
             *_set_conditions(params, (("e.kind = :kind", "kind", query.kind or None),
                                       ("e.generic_group = :group", "group", query.generic_group),
                                       ("e.ehpad_category_id = :ehpad", "ehpad", query.ehpad_category_id)))]
    price = _set_conditions(params, (("p.reimbursable = :reimbursable", "reimbursable", query.reimbursable),
                                     ("p.rate_percent = :rate", "rate", query.rate)))
    if price:
        price = ["p.cip13 = e.code", "(p.valid_from IS NULL OR p.valid_from <= :at)",
                 "(p.valid_to IS NULL OR p.valid_to >= :at)", *price]
        parts.append("e.kind = 'medicine'")
        parts.append(f"EXISTS (SELECT 1 FROM ref_medicine_price p WHERE {' AND '.join(price)})")
    return " AND ".join(parts), params, len(params) > 1


def code_candidates(q: str) -> list[str]:
    """The query as a code: one word, or digits typed in groups ("3400 9359 5583 8")."""
    stripped = q.strip().upper()
    raw = stripped.replace(" ", "")
    if " " in stripped and not raw.isdigit():
        return []
    return [raw] if raw and len(raw) <= 13 and raw.isalnum() else []


_STATEMENTS: dict[str, Any] = {}


def _stmt(sql: str):
    """Text statements are built once (their compiled form is then cached by SQLAlchemy)."""
    stmt = _STATEMENTS.get(sql)
    if stmt is None:
        stmt = text(sql)
        if ":at" in sql:
            stmt = stmt.bindparams(bindparam("at", type_=Date()))
        if ":reimbursable" in sql:
            stmt = stmt.bindparams(bindparam("reimbursable", type_=Boolean()))
        _STATEMENTS[sql] = stmt
    return stmt


_COLUMNS = "e.id, e.kind, e.code, e.label, e.detail"


def _index_ready(session: Session) -> bool:
    """Whether entries exist; remembered on the pooled connection once true."""
    info = session.connection().info
    if not info.get("ref_search_ready"):
        info["ref_search_ready"] = session.execute(_stmt("SELECT 1 FROM ref_search_entry LIMIT 1")).first() is not None
    return info["ref_search_ready"]


class SqliteFtsSearch:
    """FTS5 table ``ref_search_fts`` (rowid = entry id).

    Words of one character are matched whole, longer ones as prefixes (same rule on both
    backends: a one-letter prefix matches half the index and says nothing).
    """

    name = "sqlite-fts5"
    no_limit = -1
    build_sql = (
        "DROP TABLE IF EXISTS ref_search_fts",  # faster than emptying it
        "CREATE VIRTUAL TABLE ref_search_fts USING fts5("
        "search_text, tokenize = 'unicode61 remove_diacritics 2', prefix = '2 3')",
        "INSERT INTO ref_search_fts(rowid, search_text) SELECT id, search_text FROM ref_search_entry",
        "INSERT INTO ref_search_fts(ref_search_fts) VALUES ('optimize')",
    )

    def text_sql(self, words: list[str]) -> tuple[str, dict[str, Any]]:
        inner = ("SELECT rowid AS id FROM ref_search_fts WHERE ref_search_fts MATCH :match "
                 "ORDER BY rowid LIMIT :inner")
        return inner, {"match": " ".join(f'"{w}"' if len(w) == 1 else f'"{w}"*' for w in words)}


class PostgresFtsSearch:
    """Derived table ``ref_search_pg(id, tsv)`` with a GIN index."""

    name = "postgresql-tsvector"
    no_limit = None  # LIMIT NULL: no limit
    build_sql = (
        "DROP TABLE IF EXISTS ref_search_pg",
        # strip(): positions are not used (no phrase search, ranking by id): a smaller heap.
        "CREATE TABLE ref_search_pg AS SELECT id, strip(to_tsvector('simple', search_text)) AS tsv "
        "FROM ref_search_entry ORDER BY id",
        "ALTER TABLE ref_search_pg ADD PRIMARY KEY (id)",
        "CREATE INDEX ix_ref_search_pg_tsv ON ref_search_pg USING gin (tsv)",
        "ANALYZE ref_search_pg",
        "ANALYZE ref_search_entry",
    )

    def text_sql(self, words: list[str]) -> tuple[str, dict[str, Any]]:
        inner = ("SELECT t.id FROM ref_search_pg t WHERE t.tsv @@ to_tsquery('simple', :tsq) "
                 "ORDER BY t.id + 0 LIMIT :inner")  # + 0: match through the GIN index, then top-N by id
        return inner, {"tsq": " & ".join(w if len(w) == 1 else f"{w}:*" for w in words)}


def backend_for(session: Session) -> SqliteFtsSearch | PostgresFtsSearch:
    return PostgresFtsSearch() if is_postgresql(session) else SqliteFtsSearch()


def search(session: Session, query: SearchQuery, backend: SearchBackend | None = None) -> SearchPage:
    """Exact codes first, then ranked text matches; one extra row tells whether a next page exists.

    The hot path is plain SQL: the text index is asked for its best rows first (``LIMIT`` inside
    the index query), filtered on the entry; only when filters drop too many does it ask again
    without that limit.
    """
    backend = backend or backend_for(session)
    query = replace(query, page=max(1, query.page), page_size=max(1, min(query.page_size, 100)))
    where, params, selective = _filters(query)
    want = query.page * query.page_size + 1  # rows needed up to this page, plus one
    rows: list[Any] = []
    codes = code_candidates(query.q)
    if codes:
        rows = list(session.execute(_stmt(
            f"SELECT {_COLUMNS} FROM ref_search_code c JOIN ref_search_entry e ON e.id = c.entry_id "
            f"WHERE c.code = :code AND {where} ORDER BY c.priority, e.kind, e.code LIMIT 50"),
            {**params, "code": codes[0]}))
        seen: set[int] = set()
        rows = [r for r in rows if not (r[0] in seen or seen.add(r[0]))]
    exact = {r[0] for r in rows}
    words = tokens(query.q)[:8]
    if words and not rows and not _index_ready(session):
        words = []  # nothing imported yet: no text index to query
    if rows and len(codes[0]) == len(query.q.strip()):
        words = []  # the query is a code and it matched: the exact answer is the answer
    if words and len(rows) < want:
        inner_sql, text_params = backend.text_sql(words)
        needed = want - len(rows)
        inner = (needed + len(exact)) * (8 if selective else 1) + 10
        # One statement text per filter combination: the server can keep it prepared.
        sql = (f"SELECT {_COLUMNS} FROM ({inner_sql}) f "
               f"JOIN ref_search_entry e ON e.id = f.id WHERE {where} ORDER BY f.id LIMIT :want")
        for limit in (inner, backend.no_limit):
            found = [r for r in session.execute(_stmt(sql), {**params, **text_params, "inner": limit,
                                                            "want": needed + len(exact)})
                     if r[0] not in exact]
            if len(found) >= needed or limit == backend.no_limit or not selective:
                break  # (without selective filters, a short answer means the index has no more)
            # Filters dropped rows among the best ones: ask the index again without its limit.
            probe = session.execute(_stmt(f"SELECT count(*) FROM ({inner_sql}) f"),
                                    {**text_params, "inner": limit}).scalar()
            if probe < limit:
                break  # the index had no more rows: nothing else to find
        rows += found[:needed]
    if not codes and not words and (query.generic_group is not None or query.ehpad_category_id is not None):
        # Browsing a generic group or an EHPAD category: every entry of it, in ranking order.
        rows = list(session.execute(_stmt(
            f"SELECT {_COLUMNS} FROM ref_search_entry e WHERE {where} ORDER BY e.id LIMIT :want"),
            {**params, "want": want}))
    start = (query.page - 1) * query.page_size
    page_rows = rows[start : start + query.page_size]
    hits = [SearchHit(r[1], r[2], r[3], r[4], r[0] in exact) for r in page_rows]
    return SearchPage(query, hits, len(rows) > start + query.page_size)


def naive_search(session: Session, query: SearchQuery) -> list[int]:
    """Baseline for the benchmark: a ``LIKE '%word%'`` scan per word, no index, no ranking."""
    where, params, _selective = _filters(query)
    words = tokens(query.q)[:8]
    likes = "".join(f" AND e.search_text LIKE :w{i}" for i in range(len(words)))
    params.update({f"w{i}": f"%{w}%" for i, w in enumerate(words)})
    sql = f"SELECT e.id FROM ref_search_entry e WHERE {where}{likes} ORDER BY length(e.label) LIMIT :n"
    return list(session.scalars(_stmt(sql), {**params, "n": query.page_size}))


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


def _substances(session: Session) -> dict[str, str]:
    """Active substances (DCI) of each speciality, from the composition file: 'A, B'.

    A substance named as an active substance (SA) and as its therapeutic fraction (FT) is
    given once, as the SA names it.
    """
    out: dict[str, list[str]] = {}
    for cis, substance in session.execute(
            select(m.Composition.cis, m.Composition.substance)
            .where(m.Composition.nature == "SA")
            .order_by(m.Composition.cis, m.Composition.link_no, m.Composition.id)):
        names = out.setdefault(cis, [])
        substance = (substance or "").strip()
        if substance and substance not in names:
            names.append(substance)
    return {cis: ", ".join(names) for cis, names in out.items()}


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
    substances = _substances(session)
    window = _window(session, m.MedicinePrice, "cip13")
    for cip13, cip7, cis, label in session.execute(
            select(m.MedicineBox.cip13, m.MedicineBox.cip7, m.MedicineBox.cis, m.MedicineBox.label)):
        if cip13 not in window:
            continue
        name, _form, holder = names.get(cis, ("", "", ""))
        dci = substances.get(cis, "")
        detail = " — ".join(p for p in (label, holder.strip(), f"DCI : {dci}" if dci else "") if p)
        entries.append({
            "kind": "medicine", "code": cip13, "label": (name or label)[:1000],
            "detail": detail[:600],
            # substance (DCI) and laboratory are searched like the name: « lévothyroxine »
            # finds LEVOTHYROX and its generics, « biogaran » the laboratory's boxes.
            "search_text": search_text(name, label, holder, dci, cip13, cip7, cis),
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
        # Ids give the ranking of text matches (both backends return matches in id order): the
        # shorter, more specific label first. They are assigned here so that codes can refer to
        # them without RETURNING.
        first = (session.scalar(select(func.max(m.SearchEntry.id))) or 0) + 1
        order = sorted(range(len(entries)), key=lambda i: (len(entries[i]["label"]), entries[i]["label"]))
        rank = {idx: pos for pos, idx in enumerate(order)}
        for i, entry in enumerate(entries):
            entry["id"] = first + rank[i]
        session.execute(insert(m.SearchEntry.__table__), entries)
        seen: set[tuple[str, int]] = set()
        code_rows = []
        for idx, code, priority in codes:
            code = code.strip().upper()
            if code and (code, idx) not in seen:
                seen.add((code, idx))
                code_rows.append({"code": code, "entry_id": first + rank[idx], "priority": priority})
        session.execute(insert(m.SearchCode.__table__), code_rows)
    for sql in backend.build_sql:
        session.execute(text(sql))
    return len(entries)

