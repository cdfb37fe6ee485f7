"""Use cases of FSE submission: submit a lot, validate it (dry run), read lots and FSE.

``submit_lot`` records a lot whole or not at all, in one transaction (one commit per lot,
never per FSE). ``validate_lot`` runs the very same checks and stores nothing. Only the
functions here commit.
"""

from __future__ import annotations

import gc
import hashlib
import json
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from flask import Flask
from sqlalchemy import and_, func, insert, or_, select, text, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, aliased

from amelipro import audit
from amelipro.auth.models import Professional
from amelipro.auth.practice import practice_history
from amelipro.db import utcnow
from amelipro.errors import AmeliproError, ErrorCode
from amelipro.fse import errors as rule_errors
from amelipro.fse import history, idempotency, intake, lot_errors, rules
from amelipro.fse.charges import default_billing_config
from amelipro.fse.domain import CareSheet, Line
from amelipro.fse.intake import LotRefusedError
from amelipro.fse.models import FseStatus, Lot, LotStatus, StoredFse

PAGE_SIZE = 50
RECORDED_HOOKS = intake.RECORDED_HOOKS
_IN_CHUNK = 500  # bound on IN (...) lists


# --- values ------------------------------------------------------------------------------

@dataclass(frozen=True)
class FseReport:
    """What the gateway says of one FSE of a lot (stored or dry run)."""

    position: int
    element_id: str
    invoice_number: str
    status: FseStatus
    errors: tuple[dict[str, Any], ...] = ()
    fse_id: int | None = None
    duplicate_of_id: int | None = None
    corrects_id: int | None = None
    amo_sent: Decimal | None = None
    amo_computed: Decimal | None = None
    participation: Decimal | None = None  # patient charges, after the caps given the history
    franchise: Decimal | None = None
    second_acts: tuple[int, ...] = ()  # lines flagged as a distinct second act of the day


@dataclass(frozen=True)
class LotReport:
    """The ARL's content: the lot's outcome and every FSE's."""

    positive: bool
    received_at: datetime
    lot_number: str = ""
    lot_id: int | None = None
    status: LotStatus | None = None
    errors: tuple[dict[str, Any], ...] = ()  # lot-level errors (negative ARL)
    fses: tuple[FseReport, ...] = ()
    dry_run: bool = False
    body_sha256: str = hashlib.sha256(b"").hexdigest()

    @property
    def accepted(self) -> int:
        return sum(1 for f in self.fses if f.status == FseStatus.ACCEPTED)

    @property
    def rejected(self) -> int:
        return sum(1 for f in self.fses if f.status == FseStatus.REJECTED)

    @property
    def duplicates(self) -> int:
        return sum(1 for f in self.fses if f.status == FseStatus.DUPLICATE)


@dataclass(frozen=True)
class SubmitResult:
    """The answer to a submission: HTTP status, the signed ARL, and the report."""

    status: int
    arl: bytes
    report: LotReport


# --- canonical content -------------------------------------------------------------------

def _dec(value: Decimal | None) -> str:
    return "" if value is None else f"{value.normalize():f}"


def _day(value: date | None) -> str:
    return "" if value is None else value.isoformat()


def _line_key(line: Line) -> tuple:
    a = line.amounts
    amounts = ("",) if a is None else (_dec(a.charged), _dec(a.base), str(a.rate), _dec(a.amo))
    key = (line.number, line.kind.value, _day(line.care_date), line.code, line.quantity,
           _dec(line.coefficient), *amounts)
    if line.care_time is not None or line.second_act:  # schema 2 only: v1 hashes unchanged
        key += (line.care_time.isoformat() if line.care_time else "", line.second_act)
    return key


def canonical_content(sheet: CareSheet) -> tuple:
    """Every field of the care sheet except its element Id, in a fixed order, numbers
    normalized (30.00 == 30.0): two FSE with the same content have the same tuple, however
    they were laid out, signed or identified."""
    pro, pat, tot = sheet.professional, sheet.patient, sheet.totals
    return (
        "fse/1", sheet.invoice_number, _day(sheet.invoice_date),
        (pro.rpps, pro.am_number, pro.specialty, pro.finess or ""),
        (pat.nir, _day(pat.birth_date), pat.rank, pat.regime, pat.caisse, pat.centre),
        sheet.nature.value, sheet.pathway, sheet.exemption.value,
        sheet.tiers_payant_amo, sheet.tiers_payant_amc,
        tuple(_line_key(line) for line in sheet.lines),
        (_dec(tot.charged), _dec(tot.base), _dec(tot.amo)),
        sheet.prescriber_rpps or "", _day(sheet.prescription_date),
    )


def content_hash(sheet: CareSheet) -> str:
    """Hash of what the care sheet says, independent of XML layout, signature and Id."""
    return hashlib.sha256(repr(canonical_content(sheet)).encode()).hexdigest()


def raw_hash(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# --- checking (shared by submit and dry run) ---------------------------------------------

@dataclass(frozen=True)
class CheckedFse:
    """One FSE after signature, mapping, rules and pricing; not yet compared to the store."""

    position: int
    element_id: str
    signed_xml: str
    content_hash: str
    sheet: CareSheet | None
    errors: tuple[dict[str, Any], ...]
    computed: intake.Computed | None = None
    read: intake.ReadFse | None = None  # to locate errors found later in the received document


@dataclass
class _Decision:
    checked: CheckedFse
    status: FseStatus
    errors: list[dict[str, Any]] = field(default_factory=list)
    duplicate_of_id: int | None = None
    duplicate_of_position: int | None = None  # an identical FSE earlier in the same lot
    corrects_id: int | None = None


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
            .where(StoredFse.professional_id == pro_id, StoredFse.invoice_number.in_(chunk))
            .where(StoredFse.status != FseStatus.DUPLICATE)
            .order_by(StoredFse.id)
        )
        for invoice, id_, status, chash in rows:
            found.setdefault(invoice, []).append((id_, status, chash))
    return found


def _invoice_reused(item: CheckedFse, detail: str, **extra: Any) -> dict[str, Any]:
    entry = rule_errors.INVOICE_DUPLICATE
    error = {"code": entry.code, "message": entry.message, "hint": entry.hint, "field": "invoice_number",
             "path": f"/Lot/FSE[{item.position}]/Facture/Numero", "detail": detail, **extra}
    if item.read is not None:
        error["path"], line = intake.locate(item.read, "invoice_number")
        if line is not None:
            error["line"] = line
    return error


def _decide(session: Session, pro: Professional, checked: Sequence[CheckedFse]) -> list[_Decision]:
    """Duplicates and invoice numbers against the store and within the lot; then care
    already accepted under another invoice number (same patient, day and act), in the store
    or earlier in the lot."""
    invoices = {c.sheet.invoice_number for c in checked if c.sheet is not None}
    existing = _existing_by_invoice(session, pro.id, invoices)
    billed = history.load_billed_care(session, pro.id, [c.sheet for c in checked if c.sheet is not None])
    majorations = default_billing_config().majorations
    in_lot: dict[str, tuple[int, str]] = {}  # invoice -> (position, content_hash) accepted here
    decisions: list[_Decision] = []
    for item in checked:
        if item.sheet is None:
            decisions.append(_Decision(item, FseStatus.REJECTED, list(item.errors)))
            continue
        invoice = item.sheet.invoice_number
        history_ = existing.get(invoice, [])
        accepted = next(((i, h) for i, s, h in history_ if s == FseStatus.ACCEPTED), None)
        # A corrected resubmission: same invoice number as a rejected FSE, other content.
        last_rejected = next((i for i, s, h in reversed(history_)
                              if s == FseStatus.REJECTED and h != item.content_hash), None)
        if accepted is not None:
            orig_id, orig_hash = accepted
            if orig_hash == item.content_hash:
                decisions.append(_Decision(item, FseStatus.DUPLICATE, duplicate_of_id=orig_id))
            else:
                err = _invoice_reused(item, f"Facture n° {invoice} déjà acceptée (FSE n° {orig_id}).",
                                      original_fse_id=orig_id)
                decisions.append(_Decision(item, FseStatus.REJECTED, [err, *item.errors]))
            continue
        if invoice in in_lot:
            pos, h = in_lot[invoice]
            if h == item.content_hash:
                decisions.append(_Decision(item, FseStatus.DUPLICATE, duplicate_of_position=pos))
            else:
                err = _invoice_reused(item, f"Facture n° {invoice} déjà présente dans ce lot (rang {pos}).",
                                      original_position=pos)
                decisions.append(_Decision(item, FseStatus.REJECTED, [err, *item.errors]))
            continue
        errors = list(item.errors)
        patient = billed.setdefault((item.sheet.patient.nir, item.sheet.patient.rank), {})
        twice = [v.as_dict() for v in rules.duplicate_care(item.sheet, patient)]
        if twice and item.read is not None:
            errors.extend(intake.place_errors(item.read, twice))
        elif twice:
            errors.extend(twice)
        status = FseStatus.REJECTED if errors else FseStatus.ACCEPTED
        decisions.append(_Decision(item, status, errors, corrects_id=last_rejected))
        if status == FseStatus.ACCEPTED:
            in_lot[invoice] = (item.position, item.content_hash)
            for _line, key in rules.care_keys(item.sheet, majorations):
                patient.setdefault(key, rules.BilledCare(invoice, position=item.position))
    return decisions


def _lot_status(decisions: Sequence[_Decision]) -> LotStatus:
    rejected = sum(1 for d in decisions if d.status == FseStatus.REJECTED)
    if rejected == 0:
        return LotStatus.ACCEPTED
    return LotStatus.REJECTED if rejected == len(decisions) else LotStatus.PARTIAL


def _check_lot(
    session: Session, pro: Professional, body: bytes, gw: intake.Gateway,
) -> tuple[str, list[CheckedFse], intake.CheckContext]:
    """Stages read, verify, check and price; raises ``LotRefusedError`` for a negative ARL."""
    if not pro.rpps:
        raise LotRefusedError(403, [AmeliproError(lot_errors.NO_RPPS).as_dict()])
    reading = intake.read_lot(gw, body, pro.rpps)
    # Priced and checked as the profession the gateway knows for this professional.
    profession = pro.profession.value if pro.profession else None
    context = intake.check_context(session, [f.sheet for f in reading.fses], gw, profession,
                                   practice=practice_history(session, pro.id))
    checked = []
    for fse in reading.fses:
        errors, computed = intake.check_read(context, fse)
        checked.append(CheckedFse(fse.position, fse.element_id, fse.signed_xml, content_hash(fse.sheet),
                                  fse.sheet, tuple(errors), computed, fse))
    return reading.lot_number, checked, context


def _charge(session: Session, pro: Professional, decisions: Sequence[_Decision],
            context: intake.CheckContext) -> None:
    """Patient charges against the patient's history, in the lot's order.

    The history (accepted FSE of the year, all professionals; this professional's of the same
    day) is read once for the lot; each FSE is charged against it, and an accepted one then
    counts for the next FSE of the same patient. Rejected FSE and duplicates are shown what
    they would have been charged, but never count.
    """
    sheets = [d.checked.sheet for d in decisions if d.checked.sheet is not None and d.checked.computed]
    if not sheets:
        return
    ledger = history.load_ledger(session, pro.id, sheets)
    for decision in decisions:
        sheet, computed = decision.checked.sheet, decision.checked.computed
        if sheet is None or computed is None:
            continue
        prior = ledger.prior(sheet)
        charged = computed  # priced with nothing taken before: right when the history is empty
        if prior.years or prior.days:
            charged = intake.recharge(context, sheet, computed, prior)
            decision.checked = replace(decision.checked, computed=charged)
        if decision.status == FseStatus.ACCEPTED and charged.pricing is not None:
            ledger.add(sheet.patient.nir, sheet.patient.rank, charged.pricing.lines)


def _reports(decisions: Sequence[_Decision], ids: Sequence[int | None]) -> tuple[FseReport, ...]:
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


# --- use cases ---------------------------------------------------------------------------

def refused(error: ErrorCode, detail: str = "", body: bytes = b"") -> SubmitResult:
    """A negative ARL for a request refused before its lot is read (type, size, empty)."""
    report = LotReport(False, utcnow(), errors=(AmeliproError(error, detail).as_dict(),),
                       body_sha256=raw_hash(body))
    return SubmitResult(error.status, intake.build_arl(intake.gateway(), report), report)


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
    received = utcnow()
    try:
        lot_number, checked, context = _check_lot(session, pro, body, gw)
        decisions = _decide(session, pro, checked)
        _charge(session, pro, decisions, context)
    except LotRefusedError as exc:
        report = LotReport(False, received, errors=tuple(exc.errors), dry_run=True,
                           body_sha256=raw_hash(body))
        return SubmitResult(exc.http_status, intake.build_arl(gw, report), report)
    finally:
        session.rollback()
    report = LotReport(
        True, received, lot_number, None, _lot_status(decisions),
        fses=_reports(decisions, [None] * len(decisions)), dry_run=True, body_sha256=raw_hash(body),
    )
    return SubmitResult(200, intake.build_arl(gw, report), report)


def on_recorded(app: Flask, hook: Callable[[Session, list[int], str], Any]) -> None:
    """Register ``hook(session, accepted_fse_ids, actor)``, called when a lot is recorded, in
    the lot's transaction before its commit (e.g. the tiers-payant package creates the
    payments of the accepted FSE there). A hook that fails makes the whole lot fail."""
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
    """The stages in order: read and verify, check and price (``_check_lot``); then, in the
    recording transaction, charge, record and acknowledge (``_record``)."""
    received = utcnow()
    try:
        lot_number, checked, context = _check_lot(session, pro, body, gw)
    except LotRefusedError as exc:
        report = LotReport(False, received, errors=tuple(exc.errors), body_sha256=raw_hash(body))
        arl = intake.build_arl(gw, report)
        audit.record(session, "lot.refused", actor_id=pro.id, actor_login=pro.login,
                     status=exc.http_status, codes=[e.get("code") for e in exc.errors][:20],
                     body_sha256=raw_hash(body))
        if claim is not None:
            idempotency.complete(session, claim, exc.http_status, intake.ARL_CONTENT_TYPE, arl)
        session.commit()
        return SubmitResult(exc.http_status, arl, report)
    session.rollback()  # end the reading transaction: the recording one starts afresh
    for attempt in range(3):
        try:
            _take_write_lock(session)
            return _record(session, pro, body, received, lot_number, checked, context, source, claim,
                           gw, hooks)
        except IntegrityError:
            # A concurrent lot took one of these invoice numbers: decide again against it.
            session.rollback()
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


def _take_write_lock(session: Session) -> None:
    """SQLite: take the database's write lock before reading what the decisions depend on,
    so that a concurrent lot waits (busy timeout) instead of failing on a stale snapshot.
    PostgreSQL needs nothing: the partial unique index on accepted invoice numbers makes a
    concurrent duplicate wait, then fail, and the lot is decided again."""
    if session.get_bind().dialect.name == "sqlite":
        session.execute(update(Lot).where(Lot.id == -1).values(source=Lot.source))


def _record(
    session: Session, pro: Professional, body: bytes, received: datetime, lot_number: str,
    checked: Sequence[CheckedFse], context: intake.CheckContext, source: str,
    claim: idempotency.Claim | None, gw: intake.Gateway, hooks: Sequence[Callable[..., Any]],
) -> SubmitResult:
    # Lots for the same patients wait for each other here (PostgreSQL advisory locks; SQLite:
    # the write lock), so that the duplicate care and the charge caps read a current history.
    history.lock_patients(session, [c.sheet for c in checked if c.sheet is not None])
    decisions = _decide(session, pro, checked)
    _charge(session, pro, decisions, context)
    status = _lot_status(decisions)
    amo_accepted = sum(
        (d.checked.sheet.totals.amo for d in decisions if d.status == FseStatus.ACCEPTED and d.checked.sheet),
        Decimal("0.00"),
    )
    lot = Lot(
        professional_id=pro.id, lot_number=lot_number[:64], received_at=received, status=status,
        source=source, fse_count=len(decisions),
        accepted_count=sum(1 for d in decisions if d.status == FseStatus.ACCEPTED),
        rejected_count=sum(1 for d in decisions if d.status == FseStatus.REJECTED),
        duplicate_count=sum(1 for d in decisions if d.status == FseStatus.DUPLICATE),
        amo_accepted=amo_accepted, body_sha256=raw_hash(body), body_size=len(body), arl_xml="",
    )
    session.add(lot)
    session.flush()
    rows = [_row(lot.id, pro.id, d, received) for d in decisions]
    ids = _insert_fses(session, rows)
    for decision, fse_id in zip(decisions, ids, strict=True):
        if decision.duplicate_of_position is not None:
            session.execute(
                update(StoredFse).where(StoredFse.id == fse_id)
                .values(duplicate_of_id=ids[decision.duplicate_of_position - 1])
            )
    accepted_ids = [i for d, i in zip(decisions, ids, strict=True) if d.status == FseStatus.ACCEPTED]
    for hook in hooks:
        hook(session, accepted_ids, f"lot:{lot.id}")  # same transaction: all or nothing
    report = LotReport(True, received, lot_number, lot.id, status, fses=_reports(decisions, ids),
                       body_sha256=lot.body_sha256)
    arl = intake.build_arl(gw, report)
    lot.arl_xml = arl.decode()
    audit.record(
        session, "lot.submitted", actor_id=pro.id, actor_login=pro.login, lot_id=lot.id,
        fse=len(decisions), accepted=lot.accepted_count, rejected=lot.rejected_count,
        duplicates=lot.duplicate_count, source=source,
    )
    if claim is not None:
        idempotency.complete(session, claim, 201, intake.ARL_CONTENT_TYPE, arl, lot_id=lot.id)
    session.commit()
    return SubmitResult(201, arl, report)


def _insert_fses(session: Session, rows: list[dict[str, Any]]) -> list[int]:
    """Insert the lot's FSE rows in the lot's transaction; their ids, in order.

    PostgreSQL: ids drawn from the sequence in one query, then one COPY (several times
    faster than a multi-row INSERT for 1,000 rows of signed XML). SQLite: one executemany
    with RETURNING.
    """
    if not rows:
        return []
    if session.get_bind().dialect.name != "postgresql":
        return list(session.scalars(
            insert(StoredFse).returning(StoredFse.id, sort_by_parameter_order=True), rows
        ))
    ids = list(session.scalars(
        text("SELECT nextval(pg_get_serial_sequence('fse', 'id')) FROM generate_series(1, :n)"),
        {"n": len(rows)},
    ))
    columns = ["id", *rows[0].keys()]
    table = StoredFse.__table__
    names = ", ".join(f'"{table.c[c].name}"' for c in columns)
    raw = session.connection().connection.driver_connection
    import psycopg

    try:
        with raw.cursor() as cursor, cursor.copy(f"COPY fse ({names}) FROM STDIN") as copy:
            for fse_id, row in zip(ids, rows, strict=True):
                copy.write_row([fse_id, *(
                    value.value if isinstance(value, FseStatus) else value for value in row.values()
                )])
    except psycopg.IntegrityError as exc:  # a concurrent lot took an invoice number
        raise IntegrityError("COPY fse", None, exc) from exc
    return ids


def _money(value: Decimal | None) -> Decimal | None:
    return None if value is None else Decimal(value).quantize(Decimal("0.01"))


def _row(lot_id: int, pro_id: int, decision: _Decision, now: datetime) -> dict[str, Any]:
    item = decision.checked
    sheet = item.sheet
    computed = item.computed
    row: dict[str, Any] = {
        "lot_id": lot_id, "professional_id": pro_id, "position": item.position,
        "element_id": item.element_id[:64], "status": decision.status, "content_hash": item.content_hash,
        "duplicate_of_id": decision.duplicate_of_id, "corrects_id": decision.corrects_id,
        "errors_json": json.dumps(decision.errors, ensure_ascii=False, default=str),
        "signed_xml": item.signed_xml, "created_at": now,
        "invoice_number": "", "invoice_date": None, "first_care_date": None, "last_care_date": None,
        "patient_nir": "", "patient_birth_date": None, "patient_rank": 1, "nature": "", "pathway": True,
        "exemption": "", "tiers_payant_amo": False, "tiers_payant_amc": False,
        "charged_sent": None, "base_sent": None, "amo_sent": None,
        "charged_computed": None, "base_computed": None, "amo_computed": None, "patient_charges": None,
        "participation": None, "franchise": None,
        "lines_json": "[]",
    }
    if sheet is not None:
        row.update(
            invoice_number=sheet.invoice_number[:32], invoice_date=sheet.invoice_date,
            first_care_date=sheet.first_care_date, last_care_date=sheet.last_care_date,
            patient_nir=sheet.patient.nir[:15], patient_birth_date=sheet.patient.birth_date,
            patient_rank=sheet.patient.rank, nature=sheet.nature.value, pathway=sheet.pathway,
            exemption=sheet.exemption.value, tiers_payant_amo=sheet.tiers_payant_amo,
            tiers_payant_amc=sheet.tiers_payant_amc,
            charged_sent=_money(sheet.totals.charged), base_sent=_money(sheet.totals.base),
            amo_sent=_money(sheet.totals.amo),
            lines_json=json.dumps(intake.lines_view(sheet, computed), ensure_ascii=False, default=str),
        )
    if computed is not None:
        row.update(
            charged_computed=_money(computed.charged), base_computed=_money(computed.base),
            amo_computed=_money(computed.amo), patient_charges=_money(computed.patient_charges),
            participation=_money(computed.participation), franchise=_money(computed.franchise),
        )
    return row


# --- reading -----------------------------------------------------------------------------

def get_lot(session: Session, pro: Professional, lot_id: int) -> Lot:
    lot = session.scalar(select(Lot).where(Lot.id == lot_id, Lot.professional_id == pro.id))
    if lot is None:
        raise AmeliproError(lot_errors.LOT_NOT_FOUND)
    return lot


def lot_fses(session: Session, pro: Professional, lot: Lot, status: FseStatus | None = None) -> list[StoredFse]:
    stmt = select(StoredFse).where(StoredFse.lot_id == lot.id, StoredFse.professional_id == pro.id)
    if status is not None:
        stmt = stmt.where(StoredFse.status == status)
    return list(session.scalars(stmt.order_by(StoredFse.position)))


def get_fse(session: Session, pro: Professional, fse_id: int) -> StoredFse:
    fse = session.scalar(select(StoredFse).where(StoredFse.id == fse_id, StoredFse.professional_id == pro.id))
    if fse is None:
        raise AmeliproError(lot_errors.FSE_NOT_FOUND)
    return fse


def lot_report(session: Session, pro: Professional, lot: Lot) -> LotReport:
    """A recorded lot's report, read back from what was stored (the page shown after the
    upload's redirect: the same content as the ARL answered to the POST)."""
    fses = tuple(
        FseReport(
            position=f.position, element_id=f.element_id, invoice_number=f.invoice_number,
            status=f.status, errors=tuple(f.errors), fse_id=f.id, duplicate_of_id=f.duplicate_of_id,
            corrects_id=f.corrects_id, amo_sent=f.amo_sent, amo_computed=f.amo_computed,
            participation=f.participation, franchise=f.franchise,
        )
        for f in lot_fses(session, pro, lot)
    )
    return LotReport(True, lot.received_at, lot.lot_number, lot.id, lot.status, fses=fses,
                     body_sha256=lot.body_sha256)


@dataclass(frozen=True)
class LotPage:
    lots: tuple[Lot, ...]
    page: int
    total: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // PAGE_SIZE))


def list_lots(session: Session, pro: Professional, page: int = 1) -> LotPage:
    page = max(1, page)
    total = session.scalar(select(func.count()).select_from(Lot).where(Lot.professional_id == pro.id)) or 0
    lots = session.scalars(
        select(Lot).where(Lot.professional_id == pro.id).order_by(Lot.received_at.desc(), Lot.id.desc())
        .limit(PAGE_SIZE).offset((page - 1) * PAGE_SIZE)
    )
    return LotPage(tuple(lots), page, total)


@dataclass(frozen=True)
class FseSearch:
    """The Facturation search (GET): words (invoice or lot number, NIR, patient's name), care
    dates (``du``/``au``, inclusive, on the FSE's care period) and state."""

    words: str = ""
    start: date | None = None
    end: date | None = None
    status: FseStatus | None = None

    @property
    def active(self) -> bool:
        return bool(self.words or self.start or self.end or self.status)

    @classmethod
    def from_args(cls, args) -> FseSearch:
        from amelipro.codes import INVALID_DATE

        def day(name: str) -> date | None:
            raw = (args.get(name) or "").strip()
            if not raw:
                return None
            try:
                return date.fromisoformat(raw)
            except ValueError:
                raise AmeliproError(INVALID_DATE, f"{name} = {raw[:20]}") from None

        raw_status = (args.get("etat") or "").strip()
        try:
            status = FseStatus(raw_status) if raw_status else None
        except ValueError:
            status = None
        return cls(" ".join((args.get("q") or "").split())[:100], day("du"), day("au"), status)


@dataclass(frozen=True)
class FsePage:
    fses: tuple[StoredFse, ...]
    names: dict[tuple[str, int], str]  # (NIR, rank) -> the patient's name, when known
    page: int
    total: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // PAGE_SIZE))


def _escape_like(text_: str) -> str:
    return text_.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def search_fses(session: Session, pro: Professional, search: FseSearch, page: int = 1) -> FsePage:
    """The professional's own FSE matching the search, newest first, 50 a page."""
    from amelipro.beneficiaries.models import Beneficiary

    page = max(1, page)
    query = select(StoredFse).join(Lot, Lot.id == StoredFse.lot_id).where(StoredFse.professional_id == pro.id)
    if search.words:
        compact = search.words.replace(" ", "").upper()
        like = f"%{_escape_like(search.words.lower())}%"
        matches = [func.upper(StoredFse.invoice_number) == compact, func.lower(Lot.lot_number) == search.words.lower()]
        if compact.isdigit() or (len(compact) == 15 and compact[5:7] in ("2A", "2B")):
            matches.append(StoredFse.patient_nir.like(f"{_escape_like(compact)}%", escape="\\"))
        if compact.isdigit() and len(compact) <= 9:
            matches.append(Lot.id == int(compact))
        people = select(Beneficiary.nir).where(or_(
            func.lower(Beneficiary.last_name).like(like, escape="\\"),
            func.lower(Beneficiary.first_name).like(like, escape="\\"),
            func.lower(Beneficiary.first_name + " " + Beneficiary.last_name).like(like, escape="\\"),
            func.lower(Beneficiary.last_name + " " + Beneficiary.first_name).like(like, escape="\\"),
        ))
        matches.append(StoredFse.patient_nir.in_(people))
        query = query.where(or_(*matches))
    if search.start:
        query = query.where(StoredFse.last_care_date >= search.start)
    if search.end:
        query = query.where(StoredFse.first_care_date <= search.end)
    if search.status:
        query = query.where(StoredFse.status == search.status)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    fses = tuple(session.scalars(
        query.order_by(StoredFse.created_at.desc(), StoredFse.id.desc())
        .limit(PAGE_SIZE).offset((page - 1) * PAGE_SIZE)
    ))
    keys = {(f.patient_nir, f.patient_rank) for f in fses if f.patient_nir}
    names: dict[tuple[str, int], str] = {}
    if keys:
        for person in session.scalars(select(Beneficiary).where(
                Beneficiary.nir.in_({nir for nir, _ in keys}))):
            if (person.nir, person.rank) in keys:
                names[(person.nir, person.rank)] = " ".join(
                    part for part in (person.first_name, person.last_name.upper()) if part)
    return FsePage(fses, names, page, total)


@dataclass(frozen=True)
class FseDetails:
    """What the FSE page adds to the stored row: the patient's name (beneficiaries file), the
    prescription (read from the signed XML, not kept in columns) and its tiers-payant payment."""

    patient_name: str
    prescriber_rpps: str
    prescription_date: date | None
    payment_id: int | None


def prescription_of(signed_xml: str) -> tuple[str, date | None]:
    """Prescriber and prescription date of a stored FSE, from its signed XML (verified when
    received) through the safe parser; empty when it cannot be read."""
    from decimal import InvalidOperation

    from amelipro.fse.document import care_sheet_from_xml
    from amelipro.xmlcore.errors import UnsafeXmlError
    from amelipro.xmlcore.safe import parse_untrusted

    if not signed_xml:
        return "", None
    try:
        sheet = care_sheet_from_xml(parse_untrusted(signed_xml.encode()))
    except (UnsafeXmlError, ValueError, KeyError, InvalidOperation):
        return "", None
    return sheet.prescriber_rpps or "", sheet.prescription_date


def fse_details(session: Session, pro: Professional, fse: StoredFse) -> FseDetails:
    from amelipro.beneficiaries.models import Beneficiary
    from amelipro.thirdparty.models import Payment

    person = None
    if fse.patient_nir:
        person = session.scalar(select(Beneficiary).where(
            Beneficiary.nir == fse.patient_nir, Beneficiary.rank == fse.patient_rank))
    name = " ".join(part for part in (person.first_name, person.last_name.upper()) if part) if person else ""
    payment_id = session.scalar(select(Payment.id).where(
        Payment.fse_id == fse.id, Payment.professional_id == pro.id))
    rpps, when = prescription_of(fse.signed_xml)
    return FseDetails(name, rpps, when, payment_id)


def related_fses(session: Session, pro: Professional, fse: StoredFse) -> list[StoredFse]:
    """Other FSE of the same invoice number (original, duplicates, corrections)."""
    if not fse.invoice_number:
        return []
    return list(session.scalars(
        select(StoredFse).where(
            StoredFse.professional_id == pro.id, StoredFse.invoice_number == fse.invoice_number,
            StoredFse.id != fse.id,
        ).order_by(StoredFse.id)
    ))


@dataclass(frozen=True)
class Activity:
    """A professional's sending activity since a moment (the home dashboard)."""

    lots: int
    accepted: int
    rejected: int
    duplicates: int
    amo_accepted: Decimal
    to_correct: int = 0  # rejected and not yet corrected by an accepted resubmission


def activity_since(session: Session, pro: Professional | None, since: datetime) -> Activity:
    """One professional's lots since ``since``; every professional's when ``pro`` is None
    (the operators' view)."""
    stmt = (select(func.count(Lot.id), func.coalesce(func.sum(Lot.accepted_count), 0),
                   func.coalesce(func.sum(Lot.rejected_count), 0),
                   func.coalesce(func.sum(Lot.duplicate_count), 0),
                   func.coalesce(func.sum(Lot.amo_accepted), 0))
            .where(Lot.received_at >= since))
    if pro is not None:
        stmt = stmt.where(Lot.professional_id == pro.id)
    lots, accepted, rejected, duplicates, amo = session.execute(stmt).one()
    return Activity(int(lots), int(accepted), int(rejected), int(duplicates),
                    Decimal(amo).quantize(Decimal("0.01")),
                    to_correct=rejected_to_correct(session, pro, since) if pro is not None else 0)


def rejected_to_correct(session: Session, pro: Professional, since: datetime) -> int:
    """FSE of ``pro`` rejected since ``since`` that still need a correction: not those whose
    invoice was accepted since (a corrected resubmission, linked by ``corrects_id`` or under
    the same invoice number, or an identical resend of an accepted one)."""
    fixed = aliased(StoredFse)
    corrected = select(fixed.id).where(
        fixed.professional_id == pro.id, fixed.status == FseStatus.ACCEPTED,
        or_(fixed.corrects_id == StoredFse.id,
            and_(StoredFse.invoice_number != "", fixed.invoice_number == StoredFse.invoice_number)),
    ).exists()
    return session.scalar(
        select(func.count(StoredFse.id)).join(Lot, Lot.id == StoredFse.lot_id)
        .where(StoredFse.professional_id == pro.id, StoredFse.status == FseStatus.REJECTED,
               Lot.received_at >= since, ~corrected)
    ) or 0


__all__ = [
    "Activity", "activity_since", "FseReport", "LotReport", "SubmitResult", "LotRefusedError", "content_hash", "validate_lot",
    "submit_lot", "get_lot", "get_fse", "list_lots", "lot_fses", "lot_report", "related_fses",
]
