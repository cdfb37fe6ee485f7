"""FSE submission end to end: signed lots of 1,000 FSE through gunicorn, on SQLite and
PostgreSQL, against the floor (XSD validation + signature verification alone, in process,
on the same documents, in the same run).

    .venv/bin/python -m bench.submit [--fse 1000] [--lots 5] [--workers 2] [--db sqlite,postgresql]

Prints per database: FSE/s end to end (HTTP, persisted, signed ARL returned), p50/p99 per
lot, the floor's FSE/s and the ratio (target ≥ 50 %). PostgreSQL uses
``AMELIPRO_BENCH_PG_URL`` (default: the test server ``postgresql+psycopg://postgres@127.0.0.1:5432/test``),
in a database created for the run and dropped at its end.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from datetime import date
from pathlib import Path

PG_ADMIN_URL = os.environ.get(
    "AMELIPRO_BENCH_PG_URL",
    os.environ.get("AMELIPRO_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"),
)
LOGIN = "medecin.demo"


@dataclass(frozen=True)
class Figures:
    database: str
    fse: int
    lots: int
    e2e_seconds: list[float]
    floor_seconds: list[float]
    accepted: int

    @property
    def e2e_rate(self) -> float:
        return self.fse / statistics.median(self.e2e_seconds)

    @property
    def floor_rate(self) -> float:
        return self.fse / statistics.median(self.floor_seconds)

    @property
    def ratio(self) -> float:
        return self.e2e_rate / self.floor_rate


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, round(q * (len(ordered) - 1))))
    return ordered[k]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _pg_database() -> str:
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    name = f"amelipro_bench_{uuid.uuid4().hex[:8]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return make_url(PG_ADMIN_URL).set(database=name).render_as_string(hide_password=False)


def _drop_pg(url: str) -> None:
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{make_url(url).database}" WITH (FORCE)'))
    admin.dispose()


def _prepare(url: str, base: Path, n_fse: int, n_lots: int) -> tuple[list[bytes], str]:
    """Migrated database with demo accounts, reference demo set, caisse file, PKI; signed lots."""
    from sqlalchemy import select

    from amelipro import create_app
    from amelipro.auth.models import Professional
    from amelipro.auth.services import create_token
    from amelipro.beneficiaries.services import seed_demo
    from amelipro.demo import demo_pki_holders, seed_demo_accounts
    from amelipro.fse import demo
    from amelipro.migrate import upgrade
    from amelipro.reference.importers import DEMO_DIR
    from amelipro.reference.services import ImportConfig, import_reference
    from amelipro.xmlcore.pki import init_demo

    upgrade(url)
    app = create_app(_config(url, base))
    with app.app_context():
        session = app.extensions["amelipro.sessionmaker"]()
        seed_demo_accounts(session)
        session.commit()
        import_reference(session, ImportConfig(source=DEMO_DIR, effective=date(2026, 7, 1), actor="bench"))
        seed_demo(session, date.today())
        init_demo(base / "pki", base / "pki" / "trust", demo_pki_holders())
        pro = session.scalar(select(Professional).where(Professional.login == LOGIN))
        token = create_token(session, pro, "bench").secret
        key, cert = base / "pki" / LOGIN / "key.pem", base / "pki" / LOGIN / "cert.pem"
        lots = [
            demo.write_lot(demo.build_sheets(session, pro, n, 0.0, today=date.today(), seed=seed).sheets,
                           pro, key, cert, lot_number=f"BENCH-{seed}")
            for seed, n in [(0, 5)] + [(i, n_fse) for i in range(1, n_lots + 1)]
        ]
        session.close()
    app.extensions["amelipro.engine"].dispose()
    return lots, token


def _config(url: str, base: Path) -> dict:
    return {"DATABASE_URL": url, "INSTANCE_PATH": str(base), "SECRET_KEY": "bench",
            "PKI_DIR": str(base / "pki"), "TRUST_STORE_DIR": str(base / "pki" / "trust")}


class _Floor:
    """XSD validation + signature verification alone (the xmlcore lot reader), in process."""

    def __init__(self, base: Path, url: str) -> None:
        from amelipro.fse.intake import load_gateway

        self.gw = load_gateway(_config(url, base))

    def measure(self, body: bytes) -> float:
        from amelipro.fse.services import _GcPause
        from amelipro.xmlcore.lot import read_lot

        # Measured under the same garbage-collector pause as the service (a fair floor).
        with _GcPause():
            started = time.perf_counter()
            reading = read_lot(body, self.gw.policy, limits=self.gw.limits, registry=self.gw.registry)
            elapsed = time.perf_counter() - started
        assert all(o.ok for o in reading.outcomes), "the floor must read valid lots"
        return elapsed


def _serve(url: str, base: Path, port: int, workers: int) -> subprocess.Popen:
    env = dict(os.environ)
    env.update({
        "AMELIPRO_DATABASE_URL": url, "AMELIPRO_SECRET_KEY": "bench",
        "AMELIPRO_PKI_DIR": str(base / "pki"), "AMELIPRO_TRUST_STORE_DIR": str(base / "pki" / "trust"),
    })
    from amelipro.serving import gunicorn_command

    cmd = gunicorn_command("127.0.0.1", port, workers=workers, timeout=300, access_log=False,
                           log_level="warning")
    log = open(base / "gunicorn.log", "wb")  # noqa: SIM115 - closed with the process
    proc = subprocess.Popen(cmd, env=env, cwd=str(base), start_new_session=True, stdout=log, stderr=log)
    import requests

    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            if requests.get(f"http://127.0.0.1:{port}/healthz", timeout=30).status_code == 200:
                return proc
        except requests.RequestException:
            pass
        time.sleep(0.3)
    _stop(proc)
    raise RuntimeError(f"gunicorn did not start: {(base / 'gunicorn.log').read_text()[-2000:]}")


def _stop(proc: subprocess.Popen) -> None:
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)


def run(database: str, n_fse: int, n_lots: int, workers: int) -> Figures:
    import requests

    from amelipro.xmlcore.arl import read_arl

    base = Path(tempfile.mkdtemp(prefix=f"amelipro-bench-{database}-"))
    url = _pg_database() if database == "postgresql" else f"sqlite:///{base / 'amelipro.sqlite3'}"
    proc = None
    try:
        lots, token = _prepare(url, base, n_fse, n_lots)
        floor_reader = _Floor(base, url)
        floor_reader.measure(lots[0])  # warm-up
        port = _free_port()
        proc = _serve(url, base, port, workers)
        headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/xml"}
        times, floor, accepted = [], [], 0
        with requests.Session() as http:
            for _ in range(workers * 2):  # warm every worker (keys, trust store, schemas)
                http.post(f"http://127.0.0.1:{port}/api/v1/fse/validate", data=lots[0], headers=headers)
            # Floor and end to end alternate lot by lot, so that both see the same machine load.
            for i, body in enumerate(lots[1:], start=1):
                floor.append(floor_reader.measure(body))
                started = time.perf_counter()
                response = http.post(f"http://127.0.0.1:{port}/api/v1/lots", data=body,
                                     headers={**headers, "Idempotency-Key": f"bench-{i}"})
                times.append(time.perf_counter() - started)
                if response.status_code != 201:
                    raise RuntimeError(f"lot {i}: HTTP {response.status_code} {response.text[:300]}")
                accepted += read_arl(response.content).accepted
        return Figures(database, n_fse, n_lots, times, floor, accepted)
    finally:
        if proc is not None:
            _stop(proc)
        if database == "postgresql":
            _drop_pg(url)
        shutil.rmtree(base, ignore_errors=True)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fse", type=int, default=1000)
    parser.add_argument("--lots", type=int, default=5)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--db", default="sqlite,postgresql")
    args = parser.parse_args(argv if argv is not None else [])
    rows, failures = [], []
    for db in (d.strip() for d in args.db.split(",") if d.strip()):
        try:
            rows.append(run(db, args.fse, args.lots, args.workers))
        except Exception as exc:  # noqa: BLE001 - report this database, go on with the others
            failures.append(f"{db:<11} ÉCHEC : {exc!r}"[:300])
    print(f"Lots de {args.fse} FSE signées, {args.lots} lots par base, gunicorn {args.workers} workers")
    print(f"{'base':<11} {'FSE/s HTTP':>10} {'p50 lot':>9} {'p99 lot':>9} {'plancher FSE/s':>15} "
          f"{'ratio':>7} {'acceptées':>10}")
    for f in rows:
        print(f"{f.database:<11} {f.e2e_rate:>10.0f} {statistics.median(f.e2e_seconds):>8.2f}s "
              f"{_percentile(f.e2e_seconds, 0.99):>8.2f}s {f.floor_rate:>15.0f} {f.ratio:>7.0%} "
              f"{f.accepted:>10}")
    for line in failures:
        print(line)
    print("plancher = validation XSD + vérification des signatures seules (xmlcore), mêmes lots, "
          "même machine ; cible : ratio ≥ 50 %")


if __name__ == "__main__":
    main(sys.argv[1:])
