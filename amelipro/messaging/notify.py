"""Notifications of the messagerie: « Vous avez un nouveau message », never the content.

``notify_new_message`` is the one entry point. Until the e-mail sending of the account work
(``amelipro/mail.py``) is connected, notifications wait in a stored outbox (``msg_outbox``),
in the caller's transaction: a message and its notification are committed together.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

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
