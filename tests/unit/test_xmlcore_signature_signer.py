"""The trust store's per-signer cache: what it keeps is the same answer as a check from scratch.

A ``Signer`` (one per ``KeyInfo``) keeps the chain, the validity bounds of the chain, the CRL
entries, key usage and RPPS; what depends on the FSE (signing time, time of the check) is
compared each time. These tests verify the same signer under different times and policies,
in both orders, so that a verdict leaking from one FSE to the next would fail.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from lxml import etree

from amelipro.xmlcore import signature_trust
from amelipro.xmlcore.errors import SignatureError
from amelipro.xmlcore.safe import parse_untrusted
from amelipro.xmlcore.schemas import DS_NS
from amelipro.xmlcore.signature import TrustStore, VerifyPolicy, verify_signed_element
from tests.fixtures_pki import signed_fse

DS = f"{{{DS_NS}}}"


def reparse(element) -> etree._Element:
    return parse_untrusted(etree.tostring(element))


def answer(element, policy, now=None) -> str:
    try:
        verify_signed_element(reparse(element), policy, now=now)
    except SignatureError as exc:
        return exc.code
    return "accepted"


@pytest.fixture
def policy(pki):
    """A fresh trust store per test: the caches start empty."""
    return VerifyPolicy(TrustStore.load(pki.trust_dir))


@pytest.fixture
def chain_builds(monkeypatch) -> list[int]:
    """One item per chain built by a trust store during the test."""
    calls: list[int] = []
    real = TrustStore._build_chain
    monkeypatch.setattr(TrustStore, "_build_chain", lambda self, *a: calls.append(1) or real(self, *a))
    return calls


def test_one_signer_per_key_info_and_one_chain(pki, policy, chain_builds):
    for n in range(1, 4):
        assert answer(signed_fse(pki.medecin, n), policy) == "accepted"
    assert chain_builds == [1] and len(policy.trust_store._signers) == 1


def test_certificate_text_laid_out_differently_is_the_same_certificate(pki, policy):
    element = signed_fse(pki.medecin)
    cert = element.find(f"{DS}Signature/{DS}KeyInfo/{DS}X509Data/{DS}X509Certificate")
    text = "".join(cert.text.split())
    assert answer(element, policy) == "accepted"
    cert.text = "\n" + "\n".join(text[i:i + 64] for i in range(0, len(text), 64)) + "\n"
    assert answer(element, policy) == "accepted"
    signers = list(policy.trust_store._signers.values())
    assert len(signers) == 2 and signers[0].leaf == signers[1].leaf


# (holder, check time, a signing time inside its validity, one outside, the code there);
# days from now. "expired" expired yesterday; "not_yet_valid" is valid from next month.
VALIDITY_CASES = {
    "expired": ("expired", 0, -2, 0, "FSE-SIG-006"),
    "not yet valid": ("not_yet_valid", 31, 31, -1, "FSE-SIG-007"),
}


@pytest.mark.parametrize("valid_first", [True, False])
@pytest.mark.parametrize("case", sorted(VALIDITY_CASES))
def test_validity_judged_at_each_signing_time(pki, policy, case, valid_first):
    holder_name, check_day, inside_day, outside_day, code = VALIDITY_CASES[case]
    now = datetime.now(UTC)
    holder = getattr(pki, holder_name)
    inside = signed_fse(holder, signing_time=now + timedelta(days=inside_day))
    outside = signed_fse(holder, signing_time=now + timedelta(days=outside_day))
    order = [(inside, "accepted"), (outside, code)]
    for element, expected in order if valid_first else order[::-1]:
        assert answer(element, policy, now + timedelta(days=check_day)) == expected


@pytest.mark.parametrize("before_first", [True, False])
def test_revocation_judged_at_each_check_time(pki, policy, before_first):
    now = datetime.now(UTC)  # the CRL says: revoked an hour ago
    element = signed_fse(pki.revoked, signing_time=now - timedelta(days=1))
    order = [(now - timedelta(hours=2), "accepted"), (now, "FSE-SIG-008")]
    for when, expected in order if before_first else order[::-1]:
        assert answer(element, policy, when) == expected


@pytest.mark.parametrize("strict_first", [True, False])
def test_policies_sharing_a_trust_store_keep_their_own_rpps_rule(pki, policy, strict_first):
    lenient = replace(policy, require_rpps=False)
    element = signed_fse(pki.no_rpps)
    order = [(policy, "FSE-SIG-016"), (lenient, "accepted")]
    for which, expected in order if strict_first else order[::-1]:
        assert answer(element, which) == expected


@pytest.mark.parametrize("strict_first", [True, False])
def test_policies_sharing_a_trust_store_keep_their_own_crl_rule(pki, tmp_path, strict_first):
    (tmp_path / "ca.pem").write_bytes((pki.trust_dir / "test-ca.pem").read_bytes())  # no CRL
    strict = VerifyPolicy(TrustStore.load(tmp_path))
    lenient = replace(strict, require_crl=False)
    element = signed_fse(pki.medecin)
    order = [(strict, "FSE-SIG-020"), (lenient, "accepted")]
    for which, expected in order if strict_first else order[::-1]:
        assert answer(element, which) == expected


def test_unknown_ca_is_remembered_and_refused_each_time(pki, policy, chain_builds):
    for n in range(1, 3):
        assert answer(signed_fse(pki.rogue, n), policy) == "FSE-SIG-005"
    assert chain_builds == [1]


def test_the_signer_cache_is_bounded(pki, policy, monkeypatch):
    monkeypatch.setattr(signature_trust, "CACHE_SIZE", 2)
    for holder in (pki.medecin, pki.medecin_ec, pki.pharmacien, pki.other):
        assert answer(signed_fse(holder), policy) == "accepted"
        assert len(policy.trust_store._signers) <= 2


def test_unreadable_certificate_is_not_cached(pki, policy):
    element = signed_fse(pki.medecin)
    element.find(f"{DS}Signature/{DS}KeyInfo/{DS}X509Data/{DS}X509Certificate").text = "AAAA"
    assert answer(element, policy) == "FSE-SIG-018"
    assert policy.trust_store._signers == {}
