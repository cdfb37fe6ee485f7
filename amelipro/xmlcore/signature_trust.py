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
from datetime import UTC, datetime
from functools import cached_property
from pathlib import Path
from types import MappingProxyType
from typing import Any

from cryptography import x509
from cryptography.exceptions import InvalidSignature as CryptoInvalidSignature

from amelipro.xmlcore import errors
from amelipro.xmlcore.pki import rpps_of

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
    # the signers met in signatures, keyed by their X509Certificate texts (bounded)
    _signers: dict[tuple[str, ...], Signer] = field(default_factory=dict, repr=False, compare=False)

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
    def signer(self, texts: tuple[str, ...]) -> Signer:
        """The signer whose certificates (leaf first, base64 DER) are ``texts``; parsed once
        per trust store. Raises ``ValueError`` or ``TypeError`` if one is unreadable."""
        found = self._signers.get(texts)
        if found is None:
            certs = [x509.load_der_x509_certificate(b64decode("".join(t.split()), validate=True)) for t in texts]
            found = _remember(self._signers, texts, Signer(self, certs[0], tuple(certs[1:])))
        return found

    def chain_of(self, leaf: x509.Certificate, intermediates: Iterable[x509.Certificate] = ()
                 ) -> tuple[x509.Certificate, ...]:
        """Leaf → … → trust anchor, signatures checked; raises UNKNOWN_CA."""
        return self._build_chain(leaf, tuple(intermediates))

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
        key = issuer.subject.public_bytes()
        index = self.revocations.get(key)
        if index is None:
            if require_crl:
                raise errors.SignatureError(errors.SIG_REVOCATION_UNKNOWN, subject_of(issuer))
            return None
        return index.revoked.get(cert.serial_number)


CACHE_SIZE = 4096  # entries of each cache of a trust store (emptied when full)


def _remember(cache: dict, key: Any, value: Any) -> Any:
    if len(cache) >= CACHE_SIZE:
        cache.clear()
    cache[key] = value
    return value


@dataclass(frozen=True, eq=False)
class Signer:
    """The certificates of one signature's ``KeyInfo`` and what the trust store says of them.

    Everything that depends only on the certificates (the chain and its signatures, the
    validity bounds of the chain, the CRL entries, key usage and RPPS) is computed on first
    use and kept with the signer, which the trust store keeps per ``KeyInfo``: a lot signed
    by one CPS checks its chain once. What depends on the FSE (its signing time, the time
    of the check) is compared with the kept bounds; only a refusal walks the chain again,
    to give the same code and message, in the same order, as a check from scratch."""

    store: TrustStore
    leaf: x509.Certificate
    intermediates: tuple[x509.Certificate, ...]
    _memo: dict[Any, Any] = field(default_factory=dict, repr=False, compare=False)

    @cached_property
    def rpps(self) -> str | None:
        return rpps_of(self.leaf)

    @cached_property
    def chain(self) -> tuple[x509.Certificate, ...] | errors.ErrorCode:
        """Leaf → … → trust anchor, or FSE-SIG-005."""
        try:
            return self.store.chain_of(self.leaf, self.intermediates)
        except errors.SignatureError as exc:
            return exc.error

    @cached_property
    def _validity(self) -> tuple[datetime, datetime]:
        chain = self.chain
        assert not isinstance(chain, errors.ErrorCode)
        return max(c.not_valid_before_utc for c in chain), min(c.not_valid_after_utc for c in chain)

    def check(self, signing_time: datetime, now: datetime, *, require_crl: bool, require_rpps: bool) -> None:
        """Chain, validity at ``signing_time``, revocation at ``now``, usage: the first
        failure raises :class:`SignatureError`."""
        chain = self.chain
        if isinstance(chain, errors.ErrorCode):
            raise errors.SignatureError(chain, subject_of(self.leaf))
        valid_from, valid_until = self._validity
        if not valid_from <= signing_time <= valid_until:
            _check_dates(chain, signing_time)
        revocations, revoked_from = self._revocations(require_crl)
        if revoked_from is not None and revoked_from <= now:
            for when, code, detail in revocations:
                # The signing time is declared by the signer: a revoked certificate is refused
                # whatever date it claims (its key may be in other hands).
                if when is None or when <= now:
                    raise errors.SignatureError(code, detail)
        problem = self._usage(require_rpps)
        if problem is not None:
            raise errors.SignatureError(*problem)

    def _revocations(self, require_crl: bool
                     ) -> tuple[tuple[tuple[datetime | None, errors.ErrorCode, str], ...], datetime | None]:
        """The chain's revocation refusals in chain order (``None``: at any time, no CRL),
        and the earliest time one applies."""
        key = ("crl", require_crl)
        if key not in self._memo:
            found: list[tuple[datetime | None, errors.ErrorCode, str]] = []
            chain = self.chain
            for cert, issuer in zip(chain, chain[1:], strict=False):
                try:
                    revoked_at = self.store.revocation_date(cert, issuer, require_crl)
                except errors.SignatureError as exc:
                    found.append((None, exc.error, exc.detail))
                    break
                if revoked_at is not None:
                    found.append((revoked_at, errors.SIG_REVOKED,
                                  f"{subject_of(cert)} révoqué le {revoked_at:%Y-%m-%d}"))
            whens = [datetime.min.replace(tzinfo=UTC) if w is None else w for w, _c, _d in found]
            self._memo[key] = (tuple(found), min(whens) if whens else None)
        return self._memo[key]

    def _usage(self, require_rpps: bool) -> tuple[errors.ErrorCode, str] | None:
        key = ("usage", require_rpps)
        if key not in self._memo:
            self._memo[key] = _usage_problem(self.leaf, require_rpps)
        return self._memo[key]


def _check_dates(chain: tuple[x509.Certificate, ...], signing_time: datetime) -> None:
    for cert in chain:
        if signing_time > cert.not_valid_after_utc:
            raise errors.SignatureError(
                errors.SIG_EXPIRED, f"{subject_of(cert)} expiré le {cert.not_valid_after_utc:%Y-%m-%d}"
            )
        if signing_time < cert.not_valid_before_utc:
            raise errors.SignatureError(
                errors.SIG_NOT_YET_VALID, f"{subject_of(cert)} valide à partir du {cert.not_valid_before_utc:%Y-%m-%d}"
            )


def _usage_problem(leaf: x509.Certificate, require_rpps: bool) -> tuple[errors.ErrorCode, str] | None:
    """What the signer's certificate may not do."""
    try:
        usage = leaf.extensions.get_extension_for_class(x509.KeyUsage).value
        if not (usage.digital_signature or usage.content_commitment):
            return errors.SIG_CERT_USAGE, "usage de clé : signature non permise"
    except x509.ExtensionNotFound:
        pass
    if is_ca(leaf):
        return errors.SIG_CERT_USAGE, "certificat d'autorité"
    if require_rpps and not (rpps_of(leaf) or "").isdigit():
        return errors.SIG_CERT_USAGE, "RPPS absent du certificat"
    return None


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

