"""Request bodies, read in one place: whole, or not at all.

Every request with a body (lots, dry runs, bank statements, forms with files) goes through
:func:`read_body` before anything else sees it (a ``before_request`` hook that runs first,
before CSRF parses a form). The body is read to its end and checked:

- shorter than its ``Content-Length`` (a client or a proxy that died mid-upload):
  ``GEN-BODY`` (400); nothing is parsed, nothing is stored, not even under an
  ``Idempotency-Key``, so the same request sent again works;
- longer than ``MAX_CONTENT_LENGTH``, announced or streamed (chunked): ``GEN-413``; a body
  is never cut at the limit and processed.

The complete body then replaces the server's stream (a buffer with its exact length), so
the handlers' ``request.get_data()`` and form parsing read exactly what was checked.
"""

from __future__ import annotations

import io
from decimal import ROUND_DOWN, Decimal
from typing import Any

from flask import Flask, current_app, request

from amelipro.errors import BODY_INCOMPLETE, TOO_LARGE, AmeliproError

CHUNK = 64 * 1024


class BodyError(AmeliproError):
    """The request body cannot be used: incomplete (400) or over the limit (413)."""


def _content_length(environ: dict[str, Any]) -> int | None:
    raw = (environ.get("CONTENT_LENGTH") or "").strip()
    if not raw:
        return None
    if not raw.isdigit():  # isdigit: ASCII and Unicode digits; int() below settles it
        raise BodyError(BODY_INCOMPLETE, "En-tête Content-Length invalide.")
    try:
        return int(raw)
    except ValueError:
        raise BodyError(BODY_INCOMPLETE, "En-tête Content-Length invalide.") from None


def _streamed(environ: dict[str, Any]) -> bool:
    """A body without a length: chunked, and the server tells where it ends."""
    chunked = "chunked" in (environ.get("HTTP_TRANSFER_ENCODING") or "").lower()
    return chunked or bool(environ.get("wsgi.input_terminated"))


def read_body(environ: dict[str, Any], limit: int) -> bytes:
    """The whole body of the request, or :class:`BodyError`. ``limit`` 0: no limit."""
    length = _content_length(environ)
    if length is None and not _streamed(environ):
        return b""
    if length is not None and limit and length > limit:
        raise BodyError(TOO_LARGE, f"Taille maximale : {limit} octets.")
    stream = environ["wsgi.input"]
    want = length if length is not None else (limit + 1 if limit else None)
    parts: list[bytes] = []
    got = 0
    data: bytes | None = b""
    while want is None or got < want:
        size = CHUNK if want is None else min(CHUNK, want - got)
        try:
            data = stream.read(size)
        except Exception:  # noqa: BLE001 - whatever the server raises, the body did not all arrive
            data = None
        if not data:
            break
        parts.append(data)
        got += len(data)
    if data is None or (length is not None and got < length):
        detail = (f"Reçu {got} octets sur {length} annoncés." if length is not None
                  else f"Reçu {got} octets, puis la connexion a été interrompue.")
        raise BodyError(BODY_INCOMPLETE, detail)
    if limit and got > limit:
        raise BodyError(TOO_LARGE, f"Taille maximale : {limit} octets.")
    return b"".join(parts)


def buffer_request_body() -> None:
    """``before_request``: read and check the body, then serve it from memory."""
    environ = request.environ
    if environ.get("amelipro.body_checked"):
        return
    body = read_body(environ, int(current_app.config.get("MAX_CONTENT_LENGTH") or 0))
    environ["amelipro.body_checked"] = True
    environ["wsgi.input"] = io.BytesIO(body)
    environ["CONTENT_LENGTH"] = str(len(body))
    environ.pop("HTTP_TRANSFER_ENCODING", None)


#: Size of one signed FSE in a lot, generous (the demo's run 3 to 5 KB): the upload page and
#: the 413 page turn the byte limit into a number of care sheets with it.
FSE_BYTES = 8 * 1024


def upload_limits() -> dict[str, Any]:
    """The request size limit said to people: in MB (one decimal at most, for the ``number``
    filter) and in care sheets per lot."""
    limit = int(current_app.config.get("MAX_CONTENT_LENGTH") or 0)
    megabytes = (Decimal(limit) / (1024 * 1024)).quantize(Decimal("0.1"), rounding=ROUND_DOWN)
    return {"max_mb": megabytes.normalize() if megabytes == megabytes.to_integral() else megabytes,
            "max_fse": max(1, limit // FSE_BYTES)}


def init_app(app: Flask) -> None:
    """Register the check first, before any other hook (CSRF reads forms)."""
    app.before_request_funcs.setdefault(None, []).insert(0, buffer_request_body)
    app.context_processor(lambda: {"upload_limits": upload_limits})
