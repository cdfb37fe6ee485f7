"""``amelipro reference ...`` commands."""

from __future__ import annotations

import json
from datetime import date

import click
from flask import Flask, current_app
from flask.cli import with_appcontext

from amelipro.db import new_session
from amelipro.errors import AmeliproError
from amelipro.reference.importers import DATASETS, DEMO_DIR
from amelipro.reference.queries import list_runs
from amelipro.reference.services import ImportConfig, import_reference, resolve_source


@click.group("reference", help="Référentiels : médicaments, LPP, actes, liste EHPAD.")
def reference_group() -> None:
    pass


def _parse_date(value: str | None) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise click.BadParameter("format AAAA-MM-JJ attendu") from exc


@reference_group.command("import", help=(
    "Importe les référentiels depuis --source, sinon depuis AMELIPRO_REFERENCE_DIR s'il existe, "
    "sinon le jeu de démonstration. Sans effet si la version est déjà importée."))
@click.option("--source", type=click.Path(file_okay=False), help="Répertoire des fichiers.")
@click.option("--demo", is_flag=True, help="Charge le jeu de démonstration.")
@click.option("--effective", help="Date d'effet de la version (AAAA-MM-JJ) ; par défaut celle des fichiers, "
                                  "sinon aujourd'hui.")
@click.option("--only", help="Jeux à importer, séparés par des virgules (bdpm,ccam,ngap,lpp,ehpad).")
@with_appcontext
def import_command(source: str | None, demo: bool, effective: str | None, only: str | None) -> None:
    try:
        if demo:
            path, is_demo = DEMO_DIR, True
        else:
            path, is_demo = resolve_source(current_app.config.get("REFERENCE_DIR"), source)
    except AmeliproError as exc:
        raise click.ClickException(f"{exc.error.message} {exc.detail}") from exc
    datasets = tuple(d.strip() for d in only.split(",")) if only else DATASETS
    unknown = [d for d in datasets if d not in DATASETS]
    if unknown:
        raise click.BadParameter(f"jeux inconnus : {', '.join(unknown)}", param_hint="--only")
    click.echo(f"Source : {path}{' (jeu de démonstration)' if is_demo else ''}")
    config = ImportConfig(source=path, effective=_parse_date(effective), datasets=datasets)
    steps = [*datasets, "search"]
    with new_session() as session, click.progressbar(length=len(steps), label="Import",
                                                      show_pos=True) as bar:
        try:
            result = import_reference(session, config, progress=lambda _name: bar.update(1))
        except AmeliproError as exc:
            raise click.ClickException(f"{exc.error.message} {exc.detail}") from exc
        bar.update(bar.length - bar.pos)
    for run in result.runs:
        click.echo(f"  {run.dataset:<6} n°{run.id} : {run.created} créés, {run.changed} modifiés, "
                   f"{run.closed} clos, {run.unchanged} inchangés, {run.skipped} lignes ignorées"
                   f" ({len(json.loads(run.anomalies))} anomalies)")
    if result.search_entries is None:
        click.echo("Index de recherche inchangé.")
    else:
        click.echo(f"Index de recherche : {result.search_entries} entrées.")


@reference_group.command("runs", help="Liste les imports et leurs anomalies.")
@click.option("--anomalies", is_flag=True, help="Affiche le détail des anomalies.")
@with_appcontext
def runs_command(anomalies: bool) -> None:
    with new_session() as session:
        for run in list_runs(session, 50):
            click.echo(f"n°{run.id} {run.dataset:<6} {run.status:<5} {run.release} : {run.created} créés, "
                       f"{run.changed} modifiés, {run.closed} clos, {run.skipped} ignorés")
            if anomalies:
                for a in json.loads(run.anomalies):
                    click.echo(f"    {a['file']}:{a['line']} {a['reason']}")


def register(app: Flask) -> None:
    app.cli.add_command(reference_group)
