"""The acknowledgement (ARL, urn:amelipro:arl:1): build it (gateway), sign it with the
gateway key, and read it back (practice-software client)."""

from __future__ import annotations

import enum
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from cryptography import x509
from lxml import etree

from amelipro.xmlcore.pki import PrivateKey
from amelipro.xmlcore.safe import DEFAULT_LIMITS, ParseLimits, parse_untrusted
from amelipro.xmlcore.schemas import ARL_NS, ARL_TAG, XmlIssue
from amelipro.xmlcore.signature import sign_document

A = f"{{{ARL_NS}}}"


class ArlStatus(enum.StrEnum):
    POSITIVE = "positif"
    NEGATIVE = "negatif"


class FseStatus(enum.StrEnum):
    ACCEPTED = "acceptee"
    REJECTED = "rejetee"
    DUPLICATE = "doublon"  # identical FSE already received: ``reference`` names the original


#: An ARL error is the XML core's one error shape: code, message, hint, detail, path, line.
ArlError = XmlIssue


class CountsByStatus:
    """A lot's FSE counted by status: the one owner of these counts, for the ARL's summary
    (:class:`Arl`) and the gateway's report (``fse/reports.LotReport``), whose FSE carry
    statuses of the same values (``acceptee``, ``rejetee``, ``doublon``)."""

    fses: tuple[Any, ...]  # each with a ``status``

    def _count(self, status: FseStatus) -> int:
        return sum(1 for f in self.fses if f.status == status)

    @property
    def accepted(self) -> int:
        return self._count(FseStatus.ACCEPTED)

    @property
    def rejected(self) -> int:
        return self._count(FseStatus.REJECTED)

    @property
    def duplicates(self) -> int:
        return self._count(FseStatus.DUPLICATE)


@dataclass(frozen=True)
class ArlFse:
    position: int  # 1-based rank in the lot
    status: FseStatus
    fse_id: str | None = None
    invoice_number: str | None = None
    reference: str | None = None  # gateway reference (or the original's, for a duplicate)
    errors: tuple[ArlError, ...] = ()
    second_acts: tuple[int, ...] = ()  # lines flagged as a distinct second act of the day


@dataclass(frozen=True)
class Arl(CountsByStatus):
    arl_id: str
    status: ArlStatus
    lot_digest: str  # SHA-256 hex of the received bytes
    issued_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    lot_number: str | None = None
    lot_reference: str | None = None  # the gateway's id for the lot
    errors: tuple[ArlError, ...] = ()  # lot-level (negative ARL)
    fses: tuple[ArlFse, ...] = ()


def negative_arl(arl_id: str, lot_digest: str, errors: Iterable[ArlError | XmlIssue | Mapping[str, Any]],
                 *, lot_number: str | None = None, issued_at: datetime | None = None) -> Arl:
    return Arl(arl_id, ArlStatus.NEGATIVE, lot_digest, issued_at or datetime.now(UTC), lot_number,
               None, tuple(ArlError.from_any(e) for e in errors), ())


def positive_arl(arl_id: str, lot_digest: str, fses: Iterable[ArlFse], *,
                 lot_number: str | None = None, lot_reference: str | None = None,
                 issued_at: datetime | None = None) -> Arl:
    return Arl(arl_id, ArlStatus.POSITIVE, lot_digest, issued_at or datetime.now(UTC), lot_number,
               lot_reference, (), tuple(fses))


def _ts(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _text(value: object, limit: int = 2000) -> str:
    """Text safe in XML (an error detail may quote what was received), at most ``limit``."""
    text = str(value)
    if text.isascii() and text.isprintable():  # nothing to replace (most ids and numbers)
        return text[:limit]
    return _NOT_XML.sub("\ufffd", text)[:limit]


def _error_element(parent: etree._Element, error: ArlError) -> None:
    el = etree.SubElement(parent, f"{A}Erreur", code=error.code)
    if error.path:
        el.set("chemin", _text(error.path))
    if error.line and int(error.line) > 0:
        el.set("ligne", str(int(error.line)))
    etree.SubElement(el, f"{A}Message").text = _text(error.message)
    if error.hint:
        etree.SubElement(el, f"{A}Conseil").text = _text(error.hint)
    if error.detail:
        etree.SubElement(el, f"{A}Detail").text = _text(error.detail)


def build_arl(arl: Arl) -> etree._Element:
    """The ARL element (unsigned), valid against arl.xsd."""
    root = etree.Element(ARL_TAG, nsmap={None: ARL_NS}, Id=arl.arl_id, version="1")
    etree.SubElement(root, f"{A}DateEmission").text = _ts(arl.issued_at)
    lot = etree.SubElement(root, f"{A}Lot")
    if arl.lot_number:
        etree.SubElement(lot, f"{A}Numero").text = _text(arl.lot_number)
    etree.SubElement(lot, f"{A}Empreinte").text = arl.lot_digest
    if arl.lot_reference:
        etree.SubElement(lot, f"{A}Reference").text = _text(arl.lot_reference)
    etree.SubElement(root, f"{A}Statut").text = arl.status.value
    etree.SubElement(
        root, f"{A}Resume", fse=str(len(arl.fses)), acceptees=str(arl.accepted),
        rejetees=str(arl.rejected), doublons=str(arl.duplicates),
    )
    if arl.errors:
        errs = etree.SubElement(root, f"{A}Erreurs")
        for error in arl.errors:
            _error_element(errs, error)
    if arl.fses:
        fses = etree.SubElement(root, f"{A}FSEs")
        for item in arl.fses:
            el = etree.SubElement(fses, f"{A}FSE", rang=str(item.position), statut=item.status.value)
            if item.fse_id:
                el.set("id", _text(item.fse_id))
            if item.invoice_number:
                el.set("numeroFacture", _text(item.invoice_number))
            if item.reference:
                el.set("reference", _text(item.reference))
            if item.second_acts:
                el.set("secondsActes", " ".join(str(n) for n in item.second_acts))
            for error in item.errors:
                _error_element(el, error)
    return root


def arl_bytes(arl: Arl, key: PrivateKey | None = None, cert: x509.Certificate | None = None) -> bytes:
    """The ARL document, signed with the gateway key when ``key`` and ``cert`` are given."""
    element = build_arl(arl)
    if key is not None and cert is not None:
        element = sign_document(element, key, cert)
    return etree.tostring(element, xml_declaration=True, encoding="UTF-8")


def read_arl(data: bytes, limits: ParseLimits = DEFAULT_LIMITS) -> Arl:
    """Read an ARL (client side). Raises :class:`UnsafeXmlError`, or ValueError when the
    document is not an ARL. Verify its signature with
    :func:`amelipro.xmlcore.signature.verify_document` to rely on it."""
    root = parse_untrusted(data, limits)
    return arl_from_element(root)


def arl_from_element(root: etree._Element) -> Arl:
    if root.tag != ARL_TAG:
        raise ValueError("not an ARL document")

    def errors_of(parent: etree._Element | None) -> tuple[ArlError, ...]:
        if parent is None:
            return ()
        return tuple(
            ArlError(
                e.get("code", ""), e.findtext(f"{A}Message") or "", e.findtext(f"{A}Conseil") or "",
                e.findtext(f"{A}Detail") or "", e.get("chemin"),
                int(e.get("ligne")) if e.get("ligne") else None,
            )
            for e in parent.findall(f"{A}Erreur")
        )

    issued = root.findtext(f"{A}DateEmission") or ""
    fses = tuple(
        ArlFse(
            position=int(f.get("rang", "0")), status=FseStatus(f.get("statut")), fse_id=f.get("id"),
            invoice_number=f.get("numeroFacture"), reference=f.get("reference"), errors=errors_of(f),
            second_acts=tuple(int(n) for n in (f.get("secondsActes") or "").split() if n.isdigit()),
        )
        for f in root.iterfind(f"{A}FSEs/{A}FSE")
    )
    return Arl(
        arl_id=root.get("Id", ""),
        status=ArlStatus(root.findtext(f"{A}Statut")),
        lot_digest=root.findtext(f"{A}Lot/{A}Empreinte") or "",
        issued_at=datetime.fromisoformat(issued.replace("Z", "+00:00")) if issued else datetime.now(UTC),
        lot_number=root.findtext(f"{A}Lot/{A}Numero"),
        lot_reference=root.findtext(f"{A}Lot/{A}Reference"),
        errors=errors_of(root.find(f"{A}Erreurs")),
        fses=fses,
    )
