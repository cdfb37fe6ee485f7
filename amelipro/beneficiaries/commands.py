"""``amelipro beneficiaries import CSV`` and ``amelipro beneficiaries demo``."""

from __future__ import annotations

from pathlib import Path

import click
from flask import Flask
from flask.cli import with_appcontext

from amelipro import clock
from amelipro.beneficiaries.demo import demo_beneficiaries, seed_demo
from amelipro.beneficiaries.importing import import_csv
from amelipro.beneficiaries.parsing import format_nir
from amelipro.db import new_session
from amelipro.errors import AmeliproError


@click.group("beneficiaries", help="Fichier des assurés de la caisse (droits, exonérations, EHPAD).")
def beneficiaries_group() -> None:
    pass


def _report(result, label: str) -> None:
    click.echo(f"{label} : {result.created} créé(s), {result.updated} mis à jour, "
               f"{result.periods} période(s), {len(result.skipped)} ligne(s) ignorée(s).")
    for problem in result.skipped[:50]:
        click.echo(f"  ligne {problem.line} : {problem.reason}")
    if len(result.skipped) > 50:
        click.echo(f"  … et {len(result.skipped) - 50} autre(s).")


@beneficiaries_group.command("import", help="Importe un fichier CSV de bénéficiaires (une ligne par période).")
@click.argument("csv_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@with_appcontext
def import_command(csv_file: Path) -> None:
    with new_session() as session:
        try:
            result = import_csv(session, csv_file)
        except AmeliproError as exc:
            raise click.ClickException(f"{exc.error.message} {exc.detail}".strip()) from exc
    _report(result, f"Import de {csv_file.name}")


@beneficiaries_group.command("demo", help="Crée ou met à jour les bénéficiaires de démonstration.")
@with_appcontext
def demo_command() -> None:
    today = clock.paris_today()
    with new_session() as session:
        result = seed_demo(session, today)
    _report(result, "Bénéficiaires de démonstration")
    for person in demo_beneficiaries(today):
        click.echo(f"  {format_nir(person.nir)}  rang {person.rank}  {person.first_name} {person.last_name}")


def register(app: Flask) -> None:
    app.cli.add_command(beneficiaries_group)
