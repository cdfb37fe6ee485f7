"""Reading a lot: N individually signed FSE elements in an (unsigned) envelope.

An unreadable or invalid lot is refused whole (:class:`LotError`: a negative ARL); otherwise
each FSE is verified (signature) and validated (fse.xsd, on the signed content)
independently, so a bad FSE rejects only itself.
"""

from __future__ import annotations

import hashlib
import logging
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import TypeVar

from lxml import etree

from amelipro.xmlcore import errors
from amelipro.xmlcore.safe import (
    DEFAULT_LIMITS,
    XINCLUDE_NAMESPACES,
    ParseLimits,
    iterparse_untrusted,
    parse_untrusted,
)
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
from amelipro.xmlcore.signature import VerifyPolicy, VerifyResult, verify_signed_element
from amelipro.xmlcore.signature_policy import ID_VALUES, ID_XPATH

L = f"{{{LOT_NS}}}"
T = TypeVar("T")
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
    :class:`XmlIssue` each, ``.issues``) when the lot is refused whole. The whole tree is kept
    (each outcome's ``verified.source``): :func:`read_lot_each` reads a lot FSE by FSE.
    """
    envelope, outcomes = _read_whole(data, policy, limits, registry or get_registry(), now,
                                     accept_single_fse, _keep, release=False)
    return replace(envelope, outcomes=tuple(outcomes))


def read_lot_each(data: bytes, policy: VerifyPolicy, visit: Callable[[FseOutcome], T], *,
                  limits: ParseLimits = DEFAULT_LIMITS, registry: SchemaRegistry | None = None,
                  now: datetime | None = None, accept_single_fse: bool = True) -> tuple[LotReading, list[T]]:
    """:func:`read_lot`, FSE by FSE: ``visit(outcome)`` for each FSE in the lot's order, its
    result kept; the lot (``outcomes`` empty) and the results. The same answers as
    :func:`read_lot` (the same ``LotError``, the same outcomes).

    A lot is read as it is parsed (lxml ``iterparse``): each FSE's element is emptied once
    visited, so that the whole tree is never in memory (``visit`` must not keep the
    outcome's elements). The lot-level checks are made on what remains (the envelope, the
    emptied FSE elements and the text between them). Anything unusual at the lot level (a
    syntax error, a construct the safe parser refuses, an invalid envelope, a foreign
    element, a wrong count, an Id twice) and the lot is read again whole, as by
    :func:`read_lot`, whose answer is given (the results of the first reading are dropped).
    """
    registry = registry or get_registry()
    if isinstance(data, bytes) and 0 < len(data) <= limits.max_bytes:
        try:
            return _read_streaming(data, policy, visit, limits, registry, now)
        except _Unusual:
            pass
    return _read_whole(data, policy, limits, registry, now, accept_single_fse, visit, release=True)


def read_lot_share(data: bytes, policy: VerifyPolicy, visit: Callable[[FseOutcome], T], share: tuple[int, int], *,
                   limits: ParseLimits = DEFAULT_LIMITS, registry: SchemaRegistry | None = None,
                   now: datetime | None = None) -> tuple[LotReading, list[T | None]] | None:
    """:func:`read_lot_each` for one share of a lot's FSE, so that processes can read a lot
    together: with ``share = (index, count)``, the FSE at positions ``p`` such that
    ``(p - 1) % count == index`` are verified and visited; the others are left ``None`` (the
    other processes' shares). Every lot-level check is made as by :func:`read_lot_each`.

    None when the lot is not read in shares: anything unusual at the lot level (where
    :func:`read_lot_each` reads the lot again whole), a visit that fails, or a lot that is
    not a lot. The caller then reads it with :func:`read_lot_each`, whose answer counts."""
    index, count = share
    if not 0 <= index < count or not isinstance(data, bytes) or not 0 < len(data) <= limits.max_bytes:
        return None
    try:
        return _read_streaming(data, policy, visit, limits, registry or get_registry(), now, share)
    except _Unusual:
        return None


def _keep(outcome: FseOutcome) -> FseOutcome:
    return outcome


class _Unusual(Exception):
    """The streaming reading stops: the lot is read whole (:func:`_read_whole`)."""


def _read_whole(data: bytes, policy: VerifyPolicy, limits: ParseLimits, registry: SchemaRegistry,
                now: datetime | None, accept_single_fse: bool, visit: Callable[[FseOutcome], T], *,
                release: bool) -> tuple[LotReading, list[T]]:
    """The whole tree parsed, the lot-level checks, then each FSE visited (emptied after its
    visit when ``release``)."""
    digest = hashlib.sha256(data).hexdigest()
    try:
        root = parse_untrusted(data, limits)
    except errors.UnsafeXmlError as exc:
        raise errors.LotError([XmlIssue.from_error(exc)]) from None
    if root.tag == FSE_TAG and accept_single_fse:
        outcome = _read_fse(root, 1, registry, policy, now, duplicates=frozenset())
        return LotReading(root.get("Id"), None, digest, ()), [visit(outcome)]
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
    ids = Counter(ID_VALUES(root))
    duplicates = frozenset(v for v, n in ids.items() if n > 1)
    results = []
    for pos, el in enumerate(items, 1):
        results.append(visit(_read_fse(el, pos, registry, policy, now, duplicates)))
        if release:
            el.clear(keep_tail=True)
    return LotReading(root.get("Id"), header, digest, ()), results


_HEADER_TAG = f"{L}Entete"
_STREAMED_TAGS = (LOT_TAG, _HEADER_TAG, FSE_TAG)  # the parser's events: these elements and PIs


def _read_streaming(data: bytes, policy: VerifyPolicy, visit: Callable[[FseOutcome], T],
                    limits: ParseLimits, registry: SchemaRegistry, now: datetime | None,
                    share: tuple[int, int] = (0, 1)) -> tuple[LotReading, list[T]]:
    """A lot read as it is parsed; raises :class:`_Unusual` at the first doubt (then the
    whole reading answers). Each FSE is visited at its end tag, then emptied; the lot's
    element keeps its envelope, the emptied FSE elements and the text around them, on which
    the lot schema is checked at the end (the FSE are ``processContents="skip"`` there).
    ``share``: the FSE visited (:func:`read_lot_share`); the others are checked as parts of
    the lot and left ``None``.

    What the safe parser refuses is looked for where a lot can hold it: processing
    instructions anywhere (the parser's events), a doctype, and in the header and each FSE
    (the lot's only children, else the lot is unusual) an element too deep or an XInclude."""
    if limits.max_depth < 3:
        raise _Unusual
    digest = hashlib.sha256(data).hexdigest()
    index, count = share
    parser = iterparse_untrusted(data, ("start", "end", "pi"), _STREAMED_TAGS)
    scan = _scan(limits.max_depth - 1)  # from a child of the lot: deeper than max_depth
    root: etree._Element | None = None
    header_el: etree._Element | None = None
    ids: Counter[str] = Counter()
    results: list[T] = []
    try:
        for event, el in parser:
            if event == "pi":
                raise _Unusual
            if root is None:  # the first element's start: the lot's
                if event != "start" or el.getparent() is not None or el.tag != LOT_TAG \
                        or _has_doctype(el.getroottree().docinfo):
                    raise _Unusual
                root = el
                continue
            if event == "start" or el.getparent() is not root:
                continue  # an FSE's end is read at its end; nested ones are the FSE's business
            found = scan(el)  # its Id values (strings); an element too deep or an XInclude
            if any(not isinstance(value, str) for value in found):
                raise _Unusual
            if header_el is None:  # the first child: the envelope's header, kept
                if el.tag != _HEADER_TAG:
                    raise _Unusual
                header_el = el
                continue
            if el.tag != FSE_TAG:
                raise _Unusual
            ids.update(found)
            if len(results) % count != index:
                results.append(None)  # another share's
                el.clear(keep_tail=True)
                continue
            outcome = _read_fse(el, len(results) + 1, registry, policy, now, duplicates=frozenset())
            try:
                results.append(visit(outcome))
            except Exception:
                raise _Unusual from None  # the whole reading decides: a lot error, or the same again
            del outcome
            el.clear(keep_tail=True)
    except etree.XMLSyntaxError:
        raise _Unusual from None
    if root is None or _has_doctype(root.getroottree().docinfo) or any(
            isinstance(s, etree._ProcessingInstruction)
            for s in (*root.itersiblings(preceding=True), *root.itersiblings())):
        raise _Unusual
    if not registry.is_valid(root, "lot"):
        raise _Unusual
    children = [c for c in root if isinstance(c.tag, str)]
    header_el = children[0]
    if header_el.tag != _HEADER_TAG or any(c.tag != FSE_TAG for c in children[1:]):
        raise _Unusual
    header = _header(header_el)
    if header.declared_count != len(children) - 1 or len(results) != len(children) - 1:
        raise _Unusual
    ids.update(ID_VALUES(root))  # the envelope's (the FSE are emptied)
    if any(n > 1 for n in ids.values()):
        raise _Unusual
    return LotReading(root.get("Id"), header, digest, ()), results


_SCANS: dict[int, etree.XPath] = {}


def _scan(levels: int) -> etree.XPath:
    """One pass over an element (one XPath, compiled once per depth): its Id values, as
    strings (:data:`ID_VALUES`), and, as elements, its XInclude elements and its
    descendants ``levels`` below it (any element means the lot is unusual)."""
    found = _SCANS.get(levels)
    if found is None:
        namespaces = {f"xi{i}": uri for i, uri in enumerate(XINCLUDE_NAMESPACES)}
        found = _SCANS[levels] = etree.XPath(
            " | ".join([ID_XPATH, *(f"descendant-or-self::{prefix}:*" for prefix in namespaces),
                        "/".join(["*"] * levels)]),
            namespaces=namespaces, smart_strings=False,
        )
    return found


def _has_doctype(info) -> bool:
    return bool(info.doctype) or info.internalDTD is not None or info.externalDTD is not None


def _read_fse(element: etree._Element, position: int, registry: SchemaRegistry,
              policy: VerifyPolicy, now: datetime | None, duplicates: frozenset[str]) -> FseOutcome:
    element_id = element.get("Id")
    line = element.sourceline
    dup = next((v for v in ID_VALUES(element) if v in duplicates), None) if duplicates else None
    if dup is not None:
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


__all__ = ["FSE_NS", "FseOutcome", "LotHeader", "LotReading", "read_lot", "read_lot_each", "read_lot_share"]
