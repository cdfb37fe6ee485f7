"""Messagerie use cases that write: open a thread, reply, mark read, assign, close with a
decision. Only these functions commit, once per use case: a message is stored with all its
attachments and its notification, or not at all. Reads are in ``queries``, linked objects and
complaint drafts in ``complaints``.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from amelipro import audit
from amelipro.auth.models import Professional
from amelipro.db import utcnow
from amelipro.errors import AmeliproError
from amelipro.messaging import errors
from amelipro.messaging.complaints import Links, check_links, fr_money
from amelipro.messaging.domain import (
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
)
from amelipro.messaging.models import Attachment, Message, Thread
from amelipro.messaging.notify import deliver_pending, notify_new_message
from amelipro.messaging.queries import get_thread, is_agent
from amelipro.thirdparty import adjustments
from amelipro.thirdparty import services as tp_services


def _actor(user: Professional) -> dict:
    return {"actor_id": user.id, "actor_login": user.login}


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
        text = f"Votre demande est accordée : une régularisation de {fr_money(amount)} vous sera " \
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
