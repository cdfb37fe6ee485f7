"""``Idempotency-Key`` for the lot endpoints.

The first request with a key claims it (a row *in progress*, committed at once, so a
concurrent request with the same key sees it and gets 409). The answer is stored with the
key in the same transaction as the lot (``complete`` adds to the caller's transaction), so
a lot is never recorded without its answer. The same key with the same body replays that
answer; with another body it is refused.

A request that fails releases its claim, on a fresh connection when its own is dead
(:func:`release`). A claim left *in progress* by a worker that died is taken over after
:func:`stale_after`: a bounded time derived from the largest lot the gateway accepts
(``XML_MAX_BYTES``) unless ``IDEMPOTENCY_STALE_SECONDS`` says otherwise. The answer is stored
only by the request that still holds the claim (:func:`complete` checks its token), so a
slow request overtaken by a retry records nothing: one lot per key, whatever happens.
While a claim is in progress, the 409 tells the client when to come back (``retry_after``).
"""

from __future__ import annotations

import hashlib
import logging
import math
import re
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.orm import Session

from amelipro.db import utcnow
from amelipro.errors import AmeliproError
from amelipro.fse import lot_errors
from amelipro.fse.models import IdempotencyKey, IdempotencyState

log = logging.getLogger(__name__)

#: Slowest processing rate assumed for the largest lot (bytes per second): measured lots go
#: through at about 3.5 MB/s (README, bench/submit.py); 200 kB/s leaves a wide margin for a
#: loaded server, a slow database and the statement timeout.
SLOWEST_BYTES_PER_SECOND = 200_000
MIN_STALE_SECONDS = 60
#: How soon a client may come back while a claim is in progress (seconds, at most).
IN_PROGRESS_RETRY_AFTER = 5
_KEY_RE = re.compile(r"[\x21-\x7e]{1,255}")


@dataclass(frozen=True)
class Claim:
    """A key this request owns: complete it with the answer, or release it."""

    id: int
    key: str
    token: datetime  # the claim's created_at: whoever takes it over changes it


def stale_after(config) -> timedelta:
    """How long a claim may stay *in progress* before another request takes it over."""
    configured = int(config.get("IDEMPOTENCY_STALE_SECONDS") or 0)
    if configured > 0:
        return timedelta(seconds=configured)
    largest = int(config.get("XML_MAX_BYTES") or 0)
    return timedelta(seconds=max(MIN_STALE_SECONDS, math.ceil(largest / SLOWEST_BYTES_PER_SECOND)))


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


def claim(session: Session, professional_id: int, key: str, req_hash: str,
          stale: timedelta = timedelta(seconds=MIN_STALE_SECONDS)) -> Claim | Replay:
    """Claim ``key`` for this request, or answer what it already got. Commits the claim."""
    now = utcnow()
    row = IdempotencyKey(
        professional_id=professional_id,
        key=key,
        request_hash=req_hash,
        state=IdempotencyState.IN_PROGRESS,
        created_at=now,
    )
    session.add(row)
    try:
        session.commit()
        return Claim(row.id, key, now)
    except IntegrityError:
        session.rollback()
    existing = session.scalar(
        select(IdempotencyKey).where(
            IdempotencyKey.professional_id == professional_id, IdempotencyKey.key == key
        )
    )
    if existing is None:  # released meanwhile: the caller may retry at once
        raise AmeliproError(lot_errors.IDEMPOTENCY_IN_PROGRESS, retry_after=1)
    if existing.request_hash != req_hash:
        raise AmeliproError(lot_errors.IDEMPOTENCY_KEY_REUSED, key=key)
    if existing.state == IdempotencyState.DONE:
        return Replay(existing.response_status or 200, existing.response_content_type, existing.response_body or b"")
    now = utcnow()
    if existing.created_at <= now - stale:
        taken = session.execute(
            update(IdempotencyKey)
            .where(
                IdempotencyKey.id == existing.id,
                IdempotencyKey.state == IdempotencyState.IN_PROGRESS,
                IdempotencyKey.created_at == existing.created_at,
            )
            .values(created_at=now)
        ).rowcount
        session.commit()
        if taken == 1:
            log.warning("idempotency key %s taken over after %s in progress", existing.id, now - existing.created_at)
            return Claim(existing.id, key, now)
        raise AmeliproError(lot_errors.IDEMPOTENCY_IN_PROGRESS, key=key, retry_after=1)
    session.rollback()
    left = (existing.created_at + stale - now).total_seconds()
    raise AmeliproError(lot_errors.IDEMPOTENCY_IN_PROGRESS, key=key,
                        retry_after=max(1, min(IN_PROGRESS_RETRY_AFTER, math.ceil(left))))


class ClaimLostError(Exception):
    """The claim was taken over while this request worked (it took longer than the stale
    time): this request must record nothing; the request that took the claim over answers."""


def complete(
    session: Session, claim_: Claim, status: int, content_type: str, body: bytes, lot_id: int | None = None
) -> None:
    """Store the answer with the key, in the caller's transaction (the caller commits).

    Only while this request still holds the claim; otherwise :class:`ClaimLostError` (the
    caller rolls back: its lot is not recorded)."""
    done = session.execute(
        update(IdempotencyKey)
        .where(IdempotencyKey.id == claim_.id, IdempotencyKey.state == IdempotencyState.IN_PROGRESS,
               IdempotencyKey.created_at == claim_.token)
        .values(
            state=IdempotencyState.DONE,
            response_status=status,
            response_content_type=content_type,
            response_body=body,
            lot_id=lot_id,
            completed_at=utcnow(),
        )
        .execution_options(synchronize_session=False)
    ).rowcount
    if done != 1:
        raise ClaimLostError(claim_.key)


def release(session: Session, claim_: Claim, attempts: int = 3) -> bool:
    """Forget an unanswered claim (unexpected failure) so the client may retry at once with
    its key. The request's own connection may be dead (that may be why it failed): the
    release runs in a fresh session on a fresh connection, tried a few times. ``False`` when
    the database could not be reached: the claim is then taken over after :func:`stale_after`.
    """
    try:
        session.rollback()
    except SQLAlchemyError:
        pass  # a dead connection: invalidated, the fresh session below gets another
    for attempt in range(attempts):
        try:
            with Session(session.get_bind()) as fresh:
                fresh.execute(
                    delete(IdempotencyKey).where(
                        IdempotencyKey.id == claim_.id,
                        IdempotencyKey.state == IdempotencyState.IN_PROGRESS,
                        IdempotencyKey.created_at == claim_.token,
                    )
                )
                fresh.commit()
            return True
        except SQLAlchemyError as exc:
            log.warning("releasing idempotency key %s failed (%s), attempt %d", claim_.id,
                        type(exc).__name__, attempt + 1)
            time.sleep(0.2 * (attempt + 1))
    return False
