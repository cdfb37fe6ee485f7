"""`amelipro db upgrade` gives the same schema on an empty PostgreSQL database and an
empty SQLite file (tables, columns, nullability, type families, keys, indexes)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from sqlalchemy import inspect, types

from amelipro.db import make_engine
from tests.conftest import TEST_DB, create_pg_database, drop_pg_database

pytestmark = pytest.mark.skipif(
    TEST_DB != "postgresql", reason="runs in the PostgreSQL pass of `make test` (it needs both databases)"
)

FAMILIES = [
    (types.Boolean, "boolean"),
    (types.Integer, "integer"),
    (types.Numeric, "numeric"),
    (types.DateTime, "datetime"),
    (types.Date, "date"),
    (types.LargeBinary, "binary"),
    (types.JSON, "json"),
    (types.Text, "string"),
    (types.String, "string"),
]


def _family(col_type) -> str:
    for cls, name in FAMILIES:
        if isinstance(col_type, cls):
            return name
    return type(col_type).__name__.lower()


def _schema(url: str) -> dict:
    engine = make_engine(url)
    insp = inspect(engine)
    out = {}
    for table in sorted(insp.get_table_names()):
        if table == "alembic_version" or table.startswith(("sqlite_", "fts_")) or "_fts" in table:
            continue
        out[table] = {
            "columns": {
                c["name"]: (_family(c["type"]), c["nullable"]) for c in insp.get_columns(table)
            },
            "pk": tuple(insp.get_pk_constraint(table)["constrained_columns"]),
            "fks": sorted(
                (tuple(fk["constrained_columns"]), fk["referred_table"], tuple(fk["referred_columns"]))
                for fk in insp.get_foreign_keys(table)
            ),
            "indexes": sorted(
                (i["name"], tuple(i["column_names"]), bool(i["unique"]))
                for i in insp.get_indexes(table)
                if not i.get("duplicates_constraint")  # PostgreSQL's index behind a UNIQUE
            ),
            "uniques": sorted(
                (u["name"], tuple(u["column_names"])) for u in insp.get_unique_constraints(table)
            ),
        }
    engine.dispose()
    return out


def _cli_upgrade(url: str, tmp_path) -> None:
    env = dict(os.environ, AMELIPRO_DATABASE_URL=url, AMELIPRO_SECRET_KEY="x")
    result = subprocess.run(
        [sys.executable, "-m", "amelipro.cli", "db", "upgrade"],
        env=env, cwd=tmp_path, capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stderr
    assert "Base de données à jour." in result.stdout


def test_same_schema_on_sqlite_and_postgresql(tmp_path):
    sqlite_url = f"sqlite:///{tmp_path / 'empty.sqlite3'}"
    pg_url = create_pg_database()
    try:
        _cli_upgrade(sqlite_url, tmp_path)
        _cli_upgrade(pg_url, tmp_path)
        lite, pg = _schema(sqlite_url), _schema(pg_url)
    finally:
        drop_pg_database(pg_url)
    assert "professional" in lite and "audit_event" in lite
    assert sorted(lite) == sorted(pg)
    for table in lite:
        assert lite[table] == pg[table], table
