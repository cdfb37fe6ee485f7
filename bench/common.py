"""What the benchmarks share: a prepared site (database, demo accounts, reference data, PKI,
API token), signed demo lots, ``amelipro serve``'s stack started on a free port, the memory
of its workers, percentiles and the machine's load.

A site lives in a temporary directory; on PostgreSQL (``AMELIPRO_BENCH_PG_URL``, default the
test server) in a database created for it and dropped with it.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

PG_ADMIN_URL = os.environ.get(
    "AMELIPRO_BENCH_PG_URL",
    os.environ.get("AMELIPRO_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"),
)
LOGIN = "medecin.demo"
#: Patients added to the demo caisse file (12 people): a practice's patients, so that the demo
#: lots are not 1,000 FSE for 5 patients (histories of hundreds of FSE each, care dated years
#: back and refused) but about one or two FSE per patient and day, of the last five days.
PATIENTS = 2000
#: Environment variable (or ``python -m bench --quick``): every benchmark in a small mode.
QUICK_ENV = "AMELIPRO_BENCH_QUICK"


def quick() -> bool:
    return os.environ.get(QUICK_ENV, "").strip().lower() in {"1", "true", "yes", "on"}


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, round(q * (len(ordered) - 1))))
    return ordered[k]


def load_average() -> str:
    one, five, fifteen = os.getloadavg()
    return f"charge {one:.1f} / {five:.1f} / {fifteen:.1f} ({os.cpu_count()} cœurs)"


def verdict(met: bool) -> str:
    return "atteinte" if met else "NON ATTEINTE"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _pg_admin(statement: str) -> None:
    from sqlalchemy import create_engine, text

    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(statement))
    admin.dispose()


def pg_database() -> str:
    """A new, empty database on the PostgreSQL server; its URL."""
    from sqlalchemy.engine import make_url

    name = f"amelipro_bench_{uuid.uuid4().hex[:8]}"
    _pg_admin(f'CREATE DATABASE "{name}"')
    return make_url(PG_ADMIN_URL).set(database=name).render_as_string(hide_password=False)


def drop_pg(url: str) -> None:
    from sqlalchemy.engine import make_url

    _pg_admin(f'DROP DATABASE IF EXISTS "{make_url(url).database}" WITH (FORCE)')


@dataclass(frozen=True)
class Site:
    """A prepared installation: ``database`` is "sqlite" or "postgresql"."""

    database: str
    url: str
    base: Path
    token: str

    @property
    def config(self) -> dict[str, str]:
        return app_config(self.url, self.base)

    def app(self):
        from amelipro import create_app

        return create_app(self.config)


def app_config(url: str, base: Path) -> dict[str, str]:
    return {"DATABASE_URL": url, "INSTANCE_PATH": str(base), "SECRET_KEY": "bench",
            "PKI_DIR": str(base / "pki"), "TRUST_STORE_DIR": str(base / "pki" / "trust")}


@contextmanager
def site(database: str, base: Path | None = None) -> Iterator[Site]:
    """A migrated database with the demo accounts, the demo reference set, the caisse file and
    the demo PKI, and an API token of ``LOGIN``; removed on exit. Given the ``base`` of another
    site, a fresh database beside it that keeps its PKI (lots signed for one serve the other)."""
    own = base is None
    base = Path(tempfile.mkdtemp(prefix=f"amelipro-bench-{database}-")) if own else base
    url = (pg_database() if database == "postgresql"
           else f"sqlite:///{base / f'amelipro-{uuid.uuid4().hex[:8]}.sqlite3'}")
    try:
        yield Site(database, url, base, _prepare(url, base))
    finally:
        if database == "postgresql":
            drop_pg(url)
        if own:
            shutil.rmtree(base, ignore_errors=True)


def _prepare(url: str, base: Path) -> str:
    from sqlalchemy import select

    from amelipro import create_app
    from amelipro.auth.models import Professional
    from amelipro.auth.services import create_token
    from amelipro.beneficiaries.demo import seed_demo
    from amelipro.beneficiaries.importing import import_beneficiaries
    from amelipro.demo import demo_pki_holders, seed_demo_accounts
    from amelipro.migrate import upgrade
    from amelipro.reference.importers import DEMO_DIR
    from amelipro.reference.services import ImportConfig, import_reference
    from amelipro.xmlcore.pki import init_demo

    upgrade(url)
    app = create_app(app_config(url, base))
    with app.app_context():
        session = app.extensions["amelipro.sessionmaker"]()
        seed_demo_accounts(session)
        session.commit()
        import_reference(session, ImportConfig(source=DEMO_DIR, effective=date(2026, 7, 1), actor="bench"))
        seed_demo(session, date.today())
        import_beneficiaries(session, bench_patients(PATIENTS), actor="bench")
        init_demo(base / "pki", base / "pki" / "trust", demo_pki_holders())
        pro = session.scalar(select(Professional).where(Professional.login == LOGIN))
        token = create_token(session, pro, "bench").secret
        session.close()
    app.extensions["amelipro.engine"].dispose()
    return token


def bench_patients(count: int) -> list:
    """``count`` people with valid NIR keys and rights open since 2020, no cover, no EHPAD."""
    from stdnum.fr import nir

    from amelipro.beneficiaries.domain import PatientRights, Period

    people = []
    for i in range(count):
        sex, year, month = 1 + i % 2, 1940 + i % 80, 1 + i % 12
        body = f"{sex}{year % 100:02d}{month:02d}75{100 + i // 1000:03d}{i % 1000:03d}"
        people.append(PatientRights(
            nir=body + nir.calc_check_digits(body), rank=1, birth_date=date(year, month, 1 + i % 28),
            last_name=f"BANC{i}", first_name="Patient", regime="01", caisse="751", centre="0001",
            rights=(Period(date(2020, 1, 1)),)))
    return people


def signed_lots(where: Site, sizes: list[int], first_seed: int = 0, prefix: str = "BENCH") -> list[bytes]:
    """One signed demo lot of ``LOGIN`` per size, their sheets drawn together (seed
    ``first_seed``) so that no care of one lot is billed again by another."""
    from sqlalchemy import select

    from amelipro.auth.models import Professional
    from amelipro.fse import demo

    app = where.app()
    key, cert = where.base / "pki" / LOGIN / "key.pem", where.base / "pki" / LOGIN / "cert.pem"
    with app.app_context():
        session = app.extensions["amelipro.sessionmaker"]()
        pro = session.scalar(select(Professional).where(Professional.login == LOGIN))
        sheets = demo.build_sheets(session, pro, sum(sizes), 0.0, today=date.today(), seed=first_seed).sheets
        starts = [sum(sizes[:i]) for i in range(len(sizes))]
        lots = [demo.write_lot(sheets[start:start + n], pro, key, cert, lot_number=f"{prefix}-{first_seed}-{i}")
                for i, (start, n) in enumerate(zip(starts, sizes, strict=True))]
        session.close()
    app.extensions["amelipro.engine"].dispose()
    return lots


@dataclass
class Server:
    """``amelipro serve``'s stack (gunicorn) for a site, on ``port``."""

    proc: subprocess.Popen
    port: int
    log: Path
    settings: dict[str, str] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def worker_pids(self) -> list[int]:
        try:
            return [int(p) for p in Path(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children")
                    .read_text().split()]
        except OSError:
            return []

    def helper_pids(self) -> list[int]:
        """The workers' own children: their parallel-reading helpers (``fse/parallel_read.py``)."""
        found = []
        for worker in self.worker_pids():
            for task in Path(f"/proc/{worker}/task").glob("*/children"):  # any thread may have started it
                try:
                    found += [int(p) for p in task.read_text().split()]
                except OSError:
                    pass
        return found

    def stop(self) -> None:
        try:
            os.killpg(self.proc.pid, signal.SIGTERM)
        except ProcessLookupError:
            return
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=20)


def serve(where: Site, settings: Mapping[str, str] | None = None, **command: object) -> Server:
    """Start gunicorn as ``amelipro serve`` does (``amelipro.serving.gunicorn_command``, whose
    keyword arguments ``command`` overrides) with these ``AMELIPRO_*`` settings; waits for
    /healthz."""
    import requests

    from amelipro.serving import gunicorn_command

    settings = dict(settings or {})
    env = dict(os.environ)
    env.update({f"AMELIPRO_{name}": value for name, value in where.config.items() if name != "INSTANCE_PATH"})
    env.update({f"AMELIPRO_{name}": value for name, value in settings.items()})
    port = free_port()
    log_path = where.base / f"gunicorn-{port}.log"
    options = {"access_log": False, "log_level": "warning", **command}
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(gunicorn_command("127.0.0.1", port, **options), env=env, cwd=str(where.base),
                                start_new_session=True, stdout=log, stderr=log)
    server = Server(proc, port, log_path, settings)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            if requests.get(f"{server.url}/healthz", timeout=10).status_code == 200:
                return server
        except requests.RequestException:
            pass
        time.sleep(0.3)
    server.stop()
    raise RuntimeError(f"gunicorn did not start: {log_path.read_text()[-2000:]}")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (``/proc/<pid>/stat``); 0 when it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def vm_hwm_mb(pid: int) -> float | None:
    """Peak resident memory (VmHWM) of a process, in MB; None when it is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def warm(server: Server, where: Site, body: bytes, times: int) -> None:
    """Dry-run a lot ``times`` times or more, so that every worker has loaded its keys,
    trust store and schemas (and, for a lot of at least ``parallel_read.MIN_BYTES``, started
    its parallel-reading helper) before anything is timed."""
    import requests

    from amelipro.fse.parallel_read import MIN_BYTES

    # a lot this large starts the worker's parallel-reading helper (fse/parallel_read.py)
    helpers = server.settings.get("FSE_PARALLEL_READ", "true") != "false" and len(body) >= MIN_BYTES
    for i in range(max(times, 40)):
        # each on a connection of its own (a kept-alive one stays with one worker), until every
        # worker has loaded its gateway (and, for a large lot, started its helper)
        requests.post(f"{server.url}/api/v1/fse/validate", data=body, headers=api_headers(where), timeout=60)
        if i + 1 >= times and (not helpers or len(server.helper_pids()) >= len(server.worker_pids())):
            break
    _settle_helpers(server)


def _settle_helpers(server: Server, timeout: float = 30.0) -> None:
    """Wait until the workers' parallel-reading helpers, started with their gateways, have
    loaded (their CPU time no longer grows): the lots are then timed in the steady state."""
    deadline = time.monotonic() + timeout
    last: dict[int, float] = {}
    while time.monotonic() < deadline:
        now = {pid: cpu_seconds(pid) for pid in server.helper_pids()}
        if now == last and (now or time.monotonic() > deadline - timeout + 5):
            return  # loaded, or none started within 5 s (parallel reading off)
        last = now
        time.sleep(0.5)


def api_headers(where: Site, key: str | None = None) -> dict[str, str]:
    headers = {"Authorization": f"Bearer {where.token}", "Content-Type": "application/xml"}
    if key is not None:
        headers["Idempotency-Key"] = key
    return headers
