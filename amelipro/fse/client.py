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
TRANSIENT_CODE = "GEN-BODY"  # a body cut on the way: nothing recorded, send it again

# Exit statuses of ``amelipro client submit`` (docs/operations.md).
EXIT_ACCEPTED = 0  # positive ARL, every FSE accepted (or already received)
EXIT_ERROR = 1  # local problem: options, file, certificate, ARL signature
EXIT_REFUSED = 2  # refused (negative ARL, 4xx): correct the lot before sending it again
EXIT_FSE_REJECTED = 3  # positive ARL with rejected FSE: correct and resend those FSE
EXIT_SEND_LATER = 4  # nothing recorded (busy, unavailable, no answer): send the same file later
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
    retry_after: float | None = None  # what the gateway last asked for, when it gave up waiting

    @property
    def is_xml(self) -> bool:
        return "xml" in self.content_type

    @property
    def send_later(self) -> bool:
        """Nothing recorded: the gateway was busy, unavailable or got a cut body."""
        return is_transient(self.status, self.body)


class NotSentError(ClientError):
    """No answer from the gateway within the budget: send the same file again later
    (same idempotency key: never a duplicate)."""


def default_idempotency_key(data: bytes) -> str:
    """Derived from the content: sending the same file again replays the first answer."""
    return "sha256-" + hashlib.sha256(data).hexdigest()


def lots_endpoint(url: str) -> str:
    url = url.rstrip("/")
    return url if url.endswith(LOTS_PATH) else url + LOTS_PATH


def error_codes(body: bytes) -> list[str]:
    """The error codes of a JSON error body or of a negative ARL (empty when neither)."""
    text = body.lstrip()
    if text.startswith(b"{"):
        try:
            payload = json.loads(text.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            return []
        errors = payload.get("errors", []) if isinstance(payload, dict) else []
        return [str(e.get("code")) for e in errors if isinstance(e, dict)]
    if text.startswith(b"<"):
        try:
            return [e.code for e in arl_from_element(parse_untrusted(body, CLIENT_LIMITS)).errors]
        except (UnsafeXmlError, ValueError):
            return []
    return []


def is_transient(status: int, body: bytes) -> bool:
    """An answer that records nothing and asks to come back: 409 (same key in progress),
    425, 429, 5xx, and the 400 of a body cut on the way (GEN-BODY)."""
    if status in RETRY_STATUSES:
        return True
    return status == 400 and TRANSIENT_CODE in error_codes(body)


Opener = Callable[[urllib.request.Request, float], tuple[int, bytes, dict[str, str]]]


def _urlopen(request: urllib.request.Request, timeout: float) -> tuple[int, bytes, dict[str, str]]:
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 - http(s) only
            return response.status, response.read(), dict(response.headers.items())
    except urllib.error.HTTPError as exc:
        body = exc.read() if exc.fp is not None else b""
        return exc.code, body, dict(exc.headers.items()) if exc.headers else {}


def submit_lot(data: bytes, url: str, token: str, *, idempotency_key: str | None = None,
               retries: int = 30, max_wait: float = 300.0, timeout: float = 120.0,
               backoff: float = 0.5, sleep: Callable[[float], None] = time.sleep,
               clock: Callable[[], float] = time.monotonic, opener: Opener = _urlopen,
               on_retry: Callable[[int, str], None] | None = None) -> SubmitResult:
    """POST a lot to ``/api/v1/lots``; send it again (same key, same body) after network
    errors, timeouts and transient answers (:func:`is_transient`), waiting what the
    gateway's ``Retry-After`` says, else an exponential backoff, within ``retries`` more
    attempts and ``max_wait`` seconds of waiting in all. When the budget is spent: the last
    transient answer (``send_later``), or :class:`NotSentError` if none came."""
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
    waited = 0.0
    last_problem = ""
    last: SubmitResult | None = None
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
            retry_after = _retry_after(lowered.get("retry-after"))
            last = SubmitResult(
                status, body, lowered.get("content-type", ""), attempt, key,
                lowered.get("idempotent-replayed") == "true", lowered.get("location"), retry_after,
            )
            if not is_transient(status, body):
                return last
            codes = error_codes(body)
            last_problem = f"HTTP {status}" + (f" {codes[0]}" if codes else "")
            delay = _delay(attempt, backoff, retry_after)
        if attempt > retries or waited + delay > max_wait:
            break
        if on_retry is not None:
            on_retry(attempt, f"{last_problem} ; nouvel essai dans {delay:.1f} s (même clé d'idempotence)")
        started = clock()
        sleep(delay)
        waited += max(delay, clock() - started)
    if last is not None and last.send_later:
        return last
    raise NotSentError(
        f"Envoi impossible après {attempt} essai(s) et {waited:.0f} s d'attente ({last_problem}). "
        "Renvoyez le même fichier plus tard : la même clé d'idempotence garantit qu'il ne sera "
        "jamais enregistré deux fois."
    )


def _retry_after(raw: str | None) -> float | None:
    """``Retry-After`` in seconds (the HTTP-date form is not used by the gateway)."""
    if raw and raw.strip().isascii() and raw.strip().isdigit():
        return float(raw.strip())
    return None


def _delay(attempt: int, backoff: float, retry_after: float | None) -> float:
    if retry_after is not None:
        return retry_after  # as told: the budget (max_wait) decides whether to wait that long
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
    """The command's exit status (``EXIT_*``): accepted, FSE rejected, refused, send later."""
    if arl is not None and arl.status == ArlStatus.POSITIVE:
        return EXIT_FSE_REJECTED if arl.rejected else EXIT_ACCEPTED
    if result.send_later:
        return EXIT_SEND_LATER
    if arl is not None or 400 <= result.status < 500:
        return EXIT_REFUSED
    return EXIT_ERROR
