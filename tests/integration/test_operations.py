"""Operations started from the operator pages: one at a time, run by a worker, progress,
result, audit; professionals have no access."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select, update

from amelipro.audit import AuditEvent
from amelipro.auth.models import Professional, Role
from amelipro.db import utcnow
from amelipro.errors import REGISTRY
from amelipro.operations import services
from amelipro.operations.models import OperatorJob
from tests.fixtures_thirdparty import TP_CARE_DATE
from tests.integration.test_audit_journal import _get


def _jobs(db_session) -> list[OperatorJob]:
    db_session.expire_all()
    return list(db_session.scalars(select(OperatorJob).order_by(OperatorJob.id)))


def test_operations_codes_pinned():
    assert sorted(c for c in REGISTRY if c.startswith("OPS-")) == ["OPS-001", "OPS-002", "OPS-003"]


def test_professionals_have_no_access(client, auth, make_professional):
    make_professional("dr.a")
    auth.login("dr.a")
    assert client.get("/operations/").status_code == 403
    assert client.post("/operations/import", data={"csrf_token": auth.csrf("/logiciels")}).status_code == 403


def test_import_started_from_the_page_once_then_run_by_the_worker(app, client, auth, runner, make_professional,
                                                                   db_session):
    app.config["OPERATIONS_WORKER"] = "cli"  # the worker command runs it (no thread in this test)
    make_professional("ops", role=Role.OPERATOR)
    auth.login("ops")
    page = _get(client, "/operations/")
    assert "Aucune opération lancée depuis ces pages." in page
    token = auth.csrf("/operations/")
    response = client.post("/operations/import", data={"csrf_token": token})
    assert response.status_code == 302
    (job,) = _jobs(db_session)
    assert response.headers["Location"] == f"/operations/{job.id}"
    assert (job.kind, job.status, job.active_kind, job.requested_by) == ("reference_import", "queued",
                                                                          "reference_import", "ops")
    waiting = _get(client, f"/operations/{job.id}")
    assert "en attente" in waiting and "js/job.js" in waiting and "actualiser" in waiting
    # A second start while the first is queued: no second job, back to the first one's page.
    again = client.post("/operations/import", data={"csrf_token": token})
    assert again.status_code == 302 and again.headers["Location"] == f"/operations/{job.id}"
    assert "Cette opération est déjà en cours. Voici sa progression." in _get(client, f"/operations/{job.id}")
    assert len(_jobs(db_session)) == 1
    # The worker runs it.
    result = runner.invoke(args=["operations", "work"])
    assert result.exit_code == 0, result.output
    assert f"Opération n° {job.id} : terminée." in result.output
    (job,) = _jobs(db_session)
    assert (job.status, job.active_kind, job.progress_done, job.progress_total) == ("done", None, 6, 6)
    assert {r["dataset"] for r in job.result_dict["runs"]} >= {"bdpm", "ccam", "lpp", "ngap", "ehpad"}
    done = _get(client, f"/operations/{job.id}")
    assert "terminée" in done and "actualiser" not in done
    assert "jeu de démonstration a été importé" in done and "BDPM (médicaments)" in done
    assert 'href="/referentiels/imports/' in done
    actions = list(db_session.scalars(select(AuditEvent.action).where(AuditEvent.action.like("operations.%"))
                                   .order_by(AuditEvent.id)))
    assert actions == ["operations.started", "operations.finished"]
    journal = _get(client, "/journal?type=operations.started")
    assert "ops a lancé l'opération n° 1 : Import des référentiels." in journal
    # Finished: a new one may start; the worker has nothing left to do.
    assert client.post("/operations/import", data={"csrf_token": token}).status_code == 302
    assert len(_jobs(db_session)) == 2
    assert services.run_job(app.extensions["amelipro.sessionmaker"], job.id) is None  # already ran: not again


def test_liquidation_job_with_progress_and_result(app, client, auth, make_professional, make_accepted_fse,
                                                   db_session, reference_demo):
    app.config["OPERATIONS_WORKER"] = "cli"
    make_professional("ops", role=Role.OPERATOR)
    doctor = make_professional("dr.a")
    for i in range(3):
        make_accepted_fse(doctor, invoice_number=f"L-{i}")
    auth.login("ops")
    assert client.post("/operations/liquidation", data={"csrf_token": auth.csrf("/operations/")}).status_code == 302
    (job,) = _jobs(db_session)
    status = services.run_job(app.extensions["amelipro.sessionmaker"], job.id,
                              today=TP_CARE_DATE + timedelta(days=10))
    assert status == "done"
    (job,) = _jobs(db_session)
    assert (job.progress_done, job.progress_total) == (3, 3)
    assert job.result_dict["claimed"] == 3 and job.result_dict["paid"] == 3
    page = _get(client, f"/operations/{job.id}")
    assert "3 feuille(s) de soins liquidée(s) : 3 payée(s)" in page and "63,00\u00a0€" in page
    assert db_session.scalar(select(func.count()).select_from(Professional)) == 2


def test_a_job_whose_process_died_does_not_block_forever(app, db_session, make_professional):
    make_professional("ops", role=Role.OPERATOR)
    first = services.start_job(db_session, "liquidation", "ops")
    db_session.execute(update(OperatorJob).where(OperatorJob.id == first.id)
                       .values(status="running", updated_at=utcnow() - timedelta(hours=1)))
    db_session.commit()
    second = services.start_job(db_session, "liquidation", "ops")
    jobs = {j.id: j for j in _jobs(db_session)}
    assert jobs[first.id].status == "failed" and "Interrompue" in jobs[first.id].error
    assert jobs[second.id].status == "queued"
    # The other kind is independent.
    assert services.start_job(db_session, "reference_import", "ops").status == "queued"


def test_unknown_job_and_kind(client, auth, make_professional, db_session):
    make_professional("ops", role=Role.OPERATOR)
    auth.login("ops")
    assert client.get("/operations/999").status_code == 404
    assert client.post("/operations/autre", data={"csrf_token": auth.csrf("/operations/")}).status_code == 404
    assert client.get("/operations/import").status_code == 405
    assert _jobs(db_session) == []
