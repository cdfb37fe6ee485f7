"""Signing and verifying enveloped XML-DSig signatures (signxml), with the gateway's rules.

Rules (each failure has its own code, ``amelipro.xmlcore.errors`` FSE-SIG-0xx):
exactly one ``ds:Signature``, the last direct child of the signed element; exactly one
Reference, ``URI="#<Id of the signed element>"``; transforms: enveloped signature and C14N
only; RSA or ECDSA with SHA-256/384/512 (no SHA-1, no HMAC, no DSA); no duplicate Id; the
signer's certificate (first ``X509Certificate``) chains to a CA of the trust store, is valid
at the signing time (attribute ``dateSignature``), is not revoked (CRL ``*.crl.pem`` of the
trust store) and carries an RPPS. Callers read only ``VerifyResult.signed``.

The trust store is loaded once into a :class:`TrustStore`; certificates parsed from
signatures and chain checks are cached in it, so a lot signed by one professional builds
and checks the chain once.
"""

from __future__ import annotations

import copy
import logging
import os
import threading
from base64 import b64decode
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import MappingProxyType
from typing import Any

from cryptography import x509
from cryptography.exceptions import InvalidSignature as CryptoInvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric import padding as asym_padding
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat, load_der_public_key
from lxml import etree
from signxml import (
    CanonicalizationMethod,
    DigestAlgorithm,
    SignatureConfiguration,
    SignatureConstructionMethod,
    SignatureMethod,
    XMLSigner,
    XMLVerifier,
)
from signxml import exceptions as sx

from amelipro.xmlcore import errors
from amelipro.xmlcore.pki import PrivateKey, rpps_of
from amelipro.xmlcore.safe import _parser as _safe_parser
from amelipro.xmlcore.schemas import DS_NS, FSE_TAG, XmlIssue

log = logging.getLogger(__name__)

DS = f"{{{DS_NS}}}"
SIGNATURE_TAG = f"{DS}Signature"
SIGNING_TIME_ATTRIBUTE = "dateSignature"
ID_ATTRIBUTES = ("Id", "ID", "id")
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

_ID_XPATH = etree.XPath(".//@*[local-name()='Id' or local-name()='ID' or local-name()='id']")
_ID_XPATH_SELF = etree.XPath("descendant-or-self::*/@*[local-name()='Id' or local-name()='ID' or local-name()='id']")


# --- trust store ---------------------------------------------------------------------------

@dataclass(frozen=True)
class Revocations:
    """One CA's CRL, indexed by serial number."""

    issuer: x509.Name
    next_update: datetime | None
    revoked: Mapping[int, datetime]


@dataclass(frozen=True, eq=False)
class TrustStore:
    """CA certificates (``*.pem``) and CRLs (``*.crl.pem``) of a directory, loaded once."""

    directory: str
    authorities: tuple[x509.Certificate, ...]
    revocations: Mapping[bytes, Revocations]  # issuer subject (DER) -> CRL index
    _certs: dict[str, x509.Certificate] = field(default_factory=dict, repr=False, compare=False)
    _chains: dict[tuple[x509.Certificate, ...], tuple[x509.Certificate, ...] | errors.ErrorCode] = field(
        default_factory=dict, repr=False, compare=False
    )
    # what does not change for a certificate: its issuer key in ``revocations``, its usage check
    _subject_keys: dict[x509.Certificate, bytes] = field(default_factory=dict, repr=False, compare=False)
    _usage: dict[tuple[x509.Certificate, bool], tuple[errors.ErrorCode, str] | None] = field(
        default_factory=dict, repr=False, compare=False
    )

    @classmethod
    def load(cls, directory: str | os.PathLike[str]) -> TrustStore:
        path = Path(directory)
        authorities: list[x509.Certificate] = []
        crls: list[x509.CertificateRevocationList] = []
        if path.is_dir():
            for file in sorted(path.iterdir()):
                if not file.is_file():
                    continue
                if file.name.endswith(".crl.pem"):
                    try:
                        crls.append(x509.load_pem_x509_crl(file.read_bytes()))
                    except ValueError:
                        log.warning("trust store: unreadable CRL %s ignored", file)
                elif file.suffix in (".pem", ".crt"):
                    try:
                        certs = x509.load_pem_x509_certificates(file.read_bytes())
                    except ValueError:
                        log.warning("trust store: unreadable certificate file %s ignored", file)
                        continue
                    authorities.extend(c for c in certs if _is_ca(c))
        revocations: dict[bytes, Revocations] = {}
        for crl in crls:
            issuer = next((ca for ca in authorities if ca.subject == crl.issuer), None)
            if issuer is None or not crl.is_signature_valid(issuer.public_key()):
                log.warning("trust store: CRL of %s has no valid issuer, ignored", crl.issuer.rfc4514_string())
                continue
            key = issuer.subject.public_bytes()
            current = revocations.get(key)
            if current is not None and current.next_update and crl.next_update_utc and \
                    current.next_update >= crl.next_update_utc:
                continue  # keep the freshest CRL of each CA
            revocations[key] = Revocations(
                crl.issuer, crl.next_update_utc,
                MappingProxyType({r.serial_number: r.revocation_date_utc for r in crl}),
            )
        return cls(str(path), tuple(authorities), MappingProxyType(revocations))

    # -- certificates from signatures (cached: the same CPS signs a whole lot) --
    def certificate_from_base64(self, text: str) -> x509.Certificate:
        key = "".join(text.split())
        cert = self._certs.get(key)
        if cert is None:
            cert = x509.load_der_x509_certificate(b64decode(key, validate=True))
            if len(self._certs) > 4096:
                self._certs.clear()
            self._certs[key] = cert
        return cert

    def chain_of(self, leaf: x509.Certificate, intermediates: Iterable[x509.Certificate] = ()
                 ) -> tuple[x509.Certificate, ...]:
        """Leaf → … → trust anchor, signatures checked (cached); raises UNKNOWN_CA."""
        inter = tuple(intermediates)
        key = (leaf, *inter)  # certificates hash and compare by their DER encoding
        cached = self._chains.get(key)
        if cached is None:
            try:
                cached = self._build_chain(leaf, inter)
            except errors.SignatureError as exc:
                cached = exc.error
            if len(self._chains) > 4096:
                self._chains.clear()
            self._chains[key] = cached
        if isinstance(cached, errors.ErrorCode):
            raise errors.SignatureError(cached, _subject(leaf))
        return cached

    def _build_chain(self, leaf: x509.Certificate, intermediates: tuple[x509.Certificate, ...]
                     ) -> tuple[x509.Certificate, ...]:
        chain = [leaf]
        current = leaf
        for _ in range(5):
            anchor = _issuer_among(current, self.authorities)
            if anchor is not None:
                chain.append(anchor)
                return tuple(chain)
            parent = _issuer_among(current, (c for c in intermediates if _is_ca(c) and c not in chain))
            if parent is None:
                break
            chain.append(parent)
            current = parent
        raise errors.SignatureError(errors.SIG_UNKNOWN_CA, _subject(leaf))

    def revocation_date(self, cert: x509.Certificate, issuer: x509.Certificate,
                        require_crl: bool = True) -> datetime | None:
        key = self._subject_keys.get(issuer)
        if key is None:
            if len(self._subject_keys) > 4096:
                self._subject_keys.clear()
            key = self._subject_keys[issuer] = issuer.subject.public_bytes()
        index = self.revocations.get(key)
        if index is None:
            if require_crl:
                raise errors.SignatureError(errors.SIG_REVOCATION_UNKNOWN, _subject(issuer))
            return None
        return index.revoked.get(cert.serial_number)


def _is_ca(cert: x509.Certificate) -> bool:
    try:
        return bool(cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca)
    except x509.ExtensionNotFound:
        return False


def _issuer_among(cert: x509.Certificate, candidates: Iterable[x509.Certificate]) -> x509.Certificate | None:
    for candidate in candidates:
        if candidate.subject != cert.issuer:
            continue
        try:
            cert.verify_directly_issued_by(candidate)
        except (ValueError, TypeError, CryptoInvalidSignature):
            continue
        return candidate
    return None


def _subject(cert: x509.Certificate) -> str:
    try:
        return cert.subject.rfc4514_string()
    except ValueError:  # pragma: no cover
        return "?"


_stores: dict[str, tuple[tuple[Any, ...], TrustStore]] = {}
_stores_lock = threading.Lock()


def trust_store_for(directory: str | os.PathLike[str]) -> TrustStore:
    """The trust store of ``directory``, loaded once and reloaded only when its files change."""
    path = Path(directory)
    try:
        stamp = tuple(sorted((f.name, f.stat().st_mtime_ns, f.stat().st_size) for f in path.iterdir()))
    except FileNotFoundError:
        stamp = ()
    key = str(path.resolve())
    with _stores_lock:
        cached = _stores.get(key)
        if cached is not None and cached[0] == stamp:
            return cached[1]
        store = TrustStore.load(path)
        _stores[key] = (stamp, store)
        return store


# --- policy and result ---------------------------------------------------------------------

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


# --- verification --------------------------------------------------------------------------

def verify_signed_element(element: etree._Element, policy: VerifyPolicy, *,
                          now: datetime | None = None) -> VerifyResult:
    """Verify the enveloped signature of ``element``; raise :class:`SignatureError` (one code)."""
    now = now or datetime.now(UTC)
    if element.tag != policy.signed_tag:
        raise errors.SignatureError(errors.SIG_WRAPPING, f"élément signé inattendu : {etree.QName(element).localname}",
                                    line=element.sourceline)
    signature = _the_signature(element)
    signed_info = _one(signature, "SignedInfo")
    method = _check_algorithms(signed_info, policy, signature)
    element_id = _check_reference(element, signed_info, policy, signature)
    _check_unique_ids(element, signature)
    leaf, intermediates = _certificates(signature, policy.trust_store)
    signing_time = _signing_time(element, policy, now)
    _check_certificate(leaf, intermediates, signing_time, now, policy)
    if policy.verifier == "strict":
        signed = _strict_verify(element, leaf, policy, signature)
    else:
        signed = _signxml_verify(element, leaf, signing_time, policy, signature)
    if signed is None or signed.tag != element.tag or signed.get("Id") != element_id:
        raise errors.SignatureError(errors.SIG_WRAPPING, line=signature.sourceline)
    return VerifyResult(
        signed=signed, certificate=leaf, rpps=rpps_of(leaf), signing_time=signing_time,
        element_id=element_id, signature_method=method, source=element,
    )


def _the_signature(element: etree._Element) -> etree._Element:
    signatures = list(element.iter(SIGNATURE_TAG))
    if not signatures:
        raise errors.SignatureError(errors.SIG_MISSING, line=element.sourceline)
    if len(signatures) > 1:
        raise errors.SignatureError(errors.SIG_MULTIPLE, f"{len(signatures)} signatures",
                                    line=signatures[1].sourceline)
    signature = signatures[0]
    children = [c for c in element if isinstance(c.tag, str)]
    if signature.getparent() is not element or children[-1] is not signature:
        raise errors.SignatureError(errors.SIG_LOCATION, line=signature.sourceline)
    return signature


def _one(parent: etree._Element, name: str) -> etree._Element:
    found = parent.findall(f"{DS}{name}")
    if len(found) != 1:
        raise errors.SignatureError(errors.SIG_MALFORMED, f"ds:{name} : {len(found)} trouvé(s)",
                                    line=parent.sourceline)
    return found[0]


def _check_algorithms(signed_info: etree._Element, policy: VerifyPolicy, signature) -> str:
    line = signature.sourceline
    method_el = _one(signed_info, "SignatureMethod")
    uri = method_el.get("Algorithm") or ""
    if "hmac" in uri.lower():
        raise errors.SignatureError(errors.SIG_HMAC, uri, line=method_el.sourceline or line)
    try:
        method = SignatureMethod(uri)
    except ValueError:
        raise errors.SignatureError(errors.SIG_WEAK_ALGORITHM, uri, line=method_el.sourceline) from None
    if method not in policy.signature_methods:
        raise errors.SignatureError(errors.SIG_WEAK_ALGORITHM, uri, line=method_el.sourceline)
    c14n = _one(signed_info, "CanonicalizationMethod").get("Algorithm")
    if c14n not in policy.c14n_methods:
        raise errors.SignatureError(errors.SIG_MALFORMED, f"canonicalisation {c14n}", line=line)
    for digest_el in signed_info.iter(f"{DS}DigestMethod"):
        digest_uri = digest_el.get("Algorithm") or ""
        try:
            digest = DigestAlgorithm(digest_uri)
        except ValueError:
            raise errors.SignatureError(errors.SIG_WEAK_ALGORITHM, digest_uri,
                                        line=digest_el.sourceline) from None
        if digest not in policy.digest_algorithms:
            raise errors.SignatureError(errors.SIG_WEAK_ALGORITHM, digest_uri, line=digest_el.sourceline)
    return method.name


def _check_reference(element, signed_info, policy: VerifyPolicy, signature) -> str:
    references = signed_info.findall(f"{DS}Reference")
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
    values = [str(v) for v in _ID_XPATH_SELF(element)]
    if len(values) != len(set(values)):
        dup = next(v for v in values if values.count(v) > 1)
        raise errors.SignatureError(errors.SIG_DUPLICATE_ID, dup, line=signature.sourceline)


def _certificates(signature, store: TrustStore) -> tuple[x509.Certificate, tuple[x509.Certificate, ...]]:
    texts = [e.text or "" for e in signature.iterfind(f"{DS}KeyInfo/{DS}X509Data/{DS}X509Certificate")]
    if not texts:
        raise errors.SignatureError(errors.SIG_NO_CERTIFICATE, line=signature.sourceline)
    if len(texts) > MAX_CERTIFICATES:
        raise errors.SignatureError(errors.SIG_MALFORMED, f"{len(texts)} certificats (au plus {MAX_CERTIFICATES})",
                                    line=signature.sourceline)
    try:
        certs = [store.certificate_from_base64(t) for t in texts]
    except (ValueError, TypeError):
        raise errors.SignatureError(errors.SIG_NO_CERTIFICATE, "certificat illisible",
                                    line=signature.sourceline) from None
    return certs[0], tuple(certs[1:])


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


def _check_certificate(leaf, intermediates, signing_time: datetime, now: datetime,
                       policy: VerifyPolicy) -> None:
    store = policy.trust_store
    chain = store.chain_of(leaf, intermediates)
    for cert in chain:
        if signing_time > cert.not_valid_after_utc:
            raise errors.SignatureError(
                errors.SIG_EXPIRED, f"{_subject(cert)} expiré le {cert.not_valid_after_utc:%Y-%m-%d}"
            )
        if signing_time < cert.not_valid_before_utc:
            raise errors.SignatureError(
                errors.SIG_NOT_YET_VALID, f"{_subject(cert)} valide à partir du {cert.not_valid_before_utc:%Y-%m-%d}"
            )
    for cert, issuer in zip(chain, chain[1:], strict=False):
        revoked_at = store.revocation_date(cert, issuer, policy.require_crl)
        # The signing time is declared by the signer: a revoked certificate is refused
        # whatever date it claims (its key may be in other hands).
        if revoked_at is not None and revoked_at <= now:
            raise errors.SignatureError(errors.SIG_REVOKED, f"{_subject(cert)} révoqué le {revoked_at:%Y-%m-%d}")
    key = (leaf, policy.require_rpps)
    if key not in store._usage:
        if len(store._usage) > 4096:
            store._usage.clear()
        store._usage[key] = _usage_problem(leaf, policy.require_rpps)
    problem = store._usage[key]
    if problem is not None:
        raise errors.SignatureError(*problem)


def _usage_problem(leaf: x509.Certificate, require_rpps: bool) -> tuple[errors.ErrorCode, str] | None:
    """What the signer's certificate may not do (cached per certificate by the trust store)."""
    try:
        usage = leaf.extensions.get_extension_for_class(x509.KeyUsage).value
        if not (usage.digital_signature or usage.content_commitment):
            return errors.SIG_CERT_USAGE, "usage de clé : signature non permise"
    except x509.ExtensionNotFound:
        pass
    if _is_ca(leaf):
        return errors.SIG_CERT_USAGE, "certificat d'autorité"
    if require_rpps and not (rpps_of(leaf) or "").isdigit():
        return errors.SIG_CERT_USAGE, "RPPS absent du certificat"
    return None


def _signxml_verify(element, leaf, signing_time: datetime, policy: VerifyPolicy, signature):
    config = SignatureConfiguration(
        require_x509=True,
        location="./",
        expect_references=1,
        signature_methods=policy.signature_methods,
        digest_algorithms=policy.digest_algorithms,
        verification_time=signing_time,
        default_reference_c14n_method=CanonicalizationMethod.EXCLUSIVE_XML_CANONICALIZATION_1_0,
    )
    line = signature.sourceline
    try:
        result = XMLVerifier().verify(
            element, x509_cert=leaf, expect_config=config, parser=_safe_parser(), id_attribute="Id",
        )
    except sx.InvalidDigest as exc:
        raise errors.SignatureError(errors.SIG_TAMPERED, line=line) from exc
    except sx.InvalidCertificate as exc:
        raise errors.SignatureError(errors.SIG_EXPIRED, str(exc)[:200], line=line) from exc
    except sx.InvalidSignature as exc:
        if "references" in str(exc):
            raise errors.SignatureError(errors.SIG_WRAPPING, line=line) from exc
        raise errors.SignatureError(errors.SIG_INVALID, line=line) from exc
    except sx.InvalidInput as exc:
        text = str(exc)
        if "Ambiguous reference" in text:
            raise errors.SignatureError(errors.SIG_DUPLICATE_ID, line=line) from exc
        if "forbidden by configuration" in text:
            raise errors.SignatureError(errors.SIG_WEAK_ALGORITHM, text[:200], line=line) from exc
        raise errors.SignatureError(errors.SIG_MALFORMED, text[:200], line=line) from exc
    except (etree.LxmlError, sx.SignXMLException, ValueError, TypeError, KeyError) as exc:
        # e.g. a non-ASCII element name that signxml's internal re-serialization breaks, or
        # a KeyValue naming an unknown curve (KeyError inside signxml)
        raise errors.SignatureError(errors.SIG_MALFORMED, type(exc).__name__, line=line) from exc
    return result.signed_xml


# --- strict-profile verifier (lxml C14N, cryptography) --------------------------------------
#
# The same steps as signxml's XMLVerifier.verify on the one profile the gateway accepts (the
# rules above have already refused everything else), without its repeated re-parsing:
# one copy of the element (serialised and parsed, as signxml does, so that the namespace
# context and the failure on what cannot be re-serialised are the same), the signature
# validated against the XML-DSig schema, SignedInfo canonicalised by lxml and its signature
# checked by `cryptography`, the Reference read from the canonical SignedInfo, the
# enveloped signature removed, the content canonicalised by lxml and digested by
# `cryptography`. The differential test (tests/unit/test_xmlcore_signature_differential.py)
# holds it to signxml's answer, code for code.

_dsig_schemas: list[etree.XMLSchema] | None = None
_dsig_lock = threading.Lock()


def _dsig_schema_list() -> list[etree.XMLSchema]:
    """The XML-DSig schemas signxml validates a signature against (its data files, loaded once)."""
    global _dsig_schemas
    if _dsig_schemas is None:
        with _dsig_lock:
            if _dsig_schemas is None:
                from signxml.processor import XMLSignatureProcessor

                _dsig_schemas = list(XMLSignatureProcessor.schemas())
    return _dsig_schemas


class _Refused(Exception):
    def __init__(self, code: errors.ErrorCode, detail: str | None = None) -> None:
        super().__init__(detail)
        self.code = code
        self.detail = detail


def _c14n(node: etree._Element, algorithm: str, prefixes: list[str] | None) -> bytes:
    return etree.tostring(
        node, method="c14n", exclusive=algorithm.startswith(EXCLUSIVE_C14N_PREFIX),
        with_comments=algorithm.endswith("#WithComments"), inclusive_ns_prefixes=prefixes,
    )


def _prefix_list(node: etree._Element) -> list[str] | None:
    inclusive = node.find(f"{{{EC_NS}}}InclusiveNamespaces[@PrefixList]")
    return None if inclusive is None else inclusive.get("PrefixList").split(" ")


def _hash_of(name: str) -> hashes.HashAlgorithm:
    return {"SHA256": hashes.SHA256, "SHA384": hashes.SHA384, "SHA512": hashes.SHA512}[name[-6:]]()


def _check_signature_value(key: Any, method: SignatureMethod, raw: bytes, data: bytes) -> None:
    """Raises ``CryptoInvalidSignature`` (a bad signature) or ``_Refused`` (malformed)."""
    algorithm = _hash_of(method.name)
    if method.name.startswith("ECDSA_"):
        if not isinstance(key, ec.EllipticCurvePublicKey):
            raise _Refused(errors.SIG_MALFORMED, "clé du certificat incompatible avec l'algorithme")
        size = (key.key_size + 7) // 8
        if len(raw) != 2 * size:
            raise CryptoInvalidSignature(f"{len(raw)} octets, {2 * size} attendus")
        der = encode_dss_signature(int.from_bytes(raw[:size], "big"), int.from_bytes(raw[size:], "big"))
        key.verify(der, data, ec.ECDSA(algorithm))
    else:
        if not isinstance(key, rsa.RSAPublicKey):
            raise _Refused(errors.SIG_MALFORMED, "clé du certificat incompatible avec l'algorithme")
        key.verify(raw, data, asym_padding.PKCS1v15(), algorithm)


def _b64_int(parent: etree._Element, path: str) -> int:
    found = parent.find(path)
    if found is None:
        raise _Refused(errors.SIG_MALFORMED, f"{path} absent")
    return int.from_bytes(b64decode(found.text), "big")


def _check_key_values(signature: etree._Element, key: Any, method: SignatureMethod) -> None:
    """A ``KeyValue`` or ``DEREncodedKeyValue`` beside the certificate must be its key."""
    key_info = signature.find(f"{DS}KeyInfo")
    if key_info is None or len(key_info) == 1:  # only X509Data (the rules require a certificate)
        return
    key_value = key_info.find(f"{DS}KeyValue")
    if key_value is not None:
        if method.name.startswith("ECDSA_") and isinstance(key, ec.EllipticCurvePublicKey):
            d11 = f"{{{DSIG11_NS}}}"
            ec_value = key_value.find(f"{d11}ECKeyValue")
            if ec_value is None or ec_value.find(f"{d11}NamedCurve") is None:
                raise _Refused(errors.SIG_MALFORMED, "ECKeyValue incomplet")
            data = b64decode(ec_value.find(f"{d11}PublicKey").text)[1:]
            curve = _CURVES.get(ec_value.find(f"{d11}NamedCurve").get("URI") or "")
            numbers = key.public_numbers()
            same = curve is not None and curve.name == numbers.curve.name and \
                int.from_bytes(data[:len(data) // 2], "big") == numbers.x and \
                int.from_bytes(data[len(data) // 2:], "big") == numbers.y
        elif method.name.startswith("RSA_") and isinstance(key, rsa.RSAPublicKey):
            rsa_value = key_value.find(f"{DS}RSAKeyValue")
            if rsa_value is None:
                raise _Refused(errors.SIG_MALFORMED, "RSAKeyValue absent")
            numbers = key.public_numbers()
            same = _b64_int(rsa_value, f"{DS}Modulus") == numbers.n and \
                _b64_int(rsa_value, f"{DS}Exponent") == numbers.e
        else:
            same = False
        if not same:
            raise _Refused(errors.SIG_MALFORMED, "KeyValue différente du certificat")
    der_value = key_info.find(f"{{{DSIG11_NS}}}DEREncodedKeyValue")
    if der_value is not None:
        if load_der_public_key(b64decode(der_value.text)).public_bytes(
                Encoding.DER, PublicFormat.SubjectPublicKeyInfo) != key.public_bytes(
                Encoding.DER, PublicFormat.SubjectPublicKeyInfo):
            raise _Refused(errors.SIG_MALFORMED, "DEREncodedKeyValue différente du certificat")


_CURVES: dict[str, ec.EllipticCurve] = {
    "urn:oid:1.2.840.10045.3.1.7": ec.SECP256R1(),
    "urn:oid:1.3.132.0.34": ec.SECP384R1(),
    "urn:oid:1.3.132.0.35": ec.SECP521R1(),
}


def _strict_verify(element, leaf: x509.Certificate, policy: VerifyPolicy, signature) -> etree._Element | None:
    """The digest and signature of ``element`` (rules already checked); the signed content."""
    line = signature.sourceline
    try:
        return _strict_steps(element, signature, leaf, policy)
    except _Refused as exc:
        raise errors.SignatureError(exc.code, exc.detail, line=line) from exc
    except CryptoInvalidSignature as exc:
        raise errors.SignatureError(errors.SIG_INVALID, line=line) from exc
    except (etree.LxmlError, ValueError, TypeError, KeyError, AttributeError) as exc:
        # a signature the XML-DSig schema refuses, bad base64, an unusable prefix list
        raise errors.SignatureError(errors.SIG_MALFORMED, type(exc).__name__, line=line) from exc


def _c14n_transforms(reference: etree._Element) -> list[tuple[str, list[str] | None]]:
    return [(t.get("Algorithm"), _prefix_list(t)) for t in reference.iterfind(f"{DS}Transforms/{DS}Transform")
            if t.get("Algorithm") in _C14N_URIS]


def _payload(root: etree._Element, c14n: list[tuple[str, list[str] | None]]) -> bytes | None:
    if len(c14n) > 1:
        return None  # refused once the signature is checked (signxml fails there too)
    algorithm, prefixes = c14n[0] if c14n else (CanonicalizationMethod.EXCLUSIVE_XML_CANONICALIZATION_1_0.value, None)
    return _c14n(root, algorithm, prefixes)


def _ascii_names(node: etree._Element) -> bool:
    """No element or attribute name outside ASCII (signxml cannot re-serialise them)."""
    for e in node.iter(etree.Element):
        if not (e.tag.rpartition("}")[2].isascii() and (e.prefix or "").isascii()):
            return False
        for name in e.attrib:
            if not name.rpartition("}")[2].isascii():
                return False
    return True


def _strict_steps(element, signature, leaf: x509.Certificate, policy: VerifyPolicy) -> etree._Element | None:
    # 1. The content without the signature (enveloped transform: the rules above require it),
    #    canonicalised as the Reference says; a copy keeps the in-scope namespaces.
    root = copy.deepcopy(element)
    _drop(root.find(SIGNATURE_TAG))
    declared = _c14n_transforms(signature.find(f"{DS}SignedInfo/{DS}Reference"))
    payload = _payload(root, declared)
    if payload is None or not payload.isascii():
        if not _ascii_names(root):
            raise _Refused(errors.SIG_MALFORMED, "nom d'élément ou d'attribut non ASCII")
    if not _ascii_names(signature):
        raise _Refused(errors.SIG_MALFORMED, "nom d'élément ou d'attribut non ASCII")
    # 2. The signature: XML-DSig schema, then SignedInfo canonicalised and its value checked.
    schemas = _dsig_schema_list()
    if not any(schema.validate(signature) for schema in schemas):
        raise _Refused(errors.SIG_MALFORMED, str(schemas[-1].error_log.last_error)[:200])
    signed_info = signature.find(f"{DS}SignedInfo")
    c14n_method = signed_info.find(f"{DS}CanonicalizationMethod")
    method = SignatureMethod(signed_info.find(f"{DS}SignatureMethod").get("Algorithm"))
    raw_signature = b64decode(signature.find(f"{DS}SignatureValue").text)
    signed_info_c14n = _c14n(signed_info, c14n_method.get("Algorithm"), _prefix_list(c14n_method))
    key = leaf.public_key()
    _check_signature_value(key, method, raw_signature, signed_info_c14n)
    _check_key_values(signature, key, method)
    # 3. From here on, only what the signature covers: the canonical SignedInfo.
    reference = etree.fromstring(signed_info_c14n, parser=_safe_parser()).find(f"{DS}Reference")
    transforms = _c14n_transforms(reference)
    if transforms != declared:  # pragma: no cover - C14N keeps attribute values
        payload = _payload(root, transforms)
    if payload is None:
        raise _Refused(errors.SIG_MALFORMED, f"{len(transforms)} canonicalisations")
    digest = DigestAlgorithm(reference.find(f"{DS}DigestMethod").get("Algorithm"))
    if digest not in policy.digest_algorithms:
        raise _Refused(errors.SIG_WEAK_ALGORITHM, digest.value)
    hasher = hashes.Hash(_hash_of(digest.name))
    hasher.update(payload)
    if b64decode(reference.find(f"{DS}DigestValue").text) != hasher.finalize():
        raise _Refused(errors.SIG_TAMPERED)
    try:
        return etree.fromstring(payload, parser=_safe_parser())
    except etree.XMLSyntaxError:
        return None


_C14N_URIS = frozenset(m.value for m in CanonicalizationMethod)


_KEPT_IN_SIGNATURE = (f"{DS}SignedInfo", f"{DS}SignatureValue", f"{DS}KeyInfo")


def _drop(node: etree._Element) -> None:
    """Remove ``node`` but keep the text that follows it (lxml's ``remove`` drops its tail)."""
    parent = node.getparent()
    if node.tail:
        previous = node.getprevious()
        if previous is not None:
            previous.tail = (previous.tail or "") + node.tail
        else:
            parent.text = (parent.text or "") + node.tail
    parent.remove(node)


def signed_document(result: VerifyResult) -> str:
    """What the signature covers, and the signature: the document to store and serve.

    The content is ``result.signed`` (the canonical signed content: no comment, nothing the
    digest did not cover). The signature keeps ``SignedInfo``, ``SignatureValue`` and, in
    ``KeyInfo``, only the ``X509Data/X509Certificate`` needed to verify it again: a
    ``ds:Object``, a ``ds:KeyName``, comments or processing instructions the sender put in
    the (unsigned parts of the) signature are left out. The result verifies as the received
    element did (the enveloped-signature transform removes the signature before digesting).
    """
    content = etree.fromstring(etree.tostring(result.signed), parser=_safe_parser())
    for stray in content.xpath("//comment() | //processing-instruction()"):
        _drop(stray)
    signature = copy.deepcopy(_the_signature(result.source))
    signature.tail = None
    for stray in signature.xpath(".//comment() | .//processing-instruction()"):
        _drop(stray)
    for child in list(signature):
        if child.tag not in _KEPT_IN_SIGNATURE:
            _drop(child)
    for key_info in signature.findall(f"{DS}KeyInfo"):
        for child in list(key_info):
            if child.tag != f"{DS}X509Data":
                _drop(child)
        for data in key_info.findall(f"{DS}X509Data"):
            for child in list(data):
                if child.tag != f"{DS}X509Certificate":
                    _drop(child)
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


# --- signing -------------------------------------------------------------------------------

def _method_for(key: PrivateKey) -> SignatureMethod:
    if isinstance(key, ec.EllipticCurvePrivateKey):
        return {256: SignatureMethod.ECDSA_SHA256, 384: SignatureMethod.ECDSA_SHA384}.get(
            key.curve.key_size, SignatureMethod.ECDSA_SHA512
        )
    if isinstance(key, rsa.RSAPrivateKey):
        return SignatureMethod.RSA_SHA256
    raise TypeError("RSA or ECDSA key expected")


def sign_document(element: etree._Element, key: PrivateKey, cert: x509.Certificate, *,
                  chain: Iterable[x509.Certificate] = (),
                  signature_method: SignatureMethod | None = None,
                  digest_algorithm: DigestAlgorithm = DigestAlgorithm.SHA256) -> etree._Element:
    """Enveloped XML-DSig over ``element`` (which needs an ``Id``); returns a signed copy.

    Any signature already in the element is removed first. Exclusive C14N, so the signature
    stays valid when the element is placed in a lot. The signature is the last child.
    """
    element_id = element.get("Id")
    if not element_id:
        raise ValueError("the element to sign needs an Id attribute")
    work = etree.fromstring(etree.tostring(element), parser=_safe_parser())
    for old in list(work.iter(SIGNATURE_TAG)):
        old.getparent().remove(old)
    signer = XMLSigner(
        method=SignatureConstructionMethod.enveloped,
        signature_algorithm=signature_method or _method_for(key),
        digest_algorithm=digest_algorithm,
        c14n_algorithm=CanonicalizationMethod.EXCLUSIVE_XML_CANONICALIZATION_1_0,
    )
    signed = signer.sign(work, key=key, cert=[cert, *chain], reference_uri=f"#{element_id}",
                         id_attribute="Id")
    return signed


def sign_fse(element: etree._Element, key: PrivateKey, cert: x509.Certificate, *,
             signing_time: datetime | None = None, chain: Iterable[x509.Certificate] = ()) -> etree._Element:
    """Sign an FSE: set ``dateSignature`` (UTC, now by default), then :func:`sign_document`."""
    work = etree.fromstring(etree.tostring(element), parser=_safe_parser())
    when = (signing_time or datetime.now(UTC)).astimezone(UTC).replace(microsecond=0)
    work.set(SIGNING_TIME_ATTRIBUTE, when.strftime("%Y-%m-%dT%H:%M:%SZ"))
    return sign_document(work, key, cert, chain=chain)


def verify_document(element: etree._Element, cert: x509.Certificate, *,
                    signature_methods: frozenset[SignatureMethod] = ALLOWED_SIGNATURE_METHODS
                    ) -> etree._Element:
    """Verify a document signed by a known certificate (e.g. the gateway's ARL, by the
    practice software); return the signed content. Raises :class:`SignatureError`."""
    signature = _the_signature(element)
    element_id = element.get("Id") or ""
    signed_info = _one(signature, "SignedInfo")
    reference = signed_info.findall(f"{DS}Reference")
    if len(reference) != 1 or reference[0].get("URI") != f"#{element_id}":
        raise errors.SignatureError(errors.SIG_WRAPPING, line=signature.sourceline)
    config = SignatureConfiguration(
        require_x509=True, location="./", expect_references=1,
        signature_methods=signature_methods, digest_algorithms=ALLOWED_DIGESTS,
    )
    try:
        result = XMLVerifier().verify(element, x509_cert=cert, expect_config=config,
                                      parser=_safe_parser(), id_attribute="Id")
    except sx.InvalidDigest as exc:
        raise errors.SignatureError(errors.SIG_TAMPERED) from exc
    except sx.InvalidCertificate as exc:
        raise errors.SignatureError(errors.SIG_EXPIRED, str(exc)[:200]) from exc
    except (sx.SignXMLException, etree.DocumentInvalid, ValueError) as exc:
        raise errors.SignatureError(errors.SIG_INVALID, type(exc).__name__) from exc
    if result.signed_xml is None or result.signed_xml.tag != element.tag:
        raise errors.SignatureError(errors.SIG_WRAPPING)
    return result.signed_xml
