"""The strict-profile verifier: digest and signature value of the one profile the gateway
accepts, canonicalisation by lxml, digests and signatures by ``cryptography``.

The same steps as signxml's XMLVerifier.verify on the one profile the gateway accepts (the
rules of ``signature.py`` have already refused everything else), without its repeated
re-parsing: one deep copy of the element (it keeps the in-scope namespaces, as signxml's
re-serialisation does), the signature removed, the content canonicalised once by lxml; the
signature validated against the XML-DSig schema, SignedInfo canonicalised once by lxml and
its signature value checked by ``cryptography``; the Reference read from the canonical
SignedInfo (in place when SignedInfo holds no comment, PI or entity: its canonical form
parsed again would be the same tree; parsed again otherwise), the canonical content digested
by ``cryptography`` and parsed into the signed result. Elements are reached through the
children of each element gathered once by tag (no lxml ElementPath, no tag matcher per
lookup).
The differential test (tests/unit/test_xmlcore_signature_differential.py) holds it to
signxml's answer, code for code.
"""

from __future__ import annotations

import threading
from base64 import b64decode
from binascii import a2b_base64
from typing import Any

from cryptography import x509
from cryptography.exceptions import InvalidSignature as CryptoInvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric import padding as asym_padding
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat, load_der_public_key
from lxml import etree
from signxml import CanonicalizationMethod, DigestAlgorithm, SignatureMethod

from amelipro.xmlcore import errors
from amelipro.xmlcore.safe import _parser as _safe_parser
from amelipro.xmlcore.signature_policy import (
    DS,
    DSIG11_NS,
    EC_NS,
    EXCLUSIVE_C14N_PREFIX,
    VerifyPolicy,
    child,
    children,
    drop,
    first,
)

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
    if not len(node):
        return None
    for inclusive in node.iterchildren(_INCLUSIVE_NAMESPACES):
        prefixes = inclusive.get("PrefixList")
        if prefixes is not None:
            return prefixes.split(" ")
    return None


_HASHES = {"SHA256": hashes.SHA256(), "SHA384": hashes.SHA384(), "SHA512": hashes.SHA512()}


def _check_signature_value(key: Any, method: SignatureMethod, raw: bytes, data: bytes) -> None:
    """Raises ``CryptoInvalidSignature`` (a bad signature) or ``_Refused`` (malformed)."""
    algorithm = _METHOD_HASHES[method]
    if method in _ECDSA_METHODS:
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


def _check_key_values(key_info: etree._Element | None, key: Any, method: SignatureMethod) -> None:
    """A ``KeyValue`` or ``DEREncodedKeyValue`` beside the certificate must be its key."""
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


def strict_verify(element, leaf: x509.Certificate, policy: VerifyPolicy, signature,
                  parts: tuple[dict, dict] | None = None) -> etree._Element | None:
    """The digest and signature of ``element`` (rules already checked); the signed content.
    ``parts``: the :func:`children` of the signature and of its SignedInfo, when known."""
    line = signature.sourceline
    try:
        if parts is None:
            found = children(signature)
            parts = found, children(first(found, _SIGNED_INFO))
        return _strict_steps(element, signature, leaf, policy, *parts)
    except _Refused as exc:
        raise errors.SignatureError(exc.code, exc.detail, line=line) from exc
    except CryptoInvalidSignature as exc:
        raise errors.SignatureError(errors.SIG_INVALID, line=line) from exc
    except (etree.LxmlError, ValueError, TypeError, KeyError, AttributeError) as exc:
        # a signature the XML-DSig schema refuses, bad base64, an unusable prefix list
        raise errors.SignatureError(errors.SIG_MALFORMED, type(exc).__name__, line=line) from exc


def _c14n_transforms(reference_parts: dict) -> list[tuple[str, list[str] | None]]:
    return [(t.get("Algorithm"), _prefix_list(t)) for transforms in reference_parts.get(_TRANSFORMS, ())
            for t in children(transforms).get(_TRANSFORM, ()) if t.get("Algorithm") in _C14N_URIS]


def _payload(root: etree._Element, c14n: list[tuple[str, list[str] | None]]) -> bytes | None:
    if len(c14n) > 1:
        return None  # refused once the signature is checked (signxml fails there too)
    algorithm, prefixes = c14n[0] if c14n else (CanonicalizationMethod.EXCLUSIVE_XML_CANONICALIZATION_1_0.value, None)
    return _c14n(root, algorithm, prefixes)


def _ascii_names(node: etree._Element) -> bool:
    """No element (prefix or local name) or attribute (local name) name outside ASCII
    (signxml cannot re-serialise them)."""
    for e in node.iter(etree.Element):
        tag = e.tag
        if not tag.isascii() and not tag.rpartition("}")[2].isascii():
            return False
        prefix = e.prefix
        if prefix is not None and not prefix.isascii():
            return False
        for name in e.keys():
            if not name.isascii() and not name.rpartition("}")[2].isascii():
                return False
    return True


def _strict_steps(element, signature, leaf: x509.Certificate, policy: VerifyPolicy,
                  parts: dict, info_parts: dict) -> etree._Element | None:
    # 1. The content without the signature (enveloped transform: the rules above require it),
    #    canonicalised as the Reference says; a copy keeps the in-scope namespaces.
    signed_info = first(parts, _SIGNED_INFO)
    reference_parts = children(first(info_parts, _REFERENCE))
    declared = _c14n_transforms(reference_parts)
    root = element.__deepcopy__(None)  # lxml's copy (a deep copy; what copy.deepcopy calls)
    drop(root[element.index(signature)])  # the copy of the one signature (its only direct child)
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
    c14n_method = first(info_parts, _CANONICALIZATION_METHOD)
    method = _SIGNATURE_METHODS[first(info_parts, _SIGNATURE_METHOD).get("Algorithm")]
    raw_signature = a2b_base64(first(parts, _SIGNATURE_VALUE).text)
    signed_info_c14n = _c14n(signed_info, c14n_method.get("Algorithm"), _prefix_list(c14n_method))
    key = leaf.public_key()
    _check_signature_value(key, method, raw_signature, signed_info_c14n)
    _check_key_values(first(parts, f"{DS}KeyInfo"), key, method)
    # 3. From here on, only what the signature covers: the canonical SignedInfo. With no
    #    comment, processing instruction or entity in SignedInfo, its canonical form parsed
    #    again is the same tree (elements, attribute values, texts): it is read in place.
    if next(signed_info.iter(etree.Comment, etree.ProcessingInstruction, etree.Entity), None) is not None:
        reference = child(etree.fromstring(signed_info_c14n, parser=_safe_parser()), _REFERENCE)
        reference_parts = children(reference)
        transforms = _c14n_transforms(reference_parts)
        if transforms != declared:  # pragma: no cover - C14N keeps attribute values
            payload = _payload(root, transforms)
        declared = transforms
    if payload is None:
        raise _Refused(errors.SIG_MALFORMED, f"{len(declared)} canonicalisations")
    digest = _DIGESTS[first(reference_parts, _DIGEST_METHOD).get("Algorithm")]
    if digest not in policy.digest_algorithms:
        raise _Refused(errors.SIG_WEAK_ALGORITHM, digest.value)
    hasher = hashes.Hash(_DIGEST_HASHES[digest])
    hasher.update(payload)
    if a2b_base64(first(reference_parts, _DIGEST_VALUE).text) != hasher.finalize():
        raise _Refused(errors.SIG_TAMPERED)
    try:
        return etree.fromstring(payload, parser=_safe_parser())
    except etree.XMLSyntaxError:
        return None


_SIGNED_INFO = f"{DS}SignedInfo"
_CANONICALIZATION_METHOD = f"{DS}CanonicalizationMethod"
_SIGNATURE_METHOD = f"{DS}SignatureMethod"
_SIGNATURE_VALUE = f"{DS}SignatureValue"
_REFERENCE = f"{DS}Reference"
_TRANSFORMS = f"{DS}Transforms"
_TRANSFORM = f"{DS}Transform"
_DIGEST_METHOD = f"{DS}DigestMethod"
_DIGEST_VALUE = f"{DS}DigestValue"
_INCLUSIVE_NAMESPACES = f"{{{EC_NS}}}InclusiveNamespaces"
_C14N_URIS = frozenset(m.value for m in CanonicalizationMethod)
_SIGNATURE_METHODS = {m.value: m for m in SignatureMethod}
_DIGESTS = {d.value: d for d in DigestAlgorithm}
_DIGEST_HASHES = {d: _HASHES[d.name[-6:]] for d in DigestAlgorithm if d.name[-6:] in _HASHES}
_METHOD_HASHES = {m: _HASHES[m.name[-6:]] for m in SignatureMethod if m.name[-6:] in _HASHES}
_ECDSA_METHODS = frozenset(m for m in SignatureMethod if m.name.startswith("ECDSA_"))


