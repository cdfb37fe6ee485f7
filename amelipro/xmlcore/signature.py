"""Verifying enveloped XML-DSig signatures of FSE, with the gateway's rules.

Rules (each failure has its own code, ``amelipro.xmlcore.errors`` FSE-SIG-0xx):
exactly one ``ds:Signature``, the last direct child of the signed element; exactly one
Reference, ``URI="#<Id of the signed element>"``; transforms: enveloped signature and C14N
only; RSA or ECDSA with SHA-256/384/512 (no SHA-1, no HMAC, no DSA); no duplicate Id; the
signer's certificate (first ``X509Certificate``) chains to a CA of the trust store, is valid
at the signing time (attribute ``dateSignature``), is not revoked (CRL ``*.crl.pem`` of the
trust store) and carries an RPPS. Callers read only ``VerifyResult.signed``.

The trust store is loaded once into a :class:`TrustStore`; it keeps one ``Signer`` per
``KeyInfo`` met (certificates parsed, chain, validity bounds, CRL entries, usage and RPPS
computed once), so a lot signed by one professional checks the chain once.

This module is the entry point and keeps every public name of the signature package:
the trust store is in ``signature_trust``, the policy and result in ``signature_policy``,
the strict-profile verifier in ``signature_strict``, signxml (reference verifier and
signing) in ``signature_signxml``.
"""

from __future__ import annotations

import copy
from datetime import UTC, datetime

from lxml import etree
from signxml import SignatureMethod

from amelipro.xmlcore import errors
from amelipro.xmlcore.safe import _parser as _safe_parser
from amelipro.xmlcore.schemas import DS_NS, XmlIssue
from amelipro.xmlcore.signature_policy import (
    ALLOWED_C14N,
    ALLOWED_DIGESTS,
    ALLOWED_SIGNATURE_METHODS,
    DS,
    ENVELOPED,
    ID_VALUES,
    MAX_CERTIFICATES,
    SIGNATURE_TAG,
    SIGNING_TIME_ATTRIBUTE,
    VERIFIERS,
    VerifyPolicy,
    VerifyResult,
    child,
    children,
    drop,
    one_child,
    the_signature,
)
from amelipro.xmlcore.signature_signxml import (
    sign_document,
    sign_fse,
    signxml_verify,
    verify_document,
)
from amelipro.xmlcore.signature_strict import strict_verify
from amelipro.xmlcore.signature_trust import (
    Revocations,
    Signer,
    TrustStore,
    trust_store_for,
)

__all__ = [
    "ALLOWED_C14N", "ALLOWED_DIGESTS", "ALLOWED_SIGNATURE_METHODS", "DS_NS", "SIGNATURE_TAG",
    "SIGNING_TIME_ATTRIBUTE", "VERIFIERS", "Revocations", "TrustStore", "VerifyPolicy",
    "VerifyResult", "check_signer", "sign_document", "sign_fse", "signed_document",
    "trust_store_for", "verify_document", "verify_signed_element",
]

_KEY_INFO, _X509_DATA, _X509_CERTIFICATE = f"{DS}KeyInfo", f"{DS}X509Data", f"{DS}X509Certificate"
# the profile's algorithms by URI (set and dict lookups, not enum constructions, per FSE)
_METHOD_NAMES = {m.value: m.name for m in SignatureMethod}
_URIS: dict[frozenset, frozenset[str]] = {}
_DIGEST_METHOD, _REFERENCE = f"{DS}DigestMethod", f"{DS}Reference"


# --- verification --------------------------------------------------------------------------

def verify_signed_element(element: etree._Element, policy: VerifyPolicy, *,
                          now: datetime | None = None) -> VerifyResult:
    """Verify the enveloped signature of ``element``; raise :class:`SignatureError` (one code)."""
    now = now or datetime.now(UTC)
    if element.tag != policy.signed_tag:
        raise errors.SignatureError(errors.SIG_WRAPPING, f"élément signé inattendu : {etree.QName(element).localname}",
                                    line=element.sourceline)
    signature = the_signature(element)
    parts = children(signature)
    signed_info = one_child(signature, "SignedInfo", parts)
    info_parts = children(signed_info)
    method = _check_algorithms(signed_info, info_parts, policy, signature)
    element_id = _check_reference(element, signed_info, info_parts, policy, signature)
    _check_unique_ids(element, signature)
    signer = _signer(signature, parts, policy.trust_store)
    signing_time = _signing_time(element, policy, now)
    signer.check(signing_time, now, require_crl=policy.require_crl, require_rpps=policy.require_rpps)
    leaf = signer.leaf
    if policy.verifier == "strict":
        signed = strict_verify(element, leaf, policy, signature, (parts, info_parts))
    else:
        signed = signxml_verify(element, leaf, signing_time, policy, signature)
    if signed is None or signed.tag != element.tag or signed.get("Id") != element_id:
        raise errors.SignatureError(errors.SIG_WRAPPING, line=signature.sourceline)
    return VerifyResult(
        signed=signed, certificate=leaf, rpps=signer.rpps, signing_time=signing_time,
        element_id=element_id, signature_method=method, source=element,
    )


def _check_algorithms(signed_info: etree._Element, info_parts, policy: VerifyPolicy, signature) -> str:
    line = signature.sourceline
    method_el = one_child(signed_info, "SignatureMethod", info_parts)
    uri = method_el.get("Algorithm") or ""
    if "hmac" in uri.lower():
        raise errors.SignatureError(errors.SIG_HMAC, uri, line=method_el.sourceline or line)
    if uri not in _uris(policy.signature_methods):
        raise errors.SignatureError(errors.SIG_WEAK_ALGORITHM, uri, line=method_el.sourceline)
    c14n = one_child(signed_info, "CanonicalizationMethod", info_parts).get("Algorithm")
    if c14n not in policy.c14n_methods:
        raise errors.SignatureError(errors.SIG_MALFORMED, f"canonicalisation {c14n}", line=line)
    digests = _uris(policy.digest_algorithms)
    for digest_el in signed_info.iter(_DIGEST_METHOD):
        digest_uri = digest_el.get("Algorithm") or ""
        if digest_uri not in digests:
            raise errors.SignatureError(errors.SIG_WEAK_ALGORITHM, digest_uri, line=digest_el.sourceline)
    return _METHOD_NAMES[uri]


def _uris(members: frozenset) -> frozenset[str]:
    """The URIs of a policy's algorithms (``SignatureMethod``/``DigestAlgorithm`` members),
    computed once per set: a set lookup per FSE instead of an enum construction and hash."""
    found = _URIS.get(members)
    if found is None:
        found = _URIS[members] = frozenset(m.value for m in members)
    return found


def _check_reference(element, signed_info, info_parts, policy: VerifyPolicy, signature) -> str:
    references = info_parts.get(_REFERENCE, [])
    element_id = element.get("Id")
    if len(references) != 1 or not element_id:
        raise errors.SignatureError(
            errors.SIG_WRAPPING, f"{len(references)} référence(s)" if element_id else "élément sans Id",
            line=signature.sourceline,
        )
    reference = references[0]
    if reference.get("URI") != f"#{element_id}":
        raise errors.SignatureError(
            errors.SIG_WRAPPING, f"URI={reference.get('URI')!r}, Id de la FSE {element_id!r}",
            line=reference.sourceline,
        )
    transforms = [t.get("Algorithm") for t in reference.iter(f"{DS}Transform")]
    if ENVELOPED not in transforms or any(t != ENVELOPED and t not in policy.c14n_methods for t in transforms):
        raise errors.SignatureError(errors.SIG_MALFORMED, f"transformations {transforms}",
                                    line=reference.sourceline)
    return element_id


def _check_unique_ids(element, signature) -> None:
    values = ID_VALUES(element)
    if len(values) != len(set(values)):
        dup = next(v for v in values if values.count(v) > 1)
        raise errors.SignatureError(errors.SIG_DUPLICATE_ID, dup, line=signature.sourceline)


def _signer(signature, parts, store: TrustStore) -> Signer:
    texts = []
    for key_info in parts.get(_KEY_INFO, ()):
        for data in children(key_info).get(_X509_DATA, ()):
            for cert in children(data).get(_X509_CERTIFICATE, ()):
                texts.append(cert.text or "")
    if not texts:
        raise errors.SignatureError(errors.SIG_NO_CERTIFICATE, line=signature.sourceline)
    if len(texts) > MAX_CERTIFICATES:
        raise errors.SignatureError(errors.SIG_MALFORMED, f"{len(texts)} certificats (au plus {MAX_CERTIFICATES})",
                                    line=signature.sourceline)
    try:
        return store.signer(tuple(texts))
    except (ValueError, TypeError):
        raise errors.SignatureError(errors.SIG_NO_CERTIFICATE, "certificat illisible",
                                    line=signature.sourceline) from None


def _signing_time(element, policy: VerifyPolicy, now: datetime) -> datetime:
    if policy.signing_time_attribute is None:
        return now
    raw = element.get(policy.signing_time_attribute)
    if not raw:
        raise errors.SignatureError(errors.SIG_TIME, "attribut dateSignature absent", line=element.sourceline)
    try:
        when = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        raise errors.SignatureError(errors.SIG_TIME, f"dateSignature={raw!r}", line=element.sourceline) from None
    if when.tzinfo is None:
        raise errors.SignatureError(errors.SIG_TIME, "fuseau horaire absent", line=element.sourceline)
    when = when.astimezone(UTC)
    if when > now + policy.clock_skew:
        raise errors.SignatureError(errors.SIG_TIME, f"date future : {raw}", line=element.sourceline)
    if when < now - policy.max_signature_age:
        raise errors.SignatureError(errors.SIG_TIME, f"signature trop ancienne : {raw}", line=element.sourceline)
    return when


_KEPT_IN_SIGNATURE = (f"{DS}SignedInfo", f"{DS}SignatureValue", f"{DS}KeyInfo")


def signed_document(result: VerifyResult) -> str:
    """What the signature covers, and the signature: the document to store and serve.

    The content is ``result.signed`` (the canonical signed content: no comment, nothing the
    digest did not cover). The signature keeps ``SignedInfo``, ``SignatureValue`` and, in
    ``KeyInfo``, only the ``X509Data/X509Certificate`` needed to verify it again: a
    ``ds:Object``, a ``ds:KeyName``, comments or processing instructions the sender put in
    the (unsigned parts of the) signature are left out. The result verifies as the received
    element did (the enveloped-signature transform removes the signature before digesting).
    """
    signed = result.signed
    if signed.getparent() is None and signed.tail is None and signed.getprevious() is None \
            and signed.getnext() is None:
        content = copy.deepcopy(signed)  # a root alone (the strict verifier's): as a re-parse would give
    else:
        content = etree.fromstring(etree.tostring(signed), parser=_safe_parser())
    for stray in list(content.iter(etree.Comment, etree.ProcessingInstruction)):
        drop(stray)
    source_signature = child(result.source, SIGNATURE_TAG)
    signature = copy.deepcopy(source_signature if source_signature is not None else the_signature(result.source))
    signature.tail = None
    for stray in list(signature.iter(etree.Comment, etree.ProcessingInstruction)):
        drop(stray)
    for element in list(signature):
        if element.tag not in _KEPT_IN_SIGNATURE:
            drop(element)
    for key_info in signature.iterchildren(_KEY_INFO):
        for element in list(key_info):
            if element.tag != _X509_DATA:
                drop(element)
        for data in key_info.iterchildren(_X509_DATA):
            for element in list(data):
                if element.tag != _X509_CERTIFICATE:
                    drop(element)
    content.append(signature)
    return etree.tostring(content, encoding="unicode")


def check_signer(result: VerifyResult, professional_rpps: str | None,
                 token_rpps: str | None = None, *, path: str | None = None,
                 line: int | None = None) -> list[XmlIssue]:
    """The certificate's RPPS must be the FSE's professional (FSE-SIG-014), and that
    professional the owner of the API token used, when given (FSE-SIG-015)."""
    issues: list[XmlIssue] = []
    if result.rpps != professional_rpps:
        issues.append(XmlIssue.of(
            errors.SIG_RPPS_MISMATCH,
            f"RPPS du certificat {result.rpps or 'absent'}, RPPS de la FSE {professional_rpps or 'absent'}",
            path, line,
        ))
    if token_rpps is not None and professional_rpps != token_rpps:
        issues.append(XmlIssue.of(
            errors.SIG_TOKEN_MISMATCH,
            f"RPPS de la FSE {professional_rpps or 'absent'}, titulaire du jeton {token_rpps}",
            path, line,
        ))
    return issues
