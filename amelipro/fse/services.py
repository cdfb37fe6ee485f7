"""Use cases of FSE submission: submit a lot, validate it (dry run).

The reports are in ``reports.py``, the content identity in ``identity.py``, the reading
queries in ``queries.py`` (also importable from here, as before).

``submit_lot`` records a lot whole or not at all, in one transaction (one commit per lot,
never per FSE). ``validate_lot`` runs the very same checks and stores nothing. Only the
functions here commit.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from decimal import Decimal
from typing import Any

from flask import Flask
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from amelipro import audit
from amelipro.auth.models import Professional
from amelipro.auth.practice import practice_history
from amelipro.db import one_of, utcnow
from amelipro.errors import ErrorCode
from amelipro.fse import errors as rule_errors
from amelipro.fse import history, idempotency, intake, lot_errors, rules, stored
from amelipro.fse.charges import default_billing_config
from amelipro.fse.domain import CareSheet
from amelipro.fse.identity import canonical_content, content_hash, raw_hash
from amelipro.fse.intake import LotRefusedError
from amelipro.fse.models import FseStatus, Lot, LotStatus, StoredFse
from amelipro.fse.queries import (  # noqa: F401 - the reading use cases, by their old address
    PAGE_SIZE,
    Activity,
    FseDetails,
    FsePage,
    FseSearch,
    LotPage,
    activity_since,
    fse_details,
    get_fse,
    get_lot,
    list_lots,
    lot_fses,
    lot_report,
    prescription_of,
    rejected_to_correct,
    related_fses,
    search_fses,
)
from amelipro.fse.reports import FseReport, LotReport, SubmitResult
from amelipro.issues import INVOICE, Issue
from amelipro.thirdparty.writes import bulk_insert, next_ids

RECORDED_HOOKS = intake.RECORDED_HOOKS
_IN_CHUNK = 500  # bound on IN (...) lists


# --- the stages' inputs and outputs ------------------------------------------------------

@dataclass(frozen=True)
class CheckedFse:
    """One FSE after signature, mapping, rules and pricing; not yet compared to the store."""

    position: int
    element_id: str
    signed_xml: str
    content_hash: str
    sheet: CareSheet | None
    errors: tuple[Issue, ...]
    computed: intake.Computed | None = None
    read: intake.ReadFse | None = None  # to locate errors found later in the received document


@dataclass(frozen=True)
class CheckedLot:
    """A lot after the stages read, verify, check and price: what the decisions start from."""

    lot_number: str
    fses: tuple[CheckedFse, ...]
    context: intake.CheckContext  # the lot's rights, reference lookup and rules configuration

    @property
    def sheets(self) -> list[CareSheet]:
        return [c.sheet for c in self.fses if c.sheet is not None]


@dataclass
class Decision:
    """What the gateway decides for one checked FSE: accepted, rejected or already received."""

    checked: CheckedFse
    status: FseStatus
    errors: list[Issue] = field(default_factory=list)
    duplicate_of_id: int | None = None
    duplicate_of_position: int | None = None  # an identical FSE earlier in the same lot
    corrects_id: int | None = None


@dataclass(frozen=True)
class RecordedLot:
    """The lot's row and its FSE ids (in the lot's order), in the recording transaction."""

    lot: Lot
    fse_ids: tuple[int, ...]


# --- stages 1 to 4: read, verify, check, price ---------------------------------------------

def read_and_verify(gw: intake.Gateway, pro: Professional, body: bytes) -> intake.LotReading:
    """Stages read and verify: safe parse, schemas, each FSE's signature, its signed content
    mapped to a care sheet. Raises ``LotRefusedError`` for a negative ARL."""
    if not pro.rpps:
        raise LotRefusedError(403, [Issue.of(lot_errors.NO_RPPS)])
    return intake.read_lot(gw, body, pro.rpps)


def check_and_price(session: Session, pro: Professional, reading: intake.LotReading,
                    gw: intake.Gateway) -> CheckedLot:
    """Stages check and price: the billing rules and the amounts of each FSE, with the lot's
    reference data, rights and practice read once."""
    # Priced and checked as the profession the gateway knows for this professional.
    profession = pro.profession.value if pro.profession else None
    context = intake.check_context(session, [f.sheet for f in reading.fses], gw, profession,
                                   practice=practice_history(session, pro.id))
    checked = []
    for fse in reading.fses:
        errors, computed = intake.check_read(context, fse)
        checked.append(CheckedFse(fse.position, fse.element_id, fse.signed_xml, fse.content_hash,
                                  fse.sheet, tuple(errors), computed, fse))
    return CheckedLot(reading.lot_number, tuple(checked), context)


# --- stage 3 against the store: duplicates and invoice numbers -----------------------------

def _existing_by_invoice(
    session: Session, pro_id: int, invoices: set[str]
) -> dict[str, list[tuple[int, FseStatus, str]]]:
    """(id, status, content_hash) of the professional's FSE holding these invoice numbers."""
    found: dict[str, list[tuple[int, FseStatus, str]]] = {}
    items = sorted(i for i in invoices if i)
    for start in range(0, len(items), _IN_CHUNK):
        chunk = items[start:start + _IN_CHUNK]
        rows = session.execute(
            select(StoredFse.invoice_number, StoredFse.id, StoredFse.status, StoredFse.content_hash)
            .where(StoredFse.professional_id == pro_id, one_of(session, StoredFse.invoice_number, chunk))
            .where(StoredFse.status != FseStatus.DUPLICATE)
            .order_by(StoredFse.id)
        )
        for invoice, id_, status, chash in rows:
            found.setdefault(invoice, []).append((id_, status, chash))
    return found


def _invoice_reused(item: CheckedFse, detail: str, **original: int) -> Issue:
    """FSE-R invoice reused; ``original``: ``original_fse_id`` or ``original_position``."""
    path, line = f"/Lot/FSE[{item.position}]/Facture/Numero", None
    if item.read is not None:
        path, line = intake.locate(item.read, "invoice_number")
    return Issue.of(rule_errors.INVOICE_DUPLICATE, detail, path, line, field="invoice_number",
                    extras=tuple(original.items()), layout=INVOICE)


def _invoice_taken(item: CheckedFse, earlier_hash: str, detail: str, duplicate: dict[str, int],
                   **original: int) -> Decision:
    """An FSE whose invoice number an earlier one holds: a duplicate when the content is the
    same (``duplicate`` names the original), otherwise rejected (FSE-R invoice reused)."""
    if earlier_hash == item.content_hash:
        return Decision(item, FseStatus.DUPLICATE, **duplicate)
    return Decision(item, FseStatus.REJECTED, [_invoice_reused(item, detail, **original), *item.errors])


def decide(session: Session, pro: Professional, checked: Sequence[CheckedFse]) -> list[Decision]:
    """Duplicates and invoice numbers against the store and within the lot; then care
    already accepted under another invoice number (same patient, day and act), in the store
    or earlier in the lot."""
    invoices = {c.sheet.invoice_number for c in checked if c.sheet is not None}
    existing = _existing_by_invoice(session, pro.id, invoices)
    billed = history.load_billed_care(session, pro.id, [c.sheet for c in checked if c.sheet is not None])
    majorations = default_billing_config().majorations
    in_lot: dict[str, tuple[int, str]] = {}  # invoice -> (position, content_hash) accepted here
    decisions: list[Decision] = []
    for item in checked:
        if item.sheet is None:
            decisions.append(Decision(item, FseStatus.REJECTED, list(item.errors)))
            continue
        invoice = item.sheet.invoice_number
        history_ = existing.get(invoice)
        accepted = last_rejected = None
        if history_:  # most invoice numbers are new
            accepted = next(((i, h) for i, s, h in history_ if s == FseStatus.ACCEPTED), None)
            # A corrected resubmission: same invoice number as a rejected FSE, other content.
            last_rejected = next((i for i, s, h in reversed(history_)
                                  if s == FseStatus.REJECTED and h != item.content_hash), None)
        if accepted is not None:
            orig_id, orig_hash = accepted
            decisions.append(_invoice_taken(
                item, orig_hash, f"Facture n° {invoice} déjà acceptée (FSE n° {orig_id}).",
                {"duplicate_of_id": orig_id}, original_fse_id=orig_id))
            continue
        if invoice in in_lot:
            pos, h = in_lot[invoice]
            decisions.append(_invoice_taken(
                item, h, f"Facture n° {invoice} déjà présente dans ce lot (rang {pos}).",
                {"duplicate_of_position": pos}, original_position=pos))
            continue
        errors = list(item.errors)
        patient = billed.setdefault((item.sheet.patient.nir, item.sheet.patient.rank), {})
        # Nothing billed yet for this patient (most of them): no duplicate care to look for.
        twice = [v.issue() for v in rules.duplicate_care(item.sheet, patient)] if patient else []
        if twice and item.read is not None:
            errors.extend(intake.place_errors(item.read, twice))
        elif twice:
            errors.extend(twice)
        status = FseStatus.REJECTED if errors else FseStatus.ACCEPTED
        decisions.append(Decision(item, status, errors, corrects_id=last_rejected))
        if status == FseStatus.ACCEPTED:
            in_lot[invoice] = (item.position, item.content_hash)
            for _line, key in rules.care_keys(item.sheet, majorations):
                patient.setdefault(key, rules.BilledCare(invoice, position=item.position))
    return decisions


def _lot_status(decisions: Sequence[Decision]) -> LotStatus:
    rejected = sum(1 for d in decisions if d.status == FseStatus.REJECTED)
    if rejected == 0:
        return LotStatus.ACCEPTED
    return LotStatus.REJECTED if rejected == len(decisions) else LotStatus.PARTIAL


# --- stage 5: charge -----------------------------------------------------------------------

def charge(session: Session, pro: Professional, decisions: list[Decision],
           context: intake.CheckContext) -> list[Decision]:
    """Patient charges against the patient's history, in the lot's order; the decisions,
    each with its FSE's amounts charged again where the history takes something off.

    The history (accepted FSE of the year, all professionals; this professional's of the same
    day) is read once for the lot; each FSE is charged against it, and an accepted one then
    counts for the next FSE of the same patient. Rejected FSE and duplicates are shown what
    they would have been charged, but never count.
    """
    sheets = [d.checked.sheet for d in decisions if d.checked.sheet is not None and d.checked.computed]
    if not sheets:
        return decisions
    ledger = history.load_ledger(session, pro.id, sheets)
    for decision in decisions:
        sheet, computed = decision.checked.sheet, decision.checked.computed
        if sheet is None or computed is None:
            continue
        prior = ledger.prior(sheet)
        charged = computed  # priced with nothing taken before: right when the history is empty
        if prior.years or prior.days:
            charged = intake.recharge(context, sheet, computed, prior)
            if charged.pricing is computed.pricing:
                charged = computed  # the history takes nothing more off: the same computation
            else:
                decision.checked = replace(decision.checked, computed=charged)
        if decision.status == FseStatus.ACCEPTED and charged.pricing is not None:
            ledger.add(sheet.patient.nir, sheet.patient.rank, charged.pricing.lines)
    return decisions


# --- stage 6: record -----------------------------------------------------------------------

def record(
    session: Session, pro: Professional, body: bytes, received: datetime, lot_number: str,
    decisions: Sequence[Decision], source: str, hooks: Sequence[Callable[..., Any]],
) -> RecordedLot:
    """The lot's row, every FSE's row, the ``on_recorded`` hooks and the audit event, in the
    caller's transaction (not committed here)."""
    amo_accepted = sum(
        (d.checked.sheet.totals.amo for d in decisions if d.status == FseStatus.ACCEPTED and d.checked.sheet),
        Decimal("0.00"),
    )
    lot = Lot(
        professional_id=pro.id, lot_number=lot_number[:64], received_at=received, status=_lot_status(decisions),
        source=source, fse_count=len(decisions),
        accepted_count=sum(1 for d in decisions if d.status == FseStatus.ACCEPTED),
        rejected_count=sum(1 for d in decisions if d.status == FseStatus.REJECTED),
        duplicate_count=sum(1 for d in decisions if d.status == FseStatus.DUPLICATE),
        amo_accepted=amo_accepted, body_sha256=raw_hash(body), body_size=len(body), arl_xml="",
    )
    session.add(lot)
    session.flush()
    rows = [stored.fse_row(
        lot_id=lot.id, professional_id=pro.id, position=d.checked.position, element_id=d.checked.element_id,
        status=d.status, content_hash=d.checked.content_hash, duplicate_of_id=d.duplicate_of_id,
        corrects_id=d.corrects_id, errors=d.errors, signed_xml=d.checked.signed_xml, created_at=received,
        sheet=d.checked.sheet, computed=d.checked.computed,
    ) for d in decisions]
    ids = _insert_fses(session, rows)
    in_lot_duplicates = [  # an identical FSE earlier in the lot: its id is known only now
        {"id": fse_id, "duplicate_of_id": ids[decision.duplicate_of_position - 1]}
        for decision, fse_id in zip(decisions, ids, strict=True) if decision.duplicate_of_position is not None
    ]
    if in_lot_duplicates:
        session.execute(update(StoredFse), in_lot_duplicates)  # one executemany by primary key
    if hooks:
        accepted = [dict(row, id=fse_id) for d, row, fse_id in zip(decisions, rows, ids, strict=True)
                    if d.status == FseStatus.ACCEPTED]
        for hook in hooks:
            hook(session, accepted, f"lot:{lot.id}")  # same transaction: all or nothing
    audit.record(
        session, "lot.submitted", actor_id=pro.id, actor_login=pro.login, lot_id=lot.id,
        fse=len(decisions), accepted=lot.accepted_count, rejected=lot.rejected_count,
        duplicates=lot.duplicate_count, source=source,
    )
    return RecordedLot(lot, tuple(ids))


# --- stage 7: acknowledge ------------------------------------------------------------------

def fse_reports(decisions: Sequence[Decision], ids: Sequence[int | None]) -> tuple[FseReport, ...]:
    """What the ARL and the JSON answer say of each FSE (``ids``: recorded, or all None)."""
    out = []
    for decision, fse_id in zip(decisions, ids, strict=True):
        sheet = decision.checked.sheet
        dup = decision.duplicate_of_id
        if dup is None and decision.duplicate_of_position is not None:
            dup = ids[decision.duplicate_of_position - 1]
        computed = decision.checked.computed
        out.append(FseReport(
            position=decision.checked.position,
            element_id=decision.checked.element_id,
            invoice_number=sheet.invoice_number if sheet else "",
            status=decision.status,
            errors=tuple(decision.errors),
            fse_id=fse_id,
            duplicate_of_id=dup,
            corrects_id=decision.corrects_id,
            amo_sent=sheet.totals.amo if sheet else None,
            amo_computed=computed.amo if computed else None,
            participation=computed.participation if computed else None,
            franchise=computed.franchise if computed else None,
            second_acts=tuple(ln.number for ln in sheet.lines if ln.second_act) if sheet else (),
        ))
    return tuple(out)


def acknowledge(gw: intake.Gateway, report: LotReport) -> bytes:
    """The signed ARL of a report, positive or negative (``intake.build_arl``)."""
    return intake.build_arl(gw, report)


# --- use cases ---------------------------------------------------------------------------

def refused(error: ErrorCode, detail: str = "", body: bytes = b"") -> SubmitResult:
    """A negative ARL for a request refused before its lot is read (type, size, empty)."""
    report = LotReport(False, utcnow(), errors=(Issue.of(error, detail),),
                       body_sha256=raw_hash(body))
    return SubmitResult(error.status, acknowledge(intake.gateway(), report), report)


class _GcPause:
    """Pause the cyclic garbage collector while a lot is processed.

    A lot of 1,000 FSE keeps tens of thousands of objects alive at once (XML trees, care
    sheets, rows); the collector would scan them again and again as allocations pile up
    (measured: a third of the time of a lot). Reference counting still frees what is not
    cyclic; the pause ends with the lot, and a thread-safe counter keeps nested or
    concurrent lots (threaded servers) from ending another's pause.
    """

    _lock = threading.Lock()
    _depth = 0

    def __enter__(self) -> None:
        with self._lock:
            if _GcPause._depth == 0 and gc.isenabled():
                gc.disable()
                _GcPause._paused = True
            _GcPause._depth += 1

    def __exit__(self, *_exc) -> None:
        with self._lock:
            _GcPause._depth -= 1
            if _GcPause._depth == 0 and getattr(_GcPause, "_paused", False):
                _GcPause._paused = False
                gc.enable()


def validate_lot(session: Session, pro: Professional, body: bytes) -> SubmitResult:
    """Dry run: the same checks and report as ``submit_lot``; nothing is stored."""
    gw = intake.gateway()
    with _GcPause():
        return _validate_lot(session, pro, body, gw)


def _validate_lot(session: Session, pro: Professional, body: bytes, gw: intake.Gateway) -> SubmitResult:
    """The stages of ``submit_lot`` but record, in one transaction rolled back."""
    received = utcnow()
    try:
        reading = read_and_verify(gw, pro, body)
        lot = check_and_price(session, pro, reading, gw)
        decisions = charge(session, pro, decide(session, pro, lot.fses), lot.context)
    except LotRefusedError as exc:
        report = LotReport(False, received, errors=tuple(exc.errors), dry_run=True,
                           body_sha256=raw_hash(body))
        return SubmitResult(exc.http_status, acknowledge(gw, report), report)
    finally:
        session.rollback()
    report = LotReport(
        True, received, lot.lot_number, None, _lot_status(decisions),
        fses=fse_reports(decisions, [None] * len(decisions)), dry_run=True, body_sha256=raw_hash(body),
    )
    return SubmitResult(200, acknowledge(gw, report), report)


def on_recorded(app: Flask, hook: Callable[[Session, list[dict[str, Any]], str], Any]) -> None:
    """Register ``hook(session, accepted_fses, actor)``, called when a lot is recorded, in
    the lot's transaction before its commit (e.g. the tiers-payant package creates the
    payments of the accepted FSE there). ``accepted_fses``: the rows of the lot's accepted
    FSE as just inserted (``fse`` column name -> value, ``id`` included; ``status`` an
    ``FseStatus``), in the lot's order; a hook reads them, never changes them. A hook that
    fails makes the whole lot fail."""
    app.extensions.setdefault(RECORDED_HOOKS, []).append(hook)


def submit_lot(
    session: Session,
    pro: Professional,
    body: bytes,
    *,
    source: str = "api",
    claim: idempotency.Claim | None = None,
) -> SubmitResult:
    """Check and record a lot in one transaction; answer with the signed ARL.

    A refused lot (unreadable, invalid, unsigned, foreign) stores nothing and answers a
    negative ARL (4xx). Otherwise the lot and every FSE (accepted, rejected, already received)
    are recorded together, with the idempotency answer when a key was given.
    """
    pipe = intake.pipeline()
    gw = pipe.gateway()  # no keys: 503 before any work
    with _GcPause():
        return _submit_lot(session, pro, body, source, claim, gw, pipe.recorded_hooks)


def _submit_lot(
    session: Session, pro: Professional, body: bytes, source: str, claim: idempotency.Claim | None,
    gw: intake.Gateway, hooks: Sequence[Callable[..., Any]],
) -> SubmitResult:
    """The stages in order. The reading transaction: read, verify, check, price (a refused
    lot is acknowledged and audited there). The recording transaction, decided again if a
    concurrent lot took an invoice number: decide, charge, record, acknowledge."""
    received = utcnow()
    try:
        reading = read_and_verify(gw, pro, body)
        lot = check_and_price(session, pro, reading, gw)
    except LotRefusedError as exc:
        return _refuse(session, pro, body, received, exc, claim, gw)
    session.rollback()  # end the reading transaction: the recording one starts afresh
    for attempt in range(3):
        try:
            _take_write_lock(session)
            return _decide_and_record(session, pro, body, received, lot, source, claim, gw, hooks)
        except IntegrityError:
            # A concurrent lot took one of these invoice numbers: decide again against it.
            session.rollback()
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


def _refuse(session: Session, pro: Professional, body: bytes, received: datetime, exc: LotRefusedError,
            claim: idempotency.Claim | None, gw: intake.Gateway) -> SubmitResult:
    """A refused lot: its negative ARL, the audit event and the idempotency answer; one commit."""
    report = LotReport(False, received, errors=tuple(exc.errors), body_sha256=raw_hash(body))
    arl = acknowledge(gw, report)
    audit.record(session, "lot.refused", actor_id=pro.id, actor_login=pro.login,
                 status=exc.http_status, codes=[e.code for e in exc.errors][:20],
                 body_sha256=raw_hash(body))
    if claim is not None:
        idempotency.complete(session, claim, exc.http_status, intake.ARL_CONTENT_TYPE, arl)
    session.commit()
    return SubmitResult(exc.http_status, arl, report)


def _take_write_lock(session: Session) -> None:
    """SQLite: take the database's write lock before reading what the decisions depend on,
    so that a concurrent lot waits (busy timeout) instead of failing on a stale snapshot.
    PostgreSQL needs nothing: the partial unique index on accepted invoice numbers makes a
    concurrent duplicate wait, then fail, and the lot is decided again."""
    if session.get_bind().dialect.name == "sqlite":
        session.execute(update(Lot).where(Lot.id == -1).values(source=Lot.source))


def _decide_and_record(
    session: Session, pro: Professional, body: bytes, received: datetime, checked: CheckedLot, source: str,
    claim: idempotency.Claim | None, gw: intake.Gateway, hooks: Sequence[Callable[..., Any]],
) -> SubmitResult:
    """The recording transaction: decide, charge, record, acknowledge; one commit."""
    # Lots for the same patients wait for each other here (PostgreSQL advisory locks; SQLite:
    # the write lock), so that the duplicate care and the charge caps read a current history.
    history.lock_patients(session, checked.sheets)
    decisions = decide(session, pro, checked.fses)
    decisions = charge(session, pro, decisions, checked.context)
    recorded = record(session, pro, body, received, checked.lot_number, decisions, source, hooks)
    lot = recorded.lot
    report = LotReport(True, received, checked.lot_number, lot.id, _lot_status(decisions),
                       fses=fse_reports(decisions, recorded.fse_ids), body_sha256=lot.body_sha256)
    arl = acknowledge(gw, report)
    lot.arl_xml = arl.decode()
    if claim is not None:
        idempotency.complete(session, claim, 201, intake.ARL_CONTENT_TYPE, arl, lot_id=lot.id)
    session.commit()
    return SubmitResult(201, arl, report)


def _insert_fses(session: Session, rows: list[dict[str, Any]]) -> list[int]:
    """Insert the lot's FSE rows in the lot's transaction; their ids, in order.

    The ids are known first (``writes.next_ids``: PostgreSQL's sequence in one query; on
    SQLite, whose write lock this transaction holds since the lot's row was written, the ids
    SQLite would give), then one ``writes.bulk_insert``: a COPY on PostgreSQL (several times
    faster than a multi-row INSERT for 1,000 rows of signed XML), one executemany through the
    driver on SQLite (RETURNING with the rows' order costs one statement per row). A
    concurrent lot's invoice number raises IntegrityError, as an INSERT would.
    """
    if not rows:
        return []
    table = StoredFse.__table__
    ids = next_ids(session, table, len(rows))
    bulk_insert(session, table, [
        {"id": fse_id, **{c: v.value if isinstance(v, FseStatus) else v for c, v in row.items()}}
        for fse_id, row in zip(ids, rows, strict=True)
    ])
    return ids


__all__ = [
    "Activity", "activity_since", "FseReport", "LotReport", "SubmitResult", "LotRefusedError", "content_hash",
    "canonical_content", "validate_lot", "submit_lot", "get_lot", "get_fse", "list_lots", "lot_fses", "lot_report",
    "related_fses", "CheckedFse", "CheckedLot", "Decision", "RecordedLot", "read_and_verify", "check_and_price",
    "decide", "charge", "record", "fse_reports", "acknowledge",
]
