"""What the caisse's file says of one insured person, as frozen values answered at any date.

No database here: ``services.py`` loads a :class:`PatientRights` from the tables, and the FSE
rules and the pricing ask it questions *at the date of care* (never at today's date).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import date


class Cover(enum.StrEnum):
    """A cover or an exemption held over a period (values match ``fse.domain.Exemption``)."""

    ALD = "ald"  # affection de longue durée (exonération du ticket modérateur)
    MATERNITY = "maternite"  # from the 6th month of pregnancy to 12 days after birth
    AT_MP = "atmp"  # accident du travail / maladie professionnelle
    C2S = "c2s"  # complémentaire santé solidaire
    AME = "ame"  # aide médicale de l'État

    @property
    def label(self) -> str:
        return COVER_LABELS[self]


COVER_LABELS = {
    Cover.ALD: "ALD (affection de longue durée)",
    Cover.MATERNITY: "Maternité",
    Cover.AT_MP: "Accident du travail / maladie professionnelle",
    Cover.C2S: "Complémentaire santé solidaire (C2S)",
    Cover.AME: "Aide médicale de l'État (AME)",
}


@dataclass(frozen=True)
class Period:
    start: date
    end: date | None = None  # inclusive; None: open-ended

    def covers(self, at: date) -> bool:
        return self.start <= at and (self.end is None or at <= self.end)


@dataclass(frozen=True)
class CoverPeriod:
    cover: Cover
    period: Period
    detail: str = ""  # e.g. the ALD's label, the AT/MP file number


@dataclass(frozen=True)
class EhpadStay:
    period: Period
    finess: str = ""
    name: str = ""


@dataclass(frozen=True)
class RightsAt:
    """The answer for one person at one date (page and API)."""

    at: date
    open: bool
    covers: tuple[CoverPeriod, ...]
    ehpad: EhpadStay | None
    age: int

    @property
    def cover_kinds(self) -> frozenset[Cover]:
        return frozenset(c.cover for c in self.covers)


@dataclass(frozen=True)
class PatientRights:
    """One beneficiary of the caisse's file with every period; ask it questions at a date."""

    nir: str  # 15 characters (13 + key)
    rank: int
    birth_date: date
    last_name: str = ""
    first_name: str = ""
    regime: str = "01"
    caisse: str = ""
    centre: str = ""
    alsace_moselle: bool = False  # affiliated to the régime local d'Alsace-Moselle
    rights: tuple[Period, ...] = ()
    covers: tuple[CoverPeriod, ...] = ()
    ehpad_stays: tuple[EhpadStay, ...] = ()

    def is_open(self, at: date) -> bool:
        return any(p.covers(at) for p in self.rights)

    def covers_at(self, at: date) -> tuple[CoverPeriod, ...]:
        return tuple(c for c in self.covers if c.period.covers(at))

    def has_cover(self, cover: Cover | str, at: date) -> bool:
        cover = Cover(cover)
        return any(c.cover == cover for c in self.covers_at(at))

    def ehpad_at(self, at: date) -> EhpadStay | None:
        return next((s for s in self.ehpad_stays if s.period.covers(at)), None)

    def age_at(self, at: date) -> int:
        return age_on(self.birth_date, at)

    def at(self, at: date) -> RightsAt:
        return RightsAt(
            at=at,
            open=self.is_open(at),
            covers=self.covers_at(at),
            ehpad=self.ehpad_at(at),
            age=self.age_at(at),
        )


def age_on(birth_date: date, at: date) -> int:
    """Age in whole years on ``at`` (a person born 29 February turns a year on 1 March)."""
    years = at.year - birth_date.year
    if (at.month, at.day) < (birth_date.month, birth_date.day):
        years -= 1
    return years
