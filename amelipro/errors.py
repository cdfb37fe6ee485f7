"""Stable error codes, the root exception and the HTTP handlers.

Every code is declared once with :func:`define`. Codes are never renumbered or reused:
retire one by moving it to ``RETIRED``. ``tests/unit/test_error_codes.py`` pins the list.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from flask import Flask, current_app, jsonify, render_template, request
from werkzeug.exceptions import HTTPException, MethodNotAllowed

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ErrorCode:
    code: str
    status: int
    message: str  # French, for people
    hint: str = ""  # French, how to fix


REGISTRY: dict[str, ErrorCode] = {}
# Codes once published and withdrawn: never to be reused with another meaning.
RETIRED: frozenset[str] = frozenset({
    "FSE-LOT-003",  # invoice number already used: the rules' FSE-R-018
    "FSE-LOT-004",  # a resent FSE is answered with the status "doublon", not an error
    "FSE-LOT-005",  # an FSE that cannot be mapped: XSD-012 from the XML core
})


def define(code: str, status: int, message: str, hint: str = "") -> ErrorCode:
    if code in REGISTRY or code in RETIRED:
        raise ValueError(f"error code {code} declared twice or retired")
    entry = ErrorCode(code, status, message, hint)
    REGISTRY[code] = entry
    return entry


class AmeliproError(Exception):
    """Root of every error a user or a program can meet."""

    def __init__(self, error: ErrorCode, detail: str = "", **extra: Any) -> None:
        super().__init__(error.code)
        self.error = error
        self.detail = detail
        self.extra = extra

    @property
    def code(self) -> str:
        return self.error.code

    @property
    def status(self) -> int:
        return self.error.status

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"code": self.error.code, "message": self.error.message}
        if self.error.hint:
            out["hint"] = self.error.hint
        if self.detail:
            out["detail"] = self.detail
        out.update(self.extra)
        return out


@dataclass
class ErrorList:
    """Accumulates errors and raises once (validators report everything together)."""

    items: list[dict[str, Any]] = field(default_factory=list)

    def add(self, error: ErrorCode, detail: str = "", **extra: Any) -> None:
        self.items.append(AmeliproError(error, detail, **extra).as_dict())

    def __bool__(self) -> bool:
        return bool(self.items)


# Generic codes, valid everywhere.
INTERNAL = define("GEN-000", 500, "Erreur interne : l'incident a été enregistré.")
NOT_FOUND = define("GEN-404", 404, "Ressource introuvable.")
METHOD_NOT_ALLOWED = define("GEN-405", 405, "Méthode HTTP non autorisée pour cette adresse.")
TOO_LARGE = define("GEN-413", 413, "Requête trop volumineuse.")
BAD_REQUEST = define("GEN-400", 400, "Requête invalide.")
CSRF_FAILED = define(
    "GEN-CSRF", 400, "Le formulaire a expiré ou n'est pas valide.", "Rechargez la page et recommencez."
)
INVALID_DATE = define("GEN-DATE", 400, "Date invalide.", "Utilisez le format AAAA-MM-JJ.")
INVALID_NUMBER = define(
    "GEN-NUM", 400, "Paramètre numérique invalide.",
    "Les numéros de page et les limites sont des nombres entiers positifs (page=2, limit=100).",
)


# Page numbers, limits and ids given in a query stay below this: beyond, no page exists and
# the database's 64-bit integers would overflow (an offset is page × page size).
MAX_QUERY_INT = 2**31 - 1


def positive_int_arg(args, name: str, default: int, maximum: int = MAX_QUERY_INT) -> int:
    """A positive integer query parameter (``page``, ``limit``); absent or empty: ``default``.

    ASCII digits only (``²`` or ``٣`` are not numbers here), at most ``maximum``: GEN-NUM."""
    raw = (args.get(name) or "").strip()
    if not raw:
        return default
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 12 or not 1 <= int(raw) <= maximum:
        raise AmeliproError(INVALID_NUMBER, f"{name}={raw[:20]}")
    return int(raw)

_HTTP_CODES = {404: NOT_FOUND, 405: METHOD_NOT_ALLOWED, 413: TOO_LARGE, 400: BAD_REQUEST}


def wants_json() -> bool:
    return request.path.startswith("/api/") or request.accept_mimetypes.best == "application/json"


def error_response(errors: list[dict[str, Any]], status: int):
    if wants_json():
        return jsonify({"errors": errors}), status
    return render_template("error.html", errors=errors, status=status), status


def init_app(app: Flask) -> None:
    from flask_wtf.csrf import CSRFError

    @app.errorhandler(AmeliproError)
    def _amelipro_error(exc: AmeliproError):
        return error_response([exc.as_dict()], exc.status)

    @app.errorhandler(CSRFError)
    def _csrf_error(_exc: CSRFError):
        return error_response([AmeliproError(CSRF_FAILED).as_dict()], 400)

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException):
        entry = _HTTP_CODES.get(exc.code or 500)
        if entry is None:
            entry = ErrorCode(f"GEN-{exc.code}", exc.code or 500, exc.description or exc.name)
        body, status = error_response([AmeliproError(entry).as_dict()], exc.code or 500)
        response = current_app.make_response((body, status))
        if isinstance(exc, MethodNotAllowed) and exc.valid_methods:
            response.headers["Allow"] = ", ".join(sorted(exc.valid_methods))  # RFC 9110 §15.5.6
        return response

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception):
        log.exception("unexpected error on %s %s", request.method, request.path)
        return error_response([AmeliproError(INTERNAL).as_dict()], 500)
