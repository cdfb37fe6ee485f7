"""Home page, health check, audit log (operators)."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, jsonify, render_template, send_from_directory
from flask_login import current_user, login_required

from amelipro import audit
from amelipro import home as home_panels
from amelipro.db import get_session, health_probe

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
    return render_template("audit.html", events=audit.list_events(get_session()))


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
            home_panels.Fact("Connexions échouées", str(counts["login.failed"]),
                             alert=counts["login.failed"] >= 20),
            home_panels.Fact("Connexions bloquées (trop d'échecs)", str(counts["login.throttled"]),
                             alert=bool(counts["login.throttled"])),
            home_panels.Fact("Jetons d'API créés", str(counts["token.created"])),
            home_panels.Fact("Jetons d'API révoqués", str(counts["token.revoked"])),
        ),
    )
