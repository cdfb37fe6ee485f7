"""Batched writes of the tiers-payant tables, for both databases (no commit here).

- :func:`bulk_insert`: append many rows in one statement (COPY on PostgreSQL, executemany
  on SQLite);
- :func:`insert_ignore`: INSERT … ON CONFLICT DO NOTHING … RETURNING, many rows at once;
- :func:`insert_numbered`: the same on SQLite under its write lock, ids given by the caller's
  transaction (one plain executemany);
- :func:`bump_counter`: a named counter incremented under a row lock held until commit
  (the returns cursor, and the locks that serialise intakes and SQLite claims).
"""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from amelipro.thirdparty.models import Counter

RSP_COUNTER = "rsp_cursor"
CLAIM_COUNTER = "claims"
INTAKE_COUNTER = "intake"


def is_postgresql(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def _insert(session: Session, model):
    return (postgresql if is_postgresql(session) else sqlite).insert(model)


def bulk_insert(session: Session, table, rows: list[dict]) -> None:
    """Append rows in the session's transaction: COPY on PostgreSQL, executemany on SQLite.

    Rows are dicts with the same keys in the same order, holding plain values (enum members
    as their ``.value``)."""
    if not rows:
        return
    if not is_postgresql(session):
        session.execute(table.insert(), rows)
        return
    quoted = ", ".join(f'"{c}"' for c in rows[0])
    raw = session.connection().connection.driver_connection
    with raw.cursor() as cursor, cursor.copy(f'COPY "{table.name}" ({quoted}) FROM STDIN') as copy:
        write = copy.write_row
        for row in rows:
            write(tuple(row.values()))


def insert_ignore(session: Session, model, rows: list[dict], conflict: list[str] | None, returning):
    """INSERT … ON CONFLICT DO NOTHING on ``conflict``'s unique index, or on any unique
    constraint when ``conflict`` is None; the ``returning`` columns of the rows inserted."""
    # The table, not the mapped class: a plain Core executemany (the ORM's bulk path adds
    # nothing here but its per-row bookkeeping).
    table = getattr(model, "__table__", model)
    stmt = _insert(session, table).on_conflict_do_nothing(index_elements=conflict).returning(*returning)
    return session.execute(stmt, rows).all() if rows else []


def insert_numbered(session: Session, table, rows: list[dict], key: str) -> list[tuple[int, object]]:
    """SQLite: INSERT … ON CONFLICT (``key``) DO NOTHING of rows numbered here; (id, key) of
    the rows inserted, in order. Each row gets its ``id``.

    For a transaction that holds SQLite's write lock (it has written already): the ids SQLite
    would give are the table's largest + 1, in order, and one plain executemany with them
    replaces INSERT … RETURNING (whose statement is built for every row). Rows skipped by a
    conflict leave their id unused; the ids really used are then read back.
    """
    if not rows:
        return []
    first = (session.scalar(select(func.max(table.c.id))) or 0) + 1
    for number, row in enumerate(rows, start=first):
        row["id"] = number
    stmt = sqlite.insert(table).on_conflict_do_nothing(index_elements=[key])
    if session.execute(stmt, rows).rowcount == len(rows):
        return [(row["id"], row[key]) for row in rows]
    return [(number, value) for number, value in session.execute(
        select(table.c.id, table.c[key]).where(table.c.id >= first).order_by(table.c.id))]


def bump_counter(session: Session, name: str, by: int) -> int:
    """Add ``by`` to a counter and return the new value; the row stays locked until commit."""
    stmt = _insert(session, Counter).values(name=name, value=by)
    stmt = stmt.on_conflict_do_update(
        index_elements=["name"], set_={"value": Counter.value + stmt.excluded.value}
    ).returning(Counter.value)
    return int(session.execute(stmt).scalar_one())
