"""Blueprints of the thirdparty package: the Paiements pages ("thirdparty") and its API."""

from __future__ import annotations

from flask import Flask

from amelipro import clock, home
from amelipro.filters import date_fr, euros
from amelipro.fse.services import on_recorded
from amelipro.thirdparty import api, services, views
from amelipro.thirdparty.liquidation import liquidation_backlog
from amelipro.thirdparty.tracking import track_lot


def register(app: Flask) -> None:
    on_recorded(app, track_lot)  # payments are created with their lot, never by a page
    app.register_blueprint(views.bp)
    app.register_blueprint(api.bp)
    home.add_panel(app, _home_panel)
    home.add_panel(app, _operator_panel)


def _home_panel(session, pro):
    if not pro.rpps:
        return None
    data = services.dashboard(session, pro, clock.today())
    return home.Panel(
        title="Paiements en tiers payant : ce mois",
        endpoint="thirdparty.dashboard",
        facts=(
            home.Fact("En attente", euros(data.pending_amount), f"{data.pending_count} FSE"),
            home.Fact("Payé", euros(data.paid_amount), f"{data.paid_count} FSE"),
            home.Fact("Rejeté", euros(data.rejected_amount), f"{data.rejected_count} FSE",
                      alert=bool(data.rejected_count)),
            home.Fact("Pénalités de retard dues", euros(data.penalties_due),
                      f"{data.late_count} FSE en retard" if data.late_count else "",
                      alert=bool(data.penalties_due)),
        ),
    )


def _operator_panel(session, user):
    if not user.is_operator:
        return None
    backlog = liquidation_backlog(session, clock.today())
    waiting = backlog.to_take_in + backlog.to_liquidate
    return home.Panel(
        title="Tiers payant : liquidation (tous les professionnels)",
        endpoint=None,
        facts=(
            home.Fact("FSE à liquider", str(waiting),
                      f"la plus ancienne reçue le {date_fr(backlog.oldest_acknowledged)}"
                      if backlog.oldest_acknowledged else "", alert=bool(waiting)),
            home.Fact("En retard de paiement", str(backlog.overdue), "pénalités dues aux professionnels",
                      alert=bool(backlog.overdue)),
            home.Fact("Dernière liquidation",
                      date_fr(backlog.last_liquidation) if backlog.last_liquidation else "jamais"),
        ),
        note="La liquidation se lance avec « amelipro thirdparty liquidate » (plusieurs processus "
             "possibles sur PostgreSQL).",
    )
