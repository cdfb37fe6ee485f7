"""Operator pages: start a reference import or a liquidation run, follow it, read its result.

Handlers parse input, call ``services``, render; every POST redirects (F5 never starts a second
run). The job runs in a thread of this process unless ``OPERATIONS_WORKER`` is ``"cli"``, in
which case ``amelipro operations work`` runs the queued jobs.
"""

from __future__ import annotations

import threading
import time

import click
from flask import Blueprint, Flask, abort, current_app, flash, redirect, render_template, url_for
from flask.cli import with_appcontext
from flask_login import current_user, login_required

from amelipro.clock import today
from amelipro.db import get_session
from amelipro.errors import AmeliproError
from amelipro.operations import errors, services
from amelipro.reference.web import DATASET_LABELS

bp = Blueprint("operations", __name__, url_prefix="/operations")

ENDPOINT_KINDS = {"import": "reference_import", "liquidation": "liquidation"}


@bp.before_request
@login_required
def _operators_only():
    if not current_user.is_operator:
        abort(403)


@bp.get("/")
def index():
    return render_template("operations/index.html", jobs=services.list_jobs(get_session()), kinds=services.KINDS)


@bp.post("/<any(import, liquidation):what>")
def start(what: str):
    kind = ENDPOINT_KINDS[what]
    try:
        job = services.start_job(get_session(), kind, current_user.login)
    except AmeliproError as exc:
        if exc.error is not errors.ALREADY_RUNNING or not exc.extra.get("job_id"):
            raise
        flash(f"{exc.error.message} Voici sa progression.", "error")
        return redirect(url_for("operations.job", job_id=exc.extra["job_id"]))
    if current_app.config.get("OPERATIONS_WORKER", "thread") == "thread":
        _start_thread(current_app._get_current_object(), job.id)
    flash(f"{services.KINDS[kind]} lancé(e) (opération n° {job.id}).", "success")
    return redirect(url_for("operations.job", job_id=job.id))


@bp.get("/<int:job_id>")
def job(job_id: int):
    return render_template("operations/job.html", job=services.get_job(get_session(), job_id), kinds=services.KINDS,
                           datasets=DATASET_LABELS)


def _job_args(app: Flask) -> dict:
    with app.app_context():
        return {"reference_dir": app.config.get("REFERENCE_DIR"), "today": today()}


def _start_thread(app: Flask, job_id: int) -> None:
    factory = app.extensions["amelipro.sessionmaker"]
    args = _job_args(app)
    threading.Thread(target=services.run_job, args=(factory, job_id), kwargs=args,
                     name=f"operation-{job_id}", daemon=True).start()


@click.command("work", help="Exécute les opérations en attente lancées depuis les pages (puis attend les suivantes avec --follow).")
@click.option("--follow", is_flag=True, help="Ne pas s'arrêter : attendre les opérations suivantes.")
@with_appcontext
def work(follow: bool) -> None:
    factory = current_app.extensions["amelipro.sessionmaker"]
    args = _job_args(current_app)
    while True:
        with factory() as session:
            job_id = services.next_queued(session)
        if job_id is None:
            if not follow:
                return
            time.sleep(2)
            continue
        status = services.run_job(factory, job_id, **args)
        if status:
            click.echo(f"Opération n° {job_id} : {'terminée' if status == 'done' else 'échouée'}.")


@click.group("operations", help="Opérations lancées depuis les pages des opérateurs.")
def operations_group() -> None:
    pass


operations_group.add_command(work)


def register(app: Flask) -> None:
    app.register_blueprint(bp)
    app.cli.add_command(operations_group)
