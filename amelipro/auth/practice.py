"""A professional's sector and specialty with dates (set by an operator, shown on the account).

The sector (1, 2, 2 with OPTAM) chooses the CCAM tariff grid on the date of care; the pricing
reads it as a pure :class:`~amelipro.fse.pricing.PracticeHistory` built here. A new period
starts after the last one, which is closed the day before; a period given again with the same
start date replaces it (a correction).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from amelipro import audit
from amelipro.auth import errors
from amelipro.auth.models import Professional, ProfessionalPractice, Role
from amelipro.errors import AmeliproError
from amelipro.fse.pricing import ConventionSector, PracticeHistory, PracticePeriod

SPECIALTY_MAX = 100


@dataclass(frozen=True)
class PracticeChange:
    professional: Professional
    period: PracticePeriod
    closed: PracticePeriod | None  # the previous period, now ending the day before


def parse_sector(value: str | None) -> ConventionSector:
    try:
        return ConventionSector((value or "").strip())
    except ValueError:
        raise AmeliproError(errors.PRACTICE_SECTOR_INVALID, f"Reçu : « {value or ''} ».") from None


def _period(row: ProfessionalPractice) -> PracticePeriod:
    sector = ConventionSector(row.sector) if row.sector else None
    return PracticePeriod(row.valid_from, row.valid_to, sector, row.specialty or "")


def practice_rows(session: Session, professional_id: int) -> list[ProfessionalPractice]:
    return list(session.scalars(
        select(ProfessionalPractice).where(ProfessionalPractice.professional_id == professional_id)
        .order_by(ProfessionalPractice.valid_from)
    ))


def practice_history(session: Session, professional_id: int) -> PracticeHistory:
    """The professional's periods, oldest first (what the pricing reads)."""
    return PracticeHistory(tuple(_period(row) for row in practice_rows(session, professional_id)))


def set_practice(session: Session, pro: Professional, start: date, sector: ConventionSector,
                 specialty: str = "", *, actor: Professional | None = None) -> PracticeChange:
    """Record the sector and specialty of ``pro`` from ``start`` on, and commit."""
    specialty = (specialty or "").strip()
    if len(specialty) > SPECIALTY_MAX:
        raise AmeliproError(errors.PRACTICE_SPECIALTY_TOO_LONG)
    rows = practice_rows(session, pro.id)
    last = rows[-1] if rows else None
    closed = None
    if last is not None and start < last.valid_from:
        raise AmeliproError(errors.PRACTICE_DATE_INVALID,
                            f"Période en vigueur depuis le {last.valid_from:%d/%m/%Y} ; reçu : {start:%d/%m/%Y}.")
    login = actor.login if actor is not None else "cli"
    if last is not None and start == last.valid_from:  # a correction of the last period
        last.sector, last.specialty, last.set_by = sector.value, specialty, login
        row = last
    else:
        if last is not None:
            last.valid_to = start - timedelta(days=1)
            closed = _period(last)
        row = ProfessionalPractice(professional_id=pro.id, valid_from=start, valid_to=None,
                                   sector=sector.value, specialty=specialty, set_by=login)
        session.add(row)
    audit.record(session, "professional.practice", actor_id=actor.id if actor else None,
                 actor_login=login, professional_id=pro.id, valid_from=start.isoformat(),
                 sector=sector.value, specialty=specialty)
    session.commit()
    return PracticeChange(pro, _period(row), closed)


def get_professional(session: Session, pro_id: int) -> Professional | None:
    """A professional (not an operator) by id, or None."""
    pro = session.get(Professional, pro_id)
    return pro if pro is not None and pro.role == Role.PROFESSIONAL else None


def professionals_in_force(session: Session, today: date) -> list[tuple[Professional, PracticePeriod | None]]:
    """Every professional with the period in force ``today`` (the operators' list)."""
    pros = session.scalars(select(Professional).where(Professional.role == Role.PROFESSIONAL)
                           .order_by(Professional.last_name, Professional.first_name, Professional.id)).all()
    periods: dict[int, list[PracticePeriod]] = {}
    for row in session.scalars(select(ProfessionalPractice).order_by(ProfessionalPractice.valid_from)):
        periods.setdefault(row.professional_id, []).append(_period(row))
    return [(pro, PracticeHistory(tuple(periods.get(pro.id, ()))).at(today)) for pro in pros]


def find_professional(session: Session, login: str) -> Professional:
    pro = session.scalar(select(Professional).where(Professional.login == login))
    if pro is None:
        raise AmeliproError(errors.PRACTICE_PROFESSIONAL_UNKNOWN, f"Identifiant : « {login} ».")
    return pro


__all__ = ["PracticeChange", "find_professional", "get_professional", "professionals_in_force", "parse_sector", "practice_history", "practice_rows",
           "set_practice"]
