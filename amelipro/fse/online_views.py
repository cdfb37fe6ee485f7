"""Online billing pages (« Nouvelle feuille de soins », drafts, sign and send, receipt,
« Corriger ») and the pricing endpoint ``POST /api/v1/fse/price``.

Handlers parse the request, call ``amelipro.fse.online``, and render. Every page is the
logged-in professional's own (another's draft or FSE id: 404).
"""

from __future__ import annotations

import json
import re

from flask import (
    Blueprint,
    current_app,
    flash,
    g,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user, login_required
from flask_wtf.csrf import CSRFError, validate_csrf
from wtforms import ValidationError

from amelipro.account import stepup
from amelipro.auth import errors as auth_errors
from amelipro.auth import services as auth_services
from amelipro.clock import paris_today
from amelipro.db import get_session
from amelipro.errors import TOO_LARGE, AmeliproError
from amelipro.extensions import csrf
from amelipro.fse import intake, lot_errors, online, online_drafts, services
from amelipro.fse.models import FseStatus
from amelipro.fse.online_models import DraftStatus
from amelipro.fse.online_signing import SigningSettings
from amelipro.reference.queries import amounts_at
from amelipro.reference.search import SearchQuery, search

bp = Blueprint("fse_online", __name__, url_prefix="/facturation")
api_bp = Blueprint("fse_online_api", __name__, url_prefix="/api/v1")
csrf.exempt(api_bp)  # checked below: a bearer token, or the page's session and CSRF token

MAX_JSON_BYTES = 256 * 1024
_LINE_FIELD = re.compile(r"lines-(\d{1,3})-(kind|code|coefficient|quantity|care_date)")
MED_SEARCH_LIMIT = 10
RULES_KEY = "amelipro.fse.online.rules"


def rule_config():
    """The rules' settings of the submission gateway (loaded once; without its keys when
    the gateway has none yet, since pricing does not sign)."""
    app = current_app._get_current_object()
    gateway = app.extensions.get(intake.EXTENSION_KEY)
    if gateway is not None:
        return gateway.rule_config
    found = app.extensions.get(RULES_KEY)
    if found is None:
        found = app.extensions[RULES_KEY] = intake.load_gateway(app.config).rule_config
    return found


def signing_settings() -> SigningSettings:
    return SigningSettings.from_config(current_app.config, current_app.instance_path)


def field_id(name: str) -> str:
    """A sheet field ("patient.nir", "lines[2].code") → the form input's id and name."""
    match = re.fullmatch(r"lines\[(\d+)\]\.(\w+)", name)
    if match:
        return f"lines-{match.group(1)}-{match.group(2)}"
    return name.removeprefix("patient.")


def input_from_form(raw) -> online.SheetInput:
    """The form's fields as typed (each cut far above its limit, so that the limit error is
    shown without echoing megabytes back)."""
    form = {key: raw.get(key, "")[: online.MAX_TEXT * 4] for key in raw}
    rows: dict[int, dict[str, str]] = {}
    for key in form:
        match = _LINE_FIELD.fullmatch(key)
        if match:
            rows.setdefault(int(match.group(1)), {})[match.group(2)] = form.get(key, "")
    lines = tuple(
        online.LineInput(kind=row.get("kind", "ngap"), code=row.get("code", ""),
                         coefficient=row.get("coefficient", "1"), quantity=row.get("quantity", "1"),
                         care_date=row.get("care_date", ""))
        for _n, row in sorted(rows.items())[: online.MAX_LINES + 1]
    )
    return online.SheetInput(
        nir=form.get("nir", ""), birth_date=form.get("birth_date", ""), rank=form.get("rank", "1"),
        care_date=form.get("care_date", ""), nature=form.get("nature", "10"),
        pathway=form.get("pathway", "oui") == "oui", exemption=form.get("exemption", "aucune"),
        prescriber_rpps=form.get("prescriber_rpps", ""), prescription_date=form.get("prescription_date", ""),
        tiers_payant_amo="tiers_payant_amo" in form, tiers_payant_amc="tiers_payant_amc" in form,
        lines=lines,
    )


def _price(inp: online.SheetInput, invoice: str = online.PLACEHOLDER_INVOICE) -> online.PricedSheet:
    return online.price_sheet(get_session(), current_user, inp, today=paris_today(), rule_config=rule_config(),
                              invoice_number=invoice)


def _medicines(query: str) -> list[dict]:
    query = query.strip()[:80]
    if len(query) < 2:
        return []
    at = paris_today()
    found = search(get_session(), SearchQuery(q=query, at=at, kind="medicine", reimbursable=True,
                                              page_size=MED_SEARCH_LIMIT))
    amounts = amounts_at(get_session(), found.hits, at)
    return [{"code": h.code, "label": h.label, "detail": h.detail,
             "price": amounts.get(("medicine", h.code), {}).get("amount"),
             "rate": amounts.get(("medicine", h.code), {}).get("rate")} for h in found.hits]


def _render_form(inp, priced, draft=None, *, status: int = 200, medicines=None, med_query: str = "",
                 focus: str = ""):
    corrects = None
    if draft is not None and draft.corrects_fse_id:
        corrects = draft.corrects_fse_id
    return render_template(
        "fse/online_form.html", inp=inp, priced=priced, draft=draft, corrects=corrects,
        kinds=online.KIND_LABELS, natures=online.NATURE_LABELS, exemptions=online.EXEMPTION_LABELS,
        field_id=field_id, medicines=medicines, med_query=med_query, focus=focus,
        invoice=online_drafts.invoice_of(draft) if draft is not None else "",
    ), status


def _handle_form(draft=None):
    """The form's actions: calculate, add/remove a line, search a medicine, save, sign."""
    inp = input_from_form(request.form)
    action = request.form.get("action", "calculer")
    medicines, med_query, focus = None, request.form.get("med_q", ""), ""
    if action == "ajouter":
        inp = online.SheetInput(**{**inp.__dict__, "lines": (*inp.lines, online.LineInput())})
        focus = f"lines-{len(inp.lines)}-code"
    elif action.startswith("supprimer-") and action[10:].isdigit():
        index = int(action[10:]) - 1
        kept = tuple(line for i, line in enumerate(inp.lines) if i != index)
        inp = online.SheetInput(**{**inp.__dict__, "lines": kept or (online.LineInput(),)})
    elif action == "chercher":
        medicines = _medicines(med_query)
        focus = "med-results" if medicines else "med_q"
    elif action.startswith("medicament-") and action[11:].isdigit():
        lines = tuple(line for line in inp.lines if line.code.strip())
        inp = online.SheetInput(**{**inp.__dict__, "lines": (*lines, online.LineInput(
            kind="medicament", code=action[11:], quantity="1"))})
        focus = f"lines-{len(inp.lines)}-quantity"
    elif action in ("enregistrer", "envoyer"):
        saved = online_drafts.save_draft(get_session(), current_user, inp, draft.id if draft else None)
        if action == "envoyer":
            return redirect(url_for("fse_online.send", draft_id=saved.id))
        flash("Brouillon enregistré.", "success")
        return redirect(url_for("fse_online.draft", draft_id=saved.id))
    priced = _price(inp, online_drafts.invoice_of(draft) if draft is not None else online.PLACEHOLDER_INVOICE)
    return _render_form(inp, priced, draft, medicines=medicines, med_query=med_query, focus=focus)


@bp.route("/feuille", methods=["GET", "POST"])
@login_required
def new_sheet():
    online_drafts.check_allowed(current_user)
    if request.method == "POST":
        return _handle_form()
    inp = online.SheetInput(care_date=paris_today().strftime("%d/%m/%Y"))
    return _render_form(inp, None)


@bp.route("/brouillons/<int:draft_id>", methods=["GET", "POST"])
@login_required
def draft(draft_id: int):
    found = online_drafts.get_draft(get_session(), current_user, draft_id)
    if found.status == DraftStatus.SENT:
        if found.fse_id:
            return redirect(url_for("fse_online.receipt", fse_id=found.fse_id))
        raise AmeliproError(online.EL.DRAFT_SENT)
    if request.method == "POST":
        return _handle_form(found)
    inp = online.SheetInput.from_draft(found)
    return _render_form(inp, _price(inp, online_drafts.invoice_of(found)), found)


@bp.get("/brouillons")
@login_required
def drafts():
    rows = online_drafts.list_drafts(get_session(), current_user)
    return render_template("fse/online_drafts.html", drafts=rows, invoice_of=online_drafts.invoice_of,
                           input_of=online.SheetInput.from_draft)


def _send_page(found, priced, *, error=None, status: int = 200):
    """The signing page: the step-up (password, and the second factor when enrolled) is asked
    inline unless one was given within ``STEP_UP_MINUTES`` (amelipro.account.stepup)."""
    enrolled = stepup.totp_enrolled()
    return render_template("fse/online_send.html", draft=found, priced=priced, error=error,
                           confirmed=stepup.has_step_up(totp=enrolled), totp=enrolled,
                           minutes=int(current_app.config["STEP_UP_MINUTES"]),
                           invoice=online_drafts.invoice_of(found)), status


@bp.route("/brouillons/<int:draft_id>/envoyer", methods=["GET", "POST"])
@login_required
def send(draft_id: int):
    db = get_session()
    found = online_drafts.get_draft(db, current_user, draft_id)
    if found.status == DraftStatus.SENT and found.fse_id:
        return redirect(url_for("fse_online.receipt", fse_id=found.fse_id))
    priced = _price(online.SheetInput.from_draft(found), online_drafts.invoice_of(found))
    if request.method == "GET":
        return _send_page(found, priced)
    password = request.form.get("password", "")
    if password:
        try:
            stepup.confirm_step_up(password[:200], request.form.get("code", "")[:40])
        except AmeliproError as exc:
            return _send_page(found, priced, error=exc.as_dict(), status=exc.status)
    if not stepup.has_step_up(totp=stepup.totp_enrolled()):
        return _send_page(found, priced, error=AmeliproError(auth_errors.REAUTH_REQUIRED).as_dict(), status=401)
    try:
        outcome = online_drafts.send_draft(db, current_user, found.id, settings=signing_settings(),
                                    rule_config=rule_config(), today=paris_today())
    except AmeliproError as exc:
        db.rollback()
        if exc.code == lot_errors.IDEMPOTENCY_IN_PROGRESS.code:
            flash("Cette feuille est en cours d'envoi : patientez quelques secondes.", "info")
            return redirect(url_for("fse_online.send", draft_id=draft_id))
        found = online_drafts.get_draft(db, current_user, draft_id)
        return _send_page(found, priced, error=exc.as_dict(), status=exc.status)
    if outcome.fse_id is None:
        raise AmeliproError(online.EL.LOT_REFUSED)
    if outcome.status == FseStatus.REJECTED:
        flash("La feuille de soins a été reçue mais rejetée : voyez les motifs et corrigez-la.", "error")
    else:
        flash("Feuille de soins signée et envoyée : accusé de réception positif.", "success")
    return redirect(url_for("fse_online.receipt", fse_id=outcome.fse_id))


@bp.get("/fse/<int:fse_id>/decompte")
@login_required
def receipt(fse_id: int):
    db = get_session()
    fse = services.get_fse(db, current_user, fse_id)
    return render_template("fse/online_receipt.html", fse=fse, lot=fse.lot, pro=current_user,
                           online_source=online.SOURCE, draft=online_drafts.draft_of_fse(db, current_user, fse.id))


@bp.post("/fse/<int:fse_id>/corriger")
@login_required
def correct(fse_id: int):
    found = online_drafts.correct_fse(get_session(), current_user, fse_id)
    flash("Feuille reprise : corrigez les champs signalés, puis signez et envoyez.", "info")
    return redirect(url_for("fse_online.draft", draft_id=found.id))


# --- API -----------------------------------------------------------------------------------

def _api_professional():
    """A bearer token (practice software), or the logged-in page with its CSRF token."""
    header = request.headers.get("Authorization", "")
    if header:
        scheme, _, secret = header.partition(" ")
        if scheme.lower() != "bearer" or not secret.strip():
            raise AmeliproError(auth_errors.TOKEN_MISSING)
        return auth_services.authenticate_token(get_session(), secret.strip())
    if current_user.is_authenticated:
        try:
            validate_csrf(request.headers.get("X-CSRFToken", ""))
        except ValidationError as exc:
            raise CSRFError(str(exc)) from None
        return current_user
    raise AmeliproError(auth_errors.TOKEN_MISSING)


@api_bp.post("/fse/price")
def price():
    pro = _api_professional()
    g.api_professional = pro
    if request.content_length is not None and request.content_length > MAX_JSON_BYTES:
        raise AmeliproError(TOO_LARGE, f"{MAX_JSON_BYTES} octets au plus.")
    raw = request.get_data(cache=False)
    if len(raw) > MAX_JSON_BYTES:
        raise AmeliproError(TOO_LARGE, f"{MAX_JSON_BYTES} octets au plus.")
    try:
        data = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise AmeliproError(online.EL.SHEET_UNREADABLE) from None
    online_drafts.check_allowed(pro)
    inp = online.SheetInput.from_json(data)
    priced = online.price_sheet(get_session(), pro, inp, today=paris_today(), rule_config=rule_config())
    return jsonify(priced.to_json())
