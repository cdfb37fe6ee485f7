"""Shared fixtures: app, client, CLI runner, a migrated database per test, factories.

The database is SQLite by default; ``AMELIPRO_TEST_DB=postgresql`` runs the same suite on
PostgreSQL (``AMELIPRO_TEST_PG_URL``, default the local ``test`` database), in a database
created for the run and dropped at its end.
"""

from __future__ import annotations

import os
import re
import shutil
import uuid
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from amelipro import create_app
from amelipro.account.banking import BankInput, register_bank_account
from amelipro.auth.models import Profession, Professional, Role
from amelipro.auth.services import NewProfessional, create_professional
from amelipro.db import Base, make_engine
from amelipro.migrate import upgrade
from amelipro.models import import_all_models

# Each capability keeps its fixtures in its own plugin module.
pytest_plugins = [
    "tests.fixtures_pki",
    "tests.fixtures_reference",
    "tests.fixtures_fse",
    "tests.fixtures_thirdparty",
    "tests.fixtures_account",
    "tests.fixtures_online",
    "tests.fixtures_messaging",
]

TEST_DB = os.environ.get("AMELIPRO_TEST_DB", "sqlite")
PG_ADMIN_URL = os.environ.get("AMELIPRO_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
PASSWORD = "mot-de-passe-test-1"
TEST_BANK = BankInput("Cabinet de test", "FR76 3000 6000 0112 3456 7890 189", "AGRIFRPP882")


def create_pg_database() -> str:
    """A fresh, empty PostgreSQL database for this run; returns its URL."""
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    name = f"amelipro_t_{uuid.uuid4().hex[:10]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return make_url(PG_ADMIN_URL).set(database=name).render_as_string(hide_password=False)


def drop_pg_database(url: str) -> None:
    name = make_url(url).database
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(scope="session")
def migrated_template(tmp_path_factory) -> Iterator[str]:
    """Migrations run once per test run; each test gets a copy (SQLite) or a clean one (PG)."""
    import_all_models()
    if TEST_DB == "postgresql":
        url = create_pg_database()
        upgrade(url)
        yield url
        drop_pg_database(url)
    else:
        path = tmp_path_factory.mktemp("template") / "template.sqlite3"
        url = f"sqlite:///{path}"
        upgrade(url)
        engine = make_engine(url)
        with engine.connect() as conn:
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        engine.dispose()
        yield url


@pytest.fixture
def database_url(migrated_template: str, tmp_path: Path) -> str:
    if TEST_DB == "postgresql":
        engine = make_engine(migrated_template)
        tables = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
        with engine.begin() as conn:
            conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
        engine.dispose()
        return migrated_template
    src = Path(migrated_template.removeprefix("sqlite:///"))
    dst = tmp_path / "amelipro.sqlite3"
    shutil.copyfile(src, dst)
    return f"sqlite:///{dst}"


@pytest.fixture
def app_config(database_url: str, tmp_path: Path) -> dict:
    return {
        "TESTING": True,
        "DATABASE_URL": database_url,
        "INSTANCE_PATH": str(tmp_path / "instance"),
        "SECRET_KEY": "test-secret-key",
        "PKI_DIR": str(tmp_path / "pki"),
        "TRUST_STORE_DIR": str(tmp_path / "pki" / "trust"),
        "REFERENCE_DIR": "",
        # No helper process per test app: the shared reading has its own tests
        # (test_fse_parallel_read.py, and the golden lots read both ways).
        "FSE_PARALLEL_READ": False,
    }


@pytest.fixture
def app(app_config: dict):
    app = create_app(app_config)
    yield app
    app.extensions["amelipro.engine"].dispose()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def db_session(app):
    """A session of the test's own, outside any app context (so requests stay isolated)."""
    session = app.extensions["amelipro.sessionmaker"]()
    yield session
    session.close()


_counter = iter(range(1, 10**6))


def valid_rpps(n: int) -> str:
    from stdnum import luhn

    base = f"2{n:09d}"
    return base + luhn.calc_check_digit(base)


@pytest.fixture
def make_professional(app):
    """Factory: ``make_professional(login=..., profession=...)`` -> Professional (committed)."""

    def make(login: str | None = None, *, profession: Profession = Profession.MEDECIN_GENERALISTE,
             role: Role = Role.PROFESSIONAL, password: str = PASSWORD, bank: bool = True,
             **fields) -> Professional:
        n = next(_counter)
        data = NewProfessional(
            login=login or f"pro{n}",
            password=password,
            first_name=fields.pop("first_name", "Jeanne"),
            last_name=fields.pop("last_name", f"Test{n}"),
            profession=None if role != Role.PROFESSIONAL else profession,
            rpps=None if role != Role.PROFESSIONAL else fields.pop("rpps", valid_rpps(n)),
            am_number=None if role != Role.PROFESSIONAL else fields.pop("am_number", f"75{n:06d}1"[:9]),
            finess=fields.pop("finess", "999999998" if profession == Profession.PHARMACIEN else None),
            structure=fields.pop("structure", "Cabinet de test"),
            role=role,
        )
        with app.app_context():
            session = app.extensions["amelipro.sessionmaker"]()
            pro = create_professional(session, data)
            if bank and role == Role.PROFESSIONAL:  # liquidation pays only to an account in force
                register_bank_account(session, pro.id, TEST_BANK, date(2000, 1, 3), "test")
                session.commit()
            session.close()
        return pro

    return make


CSRF_RE = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


def csrf_from(html: str) -> str:
    match = CSRF_RE.search(html)
    assert match, "no CSRF token in page"
    return match.group(1)


class AuthActions:
    def __init__(self, client):
        self.client = client

    def login(self, login: str, password: str = PASSWORD):
        page = self.client.get("/connexion")
        token = csrf_from(page.get_data(as_text=True))
        return self.client.post("/connexion", data={"login": login, "password": password, "csrf_token": token})

    def logout(self):
        page = self.client.get("/")
        token = csrf_from(page.get_data(as_text=True))
        return self.client.post("/deconnexion", data={"csrf_token": token})

    def csrf(self, path: str = "/") -> str:
        return csrf_from(self.client.get(path).get_data(as_text=True))


@pytest.fixture
def auth(client):
    return AuthActions(client)


@pytest.fixture
def api_token(app):
    """Factory: a fresh API token secret for a professional."""
    from amelipro.auth.services import create_token

    def make(pro: Professional, name: str = "Logiciel de test") -> str:
        with app.app_context():
            session = app.extensions["amelipro.sessionmaker"]()
            pro = session.get(Professional, pro.id)
            secret = create_token(session, pro, name).secret
            session.close()
        return secret

    return make
