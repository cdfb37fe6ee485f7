"""Migration 0004 creates exactly the tables the thirdparty models describe."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from amelipro.db import Base, make_engine
from amelipro.models import import_all_models


def test_models_match_migration_0004(database_url):
    import_all_models()
    engine = make_engine(database_url)
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    engine.dispose()
    mine = [d for d in diff if "tp_" in repr(d)]
    assert mine == []
    tables = {t for t in Base.metadata.tables if t.startswith("tp_")}
    assert tables == {"tp_payment", "tp_transition", "tp_virement", "tp_return", "tp_counter",
                      "tp_statement", "tp_statement_line"}
