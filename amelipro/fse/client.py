"""The practice-software side: sign an FSE or a lot, submit a lot, summarize the ARL in French.

No Flask and no database here (``commands.py`` wraps these in ``amelipro client ...``).
Sending uses the standard library only (urllib), with an ``Idempotency-Key`` so that a
retry after a timeout or a 5xx can never record a lot twice.
"""

from __future__ import annotations

import hashlib
import http.client
import json
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime

from cryptography import x509
from lxml import etree

from amelipro.fse.document import document_bytes
from amelipro.xmlcore.arl import Arl, ArlStatus, FseStatus, arl_from_element
from amelipro.xmlcore.errors import SignatureError, UnsafeXmlError
from amelipro.xmlcore.pki import PrivateKey
from amelipro.xmlcore.safe import ParseLimits, parse_untrusted
from amelipro.xmlcore.schemas import FSE_TAG, LOT_TAG
from amelipro.xmlcore.signature import sign_fse, verify_document

#: The practice software reads its own files: a larger limit than the gateway's.
CLIENT_LIMITS = ParseLimits(max_bytes=512 * 1024 * 1024, max_depth=64)
RETRY_STATUSES = frozenset({409, 425, 429, 500, 502, 503, 504})
LOTS_PATH = "/api/v1/lots"


class ClientError(Exception):
    """A French message for the user of the practice software."""


# --- signing -------------------------------------------------------------------------------

@dataclass(frozen=True)
class SignOutcome:
    kind: str  # "fse" or "lot"
    signed: int  # number of FSE signed
    data: bytes


def sign_bytes(data: bytes, key: PrivateKey, cert: x509.Certificate, *,
               signing_time: datetime | None = None, chain: Iterable[x509.Certificate] = ()
               ) -> SignOutcome:
    """Sign an FSE document, or every FSE of a lot (an existing signature is replaced)."""
    try:
        root = parse_untrusted(data, CLIENT_LIMITS)
    except UnsafeXmlError as exc:
        raise ClientError(f"{exc.code} {exc.error.message} {exc.detail}".strip()) from None
    chain = tuple(chain)
    if root.tag == FSE_TAG:
        return SignOutcome("fse", 1, document_bytes(_sign(root, key, cert, signing_time, chain)))
    if root.tag == LOT_TAG:
        count = 0
        for child in list(root):
            if child.tag == FSE_TAG:
                root.replace(child, _sign(child, key, cert, signing_time, chain))
                count += 1
        if not count:
            raise ClientError("Le lot ne contient aucune FSE à signer.")
        return SignOutcome("lot", count, document_bytes(root))
    raise ClientError(
        f"Document ni FSE ni lot : élément racine « {etree.QName(root).localname} » "
        f"({etree.QName(root).namespace or 'sans espace de noms'})."
    )


def _sign(element, key, cert, signing_time, chain):
    if not element.get("Id"):
        raise ClientError(f"FSE sans attribut Id (ligne {element.sourceline}) : impossible de la signer.")
    return sign_fse(element, key, cert, signing_time=signing_time, chain=chain)


# --- submitting ----------------------------------------------------------------------------

@dataclass(frozen=True)
class SubmitResult:
    status: int
    body: bytes
    content_type: str
    attempts: int
    idempotency_key: str
    replayed: bool
    location: str | None = None

    @property
    def is_xml(self) -> bool:
        return "xml" in self.content_type


def default_idempotency_key(data: bytes) -> str:
    """Derived from the content: sending the same file again replays the first answer."""
    return "sha256-" + hashlib.sha256(data).hexdigest()


def lots_endpoint(url: str) -> str:
    url = url.rstrip("/")
    return url if url.endswith(LOTS_PATH) else url + LOTS_PATH


Opener = Callable[[urllib.request.Request, float], tuple[int, bytes, dict[str, str]]]


def _urlopen(request: urllib.request.Request, timeout: float) -> tuple[int, bytes, dict[str, str]]:
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 - http(s) only
            return response.status, response.read(), dict(response.headers.items())
    except urllib.error.HTTPError as exc:
        body = exc.read() if exc.fp is not None else b""
        return exc.code, body, dict(exc.headers.items()) if exc.headers else {}


def submit_lot(data: bytes, url: str, token: str, *, idempotency_key: str | None = None,
               retries: int = 5, timeout: float = 120.0, backoff: float = 0.5,
               sleep: Callable[[float], None] = time.sleep, opener: Opener = _urlopen,
               on_retry: Callable[[int, str], None] | None = None) -> SubmitResult:
    """POST a lot to ``/api/v1/lots``; retry (same key, same body) on network errors,
    timeouts, 409 (same key in progress), 429 and 5xx, with exponential backoff and
    ``Retry-After``. Raises :class:`ClientError` when every attempt failed on the network."""
    endpoint = lots_endpoint(url)
    if not endpoint.startswith(("http://", "https://")):
        raise ClientError(f"Adresse invalide : {url} (http:// ou https:// attendu).")
    key = idempotency_key or default_idempotency_key(data)
    headers = {
        "Content-Type": "application/xml",
        "Accept": "application/xml",
        "Authorization": f"Bearer {token}",
        "Idempotency-Key": key,
        "User-Agent": "amelipro-client/1",
    }
    last_problem = ""
    for attempt in range(1, retries + 2):
        request = urllib.request.Request(endpoint, data=data, headers=headers, method="POST")
        try:
            status, body, response_headers = opener(request, timeout)
        except (urllib.error.URLError, TimeoutError, ConnectionError, http.client.HTTPException, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            last_problem = f"réseau : {reason}"
            delay = _delay(attempt, backoff, None)
        else:
            lowered = {k.lower(): v for k, v in response_headers.items()}
            if status not in RETRY_STATUSES or attempt > retries:
                return SubmitResult(
                    status, body, lowered.get("content-type", ""), attempt, key,
                    lowered.get("idempotent-replayed") == "true", lowered.get("location"),
                )
            last_problem = f"HTTP {status}"
            delay = _delay(attempt, backoff, lowered.get("retry-after"))
        if attempt > retries:
            break
        if on_retry is not None:
            on_retry(attempt, f"{last_problem} ; nouvel essai dans {delay:.1f} s (même clé d'idempotence)")
        sleep(delay)
    raise ClientError(f"Envoi impossible après {retries + 1} essais ({last_problem}).")


def _delay(attempt: int, backoff: float, retry_after: str | None) -> float:
    if retry_after and retry_after.strip().isdigit():
        return min(float(retry_after), 60.0)
    return min(backoff * 2 ** (attempt - 1), 30.0)


# --- reading the answer --------------------------------------------------------------------

def read_answer(result: SubmitResult, gateway_cert: x509.Certificate | None = None
                ) -> tuple[Arl | None, list[str]]:
    """The ARL of an answer (its signature verified when ``gateway_cert`` is given) and
    the French summary lines to print."""
    arl = None
    if result.body.lstrip().startswith(b"<"):
        try:
            root = parse_untrusted(result.body, CLIENT_LIMITS)
            if gateway_cert is not None:
                verify_document(root, gateway_cert)
            arl = arl_from_element(root)
        except SignatureError as exc:
            raise ClientError(
                f"La signature de l'ARL n'est pas celle de la passerelle ({exc.code} {exc.error.message})."
            ) from None
        except (UnsafeXmlError, ValueError):
            arl = None
    if arl is None:
        return None, _non_arl_summary(result)
    lines = summarize_arl(arl)
    if gateway_cert is not None:
        lines.append("Signature de l'ARL vérifiée (certificat de la passerelle).")
    if result.replayed:
        lines.insert(0, "Lot déjà reçu avec cette clé d'idempotence : réponse d'origine rejouée.")
    return arl, lines


def _non_arl_summary(result: SubmitResult) -> list[str]:
    lines = [f"Réponse HTTP {result.status} sans accusé de réception."]
    try:
        payload = json.loads(result.body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return lines
    for error in payload.get("errors", []) if isinstance(payload, dict) else []:
        text = f"  [{error.get('code')}] {error.get('message', '')}"
        if error.get("hint"):
            text += f" → {error['hint']}"
        lines.append(text)
    return lines


def _fse_word(n: int) -> str:
    return f"{n} FSE"


def summarize_arl(arl: Arl) -> list[str]:
    """The ARL in plain French, one error per line with its location and fix."""
    lot = f"lot {arl.lot_number}" if arl.lot_number else "lot"
    if arl.status == ArlStatus.NEGATIVE:
        lines = [f"ARL NÉGATIF : {lot} refusé en entier ({len(arl.errors) or 'sans'} erreur(s))."]
        lines += [_error_line(e, "  ") for e in arl.errors]
    else:
        lines = [
            f"ARL POSITIF : {lot} reçu"
            + (f" (référence {arl.lot_reference})" if arl.lot_reference else "")
            + f", {_fse_word(len(arl.fses))} : {arl.accepted} acceptée(s), {arl.rejected} rejetée(s), "
            f"{arl.duplicates} doublon(s)."
        ]
    for item in arl.fses:
        label = f"FSE {item.position}" + (f" (facture {item.invoice_number})" if item.invoice_number else "")
        if item.status == FseStatus.ACCEPTED:
            continue
        if item.status == FseStatus.DUPLICATE:
            lines.append(f"  {label} : déjà reçue" + (f", voir {item.reference}" if item.reference else "")
                         + " (ne pas renvoyer).")
            continue
        lines.append(f"  {label} : rejetée, {len(item.errors)} erreur(s)")
        lines += [_error_line(e, "    ") for e in item.errors]
    return lines


def _error_line(error, indent: str) -> str:
    where = ""
    if error.path or error.line:
        parts = [p for p in (error.path, f"ligne {error.line}" if error.line else None) if p]
        where = f" ({', '.join(parts)})"
    text = f"{indent}[{error.code}] {error.message}{where}"
    if error.detail:
        text += f" : {error.detail}"
    if error.hint:
        text += f" → {error.hint}"
    return text


def exit_code(result: SubmitResult, arl: Arl | None) -> int:
    """0 all accepted (or duplicates), 3 positive with rejected FSE, 2 refused, 1 otherwise."""
    if arl is not None and arl.status == ArlStatus.POSITIVE:
        return 3 if arl.rejected else 0
    if arl is not None or 400 <= result.status < 500:
        return 2
    return 1
