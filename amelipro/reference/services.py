"""Use cases of the reference capability: the only place that commits."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from amelipro import audit
from amelipro.db import utcnow
from amelipro.errors import AmeliproError
from amelipro.reference import errors
from amelipro.reference import models as m
from amelipro.reference.importers import (
    DATASETS,
    DEMO_DIR,
    IMPORTERS,
    ImportContext,
    available_datasets,
)
from amelipro.reference.search import rebuild_search_index


@dataclass(frozen=True)
class ImportConfig:
    source: Path
    effective: date | None = None  # date the release takes effect (default: from the files, else today in Paris)
    datasets: tuple[str, ...] = DATASETS
    actor: str = "cli"
    rebuild_index: bool = True  # False: the caller rebuilds the search index (benchmark)


@dataclass(frozen=True)
class ImportResult:
    runs: tuple[m.ImportRun, ...]
    search_entries: int | None  # None when nothing changed and the index was kept


def resolve_source(configured: str | None, explicit: str | None = None) -> tuple[Path, bool]:
    """(directory, is_demo): --source, else REFERENCE_DIR when it exists, else the demo set."""
    if explicit:
        path = Path(explicit)
        if not path.is_dir():
            raise AmeliproError(errors.SOURCE_MISSING, str(path))
        return path, False
    if configured and Path(configured).is_dir():
        return Path(configured), False
    return DEMO_DIR, True


def import_reference(
    session: Session, config: ImportConfig, progress: Callable[[str], None] | None = None
) -> ImportResult:
    """Import every dataset present in ``config.source``; one transaction per dataset."""
    if not config.source.is_dir():
        raise AmeliproError(errors.SOURCE_MISSING, str(config.source))
    present = available_datasets(config.source)
    runs = []
    touched = False
    for dataset in (d for d in DATASETS if d in config.datasets and d in present):
        if progress:
            progress(dataset)
        run = m.ImportRun(dataset=dataset, actor=config.actor, effective_date=config.effective,
                          started_at=utcnow())
        session.add(run)
        session.flush()
        ctx = ImportContext(session, run)
        try:
            IMPORTERS[dataset].run(ctx, config.source, config.effective)
            ctx.finish("done")
            audit.record(session, "reference.import", actor_login=config.actor, dataset=dataset, run_id=run.id,
                         created=run.created, changed=run.changed, closed=run.closed, skipped=run.skipped)
            session.commit()
        except (OSError, ValueError, UnicodeError) as exc:
            # A release that cannot be read at all: nothing of it is kept, the failure is.
            session.rollback()
            failed = m.ImportRun(dataset=dataset, actor=config.actor, status="failed", started_at=utcnow(),
                                 finished_at=utcnow(), effective_date=config.effective,
                                 anomalies=json.dumps([{"file": "", "line": 0, "skipped": True,
                                                        "reason": f"import interrompu : {exc}"[:500]}],
                                                      ensure_ascii=False))
            session.add(failed)
            session.commit()
            raise AmeliproError(errors.SOURCE_UNREADABLE, f"{dataset} : {exc}"[:300], run_id=failed.id) from exc
        except Exception:
            session.rollback()
            raise
        runs.append(run)
        touched = touched or bool(run.created or run.changed or run.closed)
    entries = None
    index_missing = session.scalar(select(m.SearchEntry.id).limit(1)) is None
    if config.rebuild_index and (touched or index_missing):
        if progress:
            progress("search")
        entries = rebuild_search_index(session)
        session.commit()
    return ImportResult(tuple(runs), entries)


def add_ehpad_mapping(session: Session, lpp_code: str, category_id: int, reason: str, actor: str) -> m.EhpadMapping:
    lpp_code = lpp_code.strip()
    reason = reason.strip()
    if not reason:
        raise AmeliproError(errors.EHPAD_REASON_REQUIRED)
    if session.scalar(select(m.LppCode.id).where(m.LppCode.code == lpp_code)) is None:
        raise AmeliproError(errors.LPP_NOT_FOUND, lpp_code)
    if session.get(m.EhpadCategory, category_id) is None:
        raise AmeliproError(errors.EHPAD_CATEGORY_NOT_FOUND, str(category_id))
    active = session.scalar(select(m.EhpadMapping).where(m.EhpadMapping.lpp_code == lpp_code,
                                                         m.EhpadMapping.removed_at.is_(None)))
    if active is not None:
        raise AmeliproError(errors.EHPAD_MAPPING_EXISTS, lpp_code)
    mapping = m.EhpadMapping(lpp_code=lpp_code, category_id=category_id, reason=reason[:400], origin="manual",
                             created_at=utcnow(), created_by=actor)
    session.add(mapping)
    session.flush()
    _reindex_lpp(session, lpp_code, category_id)
    audit.record(session, "reference.ehpad.add", actor_login=actor, lpp_code=lpp_code, category_id=category_id,
                 reason=reason[:400])
    session.commit()
    return mapping


def remove_ehpad_mapping(session: Session, mapping_id: int, actor: str) -> m.EhpadMapping:
    mapping = session.get(m.EhpadMapping, mapping_id)
    if mapping is None or mapping.removed_at is not None:
        raise AmeliproError(errors.EHPAD_MAPPING_NOT_FOUND, str(mapping_id))
    mapping.removed_at = utcnow()
    mapping.removed_by = actor
    _reindex_lpp(session, mapping.lpp_code, None)
    audit.record(session, "reference.ehpad.remove", actor_login=actor, lpp_code=mapping.lpp_code,
                 category_id=mapping.category_id)
    session.commit()
    return mapping


def _reindex_lpp(session: Session, code: str, category_id: int | None) -> None:
    entry = session.scalar(select(m.SearchEntry).where(m.SearchEntry.kind == "lpp", m.SearchEntry.code == code))
    if entry is not None:
        entry.ehpad_category_id = category_id
