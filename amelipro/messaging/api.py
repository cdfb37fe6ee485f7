"""Messagerie API for practice software, scoped to the token's professional:

- ``GET /api/v1/threads`` (``q``, ``page``), ``POST /api/v1/threads`` (JSON, or multipart with
  files ``pieces``), ``GET /api/v1/threads/<id>``;
- ``POST /api/v1/threads/<id>/messages`` (a reply, JSON or multipart), ``POST /api/v1/threads/<id>/read``;
- ``GET /api/v1/attachments/<id>`` (always a download).
"""

from __future__ import annotations

from flask import Blueprint, jsonify, request, url_for

from amelipro.api import api_professional, require_token
from amelipro.clock import today
from amelipro.db import get_session
from amelipro.errors import BAD_REQUEST, AmeliproError, positive_int_arg
from amelipro.extensions import csrf
from amelipro.messaging import complaints, errors, queries, services
from amelipro.messaging.views import attachment_response, uploaded_files

bp = Blueprint("messaging_api", __name__, url_prefix="/api/v1")
csrf.exempt(bp)


def _money(value) -> str | None:
    return None if value is None else f"{value:.2f}"


def thread_json(thread, unread: int | None = None, *, full: bool = False) -> dict:
    body = {
        "id": thread.id, "subject": thread.subject, "category": thread.category.value,
        "category_label": thread.category.label, "status": thread.status.value,
        "status_label": thread.status.label,
        "links": {"lot_id": thread.lot_id, "fse_id": thread.fse_id, "payment_id": thread.payment_id,
                  "virement_id": thread.virement_id},
        "claim_month": f"{thread.claim_month:%Y-%m}" if thread.claim_month else None,
        "claimed_amount": _money(thread.claimed_amount),
        "outcome": thread.outcome.value if thread.outcome else None,
        "outcome_amount": _money(thread.outcome_amount),
        "outcome_reason": thread.outcome_reason or None,
        "created_at": thread.created_at.isoformat(), "updated_at": thread.updated_at.isoformat(),
        "closed_at": thread.closed_at.isoformat() if thread.closed_at else None,
    }
    if unread is not None:
        body["unread"] = unread
    if full:
        body["messages"] = [message_json(m) for m in thread.messages]
    return body


def message_json(m) -> dict:
    return {
        "id": m.id, "from": m.side.value, "body": m.body, "created_at": m.created_at.isoformat(),
        "read_at": m.read_at.isoformat() if m.read_at else None,
        "attachments": [{"id": a.id, "filename": a.filename, "content_type": a.content_type, "size": a.size,
                         "sha256": a.sha256,
                         "href": url_for("messaging_api.attachment", attachment_id=a.id)}
                        for a in m.attachments],
    }


def _fields() -> dict:
    """JSON object, or form fields of a multipart request (with files ``pieces``)."""
    if request.mimetype == "multipart/form-data":
        return request.form.to_dict()
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        raise AmeliproError(BAD_REQUEST, "corps JSON (objet) ou multipart/form-data attendu")
    return data


def _text(data: dict, name: str) -> str:
    value = data.get(name, "")
    return value if isinstance(value, str) else ""


def _link(data: dict, name: str) -> int | None:
    links = data.get("links") if isinstance(data.get("links"), dict) else data
    value = links.get(name)
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not str(value).isdigit() or len(str(value)) > 12:
        raise AmeliproError(errors.LINK_NOT_FOUND, f"{name}={str(value)[:20]}")
    return int(value)


@bp.get("/threads")
@require_token
def threads():
    q = (request.args.get("q") or "")[:100]
    page = queries.list_threads(get_session(), api_professional(), today(), q=q,
                                 page=positive_int_arg(request.args, "page", 1))
    return jsonify({"threads": [thread_json(r.thread, r.unread) for r in page.rows],
                    "total": page.total, "page": page.page, "pages": page.pages})


@bp.post("/threads")
@require_token
def create_thread():
    session = get_session()
    pro = api_professional()
    data = _fields()
    links = complaints.Links(_link(data, "lot_id"), _link(data, "fse_id"), _link(data, "payment_id"),
                           _link(data, "virement_id"))
    try:
        thread = services.create_thread(session, pro, services.NewThread(
            subject=_text(data, "subject"), category=_text(data, "category"), body=_text(data, "body"),
            files=uploaded_files(), links=links), today())
    except AmeliproError:
        session.rollback()
        raise
    found = queries.get_thread(session, pro, thread.id)
    response = jsonify(thread_json(found, 0, full=True))
    response.status_code = 201
    response.headers["Location"] = url_for("messaging_api.thread", thread_id=thread.id)
    return response


@bp.get("/threads/<int:thread_id>")
@require_token
def thread(thread_id: int):
    found = queries.get_thread(get_session(), api_professional(), thread_id)
    unread = sum(1 for m in found.messages if m.side.value == "caisse" and m.read_at is None)
    return jsonify(thread_json(found, unread, full=True))


@bp.post("/threads/<int:thread_id>/messages")
@require_token
def reply(thread_id: int):
    session = get_session()
    pro = api_professional()
    data = _fields()
    try:
        message = services.reply(session, pro, thread_id, _text(data, "body"), uploaded_files())
    except AmeliproError:
        session.rollback()
        raise
    found = next(m for m in queries.get_thread(session, pro, thread_id).messages if m.id == message.id)
    response = jsonify(message_json(found))
    response.status_code = 201
    return response


@bp.post("/threads/<int:thread_id>/read")
@require_token
def mark_read(thread_id: int):
    count = services.mark_read(get_session(), api_professional(), thread_id)
    return jsonify({"id": thread_id, "marked_read": count})


@bp.get("/attachments/<int:attachment_id>")
@require_token
def attachment(attachment_id: int):
    return attachment_response(queries.get_attachment(get_session(), api_professional(), attachment_id))
