"""The migrations create exactly what the models describe, on SQLite and PostgreSQL, even after
the reference importer has built its derived search tables."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from amelipro.db import Base, make_engine
from amelipro.migrate import include_object
from amelipro.models import import_all_models


def _diff(url: str) -> list:
    engine = make_engine(url)
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"include_object": include_object,
                                                          "compare_type": True})
        diff = compare_metadata(context, Base.metadata)
    engine.dispose()
    return diff


def test_models_match_migrations(database_url):
    import_all_models()
    assert _diff(database_url) == []
    tables = {t for t in Base.metadata.tables if t.startswith("tp_")}
    assert tables == {"tp_payment", "tp_transition", "tp_virement", "tp_return", "tp_counter",
                      "tp_statement", "tp_statement_line", "tp_adjustment"}
    assert {t for t in Base.metadata.tables if t.startswith("msg_")} == {
        "msg_thread", "msg_message", "msg_attachment", "msg_outbox"}


def test_search_index_tables_are_not_schema_drift(reference_demo, database_url):
    import_all_models()
    assert reference_demo.search_entries  # the derived search tables exist now
    assert _diff(database_url) == []
