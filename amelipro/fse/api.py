"""FSE API: submit a signed lot (ARL answered), dry run, read lots and FSE (JSON).

Handlers parse the request, call a service, and render. Bad input never answers 5xx:
415 wrong content type, 413 too large, 400 unreadable, 422 invalid or unsigned (each with
the negative ARL as body), 201 with the positive ARL (even when FSE are rejected).
"""

from __future__ import annotations

import io
from decimal import Decimal
from typing import Any

from flask import Blueprint, Response, current_app, jsonify, request, url_for
from werkzeug.exceptions import RequestEntityTooLarge

from amelipro.api import api_professional, require_token
from amelipro.db import get_session
from amelipro.errors import AmeliproError, positive_int_arg
from amelipro.extensions import csrf
from amelipro.fse import idempotency, intake, lot_errors, services
from amelipro.fse.models import Lot, StoredFse
from amelipro.issues import as_dicts
from amelipro.uploads import BodyError
from amelipro.xmlcore import errors as xml_errors

bp = Blueprint("fse_api", __name__, url_prefix="/api/v1")
csrf.exempt(bp)

XML_TYPES = {"application/xml", "text/xml"}


def _arl_response(status: int, body: bytes, **headers: str) -> Response:
    response = Response(body, status=status, content_type=intake.ARL_CONTENT_TYPE)
    for name, value in headers.items():
        response.headers[name.replace("_", "-")] = value
    return response


def _refuse(error, detail: str = "") -> Response:
    """A negative ARL for a request refused before reading the lot."""
    result = services.refused(error, detail)
    return _arl_response(result.status, result.arl)


@bp.errorhandler(BodyError)
def _body_error(exc: BodyError) -> Response:
    """An incomplete or oversized body (``amelipro.uploads``): a negative ARL, nothing stored."""
    return _refuse(exc.error, exc.detail)


def _body_bytes() -> bytes:
    """The request body, not copied: the bytes ``amelipro.uploads`` read and checked (a lot
    can weigh tens of MB; ``get_data`` would make a second copy, alive with the first until
    the response)."""
    environ = request.environ
    stream = environ.get("wsgi.input")
    if environ.get("amelipro.body_checked") and isinstance(stream, io.BytesIO) and stream.tell() == 0:
        body = stream.getvalue()  # the very bytes given to the buffer: no copy
        if len(body) == request.content_length:
            return body
    return request.get_data(cache=False)


def _read_body() -> bytes | Response:
    if request.mimetype not in XML_TYPES:
        return _refuse(lot_errors.CONTENT_TYPE, f"Reçu : {request.mimetype or 'aucun'}.")
    limit = int(current_app.config.get("XML_MAX_BYTES") or 0)
    if limit and request.content_length is not None and request.content_length > limit:
        return _refuse(xml_errors.TOO_LARGE, f"Taille maximale : {limit} octets.")
    try:
        body = _body_bytes()
    except RequestEntityTooLarge:
        return _refuse(xml_errors.TOO_LARGE)
    if limit and len(body) > limit:
        return _refuse(xml_errors.TOO_LARGE, f"Taille maximale : {limit} octets.")
    if not body.strip():
        return _refuse(xml_errors.EMPTY)
    return body


@bp.post("/lots")
@require_token
def submit_lot():
    body = _read_body()
    if isinstance(body, Response):
        return body
    pro = api_professional()
    session = get_session()
    claim = None
    raw_key = request.headers.get("Idempotency-Key")
    if raw_key is not None:
        key = idempotency.check_key(raw_key)
        got = idempotency.claim(
            session, pro.id, key, idempotency.request_hash("POST", request.path, body),
            idempotency.stale_after(current_app.config),
        )
        if isinstance(got, idempotency.Replay):
            response = Response(got.body, status=got.status, content_type=got.content_type)
            response.headers["Idempotent-Replayed"] = "true"
            return response
        claim = got
    try:
        result = services.submit_lot(session, pro, body, claim=claim)
    except idempotency.ClaimLostError:
        session.rollback()  # overtaken by a retry with the same key: that one answers
        raise AmeliproError(lot_errors.IDEMPOTENCY_IN_PROGRESS, key=claim.key, retry_after=1) from None
    except BaseException:
        if claim is not None:
            idempotency.release(session, claim)
        raise
    headers = {}
    if result.report.lot_id is not None:
        headers["Location"] = url_for("fse_api.get_lot", lot_id=result.report.lot_id)
    return _arl_response(result.status, result.arl, **headers)


@bp.post("/fse/validate")
@require_token
def validate():
    body = _read_body()
    if isinstance(body, Response):
        return body
    result = services.validate_lot(get_session(), api_professional(), body)
    if request.accept_mimetypes.best == "application/json":
        return jsonify(report_json(result.report)), result.status
    return _arl_response(result.status, result.arl)


@bp.get("/lots")
@require_token
def list_lots():
    page = positive_int_arg(request.args, "page", 1)
    result = services.list_lots(get_session(), api_professional(), page)
    return jsonify({
        "lots": [lot_json(lot) for lot in result.lots],
        "page": result.page, "pages": result.pages, "total": result.total,
    })


@bp.get("/lots/<int:lot_id>")
@require_token
def get_lot(lot_id: int):
    session = get_session()
    pro = api_professional()
    lot = services.get_lot(session, pro, lot_id)
    if request.accept_mimetypes.best == "application/xml":
        return _arl_response(200, lot.arl_xml.encode())
    data = lot_json(lot)
    data["fse"] = [fse_summary_json(f) for f in services.lot_fses(session, pro, lot)]
    return jsonify(data)


@bp.get("/fse/<int:fse_id>")
@require_token
def get_fse(fse_id: int):
    fse = services.get_fse(get_session(), api_professional(), fse_id)
    if request.accept_mimetypes.best == "application/xml":
        return Response(fse.signed_xml, content_type="application/xml; charset=utf-8")
    return jsonify(fse_json(fse))


# --- serialization -----------------------------------------------------------------------

def _amount(value: Decimal | None) -> str | None:
    return None if value is None else f"{Decimal(value):.2f}"


def lot_json(lot: Lot) -> dict[str, Any]:
    return {
        "id": lot.id,
        "lot_number": lot.lot_number,
        "received_at": lot.received_at.isoformat(),
        "status": lot.status.value,
        "source": lot.source,
        "fse_count": lot.fse_count,
        "accepted": lot.accepted_count,
        "rejected": lot.rejected_count,
        "duplicates": lot.duplicate_count,
        "amo_accepted": _amount(lot.amo_accepted),
        "body_sha256": lot.body_sha256,
    }


def fse_summary_json(fse: StoredFse) -> dict[str, Any]:
    return {
        "id": fse.id,
        "position": fse.position,
        "element_id": fse.element_id,
        "invoice_number": fse.invoice_number,
        "status": fse.status.value,
        "duplicate_of": fse.duplicate_of_id,
        "corrects": fse.corrects_id,
        "amo_sent": _amount(fse.amo_sent),
        "amo_computed": _amount(fse.amo_computed),
        "errors": as_dicts(fse.errors),
    }


def fse_json(fse: StoredFse) -> dict[str, Any]:
    data = fse_summary_json(fse)
    data.update({
        "lot_id": fse.lot_id,
        "invoice_date": fse.invoice_date.isoformat() if fse.invoice_date else None,
        "first_care_date": fse.first_care_date.isoformat() if fse.first_care_date else None,
        "last_care_date": fse.last_care_date.isoformat() if fse.last_care_date else None,
        "patient": {
            "nir": fse.patient_nir,
            "birth_date": fse.patient_birth_date.isoformat() if fse.patient_birth_date else None,
            "rank": fse.patient_rank,
        },
        "nature": fse.nature,
        "pathway": fse.pathway,
        "exemption": fse.exemption,
        "tiers_payant": {"amo": fse.tiers_payant_amo, "amc": fse.tiers_payant_amc},
        "amounts": {
            "sent": {"charged": _amount(fse.charged_sent), "base": _amount(fse.base_sent),
                     "amo": _amount(fse.amo_sent)},
            "computed": {"charged": _amount(fse.charged_computed), "base": _amount(fse.base_computed),
                         "amo": _amount(fse.amo_computed), "patient_charges": _amount(fse.patient_charges),
                         "participation": _amount(fse.participation), "franchise": _amount(fse.franchise)},
        },
        "lines": fse.lines,
        "received_at": fse.created_at.isoformat(),
    })
    return data


def report_json(report: services.LotReport) -> dict[str, Any]:
    return {
        "positive": report.positive,
        "dry_run": report.dry_run,
        "lot_id": report.lot_id,
        "lot_number": report.lot_number,
        "status": report.status.value if report.status else None,
        "errors": as_dicts(report.errors),
        "summary": {"fse": len(report.fses), "accepted": report.accepted, "rejected": report.rejected,
                    "duplicates": report.duplicates},
        "fse": [
            {"position": f.position, "element_id": f.element_id, "invoice_number": f.invoice_number,
             "status": f.status.value, "id": f.fse_id, "duplicate_of": f.duplicate_of_id,
             "corrects": f.corrects_id, "amo_sent": _amount(f.amo_sent),
             "amo_computed": _amount(f.amo_computed), "participation": _amount(f.participation),
             "franchise": _amount(f.franchise), "errors": as_dicts(f.errors)}
            for f in report.fses
        ],
    }

