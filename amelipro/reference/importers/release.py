"""How a release is applied to the reference tables, whatever its dataset.

``ImportContext`` is the record of one import run: the files read (name, SHA-256, size, rows),
every skipped or defective line (``Anomaly``) and the counts. The rows an importer has read
are compared with what is stored through two rules:

* ``apply_snapshot``: the release is the complete state at ``effective``: a row whose values
  changed is closed the day before and a new one opened; a code absent from the release is
  closed; the first release of a stream opens its rows with ``valid_from = None`` (in force
  since before the first release we know of).
* ``apply_history``: the source carries its own validity dates (official LPP history,
  NGAP letter-key configuration): missing periods are added, open periods are closed when the
  source closes them, and a period whose amounts differ from what is stored is reported,
  never overwritten.

Descriptive tables (names, labels) keep the latest release (``upsert_descriptive``,
``replace_set``). The same release imported twice changes nothing. Everything here only
flushes: the caller (the ``import_reference`` service) commits.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.orm import Session

from amelipro.db import utcnow
from amelipro.reference import models as m
from amelipro.reference.parsing import Anomaly, sha256_of


@dataclass
class ImportContext:
    session: Session
    run: m.ImportRun
    anomalies: list[Anomaly] = field(default_factory=list)
    files: list[dict[str, Any]] = field(default_factory=list)
    created: int = 0
    changed: int = 0
    closed: int = 0
    unchanged: int = 0

    def anomaly(self, file: str, line: int, reason: str, skipped: bool = True) -> None:
        self.anomalies.append(Anomaly(file, line, reason, skipped))

    def add_file(self, path: Path, rows: int) -> None:
        self.files.append({"name": path.name, "sha256": sha256_of(path), "bytes": path.stat().st_size,
                           "rows": rows})

    def finish(self, status: str = "done") -> m.ImportRun:
        run = self.run
        run.created, run.changed, run.closed, run.unchanged = self.created, self.changed, self.closed, self.unchanged
        run.skipped = sum(1 for a in self.anomalies if a.skipped)
        run.anomalies = json.dumps([a.as_dict() for a in self.anomalies], ensure_ascii=False)
        run.files = json.dumps(self.files, ensure_ascii=False)
        run.status = status
        run.finished_at = utcnow()
        self.session.flush()
        return run


# ---------------------------------------------------------------- dated rows


def apply_snapshot(
    ctx: ImportContext,
    model: type,
    stream: str,
    key: str,
    rows: dict[str, dict[str, Any]],
    fields: tuple[str, ...],
    effective: date,
    close_missing: bool = True,
) -> None:
    session = ctx.session
    key_col = getattr(model, key)
    first_release = session.scalar(select(func.count()).select_from(model).where(model.stream == stream)) == 0
    cols = [model.id, key_col, model.valid_from, *(getattr(model, f) for f in fields)]
    open_rows = {
        r[1]: r for r in session.execute(select(*cols).where(model.stream == stream, model.valid_to.is_(None)))
    }
    if open_rows and close_missing:
        missing = sum(1 for code in open_rows if code not in rows)
        if not rows or (missing > 100 and missing * 2 > len(open_rows)):
            # An empty or truncated file would close most codes: refuse the release instead.
            raise ValueError(f"{stream} : la version retirerait {missing} codes sur {len(open_rows)} "
                             "(fichier vide ou tronqué ?) : import refusé")
    inserts: list[dict[str, Any]] = []
    closes: list[dict[str, Any]] = []
    start = None if first_release else effective
    for code, values in rows.items():
        current = open_rows.get(code)
        if current is None:
            inserts.append({key: code, "stream": stream, "valid_from": start, "run_id": ctx.run.id, **values})
            ctx.created += 1
            continue
        if tuple(current[3:]) == tuple(values[f] for f in fields):
            ctx.unchanged += 1
            continue
        if current[2] is not None and effective <= current[2]:
            ctx.anomaly(stream, 0, f"{code} : version du {effective:%d/%m/%Y} antérieure à la valeur en vigueur "
                                   f"depuis le {current[2]:%d/%m/%Y}, ignorée")
            continue
        closes.append({"id": current[0], "valid_to": effective - timedelta(days=1), "closed_run_id": ctx.run.id})
        inserts.append({key: code, "stream": stream, "valid_from": effective, "run_id": ctx.run.id, **values})
        ctx.changed += 1
    if close_missing:
        for code, current in open_rows.items():
            if code not in rows:
                if current[2] is not None and effective <= current[2]:
                    continue
                closes.append({"id": current[0], "valid_to": effective - timedelta(days=1),
                               "closed_run_id": ctx.run.id})
                ctx.closed += 1
    if closes:
        session.execute(update(model), closes)
    if inserts:
        session.execute(insert(model), inserts)


def apply_history(
    ctx: ImportContext,
    model: type,
    stream: str,
    key: str,
    periods: list[dict[str, Any]],
    fields: tuple[str, ...],
) -> None:
    """``periods``: dicts with key, valid_from, valid_to and ``fields``."""
    session = ctx.session
    key_col = getattr(model, key)
    cols = [model.id, key_col, model.valid_from, model.valid_to, *(getattr(model, f) for f in fields)]
    stored = {(r[1], r[2]): r for r in session.execute(select(*cols).where(model.stream == stream))}
    inserts, closes = [], []
    for period in periods:
        ident = (period[key], period["valid_from"])
        current = stored.get(ident)
        if current is None:
            inserts.append({"stream": stream, "run_id": ctx.run.id, **period})
            ctx.created += 1
            continue
        if tuple(current[4:]) != tuple(period[f] for f in fields):
            ctx.anomaly(stream, 0, f"{period[key]} : la période du {_fmt(period['valid_from'])} a changé dans la "
                                   "source ; valeurs enregistrées conservées", skipped=True)
            continue
        if current[3] is None and period["valid_to"] is not None:
            closes.append({"id": current[0], "valid_to": period["valid_to"], "closed_run_id": ctx.run.id})
            ctx.closed += 1
        else:
            ctx.unchanged += 1
    if closes:
        session.execute(update(model), closes)
    if inserts:
        session.execute(insert(model), inserts)


def _fmt(d: date | None) -> str:
    return d.strftime("%d/%m/%Y") if d else "début"


def upsert_descriptive(ctx: ImportContext, model: type, key: str, rows: dict[str, dict[str, Any]]) -> tuple[int, int]:
    """Insert new codes, update changed descriptions (labels are not dated). Returns (new, updated)."""
    session = ctx.session
    names = list(next(iter(rows.values())).keys()) if rows else []
    cols = [model.id, getattr(model, key), *(getattr(model, n) for n in names)]
    existing = {r[1]: r for r in session.execute(select(*cols))}
    inserts, updates = [], []
    for code, values in rows.items():
        current = existing.get(code)
        if current is None:
            inserts.append({key: code, **values})
        elif tuple(current[2:]) != tuple(values[n] for n in names):
            updates.append({"id": current[0], **values})
    if updates:
        session.execute(update(model), updates)
    if inserts:
        session.execute(insert(model), inserts)
    return len(inserts), len(updates)


def replace_set(ctx: ImportContext, model: type, rows: list[dict[str, Any]], names: tuple[str, ...]) -> None:
    """Replace a whole descriptive table when its content differs (compositions, groups).

    Counted as rows created when the table was empty, else as one change of the table.
    """
    session = ctx.session
    current = sorted(tuple(r) for r in session.execute(select(*(getattr(model, n) for n in names))))
    wanted = sorted(tuple(r[n] for n in names) for r in rows)
    if current == wanted:
        ctx.unchanged += 1
        return
    session.execute(delete(model))
    if rows:
        session.execute(insert(model), rows)
    if current:
        ctx.changed += 1
    else:
        ctx.created += len(rows)
