"""Notifications of the messagerie: « Vous avez un nouveau message », never the content.

``notify_new_message`` is the one entry point: the notification is stored in an outbox
(``msg_outbox``) in the caller's transaction, so a message and its notification are committed
together; ``deliver_pending`` then e-mails what waits there through ``amelipro.mail`` (SMTP,
or ``.eml`` files without a server) to the professional's address and marks it sent. The
messagerie calls it right after each commit that notifies; ``amelipro messaging notify``
sends whatever a crash left behind.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from amelipro import mail
from amelipro.account.profiles import email_of
from amelipro.auth.models import Professional
from amelipro.db import utcnow
from amelipro.messaging.models import OutboxMessage

SUBJECT = "Vous avez un nouveau message"
BODY = ("Bonjour,\n\nVous avez un nouveau message dans votre messagerie amelipro. "
        "Connectez-vous pour le lire : son contenu n'est jamais envoyé par e-mail.\n")


def notify_new_message(session: Session, recipient_id: int, thread_id: int) -> OutboxMessage:
    """Queue the notification for ``recipient_id`` (added to the caller's transaction)."""
    item = OutboxMessage(professional_id=recipient_id, thread_id=thread_id, subject=SUBJECT, body=BODY)
    session.add(item)
    return item


def pending(session: Session, limit: int = 100) -> list[OutboxMessage]:
    """Notifications not sent yet, oldest first (for the sender)."""
    return list(session.scalars(select(OutboxMessage).where(OutboxMessage.sent_at.is_(None))
                                .order_by(OutboxMessage.id).limit(limit)))


def mark_sent(session: Session, item: OutboxMessage) -> None:
    item.sent_at = utcnow()


def deliver_pending(session: Session, limit: int = 100) -> int:
    """E-mail the waiting notifications, oldest first; returns how many were e-mailed. A
    professional without an address gets none (the unread count still shows it). Commits."""
    sent = 0
    for item in pending(session, limit):
        pro = session.get(Professional, item.professional_id)
        address = email_of(session, pro) if pro is not None else ""
        if address:
            mail.send("new_message", address, item.subject, pro=pro)
            sent += 1
        mark_sent(session, item)
    session.commit()
    return sent
