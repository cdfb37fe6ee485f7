"""The trust store of the signature verifier: CA certificates and CRLs of a directory,
loaded once, and the certificates and chains it has already checked (cached: the same
CPS signs a whole lot)."""

from __future__ import annotations

import logging
import os
import threading
from base64 import b64decode
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from types import MappingProxyType
from typing import Any

from cryptography import x509
from cryptography.exceptions import InvalidSignature as CryptoInvalidSignature

from amelipro.xmlcore import errors

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Revocations:
    """One CA's CRL, indexed by serial number."""

    issuer: x509.Name
    next_update: datetime | None
    revoked: Mapping[int, datetime]


@dataclass(frozen=True, eq=False)
class TrustStore:
    """CA certificates (``*.pem``) and CRLs (``*.crl.pem``) of a directory, loaded once."""

    directory: str
    authorities: tuple[x509.Certificate, ...]
    revocations: Mapping[bytes, Revocations]  # issuer subject (DER) -> CRL index
    _certs: dict[str, x509.Certificate] = field(default_factory=dict, repr=False, compare=False)
    _chains: dict[tuple[x509.Certificate, ...], tuple[x509.Certificate, ...] | errors.ErrorCode] = field(
        default_factory=dict, repr=False, compare=False
    )
    # what does not change for a certificate: its issuer key in ``revocations``, its usage check
    _subject_keys: dict[x509.Certificate, bytes] = field(default_factory=dict, repr=False, compare=False)
    _usage: dict[tuple[x509.Certificate, bool], tuple[errors.ErrorCode, str] | None] = field(
        default_factory=dict, repr=False, compare=False
    )

    @classmethod
    def load(cls, directory: str | os.PathLike[str]) -> TrustStore:
        path = Path(directory)
        authorities: list[x509.Certificate] = []
        crls: list[x509.CertificateRevocationList] = []
        if path.is_dir():
            for file in sorted(path.iterdir()):
                if not file.is_file():
                    continue
                if file.name.endswith(".crl.pem"):
                    try:
                        crls.append(x509.load_pem_x509_crl(file.read_bytes()))
                    except ValueError:
                        log.warning("trust store: unreadable CRL %s ignored", file)
                elif file.suffix in (".pem", ".crt"):
                    try:
                        certs = x509.load_pem_x509_certificates(file.read_bytes())
                    except ValueError:
                        log.warning("trust store: unreadable certificate file %s ignored", file)
                        continue
                    authorities.extend(c for c in certs if is_ca(c))
        revocations: dict[bytes, Revocations] = {}
        for crl in crls:
            issuer = next((ca for ca in authorities if ca.subject == crl.issuer), None)
            if issuer is None or not crl.is_signature_valid(issuer.public_key()):
                log.warning("trust store: CRL of %s has no valid issuer, ignored", crl.issuer.rfc4514_string())
                continue
            key = issuer.subject.public_bytes()
            current = revocations.get(key)
            if current is not None and current.next_update and crl.next_update_utc and \
                    current.next_update >= crl.next_update_utc:
                continue  # keep the freshest CRL of each CA
            revocations[key] = Revocations(
                crl.issuer, crl.next_update_utc,
                MappingProxyType({r.serial_number: r.revocation_date_utc for r in crl}),
            )
        return cls(str(path), tuple(authorities), MappingProxyType(revocations))

    # -- certificates from signatures (cached: the same CPS signs a whole lot) --
    def certificate_from_base64(self, text: str) -> x509.Certificate:
        key = "".join(text.split())
        cert = self._certs.get(key)
        if cert is None:
            cert = x509.load_der_x509_certificate(b64decode(key, validate=True))
            if len(self._certs) > 4096:
                self._certs.clear()
            self._certs[key] = cert
        return cert

    def chain_of(self, leaf: x509.Certificate, intermediates: Iterable[x509.Certificate] = ()
                 ) -> tuple[x509.Certificate, ...]:
        """Leaf → … → trust anchor, signatures checked (cached); raises UNKNOWN_CA."""
        inter = tuple(intermediates)
        key = (leaf, *inter)  # certificates hash and compare by their DER encoding
        cached = self._chains.get(key)
        if cached is None:
            try:
                cached = self._build_chain(leaf, inter)
            except errors.SignatureError as exc:
                cached = exc.error
            if len(self._chains) > 4096:
                self._chains.clear()
            self._chains[key] = cached
        if isinstance(cached, errors.ErrorCode):
            raise errors.SignatureError(cached, subject_of(leaf))
        return cached

    def _build_chain(self, leaf: x509.Certificate, intermediates: tuple[x509.Certificate, ...]
                     ) -> tuple[x509.Certificate, ...]:
        chain = [leaf]
        current = leaf
        for _ in range(5):
            anchor = _issuer_among(current, self.authorities)
            if anchor is not None:
                chain.append(anchor)
                return tuple(chain)
            parent = _issuer_among(current, (c for c in intermediates if is_ca(c) and c not in chain))
            if parent is None:
                break
            chain.append(parent)
            current = parent
        raise errors.SignatureError(errors.SIG_UNKNOWN_CA, subject_of(leaf))

    def revocation_date(self, cert: x509.Certificate, issuer: x509.Certificate,
                        require_crl: bool = True) -> datetime | None:
        key = self._subject_keys.get(issuer)
        if key is None:
            if len(self._subject_keys) > 4096:
                self._subject_keys.clear()
            key = self._subject_keys[issuer] = issuer.subject.public_bytes()
        index = self.revocations.get(key)
        if index is None:
            if require_crl:
                raise errors.SignatureError(errors.SIG_REVOCATION_UNKNOWN, subject_of(issuer))
            return None
        return index.revoked.get(cert.serial_number)


def is_ca(cert: x509.Certificate) -> bool:
    try:
        return bool(cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca)
    except x509.ExtensionNotFound:
        return False


def _issuer_among(cert: x509.Certificate, candidates: Iterable[x509.Certificate]) -> x509.Certificate | None:
    for candidate in candidates:
        if candidate.subject != cert.issuer:
            continue
        try:
            cert.verify_directly_issued_by(candidate)
        except (ValueError, TypeError, CryptoInvalidSignature):
            continue
        return candidate
    return None


def subject_of(cert: x509.Certificate) -> str:
    try:
        return cert.subject.rfc4514_string()
    except ValueError:  # pragma: no cover
        return "?"


_stores: dict[str, tuple[tuple[Any, ...], TrustStore]] = {}
_stores_lock = threading.Lock()


def trust_store_for(directory: str | os.PathLike[str]) -> TrustStore:
    """The trust store of ``directory``, loaded once and reloaded only when its files change."""
    path = Path(directory)
    try:
        stamp = tuple(sorted((f.name, f.stat().st_mtime_ns, f.stat().st_size) for f in path.iterdir()))
    except FileNotFoundError:
        stamp = ()
    key = str(path.resolve())
    with _stores_lock:
        cached = _stores.get(key)
        if cached is not None and cached[0] == stamp:
            return cached[1]
        store = TrustStore.load(path)
        _stores[key] = (stamp, store)
        return store

