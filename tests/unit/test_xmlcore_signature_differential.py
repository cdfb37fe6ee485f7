"""The strict-profile verifier against signxml, the reference: same answer on every document.

Every document of the corpus (built here, keys from tests/fixtures_pki.py) is verified by
``verify_signed_element`` twice, once with ``verifier="strict"`` and once with
``verifier="signxml"``; the test fails on any disagreement about accept/refuse, the error
code, or (when both accept) the signed content, certificate, Id and method. Each named case
also states the answer expected, so that two verifiers wrong in the same way still fail.
"""

from __future__ import annotations

import copy
import hashlib
from base64 import b64decode, b64encode
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from lxml import etree
from signxml import CanonicalizationMethod, DigestAlgorithm, SignatureMethod, XMLSigner

from amelipro.fse.document import care_sheet_to_xml
from amelipro.xmlcore.errors import SignatureError
from amelipro.xmlcore.safe import parse_untrusted
from amelipro.xmlcore.schemas import FSE_NS
from amelipro.xmlcore.signature import DS_NS, sign_document, verify_signed_element
from tests import fixtures_pki
from tests.fixtures_pki import sample_care_sheet, signed_fse

F = f"{{{FSE_NS}}}"
DS = f"{{{DS_NS}}}"
EC_NS = "http://www.w3.org/2001/10/xml-exc-c14n#"
DSIG11 = "http://www.w3.org/2009/xmldsig11#"
EXC = "http://www.w3.org/2001/10/xml-exc-c14n#"
EXC_COMMENTS = "http://www.w3.org/2001/10/xml-exc-c14n#WithComments"
INC = "http://www.w3.org/TR/2001/REC-xml-c14n-20010315"
INC11 = "http://www.w3.org/2006/12/xml-c14n11"
ENVELOPED = "http://www.w3.org/2000/09/xmldsig#enveloped-signature"
XPATH = "http://www.w3.org/TR/1999/REC-xpath-19991116"
BASE64 = "http://www.w3.org/2000/09/xmldsig#base64"
RSA_SHA256 = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"
RSA_SHA512 = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha512"
RSA_SHA1 = "http://www.w3.org/2000/09/xmldsig#rsa-sha1"
ECDSA_SHA256 = "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256"
HMAC_SHA256 = "http://www.w3.org/2001/04/xmldsig-more#hmac-sha256"
HMAC_SHA1 = "http://www.w3.org/2000/09/xmldsig#hmac-sha1"
SHA256 = "http://www.w3.org/2001/04/xmlenc#sha256"
SHA1 = "http://www.w3.org/2000/09/xmldsig#sha1"

ACCEPTED = "accepted"


# --- running both verifiers -----------------------------------------------------------------

def outcome(data: bytes, policy, pick: Callable | None = None):
    element = parse_untrusted(data)
    if pick is not None:
        element = pick(element)
    try:
        result = verify_signed_element(element, policy)
    except SignatureError as exc:
        return exc.code
    return (ACCEPTED, etree.tostring(result.signed, method="c14n"), result.certificate, result.rpps,
            result.element_id, result.signature_method, result.signing_time)


def both(data: bytes, verify_policy, pick=None):
    strict = outcome(data, replace(verify_policy, verifier="strict"), pick)
    reference = outcome(data, replace(verify_policy, verifier="signxml"), pick)
    return strict, reference


def short(answer) -> str:
    return answer if isinstance(answer, str) else ACCEPTED


def to_bytes(element) -> bytes:
    return etree.tostring(element, encoding="utf-8")


# --- a signer by hand, for what signxml will not produce ------------------------------------

def manual(element, holder, *, si_c14n=EXC, si_prefixes=None, transforms=((ENVELOPED, None), (EXC, None)),
           digest_c14n=(EXC, None), digest_uri=SHA256, digest_name="sha256", method=RSA_SHA256,
           hash_cls=hashes.SHA256, uri=None, key=None, cert=None, key_info=None, signature_nsmap=None,
           signature_value=None, stamp=True):
    """An enveloped signature built step by step (lxml C14N, hashlib, cryptography)."""
    work = copy.deepcopy(element)
    for old in work.findall(f"{DS}Signature"):
        work.remove(old)
    if stamp:
        work.set("dateSignature", datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"))
    c14n_uri, c14n_prefixes = digest_c14n
    payload = etree.tostring(work, method="c14n", exclusive=c14n_uri.startswith(EXC),
                             inclusive_ns_prefixes=c14n_prefixes)
    digest = hashlib.new(digest_name, payload).digest()
    nsmap = signature_nsmap or {"ds": DS_NS}
    signature = etree.SubElement(work, f"{DS}Signature", nsmap=nsmap)
    info = etree.SubElement(signature, f"{DS}SignedInfo")
    c14n_el = etree.SubElement(info, f"{DS}CanonicalizationMethod", Algorithm=si_c14n)
    if si_prefixes:
        etree.SubElement(c14n_el, f"{{{EC_NS}}}InclusiveNamespaces", PrefixList=si_prefixes, nsmap={"ec": EC_NS})
    etree.SubElement(info, f"{DS}SignatureMethod", Algorithm=method)
    ref = etree.SubElement(info, f"{DS}Reference", URI=f"#{work.get('Id')}" if uri is None else uri)
    if transforms is not None:
        t_el = etree.SubElement(ref, f"{DS}Transforms")
        for algorithm, prefixes in transforms:
            t = etree.SubElement(t_el, f"{DS}Transform", Algorithm=algorithm)
            if prefixes:
                etree.SubElement(t, f"{{{EC_NS}}}InclusiveNamespaces", PrefixList=prefixes, nsmap={"ec": EC_NS})
    etree.SubElement(ref, f"{DS}DigestMethod", Algorithm=digest_uri)
    etree.SubElement(ref, f"{DS}DigestValue").text = b64encode(digest).decode()
    # SignedInfo canonicalised the way a verifier sees it: the Signature on its own
    alone = etree.fromstring(etree.tostring(signature))
    data = etree.tostring(alone.find(f"{DS}SignedInfo"), method="c14n", exclusive=si_c14n.startswith(EXC),
                          inclusive_ns_prefixes=si_prefixes.split(" ") if si_prefixes else None)
    signing_key = key or holder.key
    if isinstance(signing_key, bytes):
        import hmac

        value = hmac.new(signing_key, data, "sha256").digest()
    elif isinstance(signing_key, rsa.RSAPrivateKey):
        value = signing_key.sign(data, padding.PKCS1v15(), hash_cls())
    else:
        r, s = decode_dss_signature(signing_key.sign(data, ec.ECDSA(hash_cls())))
        size = (signing_key.curve.key_size + 7) // 8
        value = r.to_bytes(size, "big") + s.to_bytes(size, "big")
    etree.SubElement(signature, f"{DS}SignatureValue").text = signature_value or b64encode(value).decode()
    ki = etree.SubElement(signature, f"{DS}KeyInfo")
    if key_info is not None:
        for extra in key_info:
            ki.append(extra)
    x509data = etree.SubElement(ki, f"{DS}X509Data")
    etree.SubElement(x509data, f"{DS}X509Certificate").text = b64encode(
        (cert or holder.cert).public_bytes(serialization.Encoding.DER)).decode()
    return work


def fresh(pki):
    return care_sheet_to_xml(sample_care_sheet())


def rsa_key_value(public_key, *, modulus_delta=0):
    numbers = public_key.public_numbers()
    kv = etree.Element(f"{DS}KeyValue")
    rv = etree.SubElement(kv, f"{DS}RSAKeyValue")
    n = numbers.n + modulus_delta
    etree.SubElement(rv, f"{DS}Modulus").text = b64encode(n.to_bytes((n.bit_length() + 7) // 8, "big")).decode()
    etree.SubElement(rv, f"{DS}Exponent").text = b64encode(numbers.e.to_bytes(3, "big")).decode()
    return kv


def ec_key_value(public_key, curve_uri="urn:oid:1.2.840.10045.3.1.7", *, flip=False):
    point = public_key.public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
    if flip:
        point = point[:-1] + bytes([point[-1] ^ 1])
    kv = etree.Element(f"{DS}KeyValue")
    ecv = etree.SubElement(kv, f"{{{DSIG11}}}ECKeyValue", nsmap={"dsig11": DSIG11})
    etree.SubElement(ecv, f"{{{DSIG11}}}NamedCurve", URI=curve_uri)
    etree.SubElement(ecv, f"{{{DSIG11}}}PublicKey").text = b64encode(point).decode()
    return kv


def der_key_value(public_key):
    el = etree.Element(f"{{{DSIG11}}}DEREncodedKeyValue", nsmap={"dsig11": DSIG11})
    el.text = b64encode(public_key.public_bytes(serialization.Encoding.DER,
                                                serialization.PublicFormat.SubjectPublicKeyInfo)).decode()
    return el


def edit(element, fn):
    work = copy.deepcopy(element)
    fn(work)
    return work


def sig(el):
    return el.find(f"{DS}Signature")


def signed_info(el):
    return el.find(f"{DS}Signature/{DS}SignedInfo")


def _split_text_with(node, factory):
    text = node.text
    node.text = text[:2]
    extra = factory()
    extra.tail = text[2:]
    node.insert(0, extra)


def _cdata(node):
    node.text = etree.CDATA(node.text)


def _with_cdata(el):
    _cdata(el.find(f"{F}Totaux/{F}PartAMO"))


def _re_signed_inclusive(pki):
    element = fresh(pki)
    element.set("dateSignature", datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"))
    signer = XMLSigner(c14n_algorithm=CanonicalizationMethod.CANONICAL_XML_1_0,
                       signature_algorithm=SignatureMethod.RSA_SHA256, digest_algorithm=DigestAlgorithm.SHA256)
    return signer.sign(element, key=pki.medecin.key, cert=[pki.medecin.cert], reference_uri=f"#{element.get('Id')}",
                       id_attribute="Id")


def _signed_sha512(pki):
    element = fresh(pki)
    element.set("dateSignature", datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"))
    return sign_document(element, pki.medecin.key, pki.medecin.cert, signature_method=SignatureMethod.RSA_SHA512,
                         digest_algorithm=DigestAlgorithm.SHA512)


def _moved_under_forged(pki):
    return fixtures_pki.hidden_under_forged(pki.medecin)


def _forged_takes_id(pki):
    return fixtures_pki.forged_with_the_signed_id(pki.medecin)


def _in_a_lot(element, extra_ns: dict[str, str] | None = None):
    lot = etree.Element("{urn:lot}Lot", nsmap={None: "urn:lot", **(extra_ns or {})})
    lot.append(copy.deepcopy(element))
    return lot


def _flip_signature_byte(el):
    value = sig(el).find(f"{DS}SignatureValue")
    raw = bytearray(b64decode(value.text))
    raw[10] ^= 1
    value.text = b64encode(bytes(raw)).decode()


def _tamper_digest(el):
    dv = signed_info(el).find(f"{DS}Reference/{DS}DigestValue")
    raw = bytearray(b64decode(dv.text))
    raw[0] ^= 1
    dv.text = b64encode(bytes(raw)).decode()


def _prefix_ds_renamed(pki):
    """The same signature with the ds namespace under another prefix: identical C14N? No:
    the prefix is part of the canonical SignedInfo, so it is signed under that prefix."""
    return manual(fresh(pki), pki.medecin, signature_nsmap={"sig": DS_NS})


def _default_ns_signature(pki):
    return manual(fresh(pki), pki.medecin, signature_nsmap={None: DS_NS})


def _rename_content_prefix(pki):
    """After signing, the FSE namespace is given a prefix: exclusive C14N keeps prefixes."""
    element = signed_fse(pki.medecin)
    text = to_bytes(element).decode()
    return parse_untrusted(text.replace(f'xmlns="{FSE_NS}"', f'xmlns:f="{FSE_NS}"')
                           .replace("<", "<f:").replace("<f:/", "</f:").replace("</", "</f:")
                           .replace("</f:f:", "</f:").replace("<f:ds:", "<ds:").replace("</f:ds:", "</ds:")
                           .replace("<f:?", "<?").encode())


def _certificate_before(first_holder):
    """Another certificate placed before the signer's in X509Data (or after, with ``None``)."""
    def fn(el):
        data = sig(el).find(f"{DS}KeyInfo/{DS}X509Data")
        extra = etree.Element(f"{DS}X509Certificate")
        extra.text = b64encode(first_holder.public_bytes(serialization.Encoding.DER)).decode()
        data.insert(0, extra)
    return fn


def _certificate_after(holder_cert):
    def fn(el):
        etree.SubElement(sig(el).find(f"{DS}KeyInfo/{DS}X509Data"), f"{DS}X509Certificate").text = b64encode(
            holder_cert.public_bytes(serialization.Encoding.DER)).decode()
    return fn


def _signature_in_object(pki):
    """A second signature hidden in a ds:Object of the first."""
    def fn(el):
        obj = etree.SubElement(sig(el), f"{DS}Object")
        obj.append(sig(signed_fse(pki.medecin_ec)))
    return edit(signed_fse(pki.medecin), fn)


def _non_ascii_prefix_in_content(pki):
    element = signed_fse(pki.medecin)
    text = to_bytes(element).decode().replace("<FSE ", '<FSE xmlns:é="urn:x" ', 1)
    text = text.replace("</Totaux>", "<é:Note>1</é:Note></Totaux>", 1)
    return parse_untrusted(text.encode())


def _lot_text(pki, fse_text: str, lot_ns: str) -> etree._Element:
    return parse_untrusted(f'<Lot xmlns="urn:lot" {lot_ns}>{fse_text}</Lot>'.encode())


def _ds_on_the_lot_only(pki):
    """The ds prefix declared by the lot only: the signature uses it without declaring it."""
    text = etree.tostring(signed_fse(pki.medecin)).decode().replace(f' xmlns:ds="{DS_NS}"', "", 1)
    return _lot_text(pki, text, f'xmlns:ds="{DS_NS}"')


def _ds_under_two_prefixes(pki):
    """The lot binds the ds namespace to another prefix (and x), the signature to ds."""
    return _lot_text(pki, etree.tostring(signed_fse(pki.medecin)).decode(), f'xmlns:sig="{DS_NS}" xmlns:x="urn:x"')


def _ds_redeclared_in_key_info(pki):
    text = to_bytes(signed_fse(pki.medecin)).replace(b"<ds:KeyInfo>", f'<ds:KeyInfo xmlns:ds="{DS_NS}">'.encode(), 1)
    return parse_untrusted(text)


CASES: dict[str, tuple[Callable, str]] = {
    # valid, of every accepted shape
    "valid RSA-2048": (lambda p: signed_fse(p.medecin), ACCEPTED),
    "valid ECDSA P-256": (lambda p: signed_fse(p.medecin_ec), ACCEPTED),
    "valid RSA-SHA512": (_signed_sha512, ACCEPTED),
    "valid inclusive C14N (signxml signer)": (_re_signed_inclusive, ACCEPTED),
    "valid manual exclusive": (lambda p: manual(fresh(p), p.medecin), ACCEPTED),
    "valid manual ECDSA": (lambda p: manual(fresh(p), p.medecin_ec, method=ECDSA_SHA256), ACCEPTED),
    "valid manual inclusive 1.0": (lambda p: manual(fresh(p), p.medecin, si_c14n=INC,
                                                    transforms=((ENVELOPED, None), (INC, None)),
                                                    digest_c14n=(INC, None)), ACCEPTED),
    "valid manual inclusive 1.1 declared": (lambda p: manual(fresh(p), p.medecin, si_c14n=INC11,
                                                             transforms=((ENVELOPED, None), (INC11, None)),
                                                             digest_c14n=(INC, None)), ACCEPTED),
    "valid enveloped only (default exclusive)": (lambda p: manual(fresh(p), p.medecin,
                                                                  transforms=((ENVELOPED, None),)), ACCEPTED),
    "valid c14n before enveloped": (lambda p: manual(fresh(p), p.medecin,
                                                     transforms=((EXC, None), (ENVELOPED, None))), ACCEPTED),
    "prefix list on the reference, not in the content": (lambda p: manual(fresh(p), p.medecin, transforms=(
        (ENVELOPED, None), (EXC, "ds xsi"))), ACCEPTED),
    "prefix list on the reference, signed with it": (lambda p: manual(fresh(p), p.medecin, transforms=(
        (ENVELOPED, None), (EXC, "ds xsi")), digest_c14n=(EXC, ["ds", "xsi"])), ACCEPTED),
    "prefix list on SignedInfo": (lambda p: manual(fresh(p), p.medecin, si_prefixes="ds #default"), "FSE-SIG-019"),
    "prefix list with doubled spaces": (lambda p: manual(fresh(p), p.medecin, si_prefixes="ds  xsi"), "FSE-SIG-019"),
    "prefix list on inclusive C14N": (lambda p: manual(fresh(p), p.medecin, si_c14n=INC, si_prefixes="ds"),
                                      "FSE-SIG-019"),
    "ds under another prefix": (_prefix_ds_renamed, ACCEPTED),
    "ds as the default namespace": (_default_ns_signature, ACCEPTED),
    "content prefix renamed after signing": (_rename_content_prefix, "FSE-SIG-003"),
    "unused namespace added after signing (exclusive)": (
        lambda p: parse_untrusted(to_bytes(signed_fse(p.medecin)).replace(
            b"<FSE ", b'<FSE xmlns:x="urn:x" ', 1)), ACCEPTED),
    "unused namespace added after signing (inclusive)": (
        lambda p: parse_untrusted(to_bytes(_re_signed_inclusive(p)).replace(
            b"<FSE ", b'<FSE xmlns:x="urn:x" ', 1)), "FSE-SIG-004"),  # SignedInfo sees it too
    # tampering
    "tampered amount": (lambda p: edit(signed_fse(p.medecin), lambda e: setattr(
        e.find(f"{F}Totaux/{F}PartAMO"), "text", "999.00")), "FSE-SIG-003"),
    "tampered signing time": (lambda p: edit(signed_fse(p.medecin), lambda e: e.set(
        "dateSignature", datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:00Z"))), "FSE-SIG-003"),
    "tampered digest value": (lambda p: edit(signed_fse(p.medecin), _tamper_digest), "FSE-SIG-004"),
    "tampered signature value": (lambda p: edit(signed_fse(p.medecin), _flip_signature_byte), "FSE-SIG-004"),
    "signature value not base64": (lambda p: manual(fresh(p), p.medecin, signature_value="%%%%"), "FSE-SIG-004"),
    "ECDSA signature of the wrong length": (lambda p: manual(fresh(p), p.medecin_ec, method=ECDSA_SHA256,
                                                             signature_value=b64encode(b"x" * 63).decode()),
                                            "FSE-SIG-004"),
    "ECDSA method with an RSA certificate": (lambda p: manual(fresh(p), p.medecin_ec, method=ECDSA_SHA256,
                                                              cert=p.medecin.cert), "FSE-SIG-019"),
    "RSA method with an ECDSA certificate": (lambda p: manual(fresh(p), p.medecin, cert=p.medecin_ec.cert),
                                             "FSE-SIG-019"),
    # moved and duplicated elements, wrapping
    "duplicated line": (lambda p: edit(signed_fse(p.medecin), lambda e: e.find(f"{F}Lignes").append(
        copy.deepcopy(e.find(f"{F}Lignes")[0]))), "FSE-SIG-003"),
    "moved line": (lambda p: edit(signed_fse(p.medecin), lambda e: e.find(f"{F}Lignes").append(
        e.find(f"{F}Lignes")[0])), "FSE-SIG-003"),
    "signed FSE hidden under a forged one": (_moved_under_forged, "FSE-SIG-012"),
    "forged FSE takes the signed Id": (_forged_takes_id, "FSE-SIG-013"),
    "duplicate Id inside": (lambda p: edit(signed_fse(p.medecin), lambda e: e.find(f"{F}Patient").set(
        "Id", e.get("Id"))), "FSE-SIG-013"),
    "namespaced Id duplicate": (lambda p: edit(signed_fse(p.medecin), lambda e: e.find(f"{F}Patient").set(
        "{urn:x}Id", e.get("Id"))), "FSE-SIG-013"),
    "signature not last": (lambda p: edit(signed_fse(p.medecin), lambda e: e.insert(0, sig(e))), "FSE-SIG-011"),
    "signature not a direct child": (lambda p: edit(signed_fse(p.medecin), lambda e: e.find(f"{F}Totaux").append(
        sig(e))), "FSE-SIG-011"),
    "second signature": (lambda p: edit(signed_fse(p.medecin), lambda e: e.find(f"{F}Totaux").append(
        sig(signed_fse(p.medecin_ec)))), "FSE-SIG-002"),
    "second signature in a ds:Object of the first": (_signature_in_object, "FSE-SIG-002"),
    "Id of the FSE in another namespace": (lambda p: edit(signed_fse(p.medecin), lambda e: (
        e.set("{urn:x}Id", e.get("Id")), e.attrib.pop("Id"))), "FSE-SIG-012"),
    "second signature after the first": (lambda p: edit(signed_fse(p.medecin), lambda e: e.append(
        sig(signed_fse(p.medecin)))), "FSE-SIG-002"),
    "no signature": (lambda p: fresh(p), "FSE-SIG-001"),
    "in a lot (exclusive)": ((lambda p: _in_a_lot(signed_fse(p.medecin), {"x": "urn:x"})), ACCEPTED),
    "in a lot (inclusive, other context)": ((lambda p: _in_a_lot(_re_signed_inclusive(p), {"x": "urn:x"})),
                                            "FSE-SIG-004"),  # inclusive C14N: the lot's namespaces count
    "in a lot (inclusive, same context)": ((lambda p: _in_a_lot(_re_signed_inclusive(p))), ACCEPTED),
    # comments and CDATA
    "comment inside signed text": (lambda p: edit(signed_fse(p.medecin), lambda e: _split_text_with(
        e.find(f"{F}Totaux/{F}PartAMO"), lambda: etree.Comment(" x "))), ACCEPTED),
    "CDATA inside signed text": (lambda p: edit(signed_fse(p.medecin), _with_cdata), ACCEPTED),
    "comment inside the digest value": (lambda p: edit(signed_fse(p.medecin), lambda e: _split_text_with(
        signed_info(e).find(f"{DS}Reference/{DS}DigestValue"), lambda: etree.Comment(" x "))), ACCEPTED),
    "comment inside SignedInfo": (lambda p: edit(signed_fse(p.medecin), lambda e: signed_info(e).insert(
        0, etree.Comment(" x "))), ACCEPTED),
    "comment inside the certificate": (lambda p: edit(signed_fse(p.medecin), lambda e: _split_text_with(
        sig(e).find(f"{DS}KeyInfo/{DS}X509Data/{DS}X509Certificate"), lambda: etree.Comment(" x "))),
        "FSE-SIG-018"),
    "CDATA certificate": (lambda p: edit(signed_fse(p.medecin), lambda e: _cdata(
        sig(e).find(f"{DS}KeyInfo/{DS}X509Data/{DS}X509Certificate"))), ACCEPTED),
    "comments kept by the C14N method": (lambda p: manual(fresh(p), p.medecin, si_c14n=EXC_COMMENTS),
                                         "FSE-SIG-019"),
    "comments kept by the transform": (lambda p: manual(fresh(p), p.medecin, transforms=(
        (ENVELOPED, None), (EXC_COMMENTS, None))), "FSE-SIG-019"),
    # algorithms
    "HMAC": (lambda p: manual(fresh(p), p.medecin, method=HMAC_SHA256, key=b"secret"), "FSE-SIG-010"),
    "HMAC-SHA1": (lambda p: manual(fresh(p), p.medecin, method=HMAC_SHA1, key=b"secret"), "FSE-SIG-010"),
    "RSA-SHA1": (lambda p: manual(fresh(p), p.medecin, method=RSA_SHA1, hash_cls=hashes.SHA1), "FSE-SIG-009"),
    "SHA-1 digest": (lambda p: manual(fresh(p), p.medecin, digest_uri=SHA1, digest_name="sha1"), "FSE-SIG-009"),
    "unknown signature method": (lambda p: manual(fresh(p), p.medecin, method="urn:x"), "FSE-SIG-009"),
    # certificates
    "foreign CA": (lambda p: signed_fse(p.rogue), "FSE-SIG-005"),
    "expired certificate": (lambda p: signed_fse(p.expired), "FSE-SIG-006"),
    "revoked certificate": (lambda p: signed_fse(p.revoked), "FSE-SIG-008"),
    "another professional's certificate, my key": (lambda p: manual(fresh(p), p.medecin, cert=p.other.cert),
                                                   "FSE-SIG-004"),
    "foreign certificate before the signer's": (lambda p: edit(signed_fse(p.medecin), _certificate_before(
        p.other.cert)), "FSE-SIG-004"),
    "foreign CA's certificate before the signer's": (lambda p: edit(signed_fse(p.medecin), _certificate_before(
        p.rogue.cert)), "FSE-SIG-005"),
    "unrelated certificate after the signer's": (lambda p: edit(signed_fse(p.medecin), _certificate_after(
        p.other.cert)), ACCEPTED),
    "matching RSA KeyValue": (lambda p: manual(fresh(p), p.medecin, key_info=[
        rsa_key_value(p.medecin.cert.public_key())]), ACCEPTED),
    "other RSA KeyValue": (lambda p: manual(fresh(p), p.medecin, key_info=[
        rsa_key_value(p.medecin.cert.public_key(), modulus_delta=2)]), "FSE-SIG-019"),
    "matching EC KeyValue": (lambda p: manual(fresh(p), p.medecin_ec, method=ECDSA_SHA256, key_info=[
        ec_key_value(p.medecin_ec.cert.public_key())]), ACCEPTED),
    "other EC KeyValue": (lambda p: manual(fresh(p), p.medecin_ec, method=ECDSA_SHA256, key_info=[
        ec_key_value(p.medecin_ec.cert.public_key(), flip=True)]), "FSE-SIG-019"),
    "EC KeyValue of an unknown curve": (lambda p: manual(fresh(p), p.medecin_ec, method=ECDSA_SHA256, key_info=[
        ec_key_value(p.medecin_ec.cert.public_key(), "urn:oid:1.2.3")]), "FSE-SIG-019"),
    "matching DEREncodedKeyValue": (lambda p: manual(fresh(p), p.medecin, key_info=[
        der_key_value(p.medecin.cert.public_key())]), ACCEPTED),
    "other DEREncodedKeyValue": (lambda p: manual(fresh(p), p.medecin, key_info=[
        der_key_value(p.other.cert.public_key())]), "FSE-SIG-019"),
    # references and transforms
    "reference to another Id": (lambda p: manual(fresh(p), p.medecin, uri="#autre"), "FSE-SIG-012"),
    "empty reference URI": (lambda p: manual(fresh(p), p.medecin, uri=""), "FSE-SIG-012"),
    "XPointer reference": (lambda p: manual(fresh(p), p.medecin, uri="#xpointer(/)"), "FSE-SIG-012"),
    "no transforms": (lambda p: manual(fresh(p), p.medecin, transforms=None), "FSE-SIG-019"),
    "C14N only, not enveloped": (lambda p: manual(fresh(p), p.medecin, transforms=((EXC, None),)), "FSE-SIG-019"),
    "XPath transform": (lambda p: manual(fresh(p), p.medecin, transforms=((ENVELOPED, None), (XPATH, None))),
                        "FSE-SIG-019"),
    "base64 transform": (lambda p: manual(fresh(p), p.medecin, transforms=((ENVELOPED, None), (BASE64, None))),
                         "FSE-SIG-019"),
    "two C14N transforms": (lambda p: manual(fresh(p), p.medecin, transforms=(
        (ENVELOPED, None), (EXC, None), (INC, None))), "FSE-SIG-019"),
    "enveloped twice": (lambda p: manual(fresh(p), p.medecin, transforms=(
        (ENVELOPED, None), (ENVELOPED, None), (EXC, None))), ACCEPTED),
    # structure the XML-DSig schema refuses
    "unknown element in SignedInfo": (lambda p: edit(signed_fse(p.medecin), lambda e: signed_info(e).append(
        etree.Element(f"{DS}Extra"))), "FSE-SIG-019"),
    "non-ASCII element name in the signature": (lambda p: edit(signed_fse(p.medecin), lambda e: setattr(
        signed_info(e).find(f"{DS}Reference/{DS}DigestMethod"), "tag", f"{DS}DigéstMethod")), "FSE-SIG-019"),
    "non-ASCII attribute name in the signature": (lambda p: edit(signed_fse(p.medecin), lambda e: signed_info(
        e).find(f"{DS}Reference").set("Marqué", "1")), "FSE-SIG-019"),
    "non-ASCII attribute name in the content": (lambda p: edit(signed_fse(p.medecin), lambda e: e.find(
        f"{F}Totaux").set("marqué", "1")), "FSE-SIG-019"),
    "non-ASCII prefix in the content": (_non_ascii_prefix_in_content, "FSE-SIG-019"),
    "non-ASCII element name in the content": (lambda p: edit(signed_fse(p.medecin), lambda e: etree.SubElement(
        e.find(f"{F}Totaux"), f"{F}Remarqué")), "FSE-SIG-019"),
    # Id-like attributes, SignedInfo read in place or re-parsed, namespaces around the signature
    "lower-case id duplicate": (lambda p: edit(signed_fse(p.medecin), lambda e: e.find(f"{F}Patient").set(
        "id", e.get("Id"))), "FSE-SIG-013"),
    "namespaced ID duplicate": (lambda p: edit(signed_fse(p.medecin), lambda e: e.find(f"{F}Patient").set(
        "{urn:x}ID", e.get("Id"))), "FSE-SIG-013"),
    "two-letter attribute with the Id's value (not an Id)": (lambda p: manual(edit(fresh(p), lambda e: e.find(
        f"{F}Patient").set("xx", e.get("Id"))), p.medecin), ACCEPTED),
    "comment inside the transforms": (lambda p: edit(signed_fse(p.medecin), lambda e: signed_info(e).find(
        f"{DS}Reference/{DS}Transforms").insert(1, etree.Comment(" x "))), ACCEPTED),
    "comment inside the digest method": (lambda p: edit(signed_fse(p.medecin), lambda e: signed_info(e).find(
        f"{DS}Reference/{DS}DigestMethod").append(etree.Comment(" x "))), ACCEPTED),
    "CDATA digest value": (lambda p: edit(signed_fse(p.medecin), lambda e: _cdata(signed_info(e).find(
        f"{DS}Reference/{DS}DigestValue"))), ACCEPTED),
    "white space in SignedInfo after signing": (lambda p: edit(signed_fse(p.medecin), lambda e: setattr(
        signed_info(e).find(f"{DS}SignatureMethod"), "tail", "\n")), "FSE-SIG-004"),
    "ds declared by the lot only": (_ds_on_the_lot_only, ACCEPTED),
    "ds also bound to another prefix by the lot": (_ds_under_two_prefixes, ACCEPTED),
    "ds redeclared in KeyInfo": (_ds_redeclared_in_key_info, ACCEPTED),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_strict_and_signxml_agree(name, pki, verify_policy):
    build, expected = CASES[name]
    document = build(pki)
    pick = (lambda root: root[0]) if document.tag == "{urn:lot}Lot" else None
    strict, reference = both(to_bytes(document), verify_policy, pick)
    assert strict == reference, f"{name}: strict {short(strict)}, signxml {short(reference)}"
    assert short(strict) == expected


def _mutations(element):
    """Every element of a signed FSE (signature included) removed, then duplicated, in turn."""
    count = sum(1 for _ in element.iter(etree.Element))
    for i in range(1, count):
        for how in ("remove", "duplicate", "text"):
            work = copy.deepcopy(element)
            node = list(work.iter(etree.Element))[i]
            if how == "remove":
                node.getparent().remove(node)
            elif how == "duplicate":
                node.addnext(copy.deepcopy(node))
            else:
                node.text = (node.text or "") + "0"
            yield f"{how} #{i} {etree.QName(node).localname}", work


@pytest.mark.parametrize("holder_name", ["medecin", "medecin_ec"])
def test_every_element_removed_duplicated_or_changed(holder_name, pki, verify_policy):
    element = signed_fse(getattr(pki, holder_name))
    seen = set()
    for label, work in _mutations(element):
        strict, reference = both(to_bytes(work), verify_policy)
        assert strict == reference, f"{label}: strict {short(strict)}, signxml {short(reference)}"
        seen.add(short(strict))
    assert {"FSE-SIG-003", "FSE-SIG-004", "FSE-SIG-019"} <= seen


def test_the_setting_chooses_the_verifier(pki):
    from amelipro.xmlcore.signature import VerifyPolicy

    base = {"TRUST_STORE_DIR": str(pki.trust_dir)}
    assert VerifyPolicy.from_config(base).verifier == "strict"
    assert VerifyPolicy.from_config({**base, "SIGNATURE_VERIFIER": "signxml"}).verifier == "signxml"
    with pytest.raises(ValueError):
        VerifyPolicy.from_config({**base, "SIGNATURE_VERIFIER": "xmlsec"})
