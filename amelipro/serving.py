"""The serving stack, in one place: gunicorn with threaded workers (``gthread``).

Why threads: a sync worker is tied up by one slow client for as long as it sends, so a few
dozen slow connections (a lot uploaded over a poor line, or a slowloris without a token)
stopped every request, /healthz included. A gthread worker's main loop accepts connections
and keeps idle ones in its poller; a client that has said nothing yet is parked there, and
each request that is being read or processed holds one thread of the pool, not the worker.
Two workers of 64 threads serve 128 slow clients at once while /healthz and ordinary lots
still answer (``bench/slowclients.py`` measures it), and the worker's heartbeat comes from its
main loop, so a long honest upload (20 MB at 1 Mbit/s: about 3 minutes) is never killed.
Request bodies are read whole by ``amelipro.uploads`` before any processing.

How many, measured on the 2-core machine by ``bench/serving.py`` (docs/benchmarks.md,
2026-11-30): the pool of each worker must outnumber the slow connections that worker may
hold, since one worker may accept them all (2 workers × 8 threads left half the probes
waiting up to 15 s under 50 slow connections); 1, 2 and 3 workers of 64 threads answered
the slow clients alike and served 1,000-FSE lots at the same rate within that run's noise
(the machine was loaded by other work). Two workers are kept: each has its own interpreter
lock, so two lots use the two cores at once; concurrent lots are spread over two processes,
so a worker's peak memory stays lower (232 MB against 338 MB for one worker with four
1,000-FSE lots at once); and a worker that dies leaves the other serving.

Each worker starts one helper process at its first large lot (``amelipro/fse/parallel_read.py``):
a large lot is read on two cores, half of its FSE by the helper, when a core is idle at that
moment; when both cores already serve lots, each lot is read by its worker alone.

Exposed to the Internet, put a buffering reverse proxy in front as well (docs/operations.md).
"""

from __future__ import annotations

import sys

DEFAULT_WORKERS = 2
DEFAULT_THREADS = 64
#: Seconds a worker may go without a heartbeat before the arbiter restarts it. With gthread
#: the heartbeat comes from the worker's main loop, not from the request, so this is not a
#: limit on a request's length: it only catches a worker that is stuck as a whole.
DEFAULT_TIMEOUT = 120


def gunicorn_command(host: str, port: int, *, workers: int = DEFAULT_WORKERS,
                     threads: int = DEFAULT_THREADS, timeout: int = DEFAULT_TIMEOUT,
                     access_log: bool = True, log_level: str = "info",
                     app: str = "amelipro.wsgi:app") -> list[str]:
    """The command line that serves ``app`` (``amelipro serve``, the benchmarks, the tests)."""
    command = [
        sys.executable, "-m", "gunicorn", "--bind", f"{host}:{port}",
        "--worker-class", "gthread", "--workers", str(workers), "--threads", str(threads),
        "--worker-connections", str(max(1000, 4 * threads)),
        "--timeout", str(timeout), "--graceful-timeout", "30", "--keep-alive", "5",
        "--log-level", log_level, "--no-control-socket",
    ]
    if access_log:
        command += ["--access-logfile", "-"]
    return [*command, app]
