"""Idempotency keys: claim, replay, other body refused, in progress, stale takeover, threads."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy import func, select, text, update
from sqlalchemy.orm import Session

from amelipro.db import utcnow
from amelipro.errors import AmeliproError
from amelipro.fse import idempotency
from amelipro.fse.models import IdempotencyKey, IdempotencyState
from tests.support import run_threads


def test_claim_complete_replay(app, db_session, make_professional):
    pro = make_professional()
    h = idempotency.request_hash("POST", "/api/v1/lots", b"<Lot/>")
    got = idempotency.claim(db_session, pro.id, "k-1", h)
    assert isinstance(got, idempotency.Claim)
    idempotency.complete(db_session, got, 201, "application/xml", b"<ARL/>")
    db_session.commit()
    again = idempotency.claim(db_session, pro.id, "k-1", h)
    assert again == idempotency.Replay(201, "application/xml", b"<ARL/>")


def test_same_key_other_body_refused(app, db_session, make_professional):
    pro = make_professional()
    first = idempotency.claim(db_session, pro.id, "k-2", idempotency.request_hash("POST", "/x", b"a"))
    idempotency.complete(db_session, first, 201, "application/xml", b"<ARL/>")
    db_session.commit()
    with pytest.raises(AmeliproError) as exc:
        idempotency.claim(db_session, pro.id, "k-2", idempotency.request_hash("POST", "/x", b"b"))
    assert exc.value.code == "FSE-IDEM-002"


def test_in_progress_conflict_then_stale_takeover(app, db_session, make_professional):
    pro = make_professional()
    h = idempotency.request_hash("POST", "/x", b"a")
    first = idempotency.claim(db_session, pro.id, "k-3", h)
    with pytest.raises(AmeliproError) as exc:
        idempotency.claim(db_session, pro.id, "k-3", h)
    assert exc.value.code == "FSE-IDEM-003" and exc.value.status == 409
    assert 1 <= exc.value.extra["retry_after"] <= idempotency.IN_PROGRESS_RETRY_AFTER
    stale = timedelta(seconds=30)
    db_session.execute(update(IdempotencyKey).where(IdempotencyKey.id == first.id).values(
        created_at=utcnow() - stale - timedelta(seconds=1)))
    db_session.commit()
    taken = idempotency.claim(db_session, pro.id, "k-3", h, stale)
    assert isinstance(taken, idempotency.Claim) and (taken.id, taken.key) == (first.id, "k-3")
    # The overtaken request can no longer record its answer; the one that took over can.
    with pytest.raises(idempotency.ClaimLostError):
        idempotency.complete(db_session, first, 201, "application/xml", b"<ARL/>")
    db_session.rollback()
    idempotency.complete(db_session, taken, 201, "application/xml", b"<ARL/>")
    db_session.commit()
    assert isinstance(idempotency.claim(db_session, pro.id, "k-3", h, stale), idempotency.Replay)


def test_stale_time_is_bounded_and_tied_to_the_largest_lot():
    assert idempotency.stale_after({"IDEMPOTENCY_STALE_SECONDS": 7}) == timedelta(seconds=7)
    default = idempotency.stale_after({"XML_MAX_BYTES": 20 * 1024 * 1024})
    assert timedelta(seconds=60) <= default <= timedelta(minutes=3)
    assert idempotency.stale_after({"XML_MAX_BYTES": 100 * 1024 * 1024}) > default
    assert idempotency.stale_after({"XML_MAX_BYTES": 1000}) == timedelta(seconds=idempotency.MIN_STALE_SECONDS)


def test_release_works_when_the_request_connection_is_dead(app, db_session, make_professional):
    """The request's own connection died (why it failed): the claim is released anyway."""
    pro = make_professional()
    h = idempotency.request_hash("POST", "/x", b"a")
    first = idempotency.claim(db_session, pro.id, "k-dead", h)
    db_session.execute(select(IdempotencyKey.id))  # the request's transaction holds a connection
    raw = db_session.connection().connection.dbapi_connection
    if db_session.get_bind().dialect.name == "postgresql":
        pid = db_session.execute(text("SELECT pg_backend_pid()")).scalar_one()
        with db_session.get_bind().connect() as other:
            other.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
    raw.close()
    assert idempotency.release(db_session, first) is True
    db_session.close()
    with Session(db_session.get_bind()) as fresh:
        assert fresh.scalar(select(func.count()).select_from(IdempotencyKey)) == 0
        assert isinstance(idempotency.claim(fresh, pro.id, "k-dead", h), idempotency.Claim)


def test_release_lets_the_client_retry(app, db_session, make_professional):
    pro = make_professional()
    h = idempotency.request_hash("POST", "/x", b"a")
    first = idempotency.claim(db_session, pro.id, "k-4", h)
    idempotency.release(db_session, first)
    assert isinstance(idempotency.claim(db_session, pro.id, "k-4", h), idempotency.Claim)


def test_keys_are_scoped_by_professional(app, db_session, make_professional):
    a, b = make_professional(), make_professional()
    h1, h2 = (idempotency.request_hash("POST", "/x", body) for body in (b"a", b"b"))
    assert isinstance(idempotency.claim(db_session, a.id, "same", h1), idempotency.Claim)
    assert isinstance(idempotency.claim(db_session, b.id, "same", h2), idempotency.Claim)


@pytest.mark.parametrize("raw", ["", " ", "é", "a b", "x" * 256])
def test_invalid_keys(raw):
    with pytest.raises(AmeliproError) as exc:
        idempotency.check_key(raw)
    assert exc.value.code == "FSE-IDEM-001"


def test_concurrent_claims_one_winner(app, make_professional):
    """Eight threads claim the same key at once: exactly one owns it, the others get 409."""
    pro = make_professional()
    h = idempotency.request_hash("POST", "/x", b"a")
    barrier = threading.Barrier(8)
    outcomes: list[str] = []
    lock = threading.Lock()

    def worker():
        with app.app_context():
            session = app.extensions["amelipro.sessionmaker"]()
            barrier.wait()
            try:
                got = idempotency.claim(session, pro.id, "race", h)
                result = "claim" if isinstance(got, idempotency.Claim) else "replay"
            except AmeliproError as exc:
                result = exc.code
            finally:
                session.close()
            with lock:
                outcomes.append(result)

    run_threads(worker, [()] * 8)
    assert sorted(outcomes) == ["FSE-IDEM-003"] * 7 + ["claim"]
    with app.app_context():
        session = app.extensions["amelipro.sessionmaker"]()
        assert session.scalar(select(func.count()).select_from(IdempotencyKey)) == 1
        assert session.scalar(select(IdempotencyKey.state)) == IdempotencyState.IN_PROGRESS
        session.close()
