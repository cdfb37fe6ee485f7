"""signxml, the reference: the reference verifier of FSE signatures (``verifier="signxml"``),
signing (practice software, demo, tests, the ARL) and ``verify_document`` (a document
signed by a known certificate)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec, rsa
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
from amelipro.xmlcore.pki import PrivateKey
from amelipro.xmlcore.safe import _parser as _safe_parser
from amelipro.xmlcore.signature_policy import (
    ALLOWED_DIGESTS,
    ALLOWED_SIGNATURE_METHODS,
    DS,
    SIGNATURE_TAG,
    SIGNING_TIME_ATTRIBUTE,
    VerifyPolicy,
    one_child,
    the_signature,
)


def signxml_verify(element, leaf, signing_time: datetime, policy: VerifyPolicy, signature):
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
    signature = the_signature(element)
    element_id = element.get("Id") or ""
    signed_info = one_child(signature, "SignedInfo")
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
