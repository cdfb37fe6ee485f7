"""Stable error codes, the root exception and the HTTP handlers.

Every code is declared once with :func:`define`. Codes are never renumbered or reused:
retire one by moving it to ``RETIRED``. ``tests/unit/test_error_codes.py`` pins the list.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from flask import Flask, current_app, jsonify, render_template, request
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from werkzeug.exceptions import HTTPException

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
BODY_INCOMPLETE = define(
    "GEN-BODY", 400, "Requête incomplète : le contenu reçu est plus court que la longueur annoncée.",
    "Rien n'a été enregistré : renvoyez la même requête (avec la même clé d'idempotence).",
)
DATABASE_UNAVAILABLE = define(
    "GEN-DB", 503, "Base de données momentanément indisponible : rien n'a été enregistré.",
    "Renvoyez la même requête après le délai indiqué par l'en-tête Retry-After.",
)
CSRF_FAILED = define(
    "GEN-CSRF", 400, "Le formulaire a expiré ou n'est pas valide.", "Rechargez la page et recommencez."
)
INVALID_DATE = define("GEN-DATE", 400, "Date invalide.", "Utilisez le format AAAA-MM-JJ.")
INVALID_NUMBER = define(
    "GEN-NUM", 400, "Paramètre numérique invalide.",
    "Les numéros de page et les limites sont des nombres entiers positifs (page=2, limit=100).",
)


def positive_int_arg(args, name: str, default: int) -> int:
    """A positive integer query parameter (``page``, ``limit``); absent or empty: ``default``."""
    raw = (args.get(name) or "").strip()
    if not raw:
        return default
    if not raw.isdigit() or int(raw) < 1:
        raise AmeliproError(INVALID_NUMBER, f"{name}={raw[:20]}")
    return int(raw)

_HTTP_CODES = {404: NOT_FOUND, 405: METHOD_NOT_ALLOWED, 413: TOO_LARGE, 400: BAD_REQUEST}


def wants_json() -> bool:
    return request.path.startswith("/api/") or request.accept_mimetypes.best == "application/json"


def error_response(errors: list[dict[str, Any]], status: int):
    if wants_json():
        return jsonify({"errors": errors}), status
    return render_template("error.html", errors=errors, status=status), status


#: Statuses that always tell the client when to come back (``Retry-After``, seconds).
RETRY_STATUSES = frozenset({409, 503})


def retry_after_seconds() -> int:
    return max(1, int(current_app.config.get("RETRY_AFTER_SECONDS") or 5))


def database_unavailable(exc: BaseException) -> bool:
    """The database did not answer (down, connection lost, statement or lock timeout, pool
    exhausted, SQLite busy): a 503 to retry later, not a bug."""
    if isinstance(exc, PoolTimeoutError | OperationalError):
        return True
    return isinstance(exc, DBAPIError) and exc.connection_invalidated


def init_app(app: Flask) -> None:
    from flask_wtf.csrf import CSRFError

    @app.errorhandler(AmeliproError)
    def _amelipro_error(exc: AmeliproError):
        body, status = error_response([exc.as_dict()], exc.status)
        retry = exc.extra.get("retry_after")
        return body, status, ({"Retry-After": str(int(retry))} if retry else {})

    @app.errorhandler(PoolTimeoutError)
    @app.errorhandler(DBAPIError)
    def _database_error(exc: Exception):
        if not database_unavailable(exc):
            return _unexpected(exc)
        log.warning("database unavailable on %s %s: %s", request.method, request.path,
                    type(getattr(exc, "orig", None) or exc).__name__)
        retry = retry_after_seconds()
        return (*error_response([AmeliproError(DATABASE_UNAVAILABLE, retry_after=retry).as_dict()], 503),
                {"Retry-After": str(retry)})

    @app.after_request
    def _retry_after(response):
        if response.status_code in RETRY_STATUSES and "Retry-After" not in response.headers:
            response.headers["Retry-After"] = str(retry_after_seconds())
        return response

    @app.errorhandler(CSRFError)
    def _csrf_error(_exc: CSRFError):
        return error_response([AmeliproError(CSRF_FAILED).as_dict()], 400)

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException):
        entry = _HTTP_CODES.get(exc.code or 500)
        if entry is None:
            entry = ErrorCode(f"GEN-{exc.code}", exc.code or 500, exc.description or exc.name)
        return error_response([AmeliproError(entry).as_dict()], exc.code or 500)

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception):
        log.exception("unexpected error on %s %s", request.method, request.path)
        return error_response([AmeliproError(INTERNAL).as_dict()], 500)
