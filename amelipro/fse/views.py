"""Facturation pages: lots, lot, FSE, sending a signed lot file, dry-run validation.

Only the logged-in professional's own lots and FSE are shown (services scope every query).
"""

from __future__ import annotations

from flask import (
    Blueprint,
    Response,
    current_app,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from flask_wtf.file import FileField

from amelipro.db import get_session
from amelipro.errors import positive_int_arg
from amelipro.fse import checked, intake, lot_errors, places, services
from amelipro.fse.models import FseStatus
from amelipro.issues import Issue

bp = Blueprint("fse", __name__, url_prefix="/facturation")
bp.add_app_template_filter(places.place, "fse_place")


class UploadForm(FlaskForm):
    lot_file = FileField("Fichier du lot signé (XML)")


def _page() -> int:
    return positive_int_arg(request.args, "page", 1)


@bp.get("/")
@login_required
def lots():
    search = services.FseSearch.from_args(request.args)
    db = get_session()
    if search.active:  # the search's results replace the list of lots
        found = services.search_fses(db, current_user, search, _page())
        return render_template("fse/lots.html", search=search, found=found, statuses=list(FseStatus))
    result = services.list_lots(db, current_user, _page())
    return render_template("fse/lots.html", result=result, search=search, statuses=list(FseStatus))


@bp.get("/lots/<int:lot_id>")
@login_required
def lot(lot_id: int):
    session = get_session()
    found = services.get_lot(session, current_user, lot_id)
    try:
        status = FseStatus(request.args["etat"]) if request.args.get("etat") else None
    except ValueError:
        status = None
    return render_template("fse/lot.html", lot=found, status=status, statuses=list(FseStatus),
                           fses=services.lot_fses(session, current_user, found, status))


@bp.get("/lots/<int:lot_id>/arl.xml")
@login_required
def lot_arl(lot_id: int):
    found = services.get_lot(get_session(), current_user, lot_id)
    return Response(
        found.arl_xml, content_type=intake.ARL_CONTENT_TYPE,
        headers={"Content-Disposition": f'attachment; filename="arl-lot-{found.id}.xml"'},
    )


@bp.get("/fse/<int:fse_id>")
@login_required
def fse(fse_id: int):
    session = get_session()
    found = services.get_fse(session, current_user, fse_id)
    return render_template(
        "fse/fse.html", fse=found, related=services.related_fses(session, current_user, found),
        details=services.fse_details(session, current_user, found),
    )


@bp.get("/fse/<int:fse_id>/fse.xml")
@login_required
def fse_xml(fse_id: int):
    """The FSE element as received, with its signature (verifiable on its own)."""
    found = services.get_fse(get_session(), current_user, fse_id)
    name = found.invoice_number or str(found.id)
    return Response(
        found.signed_xml, content_type="application/xml; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="fse-{name}.xml"'},
    )


def _send(db, body: bytes, filename: str):
    result = services.submit_lot(db, current_user, body, source="web")
    if result.report.lot_id is not None:
        # Post/Redirect/Get: the recorded lot's receipt is a page of its own, so F5
        # shows it again instead of sending the file a second time.
        session["sent_lot_file"] = [result.report.lot_id, filename[:200]]
        return redirect(url_for("fse.receipt", lot_id=result.report.lot_id), code=303)
    # A refused lot recorded nothing: its report answers the POST itself.
    return render_template("fse/result.html", result=result, report=result.report, dry_run=False,
                           filename=filename)


@bp.route("/envoyer", methods=["GET", "POST"])
@login_required
def upload():
    form = UploadForm()
    if request.method == "GET" or not form.validate_on_submit():
        return render_template("fse/upload.html", form=form)
    storage = request.files.get("lot_file")
    body = storage.read() if storage else b""
    if not body:
        error = Issue.of(lot_errors.NO_FILE)
        return render_template("fse/upload.html", form=form, errors=[error]), 400
    dry_run = request.form.get("action") == "verifier"
    filename = storage.filename or "lot.xml"
    db = get_session()
    if not dry_run:
        return _send(db, body, filename)
    result = services.validate_lot(db, current_user, body)
    digest = None
    if result.report.positive and result.report.accepted:
        # Kept server side, so that « Envoyer ce lot » sends these very bytes.
        digest = checked.keep(current_app.instance_path, current_user.id, body)
        session["checked_lot_file"] = [digest, filename[:200]]
    # A dry run recorded nothing: its report answers the POST itself.
    return render_template("fse/result.html", result=result, report=result.report, dry_run=True,
                           filename=filename, checked_digest=digest)


@bp.post("/envoyer-verifie")
@login_required
def send_checked():
    """« Envoyer ce lot » after « Vérifier »: the stored copy, through the same submission."""
    digest = request.form.get("lot", "")
    body = checked.take(current_app.instance_path, current_user.id, digest)
    if body is None:
        error = Issue.of(lot_errors.CHECKED_LOT_GONE)
        return render_template("fse/upload.html", form=UploadForm(), errors=[error]), 400
    remembered = session.get("checked_lot_file")
    filename = (remembered[1] if isinstance(remembered, list) and len(remembered) == 2
                and remembered[0] == digest else "lot.xml")
    return _send(get_session(), body, filename)


@bp.get("/lots/<int:lot_id>/accuse")
@login_required
def receipt(lot_id: int):
    """The acknowledgement of a lot sent from the upload page (read back, nothing sent)."""
    db = get_session()
    found = services.get_lot(db, current_user, lot_id)
    sent = session.get("sent_lot_file")
    filename = sent[1] if isinstance(sent, list) and len(sent) == 2 and sent[0] == found.id else None
    return render_template("fse/result.html", report=services.lot_report(db, current_user, found),
                           dry_run=False, filename=filename)

