"""Paiements pages (French): dashboard, FSE list and CSV export, FSE timeline, virements,
bank statement upload and match result, monthly penalty statement.

Views parse input, call a service (every query scoped to the logged-in professional) and
render; a GET never writes. An accepted FSE has its payment ("en attente") from the moment
its lot is recorded (``tracking.track_lot``, in the lot's transaction).
"""

from __future__ import annotations

from datetime import date

from flask import Blueprint, Response, current_app, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from flask_wtf.file import FileField

from amelipro import clock
from amelipro.db import get_session
from amelipro.errors import AmeliproError, positive_int_arg
from amelipro.filters import month_fr
from amelipro.thirdparty import charts, errors, services
from amelipro.thirdparty import virements as virement_services
from amelipro.thirdparty.adjustments import KIND_PENALTIES, list_adjustments
from amelipro.thirdparty.calendar import AGEING_BUCKETS
from amelipro.thirdparty.states import PaymentStatus

bp = Blueprint("thirdparty", __name__, url_prefix="/paiements")

STATUS_CHOICES = [
    ("", "Tous"), ("en_attente", "En attente"), ("payee", "Payées (y compris ajustées)"),
    ("ajustee", "Payées avec ajustement"), ("rejetee", "Rejetées"),
    ("renvoyee", "Corrigées et renvoyées"),
]


class StatementForm(FlaskForm):
    statement_file = FileField("Relevé bancaire (camt.053 XML ou CSV)")


def _page() -> int:
    return positive_int_arg(request.args, "page", 1)


def _upload_endpoint() -> str | None:
    return "fse.upload" if "fse.upload" in current_app.view_functions else None


@bp.app_context_processor
def _helpers():
    return {"tp_upload_endpoint": _upload_endpoint, "PaymentStatus": PaymentStatus}


@bp.get("/")
@login_required
def dashboard():
    day = clock.today()
    data = services.dashboard(get_session(), current_user, day)
    ageing_chart = charts.bar_chart(
        [(f"{b} j", count) for b, count, _ in data.ageing],
        title="Factures en attente par ancienneté (jours ouvrés)",
        css_classes=[f"tp-age-{i}" for i in range(len(AGEING_BUCKETS))],
    )
    paid_chart = charts.bar_chart(
        [(f"{d.day:02d}", amount) for d, amount in data.daily_paid],
        title=f"Paiements reçus par jour de valeur, {month_fr(data.month)}", label_every=5,
    )
    monthly_chart = charts.bar_chart(
        [(month_fr(m), amount) for m, amount in data.monthly_paid],
        title="Paiements reçus sur six mois (par mois de valeur)", width=960, height=200,
    )
    return render_template("thirdparty/dashboard.html", data=data, today=day,
                           adjustments=list_adjustments(get_session(), current_user, limit=20),
                           ageing_chart=ageing_chart, paid_chart=paid_chart,
                           monthly_chart=monthly_chart)


@bp.get("/factures")
@login_required
def payments():
    f = services.PaymentFilter.from_args(request.args)
    result = services.list_payments(get_session(), current_user, f, clock.today(), page=_page())
    return render_template("thirdparty/payments.html", result=result, f=f, choices=STATUS_CHOICES)


@bp.get("/factures.csv")
@login_required
def payments_csv():
    f = services.PaymentFilter.from_args(request.args)
    body = services.export_payments_csv(get_session(), current_user, f, clock.today())
    return Response(
        "\ufeff" + body, content_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="paiements-tiers-payant.csv"'},
    )


@bp.get("/factures/<int:payment_id>")
@login_required
def payment(payment_id: int):
    session = get_session()
    detail = services.payment_detail(session, current_user, payment_id, clock.today())
    return render_template("thirdparty/payment.html", d=detail,
                           adjustments=list_adjustments(session, current_user, payment_id=detail.payment.id))


@bp.get("/virements")
@login_required
def virements():
    return render_template("thirdparty/virements.html",
                           virements=virement_services.list_virements(get_session(), current_user))


@bp.get("/virements/<int:virement_id>")
@login_required
def virement(virement_id: int):
    detail = virement_services.virement_detail(get_session(), current_user, virement_id)
    return render_template("thirdparty/virement.html", d=detail)


@bp.route("/releves", methods=["GET", "POST"])
@login_required
def statements():
    form = StatementForm()
    session = get_session()
    if request.method == "POST" and form.validate_on_submit():
        storage = request.files.get("statement_file")
        data = storage.read() if storage else b""
        try:
            record = virement_services.import_statement(session, current_user, data,
                                               (storage.filename or "") if storage else "")
        except AmeliproError as exc:
            session.rollback()
            existing = exc.extra.get("statement_id") if exc.error is errors.STATEMENT_DUPLICATE else None
            if existing:
                return redirect(url_for("thirdparty.statement", statement_id=existing, deja=1))
            return render_template("thirdparty/statements.html", form=form, errors=[exc.as_dict()],
                                   statements=virement_services.list_statements(session, current_user)), exc.status
        return redirect(url_for("thirdparty.statement", statement_id=record.id))
    return render_template("thirdparty/statements.html", form=form,
                           statements=virement_services.list_statements(session, current_user))


@bp.get("/releves/<int:statement_id>")
@login_required
def statement(statement_id: int):
    detail = virement_services.statement_detail(get_session(), current_user, statement_id)
    return render_template("thirdparty/statement.html", d=detail, already=request.args.get("deja"))


def _penalty_statement() -> tuple[date, services.PenaltyStatement]:
    """The statement of the month asked (``mois=AAAA-MM``; this month by default)."""
    day = clock.today()
    month = services.parse_month(request.args.get("mois"), day)
    return month, services.penalty_statement(get_session(), current_user, month, day)


@bp.get("/penalites")
@login_required
def penalties():
    month, statement = _penalty_statement()
    adjustments = [a for a in list_adjustments(get_session(), current_user) if a.kind == KIND_PENALTIES]
    return render_template("thirdparty/penalties.html", s=statement, month=month, adjustments=adjustments)


@bp.get("/penalites.csv")
@login_required
def penalties_csv():
    month, statement = _penalty_statement()
    return Response(
        "\ufeff" + services.penalty_statement_csv(statement, current_user),
        content_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="penalites-{month:%Y-%m}.csv"'},
    )
