"""« Droits du patient » page and API: a professional reads, for billing, the rights of a
patient identified as on the carte Vitale (NIR + birth date, rank when known).

Every lookup is recorded and throttled by ``services.lookup_rights``; the page follows
Post/Redirect/Get (the NIR never appears in an address) and the API takes a POST body.
"""

from __future__ import annotations

from flask import (
    Blueprint,
    Flask,
    current_app,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user, login_required
from flask_wtf import FlaskForm

from amelipro import clock
from amelipro.api import api_professional, require_token
from amelipro.beneficiaries import errors, services
from amelipro.db import get_session
from amelipro.errors import BAD_REQUEST, AmeliproError
from amelipro.extensions import csrf

bp = Blueprint("beneficiaries", __name__)


parse_at = clock.date_or_today  # the date picker's AAAA-MM-JJ, today in Paris when empty


class LookupForm(FlaskForm):
    """CSRF only: the fields are read from ``request.form`` and checked by the service."""


def _policy() -> services.LookupPolicy:
    return services.LookupPolicy.from_config(current_app.config)


def _render(*, values=None, answer=None, error=None, status=200):
    values = values or {}
    return render_template(
        "beneficiaries/rights.html", form=LookupForm(), values=values,
        at=answer.at if answer else values.get("at_date") or clock.paris_today(),
        answer=answer, error=error, format_nir=services.format_nir,
    ), status


@bp.route("/droits", methods=["GET", "POST"])
@login_required
def rights():
    if request.method == "GET":
        return _render()
    form = LookupForm()
    if not form.validate_on_submit():
        raise AmeliproError(BAD_REQUEST, "formulaire expiré")
    values = {name: (request.form.get(name) or "").strip()[:40]
              for name in ("nir", "date_naissance", "rang", "date")}
    try:
        values["at_date"] = parse_at(values["date"])
        found = services.lookup_rights(get_session(), current_user, values["nir"], values["date_naissance"],
                                       values["rang"], values["at_date"], policy=_policy())
    except services.UnknownPatientError as exc:
        # Recorded: shown by its own page like a found one (F5 repeats nothing).
        return redirect(url_for("beneficiaries.lookup", lookup_id=exc.lookup_id), code=303)
    except AmeliproError as exc:
        return _render(values=values, error=exc.as_dict(), status=exc.status)
    return redirect(url_for("beneficiaries.lookup", lookup_id=found.lookup_id), code=303)


@bp.get("/droits/consultations/<int:lookup_id>")
@login_required
def lookup(lookup_id: int):
    """A lookup just made, shown again: no new lookup (nothing recorded)."""
    try:
        answer = services.recorded_lookup(get_session(), current_user, lookup_id, policy=_policy())
    except AmeliproError as exc:
        return _render(error=exc.as_dict(), status=exc.status)
    return _render(answer=answer)


@bp.post("/api/v1/beneficiaries/rights")
@require_token
def api_rights():
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise AmeliproError(BAD_REQUEST, "corps JSON attendu : {\"nir\", \"birth_date\", \"rank\", \"at\"}")
    fields = {name: body.get(name) for name in ("nir", "birth_date", "rank", "at")}
    for name in ("nir", "birth_date", "at"):
        if fields[name] is not None and not isinstance(fields[name], str):
            raise AmeliproError(BAD_REQUEST, f"« {name} » : chaîne attendue")
    if fields["rank"] is not None and (isinstance(fields["rank"], bool) or not isinstance(fields["rank"], int | str)):
        raise AmeliproError(errors.RANK_INVALID)
    at = parse_at(fields["at"])
    found = services.lookup_rights(get_session(), api_professional(), fields["nir"] or "",
                                   fields["birth_date"], fields["rank"], at, policy=_policy())
    return jsonify(services.lookup_json(found))


def register(app: Flask) -> None:
    csrf.exempt(api_rights)  # the API authenticates by token, not by cookie
    app.register_blueprint(bp)
