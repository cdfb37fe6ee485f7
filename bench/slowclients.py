"""Slow clients against the serving stack (``amelipro serve``: gunicorn, gthread workers).

    .venv/bin/python -m bench.slowclients [--slow 50] [--duration 60] [--big-mb 20] [--rate-mbit 1]

For ``--duration`` seconds, ``--slow`` connections crawl (half send their headers a byte at
a time, half announce a 1 MB body without a token and send 100 bytes a second), while
a prober calls /healthz and submits a normal lot (5 FSE) every second; at the same time one
honest client uploads a ``--big-mb`` MB lot at ``--rate-mbit`` Mbit/s. Prints the probes'
latencies (target: every answer within 1 s) and the big lot's outcome (target: 201).
Size limits for this run: ``MAX_CONTENT_LENGTH`` and ``XML_MAX_BYTES`` = big lot + 4 MB.
SQLite, in a temporary directory; the server and every connection are stopped at the end.
"""

from __future__ import annotations

import argparse
import math
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from bench.submit import LOGIN, _config, _free_port, _percentile, _prepare, _stop

TARGET_SECONDS = 1.0


@dataclass
class Probes:
    health: list[float] = field(default_factory=list)
    lots: list[float] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)


def _big_lot(url: str, base: Path, megabytes: float, per_fse: float) -> tuple[bytes, int]:
    from sqlalchemy import select

    from amelipro import create_app
    from amelipro.auth.models import Professional
    from amelipro.fse import demo

    count = math.ceil(megabytes * 1_000_000 / per_fse * 1.06)  # per_fse includes the lot's header
    app = create_app(_config(url, base))
    with app.app_context():
        session = app.extensions["amelipro.sessionmaker"]()
        pro = session.scalar(select(Professional).where(Professional.login == LOGIN))
        sheets = demo.build_sheets(session, pro, count, 0.0, today=date.today(), seed=4242).sheets
        body = demo.write_lot(sheets, pro, base / "pki" / LOGIN / "key.pem", base / "pki" / LOGIN / "cert.pem",
                              lot_number="BENCH-BIG")
        session.close()
    app.extensions["amelipro.engine"].dispose()
    return body, count


def serve(url: str, base: Path, port: int, settings: dict[str, str]) -> subprocess.Popen:
    """``amelipro serve``'s stack on ``port`` with these ``AMELIPRO_*`` settings; waits for
    /healthz (also used by bench/resilience.py)."""
    import requests

    from amelipro.serving import gunicorn_command

    env = dict(os.environ)
    env.update({
        "AMELIPRO_DATABASE_URL": url, "AMELIPRO_SECRET_KEY": "bench",
        "AMELIPRO_PKI_DIR": str(base / "pki"), "AMELIPRO_TRUST_STORE_DIR": str(base / "pki" / "trust"),
        **{f"AMELIPRO_{name}": value for name, value in settings.items()},
    })
    log = open(base / "gunicorn.log", "wb")  # noqa: SIM115 - closed with the process
    proc = subprocess.Popen(gunicorn_command("127.0.0.1", port, access_log=False, log_level="warning"),
                            env=env, cwd=str(base), start_new_session=True, stdout=log, stderr=log)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            if requests.get(f"http://127.0.0.1:{port}/healthz", timeout=10).status_code == 200:
                return proc
        except requests.RequestException:
            pass
        time.sleep(0.3)
    _stop(proc)
    raise RuntimeError(f"gunicorn did not start: {(base / 'gunicorn.log').read_text()[-2000:]}")


def _crawler(port: int, index: int, stop: threading.Event, opened: list[int]) -> None:
    """One slow connection until ``stop``: headers a byte at a time, or a body at 100 B/s."""
    try:
        sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    except OSError:
        return
    opened.append(1)
    try:
        if index % 2 == 0:
            head = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: "
            sock.sendall(head)
            while not stop.wait(1.0):
                sock.sendall(b"a")
        else:
            sock.sendall(b"POST /api/v1/lots HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/xml\r\n"
                         b"Content-Length: 1000000\r\n\r\n<Lot>")
            while not stop.wait(1.0):
                sock.sendall(b" " * 100)
    except OSError:
        pass
    finally:
        sock.close()


def _prober(port: int, token: str, lots: list[bytes], stop: threading.Event, probes: Probes) -> None:
    import requests

    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/xml"}
    n = 0
    with requests.Session() as http:
        while not stop.is_set():
            n += 1
            for kind in ("health", "lot"):
                started = time.perf_counter()
                try:
                    if kind == "health":
                        response = http.get(f"http://127.0.0.1:{port}/healthz", timeout=30)
                        ok = response.status_code == 200
                    else:
                        response = http.post(f"http://127.0.0.1:{port}/api/v1/lots", data=lots[n % len(lots)],
                                             headers={**headers, "Idempotency-Key": f"slow-{n}"}, timeout=30)
                        ok = response.status_code == 201
                except requests.RequestException as exc:
                    ok, response = False, exc
                took = time.perf_counter() - started
                (probes.health if kind == "health" else probes.lots).append(took)
                if not ok or took > TARGET_SECONDS:
                    probes.failures.append(f"{kind} {took:.2f}s {getattr(response, 'status_code', response)}")
            stop.wait(max(0.0, 1.0 - (time.perf_counter() - started)))


def _upload(port: int, token: str, body: bytes, rate_bytes: float, result: dict) -> None:
    """POST ``body`` over a raw socket at ``rate_bytes`` per second; record the answer."""
    head = (f"POST /api/v1/lots HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/xml\r\n"
            f"Authorization: Bearer {token}\r\nIdempotency-Key: big-1\r\nContent-Length: {len(body)}\r\n"
            f"Connection: close\r\n\r\n").encode()
    started = time.monotonic()
    step = max(1, int(rate_bytes / 10))
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=600) as sock:
            sock.sendall(head)
            for offset in range(0, len(body), step):
                sock.sendall(body[offset:offset + step])
                ahead = (offset + step) / rate_bytes - (time.monotonic() - started)
                if ahead > 0:
                    time.sleep(ahead)
            result["sent_seconds"] = time.monotonic() - started
            answer = b""
            while chunk := sock.recv(65536):
                answer += chunk
        result["status"] = int(answer.split(b" ", 2)[1]) if answer else 0
        result["accepted"] = answer.count(b'statut="acceptee"')
        if b"<" in answer and result["status"] == 201:
            from amelipro.xmlcore.arl import read_arl

            result["accepted"] = read_arl(answer.partition(b"\r\n\r\n")[2]).accepted
    except OSError as exc:
        result["status"] = f"erreur réseau : {exc}"
    result["seconds"] = time.monotonic() - started


def run(slow: int, duration: float, big_mb: float, rate_mbit: float) -> None:
    base = Path(tempfile.mkdtemp(prefix="amelipro-bench-slow-"))
    url = f"sqlite:///{base / 'amelipro.sqlite3'}"
    proc = None
    stop = threading.Event()
    threads: list[threading.Thread] = []
    try:
        small, token = _prepare(url, base, 5, 10)
        per_fse = len(small[1]) / 5
        big, big_count = _big_lot(url, base, big_mb, per_fse)
        limit = len(big) + 4 * 1024 * 1024
        port = _free_port()
        proc = serve(url, base, port, {"MAX_CONTENT_LENGTH": str(limit), "XML_MAX_BYTES": str(limit)})
        probes, opened, upload = Probes(), [], {}
        threads = [threading.Thread(target=_crawler, args=(port, i, stop, opened), daemon=True)
                   for i in range(slow)]
        for t in threads:
            t.start()
        time.sleep(2.0)  # every slow connection open and crawling before the probes start
        prober = threading.Thread(target=_prober, args=(port, token, small[1:], stop, probes), daemon=True)
        uploader = threading.Thread(target=_upload, args=(port, token, big, rate_mbit * 125_000, upload),
                                    daemon=True)
        prober.start()
        uploader.start()
        time.sleep(duration)
        stop.set()
        prober.join(60)
        for t in threads:
            t.join(10)
        uploader.join(big_mb * 8 / rate_mbit * 2 + 300)
        _print(slow, len(opened), duration, probes, big, big_count, rate_mbit, upload)
    finally:
        stop.set()
        if proc is not None:
            _stop(proc)
        shutil.rmtree(base, ignore_errors=True)


def _line(name: str, values: list[float]) -> str:
    if not values:
        return f"{name:<22} aucune mesure"
    within = sum(1 for v in values if v <= TARGET_SECONDS)
    return (f"{name:<22} {len(values):>6} {statistics.median(values) * 1000:>8.0f} "
            f"{_percentile(values, 0.99) * 1000:>8.0f} {max(values) * 1000:>8.0f} {within / len(values):>9.0%}")


def _print(slow: int, opened: int, duration: float, probes: Probes, big: bytes, big_count: int,
           rate_mbit: float, upload: dict) -> None:
    print(f"{opened}/{slow} connexions lentes pendant {duration:.0f} s ; gunicorn gthread "
          "(2 workers × 64 threads, amelipro serve)")
    print(f"{'sonde':<22} {'appels':>6} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8} {'≤ 1 s':>9}")
    print(_line("/healthz", probes.health))
    print(_line("lot de 5 FSE (201)", probes.lots))
    if probes.failures:
        print(f"hors cible : {len(probes.failures)} (" + "; ".join(probes.failures[:5]) + ")")
    print(f"gros lot : {len(big) / 1_000_000:.1f} Mo ({big_count} FSE) à {rate_mbit:g} Mbit/s : "
          f"HTTP {upload.get('status')}, {upload.get('accepted', 0)} FSE acceptées, "
          f"envoyé en {upload.get('sent_seconds', 0):.0f} s, réponse à {upload.get('seconds', 0):.0f} s")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--slow", type=int, default=50)
    parser.add_argument("--duration", type=float, default=60.0)
    parser.add_argument("--big-mb", type=float, default=20.0)
    parser.add_argument("--rate-mbit", type=float, default=1.0)
    args = parser.parse_args(argv if argv is not None else [])
    run(args.slow, args.duration, args.big_mb, args.rate_mbit)


if __name__ == "__main__":
    main(sys.argv[1:])
