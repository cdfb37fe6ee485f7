"""Each signature rule refused with its own code (keys generated in tests/fixtures_pki.py)."""

from __future__ import annotations

import copy
import hashlib
from base64 import b64encode
from datetime import UTC, datetime, timedelta

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding
from lxml import etree
from signxml import SignatureMethod, XMLSigner

from amelipro.fse.document import care_sheet_to_xml
from amelipro.xmlcore.errors import SignatureError
from amelipro.xmlcore.safe import parse_untrusted
from amelipro.xmlcore.schemas import FSE_NS
from amelipro.xmlcore.signature import (
    DS_NS,
    TrustStore,
    VerifyPolicy,
    check_signer,
    sign_document,
    sign_fse,
    verify_document,
    verify_signed_element,
)
from tests.fixtures_pki import (
    RPPS_MEDECIN,
    RPPS_OTHER,
    forged_with_the_signed_id,
    hidden_under_forged,
    sample_care_sheet,
    signed_fse,
)
from tests.support import run_threads

F = f"{{{FSE_NS}}}"
DS = f"{{{DS_NS}}}"
EXC_C14N = "http://www.w3.org/2001/10/xml-exc-c14n#"
ENVELOPED = "http://www.w3.org/2000/09/xmldsig#enveloped-signature"


def reparse(element) -> etree._Element:
    """What the gateway sees: the bytes, parsed by the safe parser."""
    return parse_untrusted(etree.tostring(element))


def refused(element, policy, **kw) -> str:
    with pytest.raises(SignatureError) as info:
        verify_signed_element(reparse(element), policy, **kw)
    return info.value.code


def manual_signature(element, key, cert, *, sig_uri, digest_uri, digest_name, sign):
    """Build an enveloped signature by hand, with any algorithm (signxml refuses SHA-1)."""
    work = copy.deepcopy(element)
    work.set("dateSignature", datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"))
    digest = hashlib.new(digest_name, etree.tostring(work, method="c14n", exclusive=True)).digest()
    E = lambda tag, **attrs: etree.Element(f"{DS}{tag}", nsmap={"ds": DS_NS}, **attrs)  # noqa: E731
    signature = E("Signature")
    info = etree.SubElement(signature, f"{DS}SignedInfo")
    etree.SubElement(info, f"{DS}CanonicalizationMethod", Algorithm=EXC_C14N)
    etree.SubElement(info, f"{DS}SignatureMethod", Algorithm=sig_uri)
    ref = etree.SubElement(info, f"{DS}Reference", URI=f"#{work.get('Id')}")
    transforms = etree.SubElement(ref, f"{DS}Transforms")
    etree.SubElement(transforms, f"{DS}Transform", Algorithm=ENVELOPED)
    etree.SubElement(transforms, f"{DS}Transform", Algorithm=EXC_C14N)
    etree.SubElement(ref, f"{DS}DigestMethod", Algorithm=digest_uri)
    etree.SubElement(ref, f"{DS}DigestValue").text = b64encode(digest).decode()
    work.append(signature)
    value = sign(etree.tostring(info, method="c14n", exclusive=True))
    etree.SubElement(signature, f"{DS}SignatureValue").text = b64encode(value).decode()
    key_info = etree.SubElement(signature, f"{DS}KeyInfo")
    x509data = etree.SubElement(key_info, f"{DS}X509Data")
    etree.SubElement(x509data, f"{DS}X509Certificate").text = b64encode(
        cert.public_bytes(serialization.Encoding.DER)).decode()
    return work


def test_a_valid_rsa_signature_is_verified(pki, verify_policy):
    element = signed_fse(pki.medecin)
    result = verify_signed_element(reparse(element), verify_policy)
    assert result.rpps == RPPS_MEDECIN
    assert result.signature_method == "RSA_SHA256"
    assert result.signed.tag == f"{F}FSE"
    assert result.signed.find(f"{DS}Signature") is None  # only the signed content
    assert abs(result.signing_time - datetime.now(UTC)) < timedelta(minutes=1)
    assert result.certificate == pki.medecin.cert


def test_a_valid_ecdsa_signature_is_verified(pki, verify_policy):
    result = verify_signed_element(reparse(signed_fse(pki.medecin_ec)), verify_policy)
    assert result.signature_method == "ECDSA_SHA256" and result.rpps == RPPS_MEDECIN


def test_line_numbers_point_into_the_received_document(pki, verify_policy):
    data = etree.tostring(signed_fse(pki.medecin), pretty_print=False)
    # re-indent without breaking the signature: whitespace inside the signed content
    # would be tampering, so lines come from a document written over several lines.
    unsigned = care_sheet_to_xml(sample_care_sheet(3))
    etree.indent(unsigned)
    signed = sign_fse(unsigned, pki.medecin.key, pki.medecin.cert)
    received = parse_untrusted(b"<!-- header -->\n" + etree.tostring(signed))
    result = verify_signed_element(received, verify_policy)
    nir = result.signed.find(f"{F}Patient/{F}NIR")
    assert result.line_of(nir) == received.find(f"{F}Patient/{F}NIR").sourceline > 2
    assert data  # the compact form verifies too (first test)


def test_tampered_content(pki, verify_policy):
    element = signed_fse(pki.medecin)
    element.find(f"{F}Totaux/{F}PartAMO").text = "99.99"
    assert refused(element, verify_policy) == "FSE-SIG-003"


def test_tampered_signed_info(pki, verify_policy):
    element = signed_fse(pki.medecin)
    digest = element.find(f"{DS}Signature/{DS}SignedInfo/{DS}Reference/{DS}DigestValue")
    digest.text = b64encode(b"\0" * 32).decode()
    assert refused(element, verify_policy) == "FSE-SIG-004"


def test_signing_time_is_signed(pki, verify_policy):
    element = signed_fse(pki.medecin)
    element.set("dateSignature", (datetime.now(UTC) - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ"))
    assert refused(element, verify_policy) == "FSE-SIG-003"


def test_unknown_ca(pki, verify_policy):
    assert refused(signed_fse(pki.rogue), verify_policy) == "FSE-SIG-005"


def test_expired_certificate(pki, verify_policy):
    assert refused(signed_fse(pki.expired), verify_policy) == "FSE-SIG-006"


def test_expired_certificate_is_accepted_for_a_signature_made_while_valid(pki, verify_policy):
    when = pki.expired.cert.not_valid_after_utc - timedelta(days=2)
    element = signed_fse(pki.expired, signing_time=when)
    policy = VerifyPolicy(verify_policy.trust_store, max_signature_age=timedelta(days=30))
    result = verify_signed_element(reparse(element), policy, now=when + timedelta(days=5))
    assert result.signing_time == when.replace(microsecond=0)


def test_not_yet_valid_certificate(pki, verify_policy):
    assert refused(signed_fse(pki.not_yet_valid), verify_policy) == "FSE-SIG-007"


def test_revoked_certificate(pki, verify_policy):
    assert refused(signed_fse(pki.revoked), verify_policy) == "FSE-SIG-008"


def test_revocation_unknown_without_crl(pki, tmp_path):
    (tmp_path / "ca.pem").write_bytes((pki.trust_dir / "test-ca.pem").read_bytes())
    policy = VerifyPolicy(TrustStore.load(tmp_path))
    assert refused(signed_fse(pki.medecin), policy) == "FSE-SIG-020"
    relaxed = VerifyPolicy(policy.trust_store, require_crl=False)
    assert verify_signed_element(reparse(signed_fse(pki.medecin)), relaxed).rpps == RPPS_MEDECIN


RSA_SHA1 = "http://www.w3.org/2000/09/xmldsig#rsa-sha1"
RSA_SHA256 = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"


def _manual_rsa(holder, sig_uri: str, digest_name: str, hash_algorithm):
    """The sample FSE signed by hand with RSA (PKCS#1 v1.5) and the given algorithms."""
    digest_uri = {"sha1": "http://www.w3.org/2000/09/xmldsig#sha1",
                  "sha256": "http://www.w3.org/2001/04/xmlenc#sha256"}[digest_name]
    return manual_signature(
        care_sheet_to_xml(sample_care_sheet()), holder.key, holder.cert,
        sig_uri=sig_uri, digest_uri=digest_uri, digest_name=digest_name,
        sign=lambda data: holder.key.sign(data, padding.PKCS1v15(), hash_algorithm),
    )


@pytest.mark.parametrize(("sig_uri", "hash_algorithm"), [(RSA_SHA1, hashes.SHA1()), (RSA_SHA256, hashes.SHA256())],
                         ids=["sha1_signature", "sha1_digest_under_a_sha256_signature"])
def test_sha1_is_refused(pki, verify_policy, sig_uri, hash_algorithm):
    element = _manual_rsa(pki.medecin, sig_uri, "sha1", hash_algorithm)
    assert refused(element, verify_policy) == "FSE-SIG-009"


def test_manual_sha256_signature_is_accepted(pki, verify_policy):
    """The hand-made signature helper is right: only the algorithm makes the tests above fail."""
    element = _manual_rsa(pki.medecin, RSA_SHA256, "sha256", hashes.SHA256())
    assert verify_signed_element(reparse(element), verify_policy).rpps == RPPS_MEDECIN


def test_hmac_signature_is_refused(verify_policy):
    unsigned = care_sheet_to_xml(sample_care_sheet())
    unsigned.set("dateSignature", datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"))
    signer = XMLSigner(signature_algorithm=SignatureMethod.HMAC_SHA256,
                       c14n_algorithm=EXC_C14N)
    element = signer.sign(unsigned, key=b"shared-secret-shared-secret", reference_uri=f"#{unsigned.get('Id')}")
    assert refused(element, verify_policy) == "FSE-SIG-010"


def test_missing_signature(verify_policy):
    assert refused(care_sheet_to_xml(sample_care_sheet()), verify_policy) == "FSE-SIG-001"


def test_second_signature(pki, verify_policy):
    element = signed_fse(pki.medecin)
    other = signed_fse(pki.medecin_ec)
    element.find(f"{F}Totaux").append(other.find(f"{DS}Signature"))
    assert refused(element, verify_policy) == "FSE-SIG-002"


def test_signature_not_a_direct_child(pki, verify_policy):
    element = signed_fse(pki.medecin)
    element.find(f"{F}Totaux").append(element.find(f"{DS}Signature"))
    assert refused(element, verify_policy) == "FSE-SIG-011"


def test_signature_not_last(pki, verify_policy):
    element = signed_fse(pki.medecin)
    element.insert(0, element.find(f"{DS}Signature"))
    assert refused(element, verify_policy) == "FSE-SIG-011"


def test_wrapping_signed_element_moved_under_a_forged_one(pki, verify_policy):
    """The original signed FSE is hidden inside a forged FSE that carries its signature."""
    assert refused(hidden_under_forged(pki.medecin, amo="999.00"), verify_policy) == "FSE-SIG-012"


def test_wrapping_forged_element_takes_the_signed_id(pki, verify_policy):
    """Same Id as the signed FSE, other content, the original moved inside: ambiguous Id."""
    assert refused(forged_with_the_signed_id(pki.medecin), verify_policy) == "FSE-SIG-013"


def test_reference_to_another_id(pki, verify_policy):
    element = signed_fse(pki.medecin)
    element.set("Id", "FSE-autre")
    assert refused(element, verify_policy) == "FSE-SIG-012"


def test_duplicate_id_inside_the_fse(pki, verify_policy):
    element = signed_fse(pki.medecin)
    element.find(f"{F}Patient").set("Id", element.get("Id"))
    assert refused(element, verify_policy) == "FSE-SIG-013"


def test_certificate_of_another_professional(pki, verify_policy):
    element = signed_fse(pki.other, rpps=RPPS_MEDECIN)  # Dr Martin's FSE, signed by another
    result = verify_signed_element(reparse(element), verify_policy)
    assert result.rpps == RPPS_OTHER
    codes = [i.code for i in check_signer(result, RPPS_MEDECIN)]
    assert codes == ["FSE-SIG-014"]
    assert [i.code for i in check_signer(result, RPPS_OTHER, token_rpps=RPPS_MEDECIN)] == ["FSE-SIG-015"]
    assert check_signer(result, RPPS_OTHER, token_rpps=RPPS_OTHER) == []


def test_certificate_without_rpps(pki, verify_policy):
    assert refused(signed_fse(pki.no_rpps, rpps=RPPS_MEDECIN), verify_policy) == "FSE-SIG-016"


@pytest.mark.parametrize("value", [None, "hier", "2026-01-01T00:00:00", "future", "old"])
def test_signing_time_missing_invalid_future_or_old(pki, verify_policy, value):
    unsigned = care_sheet_to_xml(sample_care_sheet())
    element = sign_fse(unsigned, pki.medecin.key, pki.medecin.cert)
    now = datetime.now(UTC)
    if value == "future":
        element = sign_fse(unsigned, pki.medecin.key, pki.medecin.cert, signing_time=now + timedelta(hours=2))
    elif value == "old":
        element = sign_fse(unsigned, pki.medecin.key, pki.medecin.cert, signing_time=now - timedelta(days=200))
    else:
        work = copy.deepcopy(unsigned)
        if value is not None:
            work.set("dateSignature", value)
        element = sign_document(work, pki.medecin.key, pki.medecin.cert)
    assert refused(element, verify_policy) == "FSE-SIG-017"


def test_missing_certificate(pki, verify_policy):
    element = signed_fse(pki.medecin)
    key_info = element.find(f"{DS}Signature/{DS}KeyInfo")
    key_info.getparent().remove(key_info)
    assert refused(element, verify_policy) == "FSE-SIG-018"


def test_forbidden_transform(pki, verify_policy):
    element = signed_fse(pki.medecin)
    transforms = element.find(f"{DS}Signature/{DS}SignedInfo/{DS}Reference/{DS}Transforms")
    etree.SubElement(transforms, f"{DS}Transform", Algorithm="http://www.w3.org/TR/1999/REC-xpath-19991116")
    assert refused(element, verify_policy) == "FSE-SIG-019"


def test_trust_store_is_loaded_once_and_caches_chains(pki, verify_policy, monkeypatch):
    store = verify_policy.trust_store
    element = signed_fse(pki.medecin)
    verify_signed_element(reparse(element), verify_policy)
    calls = []
    real = TrustStore._build_chain
    monkeypatch.setattr(TrustStore, "_build_chain", lambda self, *a: calls.append(1) or real(self, *a))
    monkeypatch.setattr(TrustStore, "load", classmethod(lambda cls, d: pytest.fail("reloaded")))
    for _ in range(3):
        verify_signed_element(reparse(element), verify_policy)
    assert calls == [] and verify_policy.trust_store is store


def test_policy_from_config(pki):
    policy = VerifyPolicy.from_config({"TRUST_STORE_DIR": str(pki.trust_dir), "SIGNATURE_MAX_AGE_DAYS": "10"})
    again = VerifyPolicy.from_config({"TRUST_STORE_DIR": str(pki.trust_dir)})
    assert policy.trust_store is again.trust_store
    assert policy.max_signature_age == timedelta(days=10)


def test_sign_and_verify_a_document_with_the_gateway_key(pki):
    root = etree.Element("{urn:amelipro:arl:1}ARL", Id="ARL-1", version="1")
    etree.SubElement(root, "{urn:amelipro:arl:1}Statut").text = "positif"
    signed = reparse(sign_document(root, pki.gateway.key, pki.gateway.cert))
    content = verify_document(signed, pki.gateway.cert)
    assert content.findtext("{urn:amelipro:arl:1}Statut") == "positif"
    signed.find("{urn:amelipro:arl:1}Statut").text = "negatif"
    with pytest.raises(SignatureError) as info:
        verify_document(signed, pki.gateway.cert)
    assert info.value.code == "FSE-SIG-003"
    with pytest.raises(SignatureError):
        verify_document(reparse(sign_document(root, pki.other.key, pki.other.cert)), pki.gateway.cert)


def test_too_many_certificates(pki, verify_policy):
    element = signed_fse(pki.medecin)
    x509data = element.find(f"{DS}Signature/{DS}KeyInfo/{DS}X509Data")
    for _ in range(5):
        x509data.append(copy.deepcopy(x509data[0]))
    assert refused(element, verify_policy) == "FSE-SIG-019"


def test_intermediate_certificates_from_the_signature(pki, tmp_path):
    """A signer under an intermediate CA (sent in the signature) chains to the root."""
    from cryptography.hazmat.primitives import serialization as ser

    from amelipro.xmlcore import pki as demo_pki

    root_key, root = demo_pki.generate_ca("Racine de test")
    # an intermediate CA issued by the root
    from cryptography import x509 as cx509
    from cryptography.hazmat.primitives import hashes as h

    inter_key = demo_pki.new_key()
    now = datetime.now(UTC)
    inter = (
        cx509.CertificateBuilder().subject_name(demo_pki._name("AC intermédiaire de test"))
        .issuer_name(root.subject).public_key(inter_key.public_key())
        .serial_number(cx509.random_serial_number()).not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=365))
        .add_extension(cx509.BasicConstraints(ca=True, path_length=0), critical=True)
        .sign(root_key, h.SHA256())
    )
    key, cert = demo_pki.issue_certificate(inter_key, inter, "Dr Inter", rpps=RPPS_MEDECIN)
    (tmp_path / "root.pem").write_bytes(demo_pki.cert_pem(root))
    (tmp_path / "root.crl.pem").write_bytes(demo_pki.make_crl(root_key, root).public_bytes(ser.Encoding.PEM))
    unsigned = care_sheet_to_xml(sample_care_sheet())
    with_chain = sign_fse(unsigned, key, cert, chain=[inter])
    without_chain = sign_fse(unsigned, key, cert)
    # Only the root trusted: the chain comes from the signature, but the intermediate's CRL
    # is unknown to the gateway.
    policy = VerifyPolicy(TrustStore.load(tmp_path))
    assert refused(with_chain, policy) == "FSE-SIG-020"
    relaxed = VerifyPolicy(policy.trust_store, require_crl=False)
    assert verify_signed_element(reparse(with_chain), relaxed).rpps == RPPS_MEDECIN
    assert refused(without_chain, relaxed) == "FSE-SIG-005"
    # The intermediate and its CRL in the trust store: both forms verify.
    (tmp_path / "inter.pem").write_bytes(demo_pki.cert_pem(inter))
    (tmp_path / "inter.crl.pem").write_bytes(demo_pki.make_crl(inter_key, inter).public_bytes(ser.Encoding.PEM))
    policy = VerifyPolicy(TrustStore.load(tmp_path))
    assert verify_signed_element(reparse(with_chain), policy).rpps == RPPS_MEDECIN
    assert verify_signed_element(reparse(without_chain), policy).rpps == RPPS_MEDECIN


def test_verification_is_thread_safe(pki, verify_policy):

    data = [etree.tostring(signed_fse(h, n)) for n, h in enumerate((pki.medecin, pki.medecin_ec) * 4)]
    failures: list[BaseException] = []

    def work():
        try:
            for _ in range(10):
                for item in data:
                    assert verify_signed_element(parse_untrusted(item), verify_policy).rpps == RPPS_MEDECIN
        except BaseException as exc:  # noqa: BLE001
            failures.append(exc)

    run_threads(work, [()] * 4)
    assert failures == []


def test_non_ascii_element_names_are_refused_cleanly(pki, verify_policy):
    """signxml re-serializes in ASCII, which breaks a non-ASCII element name: a clean code."""
    element = signed_fse(pki.medecin)
    method = element.find(f"{DS}Signature/{DS}SignedInfo/{DS}Reference/{DS}DigestMethod")
    method.tag = f"{DS}DigéstMethod"
    with pytest.raises(SignatureError) as info:
        verify_signed_element(parse_untrusted(etree.tostring(element, encoding="utf-8")), verify_policy)
    assert info.value.code == "FSE-SIG-019"
    content = signed_fse(pki.medecin)
    etree.SubElement(content.find(f"{F}Totaux"), f"{F}Remarqué").text = "x"
    with pytest.raises(SignatureError) as info:
        verify_signed_element(parse_untrusted(etree.tostring(content, encoding="utf-8")), verify_policy)
    assert info.value.code == "FSE-SIG-019"


def _with_unsigned_extras(element) -> etree._Element:
    """A signed FSE to which the sender added what the signature does not cover."""
    work = copy.deepcopy(element)
    work.insert(0, etree.Comment(" commentaire non signé "))
    signature = work.find(f"{DS}Signature")
    signature.find(f"{DS}SignedInfo").insert(0, etree.Comment(" dans SignedInfo "))
    key_info = signature.find(f"{DS}KeyInfo")
    name = etree.Element(f"{DS}KeyName")
    name.text = "clé de Mallory"
    key_info.insert(0, name)
    x509_data = key_info.find(f"{DS}X509Data")
    subject = etree.SubElement(x509_data, f"{DS}X509SubjectName")
    subject.text = "CN=Mallory"
    obj = etree.SubElement(signature, f"{DS}Object")
    etree.SubElement(obj, f"{F}Montant").text = "999999.99"
    return work


def test_signed_document_keeps_only_the_signed_content_and_the_signature(pki, verify_policy):
    from amelipro.xmlcore.signature import signed_document

    received = reparse(_with_unsigned_extras(signed_fse(pki.medecin)))
    result = verify_signed_element(received, verify_policy)  # the extras are outside the signature
    stored = signed_document(result)
    for unsigned in ("commentaire non signé", "dans SignedInfo", "KeyName", "Mallory", "Object",
                     "999999.99", "<!--"):
        assert unsigned not in stored
    again = parse_untrusted(stored.encode())
    assert verify_signed_element(again, verify_policy).element_id == result.element_id
    signature = again.find(f"{DS}Signature")
    assert [etree.QName(c).localname for c in signature] == ["SignedInfo", "SignatureValue", "KeyInfo"]
    assert etree.tostring(verify_signed_element(again, verify_policy).signed, method="c14n") == \
        etree.tostring(result.signed, method="c14n")
