"""Declarative base, engine and session per application."""

from __future__ import annotations

import threading
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FuturesTimeout
from dataclasses import dataclass
from datetime import UTC
from functools import partial
from typing import Any

from flask import Flask, current_app, g
from sqlalchemy import (
    ColumnElement,
    DateTime,
    Engine,
    MetaData,
    any_,
    bindparam,
    create_engine,
    event,
    func,
    select,
    text,
    tuple_,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.pool import NullPool
from sqlalchemy.types import TypeDecorator

from amelipro.clock import utcnow  # noqa: F401 - the models' column default (one clock)

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class UTCDateTime(TypeDecorator):
    """Timezone-aware UTC datetimes on both SQLite and PostgreSQL."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is not None:
            if value.tzinfo is None:
                raise ValueError("naive datetime")
            value = value.astimezone(UTC)
        return value

    def process_result_value(self, value, dialect):
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value


@dataclass(frozen=True)
class DbTimeouts:
    """How long anything may wait on the database (settings ``DB_*``; 0: no limit)."""

    statement_ms: int = 0  # PostgreSQL statement_timeout
    lock_ms: int = 0  # PostgreSQL lock_timeout
    connect_s: int = 0  # PostgreSQL connect_timeout
    pool_s: float = 30.0  # waiting for a pooled connection
    sqlite_busy_ms: int = 30000  # SQLite busy_timeout

    @classmethod
    def from_config(cls, config) -> DbTimeouts:
        return cls(int(config.get("DB_STATEMENT_TIMEOUT") or 0), int(config.get("DB_LOCK_TIMEOUT") or 0),
                   int(config.get("DB_CONNECT_TIMEOUT") or 0), float(config.get("DB_POOL_TIMEOUT") or 30),
                   int(config.get("SQLITE_BUSY_TIMEOUT") or 30000))


def make_engine(url: str, timeouts: DbTimeouts | None = None, **extra: Any) -> Engine:
    timeouts = timeouts or DbTimeouts()
    kwargs: dict = {"future": True, **extra}
    if url.startswith("sqlite"):
        kwargs["connect_args"] = {"check_same_thread": False, "timeout": timeouts.sqlite_busy_ms / 1000}
    else:
        kwargs.setdefault("pool_pre_ping", True)
        if kwargs.get("poolclass") is not NullPool:
            kwargs.setdefault("pool_timeout", timeouts.pool_s)
        options = " ".join(
            f"-c {name}={value}" for name, value in
            (("statement_timeout", timeouts.statement_ms), ("lock_timeout", timeouts.lock_ms)) if value
        )
        connect_args: dict[str, Any] = {}
        if options:
            connect_args["options"] = options
        if timeouts.connect_s:
            connect_args["connect_timeout"] = timeouts.connect_s
        kwargs["connect_args"] = connect_args
    engine = create_engine(url, **kwargs)
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", partial(_sqlite_pragmas, busy_ms=timeouts.sqlite_busy_ms))
    return engine


def _sqlite_pragmas(dbapi_conn, _record, busy_ms: int = 30000) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute(f"PRAGMA busy_timeout={int(busy_ms)}")
    cur.close()


class HealthProbe:
    """``/healthz``'s database check, answered within ``deadline`` seconds whatever the
    database does: the query runs on its own connection (never the pool the requests may
    have exhausted), in one background thread; a check still stuck from before answers
    "not ready" at once instead of piling up threads."""

    QUERY = "SELECT version_num FROM alembic_version"

    def __init__(self, url: str, timeouts: DbTimeouts, deadline: float = 0.8) -> None:
        self.deadline = deadline
        quick = DbTimeouts(statement_ms=int(deadline * 1000), lock_ms=int(deadline * 500),
                           connect_s=2, sqlite_busy_ms=int(deadline * 500))
        self._engine = make_engine(url, quick, poolclass=NullPool)
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="amelipro-health")
        self._lock = threading.Lock()
        self._pending: Future | None = None

    def _query(self) -> list[str]:
        with self._engine.connect() as conn:
            return list(conn.execute(text(self.QUERY)).scalars())

    def check(self) -> tuple[str, list[str]]:
        """("ok" | "error" | "timeout" | "busy", migration versions)."""
        with self._lock:
            if self._pending is not None and not self._pending.done():
                return "busy", []
            self._pending = future = self._executor.submit(self._query)
        try:
            return "ok", future.result(timeout=self.deadline)
        except FuturesTimeout:
            return "timeout", []
        except Exception:  # noqa: BLE001 - the health check reports, never raises
            return "error", []


def init_app(app: Flask) -> None:
    url = app.config["DATABASE_URL"]
    if url.startswith("sqlite:///"):
        from pathlib import Path

        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    timeouts = DbTimeouts.from_config(app.config)
    engine = make_engine(url, timeouts)
    app.extensions["amelipro.health"] = HealthProbe(url, timeouts)
    app.extensions["amelipro.engine"] = engine
    app.extensions["amelipro.sessionmaker"] = sessionmaker(engine, expire_on_commit=False)
    app.teardown_appcontext(close_session)


def is_postgresql(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def one_of(session: Session, column: Any, values: Any) -> ColumnElement[bool]:
    """``column IN (values)`` for a long list of strings or integers (a lot's NIR, ids,
    invoice numbers). PostgreSQL: ``column = ANY(:values)``, one array parameter, where an IN
    list has one placeholder per value for SQLAlchemy to render and psycopg to rewrite (4x
    faster for 500 values, measured); SQLite: the IN list. The same rows either way."""
    values = list(values)
    if is_postgresql(session):
        return column == any_(bindparam(None, values, type_=ARRAY(column.type)))
    return column.in_(values)


def filter_only(session: Session, column: Any) -> Any:
    """An integer ``column`` that a term compares without letting SQLite use its index.

    SQLite plans without statistics: it takes an equality on an indexed column (a
    professional's id) over a long IN list on a better index (a lot's NIR), and would read
    every row of that professional to find a few patients' history. ``column + 0`` is not a
    column, so no index serves that term (SQLite's documented way of disqualifying a term);
    the rows are the same. PostgreSQL plans with statistics: the column as is."""
    return column if is_postgresql(session) else column + 0


def pairs_in(session: Session, columns: tuple[Any, Any], pairs: Any) -> ColumnElement[bool]:
    """``(a, b) IN (pairs)`` for a long list of pairs (a lot's patients and days of care).
    PostgreSQL: the pairs as two array parameters (``unnest``), not two placeholders per
    pair; SQLite: a row-value IN list. The same rows either way."""
    a, b = columns
    pairs = list(pairs)
    if is_postgresql(session):
        rows = func.unnest(bindparam(None, [p[0] for p in pairs], type_=ARRAY(a.type)),
                           bindparam(None, [p[1] for p in pairs], type_=ARRAY(b.type)))
        rows = rows.table_valued("a", "b").render_derived()
        return tuple_(a, b).in_(select(rows.c.a, rows.c.b))
    return tuple_(a, b).in_(pairs)


def health_probe() -> HealthProbe:
    return current_app.extensions["amelipro.health"]


def new_session() -> Session:
    """A session outside the request one (CLI commands, workers)."""
    return current_app.extensions["amelipro.sessionmaker"]()


def get_session() -> Session:
    """The request's session, created on first use and closed at teardown."""
    if "db_session" not in g:
        g.db_session = new_session()
    return g.db_session


def close_session(_exc: BaseException | None = None) -> None:
    session = g.pop("db_session", None)
    if session is not None:
        session.close()
