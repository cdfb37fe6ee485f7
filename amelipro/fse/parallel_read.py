"""A large lot read on two cores: this process reads one share of the lot's FSE while a
helper process reads the other, when the machine has a core to spare.

Reading a lot (safe parse, each FSE's signature verified, its signed content validated and
mapped to a care sheet) is about half of a lot's CPU time, and each FSE is read on its own
(``xmlcore.lot.read_lot_share``: FSE 1, 3, 5... here, 2, 4, 6... in the helper, the lot-level
checks made by both). The helper is one process per app process, a fresh interpreter
(``python -m amelipro.fse.parallel_read``: never a fork of a threaded server) fed through its
pipes, started in the background by the process's first large lot (which is read here
alone): a process that never receives one never starts it. It is used only:

- for a lot of at least :data:`MIN_BYTES` (below, the helper's fixed costs outweigh it);
- when no other lot of this process is using it (a lock tried, never waited for);
- when a core is idle at that moment (the runnable count of ``/proc/loadavg`` below the
  cores this process may use, at two of three looks 1 ms apart): when both cores already
  serve lots, a second reader would only add work (each reader parses the whole lot).

In every other case (helper starting, busy, dead or slower than :data:`TIMEOUT_SECONDS`, a lot
it does not read in shares) the lot is read here, whole, as without a helper. The answer is
the same either way: the same reading, split (tests/integration/test_fse_parallel_read.py).

Setting ``FSE_PARALLEL_READ`` (default on): off, every lot is read in the request's process.
"""

from __future__ import annotations

import gc
import logging
import os
import pickle
import struct
import subprocess
import sys
import threading
import time
from collections.abc import Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FuturesTimeout
from datetime import datetime
from typing import IO, Any

log = logging.getLogger(__name__)

MIN_BYTES = 256 * 1024  # about 75 FSE
TIMEOUT_SECONDS = 120.0
MAX_FAILURES = 3
SHARES = 2
#: The settings the helper's gateway is loaded from (``intake.load_gateway``).
_GATEWAY_SETTINGS = ("PKI_DIR", "TRUST_STORE_DIR", "SIGNATURE_MAX_AGE_DAYS", "SIGNATURE_VERIFIER",
                     "XML_MAX_BYTES", "XML_MAX_DEPTH", "FSE_CHECK_RIGHTS")
_LENGTH = struct.Struct(">Q")


def cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def idle_core(loadavg: str = "/proc/loadavg", looks: int = 3) -> bool:
    """Whether a core is idle now: fewer runnable tasks (this one included) than cores at
    most of ``looks`` looks 1 ms apart (a task runnable for an instant, a kernel thread or a
    client finishing its request, is no reason to read alone; a busy process stays).
    Where ``/proc/loadavg`` cannot be read, assume so."""
    idle = 0
    for look in range(looks):
        if look:
            time.sleep(0.001)
        try:
            with open(loadavg) as handle:
                running = int(handle.read().split()[3].split("/")[0])
        except (OSError, ValueError, IndexError):
            return True
        idle += running < cores()
        if 2 * idle > looks or 2 * (look + 1 - idle) >= looks:
            break  # the majority is known
    return 2 * idle > looks


def _send(stream: IO[bytes], message: Any) -> None:
    data = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    stream.write(_LENGTH.pack(len(data)))
    stream.write(data)
    stream.flush()


def _receive(stream: IO[bytes]) -> Any:
    """The next message; EOFError when the other side has gone."""
    head = stream.read(_LENGTH.size)
    if len(head) < _LENGTH.size:
        raise EOFError
    size = _LENGTH.unpack(head)[0]
    data = stream.read(size)
    if len(data) < size:
        raise EOFError
    return pickle.loads(data)  # noqa: S301 - our own helper process, through its pipes


class ParallelReader:
    """The helper of one app process (see the module's docstring): a child process
    (``python -m amelipro.fse.parallel_read``) fed through its standard input and output,
    and a thread of this process that waits for its answers."""

    def __init__(self, config: Mapping[str, Any]) -> None:
        self._settings = {name: config[name] for name in _GATEWAY_SETTINGS if name in config}
        self._process: subprocess.Popen | None = None
        self._ready = threading.Event()
        self._lock = threading.Lock()  # one lot at a time uses the helper
        self._state = threading.Lock()  # starting and stopping
        self._waiter = ThreadPoolExecutor(1, thread_name_prefix="amelipro-parallel-read")
        self._failures = 0  # helpers that failed in a row: at MAX_FAILURES, lots are read here only
        self.served = 0  # shares the helper read (what the tests and the logs can count)

    @property
    def ready(self) -> bool:
        return self._ready.is_set()

    @property
    def failures(self) -> int:
        """Helpers that failed or were stopped since one last started (at :data:`MAX_FAILURES`,
        none is started again)."""
        return self._failures

    def start(self) -> None:
        """Start the helper in the background (idempotent); usable once it has loaded."""
        with self._state:
            if self._process is not None or self._failures >= MAX_FAILURES:
                return
            self._process = subprocess.Popen(
                [sys.executable, "-m", "amelipro.fse.parallel_read"], stdin=subprocess.PIPE,
                stdout=subprocess.PIPE, close_fds=True,
            )
            self._waiter.submit(self._hello, self._process)

    def _hello(self, process: subprocess.Popen) -> None:
        try:
            _send(process.stdin, self._settings)
            if _receive(process.stdout) is True:
                with self._state:
                    if process is self._process:
                        self._failures = 0  # counted in a row
                        self._ready.set()
                return
        except Exception:  # noqa: BLE001 - a helper that cannot load: lots are read here
            log.exception("parallel lot reading unavailable")
        self._stop(process)

    def submit(self, body: bytes, token_rpps: str | None, now: datetime, policy: Any = None,
               limits: Any = None) -> Future | None:
        """The helper's share of ``body`` (``intake.read_share(..., (1, SHARES))``) on its
        way, or None when the lot is to be read here whole (see the module's docstring).
        ``policy`` (a ``VerifyPolicy``) and ``limits`` (``ParseLimits``): this process's,
        which the helper reads with (its own trust store, loaded from the same directory)."""
        if len(body) < MIN_BYTES:
            return None
        if self._process is None:
            self.start()
            return None
        if not self._ready.is_set() or not self._lock.acquire(blocking=False):
            return None
        if not idle_core():
            self._lock.release()
            return None
        process = self._process
        if process is None:  # stopped meanwhile by another lot's failure
            self._lock.release()
            return None
        try:
            request = (body, token_rpps, now, _without_store(policy), limits)
            future = self._waiter.submit(self._exchange, process, request)
        except RuntimeError:  # closed
            self._lock.release()
            return None
        future.helper = process  # the one to stop if it fails (not a helper started since)
        return future

    def _exchange(self, process: subprocess.Popen, request: tuple) -> Any:
        try:
            _send(process.stdin, request)
            return _receive(process.stdout)
        finally:
            self._lock.release()

    def result(self, future: Future) -> list | None:
        """The helper's results, or None (failed or too slow: the lot is read here whole)."""
        try:
            found = future.result(timeout=TIMEOUT_SECONDS)
            if found is not None:
                self.served += 1
            return found
        except FuturesTimeout:
            log.warning("parallel lot reading: helper slower than %s s, stopped", TIMEOUT_SECONDS)
        except Exception:  # noqa: BLE001 - a dead helper (broken pipe, EOF)
            log.exception("parallel lot reading: helper failed, started again on a next lot")
        self._stop(getattr(future, "helper", None))
        return None

    def _stop(self, process: subprocess.Popen | None) -> None:
        """Stop ``process`` if it is still the helper; the next large lot starts another."""
        with self._state:
            if process is None or process is not self._process:
                return
            self._process = None
            self._ready.clear()
            self._failures += 1
        process.kill()  # closes its pipes: a waiting exchange ends with EOFError
        process.wait()
        for stream in (process.stdin, process.stdout):
            try:
                stream.close()
            except OSError:  # data left in the buffer of a pipe nobody reads any more
                pass

    def close(self) -> None:
        self._stop(self._process)
        self._failures = MAX_FAILURES  # closed: never started again
        self._waiter.shutdown(wait=True)


def for_config(config: Mapping[str, Any]) -> ParallelReader | None:
    """The app's helper, or None when ``FSE_PARALLEL_READ`` is off or there is one core."""
    if not config.get("FSE_PARALLEL_READ", True) or cores() < 2:
        return None
    return ParallelReader(config)


# --- in the helper process ---------------------------------------------------------------

def _without_store(policy: Any) -> Any:
    """The policy to send: its trust store (certificates, CRLs, caches) stays here."""
    from dataclasses import replace

    return None if policy is None else replace(policy, trust_store=None)


def _read_share(gateway: Any, settings: Mapping[str, Any], body: bytes, token_rpps: str | None,
                now: datetime, policy: Any, limits: Any) -> list | None:
    from dataclasses import replace

    from amelipro.fse import intake

    intake.refresh_trust_store(gateway, settings)  # a CA or CRL added: as in the app
    if policy is not None:  # the app process's policy, with the trust store of the same directory
        gateway.policy = replace(policy, trust_store=gateway.policy.trust_store)
    if limits is not None:
        gateway.limits = limits
    gc.disable()  # as the app's process reads a lot (services._GcPause)
    try:
        return intake.read_share(gateway, body, token_rpps, now, (1, SHARES))
    finally:
        gc.enable()


def main() -> None:
    """The helper: its settings, then lots, each answered with its share, until its
    standard input closes (the app process has gone)."""
    from amelipro.fse.intake import load_gateway

    requests, answers = sys.stdin.buffer, sys.stdout.buffer
    sys.stdout = sys.stderr  # nothing else may write on the answers' pipe
    try:
        settings = _receive(requests)
        gateway = load_gateway(settings)
        _send(answers, True)
        while True:
            body, token_rpps, now, policy, limits = _receive(requests)
            try:
                result = _read_share(gateway, settings, body, token_rpps, now, policy, limits)
            except Exception:  # noqa: BLE001 - never a 5xx: the app process reads it whole
                log.exception("parallel lot reading: share failed")
                result = None
            _send(answers, result)
    except (EOFError, BrokenPipeError, KeyboardInterrupt):
        return


if __name__ == "__main__":
    main()
