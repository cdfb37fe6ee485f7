"""Online-signing credentials from the command line: ``amelipro pki online-issue LOGIN`` (an
operator issues a professional's certificate) and the demo accounts' ones, issued by
``amelipro pki init-demo`` so that the demo doctor can bill in the browser right away."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy import select

from amelipro.auth.models import Professional
from amelipro.db import new_session
from amelipro.errors import AmeliproError
from amelipro.fse.online_signing import SigningSettings, issue_credential


def _settings() -> SigningSettings:
    return SigningSettings.from_config(current_app.config, current_app.instance_path)


def issue_demo_online_credentials() -> None:
    """One online-signing certificate per demo professional (kept when present)."""
    from amelipro.demo import DEMO_ACCOUNTS

    settings = _settings()
    created, kept = [], []
    with new_session() as session:
        for account in DEMO_ACCOUNTS:
            pro = session.scalar(select(Professional).where(Professional.login == account.login))
            if pro is None or not pro.rpps:
                continue
            _credential, new = issue_credential(session, pro, settings, actor="cli")
            (created if new else kept).append(pro.login)
    click.echo(f"Signature en ligne : certificats créés : {', '.join(created) or 'aucun'} ; "
               f"conservés : {', '.join(kept) or 'aucun'}.")


@click.command("online-issue", help="Délivre à LOGIN un certificat de signature en ligne (sans effet s'il en a un).")
@click.argument("login")
@with_appcontext
def online_issue(login: str) -> None:
    with new_session() as session:
        pro = session.scalar(select(Professional).where(Professional.login == login))
        if pro is None:
            raise click.ClickException(f"Professionnel inconnu : {login}")
        try:
            credential, new = issue_credential(session, pro, _settings(), actor="cli")
        except AmeliproError as exc:
            raise click.ClickException(exc.error.message) from None
        state = "délivré" if new else "déjà présent"
        click.echo(f"Certificat de signature en ligne {state} pour {login} (n° de série {credential.serial}, "
                   f"valable jusqu'au {credential.not_after:%d/%m/%Y}).")


def register_online_commands() -> None:
    from amelipro.cli import pki_group

    if "online-issue" not in pki_group.commands:
        pki_group.add_command(online_issue)
