"""What a valid signature is (:class:`VerifyPolicy`, the profile's algorithms) and what a
verification returns (:class:`VerifyResult`), with the tree helpers every verifier shares."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from cryptography import x509
from lxml import etree
from signxml import (
    CanonicalizationMethod,
    DigestAlgorithm,
    SignatureConstructionMethod,
    SignatureMethod,
)

from amelipro.xmlcore import errors
from amelipro.xmlcore.schemas import DS_NS, FSE_TAG
from amelipro.xmlcore.signature_trust import TrustStore, trust_store_for

DS = f"{{{DS_NS}}}"
SIGNATURE_TAG = f"{DS}Signature"
SIGNING_TIME_ATTRIBUTE = "dateSignature"
ID_ATTRIBUTES = ("Id", "ID", "id")
#: The Id attributes (Id, ID or id, in any namespace) of an element and its descendants, in
#: document order; the cheap predicate (two-letter names) first, so that the names are
#: compared for a few attributes only. The expression, for readers that join it to others.
ID_XPATH = ("descendant-or-self::*/@*[string-length(local-name())=2]"
            f"[{' or '.join(f'local-name()={name!r}' for name in ID_ATTRIBUTES)}]")
#: Their values (plain strings).
ID_VALUES = etree.XPath(ID_XPATH, smart_strings=False)
MAX_CERTIFICATES = 5  # the signer's certificate and its intermediates

ALLOWED_SIGNATURE_METHODS: frozenset[SignatureMethod] = frozenset({
    SignatureMethod.RSA_SHA256, SignatureMethod.RSA_SHA384, SignatureMethod.RSA_SHA512,
    SignatureMethod.ECDSA_SHA256, SignatureMethod.ECDSA_SHA384, SignatureMethod.ECDSA_SHA512,
})
ALLOWED_DIGESTS: frozenset[DigestAlgorithm] = frozenset({
    DigestAlgorithm.SHA256, DigestAlgorithm.SHA384, DigestAlgorithm.SHA512,
})
ALLOWED_C14N: frozenset[str] = frozenset({
    CanonicalizationMethod.EXCLUSIVE_XML_CANONICALIZATION_1_0.value,
    CanonicalizationMethod.CANONICAL_XML_1_0.value,
    CanonicalizationMethod.CANONICAL_XML_1_1.value,
})
ENVELOPED = SignatureConstructionMethod.enveloped.value
EXCLUSIVE_C14N_PREFIX = "http://www.w3.org/2001/10/xml-exc-c14n#"
EC_NS = "http://www.w3.org/2001/10/xml-exc-c14n#"
DSIG11_NS = "http://www.w3.org/2009/xmldsig11#"
VERIFIERS = frozenset({"strict", "signxml"})



@dataclass(frozen=True)
class VerifyPolicy:
    """What a valid signature is. Secure defaults; build once (e.g. per app) and reuse."""

    trust_store: TrustStore
    signature_methods: frozenset[SignatureMethod] = ALLOWED_SIGNATURE_METHODS
    digest_algorithms: frozenset[DigestAlgorithm] = ALLOWED_DIGESTS
    c14n_methods: frozenset[str] = ALLOWED_C14N
    signed_tag: str = FSE_TAG  # the element a signature must cover
    signing_time_attribute: str | None = SIGNING_TIME_ATTRIBUTE  # None: verify at "now"
    max_signature_age: timedelta = timedelta(days=90)
    clock_skew: timedelta = timedelta(minutes=5)
    require_crl: bool = True
    require_rpps: bool = True
    verifier: str = "strict"  # VERIFIERS: "strict" (lxml C14N + cryptography) or "signxml" (the reference)

    def __post_init__(self) -> None:
        if self.verifier not in VERIFIERS:
            raise ValueError(f"unknown signature verifier {self.verifier!r} (expected one of {sorted(VERIFIERS)})")

    @classmethod
    def from_config(cls, config: Mapping[str, Any], **overrides: Any) -> VerifyPolicy:
        """From app settings: ``TRUST_STORE_DIR`` (and optional ``SIGNATURE_MAX_AGE_DAYS``)."""
        store = trust_store_for(config["TRUST_STORE_DIR"])
        if "SIGNATURE_MAX_AGE_DAYS" in config and "max_signature_age" not in overrides:
            overrides["max_signature_age"] = timedelta(days=int(config["SIGNATURE_MAX_AGE_DAYS"]))
        if "SIGNATURE_VERIFIER" in config and "verifier" not in overrides:
            overrides["verifier"] = str(config["SIGNATURE_VERIFIER"])
        return cls(trust_store=store, **overrides)


@dataclass(frozen=True)
class VerifyResult:
    """A verified signature. Read ``signed`` only: the content as signed, signature excised."""

    signed: etree._Element
    certificate: x509.Certificate
    rpps: str | None
    signing_time: datetime
    element_id: str
    signature_method: str
    source: etree._Element = field(repr=False, compare=False)  # for line numbers only

    def line_of(self, element: etree._Element) -> int | None:
        """Line, in the received document, of an element of ``signed``.

        The signed content and the received element have the same elements in the same
        order (the digest proves it; the signature is the last child), so the n-th element
        of one is the n-th of the other."""
        i = next((n for n, e in enumerate(self.signed.iter(etree.Element)) if e is element), None)
        if i is None:
            return None
        source = getattr(self, "_source_elements", None)
        if source is None:
            source = list(self.source.iter(etree.Element))
            object.__setattr__(self, "_source_elements", source)
        return source[i].sourceline if i < len(source) else None


def the_signature(element: etree._Element) -> etree._Element:
    """The one ``ds:Signature`` of ``element``, its last direct child (else FSE-SIG-001, -002 or -011)."""
    signatures = list(element.iter(SIGNATURE_TAG))
    if not signatures:
        raise errors.SignatureError(errors.SIG_MISSING, line=element.sourceline)
    if len(signatures) > 1:
        raise errors.SignatureError(errors.SIG_MULTIPLE, f"{len(signatures)} signatures",
                                    line=signatures[1].sourceline)
    signature = signatures[0]
    if signature.getparent() is not element or next(signature.itersiblings(etree.Element), None) is not None:
        raise errors.SignatureError(errors.SIG_LOCATION, line=signature.sourceline)
    return signature


def drop(node: etree._Element) -> None:
    """Remove ``node`` but keep the text that follows it (lxml's ``remove`` drops its tail)."""
    parent = node.getparent()
    if node.tail:
        previous = node.getprevious()
        if previous is not None:
            previous.tail = (previous.tail or "") + node.tail
        else:
            parent.text = (parent.text or "") + node.tail
    parent.remove(node)


def child(parent: etree._Element, tag: str) -> etree._Element | None:
    """The first child ``tag`` of ``parent`` (``find`` without lxml's path machinery)."""
    return next(parent.iterchildren(tag), None)


def children(parent: etree._Element) -> dict[Any, list[etree._Element]]:
    """The children of ``parent`` by tag, each list in document order: one walk, where each
    ``iterchildren(tag)`` would build a tag matcher (the costlier part of a lookup). Comments,
    PIs and entities are under their factory (``etree.Comment``…), never under a tag string."""
    found: dict[Any, list[etree._Element]] = {}
    for node in parent:
        tag = node.tag
        if tag in found:
            found[tag].append(node)
        else:
            found[tag] = [node]
    return found


def first(found: dict[Any, list[etree._Element]], tag: str) -> etree._Element | None:
    """The first child ``tag`` of what :func:`children` found (as :func:`child` would give)."""
    nodes = found.get(tag)
    return nodes[0] if nodes else None


def one_child(parent: etree._Element, name: str,
              found: dict[Any, list[etree._Element]] | None = None) -> etree._Element:
    """The one ``ds:<name>`` child of ``parent`` (else FSE-SIG-019); ``found``: its
    :func:`children`, when already known."""
    found = list(parent.iterchildren(f"{DS}{name}")) if found is None else found.get(f"{DS}{name}", [])
    if len(found) != 1:
        raise errors.SignatureError(errors.SIG_MALFORMED, f"ds:{name} : {len(found)} trouvé(s)",
                                    line=parent.sourceline)
    return found[0]
