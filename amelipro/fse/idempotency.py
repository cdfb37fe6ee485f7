"""``Idempotency-Key`` for the lot endpoints.

The first request with a key claims it (a row *in progress*, committed at once, so a
concurrent request with the same key sees it and gets 409). The answer is stored with the
key in the same transaction as the lot (``complete`` adds to the caller's transaction), so
a lot is never recorded without its answer. The same key with the same body replays that
answer; with another body it is refused. A claim left *in progress* by a crashed worker may
be taken over after ``STALE_AFTER``.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from amelipro.db import utcnow
from amelipro.errors import AmeliproError
from amelipro.fse import lot_errors
from amelipro.fse.models import IdempotencyKey, IdempotencyState

STALE_AFTER = timedelta(minutes=10)
_KEY_RE = re.compile(r"[\x21-\x7e]{1,255}")


@dataclass(frozen=True)
class Claim:
    """A key this request owns: complete it with the answer, or release it."""

    id: int
    key: str


@dataclass(frozen=True)
class Replay:
    status: int
    content_type: str
    body: bytes


def request_hash(method: str, path: str, body: bytes) -> str:
    digest = hashlib.sha256()
    for part in (method.upper().encode(), b"\0", path.encode(), b"\0", body):
        digest.update(part)
    return digest.hexdigest()


def check_key(raw: str) -> str:
    key = raw.strip()
    if not _KEY_RE.fullmatch(key):
        raise AmeliproError(lot_errors.IDEMPOTENCY_KEY_INVALID)
    return key


def claim(session: Session, professional_id: int, key: str, req_hash: str) -> Claim | Replay:
    """Claim ``key`` for this request, or answer what it already got. Commits the claim."""
    row = IdempotencyKey(
        professional_id=professional_id,
        key=key,
        request_hash=req_hash,
        state=IdempotencyState.IN_PROGRESS,
        created_at=utcnow(),
    )
    session.add(row)
    try:
        session.commit()
        return Claim(row.id, key)
    except IntegrityError:
        session.rollback()
    existing = session.scalar(
        select(IdempotencyKey).where(
            IdempotencyKey.professional_id == professional_id, IdempotencyKey.key == key
        )
    )
    if existing is None:  # released meanwhile: the caller may retry
        raise AmeliproError(lot_errors.IDEMPOTENCY_IN_PROGRESS)
    if existing.request_hash != req_hash:
        raise AmeliproError(lot_errors.IDEMPOTENCY_KEY_REUSED, key=key)
    if existing.state == IdempotencyState.DONE:
        return Replay(existing.response_status or 200, existing.response_content_type, existing.response_body or b"")
    if existing.created_at < utcnow() - STALE_AFTER:
        taken = session.execute(
            update(IdempotencyKey)
            .where(
                IdempotencyKey.id == existing.id,
                IdempotencyKey.state == IdempotencyState.IN_PROGRESS,
                IdempotencyKey.created_at == existing.created_at,
            )
            .values(created_at=utcnow())
        ).rowcount
        session.commit()
        if taken == 1:
            return Claim(existing.id, key)
    raise AmeliproError(lot_errors.IDEMPOTENCY_IN_PROGRESS, key=key)


def complete(
    session: Session, claim_: Claim, status: int, content_type: str, body: bytes, lot_id: int | None = None
) -> None:
    """Store the answer with the key, in the caller's transaction (the caller commits)."""
    session.execute(
        update(IdempotencyKey)
        .where(IdempotencyKey.id == claim_.id)
        .values(
            state=IdempotencyState.DONE,
            response_status=status,
            response_content_type=content_type,
            response_body=body,
            lot_id=lot_id,
            completed_at=utcnow(),
        )
    )


def release(session: Session, claim_: Claim) -> None:
    """Forget an unanswered claim (unexpected failure): the client may retry with its key."""
    session.rollback()
    session.execute(
        delete(IdempotencyKey).where(
            IdempotencyKey.id == claim_.id, IdempotencyKey.state == IdempotencyState.IN_PROGRESS
        )
    )
    session.commit()
