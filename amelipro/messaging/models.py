"""Messagerie storage: threads, messages, attachments (bytes in the database, never under
the static files) and the notification outbox. Nothing here commits: ``services.py`` does."""

from __future__ import annotations

import enum
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import Enum, ForeignKey, Index, Integer, LargeBinary, Numeric, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from amelipro.db import Base, UTCDateTime, utcnow
from amelipro.messaging.domain import Category, Outcome, Side, ThreadStatus


def _enum(cls: type[enum.Enum], length: int) -> Enum:
    return Enum(cls, native_enum=False, length=length, values_callable=lambda e: [m.value for m in e])


class Thread(Base):
    __tablename__ = "msg_thread"
    __table_args__ = (
        Index("ix_msg_thread_professional_updated", "professional_id", "updated_at"),
        Index("ix_msg_thread_status_assigned", "status", "assigned_to_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    professional_id: Mapped[int] = mapped_column(ForeignKey("professional.id"))
    subject: Mapped[str] = mapped_column(String(200))
    category: Mapped[Category] = mapped_column(_enum(Category, 24))
    status: Mapped[ThreadStatus] = mapped_column(_enum(ThreadStatus, 16), default=ThreadStatus.OPEN)
    assigned_to_id: Mapped[int | None] = mapped_column(ForeignKey("professional.id"))
    lot_id: Mapped[int | None] = mapped_column(ForeignKey("fse_lot.id"))
    fse_id: Mapped[int | None] = mapped_column(ForeignKey("fse.id"))
    payment_id: Mapped[int | None] = mapped_column(ForeignKey("tp_payment.id"), index=True)
    virement_id: Mapped[int | None] = mapped_column(ForeignKey("tp_virement.id"))
    claim_month: Mapped[date | None] = mapped_column()  # penalty claim: first day of the month
    claimed_amount: Mapped[Decimal | None] = mapped_column(Numeric(12, 2))
    outcome: Mapped[Outcome | None] = mapped_column(_enum(Outcome, 16))
    outcome_amount: Mapped[Decimal | None] = mapped_column(Numeric(12, 2))
    outcome_reason: Mapped[str] = mapped_column(Text, default="")
    adjustment_id: Mapped[int | None] = mapped_column(ForeignKey("tp_adjustment.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    messages: Mapped[list[Message]] = relationship(order_by="Message.id", back_populates="thread")


class Message(Base):
    __tablename__ = "msg_message"

    id: Mapped[int] = mapped_column(primary_key=True)
    thread_id: Mapped[int] = mapped_column(ForeignKey("msg_thread.id"), index=True)
    author_id: Mapped[int] = mapped_column(ForeignKey("professional.id"))
    side: Mapped[Side] = mapped_column(_enum(Side, 8))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime())  # by the other side

    thread: Mapped[Thread] = relationship(back_populates="messages")
    attachments: Mapped[list[Attachment]] = relationship(order_by="Attachment.id", back_populates="message")


class Attachment(Base):
    __tablename__ = "msg_attachment"

    id: Mapped[int] = mapped_column(primary_key=True)
    message_id: Mapped[int] = mapped_column(ForeignKey("msg_message.id"), index=True)
    thread_id: Mapped[int] = mapped_column(ForeignKey("msg_thread.id"), index=True)
    filename: Mapped[str] = mapped_column(String(120))
    content_type: Mapped[str] = mapped_column(String(64))  # detected from the content
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    data: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    message: Mapped[Message] = relationship(back_populates="attachments")


class OutboxMessage(Base):
    """A notification waiting to be sent (« Vous avez un nouveau message », never the content)."""

    __tablename__ = "msg_outbox"

    id: Mapped[int] = mapped_column(primary_key=True)
    professional_id: Mapped[int] = mapped_column(ForeignKey("professional.id"), index=True)
    thread_id: Mapped[int] = mapped_column(ForeignKey("msg_thread.id"))
    subject: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
