"""NGAP majorations (MEG, F, MN, MM, MD, MCG...): dated values and their conditions.

A majoration is added to a consultation or a visit of the same day and is part of that act
(never an act of its own). Its value is dated configuration (``data/majorations.json``, loaded with the rest of the
billing configuration by ``amelipro.fse.charges``:
value, validity period, ``sourced`` or ``unconfirmed``, source); its condition is checked
**at the date of care** on plain values (birth date, date and time of care, the other acts
of the day, the care-pathway indicator). Pure: no database, no web framework.

Public holidays come from the project's one calendar (``amelipro.thirdparty.calendar``).
"""

from __future__ import annotations

import enum
from collections.abc import Collection
from dataclasses import dataclass
from datetime import date, time

from amelipro.beneficiaries.domain import age_on
from amelipro.fse.charges import Condition, Majoration
from amelipro.thirdparty.calendar import holiday_name


class Failure(enum.StrEnum):
    """Why a majoration's condition is not met (the rules turn these into error codes)."""

    NO_ACT = "sans_acte"  # no consultation/visit it may be added to on that day
    AGE = "age"
    DAY = "jour"
    TIME_MISSING = "heure_absente"
    TIME = "heure"
    HOME_VISIT = "visite"
    PATHWAY = "parcours"


@dataclass(frozen=True)
class CareContext:
    """What a majoration's condition reads, all at the date of care."""

    care_date: date
    care_time: time | None
    birth_date: date
    acts_same_day: Collection[str]  # NGAP keys and CCAM codes billed that day (not majorations)
    pathway: bool


def unmet(majoration: Majoration, ctx: CareContext) -> Failure | None:
    """None when ``majoration`` may be billed in ``ctx``, else why not."""
    if not majoration.acts & set(ctx.acts_same_day):
        return Failure.NO_ACT
    if majoration.condition == Condition.AGE_UNDER:
        return None if age_on(ctx.birth_date, ctx.care_date) < (majoration.age or 0) else Failure.AGE
    if majoration.condition == Condition.SUNDAY_OR_HOLIDAY:
        return None if is_sunday_or_holiday(ctx.care_date) else Failure.DAY
    if majoration.condition == Condition.NIGHT:
        if ctx.care_time is None:
            return Failure.TIME_MISSING
        return None if majoration.in_hours(ctx.care_time) else Failure.TIME
    if majoration.condition == Condition.HOME_VISIT:
        return None if majoration.visits & set(ctx.acts_same_day) else Failure.HOME_VISIT
    return None if ctx.pathway else Failure.PATHWAY


def is_sunday_or_holiday(day: date) -> bool:
    return day.weekday() == 6 or holiday_name(day) is not None


def day_kind(day: date) -> str:
    """« dimanche », the holiday's name, or the weekday (French), for error details."""
    name = holiday_name(day)
    if name:
        return f"jour férié ({name})"
    return ("lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche")[day.weekday()]


__all__ = ["CareContext", "Condition", "Failure", "Majoration", "day_kind", "is_sunday_or_holiday", "unmet"]
