"""Messagerie use cases. Professionals reach only their own threads (another's answers like a
missing one, MSG-040); caisse agents reach every thread. Only these functions commit, once per
use case: a message is stored with all its attachments and its notification, or not at all.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from sqlalchemy import Select, and_, exists, func, or_, select, update
from sqlalchemy.orm import Session, selectinload

from amelipro import audit
from amelipro.auth.models import Professional
from amelipro.beneficiaries.models import Beneficiary
from amelipro.clock import PARIS, paris_date
from amelipro.db import utcnow
from amelipro.errors import AmeliproError
from amelipro.filters import euros
from amelipro.fse.models import Lot, StoredFse
from amelipro.messaging import errors
from amelipro.messaging.domain import (
    Box,
    Category,
    CheckedFile,
    Outcome,
    Side,
    ThreadStatus,
    check_attachments,
    clean_body,
    clean_subject,
    parse_amount,
    parse_category,
    patient_initials,
)
from amelipro.messaging.models import Attachment, Message, Thread
from amelipro.messaging.notify import deliver_pending, notify_new_message
from amelipro.thirdparty import adjustments
from amelipro.thirdparty import services as tp_services
from amelipro.thirdparty.calendar import working_day_number
from amelipro.thirdparty.decision import code_catalogue
from amelipro.thirdparty.models import Payment, RspReturn, Virement
from amelipro.thirdparty.states import REJECTED_STATUSES

PAGE_SIZE = 20


def is_agent(user: Professional) -> bool:
    return user.is_caisse_agent


def require_agent(user: Professional) -> None:
    if not is_agent(user):
        raise AmeliproError(errors.AGENTS_ONLY)


def _actor(user: Professional) -> dict:
    return {"actor_id": user.id, "actor_login": user.login}


# --- reading --------------------------------------------------------------------------------


def get_thread(session: Session, user: Professional, thread_id: int, *, as_agent: bool = False) -> Thread:
    """A thread the user may read: their own, or any for an agent acting as such."""
    stmt = select(Thread).options(selectinload(Thread.messages).selectinload(Message.attachments)) \
        .where(Thread.id == thread_id)
    if as_agent:
        require_agent(user)
    else:
        stmt = stmt.where(Thread.professional_id == user.id)
    thread = session.scalar(stmt)
    if thread is None:
        raise AmeliproError(errors.THREAD_NOT_FOUND)
    return thread


def get_attachment(session: Session, user: Professional, attachment_id: int, *,
                   as_agent: bool = False) -> Attachment:
    stmt = select(Attachment).join(Thread, Thread.id == Attachment.thread_id).where(Attachment.id == attachment_id)
    if as_agent:
        require_agent(user)
    else:
        stmt = stmt.where(Thread.professional_id == user.id)
    found = session.scalar(stmt)
    if found is None:
        raise AmeliproError(errors.ATTACHMENT_NOT_FOUND)
    return found


def unread_count(session: Session, user: Professional) -> int:
    """Messages from the other side not marked read: the caisse's answers for a professional;
    for an agent, the professionals' messages in open threads unassigned or assigned to them."""
    if is_agent(user):
        stmt = (select(func.count(Message.id)).join(Thread, Thread.id == Message.thread_id)
                .where(Message.side == Side.PROFESSIONAL, Message.read_at.is_(None),
                       Thread.status != ThreadStatus.CLOSED,
                       or_(Thread.assigned_to_id.is_(None), Thread.assigned_to_id == user.id)))
    else:
        stmt = (select(func.count(Message.id)).join(Thread, Thread.id == Message.thread_id)
                .where(Thread.professional_id == user.id, Message.side == Side.CAISSE,
                       Message.read_at.is_(None)))
    return int(session.scalar(stmt) or 0)


def own_counts(session: Session, pro: Professional) -> dict[ThreadStatus, int]:
    """The professional's threads by status (home panel)."""
    rows = session.execute(select(Thread.status, func.count(Thread.id)).where(Thread.professional_id == pro.id)
                           .group_by(Thread.status)).all()
    counts = dict.fromkeys(ThreadStatus, 0)
    counts.update({status: int(n) for status, n in rows})
    return counts


@dataclass(frozen=True)
class ThreadRow:
    thread: Thread
    unread: int
    age: int  # working days since the thread was opened
    owner: Professional | None = None


@dataclass(frozen=True)
class ThreadPage:
    rows: tuple[ThreadRow, ...]
    total: int
    page: int
    pages: int


def _unread_by_thread(session: Session, ids: list[int], side: Side) -> dict[int, int]:
    if not ids:
        return {}
    return dict(session.execute(
        select(Message.thread_id, func.count(Message.id))
        .where(Message.thread_id.in_(ids), Message.side == side, Message.read_at.is_(None))
        .group_by(Message.thread_id)).all())


def _paged(session: Session, stmt: Select, page: int, today: date, side: Side,
           with_owner: bool = False) -> ThreadPage:
    total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    pages = max(1, -(-total // PAGE_SIZE))
    page = min(max(1, page), pages)
    threads = session.scalars(stmt.order_by(Thread.updated_at.desc(), Thread.id.desc())
                              .offset((page - 1) * PAGE_SIZE).limit(PAGE_SIZE)).all()
    unread = _unread_by_thread(session, [t.id for t in threads], side)
    owners = {}
    if with_owner and threads:
        owners = {p.id: p for p in session.scalars(select(Professional).where(
            Professional.id.in_({t.professional_id for t in threads})))}
    rows = tuple(ThreadRow(t, unread.get(t.id, 0), working_day_number(paris_date(t.created_at), today),
                           owners.get(t.professional_id)) for t in threads)
    return ThreadPage(rows, int(total), page, pages)


def _search(stmt: Select, q: str) -> Select:
    q = q.strip()[:100]
    if not q:
        return stmt
    escaped = q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    pattern = f"%{escaped}%"
    in_body = exists().where(Message.thread_id == Thread.id, Message.body.ilike(pattern, escape="\\"))
    return stmt.where(or_(Thread.subject.ilike(pattern, escape="\\"), in_body))


def list_threads(session: Session, pro: Professional, today: date, *, q: str = "", page: int = 1) -> ThreadPage:
    """The professional's own threads, newest activity first; ``q`` searches subject and text."""
    stmt = _search(select(Thread).where(Thread.professional_id == pro.id), q)
    return _paged(session, stmt, page, today, Side.CAISSE)


@dataclass(frozen=True)
class InboxFilter:
    box: Box = Box.UNASSIGNED
    category: Category | None = None
    min_age: int | None = None  # working days
    q: str = ""

    @classmethod
    def from_args(cls, args) -> InboxFilter:
        raw_box = (args.get("boite") or Box.UNASSIGNED.value).strip()
        raw_cat = (args.get("categorie") or "").strip()
        raw_age = (args.get("anciennete") or "").strip()
        try:
            box = Box(raw_box)
            category = Category(raw_cat) if raw_cat else None
        except ValueError:
            raise AmeliproError(errors.BAD_FILTER, f"{raw_box[:20]} {raw_cat[:20]}") from None
        if raw_age and (not raw_age.isdigit() or int(raw_age) > 3650):
            raise AmeliproError(errors.BAD_FILTER, f"anciennete={raw_age[:20]}")
        return cls(box, category, int(raw_age) if raw_age else None, (args.get("q") or "")[:100])

    def query_args(self) -> dict[str, str]:
        out = {"boite": self.box.value, "categorie": self.category.value if self.category else "",
               "anciennete": str(self.min_age) if self.min_age is not None else "", "q": self.q}
        return {k: v for k, v in out.items() if v}


def opened_on_or_before(today: date, min_age: int) -> date:
    """The latest opening day whose age on ``today`` is at least ``min_age`` working days
    (the project's one counting convention, ``thirdparty.calendar``)."""
    day = today
    while working_day_number(day, today) < min_age:
        day -= timedelta(days=1)
    return day


def inbox(session: Session, agent: Professional, f: InboxFilter, today: date, page: int = 1) -> ThreadPage:
    require_agent(agent)
    stmt = select(Thread)
    if f.box is Box.UNASSIGNED:
        stmt = stmt.where(Thread.assigned_to_id.is_(None), Thread.status != ThreadStatus.CLOSED)
    elif f.box is Box.MINE:
        stmt = stmt.where(Thread.assigned_to_id == agent.id, Thread.status == ThreadStatus.OPEN)
    elif f.box is Box.WAITING_PRO:
        stmt = stmt.where(Thread.status == ThreadStatus.WAITING_PRO)
    else:
        stmt = stmt.where(Thread.status == ThreadStatus.CLOSED)
    if f.category is not None:
        stmt = stmt.where(Thread.category == f.category)
    if f.min_age:
        last_day = opened_on_or_before(today, f.min_age)
        stmt = stmt.where(Thread.created_at < datetime.combine(last_day + timedelta(days=1), time(), PARIS))
    stmt = _search(stmt, f.q)
    return _paged(session, stmt, page, today, Side.PROFESSIONAL, with_owner=True)


def box_counts(session: Session, agent: Professional) -> dict[Box, int]:
    require_agent(agent)
    conditions = {
        Box.UNASSIGNED: and_(Thread.assigned_to_id.is_(None), Thread.status != ThreadStatus.CLOSED),
        Box.MINE: and_(Thread.assigned_to_id == agent.id, Thread.status == ThreadStatus.OPEN),
        Box.WAITING_PRO: Thread.status == ThreadStatus.WAITING_PRO,
        Box.CLOSED: Thread.status == ThreadStatus.CLOSED,
    }
    return {box: int(session.scalar(select(func.count(Thread.id)).where(cond)) or 0)
            for box, cond in conditions.items()}


# --- linked objects and one-click complaints ------------------------------------------------


@dataclass(frozen=True)
class Links:
    lot_id: int | None = None
    fse_id: int | None = None
    payment_id: int | None = None
    virement_id: int | None = None


def check_links(session: Session, pro: Professional, links: Links) -> Links:
    """Every linked object must be the professional's own (else MSG-042, 404)."""
    owned = (
        (links.lot_id, Lot), (links.fse_id, StoredFse), (links.payment_id, Payment),
        (links.virement_id, Virement),
    )
    for object_id, model in owned:
        if object_id is None:
            continue
        found = session.scalar(select(model.id).where(model.id == object_id, model.professional_id == pro.id))
        if found is None:
            raise AmeliproError(errors.LINK_NOT_FOUND, f"{model.__tablename__} {object_id}")
    if links.payment_id is not None and links.fse_id is None:
        fse_id = session.scalar(select(Payment.fse_id).where(Payment.id == links.payment_id))
        links = Links(links.lot_id, fse_id, links.payment_id, links.virement_id)
    return links


@dataclass(frozen=True)
class Draft:
    """A prefilled complaint (the professional may edit subject and text before sending)."""

    subject: str
    category: Category
    body: str
    links: Links = field(default_factory=Links)
    claim_month: date | None = None
    claim_total: Decimal | None = None
    claim_lines: int = 0


def _fr_money(value: Decimal | None) -> str:
    return euros(value) if value is not None else "—"


def _fr_date(value: date | None) -> str:
    return value.strftime("%d/%m/%Y") if value else "—"


def _initials(session: Session, nir: str) -> str:
    person = session.scalar(select(Beneficiary).where(Beneficiary.nir == nir).limit(1)) if nir else None
    return patient_initials(person.first_name, person.last_name) if person else "non communiquées"


def payment_complaint_draft(session: Session, pro: Professional, payment_id: int, today: date) -> Draft:
    try:
        detail = tp_services.payment_detail(session, pro, payment_id, today)
    except AmeliproError:
        raise AmeliproError(errors.LINK_NOT_FOUND, f"paiement {payment_id}") from None
    p = detail.payment
    lines = [
        f"Réclamation concernant la facture {p.invoice_number} (FSE n° {p.fse_id}).",
        f"Patient : initiales {_initials(session, p.patient_nir)}.",
        f"Date des soins : {_fr_date(p.care_date)} ; accusé de réception : {_fr_date(p.acknowledged_on)} ; "
        f"échéance : {_fr_date(p.due_date)}.",
        f"Part AMO demandée : {_fr_money(p.amo_claimed)} ; part AMO payée : {_fr_money(p.amo_paid)}.",
        f"État : {p.status.label}" + (f", liquidée le {_fr_date(p.liquidated_on)}." if p.liquidated_on else "."),
    ]
    if p.status in REJECTED_STATUSES:
        codes = detail.rsp.codes if detail.rsp else []
        if not codes and p.reject_code:
            known = code_catalogue().get(p.reject_code)
            codes = [{"code": p.reject_code, "message": known.message if known else ""}]
        for c in codes:
            lines.append(f"Motif du rejet : {c['code']} — {c['message']}")
        subject = f"Réclamation : rejet de la facture {p.invoice_number}"
    elif detail.delay and detail.delay.late:
        lines.append(f"Retard de paiement : {detail.delay.day_number} jours ouvrés, "
                     f"pénalité due {_fr_money(detail.delay.penalty)}.")
        subject = f"Réclamation : paiement en retard de la facture {p.invoice_number}"
    else:
        subject = f"Réclamation : paiement de la facture {p.invoice_number}"
    lines += ["", "Merci de réexaminer ce dossier."]
    return Draft(subject[:200], Category.PAYMENT_COMPLAINT, "\n".join(lines),
                 Links(fse_id=p.fse_id, payment_id=p.id, virement_id=p.virement_id))


def fse_complaint_draft(session: Session, pro: Professional, fse_id: int, today: date) -> Draft:
    fse = session.scalar(select(StoredFse).where(StoredFse.id == fse_id, StoredFse.professional_id == pro.id))
    if fse is None:
        raise AmeliproError(errors.LINK_NOT_FOUND, f"FSE {fse_id}")
    payment_id = session.scalar(select(Payment.id).where(Payment.fse_id == fse.id))
    if payment_id is not None:
        draft = payment_complaint_draft(session, pro, payment_id, today)
        return Draft(draft.subject, draft.category, draft.body,
                     Links(fse.lot_id, fse.id, payment_id, draft.links.virement_id))
    lines = [
        f"Réclamation concernant la facture {fse.invoice_number} (FSE n° {fse.id}, lot n° {fse.lot_id}).",
        f"Patient : initiales {_initials(session, fse.patient_nir)}.",
        f"Date des soins : {_fr_date(fse.first_care_date)}.",
        f"Montant facturé : {_fr_money(fse.charged_sent)} ; part AMO : {_fr_money(fse.amo_sent)}.",
        f"État : {fse.status.value}.", "", "Merci de réexaminer ce dossier.",
    ]
    return Draft(f"Réclamation : facture {fse.invoice_number}"[:200], Category.PAYMENT_COMPLAINT,
                 "\n".join(lines), Links(lot_id=fse.lot_id, fse_id=fse.id))


def penalty_claim_draft(session: Session, pro: Professional, month: date, today: date) -> Draft:
    statement = tp_services.penalty_statement(session, pro, month, today)
    body = (f"Je réclame les pénalités de retard de paiement du tiers payant de {month:%m/%Y} "
            f"(décret 2016-1069) : {len(statement.lines)} facture(s), total {_fr_money(statement.total)}.\n"
            "Le relevé du mois (CSV) est joint à ce message.")
    return Draft(f"Réclamation des pénalités de retard de {month:%m/%Y}", Category.PENALTY_CLAIM, body,
                 claim_month=month, claim_total=statement.total, claim_lines=len(statement.lines))


# --- writing ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class NewThread:
    subject: str
    category: str
    body: str
    files: tuple[tuple[str | None, bytes], ...] = ()
    links: Links = field(default_factory=Links)
    claim_month: date | None = None  # a penalty claim: the month's statement is attached


def _add_message(session: Session, thread: Thread, author: Professional, side: Side, body: str,
                 files: list[CheckedFile]) -> Message:
    message = Message(thread=thread, author_id=author.id, side=side, body=body)
    session.add(message)
    session.flush()
    for f in files:
        session.add(Attachment(message_id=message.id, thread_id=thread.id, filename=f.filename,
                               content_type=f.content_type, size=len(f.data),
                               sha256=hashlib.sha256(f.data).hexdigest(), data=f.data))
    return message


def _mark_read(session: Session, thread: Thread, reader_side: Side) -> int:
    other = Side.CAISSE if reader_side is Side.PROFESSIONAL else Side.PROFESSIONAL
    result = session.execute(update(Message).where(Message.thread_id == thread.id, Message.side == other,
                                                   Message.read_at.is_(None)).values(read_at=utcnow())
                             .execution_options(synchronize_session=False))
    return result.rowcount


def create_thread(session: Session, pro: Professional, data: NewThread, today: date) -> Thread:
    """Open a thread with its first message and attachments (all checked before anything is
    written). A penalty claim gets the month's CSV statement attached and its total."""
    if is_agent(pro) and not pro.rpps:
        raise AmeliproError(errors.AGENTS_ONLY, "les agents répondent aux conversations des professionnels")
    subject = clean_subject(data.subject)
    body = clean_body(data.body)
    allowed = (Category.PENALTY_CLAIM,) if data.claim_month else None
    category = parse_category(data.category, **({"allowed": allowed} if allowed else {}))
    files = check_attachments(list(data.files))
    links = check_links(session, pro, data.links)
    claimed = None
    if data.claim_month is not None:
        pending_claim = session.scalar(select(Thread.id).where(
            Thread.professional_id == pro.id, Thread.claim_month == data.claim_month,
            or_(Thread.outcome.is_(None), Thread.outcome == Outcome.GRANTED)))
        if pending_claim is not None:
            raise AmeliproError(errors.CLAIM_ALREADY_SENT, f"{data.claim_month:%m/%Y}", thread_id=pending_claim)
        statement = tp_services.penalty_statement(session, pro, data.claim_month, today)
        csv_text = "\ufeff" + tp_services.penalty_statement_csv(statement, pro)
        files.append(CheckedFile(f"penalites-{data.claim_month:%Y-%m}.csv", "text/csv",
                                 csv_text.encode("utf-8")))
        claimed = statement.total
    if len(files) > 6:  # 5 uploaded + the statement
        raise AmeliproError(errors.TOO_MANY_ATTACHMENTS)
    now = utcnow()
    thread = Thread(professional_id=pro.id, subject=subject, category=category, status=ThreadStatus.OPEN,
                    lot_id=links.lot_id, fse_id=links.fse_id, payment_id=links.payment_id,
                    virement_id=links.virement_id, claim_month=data.claim_month, claimed_amount=claimed,
                    created_at=now, updated_at=now)
    session.add(thread)
    session.flush()
    _add_message(session, thread, pro, Side.PROFESSIONAL, body, files)
    audit.record(session, "message.thread_created", **_actor(pro), thread=thread.id, category=category.value,
                 attachments=len(files), payment=links.payment_id, month=data.claim_month)
    session.commit()
    return thread


def reply(session: Session, user: Professional, thread_id: int, body: str,
          files: tuple[tuple[str | None, bytes], ...] = (), *, as_agent: bool = False) -> Message:
    thread = get_thread(session, user, thread_id, as_agent=as_agent)
    text = clean_body(body)
    checked = check_attachments(list(files))
    if thread.status is ThreadStatus.CLOSED:
        raise AmeliproError(errors.THREAD_CLOSED)
    side = Side.CAISSE if as_agent else Side.PROFESSIONAL
    message = _add_message(session, thread, user, side, text, checked)
    _mark_read(session, thread, side)
    thread.updated_at = utcnow()
    if as_agent:
        thread.status = ThreadStatus.WAITING_PRO
        if thread.assigned_to_id is None:
            thread.assigned_to_id = user.id
        notify_new_message(session, thread.professional_id, thread.id)
    else:
        thread.status = ThreadStatus.OPEN
    audit.record(session, "message.reply", **_actor(user), thread=thread.id, side=side.value,
                 attachments=len(checked))
    session.commit()
    if as_agent:
        deliver_pending(session)
    return message


def mark_read(session: Session, user: Professional, thread_id: int, *, as_agent: bool = False) -> int:
    thread = get_thread(session, user, thread_id, as_agent=as_agent)
    count = _mark_read(session, thread, Side.CAISSE if as_agent else Side.PROFESSIONAL)
    session.commit()
    return count


def assign(session: Session, agent: Professional, thread_id: int) -> Thread:
    thread = get_thread(session, agent, thread_id, as_agent=True)
    if thread.status is ThreadStatus.CLOSED:
        raise AmeliproError(errors.THREAD_CLOSED)
    previous = thread.assigned_to_id
    thread.assigned_to_id = agent.id
    audit.record(session, "message.assigned", **_actor(agent), thread=thread.id, previous=previous)
    session.commit()
    return thread


@dataclass(frozen=True)
class Decision:
    outcome: str
    amount: str = ""  # granted amount in euros (« 21,00 »)
    reason: str = ""  # refusal reason, or the answer's text


def close(session: Session, agent: Professional, thread_id: int, decision: Decision) -> Thread:
    """Close with an outcome. « accordée » (payment complaint or penalty claim) records an
    adjustment owed to the professional, paid by the next liquidation; « refusée » carries its
    reason. The decision is written to the thread as the caisse's message, and audited."""
    thread = get_thread(session, agent, thread_id, as_agent=True)
    if thread.status is ThreadStatus.CLOSED:
        raise AmeliproError(errors.THREAD_CLOSED)
    try:
        outcome = Outcome((decision.outcome or "").strip())
    except ValueError:
        raise AmeliproError(errors.OUTCOME_INVALID, (decision.outcome or "")[:20]) from None
    reason = (decision.reason or "").replace("\r\n", "\n").strip()
    if len(reason) > 5000:
        raise AmeliproError(errors.BODY_TOO_LONG)
    amount = None
    if outcome is Outcome.GRANTED:
        if not thread.category.payable:
            raise AmeliproError(errors.GRANT_NOT_PAYABLE)
        amount = parse_amount(decision.amount)
        text = f"Votre demande est accordée : une régularisation de {_fr_money(amount)} vous sera " \
               "payée avec la prochaine liquidation."
        if reason.strip():
            text += f"\n{reason.strip()}"
    elif outcome is Outcome.REFUSED:
        if not reason.strip():
            raise AmeliproError(errors.REASON_REQUIRED)
        text = f"Votre demande est refusée. Motif : {reason.strip()}"
    else:
        text = reason.strip() or "Votre demande a été traitée."
    now = utcnow()
    # Closed once: a conditional update, so two agents deciding at the same time never both
    # grant (the loser's update matches no row).
    won = session.execute(update(Thread).where(Thread.id == thread.id, Thread.status != ThreadStatus.CLOSED)
                          .values(status=ThreadStatus.CLOSED, closed_at=now)
                          .execution_options(synchronize_session=False)).rowcount
    if won != 1:
        session.rollback()
        raise AmeliproError(errors.THREAD_CLOSED)
    if amount is not None:
        adjustment = adjustments.grant_adjustment(
            session, professional_id=thread.professional_id, amount=amount,
            kind=adjustments.KIND_PENALTIES if thread.category is Category.PENALTY_CLAIM
            else adjustments.KIND_COMPLAINT,
            reason=f"{thread.category.label} n° {thread.id} : {thread.subject}"[:1000],
            source=f"message:{thread.id}", actor=f"caisse:{agent.login}",
            payment_id=thread.payment_id, month=thread.claim_month,
        )
        thread.adjustment_id = adjustment.id
    _add_message(session, thread, agent, Side.CAISSE, clean_body(text), [])
    _mark_read(session, thread, Side.CAISSE)
    thread.status = ThreadStatus.CLOSED
    thread.outcome = outcome
    thread.outcome_amount = amount
    thread.outcome_reason = reason.strip() if outcome is Outcome.REFUSED else ""
    thread.assigned_to_id = thread.assigned_to_id or agent.id
    thread.closed_at = thread.updated_at = now
    notify_new_message(session, thread.professional_id, thread.id)
    audit.record(session, "message.decision", **_actor(agent), thread=thread.id, outcome=outcome.value,
                 amount=f"{amount:.2f}" if amount is not None else None, professional=thread.professional_id,
                 payment=thread.payment_id, adjustment=thread.adjustment_id, reason=thread.outcome_reason)
    session.commit()
    deliver_pending(session)
    return thread


# --- what an agent sees of the linked objects (read only) ---------------------------------------


@dataclass(frozen=True)
class LinkedView:
    owner: Professional
    payment: tp_services.PaymentDetail | None
    fse: StoredFse | None
    rsp: RspReturn | None = None


def linked_view(session: Session, thread: Thread, today: date) -> LinkedView:
    """The linked FSE and payment as their professional sees them (scoped to the thread's owner)."""
    owner = session.get(Professional, thread.professional_id)
    payment = None
    if thread.payment_id is not None:
        payment = tp_services.payment_detail(session, owner, thread.payment_id, today)
    fse = None
    if thread.fse_id is not None:
        fse = session.scalar(select(StoredFse).where(StoredFse.id == thread.fse_id,
                                                     StoredFse.professional_id == owner.id))
    return LinkedView(owner, payment, fse)
