"""Messagerie pages (French): the professional's threads (/messagerie) and the caisse's inbox
(/caisse). Views parse input, call a service and render; every form follows Post/Redirect/Get,
and an error re-renders the form with its code (nothing is written)."""

from __future__ import annotations

import io

from flask import Blueprint, redirect, render_template, request, send_file, url_for
from flask_login import current_user, login_required
from flask_wtf import FlaskForm

from amelipro.clock import today
from amelipro.db import get_session
from amelipro.errors import AmeliproError, positive_int_arg
from amelipro.messaging import complaints, errors, queries, services
from amelipro.messaging.domain import (
    FREE_CATEGORIES,
    MAX_ATTACHMENT_BYTES,
    MAX_ATTACHMENTS,
    Box,
    Category,
    Outcome,
)
from amelipro.thirdparty import services as tp_services
from amelipro.thirdparty.models import Adjustment

bp = Blueprint("messaging", __name__, url_prefix="/messagerie")
caisse_bp = Blueprint("caisse", __name__, url_prefix="/caisse")


class CsrfForm(FlaskForm):
    """Only the CSRF token: fields are read from the request (files may be several)."""


def _int_arg(name: str) -> int | None:
    raw = (request.values.get(name) or "").strip()
    if not raw:
        return None
    if not raw.isdigit() or len(raw) > 12:
        raise AmeliproError(errors.LINK_NOT_FOUND, f"{name}={raw[:20]}")
    return int(raw)


def uploaded_files() -> tuple[tuple[str | None, bytes], ...]:
    # Read at most one byte beyond the limit per file: a 6 MB upload answers 413, not memory.
    out = []
    for storage in request.files.getlist("pieces"):
        if not storage or (not storage.filename and not storage.content_length):
            continue
        try:
            out.append((storage.filename, storage.stream.read(MAX_ATTACHMENT_BYTES + 1)))
        finally:
            storage.close()  # a large upload is spooled to a temporary file: free it now
    return tuple(out)


def attachment_response(attachment):
    """Always a download (never rendered inline), type as detected at upload, no sniffing,
    sandboxed if a browser opened it anyway."""
    response = send_file(io.BytesIO(attachment.data), mimetype=attachment.content_type, as_attachment=True,
                         download_name=attachment.filename, max_age=0, etag=False)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = "sandbox; default-src 'none'"
    response.headers["Cache-Control"] = "private, no-store"
    return response


# --- professionals -----------------------------------------------------------------------------


@bp.get("/")
@login_required
def threads():
    q = (request.args.get("q") or "")[:100]
    result = queries.list_threads(get_session(), current_user, today(), q=q,
                                   page=positive_int_arg(request.args, "page", 1))
    return render_template("messaging/threads.html", result=result, q=q)


def _draft() -> complaints.Draft:
    session, pro, day = get_session(), current_user, today()
    payment_id, fse_id = _int_arg("paiement"), _int_arg("fse")
    month = request.values.get("penalites")
    if month:
        return complaints.penalty_claim_draft(session, pro, tp_services.parse_month(month, day), day)
    if payment_id is not None:
        return complaints.payment_complaint_draft(session, pro, payment_id, day)
    if fse_id is not None:
        return complaints.fse_complaint_draft(session, pro, fse_id, day)
    links = complaints.check_links(session, pro, complaints.Links(lot_id=_int_arg("lot"),
                                                              virement_id=_int_arg("virement")))
    category = request.values.get("categorie") or Category.QUESTION.value
    if category not in {c.value for c in FREE_CATEGORIES}:
        category = Category.QUESTION.value
    return complaints.Draft("", Category(category), "", links)


@bp.route("/nouveau", methods=["GET", "POST"])
@login_required
def new():
    form = CsrfForm()
    draft = _draft()
    if request.method == "POST" and form.validate_on_submit():
        session = get_session()
        data = services.NewThread(
            subject=request.form.get("objet", ""), category=request.form.get("categorie", ""),
            body=request.form.get("message", ""), files=uploaded_files(), links=draft.links,
            claim_month=draft.claim_month)
        try:
            thread = services.create_thread(session, current_user, data, today())
        except AmeliproError as exc:
            session.rollback()
            return render_template("messaging/new.html", form=form, draft=draft, errors=[exc.as_dict()],
                                   values=request.form, categories=FREE_CATEGORIES,
                                   max_files=MAX_ATTACHMENTS), exc.status
        return redirect(url_for("messaging.thread", thread_id=thread.id, envoye=1))
    return render_template("messaging/new.html", form=form, draft=draft, values=None,
                           categories=FREE_CATEGORIES, max_files=MAX_ATTACHMENTS)


def _render_thread(thread_id: int, errors=None, status: int = 200, values=None):
    session = get_session()
    thread = queries.get_thread(session, current_user, thread_id)
    adjustment = None
    if thread.adjustment_id:
        adjustment = session.get(Adjustment, thread.adjustment_id)
    return render_template("messaging/thread.html", thread=thread, form=CsrfForm(), errors=errors,
                           values=values, adjustment=adjustment, sent=request.args.get("envoye"),
                           max_files=MAX_ATTACHMENTS), status


@bp.get("/<int:thread_id>")
@login_required
def thread(thread_id: int):
    return _render_thread(thread_id)


@bp.post("/<int:thread_id>/repondre")
@login_required
def reply(thread_id: int):
    CsrfForm().validate_on_submit()
    session = get_session()
    try:
        services.reply(session, current_user, thread_id, request.form.get("message", ""), uploaded_files())
    except AmeliproError as exc:
        session.rollback()
        if exc.status == 404:
            raise
        return _render_thread(thread_id, [exc.as_dict()], exc.status, request.form)
    return redirect(url_for("messaging.thread", thread_id=thread_id, _anchor="dernier"))


@bp.post("/<int:thread_id>/lu")
@login_required
def mark_read(thread_id: int):
    services.mark_read(get_session(), current_user, thread_id)
    return redirect(url_for("messaging.thread", thread_id=thread_id))


@bp.get("/pieces/<int:attachment_id>")
@login_required
def attachment(attachment_id: int):
    return attachment_response(queries.get_attachment(get_session(), current_user, attachment_id))


# --- caisse agents -------------------------------------------------------------------------------


@caisse_bp.before_request
@login_required
def _agents_only():
    queries.require_agent(current_user)


@caisse_bp.get("/")
def inbox():
    session = get_session()
    f = queries.InboxFilter.from_args(request.args)
    result = queries.inbox(session, current_user, f, today(), page=positive_int_arg(request.args, "page", 1))
    return render_template("messaging/inbox.html", result=result, f=f, boxes=list(Box),
                           counts=queries.box_counts(session, current_user), categories=list(Category))


def _render_agent_thread(thread_id: int, errors=None, status: int = 200, values=None):
    session = get_session()
    thread = queries.get_thread(session, current_user, thread_id, as_agent=True)
    linked = queries.linked_view(session, thread, today())
    return render_template("messaging/agent_thread.html", thread=thread, linked=linked, form=CsrfForm(),
                           errors=errors, values=values, outcomes=list(Outcome),
                           max_files=MAX_ATTACHMENTS), status


@caisse_bp.get("/<int:thread_id>")
def agent_thread(thread_id: int):
    return _render_agent_thread(thread_id)


def _agent_action(thread_id: int, action):
    CsrfForm().validate_on_submit()
    session = get_session()
    try:
        action(session)
    except AmeliproError as exc:
        session.rollback()
        if exc.status in (403, 404):
            raise
        return _render_agent_thread(thread_id, [exc.as_dict()], exc.status, request.form)
    return redirect(url_for("caisse.agent_thread", thread_id=thread_id))


@caisse_bp.post("/<int:thread_id>/attribuer")
def assign(thread_id: int):
    return _agent_action(thread_id, lambda s: services.assign(s, current_user, thread_id))


@caisse_bp.post("/<int:thread_id>/repondre")
def answer(thread_id: int):
    return _agent_action(thread_id, lambda s: services.reply(
        s, current_user, thread_id, request.form.get("message", ""), uploaded_files(), as_agent=True))


@caisse_bp.post("/<int:thread_id>/cloturer")
def close(thread_id: int):
    decision = services.Decision(request.form.get("issue", ""), request.form.get("montant", ""),
                                 request.form.get("motif", ""))
    return _agent_action(thread_id, lambda s: services.close(s, current_user, thread_id, decision))


@caisse_bp.post("/<int:thread_id>/lu")
def agent_mark_read(thread_id: int):
    return _agent_action(thread_id, lambda s: services.mark_read(s, current_user, thread_id, as_agent=True))


@caisse_bp.get("/pieces/<int:attachment_id>")
def agent_attachment(attachment_id: int):
    return attachment_response(queries.get_attachment(get_session(), current_user, attachment_id,
                                                       as_agent=True))
