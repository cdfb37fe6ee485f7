"""LotReferenceLookup (one lot's lookup, loaded in one query per table) answers exactly as
SqlReferenceLookup on the demo set, at every date where a dated row starts or ends."""

from datetime import date, timedelta

from sqlalchemy import event, select

from amelipro.reference import models as m
from amelipro.reference.lookup import LotReferenceLookup
from amelipro.reference.queries import SqlReferenceLookup


def _dates(session) -> list[date]:
    found = {date(2020, 1, 1), date(2026, 1, 1), date(2026, 8, 1), date(2030, 1, 1)}
    for model in (m.MedicinePrice, m.LppTariff, m.ActTariff):
        for start, end in session.execute(select(model.valid_from, model.valid_to)):
            for day in (start, end):
                if day is not None:
                    found.update({day - timedelta(days=1), day, day + timedelta(days=1)})
    return sorted(found)


def _codes(session):
    acts = list(session.scalars(select(m.Act.code)))
    medicines = list(session.scalars(select(m.MedicineBox.cip13)))
    lpp = list(session.scalars(select(m.LppCode.code)))
    return acts, medicines, lpp


def test_same_answers_as_the_sql_lookup_at_every_boundary(ref_session):
    acts, medicines, lpp = _codes(ref_session)
    assert acts and medicines and lpp
    lot = LotReferenceLookup(ref_session, acts=acts, medicines=medicines, lpp=lpp)
    sql = SqlReferenceLookup(ref_session)
    for at in _dates(ref_session):
        for code in acts:
            assert lot.act(code, at) == sql.act(code, at), (code, at)
        for code in medicines:
            assert lot.medicine(code, at) == sql.medicine(code, at), (code, at)
        for code in lpp:
            assert lot.lpp(code, at) == sql.lpp(code, at), (code, at)


def test_codes_are_normalised_as_the_sql_lookup_does(ref_session):
    acts, medicines, lpp = _codes(ref_session)
    at = date(2026, 8, 1)
    lot = LotReferenceLookup(ref_session, acts=[f" {acts[0].lower()} "], medicines=[f"{medicines[0]} "],
                             lpp=[f" {lpp[0]}"])
    sql = SqlReferenceLookup(ref_session)
    assert lot.act(acts[0].lower(), at) == sql.act(acts[0], at)
    assert lot.medicine(f" {medicines[0]}", at) == sql.medicine(medicines[0], at)
    assert lot.lpp(f"{lpp[0]} ", at) == sql.lpp(lpp[0], at)


def test_no_query_once_loaded_and_unknown_codes_asked_once(ref_session):
    acts, medicines, lpp = _codes(ref_session)
    lot = LotReferenceLookup(ref_session, acts=acts, medicines=medicines, lpp=lpp)
    statements: list[str] = []
    engine = ref_session.get_bind()
    listener = lambda *args: statements.append(args[2])  # noqa: E731 - (conn, cursor, statement, ...)
    event.listen(engine, "before_cursor_execute", listener)
    try:
        for at in (date(2026, 1, 1), date(2026, 8, 1)):
            for code in acts:
                lot.act(code, at)
            for code in medicines:
                lot.medicine(code, at)
            for code in lpp:
                lot.lpp(code, at)
        assert statements == []
        assert lot.act("ZZZZ999", date(2026, 8, 1)) is None  # not on a line: asked to the database
        asked = len(statements)
        assert asked >= 1
        assert lot.act("ZZZZ999", date(2026, 8, 1)) is None
        assert len(statements) == asked  # and kept
    finally:
        event.remove(engine, "before_cursor_execute", listener)
