"""Reading a lot: N individually signed FSE elements in an (unsigned) envelope.

An unreadable or invalid lot is refused whole (:class:`LotError`: a negative ARL); otherwise
each FSE is verified (signature) and validated (fse.xsd, on the signed content)
independently, so a bad FSE rejects only itself.
"""

from __future__ import annotations

import hashlib
import logging
from collections import Counter
from dataclasses import dataclass
from datetime import datetime

from lxml import etree

from amelipro.xmlcore import errors
from amelipro.xmlcore.safe import DEFAULT_LIMITS, ParseLimits, parse_untrusted
from amelipro.xmlcore.schemas import (
    FSE_NS,
    FSE_TAG,
    LOT_NS,
    LOT_TAG,
    SchemaRegistry,
    XmlIssue,
    element_path,
    fse_schema_name,
    get_registry,
)
from amelipro.xmlcore.signature import (
    _ID_XPATH_SELF,
    VerifyPolicy,
    VerifyResult,
    verify_signed_element,
)

L = f"{{{LOT_NS}}}"
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class LotHeader:
    """The lot's envelope, as declared by the sender (the lot is not signed: informative)."""

    number: str
    created_at: datetime | None
    sender_rpps: str
    software: str
    declared_count: int


@dataclass(frozen=True)
class FseOutcome:
    """One FSE of a lot: verified and schema-valid (``ok``), or its errors."""

    position: int  # 1-based rank in the lot
    element_id: str | None
    line: int | None  # line of the FSE element in the received document
    verified: VerifyResult | None  # None when the signature was refused
    errors: tuple[XmlIssue, ...]

    @property
    def ok(self) -> bool:
        return self.verified is not None and not self.errors

    @property
    def signed(self) -> etree._Element | None:
        """The verified signed content (the only tree to read), or None."""
        return self.verified.signed if self.verified is not None else None


@dataclass(frozen=True)
class LotReading:
    lot_id: str | None
    header: LotHeader | None  # None when the document is a single FSE
    digest: str  # SHA-256 (hex) of the received bytes
    outcomes: tuple[FseOutcome, ...]

    @property
    def single(self) -> bool:
        return self.header is None


def read_lot(data: bytes, policy: VerifyPolicy, *, limits: ParseLimits = DEFAULT_LIMITS,
             registry: SchemaRegistry | None = None, now: datetime | None = None,
             accept_single_fse: bool = True) -> LotReading:
    """Parse, validate and verify a lot (or a single FSE when ``accept_single_fse``).

    Raises :class:`amelipro.xmlcore.errors.LotError` (every lot-level error, an
    :class:`XmlIssue` each, ``.issues``) when the lot is refused whole.
    """
    digest = hashlib.sha256(data).hexdigest()
    registry = registry or get_registry()
    try:
        root = parse_untrusted(data, limits)
    except errors.UnsafeXmlError as exc:
        raise errors.LotError([XmlIssue.from_error(exc)]) from None
    if root.tag == FSE_TAG and accept_single_fse:
        outcome = _read_fse(root, 1, registry, policy, now, duplicates=frozenset())
        return LotReading(root.get("Id"), None, digest, (outcome,))
    if root.tag != LOT_TAG:
        raise errors.LotError([XmlIssue.of(
            errors.UNEXPECTED_ROOT, f"élément racine « {etree.QName(root).localname} » "
            f"({etree.QName(root).namespace or 'sans espace de noms'})", "/" + etree.QName(root).localname,
            root.sourceline,
        )])
    issues = registry.validate(root, "lot")
    if issues:
        raise errors.LotError(issues)
    children = [c for c in root if isinstance(c.tag, str)]
    header_el, items = children[0], children[1:]
    foreign = [c for c in items if c.tag != FSE_TAG]
    lot_errors = [
        XmlIssue.of(errors.LOT_NOT_FSE, etree.QName(c).localname, element_path(c, root), c.sourceline)
        for c in foreign
    ]
    header = _header(header_el)
    if header.declared_count != len(items):
        count_el = header_el.find(f"{L}NombreFSE")
        lot_errors.append(XmlIssue.of(
            errors.LOT_COUNT, f"annoncé {header.declared_count}, reçu {len(items)}",
            element_path(count_el, root), count_el.sourceline,
        ))
    if lot_errors:
        raise errors.LotError(lot_errors)
    ids = Counter(str(v) for v in _ID_XPATH_SELF(root))
    duplicates = frozenset(v for v, n in ids.items() if n > 1)
    outcomes = tuple(
        _read_fse(el, pos, registry, policy, now, duplicates) for pos, el in enumerate(items, 1)
    )
    return LotReading(root.get("Id"), header, digest, outcomes)


def _read_fse(element: etree._Element, position: int, registry: SchemaRegistry,
              policy: VerifyPolicy, now: datetime | None, duplicates: frozenset[str]) -> FseOutcome:
    element_id = element.get("Id")
    line = element.sourceline
    if duplicates and any(str(v) in duplicates for v in _ID_XPATH_SELF(element)):
        dup = next(str(v) for v in _ID_XPATH_SELF(element) if str(v) in duplicates)
        issue = XmlIssue.of(errors.SIG_DUPLICATE_ID, dup, "/FSE", line)
        return FseOutcome(position, element_id, line, None, (issue,))
    try:
        verified = verify_signed_element(element, policy, now=now)
    except errors.SignatureError as exc:
        issue = XmlIssue.from_error(exc)
        if issue.path is None:
            issue = XmlIssue(issue.code, issue.message, issue.hint, issue.detail, "/FSE",
                             issue.line or line)
        return FseOutcome(position, element_id, line, None, (issue,))
    except Exception:  # never a 5xx for a received document: logged, refused
        log.exception("unexpected error verifying FSE %s (rank %s)", element_id, position)
        issue = XmlIssue.of(errors.SIG_MALFORMED, "vérification impossible", "/FSE", line)
        return FseOutcome(position, element_id, line, None, (issue,))
    try:
        issues = registry.validate(verified.signed, fse_schema_name(verified.signed),
                                   line_of=verified.line_of)
    except Exception:  # pragma: no cover - defensive, as above
        log.exception("unexpected error validating FSE %s (rank %s)", element_id, position)
        issues = [XmlIssue.of(errors.XSD_INVALID, "validation impossible", "/FSE", line)]
    return FseOutcome(position, element_id, line, verified, tuple(issues))


def _header(el: etree._Element) -> LotHeader:
    def text(path: str) -> str:
        return (el.findtext(path) or "").strip()

    created = text(f"{L}DateCreation")
    try:
        created_at = datetime.fromisoformat(created.replace("Z", "+00:00"))
    except ValueError:
        created_at = None
    return LotHeader(
        number=text(f"{L}Numero"),
        created_at=created_at,
        sender_rpps=text(f"{L}Emetteur/{L}RPPS"),
        software=text(f"{L}Emetteur/{L}Logiciel"),
        declared_count=int(text(f"{L}NombreFSE") or 0),
    )


__all__ = ["FSE_NS", "FseOutcome", "LotHeader", "LotReading", "read_lot"]
