"""Payments are created when a lot is recorded (same transaction), never by a page: every
GET of the Paiements pages and API writes nothing; migration 0011 gives existing accepted FSE
their payment."""

from __future__ import annotations

import re
from contextlib import contextmanager
from dataclasses import replace
from datetime import date

from alembic.script import ScriptDirectory
from sqlalchemy import event, func, select
from sqlalchemy.orm import sessionmaker

from amelipro.auth.services import NewProfessional, create_professional
from amelipro.db import make_engine
from amelipro.fse.models import FseStatus, StoredFse
from amelipro.migrate import alembic_config, upgrade
from amelipro.thirdparty import tracking
from amelipro.thirdparty.demo import generate, insert_accepted
from amelipro.thirdparty.models import Payment, PaymentTransition
from amelipro.thirdparty.states import PaymentStatus

WRITE = re.compile(r"^\s*(INSERT|UPDATE|DELETE|COPY|CREATE|DROP|ALTER)\b", re.I)


@contextmanager
def writes_recorded(engine):
    statements: list[str] = []

    def listen(conn, cursor, statement, *_args):
        if WRITE.match(statement):
            statements.append(statement.split("\n")[0][:120])

    event.listen(engine, "before_cursor_execute", listen)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", listen)


def test_a_recorded_lot_brings_the_payments_of_its_accepted_fse(client, fse_env):
    demo = fse_env.sheets(4, invalid=0.5, seed=11)
    headers = {"Authorization": f"Bearer {fse_env.token}", "Content-Type": "application/xml"}
    assert client.post("/api/v1/lots", data=fse_env.lot(demo.sheets), headers=headers).status_code == 201
    with fse_env.app.app_context():
        s = fse_env.app.extensions["amelipro.sessionmaker"]()
        accepted = set(s.scalars(select(StoredFse.id).where(StoredFse.status == FseStatus.ACCEPTED,
                                                            StoredFse.tiers_payant_amo.is_(True))))
        payments = s.execute(select(Payment.fse_id, Payment.status)).all()
        acks = s.scalar(select(func.count()).select_from(PaymentTransition)
                        .where(PaymentTransition.event == "acknowledge"))
        s.close()
    assert len(accepted) == 2
    assert {fse_id for fse_id, _ in payments} == accepted  # none for the rejected ones
    assert {status for _, status in payments} == {PaymentStatus.ACCEPTED}
    assert acks == 2



def test_a_lot_writes_its_payments_in_one_batched_insert_not_one_per_fse(client, fse_env, monkeypatch):
    batches = []  # (table, rows) of each batched write of the intake
    def spying(real):
        def spy(session, table, rows, *rest):
            batches.append((getattr(table, "__tablename__", None) or table.name, len(rows)))
            return real(session, table, rows, *rest)
        return spy

    for name in ("bulk_insert", "insert_numbered"):
        monkeypatch.setattr(tracking, name, spying(getattr(tracking, name)))
    demo = fse_env.sheets(12, invalid=0.0, seed=5)
    headers = {"Authorization": f"Bearer {fse_env.token}", "Content-Type": "application/xml"}
    with writes_recorded(fse_env.app.extensions["amelipro.engine"]) as writes:
        assert client.post("/api/v1/lots", data=fse_env.lot(demo.sheets), headers=headers).status_code == 201
    with fse_env.app.app_context():
        s = fse_env.app.extensions["amelipro.sessionmaker"]()
        payments = s.scalar(select(func.count()).select_from(Payment))
        s.close()
    assert payments >= 5  # enough FSE to tell one statement from one per FSE
    assert sorted(batches) == [("tp_payment", payments), ("tp_transition", payments)]
    # SQLite: the two statements (executemany); PostgreSQL: two COPY, not seen by SQLAlchemy
    assert len([w for w in writes if re.match(r'^\s*INSERT INTO "?tp_(payment|transition)\b', w)]) <= 2


WEB_PAGES = ("/", "/paiements/", "/paiements/factures", "/paiements/factures.csv", "/paiements/virements",
             "/paiements/releves", "/paiements/penalites", "/paiements/penalites.csv",
             "/paiements/factures?etat=en_attente")
API_PAGES = ("/api/v1/payments", "/api/v1/returns", "/api/v1/virements", "/api/v1/penalties",
             "/api/v1/statements")


def test_paiements_pages_and_api_never_write(app, client, auth, make_professional, tp_session, api_token):
    pro = make_professional(login="alice")
    token = api_token(pro)
    with tp_session() as s:  # accepted FSE stored without payment (recorded before 0011)
        ids = insert_accepted(s, generate([pro.id], 3, first_day=date(2026, 5, 4), days=2))
        s.commit()
    auth.login("alice")
    engine = app.extensions["amelipro.engine"]
    with writes_recorded(engine) as writes:
        for path in WEB_PAGES:
            assert client.get(path).status_code == 200, path
        for path in API_PAGES:
            assert client.get(path, headers={"Authorization": f"Bearer {token}"}).status_code == 200, path
        assert client.get(f"/api/v1/payments/{ids[0]}",
                          headers={"Authorization": f"Bearer {token}"}).status_code == 404
    # only the API token's "last used" stamp may be written by a GET (authentication)
    assert [w for w in writes if "api_token" not in w] == []
    with tp_session() as s:
        assert s.scalar(select(func.count()).select_from(Payment)) == 0


def _heads_but(url: str, excluded: str) -> None:
    script = ScriptDirectory.from_config(alembic_config(url))
    for head in script.get_heads():
        if excluded not in {r.revision for r in script.iterate_revisions(head, "base")}:
            upgrade(url, head)
    upgrade(url, script.get_revision(excluded).down_revision)


def test_migration_0011_gives_existing_accepted_fse_their_payment(tmp_path, make_professional, app_config):
    from tests.conftest import TEST_DB, create_pg_database, drop_pg_database

    url = create_pg_database() if TEST_DB == "postgresql" else f"sqlite:///{tmp_path / 'm.sqlite3'}"
    try:
        _heads_but(url, "0011")
        engine = make_engine(url)
        factory = sessionmaker(engine)
        with factory() as s:
            pro = create_professional(s, NewProfessional(
                login="alice", password="mot-de-passe-test-1", first_name="A", last_name="B",
                profession=None, role="operator"))
            items = generate([pro.id], 4, first_day=date(2026, 5, 4), days=2)
            items[3] = replace(items[3], tiers_payant_amo=False)  # paid by the patient: no payment
            ids = insert_accepted(s, items)
            s.commit()
        upgrade(url, "heads")
        with factory() as s:
            got = s.execute(select(Payment.fse_id, Payment.status, Payment.due_date)).all()
            assert sorted(f for f, _, _ in got) == sorted(ids[:3])
            assert all(st == PaymentStatus.ACCEPTED and due is not None for _, st, due in got)
        upgrade(url, "heads")  # nothing more to do
        with factory() as s:
            assert s.scalar(select(func.count()).select_from(Payment)) == 3
        engine.dispose()
    finally:
        if TEST_DB == "postgresql":
            drop_pg_database(url)
