"""Blueprints of the fse package: the Facturation pages ("fse") and the FSE API ("fse_api")."""

from __future__ import annotations

from datetime import timedelta

from flask import Flask

from amelipro import home
from amelipro.db import utcnow


def register(app: Flask) -> None:
    from amelipro.fse import api, demo, intake, online_commands, online_views, views

    app.extensions[intake.PIPELINE_KEY] = intake.Pipeline(app)  # the submission path, built once
    app.register_blueprint(views.bp)
    app.register_blueprint(api.bp)
    app.register_blueprint(online_views.bp)  # « Nouvelle feuille de soins » (online billing)
    app.register_blueprint(online_views.api_bp)  # POST /api/v1/fse/price
    online_commands.register_online_commands()  # `amelipro pki online-issue`
    demo.register(app)  # `amelipro demo lot`
    home.add_panel(app, _home_panel)
    home.add_panel(app, _operator_panel)


def _home_panel(session, pro):
    from amelipro.filters import euros
    from amelipro.fse import services

    if not pro.rpps:
        return None
    since = utcnow() - timedelta(days=30)
    act = services.activity_since(session, pro, since)
    return home.Panel(
        title="Facturation : 30 derniers jours",
        endpoint="fse.lots",
        facts=(
            home.Fact("Lots reçus", str(act.lots)),
            home.Fact("FSE acceptées", str(act.accepted), f"{euros(act.amo_accepted)} de part AMO"),
            home.Fact("FSE rejetées à corriger", str(act.to_correct),
                      "à corriger et renvoyer" if act.to_correct else
                      f"{act.rejected} rejetée(s), toutes corrigées depuis" if act.rejected else "",
                      alert=bool(act.to_correct)),
            home.Fact("Déjà reçues", str(act.duplicates)),
        ),
        note="" if act.lots else "Aucun lot reçu depuis 30 jours.",
    )


def _operator_panel(session, user):
    from amelipro import audit
    from amelipro.fse import services

    if not user.is_operator:
        return None
    since = utcnow() - timedelta(hours=24)
    act = services.activity_since(session, None, since)
    refused = audit.count_since(session, since, ("lot.refused",))["lot.refused"]
    fses = act.accepted + act.rejected + act.duplicates
    share = f"{100 * act.rejected / fses:.0f} % des FSE" if fses else ""
    return home.Panel(
        title="Réception des lots : 24 dernières heures (tous les professionnels)",
        endpoint=None,
        facts=(
            home.Fact("Lots enregistrés", str(act.lots), f"{fses} FSE"),
            home.Fact("FSE acceptées", str(act.accepted)),
            home.Fact("FSE rejetées", str(act.rejected), share),
            home.Fact("Lots refusés (ARL négatif)", str(refused), "illisibles, invalides ou mal signés",
                      alert=bool(refused)),
        ),
    )
