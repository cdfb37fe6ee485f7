"""What the gateway answers for a lot: each FSE's outcome (``FseReport``), the lot's
(``LotReport``, the ARL's content) and the answer to a submission (``SubmitResult``)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from amelipro.fse.models import FseStatus, LotStatus
from amelipro.issues import Issue
from amelipro.xmlcore.arl import CountsByStatus


@dataclass(frozen=True)
class FseReport:
    """What the gateway says of one FSE of a lot (stored or dry run)."""

    position: int
    element_id: str
    invoice_number: str
    status: FseStatus
    errors: tuple[Issue, ...] = ()
    fse_id: int | None = None
    duplicate_of_id: int | None = None
    corrects_id: int | None = None
    amo_sent: Decimal | None = None
    amo_computed: Decimal | None = None
    participation: Decimal | None = None  # patient charges, after the caps given the history
    franchise: Decimal | None = None
    second_acts: tuple[int, ...] = ()  # lines flagged as a distinct second act of the day


@dataclass(frozen=True)
class LotReport(CountsByStatus):
    """The ARL's content: the lot's outcome and every FSE's (counted by status as the ARL
    counts them: ``accepted``, ``rejected``, ``duplicates``)."""

    positive: bool
    received_at: datetime
    lot_number: str = ""
    lot_id: int | None = None
    status: LotStatus | None = None
    errors: tuple[Issue, ...] = ()  # lot-level errors (negative ARL)
    fses: tuple[FseReport, ...] = ()
    dry_run: bool = False
    body_sha256: str = hashlib.sha256(b"").hexdigest()


@dataclass(frozen=True)
class SubmitResult:
    """The answer to a submission: HTTP status, the signed ARL, and the report."""

    status: int
    arl: bytes
    report: LotReport


__all__ = ["FseReport", "LotReport", "SubmitResult"]
