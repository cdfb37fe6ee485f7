"""Demo public-key infrastructure standing in for the health PKI (IGC-Santé).

A demo certification authority, one signing certificate per professional (the RPPS
number is in the subject's ``serialNumber`` attribute), a gateway certificate to sign
acknowledgements, and CRLs. The trust store is a directory of CA certificates (``*.pem``)
and CRLs (``*.crl.pem``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey


def new_key(kind: str = "rsa") -> PrivateKey:
    if kind == "ec":
        return ec.generate_private_key(ec.SECP256R1())
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _name(common_name: str, organization: str = "amelipro démo", rpps: str | None = None) -> x509.Name:
    attrs = [
        x509.NameAttribute(NameOID.COUNTRY_NAME, "FR"),
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, organization),
        x509.NameAttribute(NameOID.COMMON_NAME, common_name),
    ]
    if rpps:
        attrs.append(x509.NameAttribute(NameOID.SERIAL_NUMBER, rpps))
    return x509.Name(attrs)


def generate_ca(
    common_name: str = "AC amelipro DEMO (IGC-Santé de démonstration)",
    not_before: datetime | None = None,
    days: int = 3650,
    key: PrivateKey | None = None,
) -> tuple[PrivateKey, x509.Certificate]:
    key = key or new_key("rsa")
    start = not_before or datetime.now(UTC) - timedelta(days=1)
    name = _name(common_name)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(start + timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    return key, cert


def issue_certificate(
    ca_key: PrivateKey,
    ca_cert: x509.Certificate,
    common_name: str,
    *,
    rpps: str | None = None,
    organization: str = "amelipro démo",
    not_before: datetime | None = None,
    days: int = 1095,
    key: PrivateKey | None = None,
    key_kind: str = "rsa",
) -> tuple[PrivateKey, x509.Certificate]:
    """A signing certificate (digitalSignature + nonRepudiation) issued by the CA."""
    key = key or new_key(key_kind)
    start = not_before or datetime.now(UTC) - timedelta(days=1)
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(common_name, organization, rpps))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(start + timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(True, True, False, False, False, False, False, False, False), critical=True
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    return key, cert


def make_crl(
    ca_key: PrivateKey, ca_cert: x509.Certificate, revoked: list[tuple[int, datetime]] = ()
) -> x509.CertificateRevocationList:
    now = datetime.now(UTC)
    builder = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(ca_cert.subject)
        .last_update(now - timedelta(minutes=1))
        .next_update(now + timedelta(days=30))
    )
    for serial, when in revoked:
        builder = builder.add_revoked_certificate(
            x509.RevokedCertificateBuilder().serial_number(serial).revocation_date(when).build()
        )
    return builder.sign(ca_key, hashes.SHA256())


def rpps_of(cert: x509.Certificate) -> str | None:
    values = cert.subject.get_attributes_for_oid(NameOID.SERIAL_NUMBER)
    return str(values[0].value) if values else None


# --- files -------------------------------------------------------------------------------

def key_pem(key: PrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def cert_pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def load_key(path: Path) -> PrivateKey:
    return serialization.load_pem_private_key(path.read_bytes(), password=None)


def load_cert(path: Path) -> x509.Certificate:
    return x509.load_pem_x509_certificate(path.read_bytes())


def _write(path: Path, data: bytes, private: bool = False) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    if private:
        path.chmod(0o600)


@dataclass(frozen=True)
class DemoHolder:
    login: str
    common_name: str
    rpps: str | None
    organization: str = "amelipro démo"


@dataclass(frozen=True)
class DemoPkiResult:
    ca_cert: Path
    created: tuple[str, ...]
    kept: tuple[str, ...]


def init_demo(pki_dir: Path, trust_dir: Path, holders: list[DemoHolder]) -> DemoPkiResult:
    """Create (or keep) the demo CA, its CRL, and one key + certificate per holder.

    Files: ``pki_dir/ca/{key,cert}.pem``, ``pki_dir/<login>/{key,cert}.pem``,
    ``trust_dir/amelipro-demo-ca.pem`` and ``trust_dir/amelipro-demo-ca.crl.pem``.
    Running it twice changes nothing.
    """
    ca_key_path, ca_cert_path = pki_dir / "ca" / "key.pem", pki_dir / "ca" / "cert.pem"
    if ca_key_path.exists() and ca_cert_path.exists():
        ca_key, ca_cert = load_key(ca_key_path), load_cert(ca_cert_path)
    else:
        ca_key, ca_cert = generate_ca()
        _write(ca_key_path, key_pem(ca_key), private=True)
        _write(ca_cert_path, cert_pem(ca_cert))
    trust_ca = trust_dir / "amelipro-demo-ca.pem"
    if not trust_ca.exists() or trust_ca.read_bytes() != cert_pem(ca_cert):
        _write(trust_ca, cert_pem(ca_cert))
    crl_path = trust_dir / "amelipro-demo-ca.crl.pem"
    if not crl_path.exists():
        _write(crl_path, make_crl(ca_key, ca_cert).public_bytes(serialization.Encoding.PEM))
    created, kept = [], []
    for holder in holders:
        key_path, cert_path = pki_dir / holder.login / "key.pem", pki_dir / holder.login / "cert.pem"
        if key_path.exists() and cert_path.exists():
            kept.append(holder.login)
            continue
        key, cert = issue_certificate(
            ca_key, ca_cert, holder.common_name, rpps=holder.rpps, organization=holder.organization
        )
        _write(key_path, key_pem(key), private=True)
        _write(cert_path, cert_pem(cert))
        created.append(holder.login)
    return DemoPkiResult(trust_ca, tuple(created), tuple(kept))
