"""The storm: thousands of FSE sent by clients that abort and retry, a gateway worker killed
mid-lot, the database connections cut mid-lot, then two liquidation workers racing.

    .venv/bin/python -m bench.resilience [--lots 40] [--fse 100] [--clients 4] [--seed 13]

PostgreSQL (``AMELIPRO_BENCH_PG_URL``, default the test server), in a database made for the
run and dropped at its end; the gateway is ``amelipro serve``'s stack (gunicorn gthread).
Each lot is sent by ``amelipro.fse.client.submit_lot`` (same Idempotency-Key on every retry,
waiting as ``Retry-After`` says); before that, at random, the client cuts its body midway,
or sends it whole and hangs up without reading the answer. Meanwhile a chaos thread kills
a gateway worker (SIGKILL) and terminates the database connections of busy requests.
Then the accepted FSE, with pairs of FSE built to collide (same care, two invoice numbers),
are liquidated by two worker processes at once.

``AMELIPRO_BENCH_QUICK=1``: 12 lots of 50 FSE.

Prints: FSE sent / stored / duplicated / lost / double-paid (all zero but sent and stored),
and what happened on the way. Bounded: about two minutes on a 2-core machine.
"""

from __future__ import annotations

import argparse
import hashlib
import multiprocessing as mp
import os
import random
import signal
import socket
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import timedelta

from bench.common import Server, quick, serve, signed_lots, site

#: Settings of the gateway for the storm: a claim left by the killed worker is taken over
#: after 8 s (instead of the time derived from the largest lot), Retry-After 1 s.
GATEWAY_SETTINGS = {"IDEMPOTENCY_STALE_SECONDS": "8", "RETRY_AFTER_SECONDS": "1"}
TWIN_PAIRS = 400


@dataclass
class Storm:
    outcomes: dict[int, tuple[int, int]] = field(default_factory=dict)  # lot -> (status, accepted)
    events: Counter = field(default_factory=Counter)
    errors: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def count(self, what: str, n: int = 1) -> None:
        with self.lock:
            self.events[what] += n


def _raw_post(port: int, token: str, body: bytes, send: int, read: bool) -> None:
    """POST ``body`` announcing its full length but sending ``send`` bytes; hang up at once
    unless ``read``."""
    key = "sha256-" + hashlib.sha256(body).hexdigest()
    head = (f"POST /api/v1/lots HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/xml\r\n"
            f"Authorization: Bearer {token}\r\nIdempotency-Key: {key}\r\n"
            f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n").encode()
    with socket.create_connection(("127.0.0.1", port), timeout=60) as sock:
        sock.sendall(head + body[:send])
        if read:
            sock.shutdown(socket.SHUT_WR)
            while sock.recv(65536):
                pass


def _client(port: int, token: str, lots: list[tuple[int, bytes]], storm: Storm, seed: int) -> None:
    from amelipro.fse.client import NotSentError, submit_lot
    from amelipro.xmlcore.arl import read_arl

    rng = random.Random(seed)
    for index, body in lots:
        roll = rng.random()
        try:
            if roll < 0.25:
                _raw_post(port, token, body, rng.randrange(1, len(body)), read=rng.random() < 0.5)
                storm.count("corps coupé puis renvoyé")
            elif roll < 0.5:
                _raw_post(port, token, body, len(body), read=False)
                storm.count("réponse abandonnée puis renvoyé")
        except OSError:
            storm.count("abandon client (erreur réseau)")
        try:
            result = submit_lot(body, f"http://127.0.0.1:{port}", token, retries=200, max_wait=120,
                                timeout=60, backoff=0.2,
                                on_retry=lambda n, why: storm.count(f"nouvel essai ({why.split(' ;')[0]})"))
        except NotSentError as exc:
            storm.errors.append(f"lot {index}: {exc}")
            continue
        accepted = read_arl(result.body).accepted if result.status == 201 else 0
        with storm.lock:
            storm.outcomes[index] = (result.status, accepted)
        if result.replayed:
            storm.count("réponse rejouée (même clé)")


def _chaos(server: Server, url: str, storm: Storm, done: threading.Event, total: int) -> None:
    """Kill a gateway worker once a quarter of the lots are in, then cut the database
    connections of busy requests, three times."""
    from sqlalchemy import create_engine, text

    def progress() -> float:
        with storm.lock:
            return len(storm.outcomes) / total

    while not done.is_set() and progress() < 0.25:
        time.sleep(0.2)
    workers = server.worker_pids()
    if workers and not done.is_set():
        os.kill(workers[0], signal.SIGKILL)
        storm.count("worker de la passerelle tué (SIGKILL)")
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    for threshold in (0.45, 0.6, 0.75):
        while not done.is_set() and progress() < threshold:
            time.sleep(0.2)
        if done.is_set():
            break
        with engine.connect() as conn:
            cut = conn.execute(text(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid() "
                "AND state IN ('active', 'idle in transaction')")).scalar_one()
        storm.count("connexions à la base coupées en cours de lot", cut)
    engine.dispose()


def _audit(url: str, lots: list[tuple[int, bytes]], sent: int, storm: Storm) -> dict[str, int]:
    from sqlalchemy import create_engine, func, select

    from amelipro.fse.models import FseStatus, Lot, StoredFse

    engine = create_engine(url)
    figures = Counter()
    with engine.connect() as conn:
        for index, body in lots:
            figures["sent"] += sent
            digest = hashlib.sha256(body).hexdigest()
            recorded = conn.execute(select(Lot.id).where(Lot.body_sha256 == digest)).scalars().all()
            if len(recorded) > 1:
                figures["duplicated"] += sent * (len(recorded) - 1)
            stored = conn.scalar(select(func.count()).select_from(StoredFse)
                                 .where(StoredFse.lot_id.in_(recorded or [-1])))
            figures["stored"] += min(stored, sent)
            status, accepted = storm.outcomes.get(index, (0, 0))
            if status != 201 or not recorded:
                figures["lost"] += sent
            else:
                figures["lost"] += max(0, sent - stored)
                figures["accepted"] += accepted
        figures["duplicated"] += conn.scalar(select(func.count()).select_from(StoredFse)
                                             .where(StoredFse.status == FseStatus.DUPLICATE))
    engine.dispose()
    return figures


def _twins(url: str) -> None:
    """Pairs of accepted FSE for the same care under two invoice numbers, in blocks of the
    liquidation batch so that the two workers claim the two twins at the same moment."""
    from dataclasses import replace

    from sqlalchemy import select
    from sqlalchemy.orm import sessionmaker

    from amelipro.auth.models import Professional
    from amelipro.clock import paris_today
    from amelipro.db import make_engine
    from amelipro.thirdparty.demo import generate, insert_accepted
    from amelipro.thirdparty.tracking import track_accepted

    engine = make_engine(url)
    with sessionmaker(engine, expire_on_commit=False)() as session:
        pro = session.scalar(select(Professional).where(Professional.login == "medecin.demo"))
        items = generate([pro.id], 2 * TWIN_PAIRS, first_day=paris_today() - timedelta(days=12), days=1,
                         prefix="TWIN")
        twins = [replace(items[n + TWIN_PAIRS], nir=items[n].nir, birth_date=items[n].birth_date)
                 for n in range(TWIN_PAIRS)]
        ordered = []
        for start in range(0, TWIN_PAIRS, 50):
            ordered += items[start:start + 50] + twins[start:start + 50]
        insert_accepted(session, ordered, lot_size=2 * TWIN_PAIRS)
        session.commit()
        track_accepted(session, actor="bench-resilience")
    engine.dispose()


def _liquidate(url: str, name: str, queue) -> None:
    from sqlalchemy.orm import sessionmaker

    from amelipro.db import make_engine
    from amelipro.models import import_all_models
    from amelipro.thirdparty.demo import demo_lookup
    from amelipro.thirdparty.liquidation import LiquidationConfig, run_liquidation

    import_all_models()
    engine = make_engine(url)
    result = run_liquidation(sessionmaker(engine, expire_on_commit=False),
                             LiquidationConfig(batch_size=50, actor=name), lookup=demo_lookup(), track=False)
    engine.dispose()
    queue.put((name, result.claimed))


def _race(url: str) -> tuple[list[int], int]:
    from sqlalchemy import create_engine, func, select

    from amelipro.thirdparty.models import Payment
    from amelipro.thirdparty.states import PaymentStatus

    _twins(url)
    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    procs = [ctx.Process(target=_liquidate, args=(url, f"w{i}", queue)) for i in (1, 2)]
    for p in procs:
        p.start()
    claimed = sorted(queue.get(timeout=300)[1] for _ in procs)
    for p in procs:
        p.join(60)
    engine = create_engine(url)
    with engine.connect() as conn:
        key = (Payment.professional_id, Payment.patient_nir, Payment.care_date, Payment.amo_claimed)
        paid = select(*key, func.count().label("n")).where(
            Payment.status.in_([PaymentStatus.PAID, PaymentStatus.ADJUSTED])).group_by(*key).subquery()
        double = conn.scalar(select(func.coalesce(func.sum(paid.c.n - 1), 0)).where(paid.c.n > 1))
    engine.dispose()
    return claimed, int(double)


def run(n_lots: int, n_fse: int, clients: int, seed: int) -> None:
    started = time.monotonic()
    with site("postgresql") as where:
        url = where.url
        lots = list(enumerate(signed_lots(where, [n_fse] * n_lots, first_seed=1), start=1))
        prepared = time.monotonic() - started
        server = serve(where, GATEWAY_SETTINGS)
        try:
            storm, done = Storm(), threading.Event()
            chaos = threading.Thread(target=_chaos, args=(server, url, storm, done, len(lots)), daemon=True)
            shares = [lots[i::clients] for i in range(clients)]
            threads = [threading.Thread(target=_client, args=(server.port, where.token, share, storm, seed + i),
                                        daemon=True)
                       for i, share in enumerate(shares)]
            storm_started = time.monotonic()
            chaos.start()
            for t in threads:
                t.start()
            for t in threads:
                t.join(600)
            done.set()
            chaos.join(30)
            storm_seconds = time.monotonic() - storm_started
        finally:
            server.stop()
        figures = _audit(url, lots, n_fse, storm)
        race_started = time.monotonic()
        claimed, double_paid = _race(url)
        race_seconds = time.monotonic() - race_started
    print(f"{len(lots)} lots de {n_fse} FSE, {clients} clients, gunicorn gthread ; préparation "
          f"{prepared:.0f} s, tempête {storm_seconds:.0f} s, liquidation {race_seconds:.0f} s")
    print(f"{'envoyées':>9} {'stockées':>9} {'dupliquées':>11} {'perdues':>8} {'payées 2 fois':>14}")
    print(f"{figures['sent']:>9} {figures['stored']:>9} {figures['duplicated']:>11} {figures['lost']:>8} "
          f"{double_paid:>14}")
    print(f"FSE acceptées selon les ARL : {figures['accepted']} ; liquidation : 2 workers, "
          f"{' + '.join(map(str, claimed))} paiements pris, {TWIN_PAIRS} paires de FSE jumelles")
    for what, n in sorted(storm.events.items(), key=lambda kv: -kv[1]):
        print(f"  {n:>5} × {what}")
    for error in storm.errors[:5]:
        print(f"  ÉCHEC {error[:200]}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lots", type=int, default=12 if quick() else 40)
    parser.add_argument("--fse", type=int, default=50 if quick() else 100)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--seed", type=int, default=13)
    args = parser.parse_args(argv if argv is not None else [])
    run(args.lots, args.fse, args.clients, args.seed)


if __name__ == "__main__":
    main(sys.argv[1:])
