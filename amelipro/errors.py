"""The HTTP side of errors: query-parameter parsing and the handlers that render them.

The error codes, their registry and the root exception are pure and live in
:mod:`amelipro.codes`; they are re-exported here so ``from amelipro.errors import ...``
keeps working.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask, current_app, jsonify, render_template, request
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from werkzeug.exceptions import HTTPException, MethodNotAllowed

# Re-exported: the registry and the root exception are pure and live in amelipro.codes.
from amelipro.codes import (  # noqa: F401
    BAD_REQUEST,
    BODY_INCOMPLETE,
    CSRF_FAILED,
    DATABASE_UNAVAILABLE,
    INTERNAL,
    INVALID_DATE,
    INVALID_NUMBER,
    METHOD_NOT_ALLOWED,
    NOT_FOUND,
    REGISTRY,
    RETIRED,
    TOO_LARGE,
    AmeliproError,
    ErrorCode,
    define,
)

log = logging.getLogger(__name__)


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
        body, status = error_response([AmeliproError(entry).as_dict()], exc.code or 500)
        response = current_app.make_response((body, status))
        if isinstance(exc, MethodNotAllowed) and exc.valid_methods:
            response.headers["Allow"] = ", ".join(sorted(exc.valid_methods))  # RFC 9110 §15.5.6
        return response

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception):
        log.exception("unexpected error on %s %s", request.method, request.path)
        return error_response([AmeliproError(INTERNAL).as_dict()], 500)
