"""``make bench``: runs every benchmark module in bench/ and prints their tables.

    .venv/bin/python -m bench [--quick] [NAME ...]

Without NAME, every module with a ``main`` except those marked ``IN_MAKE_BENCH = False``
(``bench/serving.py``: several minutes); with NAMEs, those modules only, marked or not.
``--quick`` (or ``AMELIPRO_BENCH_QUICK=1``, e.g. ``make bench QUICK=1``): each module in its
small mode, for a check that everything still runs; its figures are not the targets'.
"""

from __future__ import annotations

import argparse
import importlib
import os
import pkgutil
import sys
import time
from pathlib import Path

import bench
from bench.common import QUICK_ENV, load_average


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small mode of every benchmark")
    parser.add_argument("names", nargs="*", help="modules to run (default: all but IN_MAKE_BENCH = False)")
    args = parser.parse_args(argv)
    if args.quick:
        os.environ[QUICK_ENV] = "1"
    found = sorted(m.name for m in pkgutil.iter_modules([str(Path(bench.__file__).parent)])
                   if not m.name.startswith("_"))
    unknown = set(args.names) - set(found)
    if unknown:
        parser.error(f"unknown benchmark(s): {', '.join(sorted(unknown))}")
    started = time.monotonic()
    print(f"python -m bench{' --quick' if os.environ.get(QUICK_ENV) else ''} ; {load_average()}")
    failed = 0
    for name in args.names or found:
        module = importlib.import_module(f"bench.{name}")
        if not hasattr(module, "main") or (not args.names and not getattr(module, "IN_MAKE_BENCH", True)):
            continue
        print(f"\n## bench/{name}.py")
        try:
            module.main()
        except Exception as exc:  # noqa: BLE001 - report and go on with the others
            failed += 1
            print(f"{name:<20} ÉCHEC : {exc!r}")
    print(f"\nbench : {time.monotonic() - started:.0f} s, {failed} module(s) en échec ; {load_average()}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
