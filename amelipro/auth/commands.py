"""``amelipro pro secteur LOGIN --depuis AAAA-MM-JJ --secteur 1|2|2_optam [--specialite TEXTE]``
and ``amelipro pro voir LOGIN``: a professional's sector and specialty with dates."""

from __future__ import annotations

from datetime import date

import click
from flask import Flask
from flask.cli import with_appcontext

from amelipro.auth import practice
from amelipro.db import new_session
from amelipro.errors import AmeliproError
from amelipro.fse.pricing import ConventionSector


@click.group("pro", help="Professionnels : secteur conventionnel et spécialité.")
def pro_group() -> None:
    pass


def _day(_ctx, _param, value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"date attendue au format AAAA-MM-JJ, reçu « {value} »") from None


@pro_group.command("secteur", help="Enregistre le secteur et la spécialité de LOGIN à partir d'une date.")
@click.argument("login")
@click.option("--depuis", "start", required=True, callback=_day, help="Premier jour (AAAA-MM-JJ).")
@click.option("--secteur", "sector", required=True, type=click.Choice([s.value for s in ConventionSector]),
              help="1, 2, ou 2_optam (secteur 2 avec OPTAM).")
@click.option("--specialite", "specialty", default="", help="Spécialité (libellé libre).")
@with_appcontext
def set_sector(login: str, start: date, sector: str, specialty: str) -> None:
    with new_session() as session:
        try:
            pro = practice.find_professional(session, login)
            change = practice.set_practice(session, pro, start, ConventionSector(sector), specialty)
        except AmeliproError as exc:
            raise click.ClickException(f"{exc.code} : {exc.error.message} {exc.detail}".strip()) from None
    closed = (f" ; période précédente close le {change.closed.end:%d/%m/%Y}"
              if change.closed is not None and change.closed.end else "")
    click.echo(f"{login} : {ConventionSector(sector).label} à partir du {start:%d/%m/%Y}{closed}.")


@pro_group.command("voir", help="Affiche les secteurs et spécialités de LOGIN.")
@click.argument("login")
@with_appcontext
def show(login: str) -> None:
    with new_session() as session:
        try:
            pro = practice.find_professional(session, login)
        except AmeliproError as exc:
            raise click.ClickException(f"{exc.code} : {exc.error.message}") from None
        periods = practice.practice_history(session, pro.id).periods
    if not periods:
        click.echo(f"{login} : aucun secteur enregistré (grille secteur 1 / OPTAM par défaut).")
    for p in periods:
        end = f"{p.end:%d/%m/%Y}" if p.end else "en vigueur"
        label = p.sector.label if p.sector else "secteur non renseigné"
        click.echo(f"{p.start:%d/%m/%Y} → {end} : {label}" + (f", {p.specialty}" if p.specialty else ""))


def register(app: Flask) -> None:
    app.cli.add_command(pro_group)
