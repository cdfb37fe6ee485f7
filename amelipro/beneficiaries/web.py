"""« Droits du patient » page and API: the caisse's file answered at a chosen date."""

from __future__ import annotations

from flask import Blueprint, Flask, jsonify, render_template, request
from flask_login import login_required

from amelipro.api import require_token
from amelipro.beneficiaries import services
from amelipro.clock import date_or_today, paris_today
from amelipro.db import get_session
from amelipro.errors import AmeliproError

bp = Blueprint("beneficiaries", __name__)


parse_at = date_or_today  # the date picker's AAAA-MM-JJ, today in Paris when empty


@bp.get("/droits")
@login_required
def rights():
    nir = (request.args.get("nir") or "").strip()
    raw_at = request.args.get("date")
    answer = error = None
    status = 200
    at = paris_today()
    try:
        at = parse_at(raw_at)
        if nir:
            answer = services.rights_at(get_session(), nir, at)
    except AmeliproError as exc:
        error, status = exc.as_dict(), exc.status
    return render_template(
        "beneficiaries/rights.html", nir=nir, at=at, answer=answer, error=error,
        format_nir=services.format_nir,
    ), status


@bp.get("/api/v1/beneficiaries/<nir>/rights")
@require_token
def api_rights(nir: str):
    at = parse_at(request.args.get("at"))
    answer = services.rights_at(get_session(), nir, at)
    return jsonify(services.rights_json(answer))


def register(app: Flask) -> None:
    app.register_blueprint(bp)
