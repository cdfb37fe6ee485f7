"""Messagerie reads: a thread or an attachment the user may see, the professional's list and
the caisse inbox (paged, searched, filtered), unread counts, and what an agent sees of the
objects linked to a thread. Professionals reach only their own threads (another's answers like a
missing one, MSG-040); caisse agents reach every thread. Nothing here writes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from sqlalchemy import Select, and_, exists, func, or_, select
from sqlalchemy.orm import Session, selectinload

from amelipro.auth.models import Professional
from amelipro.clock import PARIS, paris_date
from amelipro.errors import AmeliproError
from amelipro.fse.models import StoredFse
from amelipro.messaging import errors
from amelipro.messaging.domain import Box, Category, Side, ThreadStatus
from amelipro.messaging.models import Attachment, Message, Thread
from amelipro.thirdparty import services as tp_services
from amelipro.thirdparty.calendar import working_day_number
from amelipro.thirdparty.models import RspReturn

PAGE_SIZE = 20


def is_agent(user: Professional) -> bool:
    return user.is_caisse_agent


def require_agent(user: Professional) -> None:
    if not is_agent(user):
        raise AmeliproError(errors.AGENTS_ONLY)



def _readable(stmt: Select, user: Professional, as_agent: bool) -> Select:
    """``stmt`` (on ``Thread``) narrowed to what the user may read: any thread for an agent
    acting as such, else their own."""
    if as_agent:
        require_agent(user)
        return stmt
    return stmt.where(Thread.professional_id == user.id)


def get_thread(session: Session, user: Professional, thread_id: int, *, as_agent: bool = False) -> Thread:
    """A thread the user may read: their own, or any for an agent acting as such."""
    stmt = select(Thread).options(selectinload(Thread.messages).selectinload(Message.attachments)) \
        .where(Thread.id == thread_id)
    thread = session.scalar(_readable(stmt, user, as_agent))
    if thread is None:
        raise AmeliproError(errors.THREAD_NOT_FOUND)
    return thread


def get_attachment(session: Session, user: Professional, attachment_id: int, *,
                   as_agent: bool = False) -> Attachment:
    stmt = select(Attachment).join(Thread, Thread.id == Attachment.thread_id).where(Attachment.id == attachment_id)
    found = session.scalar(_readable(stmt, user, as_agent))
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
