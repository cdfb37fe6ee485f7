"""``make bench``: runs every benchmark module in bench/ and prints their tables."""

from __future__ import annotations

import importlib
import pkgutil
import sys
from pathlib import Path

import bench


def main() -> int:
    names = sorted(m.name for m in pkgutil.iter_modules([str(Path(bench.__file__).parent)])
                   if not m.name.startswith("_"))
    print(f"{'benchmark':<20} status")
    print(f"{'-' * 20} ------")
    failed = 0
    for name in names:
        module = importlib.import_module(f"bench.{name}")
        if not hasattr(module, "main"):
            continue
        print(f"\n## bench/{name}.py")
        try:
            module.main()
        except Exception as exc:  # noqa: BLE001 - report and go on with the others
            failed += 1
            print(f"{name:<20} ÉCHEC : {exc!r}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
