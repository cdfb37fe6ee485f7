"""The caisse's file of insured persons, read: the one adapter every package asks.

``PatientFile`` is what the FSE intake (rights at the date of care for the rules and the
pricing) and the liquidation (identity, rights and exemptions) need of the file: whether a
file is loaded at all, and the :class:`PatientRights` of (NIR, rank) pairs, fetched a batch
at a time. Three implementations:

- :class:`SqlPatientFile`: the beneficiaries tables (``patient_file(session)``);
- :class:`StaticPatientFile`: plain values (tests, demos);
- :class:`NoPatientFile`: no file, identity and rights checks are skipped.

A lot or a liquidation batch asks ``rights_of(keys)`` (or ``prefetch(keys)`` then
``rights(nir, rank)``): a few queries for the whole batch, never one per FSE.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cached_property
from typing import Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from amelipro.beneficiaries.domain import CoverPeriod, EhpadStay, PatientRights, Period
from amelipro.beneficiaries.models import Beneficiary, RightsPeriod
from amelipro.beneficiaries.models import CoverPeriod as CoverRow
from amelipro.beneficiaries.models import EhpadStay as EhpadStayRow
from amelipro.db import one_of

Key = tuple[str, int]  # (NIR, rank)
IN_CHUNK = 500


class PatientFile(Protocol):
    """The caisse's file of insured persons, as billing and liquidation read it."""

    @property
    def loaded(self) -> bool: ...  # False: no file available, identity and rights checks are skipped

    def prefetch(self, keys: Iterable[Key]) -> None: ...

    def rights(self, nir: str, rank: int) -> PatientRights | None: ...

    def rights_of(self, keys: Iterable[Key]) -> dict[Key, PatientRights]: ...


class _Reads:
    """``rights_of`` for every file: prefetch the batch, then keep the people found."""

    def rights_of(self, keys: Iterable[Key]) -> dict[Key, PatientRights]:
        wanted = set(keys)
        self.prefetch(wanted)
        found = {key: self.rights(*key) for key in wanted}
        return {key: person for key, person in found.items() if person is not None}


@dataclass
class NoPatientFile(_Reads):
    """No file of insured persons available: identity checks are skipped."""

    loaded: bool = False

    def prefetch(self, keys: Iterable[Key]) -> None:  # noqa: ARG002
        return None

    def rights(self, nir: str, rank: int) -> PatientRights | None:  # noqa: ARG002
        return None


@dataclass
class StaticPatientFile(_Reads):
    """A file given as plain values (tests, demos): (nir, rank) -> PatientRights."""

    people: dict[Key, PatientRights] = field(default_factory=dict)
    loaded: bool = True

    def prefetch(self, keys: Iterable[Key]) -> None:  # noqa: ARG002
        return None

    def rights(self, nir: str, rank: int) -> PatientRights | None:
        return self.people.get((nir, rank))


class SqlPatientFile(_Reads):
    """The beneficiaries tables, read a batch at a time; ``loaded`` when they hold anyone."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.cache: dict[Key, PatientRights] = {}

    @cached_property
    def loaded(self) -> bool:
        return self.session.scalar(select(Beneficiary.id).limit(1)) is not None

    def prefetch(self, keys: Iterable[Key]) -> None:
        self.cache = find_rights_many(self.session, keys) if self.loaded else {}

    def rights(self, nir: str, rank: int) -> PatientRights | None:
        return self.cache.get((nir, rank))


def patient_file(session: Session) -> SqlPatientFile:
    """The file of the database behind ``session``."""
    return SqlPatientFile(session)


# --- queries ---------------------------------------------------------------------------

def to_rights(row: Beneficiary) -> PatientRights:
    return PatientRights(
        nir=row.nir, rank=row.rank, birth_date=row.birth_date, last_name=row.last_name,
        first_name=row.first_name, regime=row.regime, caisse=row.caisse, centre=row.centre,
        alsace_moselle=row.alsace_moselle,
        rights=tuple(Period(p.start_date, p.end_date) for p in row.rights_periods),
        covers=tuple(CoverPeriod(c.cover, Period(c.start_date, c.end_date), c.detail)
                     for c in row.covers),
        ehpad_stays=tuple(EhpadStay(Period(s.start_date, s.end_date), s.finess, s.name)
                          for s in row.ehpad_stays),
    )


def with_periods() -> tuple:
    """Loader options: a beneficiary with every period (rights, covers, EHPAD stays)."""
    return (selectinload(Beneficiary.rights_periods), selectinload(Beneficiary.covers),
            selectinload(Beneficiary.ehpad_stays))


def find_rights(session: Session, nir: str, rank: int = 1) -> PatientRights | None:
    """The file's record for (NIR, rank), with every period; None when unknown."""
    row = session.scalar(
        select(Beneficiary).where(Beneficiary.nir == nir, Beneficiary.rank == rank).options(*with_periods())
    )
    return None if row is None else to_rights(row)


def find_rights_many(session: Session, keys: Iterable[tuple[str, int]]) -> dict[tuple[str, int], PatientRights]:
    """Records for many (NIR, rank) pairs in a few queries (a lot of FSE at once).

    Plain rows, not ORM objects: the people of a chunk of NIR, then their rights, covers and
    EHPAD stays (ordered by start date, as the relationships are), straight into
    :class:`PatientRights`."""
    wanted = set(keys)
    nirs = sorted({nir for nir, _rank in wanted})
    out: dict[tuple[str, int], PatientRights] = {}
    for start in range(0, len(nirs), IN_CHUNK):
        chunk = nirs[start:start + IN_CHUNK]
        people = [row for row in session.execute(_PEOPLE.where(one_of(session, Beneficiary.nir, chunk)))
                  if (row.nir, row.rank) in wanted]
        ids = sorted(row.id for row in people)
        rights: dict[int, list[Period]] = defaultdict(list)
        covers: dict[int, list[CoverPeriod]] = defaultdict(list)
        stays: dict[int, list[EhpadStay]] = defaultdict(list)
        for first in range(0, len(ids), IN_CHUNK):
            some = ids[first:first + IN_CHUNK]
            for owner, begin, end in session.execute(
                    _RIGHTS.where(one_of(session, RightsPeriod.beneficiary_id, some))):
                rights[owner].append(Period(begin, end))
            for owner, cover, begin, end, detail in session.execute(
                    _COVERS.where(one_of(session, CoverRow.beneficiary_id, some))):
                covers[owner].append(CoverPeriod(cover, Period(begin, end), detail))
            for owner, begin, end, finess, name in session.execute(
                    _STAYS.where(one_of(session, EhpadStayRow.beneficiary_id, some))):
                stays[owner].append(EhpadStay(Period(begin, end), finess, name))
        for row in people:
            out[(row.nir, row.rank)] = PatientRights(
                nir=row.nir, rank=row.rank, birth_date=row.birth_date, last_name=row.last_name,
                first_name=row.first_name, regime=row.regime, caisse=row.caisse, centre=row.centre,
                alsace_moselle=row.alsace_moselle, rights=tuple(rights.get(row.id, ())),
                covers=tuple(covers.get(row.id, ())), ehpad_stays=tuple(stays.get(row.id, ())),
            )
    return out


_PEOPLE = select(Beneficiary.id, Beneficiary.nir, Beneficiary.rank, Beneficiary.birth_date,
                 Beneficiary.last_name, Beneficiary.first_name, Beneficiary.regime, Beneficiary.caisse,
                 Beneficiary.centre, Beneficiary.alsace_moselle)
_RIGHTS = (select(RightsPeriod.beneficiary_id, RightsPeriod.start_date, RightsPeriod.end_date)
           .order_by(RightsPeriod.start_date, RightsPeriod.id))
_COVERS = (select(CoverRow.beneficiary_id, CoverRow.cover, CoverRow.start_date, CoverRow.end_date,
                  CoverRow.detail)
           .order_by(CoverRow.start_date, CoverRow.id))
_STAYS = (select(EhpadStayRow.beneficiary_id, EhpadStayRow.start_date, EhpadStayRow.end_date,
                 EhpadStayRow.finess, EhpadStayRow.name)
          .order_by(EhpadStayRow.start_date, EhpadStayRow.id))
