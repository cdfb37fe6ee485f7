"""Where a release's files are, and the one reader of its text files.

Every importer reads through these functions: the encoding is guessed in one place
(``parsing.decode_bytes``: UTF-8 when valid, else Windows-1252, as the BDPM ships both), and
every row comes with the line number its anomalies are reported at.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Iterator
from pathlib import Path

from amelipro.reference.parsing import decode_bytes

PACKAGE_DATA = Path(__file__).resolve().parent.parent / "data"
DEMO_DIR = PACKAGE_DATA / "demo"


def find_file(root: Path, name: str) -> Path | None:
    """``name`` directly under ``root`` or one directory below (the shared layout)."""
    candidates = [root / name, *sorted(root.glob(f"*/{name}"))]
    for path in candidates:
        if path.is_file():
            return path
    return None


def find_glob(root: Path, pattern: str) -> Path | None:
    """Case-insensitive glob at ``root`` or one level below; the last match in name order."""
    regex = re.compile(pattern.replace(".", r"\.").replace("*", ".*") + "$", re.IGNORECASE)
    matches = [p for p in [*root.iterdir(), *(q for d in root.iterdir() if d.is_dir() for q in d.iterdir())]
               if p.is_file() and regex.match(p.name)] if root.is_dir() else []
    return sorted(matches, key=lambda p: p.name)[-1] if matches else None


def read_text(path: Path) -> str:
    """The whole file, decoded (its encoding is not announced)."""
    return decode_bytes(path.read_bytes())[0]


def tab_rows(
    path: Path,
    report: Callable[[str, int, str], None],
    width: int,
    readable: Callable[[list[str]], bool],
) -> Iterator[tuple[int, list[str]]]:
    """(line number, columns) of each line of a tab-separated file without header or quoting.

    Blank lines are passed over. A line that is not ``readable`` is reported
    (``report(file, line, reason)``) and skipped; the others are padded with "" up to ``width``.
    """
    for no, line in enumerate(read_text(path).splitlines(), 1):
        if not line.strip():
            continue
        cols = line.split("\t")
        if not readable(cols):
            report(path.name, no, f"ligne illisible ({len(cols)} colonnes)")
            continue
        yield no, cols + [""] * (width - len(cols))


def csv_rows(path: Path) -> Iterator[tuple[int, list[str]]]:
    """(row number from 1, fields) of a comma-separated file with quoting."""
    return enumerate(csv.reader(io.StringIO(read_text(path))), 1)


def csv_records(path: Path) -> Iterator[tuple[int, dict[str, str]]]:
    """(line number, fields by column name) of a comma-separated file with a header line."""
    return enumerate(csv.DictReader(io.StringIO(read_text(path))), 2)
