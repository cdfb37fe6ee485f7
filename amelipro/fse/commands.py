"""``amelipro client sign`` and ``amelipro client submit``: the practice-software side.

``register(app)`` adds the ``client`` group (``amelipro demo lot`` is registered by
``amelipro.fse.web``). Neither command needs the database: they run on the practice side.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click
from flask import Flask

path_in = click.Path(exists=True, dir_okay=False, readable=True, path_type=Path)
path_out = click.Path(dir_okay=False, writable=True, path_type=Path)


@click.group("client", help="Logiciel de facturation : signer des FSE et envoyer des lots.")
def client_group() -> None:
    pass


@client_group.command(
    "sign",
    help="Signe une FSE, ou chaque FSE d'un lot, avec la clé et le certificat du professionnel.",
)
@click.argument("file", type=path_in)
@click.option("--key", "key_path", required=True, type=path_in, help="Clé privée (PEM, non chiffrée).")
@click.option("--cert", "cert_path", required=True, type=path_in, help="Certificat du professionnel (PEM).")
@click.option("--out", "out", required=True, type=path_out, help="Fichier signé à écrire.")
def sign(file: Path, key_path: Path, cert_path: Path, out: Path) -> None:
    from amelipro.fse.client import ClientError, sign_bytes
    from amelipro.xmlcore.pki import load_cert, load_key, rpps_of

    try:
        key, cert = load_key(key_path), load_cert(cert_path)
    except (ValueError, TypeError) as exc:
        raise click.ClickException(f"Clé ou certificat illisible : {exc}") from None
    try:
        outcome = sign_bytes(file.read_bytes(), key, cert)
    except ClientError as exc:
        raise click.ClickException(str(exc)) from None
    out.write_bytes(outcome.data)
    what = "FSE signée" if outcome.kind == "fse" else f"lot signé ({outcome.signed} FSE)"
    click.echo(f"{what} : {out} (RPPS du certificat : {rpps_of(cert) or 'absent'}).")


@client_group.command(
    "submit",
    help="Envoie un lot signé à la passerelle et affiche l'accusé de réception. Code de sortie : "
         "0 accepté, 1 erreur locale, 2 refusé (à corriger), 3 FSE rejetées, "
         "4 rien d'enregistré (renvoyer le même fichier plus tard).",
)
@click.argument("file", type=path_in)
@click.option("--url", required=True, help="Adresse de la passerelle (ex. https://passerelle.example).")
@click.option("--token", required=True, envvar="AMELIPRO_TOKEN",
              help="Jeton d'API du professionnel (ou variable AMELIPRO_TOKEN).")
@click.option("--out", "out", type=path_out, help="Fichier où enregistrer l'ARL reçu.")
@click.option("--idempotency-key", default=None,
              help="Clé d'idempotence (par défaut : empreinte SHA-256 du fichier).")
@click.option("--retries", default=30, show_default=True, type=click.IntRange(0, 100),
              help="Nouveaux essais au plus en cas d'erreur réseau, 409, 429 ou 5xx.")
@click.option("--max-wait", default=300.0, show_default=True, type=click.FloatRange(0, 86400),
              envvar="AMELIPRO_CLIENT_MAX_WAIT",
              help="Attente totale au plus entre les essais (s), selon l'en-tête Retry-After.")
@click.option("--timeout", default=120.0, show_default=True, type=float, help="Délai par essai (s).")
@click.option("--gateway-cert", type=path_in, default=None,
              help="Certificat de la passerelle : vérifie la signature de l'ARL.")
def submit(file: Path, url: str, token: str, out: Path | None, idempotency_key: str | None,
           retries: int, max_wait: float, timeout: float, gateway_cert: Path | None) -> None:
    """Exit status: 0 accepted, 1 local error, 2 refused, 3 FSE rejected, 4 send again later."""
    from amelipro.fse.client import (
        EXIT_SEND_LATER,
        ClientError,
        NotSentError,
        exit_code,
        read_answer,
        submit_lot,
    )
    from amelipro.xmlcore.pki import load_cert

    data = file.read_bytes()
    cert = load_cert(gateway_cert) if gateway_cert else None
    try:
        result = submit_lot(
            data, url, token, idempotency_key=idempotency_key, retries=retries, max_wait=max_wait,
            timeout=timeout, on_retry=lambda n, why: click.echo(f"Essai {n} : {why}", err=True),
        )
    except NotSentError as exc:
        click.echo(f"Erreur : {exc}", err=True)
        sys.exit(EXIT_SEND_LATER)
    except ClientError as exc:
        raise click.ClickException(str(exc)) from None
    try:
        arl, lines = read_answer(result, cert)
    except ClientError as exc:
        raise click.ClickException(str(exc)) from None
    if out is not None and arl is not None:
        out.write_bytes(result.body)
        lines.append(f"ARL enregistré : {out}")
    click.echo(f"HTTP {result.status}, {result.attempts} essai(s), clé d'idempotence {result.idempotency_key}")
    for line in lines:
        click.echo(line)
    code = exit_code(result, arl)
    if code == EXIT_SEND_LATER:
        wait = f" dans {result.retry_after:.0f} s" if result.retry_after else " plus tard"
        click.echo(f"Rien n'est enregistré : renvoyez le même fichier{wait} (même clé d'idempotence).")
    if code:
        sys.exit(code)


def register(app: Flask) -> None:
    if "client" not in app.cli.commands:
        app.cli.add_command(client_group)
