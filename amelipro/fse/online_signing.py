"""Online-signing credentials: the gateway signs a care sheet entered in the browser on the
professional's behalf, with a certificate of their own.

The gateway's *online-signing CA* (``PKI_DIR/online-ca/``) issues each professional a signing
certificate carrying their RPPS; the CA certificate and its CRL are placed in the trust store,
so the signed FSE is verified exactly as one signed by a CPS card. Private keys are stored
encrypted (PKCS#8, ``BestAvailableEncryption``) with ``ONLINE_SIGNING_SECRET`` from the
configuration (without one, a random secret kept in ``instance/online_signing_secret``); they
are decrypted in memory only to sign, and never shown nor exported.

A credential is looked up by the professional's id only: nobody can sign with another's.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from sqlalchemy import select
from sqlalchemy.orm import Session

from amelipro import audit
from amelipro.auth.models import Professional
from amelipro.errors import AmeliproError
from amelipro.fse import online_errors as EL
from amelipro.fse.online_models import OnlineSigningCredential
from amelipro.xmlcore import pki

CA_DIR = "online-ca"
TRUST_CA_FILE = "amelipro-online-signing-ca.pem"
TRUST_CRL_FILE = "amelipro-online-signing-ca.crl.pem"
CA_NAME = "AC amelipro signature en ligne"
CERT_DAYS = 365


@dataclass(frozen=True)
class SigningSettings:
    pki_dir: Path
    trust_dir: Path
    secret: bytes

    @classmethod
    def from_config(cls, config, instance_path: str | os.PathLike[str]) -> SigningSettings:
        raw = config.get("ONLINE_SIGNING_SECRET") or _instance_secret(Path(instance_path))
        return cls(Path(config["PKI_DIR"]), Path(config["TRUST_STORE_DIR"]), str(raw).encode())


def _instance_secret(instance: Path) -> str:
    """A random secret kept beside the instance (demo and development installs)."""
    path = instance / "online_signing_secret"
    instance.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text().strip()
    value = secrets.token_urlsafe(32)
    with os.fdopen(fd, "w") as handle:
        handle.write(value)
    return value


def ensure_ca(settings: SigningSettings) -> tuple[pki.PrivateKey, x509.Certificate]:
    """The online-signing CA (created once), its certificate and CRL in the trust store."""
    folder = settings.pki_dir / CA_DIR
    key_path, cert_path = folder / "key.pem", folder / "cert.pem"
    if key_path.exists() and cert_path.exists():
        key = serialization.load_pem_private_key(key_path.read_bytes(), password=settings.secret)
        cert = pki.load_cert(cert_path)
    else:
        key, cert = pki.generate_ca(CA_NAME)
        folder.mkdir(parents=True, exist_ok=True)
        key_path.write_bytes(_encrypt(key, settings.secret))
        key_path.chmod(0o600)
        cert_path.write_bytes(pki.cert_pem(cert))
    settings.trust_dir.mkdir(parents=True, exist_ok=True)
    trust = settings.trust_dir / TRUST_CA_FILE
    if not trust.exists() or trust.read_bytes() != pki.cert_pem(cert):
        trust.write_bytes(pki.cert_pem(cert))
    crl = settings.trust_dir / TRUST_CRL_FILE
    if not crl.exists() or _crl_stale(crl):
        crl.write_bytes(pki.make_crl(key, cert).public_bytes(serialization.Encoding.PEM))
    return key, cert


def refresh_crl(settings: SigningSettings) -> None:
    """Issue the online-signing CA's CRL again when it nears its next update (called before
    each signature, so that verification never lacks a current CRL)."""
    folder = settings.pki_dir / CA_DIR
    crl = settings.trust_dir / TRUST_CRL_FILE
    if not (folder / "key.pem").exists() or not crl.parent.is_dir() or (crl.exists() and not _crl_stale(crl)):
        return
    key = serialization.load_pem_private_key((folder / "key.pem").read_bytes(), password=settings.secret)
    cert = pki.load_cert(folder / "cert.pem")
    crl.write_bytes(pki.make_crl(key, cert).public_bytes(serialization.Encoding.PEM))


def _crl_stale(path: Path) -> bool:
    try:
        found = x509.load_pem_x509_crl(path.read_bytes())
    except ValueError:
        return True
    return found.next_update_utc is None or found.next_update_utc < datetime.now(UTC) + timedelta(days=7)


def _encrypt(key: pki.PrivateKey, secret: bytes) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.BestAvailableEncryption(secret))


def credential_of(session: Session, pro: Professional) -> OnlineSigningCredential | None:
    return session.scalar(select(OnlineSigningCredential).where(OnlineSigningCredential.professional_id == pro.id))


def issue_credential(session: Session, pro: Professional, settings: SigningSettings, *,
                     actor: str = "") -> tuple[OnlineSigningCredential, bool]:
    """The professional's credential, issued now when they have none (or an expired one).
    Returns (credential, created); commits."""
    if not pro.rpps:
        raise AmeliproError(EL.NOT_ALLOWED, "Aucun numéro RPPS.")
    found = credential_of(session, pro)
    now = datetime.now(UTC)
    if found is not None and found.not_after > now + timedelta(days=1):
        return found, False
    ca_key, ca_cert = ensure_ca(settings)
    key, cert = pki.issue_certificate(ca_key, ca_cert, f"{pro.first_name} {pro.last_name}",
                                      rpps=pro.rpps, organization=pro.structure or "amelipro",
                                      days=CERT_DAYS)
    values = dict(certificate_pem=pki.cert_pem(cert).decode(),
                  key_encrypted_pem=_encrypt(key, settings.secret).decode(),
                  serial=format(cert.serial_number, "x"), not_after=cert.not_valid_after_utc,
                  created_at=now)
    if found is None:
        found = OnlineSigningCredential(professional_id=pro.id, **values)
        session.add(found)
    else:
        for name, value in values.items():
            setattr(found, name, value)
    audit.record(session, "online_signing.issued", actor_id=pro.id, actor_login=actor or pro.login,
                 serial=values["serial"])
    session.commit()
    return found, True


def signer_for(session: Session, pro: Professional, settings: SigningSettings
               ) -> tuple[pki.PrivateKey, x509.Certificate]:
    """The professional's own key (decrypted in memory) and certificate."""
    found = credential_of(session, pro)
    if found is None:
        raise AmeliproError(EL.NO_CREDENTIAL)
    try:
        key = serialization.load_pem_private_key(found.key_encrypted_pem.encode(), password=settings.secret)
    except (ValueError, TypeError):
        raise AmeliproError(EL.SIGNING_SECRET_MISSING) from None
    cert = x509.load_pem_x509_certificate(found.certificate_pem.encode())
    refresh_crl(settings)
    if pki.rpps_of(cert) != pro.rpps:  # never sign with a certificate of someone else
        raise AmeliproError(EL.NO_CREDENTIAL, "Le certificat enregistré ne porte pas votre RPPS.")
    return key, cert
