"""Concurrent submissions (threads, real database): one lot per idempotency key, one
accepted FSE per invoice number. Runs on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
from dataclasses import replace

from sqlalchemy import func, select

from amelipro.fse.models import FseStatus, Lot, StoredFse
from tests.support import run_threads


def _post_all(app, bodies, headers_list):
    """Post every body at once from its own thread; returns the responses in order."""
    barrier = threading.Barrier(len(bodies))
    results: list = [None] * len(bodies)

    def worker(i):
        client = app.test_client()
        barrier.wait()
        results[i] = client.post("/api/v1/lots", data=bodies[i], headers=headers_list[i])

    run_threads(worker, [(i,) for i in range(len(bodies))])
    return results


def _headers(env, **extra):
    return {"Authorization": f"Bearer {env.token}", "Content-Type": "application/xml", **extra}


def _scalar(env, stmt):
    with env.app.app_context():
        session = env.app.extensions["amelipro.sessionmaker"]()
        value = session.scalar(stmt)
        session.close()
    return value


def test_concurrent_requests_with_the_same_key(fse_env):
    body = fse_env.lot(fse_env.sheets(20).sheets)
    responses = _post_all(fse_env.app, [body] * 4, [_headers(fse_env, **{"Idempotency-Key": "same"})] * 4)
    statuses = sorted(r.status_code for r in responses)
    assert set(statuses) <= {201, 409} and 201 in statuses, statuses
    assert len({r.data for r in responses if r.status_code == 201}) == 1  # replays are the first answer
    for r in responses:
        if r.status_code == 409:
            assert r.get_json()["errors"][0]["code"] == "FSE-IDEM-003"
    assert _scalar(fse_env, select(func.count()).select_from(Lot)) == 1
    assert _scalar(fse_env, select(func.count()).select_from(StoredFse)) == 20


def test_concurrent_lots_claiming_one_invoice_number(fse_env):
    sheets = fse_env.sheets(3).sheets
    variant = [replace(s, tiers_payant_amc=not s.tiers_payant_amc) for s in sheets]
    bodies = [fse_env.lot(sheets, number="L-A"), fse_env.lot(variant, number="L-B"), fse_env.lot(sheets, number="L-C")]
    responses = _post_all(fse_env.app, bodies, [_headers(fse_env)] * 3)
    assert [r.status_code for r in responses] == [201, 201, 201]
    for sheet in sheets:
        accepted = _scalar(fse_env, select(func.count()).select_from(StoredFse).where(
            StoredFse.invoice_number == sheet.invoice_number, StoredFse.status == FseStatus.ACCEPTED))
        assert accepted == 1
    assert _scalar(fse_env, select(func.count()).select_from(Lot)) == 3
    assert _scalar(fse_env, select(func.count()).select_from(StoredFse)) == 9
