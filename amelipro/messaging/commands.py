"""``amelipro messaging notify``: e-mail the notifications left waiting in the outbox."""

from __future__ import annotations

import click
from flask import Flask
from flask.cli import with_appcontext

from amelipro.db import new_session


@click.group("messaging", help="Messagerie avec la caisse.")
def messaging_group() -> None:
    pass


@messaging_group.command("notify", help="Envoie par e-mail les avis « nouveau message » en attente.")
@with_appcontext
def notify_command() -> None:
    from amelipro.messaging.notify import deliver_pending

    with new_session() as session:
        sent = deliver_pending(session, limit=10_000)
    click.echo(f"Avis envoyés par e-mail : {sent}.")


def register(app: Flask) -> None:
    app.cli.add_command(messaging_group)
