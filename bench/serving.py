"""The serving choice, measured: gunicorn gthread configurations (workers × threads) on this
machine, each on a fresh PostgreSQL database with the same signed lots.

    .venv/bin/python -m bench.serving [--configs 1x64,2x64,3x64,4x64,2x8] [--fse 1000]
                                      [--clients 4] [--slow 50] [--duration 20] [--big-mb 2]
    (or ``python -m bench serving``; not part of a plain ``make bench``: several minutes)

Per configuration: end-to-end FSE/s of 1,000-FSE lots sent one after the other by one
client (median lot), then by ``--clients`` clients at once (all FSE over the wall time);
the workers' peak RSS (VmHWM); then ``bench/slowclients.py``'s check, shortened: ``--slow``
crawling connections for ``--duration`` seconds while /healthz and a 5-FSE lot are probed
every second (target: every answer within 1 s) and a ``--big-mb`` MB lot is sent at 1 Mbit/s
(target: 201). The best configuration is the fastest with several clients among those that
meet the slow-client targets; ``amelipro.serving``'s default is printed beside it.
``AMELIPRO_BENCH_QUICK=1``: 200-FSE lots, 8 s of slow clients, a 0.5 MB lot.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import threading
import time
from dataclasses import dataclass

from bench import common
from bench.slowclients import Probes, big_lot, big_lot_settings, check
from bench.submit import post_lot

#: Not run by a plain ``python -m bench`` (``make bench``): name it to run it.
IN_MAKE_BENCH = False


@dataclass(frozen=True)
class Outcome:
    workers: int
    threads: int
    sequential: float  # FSE/s, one client
    concurrent: float  # FSE/s, several clients at once
    statuses: tuple[int, ...]
    rss_mb: tuple[float, ...]  # VmHWM of each worker at the end
    probes: Probes
    load: str

    @property
    def label(self) -> str:
        return f"{self.workers} × {self.threads}"

    @property
    def compatible(self) -> bool:
        return self.probes.all_within and self.probes.big_ok


def _concurrently(server: common.Server, where: common.Site, lots: list[bytes], clients: int) -> tuple[float, list[int]]:
    """Send ``lots`` shared among ``clients`` threads at once; (seconds, statuses)."""
    import requests

    statuses: list[int] = []

    def client(share: list[tuple[int, bytes]]) -> None:
        with requests.Session() as http:
            for i, body in share:
                statuses.append(post_lot(http, server, where, body, f"conc-{i}")[0])

    numbered = list(enumerate(lots))
    threads = [threading.Thread(target=client, args=(numbered[c::clients],)) for c in range(clients)]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return time.perf_counter() - started, statuses


def measure(base: common.Site, workers: int, threads: int, lots: dict[str, list[bytes]], clients: int,
            slow: int, duration: float) -> Outcome:
    import requests

    with common.site(base.database, base=base.base) as where:
        server = common.serve(where, big_lot_settings(lots["big"][0]), workers=workers, threads=threads)
        try:
            common.warm(server, where, lots["small"][0], 2 * workers)
            times, statuses = [], []
            with requests.Session() as http:
                for i, body in enumerate(lots["sequential"]):
                    started = time.perf_counter()
                    statuses.append(post_lot(http, server, where, body, f"seq-{i}")[0])
                    times.append(time.perf_counter() - started)
            seconds, more = _concurrently(server, where, lots["concurrent"], clients)
            statuses += more
            n_fse = lots["fse"][0]
            rss = tuple(common.vm_hwm_mb(pid) or 0.0 for pid in server.worker_pids())
            load = common.load_average()
            probes = check(server, where, lots["small"][1:], lots["big"][0], slow, duration, 1.0)
        finally:
            server.stop()
    return Outcome(workers, threads, n_fse / statistics.median(times),
                   n_fse * len(lots["concurrent"]) / seconds, tuple(statuses), rss, probes, load)


def _row(o: Outcome) -> str:
    probes = o.probes.health + o.probes.lots
    worst = max(probes, default=0.0) * 1000
    within = sum(1 for p in probes if p <= 1.0) / len(probes) if probes else 0.0
    refused = sum(1 for s in o.statuses if s != 201)
    return (f"{o.label:<8} {o.sequential:>9,.0f} {o.concurrent:>11,.0f} {max(o.rss_mb, default=0):>9.0f} "
            f"{sum(o.rss_mb):>9.0f} {within:>7.0%} {worst:>8.0f} {o.probes.upload.get('status')!s:>6}  "
            f"{'oui' if o.compatible else 'NON'}{f' ({refused} lots non 201)' if refused else ''}  [{o.load}]")


def main(argv: list[str] | None = None) -> None:
    from amelipro.serving import DEFAULT_THREADS, DEFAULT_WORKERS

    small = common.quick()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--configs", default="1x64,2x64,3x64,4x64,2x8")
    parser.add_argument("--fse", type=int, default=200 if small else 1000)
    parser.add_argument("--sequential", type=int, default=3, help="lots sent one after the other")
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--slow", type=int, default=50)
    parser.add_argument("--duration", type=float, default=8.0 if small else 20.0)
    parser.add_argument("--big-mb", type=float, default=0.5 if small else 2.0)
    parser.add_argument("--db", default="postgresql")
    args = parser.parse_args(argv if argv is not None else [])
    configs = [tuple(int(x) for x in c.split("x")) for c in args.configs.split(",") if c.strip()]
    outcomes = []
    with common.site(args.db) as base:
        signed = common.signed_lots(base, [5] * 11 + [args.fse] * (args.sequential + args.clients))
        big, _ = big_lot(base, args.big_mb, signed[0], 5)
        lots = {"small": signed[:11], "sequential": signed[11:11 + args.sequential],
                "concurrent": signed[11 + args.sequential:], "big": [big], "fse": [args.fse]}
        for workers, threads in configs:
            outcomes.append(measure(base, workers, threads, lots, args.clients, args.slow, args.duration))
    print(f"gunicorn gthread sur {args.db}, lots de {args.fse} FSE : {args.sequential} par 1 client, "
          f"{args.clients} par {args.clients} clients à la fois ; {args.slow} connexions lentes {args.duration:.0f} s "
          f"+ lot de {len(big) / 1e6:.1f} Mo à 1 Mbit/s")
    print(f"{'workers':<8} {'FSE/s 1 cl':>9} {f'FSE/s {args.clients} cl':>11} {'RSS max':>9} {'RSS somme':>9} "
          f"{'≤ 1 s':>7} {'max ms':>8} {'gros':>6}  compatible clients lents")
    for o in outcomes:
        print(_row(o))
    fit = [o for o in outcomes if o.compatible]
    best = max(fit, key=lambda o: (o.concurrent, o.sequential), default=None)
    default = next((o for o in outcomes if (o.workers, o.threads) == (DEFAULT_WORKERS, DEFAULT_THREADS)), None)
    versus = (f" ({best.concurrent / default.concurrent - 1:+.0%} sur le défaut à {args.clients} clients)"
              if best and default and default.concurrent else "")
    print(f"meilleure configuration compatible : {best.label if best else 'aucune'}{versus} ; "
          f"défaut d'amelipro.serving : {DEFAULT_WORKERS} × {DEFAULT_THREADS} ; {common.load_average()}")
    print("(les configurations sont mesurées l'une après l'autre : sur une machine chargée par d'autres, "
          "un écart de quelques dizaines de % peut n'être que la charge)")


if __name__ == "__main__":
    main(sys.argv[1:])
