"""db.one_of and db.pairs_in: the rows of ``column IN (values)`` and ``(a, b) IN (pairs)`` on
either database (PostgreSQL: array parameters; SQLite: IN lists), for strings, integers and
dates, long lists, absent values, duplicates and empty lists."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select

from amelipro.beneficiaries.domain import PatientRights, Period
from amelipro.beneficiaries.importing import import_beneficiaries
from amelipro.beneficiaries.models import Beneficiary, RightsPeriod
from amelipro.db import one_of, pairs_in
from tests.conftest import TEST_DB


def _people(count: int) -> list[PatientRights]:
    from stdnum.fr import nir

    people = []
    for i in range(count):
        body = f"{1 + i % 2}{80 + i % 10:02d}{1 + i % 12:02d}75{100 + i // 1000:03d}{i % 1000:03d}"
        people.append(PatientRights(
            nir=body + nir.calc_check_digits(body), rank=1, birth_date=date(1980 + i % 10, 1 + i % 12, 1),
            last_name=f"UN{i}", first_name="Parmi", regime="01", caisse="751", centre="0001",
            rights=(Period(date(2020, 1, 1)),)))
    return people


def test_one_of_selects_the_same_rows_as_in(db_session):
    people = _people(700)
    import_beneficiaries(db_session, people, actor="test")
    db_session.flush()
    wanted = [p.nir for p in people[::2]] + ["999999999999999", people[0].nir]  # absent, twice
    got = set(db_session.scalars(select(Beneficiary.nir).where(one_of(db_session, Beneficiary.nir, wanted))))
    assert got == {p.nir for p in people[::2]}
    assert got == set(db_session.scalars(select(Beneficiary.nir).where(Beneficiary.nir.in_(wanted))))
    ids = list(db_session.scalars(select(Beneficiary.id).where(one_of(db_session, Beneficiary.nir, wanted))))
    owners = set(db_session.scalars(
        select(RightsPeriod.beneficiary_id).where(one_of(db_session, RightsPeriod.beneficiary_id, ids))))
    assert owners == set(ids) and len(ids) == 350
    assert list(db_session.scalars(select(Beneficiary.id).where(one_of(db_session, Beneficiary.nir, [])))) == []


def test_one_of_is_one_parameter_on_postgresql_and_an_in_list_on_sqlite(db_session):
    statement = select(Beneficiary.id).where(one_of(db_session, Beneficiary.nir, ["1", "2", "3"]))
    sql = str(statement.compile(db_session.get_bind()))
    if TEST_DB == "postgresql":
        assert "ANY" in sql and sql.count("%(") == 1
    else:
        assert " IN " in sql and "ANY" not in sql


def test_pairs_in_selects_the_same_rows_as_a_row_value_in(db_session):
    people = _people(700)
    import_beneficiaries(db_session, people, actor="test")
    db_session.flush()
    columns = (Beneficiary.nir, Beneficiary.birth_date)
    wanted = [(p.nir, p.birth_date) for p in people[::3]]
    wanted += [(people[1].nir, date(1900, 1, 1)), ("999999999999999", people[0].birth_date), wanted[0]]
    got = set(db_session.execute(select(*columns).where(pairs_in(db_session, columns, wanted))).all())
    assert got == {(p.nir, p.birth_date) for p in people[::3]}  # a NIR with another date: not found
    assert list(db_session.execute(select(*columns).where(pairs_in(db_session, columns, [])))) == []
