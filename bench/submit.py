"""FSE submission end to end: signed lots of 1,000 FSE through gunicorn on SQLite and
PostgreSQL, beside the floor measured in the same run on the same lots and database; then a
10,000-FSE lot and the peak memory of the worker that served it.

    .venv/bin/python -m bench.submit [--fse 1000] [--lots 5] [--clients 4] [--db sqlite,postgresql]
                                     [--big-fse 10000] [--big-db postgresql] [--parallel-read on|off]

End to end: ``POST /api/v1/lots`` (HTTP, the lot verified, checked, priced, persisted and its
signed ARL returned) through ``amelipro serve``'s stack with its default workers.
Floor: what no gateway can skip, in this process, with the project's own functions:
``amelipro.xmlcore.lot.read_lot`` (safe parse, lot XSD, strict verification of each FSE's
signature under the configured ``VerifyPolicy``, FSE XSD on the signed content), then one
batched insert (``executemany``) of rows shaped like the real ``fse`` rows (a row the gateway
wrote, with each FSE's own element, hash, invoice number and NIR) and of their lot row, in one
committed transaction on the same database. Floor and end to end alternate lot by lot, so
that both see the same machine load; each rate is the FSE count over the median lot time.
Service: the same server then receives further lots, two per client, from ``--clients``
clients at once (default: twice the server's workers, so that each worker has work whichever
worker accepts which connection), each client posting its lots one after the other; the rate is all their FSE over the wall time from the first request to the last answer.
One lot at a time measures what one worker does with a lot (one core); several clients measure
what the service does with the machine's cores, as when several practices send at once.
Targets (issue 15): ≥ 3,000 FSE/s end to end on each database and ≥ 40 % of the floor (the
ratio compares one lot at a time to the floor, both on one core).

A worker reads a lot of 256 KB or more on two cores when one is idle (its helper process
reads half of the FSE: ``amelipro/fse/parallel_read.py``), so one lot at a time uses both
cores for its reading; the floor is one process. ``--parallel-read off`` measures the worker
alone. A first 100-FSE lot starts the helpers, which are left to load before timing.

The big lot: the worker's peak RSS is VmHWM of /proc/<pid>/status, read for every worker
before and after (target ≤ 400 MB), and that of the workers' helpers. The configured request limits are printed; they are
raised, for this benchmark's server only, when a lot of that size exceeds them.
PostgreSQL: ``AMELIPRO_BENCH_PG_URL`` (default the test server), in a database made for the
run and dropped at its end. ``AMELIPRO_BENCH_QUICK=1``: 200-FSE lots, a 2,000-FSE big lot.
"""

from __future__ import annotations

import argparse
import gc
import hashlib
import statistics
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from bench.common import (
    Server,
    Site,
    api_headers,
    cpu_seconds,
    load_average,
    percentile,
    quick,
    serve,
    signed_lots,
    site,
    verdict,
    vm_hwm_mb,
    warm,
)

TARGET_RATE = 3000.0
#: Settings of the benchmark's servers (``--parallel-read off``: FSE_PARALLEL_READ=false).
SERVER_SETTINGS: dict[str, str] = {}
TARGET_RATIO = 0.40
TARGET_RSS_MB = 400.0
#: The floor's rows belong to another demo professional, with NIRs of their own, so that
#: they never meet the measured lots' invoice numbers, duplicate checks or patient history.
FLOOR_LOGIN = "infirmier.demo"


@dataclass(frozen=True)
class Figures:
    database: str
    fse: int
    e2e_seconds: list[float]
    floor_seconds: list[float]
    accepted: int
    clients: int = 0
    service_fse: int = 0
    service_seconds: float = 0.0
    service_accepted: int = 0
    worker_cpu: tuple[float, ...] = ()  # CPU seconds of each worker while the service lots were sent

    @property
    def service_rate(self) -> float:
        return self.service_fse / self.service_seconds if self.service_seconds else 0.0

    @property
    def e2e_rate(self) -> float:
        return self.fse / statistics.median(self.e2e_seconds)

    @property
    def floor_rate(self) -> float:
        return self.fse / statistics.median(self.floor_seconds)

    @property
    def ratio(self) -> float:
        return self.e2e_rate / self.floor_rate


@dataclass(frozen=True)
class BigLot:
    database: str
    fse: int
    megabytes: float
    status: int
    seconds: float
    accepted: int
    limits: str
    before: dict[int, float | None]
    after: dict[int, float | None]
    helpers: dict[int, float | None]  # the workers' parallel-reading helpers: VmHWM after

    @property
    def peak_mb(self) -> float:
        return max((v for v in self.after.values() if v is not None), default=0.0)


class Floor:
    """Safe parse + XSD + strict verification (``read_lot``) + one batched insert of the rows."""

    def __init__(self, where: Site, template: dict[str, Any]) -> None:
        from sqlalchemy import select

        from amelipro.auth.models import Professional
        from amelipro.db import make_engine
        from amelipro.fse.intake import load_gateway

        self.gw = load_gateway(where.config)
        self.engine = make_engine(where.url)
        with self.engine.connect() as conn:
            self.pro_id = conn.scalar(select(Professional.id).where(Professional.login == FLOOR_LOGIN))
        self.template = template
        self.lots = 0

    def measure(self, body: bytes) -> float:
        # Under a paused garbage collector, as the service reads a lot: a fair floor.
        gc.disable()
        try:
            started = time.perf_counter()
            self._persist(body, self._read(body))
            return time.perf_counter() - started
        finally:
            gc.enable()

    def _read(self, body: bytes):
        from amelipro.xmlcore.lot import read_lot

        reading = read_lot(body, self.gw.policy, limits=self.gw.limits, registry=self.gw.registry)
        if not all(o.ok for o in reading.outcomes):
            raise RuntimeError("the floor must read valid lots")
        return reading

    def _persist(self, body: bytes, reading) -> None:
        from lxml import etree
        from sqlalchemy import insert

        from amelipro.db import utcnow
        from amelipro.fse.models import FseStatus, Lot, LotStatus, StoredFse

        self.lots += 1
        now = utcnow()
        with self.engine.begin() as conn:
            lot_id = conn.scalar(insert(Lot).returning(Lot.id), {
                "professional_id": self.pro_id, "lot_number": f"FLOOR-{self.lots}", "received_at": now,
                "status": LotStatus.ACCEPTED, "source": "api", "fse_count": len(reading.outcomes),
                "accepted_count": len(reading.outcomes), "body_sha256": reading.digest,
                "body_size": len(body), "arl_xml": "",
            })
            rows = []
            for outcome in reading.outcomes:
                signed_xml = etree.tostring(outcome.verified.source, encoding="unicode")
                rows.append({
                    **self.template, "lot_id": lot_id, "professional_id": self.pro_id,
                    "position": outcome.position, "element_id": (outcome.element_id or "")[:64],
                    "status": FseStatus.ACCEPTED, "signed_xml": signed_xml, "created_at": now,
                    "content_hash": hashlib.sha256(signed_xml.encode()).hexdigest(),
                    "invoice_number": f"FL{self.lots:05d}-{outcome.position:05d}",
                    "patient_nir": f"2{self.lots:04d}{outcome.position:010d}",
                })
            conn.execute(insert(StoredFse), rows)

    def close(self) -> None:
        self.engine.dispose()


def _template_row(where: Site) -> dict[str, Any]:
    """The columns of an accepted FSE row the gateway wrote (its lot's own ids left out)."""
    from sqlalchemy import select

    from amelipro.db import make_engine
    from amelipro.fse.models import FseStatus, StoredFse

    engine = make_engine(where.url)
    with engine.connect() as conn:
        row = conn.execute(select(StoredFse.__table__).where(StoredFse.status == FseStatus.ACCEPTED)
                           .order_by(StoredFse.id).limit(1)).mappings().one()
    engine.dispose()
    return {k: v for k, v in row.items() if k not in {"id", "duplicate_of_id", "corrects_id"}}


def post_lot(http, server: Server, where: Site, body: bytes, key: str, timeout: float = 600) -> tuple[int, int]:
    """POST a lot; (HTTP status, FSE accepted according to the ARL)."""
    from amelipro.xmlcore.arl import read_arl

    response = http.post(f"{server.url}/api/v1/lots", data=body, headers=api_headers(where, key), timeout=timeout)
    accepted = read_arl(response.content).accepted if response.status_code == 201 else 0
    return response.status_code, accepted


def run(database: str, n_fse: int, n_lots: int, clients: int) -> Figures:
    import requests

    with site(database) as where:
        # the first, 100 FSE (about 350 KB), warms the workers and starts their helpers
        lots = signed_lots(where, [100] + [n_fse] * (n_lots + 2 * clients))
        lots, service_lots = lots[:n_lots + 1], lots[n_lots + 1:]
        server = serve(where, SERVER_SETTINGS)
        try:
            warm(server, where, lots[0], 4)
            with requests.Session() as http:
                status, _ = post_lot(http, server, where, lots[0], "bench-warm")
                if status != 201:
                    raise RuntimeError(f"warm-up lot: HTTP {status}")
                floor = Floor(where, _template_row(where))
                floor.measure(lots[0])  # warm-up
                times, floor_times, accepted = [], [], 0
                for i, body in enumerate(lots[1:], start=1):
                    floor_times.append(floor.measure(body))
                    started = time.perf_counter()
                    status, n = post_lot(http, server, where, body, f"bench-{i}")
                    times.append(time.perf_counter() - started)
                    if status != 201:
                        raise RuntimeError(f"lot {i}: HTTP {status}")
                    accepted += n
                floor.close()
            pids = server.worker_pids()
            cpu_before = [cpu_seconds(pid) for pid in pids]
            service_seconds, service_accepted = post_together(server, where, service_lots, clients)
            worker_cpu = tuple(cpu_seconds(pid) - before for pid, before in zip(pids, cpu_before, strict=True))
        finally:
            server.stop()
    return Figures(database, n_fse, times, floor_times, accepted, clients, n_fse * len(service_lots),
                   service_seconds, service_accepted, worker_cpu)


def post_together(server: Server, where: Site, lots: list[bytes], clients: int) -> tuple[float, int]:
    """``lots`` posted by ``clients`` clients at once (lot i by client i % clients); the wall
    time from the first request to the last answer, and the FSE accepted."""
    import requests

    if not lots or not clients:
        return 0.0, 0

    def client(mine: list[tuple[int, bytes]]) -> int:
        accepted = 0
        for i, body in mine:
            # each lot on a connection of its own, as lots from different practices arrive: a
            # kept-alive connection stays with the worker that accepted it, whatever its load
            with requests.Session() as http:
                status, n = post_lot(http, server, where, body, f"bench-service-{i}")
            if status != 201:
                raise RuntimeError(f"lot {i} (service): HTTP {status}")
            accepted += n
        return accepted

    shares = [[(i, body) for i, body in enumerate(lots) if i % clients == c] for c in range(clients)]
    with ThreadPoolExecutor(clients) as pool:
        started = time.perf_counter()
        accepted = sum(pool.map(client, shares))
        return time.perf_counter() - started, accepted


def run_big(database: str, n_fse: int) -> BigLot:
    import requests

    with site(database) as where:
        small, body = signed_lots(where, [100, n_fse], first_seed=100, prefix="BIG")
        config = where.app().config
        content, xml = int(config["MAX_CONTENT_LENGTH"]), int(config["XML_MAX_BYTES"])
        limits = f"limites configurées MAX_CONTENT_LENGTH {content / 2**20:.0f} Mio, XML_MAX_BYTES {xml / 2**20:.0f} Mio"
        settings = dict(SERVER_SETTINGS)
        if len(body) > min(content, xml):
            raised = len(body) + 2**20
            settings.update({"MAX_CONTENT_LENGTH": str(raised), "XML_MAX_BYTES": str(raised)})
            limits += f" < {len(body) / 2**20:.1f} Mio : relevées à {raised / 2**20:.0f} Mio pour ce serveur seulement"
        else:
            limits += " : lot admis sans changement"
        server = serve(where, settings)
        try:
            warm(server, where, small, 4)
            before = {pid: vm_hwm_mb(pid) for pid in server.worker_pids()}
            started = time.perf_counter()
            with requests.Session() as http:
                status, accepted = post_lot(http, server, where, body, "bench-big")
            seconds = time.perf_counter() - started
            after = {pid: vm_hwm_mb(pid) for pid in before}
            helpers = {pid: vm_hwm_mb(pid) for pid in server.helper_pids()}
        finally:
            server.stop()
    return BigLot(database, n_fse, len(body) / 1e6, status, seconds, accepted, limits, before, after, helpers)


def _serving_label() -> str:
    from amelipro.serving import DEFAULT_THREADS, DEFAULT_WORKERS

    parallel = "non" if SERVER_SETTINGS.get("FSE_PARALLEL_READ") == "false" else "oui (quand un cœur est libre)"
    return f"gunicorn gthread {DEFAULT_WORKERS} workers × {DEFAULT_THREADS} threads, lecture sur deux cœurs : {parallel}"


def print_figures(rows: list[Figures], n_fse: int, n_lots: int) -> None:
    print(f"Lots de {n_fse} FSE signées, {n_lots} lots par base envoyés un à la fois, {_serving_label()} ; "
          f"{load_average()}")
    print(f"{'base':<11} {'FSE/s HTTP':>10} {'p50 lot':>8} {'p99 lot':>8} {'plancher FSE/s':>14} "
          f"{'ratio':>6} {'acceptées':>9}  cibles ≥ {TARGET_RATE:,.0f} FSE/s et ratio ≥ {TARGET_RATIO:.0%}")
    for f in rows:
        print(f"{f.database:<11} {f.e2e_rate:>10,.0f} {statistics.median(f.e2e_seconds):>7.2f}s "
              f"{percentile(f.e2e_seconds, 0.99):>7.2f}s {f.floor_rate:>14,.0f} {f.ratio:>6.0%} {f.accepted:>9}  "
              f"débit {verdict(f.e2e_rate >= TARGET_RATE)}, ratio {verdict(f.ratio >= TARGET_RATIO)}")
    for f in rows:
        if f.clients:
            print(f"{f.database:<11} service, {f.clients} clients à la fois : {f.service_rate:>6,.0f} FSE/s "
                  f"({f.service_fse // f.fse} lots en {f.service_seconds:.2f} s, {f.service_accepted} acceptées ; "
                  f"{f.service_rate / f.e2e_rate:.2f} × un lot à la fois ; CPU des workers "
                  f"{' / '.join(f'{c:.1f}' for c in f.worker_cpu)} s) — cible ≥ {TARGET_RATE:,.0f} FSE/s : "
                  f"{verdict(f.service_rate >= TARGET_RATE)}")
    print("plancher = read_lot de xmlcore (analyse sûre, XSD, vérification stricte des signatures) + un "
          "executemany des lignes fse (et du lot) sur la même base, validé ; mêmes lots, en alternance")


def print_big(big: BigLot) -> None:
    print(f"Lot de {big.fse:,} FSE ({big.megabytes:.1f} Mo) sur {big.database}, {_serving_label()} : "
          f"HTTP {big.status} en {big.seconds:.1f} s ({big.fse / big.seconds:,.0f} FSE/s), "
          f"{big.accepted:,} FSE acceptées ; {load_average()}")
    print(f"  {big.limits}")
    workers = ", ".join(f"{pid} : {big.before[pid] or 0:.0f} → {big.after[pid] or 0:.0f} Mo" for pid in big.before)
    print(f"  VmHWM des workers avant → après ({workers}) ; pic du worker qui l'a servi : {big.peak_mb:.0f} Mo "
          f"— cible ≤ {TARGET_RSS_MB:.0f} Mo : {verdict(big.peak_mb <= TARGET_RSS_MB)}")
    if big.helpers:
        helpers = ", ".join(f"{pid} : {mb or 0:.0f} Mo" for pid, mb in big.helpers.items())
        print(f"  VmHWM des processus auxiliaires de lecture en parallèle (un par worker) : {helpers}")


def main(argv: list[str] | None = None) -> None:
    from amelipro.serving import DEFAULT_WORKERS

    small = quick()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fse", type=int, default=200 if small else 1000)
    parser.add_argument("--lots", type=int, default=3 if small else 5)
    parser.add_argument("--clients", type=int, default=2 * DEFAULT_WORKERS,
                        help="clients at once for the service rate (0: not measured)")
    parser.add_argument("--db", default="sqlite,postgresql")
    parser.add_argument("--big-fse", type=int, default=2000 if small else 10_000, help="0: no big lot")
    parser.add_argument("--big-db", default="postgresql")
    parser.add_argument("--parallel-read", choices=("on", "off"), default="on",
                        help="off: the server's AMELIPRO_FSE_PARALLEL_READ=false (every lot read by its worker alone)")
    args = parser.parse_args(argv if argv is not None else [])
    SERVER_SETTINGS.clear()
    if args.parallel_read == "off":
        SERVER_SETTINGS["FSE_PARALLEL_READ"] = "false"
    rows, failures = [], []
    for db in (d.strip() for d in args.db.split(",") if d.strip()):
        try:
            rows.append(run(db, args.fse, args.lots, args.clients))
        except Exception as exc:  # noqa: BLE001 - report this database, go on with the others
            failures.append(f"{db:<11} ÉCHEC : {exc!r}"[:300])
    print_figures(rows, args.fse, args.lots)
    for line in failures:
        print(line)
    if args.big_fse:
        try:
            print_big(run_big(args.big_db, args.big_fse))
        except Exception as exc:  # noqa: BLE001 - reported like a database above
            print(f"Lot de {args.big_fse:,} FSE : ÉCHEC : {exc!r}"[:300])
    if failures:
        raise RuntimeError(f"{len(failures)} base(s) en échec")


if __name__ == "__main__":
    main(sys.argv[1:])
