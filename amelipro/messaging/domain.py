"""Pure rules of the messagerie: categories, boxes, outcomes, text and attachment checks.

No Flask, no database. Attachment types are read from the content (``puremagic``), never
from the name or the type the browser declares.
"""

from __future__ import annotations

import enum
import re
import unicodedata
from dataclasses import dataclass
from decimal import Decimal

import puremagic

from amelipro.errors import AmeliproError
from amelipro.messaging import errors

MAX_SUBJECT = 200
MAX_BODY = 20_000  # characters
MAX_ATTACHMENT_BYTES = 5 * 1024 * 1024
MAX_ATTACHMENTS = 5
MAX_GRANT = Decimal("100000.00")


class Category(enum.StrEnum):
    QUESTION = "question"
    PAYMENT_COMPLAINT = "reclamation_paiement"
    PROBLEM = "probleme"
    INFORMATION = "information"
    PENALTY_CLAIM = "penalites"  # opened from the penalties page only

    @property
    def label(self) -> str:
        return CATEGORY_LABELS[self]

    @property
    def payable(self) -> bool:
        """Closing it as « accordée » records an adjustment owed to the professional."""
        return self in (Category.PAYMENT_COMPLAINT, Category.PENALTY_CLAIM)


CATEGORY_LABELS = {
    Category.QUESTION: "Question",
    Category.PAYMENT_COMPLAINT: "Réclamation paiement",
    Category.PROBLEM: "Signaler un problème",
    Category.INFORMATION: "Demande d'information",
    Category.PENALTY_CLAIM: "Réclamation de pénalités de retard",
}
# What a professional may choose when writing freely (the penalty claim has its own button).
FREE_CATEGORIES = (Category.QUESTION, Category.PAYMENT_COMPLAINT, Category.PROBLEM, Category.INFORMATION)


class ThreadStatus(enum.StrEnum):
    OPEN = "ouverte"  # waiting for the caisse
    WAITING_PRO = "attente_pro"  # the caisse answered: waiting for the professional
    CLOSED = "close"

    @property
    def label(self) -> str:
        return {"ouverte": "En attente de la caisse", "attente_pro": "Réponse de la caisse",
                "close": "Close"}[self.value]


class Outcome(enum.StrEnum):
    GRANTED = "accordee"
    REFUSED = "refusee"
    HANDLED = "traitee"

    @property
    def label(self) -> str:
        return {"accordee": "Accordée", "refusee": "Refusée", "traitee": "Traitée"}[self.value]


class Side(enum.StrEnum):
    PROFESSIONAL = "pro"
    CAISSE = "caisse"


class Box(enum.StrEnum):
    """The caisse inbox's boxes."""

    UNASSIGNED = "non_attribuees"
    MINE = "les_miennes"
    WAITING_PRO = "attente_pro"
    CLOSED = "closes"

    @property
    def label(self) -> str:
        return {"non_attribuees": "Non attribuées", "les_miennes": "Les miennes",
                "attente_pro": "Attente du professionnel", "closes": "Closes"}[self.value]


def parse_category(raw: str | None, *, allowed=FREE_CATEGORIES) -> Category:
    try:
        category = Category((raw or "").strip())
    except ValueError:
        raise AmeliproError(errors.CATEGORY_INVALID, (raw or "")[:40]) from None
    if category not in allowed:
        raise AmeliproError(errors.CATEGORY_INVALID, category.value)
    return category


_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def clean_subject(raw: str | None) -> str:
    text = " ".join(_CONTROL.sub(" ", raw or "").split())
    if not text or len(text) > MAX_SUBJECT:
        raise AmeliproError(errors.SUBJECT_INVALID)
    return text


def clean_body(raw: str | None) -> str:
    """The message as typed (stored and always shown as text), control characters removed."""
    text = (raw or "").replace("\r\n", "\n").replace("\r", "\n")
    if len(text) > MAX_BODY:
        raise AmeliproError(errors.BODY_TOO_LONG, f"{len(text)} caractères")
    text = _CONTROL.sub("", text).strip()
    if not text:
        raise AmeliproError(errors.BODY_EMPTY)
    return text


# --- attachments ------------------------------------------------------------------------

ALLOWED_TYPES = {"application/pdf": "pdf", "image/png": "png", "image/jpeg": "jpg"}


@dataclass(frozen=True)
class CheckedFile:
    filename: str
    content_type: str
    data: bytes


def safe_filename(raw: str | None, extension: str) -> str:
    """A display name without path, control or shell-special characters, ending in the
    extension of the detected type (``../../etc/passwd`` -> ``passwd.pdf``)."""
    name = unicodedata.normalize("NFC", raw or "")
    name = re.split(r"[\\/]", name)[-1]
    name = _CONTROL.sub("", name)
    name = re.sub(r'[<>:"|?*;\x80-\x9f]', "_", name).strip(" .")
    stem = name.rsplit(".", 1)[0] if "." in name else name
    stem = stem.strip(" .")[:100] or "piece-jointe"
    return f"{stem}.{extension}"


def detect_type(data: bytes) -> str:
    """The MIME type read from the content, or ``""`` when unknown."""
    try:
        return puremagic.from_string(data, mime=True) or ""
    except (puremagic.PureError, ValueError):
        return ""


def check_attachment(filename: str | None, data: bytes) -> CheckedFile:
    if not data:
        raise AmeliproError(errors.ATTACHMENT_EMPTY, safe_filename(filename, "bin"))
    if len(data) > MAX_ATTACHMENT_BYTES:
        raise AmeliproError(errors.ATTACHMENT_TOO_LARGE, f"{len(data)} octets")
    detected = detect_type(data)
    if detected not in ALLOWED_TYPES:
        raise AmeliproError(errors.ATTACHMENT_TYPE, f"type détecté : {detected or 'inconnu'}",
                            detected=detected or None)
    return CheckedFile(safe_filename(filename, ALLOWED_TYPES[detected]), detected, data)


def check_attachments(files: list[tuple[str | None, bytes]]) -> list[CheckedFile]:
    files = [(name, data) for name, data in files if name or data]
    if len(files) > MAX_ATTACHMENTS:
        raise AmeliproError(errors.TOO_MANY_ATTACHMENTS, f"{len(files)} fichiers")
    return [check_attachment(name, data) for name, data in files]


def parse_amount(raw: str | None) -> Decimal:
    text = (raw or "").strip().replace("\u202f", "").replace("\xa0", "").replace(" ", "").replace("€", "")
    text = text.replace(",", ".")
    if not re.fullmatch(r"\d{1,6}(\.\d{1,2})?", text):
        raise AmeliproError(errors.AMOUNT_INVALID, text[:20])
    amount = Decimal(text)
    if amount <= 0 or amount > MAX_GRANT:
        raise AmeliproError(errors.AMOUNT_INVALID, text[:20])
    return amount.quantize(Decimal("0.01"))


def patient_initials(first_name: str, last_name: str) -> str:
    parts = [p for p in (first_name.strip()[:1], last_name.strip()[:1]) if p]
    return ". ".join(p.upper() for p in parts) + "." if parts else "non communiquées"
