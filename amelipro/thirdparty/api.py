"""Tiers-payant JSON API (and the RSP feed in XML): every answer is the token owner's only.

- ``GET /api/v1/returns?since=<cursor>`` -> ``{"returns": [...], "next": "<cursor>"}``
  (``Accept: application/xml``: the same page as ``urn:amelipro:rsp:1`` XML);
- ``GET /api/v1/payments`` (filters: statut, du, au, patient, min, max, retard, page),
  ``GET /api/v1/payments/<fse_id>`` (with the transition history);
- ``GET /api/v1/virements``, ``GET /api/v1/virements/<id>``;
- ``GET /api/v1/penalties?mois=AAAA-MM``;
- ``POST /api/v1/statements`` (a camt.053 or CSV bank statement as the body: matched at once),
  ``GET /api/v1/statements``, ``GET /api/v1/statements/<id>``.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from flask import Blueprint, Response, jsonify, request, url_for

from amelipro import clock
from amelipro.api import api_professional, require_token
from amelipro.db import get_session
from amelipro.errors import AmeliproError, error_response, positive_int_arg
from amelipro.extensions import csrf
from amelipro.thirdparty import errors, rsp, services
from amelipro.thirdparty import virements as virement_services
from amelipro.thirdparty.models import Payment

bp = Blueprint("thirdparty_api", __name__, url_prefix="/api/v1")
csrf.exempt(bp)

def _money(value: Decimal | None) -> str | None:
    return None if value is None else f"{value:.2f}"


def _iso(value: date | None) -> str | None:
    return value.isoformat() if value else None


def payment_json(p: Payment, delay) -> dict:
    return {
        "fse_id": p.fse_id,
        "invoice_number": p.invoice_number,
        "patient_nir": p.patient_nir,
        "care_date": _iso(p.care_date),
        "status": p.status.value,
        "status_label": p.status.label,
        "software_status": p.status.software_label,
        "acknowledged_on": _iso(p.acknowledged_on),
        "due_date": _iso(p.due_date),
        "amo_claimed": _money(p.amo_claimed),
        "amo_paid": _money(p.amo_paid),
        "reject_code": p.reject_code or None,
        "liquidated_on": _iso(p.liquidated_on),
        "paid_on": _iso(p.paid_on),
        "virement_id": p.virement_id,
        "replaced_by_fse_id": p.replaced_by_fse_id,
        "delay": None if delay is None else {
            "working_days": delay.day_number, "days_late": delay.days_late,
            "penalty": _money(delay.penalty), "penalty_kind": delay.penalty_kind or None,
        },
    }


def virement_json(v) -> dict:
    return {
        "id": v.id, "reference": v.reference, "value_date": _iso(v.value_date),
        "amount": _money(v.amount), "fse_count": v.fse_count,
        "received_amount": _money(v.received_amount), "received_on": _iso(v.received_on),
        "reception": v.reception, "bank_account": v.bank_account or None,
    }


@bp.get("/returns")
@require_token
def returns_feed():
    since = services.parse_cursor(request.args.get("since"))
    limit = positive_int_arg(request.args, "limit", services.FEED_LIMIT)  # capped at FEED_LIMIT
    records, next_cursor = services.returns_since(get_session(), api_professional(), since, limit)
    best = request.accept_mimetypes.best_match(["application/json", "application/xml", "text/xml"])
    if best in ("application/xml", "text/xml") and request.accept_mimetypes[best] > request.accept_mimetypes["application/json"]:
        return Response(rsp.feed_xml(records, next_cursor), content_type="application/xml; charset=utf-8")
    return jsonify(rsp.feed_json(records, next_cursor))


@bp.get("/payments")
@require_token
def payments():
    f = services.PaymentFilter.from_args(request.args)
    page = positive_int_arg(request.args, "page", 1)
    day = clock.today()
    result = services.list_payments(get_session(), api_professional(), f, day, page=page)
    return jsonify({
        "payments": [payment_json(r.payment, r.delay) for r in result.rows],
        "total": result.total, "page": result.page, "pages": result.pages,
        "amo_claimed_total": _money(result.amount),
    })


@bp.get("/payments/<int:fse_id>")
@require_token
def payment(fse_id: int):
    session = get_session()
    pro = api_professional()
    found = services.payment_by_fse(session, pro, fse_id)
    detail = services.payment_detail(session, pro, found.id, clock.today())
    body = payment_json(detail.payment, detail.delay)
    body["history"] = [
        {"at": t.at.isoformat(), "event": t.event, "from": t.from_status, "to": t.to_status,
         "cause": t.cause} for t in detail.transitions
    ]
    body["codes"] = detail.rsp.codes if detail.rsp else []
    body["corrects_fse_id"] = detail.corrects.fse_id if detail.corrects else None
    return jsonify(body)


@bp.get("/virements")
@require_token
def virements():
    rows = virement_services.list_virements(get_session(), api_professional())
    return jsonify({"virements": [virement_json(v) for v in rows]})


@bp.get("/virements/<int:virement_id>")
@require_token
def virement(virement_id: int):
    detail = virement_services.virement_detail(get_session(), api_professional(), virement_id)
    body = virement_json(detail.virement)
    body["fse"] = [{"fse_id": p.fse_id, "invoice_number": p.invoice_number,
                    "amo_paid": _money(p.amo_paid), "status": p.status.value} for p in detail.payments]
    return jsonify(body)


@bp.get("/penalties")
@require_token
def penalties():
    day = clock.today()
    month = services.parse_month(request.args.get("mois") or request.args.get("month"), day)
    statement = services.penalty_statement(get_session(), api_professional(), month, day)
    return jsonify({
        "month": f"{statement.month.year:04d}-{statement.month.month:02d}",
        "total": _money(statement.total),
        "penalties": [
            {"fse_id": li.payment.fse_id, "invoice_number": li.payment.invoice_number,
             "acknowledged_on": _iso(li.payment.acknowledged_on), "due_date": _iso(li.delay.due_date),
             "paid_on": _iso(li.payment.paid_on), "working_days": li.delay.day_number,
             "days_late": li.delay.days_late, "penalty_kind": li.delay.penalty_kind,
             "penalty": _money(li.delay.penalty)}
            for li in statement.lines
        ],
    })


# --- bank statements (rapprochement) ---------------------------------------------------------

def statement_json(record, lines=None, missing=None) -> dict:
    body = {
        "id": record.id, "uploaded_at": record.uploaded_at.isoformat(), "filename": record.filename,
        "format": record.format, "statement_ref": record.statement_ref, "iban": record.iban,
        "period_start": _iso(record.period_start), "period_end": _iso(record.period_end),
        "lines": record.line_count, "matched": record.matched_count, "partial": record.partial_count,
        "duplicates": record.duplicate_count, "unknown": record.unknown_count,
        "credits_total": _money(record.credits_total),
    }
    if lines is not None:
        body["credits"] = [
            {"position": li.position, "booking_date": _iso(li.booking_date), "value_date": _iso(li.value_date),
             "amount": _money(li.amount), "currency": li.currency, "reference": li.reference,
             "label": li.label, "status": li.status.value, "method": li.method,
             "other_account": li.other_account,
             "virement_id": li.virement_id, "virement_reference": li.virement.reference if li.virement else None,
             "expected": _money(li.expected), "difference": _money(li.difference)}
            for li in lines
        ]
    if missing is not None:
        body["virements_not_received"] = [virement_json(v) for v in missing]
    return body


@bp.post("/statements")
@require_token
def upload_statement():
    """A bank statement as the request body (camt.053 XML or CSV): matched at once."""
    session = get_session()
    pro = api_professional()
    filename = (request.headers.get("X-Filename") or request.args.get("filename") or "")[:200]
    try:
        record = virement_services.import_statement(session, pro, request.get_data(cache=False), filename)
    except AmeliproError as exc:
        session.rollback()
        if exc.error is errors.STATEMENT_DUPLICATE and exc.extra.get("statement_id"):
            location = url_for("thirdparty_api.statement", statement_id=exc.extra["statement_id"])
            body, status = error_response([exc.as_dict()], exc.status)
            return body, status, {"Location": location}
        raise
    detail = virement_services.statement_detail(session, pro, record.id)
    response = jsonify(statement_json(detail.statement, detail.lines, detail.missing))
    response.status_code = 201
    response.headers["Location"] = url_for("thirdparty_api.statement", statement_id=record.id)
    return response


@bp.get("/statements")
@require_token
def statements():
    rows = virement_services.list_statements(get_session(), api_professional())
    return jsonify({"statements": [statement_json(r) for r in rows]})


@bp.get("/statements/<int:statement_id>")
@require_token
def statement(statement_id: int):
    detail = virement_services.statement_detail(get_session(), api_professional(), statement_id)
    return jsonify(statement_json(detail.statement, detail.lines, detail.missing))
