"""Append-only audit log: who did what, when, from where.

Rows are only ever inserted (``record``); the app has no code path that updates or
deletes them, and on PostgreSQL a trigger refuses UPDATE and DELETE.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from flask import has_request_context, request
from sqlalchemy import ForeignKey, String, Text, func, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from amelipro.db import Base, UTCDateTime, utcnow


class AuditEvent(Base):
    __tablename__ = "audit_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("professional.id"), index=True)
    actor_login: Mapped[str] = mapped_column(String(64), default="")
    action: Mapped[str] = mapped_column(String(64), index=True)
    remote_addr: Mapped[str] = mapped_column(String(64), default="")
    detail: Mapped[str] = mapped_column(Text, default="{}")

    @property
    def detail_dict(self) -> dict[str, Any]:
        return json.loads(self.detail or "{}")


def client_addr() -> str:
    return (request.remote_addr or "") if has_request_context() else "cli"


def record(
    session: Session,
    action: str,
    *,
    actor_id: int | None = None,
    actor_login: str = "",
    **detail: Any,
) -> AuditEvent:
    """Add an event to the caller's transaction (the caller's service commits)."""
    event = AuditEvent(
        action=action,
        actor_id=actor_id,
        actor_login=actor_login,
        remote_addr=client_addr(),
        detail=json.dumps(detail, ensure_ascii=False, sort_keys=True, default=str),
    )
    session.add(event)
    return event


def list_events(session: Session, limit: int = 200, action: str | None = None) -> list[AuditEvent]:
    stmt = select(AuditEvent).order_by(AuditEvent.id.desc()).limit(limit)
    if action:
        stmt = stmt.where(AuditEvent.action == action)
    return list(session.scalars(stmt))


def count_since(session: Session, since: datetime, actions: tuple[str, ...]) -> dict[str, int]:
    """How many events of each action since ``since`` (0 for an action that did not happen)."""
    rows = session.execute(select(AuditEvent.action, func.count(AuditEvent.id))
                           .where(AuditEvent.at >= since, AuditEvent.action.in_(actions))
                           .group_by(AuditEvent.action)).all()
    counts = dict.fromkeys(actions, 0)
    counts.update({action: int(n) for action, n in rows})
    return counts
