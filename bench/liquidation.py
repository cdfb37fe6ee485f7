"""Liquidation of N accepted tiers-payant FSE (default 100,000) on SQLite and PostgreSQL,
then with two worker processes on PostgreSQL. Prints seconds and FSE/s.

    .venv/bin/python -m bench.liquidation [--count 100000] [--batch-size 2000] [--pg-url URL]

Each run uses a fresh, migrated database; the accepted FSE are written beforehand (not
timed); the timed part is ``amelipro thirdparty liquidate``'s work: intake of the accepted
FSE, pricing of each at its date of care, decisions, virements, transitions and returns.
Target (issue 5): ≤ 60 s for 100,000 FSE on PostgreSQL on a 2-core machine.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import tempfile
import time
from datetime import date
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import sessionmaker

from bench.common import drop_pg, pg_database, quick

PROFESSIONALS = 50
LIQ_DAY = date(2026, 6, 1)


def _prepare(url: str, count: int) -> float:
    """Migrate, create professionals and ``count`` accepted FSE; returns seconds taken."""
    from amelipro.account.banking import BankInput, register_bank_account
    from amelipro.auth.models import Profession, Professional
    from amelipro.db import make_engine
    from amelipro.migrate import upgrade
    from amelipro.models import import_all_models
    from amelipro.thirdparty.demo import generate, insert_accepted

    import_all_models()
    upgrade(url)
    engine = make_engine(url)
    factory = sessionmaker(engine, expire_on_commit=False)
    started = time.perf_counter()
    with factory() as session:
        pros = []
        for n in range(PROFESSIONALS):
            pro = Professional(login=f"bench{n}", password_hash="x", first_name="Banc", last_name=f"N{n}",
                               profession=Profession.MEDECIN_GENERALISTE, rpps=f"9{n:010d}",
                               am_number=f"75{n:06d}1", structure="bench")
            session.add(pro)
            pros.append(pro)
        session.flush()
        ids = [p.id for p in pros]
        for pro_id in ids:  # the liquidation pays only to a bank account in force
            register_bank_account(session, pro_id, BankInput(
                "Banc", "FR76 3000 6000 0112 3456 7890 189", "AGRIFRPP882"), date(2000, 1, 3), "bench")
        items = generate(ids, count, first_day=date(2026, 5, 4), days=20)
        for start in range(0, count, 10_000):
            insert_accepted(session, items[start:start + 10_000], lot_size=500)
            session.commit()
    engine.dispose()
    return time.perf_counter() - started


def _worker(url: str, batch_size: int, name: str, track: bool, queue) -> None:
    from amelipro.db import make_engine
    from amelipro.models import import_all_models
    from amelipro.thirdparty.demo import demo_lookup
    from amelipro.thirdparty.liquidation import LiquidationConfig, run_liquidation

    import_all_models()
    engine = make_engine(url)
    factory = sessionmaker(engine, expire_on_commit=False)
    result = run_liquidation(factory, LiquidationConfig(batch_size=batch_size, today=LIQ_DAY, actor=name),
                             lookup=demo_lookup(), track=track)
    engine.dispose()
    queue.put((name, result.claimed, result.tracked))


def _track_only(url: str) -> float:
    from amelipro.db import make_engine
    from amelipro.thirdparty.tracking import track_accepted

    engine = make_engine(url)
    started = time.perf_counter()
    with sessionmaker(engine)() as session:
        track_accepted(session, actor="bench")
    engine.dispose()
    return time.perf_counter() - started


def _check(url: str, count: int) -> tuple[int, int]:
    from amelipro.db import make_engine
    from amelipro.thirdparty.models import RspReturn

    engine = make_engine(url)
    with sessionmaker(engine)() as session:
        returns = session.scalar(select(func.count()).select_from(RspReturn))
        distinct = session.scalar(select(func.count(func.distinct(RspReturn.payment_id))))
    engine.dispose()
    return returns, distinct


def _run(url: str, count: int, batch_size: int, workers: int) -> dict:
    prepare = _prepare(url, count)
    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    track_seconds = 0.0
    started = time.perf_counter()
    if workers > 1:
        track_seconds = _track_only(url)  # intake once, then workers share the claims
    procs = [ctx.Process(target=_worker, args=(url, batch_size, f"w{i}", workers == 1, queue))
             for i in range(workers)]
    for p in procs:
        p.start()
    results = [queue.get() for _ in procs]
    for p in procs:
        p.join()
    seconds = time.perf_counter() - started
    returns, distinct = _check(url, count)
    return {"prepare": prepare, "seconds": seconds, "claimed": sum(r[1] for r in results),
            "per_worker": sorted(r[1] for r in results), "returns": returns, "distinct": distinct,
            "track": track_seconds}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    count = int(os.environ.get("BENCH_LIQUIDATION_COUNT", 20_000 if quick() else 100_000))
    parser.add_argument("--count", type=int, default=count)
    parser.add_argument("--batch-size", type=int, default=2000)
    parser.add_argument("--skip-sqlite", action="store_true")
    parser.add_argument("--skip-postgresql", action="store_true")
    args = parser.parse_args(argv if argv is not None else [])
    rows = []
    if not args.skip_sqlite:
        with tempfile.TemporaryDirectory() as tmp:
            url = f"sqlite:///{Path(tmp) / 'bench.sqlite3'}"
            rows.append(("SQLite", 1, _run(url, args.count, args.batch_size, 1)))
    if not args.skip_postgresql:
        for workers in (1, 2):
            url = pg_database()
            try:
                rows.append(("PostgreSQL", workers, _run(url, args.count, args.batch_size, workers)))
            finally:
                drop_pg(url)
    print(f"Liquidation de {args.count:,} FSE acceptées (lots de {args.batch_size} ; "
          f"{PROFESSIONALS} professionnels ; {os.cpu_count()} cœurs)")
    print(f"{'base':<12} {'workers':>7} {'secondes':>9} {'FSE/s':>8} {'retours':>8} {'doublons':>8}  répartition")
    for db, workers, r in rows:
        print(f"{db:<12} {workers:>7} {r['seconds']:>9.1f} {r['claimed'] / r['seconds']:>8.0f} "
              f"{r['returns']:>8} {r['returns'] - r['distinct']:>8}  {r['per_worker']}")
    print("(préparation non chronométrée : " + ", ".join(f"{db}/{w} {r['prepare']:.0f} s" for db, w, r in rows) + ")")


if __name__ == "__main__":
    import sys

    main(sys.argv[1:])
