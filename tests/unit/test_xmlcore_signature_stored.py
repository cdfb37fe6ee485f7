"""``signed_document`` (the document stored and served for an accepted FSE) gives, byte for
byte, what its first version gave (kept below as the reference) on every accepted document of
the differential corpus and on documents with what a sender may add around the signature."""

from __future__ import annotations

import copy
from dataclasses import replace

import pytest
from lxml import etree

from amelipro.xmlcore.safe import _parser as _safe_parser
from amelipro.xmlcore.safe import parse_untrusted
from amelipro.xmlcore.signature import DS_NS, signed_document, verify_signed_element
from amelipro.xmlcore.signature_policy import drop, the_signature
from tests.fixtures_pki import signed_fse
from tests.unit.test_xmlcore_signature_differential import ACCEPTED, CASES, to_bytes

DS = f"{{{DS_NS}}}"
_KEPT = (f"{DS}SignedInfo", f"{DS}SignatureValue", f"{DS}KeyInfo")


def reference_signed_document(result) -> str:
    """The first version of ``signed_document`` (re-parse of the content, XPath, deep copies)."""
    content = etree.fromstring(etree.tostring(result.signed), parser=_safe_parser())
    for stray in content.xpath("//comment() | //processing-instruction()"):
        drop(stray)
    signature = copy.deepcopy(the_signature(result.source))
    signature.tail = None
    for stray in signature.xpath(".//comment() | .//processing-instruction()"):
        drop(stray)
    for node in list(signature):
        if node.tag not in _KEPT:
            drop(node)
    for key_info in signature.findall(f"{DS}KeyInfo"):
        for node in list(key_info):
            if node.tag != f"{DS}X509Data":
                drop(node)
        for data in key_info.findall(f"{DS}X509Data"):
            for node in list(data):
                if node.tag != f"{DS}X509Certificate":
                    drop(node)
    content.append(signature)
    return etree.tostring(content, encoding="unicode")


def _around_the_signature(pki):
    """Comments around the signature, unsigned key names, a comment and an object in it,
    the FSE in a lot that declares the ds prefix and others, white space around the FSE
    (text around the signature is signed: a tail would be a tampering)."""
    text = to_bytes(signed_fse(pki.medecin)).decode()
    text = text.replace("<ds:Signature ", "<!-- avant --><ds:Signature ", 1)
    text = text.replace("</ds:Signature>", "</ds:Signature><!-- après -->", 1)
    text = text.replace("<ds:KeyInfo>", "<ds:KeyInfo><ds:KeyName>x</ds:KeyName>\n<!-- k -->", 1)
    text = text.replace("</ds:X509Certificate>", "</ds:X509Certificate><ds:X509SubjectName>CN=x</ds:X509SubjectName>", 1)
    text = text.replace("</ds:KeyInfo>", "</ds:KeyInfo><ds:Object>é</ds:Object>", 1)
    text = text.replace("<?xml version='1.0' encoding='utf-8'?>", "")
    lot = (f'<Lot xmlns="urn:lot" xmlns:ds="{DS_NS}" xmlns:x="urn:x">\n <Entete/>\n {text}\n'
           f' <!-- fin -->\n</Lot>')
    return lot.encode()


def _documents(pki):
    for name, (build, expected) in sorted(CASES.items()):
        if expected == ACCEPTED:
            document = build(pki)
            yield name, to_bytes(document), document.tag == "{urn:lot}Lot"
    yield "extras around the signature, in a lot", _around_the_signature(pki), True


@pytest.mark.parametrize("verifier", ["strict", "signxml"])
def test_the_stored_document_is_unchanged(pki, verify_policy, verifier):
    policy = replace(verify_policy, verifier=verifier)
    seen = 0
    for name, data, in_lot in _documents(pki):
        root = parse_untrusted(data)
        element = root.find(f"{{{'urn:amelipro:fse:1'}}}FSE") if in_lot else root
        result = verify_signed_element(element, policy)
        before = etree.tostring(result.signed)
        assert signed_document(result) == reference_signed_document(result), name
        assert etree.tostring(result.signed) == before, name  # the verified content is left as it was
        seen += 1
    assert seen >= 25


def test_processing_instructions_are_left_out(pki, verify_policy):
    """The safe parser refuses them, but a caller may verify a tree built otherwise."""
    text = to_bytes(signed_fse(pki.medecin)).replace(b"<ds:KeyInfo>", b"<ds:KeyInfo><?pi in-key-info?>", 1)
    element = etree.fromstring(text)
    result = verify_signed_element(element, verify_policy)
    assert signed_document(result) == reference_signed_document(result)
    assert "<?pi" not in signed_document(result)

