"""Fixtures of the pki capability (pytest plugin): a test PKI generated once per session.

``pki`` gives a trust store directory (CA + CRL), professionals' keys and certificates
(RSA and ECDSA), an expired one, a revoked one (in the CRL), one from a CA that is not
trusted, and the gateway's; ``verify_policy`` is a VerifyPolicy over that trust store.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from amelipro.xmlcore import pki as demo_pki

RPPS_MEDECIN = "10000000017"
RPPS_PHARMACIEN = "10000000025"
RPPS_INFIRMIER = "10000000033"
RPPS_OTHER = "10000000041"


@dataclass(frozen=True)
class Holder:
    key: demo_pki.PrivateKey
    cert: x509.Certificate
    rpps: str | None
    key_path: Path
    cert_path: Path


@dataclass(frozen=True)
class TestPki:
    directory: Path
    trust_dir: Path
    ca_key: demo_pki.PrivateKey
    ca_cert: x509.Certificate
    medecin: Holder  # RSA-2048, RPPS_MEDECIN
    medecin_ec: Holder  # ECDSA P-256, RPPS_MEDECIN
    pharmacien: Holder  # RSA, RPPS_PHARMACIEN
    infirmier: Holder  # ECDSA, RPPS_INFIRMIER
    other: Holder  # RSA, RPPS_OTHER (another professional)
    expired: Holder  # RPPS_MEDECIN, expired yesterday
    not_yet_valid: Holder  # RPPS_MEDECIN, valid from next month
    revoked: Holder  # RPPS_MEDECIN, in the CRL
    no_rpps: Holder  # no RPPS in the subject
    rogue: Holder  # RPPS_MEDECIN, issued by a CA not in the trust store
    gateway: Holder  # signs ARLs (no RPPS)


def _save(base: Path, name: str, key, cert, rpps) -> Holder:
    folder = base / name
    folder.mkdir(parents=True, exist_ok=True)
    key_path, cert_path = folder / "key.pem", folder / "cert.pem"
    key_path.write_bytes(demo_pki.key_pem(key))
    cert_path.write_bytes(demo_pki.cert_pem(cert))
    return Holder(key, cert, rpps, key_path, cert_path)


@pytest.fixture(scope="session")
def pki(tmp_path_factory) -> TestPki:
    base = tmp_path_factory.mktemp("pki")
    trust = base / "trust"
    trust.mkdir()
    now = datetime.now(UTC)
    ca_key, ca_cert = demo_pki.generate_ca("AC de test amelipro", not_before=now - timedelta(days=800))

    def issue(name: str, rpps: str | None, kind: str = "rsa", **kw) -> Holder:
        key, cert = demo_pki.issue_certificate(ca_key, ca_cert, f"Test {name}", rpps=rpps, key_kind=kind, **kw)
        return _save(base, name, key, cert, rpps)

    medecin = issue("medecin", RPPS_MEDECIN)
    medecin_ec = issue("medecin_ec", RPPS_MEDECIN, "ec")
    pharmacien = issue("pharmacien", RPPS_PHARMACIEN)
    infirmier = issue("infirmier", RPPS_INFIRMIER, "ec")
    other = issue("other", RPPS_OTHER)
    expired = issue("expired", RPPS_MEDECIN, not_before=now - timedelta(days=400), days=399)
    not_yet = issue("not_yet_valid", RPPS_MEDECIN, not_before=now + timedelta(days=30))
    revoked = issue("revoked", RPPS_MEDECIN)
    no_rpps = issue("no_rpps", None)
    gateway = issue("gateway", None)
    rogue_ca_key, rogue_ca = demo_pki.generate_ca("AC de test amelipro")  # same name, other key
    rk, rc = demo_pki.issue_certificate(rogue_ca_key, rogue_ca, "Test rogue", rpps=RPPS_MEDECIN)
    rogue = _save(base, "rogue", rk, rc, RPPS_MEDECIN)
    (base / "rogue-ca.pem").write_bytes(demo_pki.cert_pem(rogue_ca))

    (trust / "test-ca.pem").write_bytes(demo_pki.cert_pem(ca_cert))
    crl = demo_pki.make_crl(ca_key, ca_cert, [(revoked.cert.serial_number, now - timedelta(hours=1))])
    (trust / "test-ca.crl.pem").write_bytes(crl.public_bytes(serialization.Encoding.PEM))
    return TestPki(base, trust, ca_key, ca_cert, medecin, medecin_ec, pharmacien, infirmier, other,
                   expired, not_yet, revoked, no_rpps, rogue, gateway)


@pytest.fixture(scope="session")
def verify_policy(pki):
    from amelipro.xmlcore.signature import TrustStore, VerifyPolicy

    return VerifyPolicy(TrustStore.load(pki.trust_dir))


# --- sample documents -------------------------------------------------------------------------

def sample_care_sheet(n: int = 1, rpps: str = RPPS_MEDECIN, care_date=None):
    """A realistic, self-consistent CareSheet (a G consultation + an ECG), number ``n``."""
    from amelipro.fse.demo import sample_care_sheet

    return sample_care_sheet(n, rpps, care_date)


def signed_fse(holder: Holder, n: int = 1, rpps: str | None = None, **kw):
    """A signed FSE element for ``holder`` (its RPPS unless ``rpps`` is given)."""
    from amelipro.fse.document import care_sheet_to_xml
    from amelipro.xmlcore.signature import sign_fse

    sheet = sample_care_sheet(n, rpps or holder.rpps or RPPS_MEDECIN)
    return sign_fse(care_sheet_to_xml(sheet), holder.key, holder.cert, **kw)


def signed_lot_bytes(elements, number: str = "L-TEST-1", sender: str = RPPS_MEDECIN) -> bytes:
    from amelipro.fse.document import build_lot, document_bytes

    return document_bytes(build_lot(elements, number=number, sender_rpps=sender))


# --- signature wrapping (the signed FSE moved, a forged one in its place) ---------------------

def hidden_under_forged(holder: Holder, amo: str | None = None):
    """``holder``'s signed FSE hidden inside a forged FSE (number 2, with ``amo`` as its AMO
    part when given) that carries the original's signature."""
    import copy

    from amelipro.fse.document import care_sheet_to_xml
    from amelipro.xmlcore.schemas import DS_NS, FSE_NS

    original = signed_fse(holder)
    forged = care_sheet_to_xml(sample_care_sheet(2))
    forged.set("dateSignature", original.get("dateSignature"))
    if amo is not None:
        forged.find(f"{{{FSE_NS}}}Totaux/{{{FSE_NS}}}PartAMO").text = amo
    hidden = copy.deepcopy(original)
    hidden.remove(hidden.find(f"{{{DS_NS}}}Signature"))
    forged.find(f"{{{FSE_NS}}}Lignes").append(hidden)
    forged.append(original.find(f"{{{DS_NS}}}Signature"))
    return forged


def forged_with_the_signed_id(holder: Holder):
    """A forged FSE with the Id of ``holder``'s signed FSE (AMO part 999.00), the signed original
    moved inside it and a copy of its signature: an ambiguous Id."""
    import copy

    from amelipro.fse.document import care_sheet_to_xml
    from amelipro.xmlcore.schemas import DS_NS, FSE_NS

    original = signed_fse(holder)
    forged = care_sheet_to_xml(sample_care_sheet(1))
    forged.set("dateSignature", original.get("dateSignature"))
    forged.find(f"{{{FSE_NS}}}Totaux/{{{FSE_NS}}}PartAMO").text = "999.00"
    hidden = copy.deepcopy(original)
    forged.find(f"{{{FSE_NS}}}Lignes").append(hidden)
    forged.append(copy.deepcopy(original.find(f"{{{DS_NS}}}Signature")))
    hidden.remove(hidden.find(f"{{{DS_NS}}}Signature"))
    return forged
