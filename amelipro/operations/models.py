"""Background operations started by operators from their pages (reference import, liquidation)."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy import Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from amelipro.db import Base, UTCDateTime, utcnow


class OperatorJob(Base):
    """One run of an operation. ``active_kind`` holds the kind while the job is queued or
    running and is unique: two runs of the same operation cannot overlap (the database says
    so, whatever the number of web processes)."""

    __tablename__ = "operator_job"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))  # reference_import | liquidation
    status: Mapped[str] = mapped_column(String(10), default="queued")  # queued | running | done | failed
    active_kind: Mapped[str | None] = mapped_column(String(20), unique=True)
    requested_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    progress_done: Mapped[int] = mapped_column(Integer, default=0)
    progress_total: Mapped[int | None] = mapped_column(Integer)
    step: Mapped[str] = mapped_column(String(200), default="")
    result: Mapped[str] = mapped_column(Text, default="{}")
    error: Mapped[str] = mapped_column(String(400), default="")

    @property
    def result_dict(self) -> dict[str, Any]:
        return json.loads(self.result or "{}")

    @property
    def active(self) -> bool:
        return self.status in ("queued", "running")
