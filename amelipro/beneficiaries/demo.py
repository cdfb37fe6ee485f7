"""The demo file of insured persons: varied people with valid NIR keys, periods around today."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy.orm import Session
from stdnum import luhn
from stdnum.fr import nir as stdnum_nir

from amelipro.beneficiaries.domain import Cover, CoverPeriod, EhpadStay, PatientRights, Period
from amelipro.beneficiaries.importing import ImportResult, import_beneficiaries


def nir_with_key(body: str) -> str:
    """A 13-character NIR body with its computed key (demo and test people)."""
    return body + stdnum_nir.calc_check_digits(body)


def finess_with_key(body: str) -> str:
    return body + luhn.calc_check_digit(body)


DEMO_EHPAD_FINESS = finess_with_key("75000001")
DEMO_EHPAD_NAME = "EHPAD Les Tilleuls (démonstration)"


def demo_beneficiaries(today: date) -> tuple[PatientRights, ...]:
    """A varied demo file with valid NIR keys; periods placed around ``today``."""
    since = date(2020, 1, 1)
    open_ = (Period(since),)

    def person(body: str, birth: date, last: str, first: str, *, rank: int = 1,
               caisse: str = "751", rights: tuple[Period, ...] = open_, covers=(), ehpad=(),
               alsace: bool = False) -> PatientRights:
        return PatientRights(nir=nir_with_key(body), rank=rank, birth_date=birth, last_name=last,
                             first_name=first, regime="01", caisse=caisse, centre="0001",
                             alsace_moselle=alsace, rights=rights, covers=tuple(covers),
                             ehpad_stays=tuple(ehpad))

    days = timedelta
    return (
        person("2820819398814", date(1982, 8, 19), "MARTIN", "Claire"),
        person("1580375112045", date(1958, 3, 15), "DUBOIS", "Paul",
               covers=[CoverPeriod(Cover.ALD, Period(date(2019, 6, 1)), "Diabète de type 2")]),
        person("1580375112045", date(2012, 9, 3), "DUBOIS", "Léa", rank=2),
        person("2150575114123", date(2015, 5, 2), "LEROY", "Emma"),
        person("2930169123456", date(1993, 1, 12), "MOREAU", "Sofia",
               covers=[CoverPeriod(Cover.MATERNITY, Period(today - days(120), today + days(90)),
                                   "Grossesse, 6e mois au 12e jour après l'accouchement")]),
        person("1770213055321", date(1977, 2, 21), "BERNARD", "Louis",
               covers=[CoverPeriod(Cover.AT_MP, Period(today - days(30), today + days(60)),
                                   "Accident du travail n° AT-2026-0042")]),
        person("2380475056789", date(1938, 4, 7), "PETIT", "Jeanne",
               covers=[CoverPeriod(Cover.ALD, Period(date(2018, 2, 1)), "Maladie d'Alzheimer")],
               ehpad=[EhpadStay(Period(today - days(400)), DEMO_EHPAD_FINESS, DEMO_EHPAD_NAME)]),
        person("1900693066111", date(1990, 6, 9), "ROUX", "Karim",
               covers=[CoverPeriod(Cover.C2S, Period(today - days(200), today + days(165)),
                                   "C2S sans participation")]),
        person("1850744109222", date(1985, 7, 30), "GARCIA", "Lucas",
               rights=(Period(since, today - days(60)),)),
        person("2720867482333", date(1972, 8, 14), "SCHMITT", "Anne", caisse="671", alsace=True),
        person("155022A004123", date(1955, 2, 27), "CASANOVA", "Marc", caisse="201"),  # CPAM de Corse-du-Sud
        # a child under 6 whatever the day (MEG, the under-6 majoration)
        person("1230375120045", date(today.year - 3, 3, 14), "NOEL", "Jules"),
    )


def seed_demo(session: Session, today: date) -> ImportResult:
    return import_beneficiaries(session, demo_beneficiaries(today), actor="demo")
