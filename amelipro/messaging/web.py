"""Blueprints of the messaging package: the messagerie pages, the caisse inbox and the API;
the unread count for the navigation, and the home panels."""

from __future__ import annotations

from flask import Flask
from flask_login import current_user

from amelipro import home
from amelipro.db import get_session


def register(app: Flask) -> None:
    from amelipro.messaging import api, views

    app.register_blueprint(views.bp)
    app.register_blueprint(views.caisse_bp)
    app.register_blueprint(api.bp)
    home.add_panel(app, _home_panel)
    home.add_panel(app, _agent_panel)

    @app.context_processor
    def _unread():
        def messaging_unread() -> int:
            from amelipro.messaging.queries import unread_count

            if not current_user.is_authenticated:
                return 0
            return unread_count(get_session(), current_user)

        return {"messaging_unread": messaging_unread}


def _home_panel(session, pro):
    from amelipro.messaging import queries
    from amelipro.messaging.domain import ThreadStatus

    if not pro.rpps:
        return None
    unread = queries.unread_count(session, pro)
    counts = queries.own_counts(session, pro)
    waiting = counts[ThreadStatus.OPEN]
    return home.Panel(
        title="Messagerie avec la caisse",
        endpoint="messaging.threads",
        facts=(
            home.Fact("Messages non lus", str(unread), "réponses de la caisse" if unread else "", alert=bool(unread)),
            home.Fact("Conversations", str(sum(counts.values())),
                      f"dont {waiting} en attente de la caisse" if waiting else ""),
        ),
    )


def _agent_panel(session, user):
    from amelipro.messaging import queries
    from amelipro.messaging.domain import Box

    if not user.is_caisse_agent:
        return None
    counts = queries.box_counts(session, user)
    return home.Panel(
        title="Caisse : demandes des professionnels",
        endpoint="caisse.inbox",
        facts=tuple(home.Fact(box.label, str(counts[box]), alert=box is Box.UNASSIGNED and bool(counts[box]))
                    for box in Box),
    )
