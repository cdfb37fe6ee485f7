"""A failing database never parks the service: statement and lock timeouts, 503 ``GEN-DB`` with
``Retry-After`` (JSON for the API), and /healthz answering within a second whatever happens.

Each test holds a real lock in another connection (PostgreSQL: ``LOCK TABLE``; SQLite: the
write lock of ``BEGIN IMMEDIATE``), or points the application at a server that never answers.
"""

from __future__ import annotations

import socket
import time

import pytest
from sqlalchemy import create_engine, text

from amelipro import create_app
from amelipro.fse.models import IdempotencyKey, Lot
from tests.conftest import TEST_DB
from tests.support import count_rows


@pytest.fixture
def app_config(app_config):
    return {**app_config, "DB_LOCK_TIMEOUT": 300, "DB_STATEMENT_TIMEOUT": 3000,
            "SQLITE_BUSY_TIMEOUT": 300, "RETRY_AFTER_SECONDS": 7}


#: /healthz answers by its 0.8 s deadline; the margin is for a loaded test machine (the lock
#: held here would otherwise make it wait for the whole lock or statement timeout).
HEALTH_BOUND = 1.5


def _headers(env, **extra) -> dict:
    return {"Authorization": f"Bearer {env.token}", "Content-Type": "application/xml", **extra}


class HeldLock:
    """Another connection holding a lock on ``tables`` until ``release()``."""

    def __init__(self, app, *tables: str) -> None:
        url = app.config["DATABASE_URL"]
        self.engine = create_engine(url, isolation_level="AUTOCOMMIT" if url.startswith("sqlite") else None)
        self.conn = self.engine.connect()
        if self.engine.dialect.name == "sqlite":
            self.conn.exec_driver_sql("BEGIN IMMEDIATE")  # the database's write lock
        else:
            self.conn.begin()
            for table in tables:
                self.conn.execute(text(f'LOCK TABLE "{table}" IN ACCESS EXCLUSIVE MODE'))

    def release(self) -> None:
        if self.engine.dialect.name == "sqlite":
            self.conn.exec_driver_sql("ROLLBACK")
        else:
            self.conn.rollback()
        self.conn.close()
        self.engine.dispose()


def _timed(call):
    started = time.monotonic()
    response = call()
    return response, time.monotonic() - started


def test_locked_fse_table_answers_503_with_retry_after_and_healthz_stays_quick(client, fse_env):
    body = fse_env.lot(fse_env.sheets(1).sheets)
    lock = HeldLock(fse_env.app, "fse", "fse_lot")
    try:
        response, took = _timed(lambda: client.post(
            "/api/v1/lots", data=body, headers=_headers(fse_env, **{"Idempotency-Key": "locked-1"})))
        assert response.status_code == 503, response.data[:300]
        assert response.get_json()["errors"][0]["code"] == "GEN-DB"
        assert response.headers["Retry-After"] == "7" and took < 10
        listed = client.get("/api/v1/lots", headers=_headers(fse_env))
        assert listed.status_code == 503 and listed.is_json
        assert listed.get_json()["errors"][0]["code"] == "GEN-DB"
        health, took = _timed(lambda: client.get("/healthz"))
        assert took < HEALTH_BOUND and health.is_json
    finally:
        lock.release()
    # Nothing recorded, and the claim was released: the same request now goes through.
    assert count_rows(fse_env.app, Lot) == 0 and count_rows(fse_env.app, IdempotencyKey) == 0
    again = client.post("/api/v1/lots", data=body, headers=_headers(fse_env, **{"Idempotency-Key": "locked-1"}))
    assert again.status_code == 201


def test_healthz_within_a_second_when_its_own_table_is_locked(client, app):
    assert client.get("/healthz").status_code == 200
    lock = HeldLock(app, "alembic_version")
    try:
        for _ in range(3):  # a stuck check is not piled up: each answer stays quick
            health, took = _timed(lambda: client.get("/healthz"))
            assert took < HEALTH_BOUND
            if app.extensions["amelipro.engine"].dialect.name == "postgresql":
                assert health.status_code == 503 and health.get_json()["status"] == "error"
                assert health.headers["Retry-After"]
    finally:
        lock.release()
    time.sleep(1.0)  # the stuck check (if any) ends with its statement timeout
    assert client.get("/healthz").status_code == 200


def test_statement_timeout_answers_503(app, client, fse_env):
    if app.extensions["amelipro.engine"].dialect.name != "postgresql":
        pytest.skip("statement_timeout is a PostgreSQL setting")
    slow = create_app({**app.config, "DB_LOCK_TIMEOUT": 0, "DB_STATEMENT_TIMEOUT": 400})
    try:
        lock = HeldLock(app, "fse_lot")
        try:
            response, took = _timed(lambda: slow.test_client().get("/api/v1/lots", headers=_headers(fse_env)))
        finally:
            lock.release()
    finally:
        slow.extensions["amelipro.engine"].dispose()
    assert response.status_code == 503 and response.get_json()["errors"][0]["code"] == "GEN-DB"
    assert took < 5


@pytest.fixture
def silent_server():
    """A TCP server that accepts connections and never says a word (a database that hangs)."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    yield listener.getsockname()[1]
    listener.close()


def test_a_database_that_never_answers(app_config, silent_server):
    url = f"postgresql+psycopg://amelipro@127.0.0.1:{silent_server}/amelipro"
    hanging = create_app({**app_config, "DATABASE_URL": url, "DB_CONNECT_TIMEOUT": 2})
    try:
        client = hanging.test_client()
        health, took = _timed(lambda: client.get("/healthz"))
        assert health.status_code == 503 and health.is_json and took < HEALTH_BOUND
        api, took = _timed(lambda: client.get("/api/v1/me", headers={"Authorization": "Bearer x"}))
        assert api.status_code == 503 and api.get_json()["errors"][0]["code"] == "GEN-DB"
        assert api.headers["Retry-After"] == "7" and took < 10
        page = client.post("/connexion", data={"login": "a", "password": "b"},
                           headers={"Accept": "text/html"})
        assert page.status_code in {400, 503}  # CSRF refuses first (400) or the database (503)
    finally:
        hanging.extensions["amelipro.engine"].dispose()


@pytest.mark.skipif(TEST_DB != "postgresql", reason="PostgreSQL: the FSE rows go in by COPY")
def test_connection_lost_during_the_copy_of_the_fse_answers_503_and_the_lot_goes_again(
        client, fse_env, monkeypatch):
    """The request's connection is cut by the server just before the lot's FSE are copied in
    (as a database restart would): 503 GEN-DB to retry, nothing stored; sent again, recorded."""
    from amelipro.fse import services

    real = services.bulk_insert
    cuts = []

    def cut_then_copy(session, table, rows):
        if not cuts:
            pid = session.execute(text("SELECT pg_backend_pid()")).scalar_one()
            with session.get_bind().connect() as other:
                other.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
                other.commit()
            cuts.append(pid)
        return real(session, table, rows)

    monkeypatch.setattr(services, "bulk_insert", cut_then_copy)
    body = fse_env.lot(fse_env.sheets(3).sheets)
    response = client.post("/api/v1/lots", data=body, headers=_headers(fse_env, **{"Idempotency-Key": "cut-copy"}))
    assert cuts and response.status_code == 503, response.data[:300]
    assert response.get_json()["errors"][0]["code"] == "GEN-DB" and response.headers["Retry-After"] == "7"
    assert count_rows(fse_env.app, Lot) == 0
    again = client.post("/api/v1/lots", data=body, headers=_headers(fse_env, **{"Idempotency-Key": "cut-copy"}))
    assert again.status_code == 201 and count_rows(fse_env.app, Lot) == 1
