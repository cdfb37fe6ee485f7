"""Home page, health check, audit log (operators)."""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    jsonify,
    render_template,
    request,
    send_from_directory,
    url_for,
)
from flask_login import current_user, login_required

from amelipro import apidoc, audit
from amelipro import home as home_panels
from amelipro.clock import date_or_today
from amelipro.db import get_session, health_probe
from amelipro.errors import positive_int_arg
from amelipro.filters import number

bp = Blueprint("main", __name__)


@bp.get("/")
@login_required
def home():
    return render_template("home.html", panels=home_panels.panels(current_app, get_session(), current_user))


@bp.get("/healthz")
def healthz():
    """Within a second whatever the database does (its own connection, a deadline)."""
    outcome, versions = health_probe().check()
    if outcome == "ok" and versions:
        return jsonify({"status": "ok", "database": "ok"})
    database = {
        "ok": "non migrée (amelipro db upgrade)",
        "error": "indisponible ou non migrée",
        "timeout": "ne répond pas à temps",
        "busy": "ne répond pas à temps",
    }[outcome]
    return jsonify({"status": "error", "database": database}), 503


@bp.get("/journal")
@login_required
def audit_log():
    if not current_user.is_operator:
        abort(403)
    session = get_session()
    f = _journal_filter(request.args)
    page = audit.journal(session, f)
    args = {k: v for k, v in request.args.items() if k != "page" and v}

    def page_url(number: int) -> str:
        return url_for("main.audit_log", **args, page=number)

    return render_template("audit.html", journal=page, kinds=audit.journal_kinds(session),
                           sentence=audit.sentence, kind_label=audit.kind_label, page_url=page_url,
                           csv_url=url_for("main.audit_csv", **args))


@bp.get("/journal.csv")
@login_required
def audit_csv():
    if not current_user.is_operator:
        abort(403)
    body = audit.journal_csv(get_session(), _journal_filter(request.args))
    return Response("\ufeff" + body, content_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": 'attachment; filename="journal-audit.csv"'})


def _journal_filter(args) -> audit.JournalFilter:
    """?type=…&personne=…&du=AAAA-MM-JJ&au=AAAA-MM-JJ&page=N (each optional)."""
    start = args.get("du", "").strip()
    end = args.get("au", "").strip()
    return audit.JournalFilter(
        action=(args.get("type") or "").strip()[:64] or None,
        person=(args.get("personne") or "").strip()[:64] or None,
        start=date_or_today(start) if start else None,
        end=date_or_today(end) if end else None,
        page=positive_int_arg(args, "page", 1),
    )


@bp.get("/documentation-api")
def api_docs():
    """The API documentation, public, rendered here from the OpenAPI document (no CDN)."""
    return render_template("api_docs.html", doc=_api_doc(current_app.static_folder or ""))


@lru_cache(maxsize=1)
def _api_doc(static_folder: str) -> apidoc.ApiDoc:
    return apidoc.describe(json.loads(Path(static_folder, "openapi.json").read_text(encoding="utf-8")))


@bp.get("/favicon.ico")
def favicon():
    return send_from_directory(current_app.static_folder, "favicon.svg", mimetype="image/svg+xml")


def security_panel(session, user):
    """Operators: what the audit log says of the last 24 hours."""
    from datetime import timedelta

    from amelipro.db import utcnow

    if not user.is_operator:
        return None
    counts = audit.count_since(session, utcnow() - timedelta(hours=24),
                               ("login.failed", "login.throttled", "token.created", "token.revoked"))
    return home_panels.Panel(
        title="Sécurité : 24 dernières heures",
        endpoint="main.audit_log",
        facts=(
            home_panels.Fact("Connexions échouées", number(counts["login.failed"]),
                             alert=counts["login.failed"] >= 20),
            home_panels.Fact("Connexions bloquées (trop d'échecs)", number(counts["login.throttled"]),
                             alert=bool(counts["login.throttled"])),
            home_panels.Fact("Jetons d'API créés", number(counts["token.created"])),
            home_panels.Fact("Jetons d'API révoqués", number(counts["token.revoked"])),
        ),
    )
