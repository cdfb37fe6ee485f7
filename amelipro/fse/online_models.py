"""Storage of online billing: care-sheet drafts and the professionals' online-signing
credentials. Nothing here commits (``amelipro.fse.online`` and ``online_signing`` do).

Tables: ``fse_draft`` and ``online_signing_credential`` (revision 0007).
"""

from __future__ import annotations

import enum
import json
from datetime import datetime
from typing import Any

from sqlalchemy import Enum, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from amelipro.db import Base, UTCDateTime, utcnow


class DraftStatus(enum.StrEnum):
    DRAFT = "brouillon"
    SENT = "envoye"

    @property
    def label(self) -> str:
        return {"brouillon": "Brouillon", "envoye": "Envoyé"}[self.value]


class Draft(Base):
    """A care sheet being entered: what was typed (raw, errors included), never priced data."""

    __tablename__ = "fse_draft"
    __table_args__ = (UniqueConstraint("professional_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    professional_id: Mapped[int] = mapped_column(ForeignKey("professional.id"), index=True)
    # Per professional, from 1: the gateway's invoice number of the sheet (EL + 8 digits).
    number: Mapped[int] = mapped_column(Integer)
    status: Mapped[DraftStatus] = mapped_column(
        Enum(DraftStatus, native_enum=False, length=16, values_callable=lambda e: [m.value for m in e]),
        default=DraftStatus.DRAFT,
    )
    data_json: Mapped[str] = mapped_column(Text, default="{}")
    # A correction keeps the rejected FSE's invoice number (the link resubmissions use).
    invoice_number: Mapped[str] = mapped_column(String(32), default="")
    corrects_fse_id: Mapped[int | None] = mapped_column(ForeignKey("fse.id"))
    fse_id: Mapped[int | None] = mapped_column(ForeignKey("fse.id"))  # once sent
    lot_id: Mapped[int | None] = mapped_column(ForeignKey("fse_lot.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    @property
    def data(self) -> dict[str, Any]:
        try:
            value = json.loads(self.data_json or "{}")
        except ValueError:
            return {}
        return value if isinstance(value, dict) else {}


class OnlineSigningCredential(Base):
    """A professional's online-signing certificate, issued by the gateway's online-signing CA,
    and its private key encrypted (PKCS#8, a key from configuration). Never shown."""

    __tablename__ = "online_signing_credential"

    id: Mapped[int] = mapped_column(primary_key=True)
    professional_id: Mapped[int] = mapped_column(ForeignKey("professional.id"), unique=True)
    certificate_pem: Mapped[str] = mapped_column(Text)
    key_encrypted_pem: Mapped[str] = mapped_column(Text)
    serial: Mapped[str] = mapped_column(String(64))
    not_after: Mapped[datetime] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
