"""Operations as background jobs: start (one at a time per kind), claim, run with progress.

``start_job`` records a queued job (the unique ``active_kind`` refuses a second one of the same
kind) and audits it; ``run_job`` claims a queued job atomically and runs it — in a thread of the
web process (the default) or in ``amelipro operations work`` — writing its progress as it goes,
then its result or its failure, and the audit entry. The command line operations stay as they
are (``amelipro reference import``, ``amelipro thirdparty liquidate``).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from amelipro import audit
from amelipro.db import utcnow
from amelipro.errors import AmeliproError
from amelipro.operations import errors
from amelipro.operations.models import OperatorJob
from amelipro.reference.services import DATASETS, ImportConfig, import_reference, resolve_source
from amelipro.thirdparty.liquidation import LiquidationConfig, pending_count, run_liquidation
from amelipro.thirdparty.tracking import track_accepted

log = logging.getLogger(__name__)

KINDS = {"reference_import": "Import des référentiels", "liquidation": "Liquidation des FSE en tiers payant"}
STALE_AFTER = timedelta(minutes=30)  # a running job silent that long died with its process


def start_job(session: Session, kind: str, actor: str) -> OperatorJob:
    """Queue a job of ``kind``; OPS-001 when one of that kind is queued or running."""
    if kind not in KINDS:
        raise AmeliproError(errors.UNKNOWN_KIND, kind[:40])
    _fail_stale(session, kind)
    job = OperatorJob(kind=kind, status="queued", active_kind=kind, requested_by=actor)
    session.add(job)
    try:
        session.flush()
    except IntegrityError:
        session.rollback()
        running = session.scalar(select(OperatorJob).where(OperatorJob.active_kind == kind))
        raise AmeliproError(errors.ALREADY_RUNNING, f"opération n° {running.id}" if running else "",
                            job_id=running.id if running else None) from None
    audit.record(session, "operations.started", actor_login=actor, job_id=job.id, operation=KINDS[kind])
    session.commit()
    return job


def _fail_stale(session: Session, kind: str) -> None:
    stale = session.scalar(select(OperatorJob).where(OperatorJob.active_kind == kind,
                                                     OperatorJob.updated_at < utcnow() - STALE_AFTER))
    if stale is not None:
        _finish(session, stale, "failed", error="Interrompue (le processus qui l'exécutait s'est arrêté).")


def get_job(session: Session, job_id: int) -> OperatorJob:
    job = session.get(OperatorJob, job_id)
    if job is None:
        raise AmeliproError(errors.NOT_FOUND, str(job_id))
    return job


def list_jobs(session: Session, limit: int = 20) -> list[OperatorJob]:
    return list(session.scalars(select(OperatorJob).order_by(OperatorJob.id.desc()).limit(limit)))


def claim(session: Session, job_id: int) -> bool:
    """queued -> running, once: two workers cannot both run a job."""
    now = utcnow()
    done = session.execute(update(OperatorJob).where(OperatorJob.id == job_id, OperatorJob.status == "queued")
                           .values(status="running", started_at=now, updated_at=now))
    session.commit()
    return done.rowcount == 1


def next_queued(session: Session) -> int | None:
    return session.scalar(select(OperatorJob.id).where(OperatorJob.status == "queued").order_by(OperatorJob.id))


def _progress(session: Session, job_id: int, *, done: int | None = None, add: int = 0,
              total: int | None = None, step: str | None = None) -> None:
    values: dict[str, Any] = {"updated_at": utcnow()}
    if done is not None:
        values["progress_done"] = done
    if add:
        values["progress_done"] = OperatorJob.progress_done + add
    if total is not None:
        values["progress_total"] = total
    if step is not None:
        values["step"] = step[:200]
    session.execute(update(OperatorJob).where(OperatorJob.id == job_id).values(**values))
    session.commit()


def _finish(session: Session, job: OperatorJob, status: str, *, result: dict | None = None, error: str = "") -> None:
    job.status = status
    job.active_kind = None
    job.finished_at = job.updated_at = utcnow()
    job.result = json.dumps(result or {}, ensure_ascii=False, default=str)
    job.error = error[:400]
    audit.record(session, "operations.finished" if status == "done" else "operations.failed",
                 actor_login=job.requested_by, job_id=job.id, operation=KINDS.get(job.kind, job.kind))
    session.commit()


def run_job(session_factory: Callable[[], Session], job_id: int, *, reference_dir: str | None = None,
            today: date | None = None) -> str | None:
    """Claim and run one job; returns its final status (None when another worker had it)."""
    with session_factory() as session:
        if not claim(session, job_id):
            return None
        kind, actor = session.execute(select(OperatorJob.kind, OperatorJob.requested_by)
                                      .where(OperatorJob.id == job_id)).one()
    try:
        with session_factory() as progress_session:
            if kind == "reference_import":
                result = _run_import(session_factory, progress_session, job_id, actor, reference_dir)
            else:
                result = _run_liquidation(session_factory, progress_session, job_id, actor, today)
    except Exception as exc:  # noqa: BLE001 - the job fails, the worker goes on
        log.exception("operation %s failed", job_id)
        message = exc.error.message if isinstance(exc, AmeliproError) else "Erreur interne : l'incident a été enregistré."
        with session_factory() as session:
            _finish(session, session.get(OperatorJob, job_id), "failed", error=message)
        return "failed"
    with session_factory() as session:
        _finish(session, session.get(OperatorJob, job_id), "done", result=result)
    return "done"


def _run_import(session_factory, progress_session, job_id: int, actor: str, reference_dir: str | None) -> dict:
    source, is_demo = resolve_source(reference_dir)
    _progress(progress_session, job_id, total=len(DATASETS) + 1, step="Lecture des fichiers")
    labels = {"bdpm": "médicaments (BDPM)", "ccam": "CCAM", "ngap": "NGAP", "lpp": "LPP", "ehpad": "liste EHPAD",
              "search": "index de recherche"}

    def progress(name: str) -> None:
        _progress(progress_session, job_id, add=1, step=f"Import : {labels.get(name, name)}")

    with session_factory() as session:
        imported = import_reference(session, ImportConfig(source=source, actor=actor), progress=progress)
        runs = [{"run_id": r.id, "dataset": r.dataset, "release": r.release, "status": r.status,
                 "created": r.created, "changed": r.changed, "closed": r.closed, "skipped": r.skipped}
                for r in imported.runs]
    _progress(progress_session, job_id, done=len(DATASETS) + 1, step="Terminé")
    return {"demo": is_demo, "runs": runs, "search_entries": imported.search_entries}


def _run_liquidation(session_factory, progress_session, job_id: int, actor: str, today: date | None) -> dict:
    worker = f"operations:{actor}"[:64]
    with session_factory() as session:
        tracked = track_accepted(session, actor=worker)
    with session_factory() as session:
        total = pending_count(session)
    _progress(progress_session, job_id, total=total, step="Liquidation")
    result = run_liquidation(session_factory, LiquidationConfig(today=today, actor=worker),
                             progress=lambda n: _progress(progress_session, job_id, add=n), track=False)
    return {"tracked": tracked, "claimed": result.claimed, "paid": result.paid, "adjusted": result.adjusted,
            "rejected": result.rejected, "amount": f"{result.amount:.2f}", "batches": result.batches}
