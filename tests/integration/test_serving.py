"""The serving stack (``amelipro serve``): slow clients do not stop the service.

gunicorn is started as ``amelipro serve`` starts it (``amelipro.serving``), on a migrated
database; connections that send their headers a byte at a time, more of them than a sync
worker could ever hold, must leave /healthz answering.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import threading
import time
import urllib.request

import pytest

from amelipro.serving import gunicorn_command


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def served_by_gunicorn(app_config, tmp_path):
    port = _free_port()
    env = {**os.environ, "AMELIPRO_DATABASE_URL": app_config["DATABASE_URL"],
           "AMELIPRO_SECRET_KEY": "test", "AMELIPRO_PKI_DIR": str(tmp_path / "pki"),
           "AMELIPRO_TRUST_STORE_DIR": str(tmp_path / "pki" / "trust")}
    command = gunicorn_command("127.0.0.1", port, workers=1, threads=24, access_log=False,
                               log_level="warning")
    log = open(tmp_path / "gunicorn.log", "wb")  # noqa: SIM115 - closed below
    proc = subprocess.Popen(command, env=env, cwd=str(tmp_path), start_new_session=True,
                            stdout=log, stderr=log)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5) as r:
                    if r.status == 200:
                        break
            except OSError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise RuntimeError((tmp_path / "gunicorn.log").read_text()[-2000:]) from None
                time.sleep(0.3)
        yield port
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=5)
        log.close()


def test_slow_clients_do_not_stop_healthz(served_by_gunicorn):
    """Half crawl through their headers, half through a body they announced (no token: the
    body is read before anything else), and they keep crawling while /healthz is called."""
    port = served_by_gunicorn
    slow = []
    stop = threading.Event()

    def crawl():
        while not stop.wait(0.2):
            for sock in slow:
                try:
                    sock.sendall(b"a")
                except OSError:
                    pass

    try:
        for n in range(12):
            sock = socket.create_connection(("127.0.0.1", port), timeout=5)
            if n % 2:
                sock.sendall(b"POST /api/v1/statements HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                             b"Content-Type: text/csv\r\nContent-Length: 100000\r\n\r\na")
            else:
                sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: a")
            slow.append(sock)
        crawler = threading.Thread(target=crawl, daemon=True)
        crawler.start()
        time.sleep(1.0)
        for _ in range(3):
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=10) as response:
                assert response.status == 200
    finally:
        stop.set()
        for sock in slow:
            sock.close()


#: Slow connections the serving stack must outlast (hardening issue; bench/slowclients.py).
SLOW_CONNECTIONS_REQUIRED = 50


def test_default_pool_outnumbers_the_slow_connections_one_worker_may_hold():
    """A slow client holds a thread of the worker that accepted it, and one worker may accept
    all of them: with 2 workers × 8 threads, 50 slow connections left half the probes waiting
    up to 15 s (bench/serving.py, 2026-11-30). Each worker's pool must outnumber them."""
    command = gunicorn_command("127.0.0.1", 5000)
    assert command[command.index("--worker-class") + 1] == "gthread"
    assert int(command[command.index("--threads") + 1]) > SLOW_CONNECTIONS_REQUIRED
