"""Slow clients against the serving stack (``amelipro serve``: gunicorn, gthread workers).

    .venv/bin/python -m bench.slowclients [--slow 50] [--duration 60] [--big-mb 20] [--rate-mbit 1]

For ``--duration`` seconds, ``--slow`` connections crawl (half send their headers a byte at
a time, half announce a 1 MB body without a token and send 100 bytes a second), while
a prober calls /healthz and submits a normal lot (5 FSE) every second; at the same time one
honest client uploads a ``--big-mb`` MB lot at ``--rate-mbit`` Mbit/s. Prints the probes'
latencies (target: every answer within 1 s) and the big lot's outcome (target: 201).
Size limits for this run: ``MAX_CONTENT_LENGTH`` and ``XML_MAX_BYTES`` = big lot + 4 MB.
SQLite, in a temporary directory; the server and every connection are stopped at the end.
``AMELIPRO_BENCH_QUICK=1``: 15 s and a 2 MB lot.
"""

from __future__ import annotations

import argparse
import math
import socket
import statistics
import sys
import threading
import time
from dataclasses import dataclass, field

from bench import common

TARGET_SECONDS = 1.0


@dataclass
class Probes:
    health: list[float] = field(default_factory=list)
    lots: list[float] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    opened: list[int] = field(default_factory=list)  # one item per slow connection opened
    upload: dict = field(default_factory=dict)  # the big lot: status, accepted, sent_seconds, seconds

    @property
    def all_within(self) -> bool:
        return bool(self.health) and bool(self.lots) and not self.failures

    @property
    def big_ok(self) -> bool:
        return self.upload.get("status") == 201


def big_lot(where: common.Site, megabytes: float, small: bytes, small_count: int) -> tuple[bytes, int]:
    """A signed lot of about ``megabytes`` MB (its FSE count from the size of ``small``)."""
    count = math.ceil(megabytes * 1_000_000 / (len(small) / small_count) * 1.06)
    return common.signed_lots(where, [count], first_seed=4242, prefix="BENCH-BIG")[0], count


def big_lot_settings(big: bytes) -> dict[str, str]:
    """``MAX_CONTENT_LENGTH`` and ``XML_MAX_BYTES`` for this run: the big lot + 4 MB."""
    limit = len(big) + 4 * 1024 * 1024
    return {"MAX_CONTENT_LENGTH": str(limit), "XML_MAX_BYTES": str(limit)}


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


def _prober(server: common.Server, where: common.Site, lots: list[bytes], stop: threading.Event, probes: Probes) -> None:
    import requests

    n = 0
    with requests.Session() as http:
        while not stop.is_set():
            n += 1
            for kind in ("health", "lot"):
                started = time.perf_counter()
                try:
                    if kind == "health":
                        response = http.get(f"{server.url}/healthz", timeout=30)
                        ok = response.status_code == 200
                    else:
                        response = http.post(f"{server.url}/api/v1/lots", data=lots[n % len(lots)],
                                             headers=common.api_headers(where, f"slow-{n}"), timeout=30)
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


def check(server: common.Server, where: common.Site, small: list[bytes], big: bytes, slow: int, duration: float,
          rate_mbit: float) -> Probes:
    """For ``duration`` seconds, ``slow`` crawling connections while /healthz and a small lot
    are probed every second and ``big`` is uploaded at ``rate_mbit``; waits for the big lot's
    answer (also used by bench/serving.py)."""
    probes, stop = Probes(), threading.Event()
    crawlers = [threading.Thread(target=_crawler, args=(server.port, i, stop, probes.opened), daemon=True)
                for i in range(slow)]
    try:
        for t in crawlers:
            t.start()
        time.sleep(2.0)  # every slow connection open and crawling before the probes start
        prober = threading.Thread(target=_prober, args=(server, where, small, stop, probes), daemon=True)
        uploader = threading.Thread(target=_upload, args=(server.port, where.token, big, rate_mbit * 125_000,
                                                          probes.upload), daemon=True)
        prober.start()
        uploader.start()
        time.sleep(duration)
        stop.set()
        prober.join(60)
        for t in crawlers:
            t.join(10)
        uploader.join(len(big) * 8 / (rate_mbit * 1e6) * 2 + 300)
    finally:
        stop.set()
    return probes


def run(slow: int, duration: float, big_mb: float, rate_mbit: float) -> None:
    with common.site("sqlite") as where:
        small = common.signed_lots(where, [5] * 11)
        big, big_count = big_lot(where, big_mb, small[0], 5)
        server = common.serve(where, big_lot_settings(big))
        try:
            probes = check(server, where, small[1:], big, slow, duration, rate_mbit)
        finally:
            server.stop()
    _print(slow, duration, probes, big, big_count, rate_mbit)


def _line(name: str, values: list[float]) -> str:
    if not values:
        return f"{name:<22} aucune mesure"
    within = sum(1 for v in values if v <= TARGET_SECONDS)
    return (f"{name:<22} {len(values):>6} {statistics.median(values) * 1000:>8.0f} "
            f"{common.percentile(values, 0.99) * 1000:>8.0f} {max(values) * 1000:>8.0f} {within / len(values):>9.0%}")


def _print(slow: int, duration: float, probes: Probes, big: bytes, big_count: int, rate_mbit: float) -> None:
    from amelipro.serving import DEFAULT_THREADS, DEFAULT_WORKERS

    upload = probes.upload
    print(f"{len(probes.opened)}/{slow} connexions lentes pendant {duration:.0f} s ; gunicorn gthread "
          f"({DEFAULT_WORKERS} workers × {DEFAULT_THREADS} threads, amelipro serve) ; {common.load_average()}")
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
    parser.add_argument("--duration", type=float, default=15.0 if common.quick() else 60.0)
    parser.add_argument("--big-mb", type=float, default=2.0 if common.quick() else 20.0)
    parser.add_argument("--rate-mbit", type=float, default=1.0)
    args = parser.parse_args(argv if argv is not None else [])
    run(args.slow, args.duration, args.big_mb, args.rate_mbit)


if __name__ == "__main__":
    main(sys.argv[1:])
