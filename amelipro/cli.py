"""The ``amelipro`` command (Flask CLI, click)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click
from flask import Flask, current_app
from flask.cli import FlaskGroup, with_appcontext

from amelipro.db import new_session
from amelipro.serving import DEFAULT_THREADS, DEFAULT_WORKERS, gunicorn_command


def main() -> None:
    from amelipro import create_app

    cli = FlaskGroup(create_app=lambda: create_app(), add_default_commands=True, load_dotenv=False,
                     help="amelipro : passerelle de facturation (commandes d'exploitation).")
    cli.main(prog_name="amelipro")


@click.group("db", help="Base de données.")
def db_group() -> None:
    pass


@db_group.command("upgrade", help="Applique les migrations (Alembic) jusqu'à la dernière.")
@with_appcontext
def db_upgrade() -> None:
    from amelipro.migrate import upgrade

    upgrade(current_app.config["DATABASE_URL"])
    click.echo("Base de données à jour.")


@click.group("demo", help="Données de démonstration.")
def demo_group() -> None:
    pass


@demo_group.command("seed", help="Crée les comptes de démonstration (sans effet s'ils existent).")
@with_appcontext
def demo_seed() -> None:
    from amelipro.demo import DEMO_ACCOUNTS, seed_demo_accounts

    with new_session() as session:
        result = seed_demo_accounts(session)
    click.echo(f"Comptes créés : {len(result.created)}, déjà présents : {len(result.existing)}.")
    for account in DEMO_ACCOUNTS:
        click.echo(f"  {account.login:<18} mot de passe : {account.password}")


@click.group("pki", help="Infrastructure de clés de démonstration.")
def pki_group() -> None:
    pass


@pki_group.command("init-demo", help="Crée l'AC de démonstration et un certificat par professionnel démo.")
@with_appcontext
def pki_init_demo() -> None:
    from amelipro.demo import demo_pki_holders
    from amelipro.xmlcore.pki import init_demo

    result = init_demo(
        Path(current_app.config["PKI_DIR"]), Path(current_app.config["TRUST_STORE_DIR"]), demo_pki_holders()
    )
    click.echo(f"AC de démonstration : {result.ca_cert}")
    click.echo(f"Certificats créés : {', '.join(result.created) or 'aucun'}; conservés : {', '.join(result.kept) or 'aucun'}.")
    from amelipro.fse.online_commands import issue_demo_online_credentials

    issue_demo_online_credentials()


@click.group("token", help="Jetons d'API des logiciels.")
def token_group() -> None:
    pass


@token_group.command("create", help="Crée un jeton d'API pour LOGIN et l'affiche.")
@click.argument("login")
@click.option("--name", default="Ligne de commande", show_default=True, help="Nom du logiciel.")
@with_appcontext
def token_create(login: str, name: str) -> None:
    from sqlalchemy import select

    from amelipro.auth.models import Professional
    from amelipro.auth.services import create_token

    with new_session() as session:
        pro = session.scalar(select(Professional).where(Professional.login == login))
        if pro is None:
            raise click.ClickException(f"Professionnel inconnu : {login}")
        click.echo(create_token(session, pro, name).secret)


@click.command("serve", help="Sert l'application avec gunicorn, workers à threads (production).")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@click.option("--workers", default=DEFAULT_WORKERS, show_default=True, type=int,
              envvar="AMELIPRO_SERVE_WORKERS", help="Processus (un ou deux par cœur).")
@click.option("--threads", default=DEFAULT_THREADS, show_default=True, type=int,
              envvar="AMELIPRO_SERVE_THREADS",
              help="Threads par processus : autant de clients lents servis à la fois.")
def serve(host: str, port: int, workers: int, threads: int) -> None:
    args = gunicorn_command(host, port, workers=workers, threads=threads)
    os.execv(sys.executable, args)


def register_commands(app: Flask) -> None:
    from amelipro.auth import commands as auth_commands
    from amelipro.beneficiaries import commands as beneficiaries_commands
    from amelipro.fse import commands as fse_commands
    from amelipro.messaging import commands as messaging_commands
    from amelipro.reference import commands as reference_commands
    from amelipro.thirdparty import commands as thirdparty_commands

    for command in (db_group, demo_group, pki_group, token_group, serve):
        app.cli.add_command(command)
    for module in (reference_commands, fse_commands, thirdparty_commands, beneficiaries_commands,
                   auth_commands, messaging_commands):
        module.register(app)


if __name__ == "__main__":
    main()
