"""Two liquidation workers at once never pay an FSE twice (PostgreSQL: SKIP LOCKED claims)."""

from __future__ import annotations

import threading
from datetime import date
from decimal import Decimal

from sqlalchemy import func, select

from amelipro.thirdparty.demo import generate, insert_accepted
from amelipro.thirdparty.liquidation import LiquidationConfig, run_liquidation
from amelipro.thirdparty.models import Payment, PaymentTransition, RspReturn, Virement
from amelipro.thirdparty.states import PaymentStatus
from amelipro.thirdparty.tracking import track_accepted
from amelipro.thirdparty.virements import virement_views
from tests.support import run_threads


def _accepted_fse(make_professional, tp_session, professionals: int, count: int, days: int) -> list:
    """``count`` FSE accepted by the caisse for ``professionals`` new professionals over
    ``days`` days from 4 May 2026; the professionals."""
    pros = [make_professional() for _ in range(professionals)]
    with tp_session() as s:
        insert_accepted(s, generate([p.id for p in pros], count, first_day=date(2026, 5, 4), days=days))
        s.commit()
    return pros


def _two_workers(tp_session, tp_lookup, batch_size: int, actor: str = "worker-", **run) -> list:
    """Two liquidation runs started at the same moment (actors ``<actor>1`` and ``<actor>2``);
    their results once both have finished without an error."""
    barrier = threading.Barrier(2)
    results, failures = [], []

    def worker(name: str) -> None:
        try:
            barrier.wait(timeout=30)
            results.append(run_liquidation(
                tp_session, LiquidationConfig(batch_size=batch_size, today=date(2026, 5, 22), actor=name),
                lookup=tp_lookup, **run))
        except Exception as exc:  # noqa: BLE001 - reported below
            failures.append(exc)

    run_threads(worker, [(f"{actor}{i}",) for i in (1, 2)], timeout=300)
    assert not failures, failures
    return results


def test_two_workers_never_pay_twice(app, make_professional, tp_lookup, tp_session):
    count = 1200
    pros = _accepted_fse(make_professional, tp_session, 5, count, days=5)
    with tp_session() as s:
        assert track_accepted(s) == count

    results = _two_workers(tp_session, tp_lookup, batch_size=40, track=False)
    assert sum(r.claimed for r in results) == count
    if app.extensions["amelipro.engine"].dialect.name == "postgresql":
        assert all(r.claimed > 0 for r in results), [r.claimed for r in results]

    with tp_session() as s:
        assert s.scalar(select(func.count()).select_from(RspReturn)) == count
        assert s.scalar(select(func.count(func.distinct(RspReturn.payment_id)))) == count
        cursors = s.scalars(select(RspReturn.cursor).order_by(RspReturn.cursor)).all()
        assert cursors == list(range(1, count + 1))
        assert s.scalar(select(func.count()).select_from(Payment)
                        .where(Payment.status == PaymentStatus.PAID)) == count
        # exactly one liquidate and one pay transition per FSE
        pays = s.execute(select(PaymentTransition.payment_id, func.count())
                         .where(PaymentTransition.event == "pay")
                         .group_by(PaymentTransition.payment_id)).all()
        assert len(pays) == count and {n for _, n in pays} == {1}
        views = [v for p in pros for v in virement_views(s, p)]
        assert len(views) == len(pros) == s.scalar(select(func.count()).select_from(Virement))
        assert sum(v.amount for v in views) == Decimal("21.00") * count
        assert sum(v.fse_count for v in views) == count


def test_two_workers_racing_from_intake(app, make_professional, tp_lookup, tp_session):
    """Both workers take in and liquidate at once: each FSE tracked once, paid once."""
    count = 600
    _accepted_fse(make_professional, tp_session, 3, count, days=3)
    results = _two_workers(tp_session, tp_lookup, batch_size=25, actor="w")
    assert sum(r.tracked for r in results) == count
    assert sum(r.claimed for r in results) == count
    with tp_session() as s:
        assert s.scalar(select(func.count()).select_from(Payment)) == count
        assert s.scalar(select(func.count(func.distinct(RspReturn.payment_id)))) == count
        acks = s.scalar(select(func.count()).select_from(PaymentTransition)
                        .where(PaymentTransition.event == "acknowledge"))
        assert acks == count


def test_two_workers_never_pay_the_same_care_twice_under_two_invoice_numbers(
        app, make_professional, tp_lookup, tp_session):
    """Lots built to collide: every care is billed twice (same professional, patient, date and
    amount, two invoice numbers), the twins far apart so that the two workers claim them in
    different batches at the same moment. Exactly one of each pair is paid."""
    from dataclasses import replace

    pro = make_professional()
    half, batch = 300, 20
    items = generate([pro.id], 2 * half, first_day=date(2026, 5, 4), days=1)
    twins = [replace(items[n + half], nir=items[n].nir, birth_date=items[n].birth_date)
             for n in range(half)]
    # Claims go by payment id: a block of originals, then their twins, and so on, so that
    # the two workers' first batches (and most later ones) hold the two twins of each pair.
    ordered = []
    for start in range(0, half, batch):
        ordered += items[start:start + batch] + twins[start:start + batch]
    with tp_session() as s:
        insert_accepted(s, ordered, lot_size=2 * half)
        s.commit()
    with tp_session() as s:
        assert track_accepted(s) == 2 * half

    results = _two_workers(tp_session, tp_lookup, batch_size=batch, track=False)
    assert sum(r.claimed for r in results) == 2 * half

    with tp_session() as s:
        paid = s.execute(
            select(Payment.professional_id, Payment.patient_nir, Payment.care_date, func.count())
            .where(Payment.status.in_([PaymentStatus.PAID, PaymentStatus.ADJUSTED]))
            .group_by(Payment.professional_id, Payment.patient_nir, Payment.care_date)).all()
        assert len(paid) == half
        double = [row for row in paid if row[3] > 1]
        assert double == [], f"{len(double)} cares paid twice"
        assert s.scalar(select(func.count()).select_from(Payment)
                        .where(Payment.status == PaymentStatus.REJECTED)) == half
