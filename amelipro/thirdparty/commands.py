"""``amelipro thirdparty ...`` commands: liquidation (with a progress bar) and demo data."""

from __future__ import annotations

from datetime import date, timedelta

import click
from flask import Flask
from flask.cli import with_appcontext
from sqlalchemy import select

from amelipro import clock
from amelipro.auth.models import Professional
from amelipro.db import new_session
from amelipro.thirdparty.demo import generate, insert_accepted
from amelipro.thirdparty.liquidation import (
    LiquidationConfig,
    pending_count,
    pending_count_all,
    run_liquidation,
)
from amelipro.thirdparty.tracking import track_accepted, track_recorded


@click.group("thirdparty", help="Tiers payant : liquidation, paiements, retours.")
def thirdparty_group() -> None:
    pass


@thirdparty_group.command("liquidate", help="Liquide les FSE en tiers payant acceptées (paiement, rejet, virements, retours RSP).")
@click.option("--batch-size", default=1000, show_default=True, type=click.IntRange(1, 50_000))
@click.option("--date", "day", default=None, help="Jour de liquidation AAAA-MM-JJ (défaut : aujourd'hui).")
@click.option("--max-batches", default=None, type=int, help="S'arrêter après ce nombre de lots.")
@click.option("--worker", default="liquidation", show_default=True, help="Nom du processus (historique).")
@with_appcontext
def liquidate(batch_size: int, day: str | None, max_batches: int | None, worker: str) -> None:
    try:
        today = date.fromisoformat(day) if day else None
    except ValueError:
        raise click.BadParameter("format AAAA-MM-JJ attendu", param_hint="--date") from None
    config = LiquidationConfig(batch_size=batch_size, today=today, actor=worker, max_batches=max_batches)
    with new_session() as session:
        tracked = track_accepted(session, actor=worker)
    with new_session() as session:
        total = pending_count(session, today)
        waiting = pending_count_all(session, today)
    click.echo(f"FSE suivies : {tracked} nouvelles ; à liquider : {total}.")
    if waiting > total:
        click.echo(f"{waiting - total} FSE attendent un compte bancaire en vigueur : la liquidation "
                   "ne paie pas un professionnel sans compte bancaire.")
    with click.progressbar(length=total, label="Liquidation", show_pos=True, show_percent=True,
                           show_eta=True) as bar:
        result = run_liquidation(new_session, config, progress=bar.update, track=False)
    click.echo(
        f"Liquidées : {result.claimed} (payées {result.paid}, ajustées {result.adjusted}, "
        f"rejetées {result.rejected}) ; montant {result.amount:.2f} € ; "
        f"{result.seconds:.1f} s ({result.per_second:.0f} FSE/s)."
    )


@thirdparty_group.command("demo", help="Crée N FSE en tiers payant acceptées pour LOGIN (démonstration).")
@click.argument("login")
@click.option("--count", default=50, show_default=True, type=click.IntRange(1, 1_000_000))
@click.option("--first-day", default=None, help="Premier jour de soins AAAA-MM-JJ (défaut : il y a 30 jours).")
@with_appcontext
def demo(login: str, count: int, first_day: str | None) -> None:
    start = date.fromisoformat(first_day) if first_day else clock.paris_today() - timedelta(days=30)
    with new_session() as session:
        pro = session.scalar(select(Professional).where(Professional.login == login))
        if pro is None:
            raise click.ClickException(f"Professionnel inconnu : {login}")
        prefix = f"D{pro.id}-{start:%y%m%d}-"
        ids = insert_accepted(session, generate([pro.id], count, first_day=start, days=25, prefix=prefix))
        track_recorded(session, ids, "demo")  # their payments, as a recorded lot has
        session.commit()
    click.echo(f"{len(ids)} FSE acceptées créées pour {login}.")


def register(app: Flask) -> None:
    app.cli.add_command(thirdparty_group)
