"""The XML core alone, per FSE and on a 1,000-FSE lot: safe parse, XSD validation,
signature verification (RSA-2048 and ECDSA P-256) by the strict-profile verifier and by
signxml (the reference) on the same documents, and ``read_lot_documents_each`` (everything the
gateway does before the business rules), against plain signxml with a CA file for reference.
Target (issue 15): strict verification of an RSA-2048 FSE, all rules, <= 100 µs.

    .venv/bin/python -m bench.xmlcore [N [REPEAT]]
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from lxml import etree


def _time(fn: Callable[[], object], repeat: int) -> float:
    best = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        for _ in range(repeat):
            fn()
        best = min(best, (time.perf_counter() - start) / repeat)
    return best


def main(count: int = 1000, repeat: int = 5) -> None:
    from signxml import SignatureConfiguration, XMLVerifier

    from amelipro.fse.demo import sample_care_sheet
    from amelipro.fse.document import (
        build_lot,
        care_sheet_to_xml,
        document_bytes,
        read_lot_documents_each,
    )
    from amelipro.xmlcore import pki
    from amelipro.xmlcore.safe import ParseLimits, parse_untrusted
    from amelipro.xmlcore.schemas import get_registry
    from amelipro.xmlcore.signature import (
        TrustStore,
        VerifyPolicy,
        sign_fse,
        signed_document,
        verify_signed_element,
    )

    rpps = "10000000017"
    with tempfile.TemporaryDirectory() as tmp:
        trust = Path(tmp)
        ca_key, ca = pki.generate_ca()
        (trust / "ca.pem").write_bytes(pki.cert_pem(ca))
        (trust / "ca.crl.pem").write_bytes(pki.make_crl(ca_key, ca).public_bytes(serialization.Encoding.PEM))
        rsa_key, rsa_cert = pki.issue_certificate(ca_key, ca, "Bench RSA", rpps=rpps)
        ec_key, ec_cert = pki.issue_certificate(ca_key, ca, "Bench EC", rpps=rpps, key_kind="ec")
        policy = VerifyPolicy(TrustStore.load(trust), verifier="strict")
        reference = replace(policy, verifier="signxml")
        registry = get_registry()
        limits = ParseLimits(max_bytes=200 * 1024 * 1024)

        one_rsa = document_bytes(sign_fse(care_sheet_to_xml(sample_care_sheet(1, rpps)), rsa_key, rsa_cert))
        one_ec = document_bytes(sign_fse(care_sheet_to_xml(sample_care_sheet(1, rpps)), ec_key, ec_cert))
        parsed_rsa = parse_untrusted(one_rsa)
        parsed_ec = parse_untrusted(one_ec)
        verified = verify_signed_element(parsed_rsa, policy)
        signed = verified.signed
        config = SignatureConfiguration(location="./")
        rows = [
            ("safe parse, 1 FSE", _time(lambda: parse_untrusted(one_rsa), 2000), len(one_rsa)),
            ("XSD validation (lxml), 1 FSE", _time(lambda: registry.is_valid(signed, "fse"), 2000), None),
            ("verify RSA-2048, strict", _time(lambda: verify_signed_element(parsed_rsa, policy), 2000), None),
            ("  floor: c14n + SHA-256 + RSA verify", _time(_floor_of(parsed_rsa, rsa_cert), 2000), None),
            ("signed_document (stored XML), RSA", _time(lambda: signed_document(verified), 2000), None),
            ("verify RSA-2048, signxml", _time(lambda: verify_signed_element(parsed_rsa, reference), 500), None),
            ("verify ECDSA P-256, strict", _time(lambda: verify_signed_element(parsed_ec, policy), 2000), None),
            ("verify ECDSA P-256, signxml", _time(lambda: verify_signed_element(parsed_ec, reference), 500), None),
            ("plain signxml + CA file (RSA)", _time(lambda: XMLVerifier().verify(
                one_rsa, ca_pem_file=str(trust / "ca.pem"), expect_config=config), 300), None),
        ]

        start = time.perf_counter()
        fses = [sign_fse(care_sheet_to_xml(sample_care_sheet(i, rpps)), rsa_key, rsa_cert) for i in range(count)]
        sign_time = (time.perf_counter() - start) / count
        lot = document_bytes(build_lot(fses, number="BENCH", sender_rpps=rpps))
        ec_lot = document_bytes(build_lot(
            [sign_fse(care_sheet_to_xml(sample_care_sheet(i, rpps)), ec_key, ec_cert) for i in range(count)],
            number="BENCH-EC", sender_rpps=rpps))
        etree.clear_error_log()

        def floor() -> None:
            root = parse_untrusted(lot, limits)
            for element in root[1:]:
                registry.is_valid(verify_signed_element(element, policy).signed, "fse")

        # every FSE of a lot (different documents, one signer), by each verifier, interleaved
        per_fse: dict[tuple[str, str], list[float]] = {}
        for key_name, data in (("RSA-2048", lot), ("ECDSA P-256", ec_lot)):
            elements = list(parse_untrusted(data, limits))[1:]
            for _ in range(repeat):
                for name, which in (("strict", policy), ("signxml", reference)):
                    start = time.perf_counter()
                    for element in elements:
                        verify_signed_element(element, which)
                    per_fse.setdefault((key_name, name), []).append((time.perf_counter() - start) / len(elements))

        def full() -> None:  # as the submission service reads a lot: FSE by FSE
            _doc, ok = read_lot_documents_each(lot, policy, lambda d: d.ok, limits=limits, token_rpps=rpps)
            assert all(ok)

        floor_s = min(_timed(floor) for _ in range(3))
        full_s = min(_timed(full) for _ in range(3))

    print(f"{'measure':<36} {'per FSE':>12}")
    print(f"{'-' * 36} {'-' * 12}")
    for name, seconds, _size in rows:
        print(f"{name:<36} {seconds * 1e6:>9.0f} µs")
    print(f"{'sign (client), RSA-2048':<36} {sign_time * 1e6:>9.0f} µs")
    print(f"\nverification, all rules, each FSE of a {count}-FSE lot, {repeat} runs of each verifier"
          " interleaved (µs per FSE: min / median):")
    for key_name in ("RSA-2048", "ECDSA P-256"):
        strict, signxml = (per_fse[(key_name, name)] for name in ("strict", "signxml"))
        print(f"  {key_name:<12} strict {min(strict) * 1e6:6.0f} / {statistics.median(strict) * 1e6:6.0f}"
              f"   signxml {min(signxml) * 1e6:6.0f} / {statistics.median(signxml) * 1e6:6.0f}"
              f"   strict/signxml {min(strict) / min(signxml):.2f}")
    best = min(per_fse[("RSA-2048", "strict")])
    verdict = "met" if best <= 100e-6 else "NOT met"
    print(f"  target strict RSA-2048 <= 100 µs per FSE: {verdict} on this machine ({best * 1e6:.0f} µs;"
          " timings scale with the load, the ratio much less)")
    print(f"\nlot of {count} FSE, {len(lot) / 1e6:.1f} MB")
    print(f"{'floor: parse + verify + XSD':<36} {floor_s * 1e3:>8.0f} ms  {count / floor_s:>7.0f} FSE/s")
    print(f"{'service reading (+ mapping, RPPS)':<36} {full_s * 1e3:>8.0f} ms  {count / full_s:>7.0f} FSE/s")
    print(f"{'ratio service reading / floor':<36} {floor_s / full_s:>8.2f}")


def _floor_of(element: etree._Element, cert) -> Callable[[], None]:
    """The machine's lower bound for one FSE: the content (signature removed, prepared once)
    and SignedInfo canonicalised by lxml, the content digested and the signature value
    checked by cryptography; no rule, no parse, no copy."""
    import copy
    from base64 import b64decode

    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding

    from amelipro.xmlcore.signature import DS_NS, SIGNATURE_TAG

    content = copy.deepcopy(element)
    content.remove(content.find(SIGNATURE_TAG))
    signed_info = element.find(f"{SIGNATURE_TAG}/{{{DS_NS}}}SignedInfo")
    value = b64decode(element.find(f"{SIGNATURE_TAG}/{{{DS_NS}}}SignatureValue").text)
    key = cert.public_key()

    def floor() -> None:
        digest = hashes.Hash(hashes.SHA256())
        digest.update(etree.tostring(content, method="c14n", exclusive=True))
        digest.finalize()
        key.verify(value, etree.tostring(signed_info, method="c14n", exclusive=True),
                   padding.PKCS1v15(), hashes.SHA256())

    return floor


def _timed(fn: Callable[[], None]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


if __name__ == "__main__":
    main(*(int(a) for a in sys.argv[1:3]))
