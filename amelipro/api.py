"""JSON API base: bearer-token authentication, shared by every capability's API."""

from __future__ import annotations

from functools import lru_cache, wraps
from pathlib import Path

from flask import Blueprint, current_app, g, jsonify, request

from amelipro.account import practice_details as account
from amelipro.auth import errors as auth_errors
from amelipro.auth import services as auth_services
from amelipro.auth.models import Professional
from amelipro.db import get_session
from amelipro.errors import AmeliproError
from amelipro.extensions import csrf

bp = Blueprint("api", __name__, url_prefix="/api/v1")
csrf.exempt(bp)


def require_token(view):
    """Authenticate ``Authorization: Bearer <token>``; the owner is ``api_professional()``."""

    @wraps(view)
    def wrapper(*args, **kwargs):
        header = request.headers.get("Authorization", "")
        scheme, _, secret = header.partition(" ")
        if scheme.lower() != "bearer" or not secret.strip():
            raise AmeliproError(auth_errors.TOKEN_MISSING)
        g.api_professional = auth_services.authenticate_token(get_session(), secret.strip())
        return view(*args, **kwargs)

    return wrapper


def api_professional() -> Professional:
    return g.api_professional


def professional_json(pro: Professional) -> dict:
    return {
        "login": pro.login,
        "name": pro.display_name,
        "profession": pro.profession.value if pro.profession else None,
        "rpps": pro.rpps,
        "am_number": pro.am_number,
        "finess": pro.finess,
        "structure": pro.structure,
    }


@bp.get("/openapi.json")
def openapi():
    """The OpenAPI 3.1 description of the whole API (public): ``amelipro/static/openapi.json``,
    read once per process."""
    return current_app.response_class(_openapi_bytes(current_app.static_folder or ""), mimetype="application/json")


@lru_cache(maxsize=1)
def _openapi_bytes(static_folder: str) -> bytes:
    return Path(static_folder, "openapi.json").read_bytes()


@bp.get("/me")
@require_token
def me():
    """Identity, practice details and the bank account in force (masked); read only."""
    pro = api_professional()
    session = get_session()
    body = professional_json(pro)
    body.update(account.account_json(session, pro))
    return jsonify(body)


@bp.get("/tokens")
@require_token
def tokens():
    rows = auth_services.list_tokens(get_session(), api_professional())
    return jsonify(
        {
            "tokens": [
                {
                    "id": t.id,
                    "name": t.name,
                    "prefix": t.prefix,
                    "created_at": t.created_at.isoformat(),
                    "revoked": t.revoked_at is not None,
                }
                for t in rows
            ]
        }
    )


@bp.delete("/tokens/<int:token_id>")
@require_token
def revoke_token(token_id: int):
    token = auth_services.revoke_token(get_session(), api_professional(), token_id)
    return jsonify({"id": token.id, "revoked": True})
