"""The gateway's own pricing of a care sheet, at each line's date of care.

``price_care_sheet`` is pure (no database): the caller passes the reference lookup, the
caisse's file for the patient and the profession. The FSE rules compare the amounts the
practice software sent with this result, and the liquidation pays from it.

- NGAP: base = letter-key value (reference lookup, else the dated fallback of
  ``data/rates.json``) × coefficient × quantity.
- NGAP majorations (MEG, F, MN, MM, MD, MCG...): their dated value in
  ``data/majorations.json`` (their conditions are the rules' business); part of the same act,
  so they carry no participation forfaitaire nor franchise of their own.
- CCAM: base = tariff × quantity; sector 1 / OPTAM tariff by default, the other-sector
  tariff with ``sector=Sector.OTHER`` when the reference gives one. ``sector`` may also be
  the professional's :class:`PracticeHistory` (sector and specialty with dates): the grid is
  then the one of the sector in force on each line's date of care.
- Medicines: base = (box price + dispensing fee) × quantity, rate = the medicine's rate.
- LPP devices: base = LPP tariff × quantity, or the price charged when lower, 60 %.
- Rates: doctors 70 % in the care pathway (or under 16), 30 % outside; auxiliaries 60 %;
  100 % under an ALD, maternity or AT/MP exemption or nature of insurance 30 / 41.
  The exemption is the one the sheet declares (the rules check it against the caisse's file).
- Patient charges (participation forfaitaire, franchises) are reported apart: they are
  deducted from the patient's later reimbursements, never from the AMO part paid to the
  professional in tiers payant. Caps: per calendar year of care for the patient (all
  professionals), per day for the patient *and the same professional* (participation;
  franchise on paramedical acts). ``prior`` says what was already taken before this sheet
  (built from stored FSE by ``amelipro.fse.history``); without it the sheet starts from zero.

Every amount is a Decimal rounded half-up to the cent.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, replace
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING

from amelipro.beneficiaries.domain import PatientRights, age_on
from amelipro.domain import Profession
from amelipro.fse import domain
from amelipro.fse.charges import BillingConfig, default_billing_config
from amelipro.fse.domain import CareSheet, InsuranceNature, Line, LineKind
from amelipro.reference.facts import ActFact, LppFact, MedicineFact, ReferenceLookup

if TYPE_CHECKING:  # the enum lives with the database model: typing only, pricing stays pure
    from amelipro.auth.models import Profession

CENT = Decimal("0.01")
ZERO = Decimal("0.00")

_FULL_RATE_EXEMPTIONS = frozenset({domain.Exemption.ALD, domain.Exemption.MATERNITY, domain.Exemption.AT_MP})
_FULL_RATE_NATURES = frozenset({InsuranceNature.MATERNITE, InsuranceNature.AT_MP})
_ACT_KINDS = frozenset({LineKind.NGAP, LineKind.CCAM})


def money(value: Decimal | int | str) -> Decimal:
    """Round half-up to the cent (never banker's rounding)."""
    if type(value) is not Decimal:
        value = Decimal(value)
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


_HUNDRED = Decimal(100)


def part(base: Decimal, rate: int) -> Decimal:
    return money(base * rate / _HUNDRED)


class Sector(enum.StrEnum):
    OPTAM = "optam"  # sector 1, or sector 2 with OPTAM: the CCAM tariff in the reference
    OTHER = "autre"  # sector 2 without OPTAM: the "other sector" tariff when it differs


class ConventionSector(enum.StrEnum):
    """A doctor's sector (secteur conventionnel), a dated property of the professional."""

    SECTOR_1 = "1"
    SECTOR_2 = "2"
    SECTOR_2_OPTAM = "2_optam"

    @property
    def grid(self) -> Sector:
        """The CCAM tariff grid of the sector."""
        return Sector.OTHER if self == ConventionSector.SECTOR_2 else Sector.OPTAM

    @property
    def label(self) -> str:
        return {"1": "Secteur 1", "2": "Secteur 2", "2_optam": "Secteur 2 avec OPTAM"}[self.value]


@dataclass(frozen=True)
class PracticePeriod:
    """The professional's sector and specialty from ``start`` to ``end`` (inclusive)."""

    start: date
    end: date | None
    sector: ConventionSector | None
    specialty: str = ""

    def covers(self, at: date) -> bool:
        return self.start <= at and (self.end is None or at <= self.end)


@dataclass(frozen=True)
class PracticeHistory:
    """Dated sectors and specialties of one professional (set by an operator)."""

    periods: tuple[PracticePeriod, ...] = ()

    def at(self, day: date) -> PracticePeriod | None:
        return next((p for p in self.periods if p.covers(day)), None)

    def grid(self, day: date) -> Sector:
        """The CCAM grid on ``day``; sector 1 / OPTAM when no sector is recorded then."""
        period = self.at(day)
        return period.sector.grid if period is not None and period.sector else Sector.OPTAM


class LineProblem(enum.StrEnum):
    """Why a line could not be priced (the rules turn these into error codes)."""

    UNKNOWN = "inconnu"  # the code does not exist on the date of care
    NO_TARIFF = "sans_tarif"  # known, but no tariff in force on that date
    NOT_REIMBURSABLE = "non_remboursable"  # known, but not reimbursable on that date
    NO_RATE = "sans_taux"  # no AMO rate for that profession
    VALUE_UNKNOWN = "valeur_inconnue"  # a majoration without a value on that date


@dataclass(frozen=True)
class PricedLine:
    number: int
    kind: LineKind
    code: str
    care_date: date
    quantity: int
    unit_price: Decimal | None  # per unit (NGAP: key value × coefficient)
    charged: Decimal  # as sent by the software, or the base when it sent none
    base: Decimal
    rate: int
    amo: Decimal
    participation: Decimal = ZERO
    franchise: Decimal = ZERO
    charge_exemption: str | None = None  # why no patient charge applies, in French
    problem: LineProblem | None = None
    label: str = ""
    majoration: bool = False  # part of the consultation/visit it is added to

    @property
    def priced(self) -> bool:
        return self.problem is None

    @property
    def amounts(self) -> domain.Amounts:
        return domain.Amounts(charged=self.charged, base=self.base, rate=self.rate, amo=self.amo)


@dataclass(frozen=True)
class YearCharges:
    """Charges already deducted from one patient in one calendar year (all professionals)."""

    year: int
    participation: Decimal = ZERO
    franchise: Decimal = ZERO


@dataclass(frozen=True)
class DayCharges:
    """Charges already taken from one patient on one day *by the same professional* (the
    day caps are per professional: participation forfaitaire, franchise on paramedical acts)."""

    day: date
    participation: Decimal = ZERO
    paramedical_franchise: Decimal = ZERO  # franchises on acts only (medicine boxes have no day cap)


@dataclass(frozen=True)
class PriorCharges:
    """Patient charges already deducted before this care sheet.

    ``years`` and ``days`` come from the history (``amelipro.fse.history``); a year or a day
    not listed starts from zero.
    """

    years: tuple[YearCharges, ...] = ()
    days: tuple[DayCharges, ...] = ()

    def year(self, year: int) -> YearCharges:
        return next((y for y in self.years if y.year == year), None) or YearCharges(year)

    def day(self, day: date) -> DayCharges:
        return next((d for d in self.days if d.day == day), None) or DayCharges(day)


@dataclass(frozen=True)
class PatientCharges:
    participation: Decimal
    franchise: Decimal
    exemptions: tuple[str, ...] = ()  # reasons, in French, when some lines were exempt

    @property
    def total(self) -> Decimal:
        return self.participation + self.franchise


@dataclass(frozen=True)
class Pricing:
    lines: tuple[PricedLine, ...]
    charged: Decimal
    base: Decimal
    amo: Decimal
    charges: PatientCharges

    @property
    def totals(self) -> domain.Totals:
        return domain.Totals(charged=self.charged, base=self.base, amo=self.amo)

    @property
    def complete(self) -> bool:
        """True when every line could be priced."""
        return all(line.priced for line in self.lines)

    @property
    def patient_share(self) -> Decimal:
        """What the AMO does not pay (before the complementary insurer), charges apart."""
        return self.charged - self.amo

    def line(self, number: int) -> PricedLine:
        return next(line for line in self.lines if line.number == number)


def price_care_sheet(
    sheet: CareSheet,
    lookup: ReferenceLookup,
    rights: PatientRights | None,
    profession: Profession | str | None = None,
    *,
    sector: Sector | PracticeHistory = Sector.OPTAM,
    prior: PriorCharges | None = None,
    config: BillingConfig | None = None,
) -> Pricing:
    """Price every line at its date of care, then the patient charges."""
    config = config or default_billing_config()
    profession_value, birth_date = _who(sheet, rights, profession)
    lines = [
        _price_line(sheet, line, lookup, profession_value, birth_date, sector, config)
        for line in sheet.lines
    ]
    lines, charges = _apply_charges(sheet, lines, rights, profession_value, birth_date,
                                    prior or PriorCharges(), config)
    return Pricing(
        lines=tuple(lines),
        charged=money(sum((line.charged for line in lines), ZERO)),
        base=money(sum((line.base for line in lines), ZERO)),
        amo=money(sum((line.amo for line in lines), ZERO)),
        charges=charges,
    )


def recharge(
    pricing: Pricing,
    sheet: CareSheet,
    rights: PatientRights | None,
    profession: Profession | str | None = None,
    *,
    prior: PriorCharges | None = None,
    config: BillingConfig | None = None,
) -> Pricing:
    """The same pricing with its patient charges computed again against ``prior``.

    Lines, bases and AMO parts are unchanged (charges never touch them): the submission
    prices every FSE of a lot first, then, once it knows which are accepted, charges them in
    order against the patient's history.
    """
    config = config or default_billing_config()
    profession_value, birth_date = _who(sheet, rights, profession)
    lines, charges = _apply_charges(sheet, list(pricing.lines), rights, profession_value,
                                    birth_date, prior or PriorCharges(), config)
    if _same_charges(charges, pricing.charges) and all(
        new is old for new, old in zip(lines, pricing.lines, strict=True)
    ):
        return pricing  # the history takes nothing more off: the very same pricing
    return replace(pricing, lines=tuple(lines), charges=charges)


def _who(sheet: CareSheet, rights: PatientRights | None,
         profession: Profession | str | None) -> tuple[str, date]:
    """The profession that prices (registered, else declared) and the patient's birth date
    (the caisse's file, else the sheet)."""
    value = _profession_value(profession if profession is not None else sheet.professional.specialty)
    return value, rights.birth_date if rights is not None else sheet.patient.birth_date


def _profession_value(profession: Profession | str) -> str:
    return profession.value if isinstance(profession, enum.Enum) else str(profession)


# --- one line ----------------------------------------------------------------------------

def _price_line(sheet: CareSheet, line: Line, lookup: ReferenceLookup, profession: str,
                birth_date: date, sector: Sector | PracticeHistory,
                config: BillingConfig) -> PricedLine:
    at = line.care_date
    unit: Decimal | None
    problem: LineProblem | None = None
    label = ""
    medicine_rate: int | None = None
    majoration = config.majoration(line.code) if line.kind == LineKind.NGAP else None
    if majoration is not None:
        value = majoration.value_at(at)
        unit = value * line.coefficient if value is not None else None
        problem = None if value is not None else LineProblem.VALUE_UNKNOWN
        label = majoration.label
    elif line.kind in _ACT_KINDS:
        fact = lookup.act(line.code, at)
        grid = sector.grid(at) if isinstance(sector, PracticeHistory) else sector
        unit, problem, label = _act_unit(line, fact, grid, config)
    elif line.kind == LineKind.MEDICINE:
        med = lookup.medicine(line.code, at)
        unit, problem, label = _medicine_unit(med)
        medicine_rate = med.rate_percent if med is not None else None
    else:
        lpp = lookup.lpp(line.code, at)
        unit, problem, label = _lpp_unit(lpp)
    base = money(unit * line.quantity) if unit is not None and problem is None else ZERO
    if line.kind == LineKind.DEVICE and line.amounts is not None and problem is None:
        base = min(base, money(line.amounts.charged))  # sold below its tariff: the price charged
    rate = 0
    if problem is None:
        found = line_rate(sheet, line, profession, birth_date, medicine_rate, config)
        if found is None:
            problem = LineProblem.NO_RATE
        else:
            rate = found
    if problem is not None:
        base = ZERO
    charged = line.amounts.charged if line.amounts is not None else base
    return PricedLine(
        number=line.number, kind=line.kind, code=line.code, care_date=at,
        quantity=line.quantity, unit_price=unit, charged=money(charged), base=base, rate=rate,
        amo=part(base, rate), problem=problem, label=label, majoration=majoration is not None,
    )


def _act_unit(line: Line, fact: ActFact | None, sector: Sector,
              config: BillingConfig) -> tuple[Decimal | None, LineProblem | None, str]:
    if fact is None or fact.kind != line.kind.value:
        return None, LineProblem.UNKNOWN, ""
    if line.kind == LineKind.NGAP:
        value = fact.tariff
        if value is None:
            value = config.ngap_key_value(line.code, line.care_date)
        if value is None:
            return None, LineProblem.NO_TARIFF, fact.label
        return value * line.coefficient, None, fact.label
    tariff = fact.tariff
    if sector == Sector.OTHER and fact.tariff_other_sector is not None:
        tariff = fact.tariff_other_sector
    if tariff is None:
        return None, LineProblem.NO_TARIFF, fact.label
    return tariff, None, fact.label


def _medicine_unit(med: MedicineFact | None) -> tuple[Decimal | None, LineProblem | None, str]:
    if med is None:
        return None, LineProblem.UNKNOWN, ""
    if not med.reimbursable or med.rate_percent is None:
        return med.price, LineProblem.NOT_REIMBURSABLE, med.name
    if med.price is None:
        return None, LineProblem.NO_TARIFF, med.name
    return med.price + (med.dispensing_fee or ZERO), None, med.name


def _lpp_unit(lpp: LppFact | None) -> tuple[Decimal | None, LineProblem | None, str]:
    if lpp is None:
        return None, LineProblem.UNKNOWN, ""
    if lpp.tariff is None:
        return None, LineProblem.NO_TARIFF, lpp.label
    return lpp.tariff, None, lpp.label


def line_rate(sheet: CareSheet, line: Line, profession: str, birth_date: date,
              medicine_rate: int | None, config: BillingConfig) -> int | None:
    """The AMO rate (percent) of one line at its date of care; None when none applies."""
    at = line.care_date
    if sheet.exemption in _FULL_RATE_EXEMPTIONS or sheet.nature in _FULL_RATE_NATURES:
        return config.exempt_rate.at(at)
    if sheet.nature == InsuranceNature.PREVENTION:
        return config.prevention_rate.at(at)
    local = config.alsace_moselle.at(at) if sheet.nature == InsuranceNature.ALSACE_MOSELLE else None
    if line.kind == LineKind.MEDICINE:
        if medicine_rate is None:
            return None
        return local.medicines.get(medicine_rate, medicine_rate) if local else medicine_rate
    if line.kind == LineKind.DEVICE:
        return local.lpp if local else config.lpp_rate.at(at)
    timeline = config.act_rates.get(profession)
    rates = timeline.get(at) if timeline is not None else None
    if rates is None:
        return None
    in_pathway = sheet.pathway or age_on(birth_date, at) < config.pathway_min_age.at(at)
    rate = rates.pathway if in_pathway else rates.outside_pathway
    if local is not None and in_pathway:
        rate = max(rate, local.acts)
    return rate


# --- patient charges ---------------------------------------------------------------------

def charge_exemption(sheet: CareSheet, rights: PatientRights | None, birth_date: date,
                     at: date, config: BillingConfig) -> str | None:
    """Why no participation forfaitaire nor franchise applies at ``at`` (French), or None."""
    ex = config.exemptions
    if age_on(birth_date, at) < ex.under_age:
        return f"moins de {ex.under_age} ans"
    if sheet.nature.value in ex.natures:
        return "assurance maternité"
    if sheet.exemption.value in ex.covers:
        return _COVER_REASONS.get(sheet.exemption.value, sheet.exemption.value)
    if rights is not None:
        for cover in rights.covers_at(at):
            if cover.cover.value in ex.covers:
                return _COVER_REASONS.get(cover.cover.value, cover.cover.value)
    return None


_COVER_REASONS = {
    "c2s": "complémentaire santé solidaire (C2S)",
    "ame": "aide médicale de l'État (AME)",
    "maternite": "maternité (à partir du 6e mois de grossesse)",
}


def _in_care_order(item: PricedLine) -> tuple[date, int]:
    return item.care_date, item.number


def _apply_charges(sheet: CareSheet, lines: list[PricedLine], rights: PatientRights | None,
                   profession: str, birth_date: date, prior: PriorCharges,
                   config: BillingConfig) -> tuple[list[PricedLine], PatientCharges]:
    pf_cfg, fr_cfg = config.participation, config.franchise
    takes_participation = profession in pf_cfg.professions
    takes_paramedical = profession in fr_cfg.paramedical_professions
    # What the history took before (the first entry of a year or day, as PriorCharges answers).
    prior_years: dict[int, YearCharges] = {}
    for entry in prior.years:
        prior_years.setdefault(entry.year, entry)
    prior_days: dict[date, DayCharges] = {}
    for entry in prior.days:
        prior_days.setdefault(entry.day, entry)
    # Taken by this sheet so far, by day and by year.
    pf_day: dict[date, Decimal] = {}
    para_day: dict[date, Decimal] = {}
    pf_year: dict[int, Decimal] = {}
    fr_year: dict[int, Decimal] = {}
    reasons: list[str] = []
    out: list[PricedLine] = []
    for line in sorted(lines, key=_in_care_order) if len(lines) > 1 else lines:
        if line.problem is not None or line.majoration:
            # Not priced, or a majoration (part of its consultation or visit: charged once, with it).
            out.append(_with_charges(line, ZERO, ZERO, None))
            continue
        at = line.care_date
        reason = charge_exemption(sheet, rights, birth_date, at, config)
        participation = franchise = ZERO
        if reason is None:
            year = at.year
            before_year, before_day = prior_years.get(year, _NO_YEAR), prior_days.get(at, _NO_DAY)
            kind = line.kind
            if kind in _ACT_KINDS and takes_participation:
                participation = _capped(
                    pf_cfg.unit.at(at),
                    pf_cfg.day_cap.at(at) - before_day.participation - pf_day.get(at, ZERO),
                    pf_cfg.year_cap.at(at) - before_year.participation - pf_year.get(year, ZERO),
                )
                pf_day[at] = pf_day.get(at, ZERO) + participation
                pf_year[year] = pf_year.get(year, ZERO) + participation
            elif kind in _ACT_KINDS and takes_paramedical:
                franchise = _capped(
                    fr_cfg.paramedical_act.at(at),
                    fr_cfg.paramedical_day_cap.at(at) - before_day.paramedical_franchise - para_day.get(at, ZERO),
                    fr_cfg.year_cap.at(at) - before_year.franchise - fr_year.get(year, ZERO),
                )
                para_day[at] = para_day.get(at, ZERO) + franchise
            elif kind == LineKind.MEDICINE:
                franchise = _capped(
                    fr_cfg.medicine_box.at(at) * line.quantity,
                    None,
                    fr_cfg.year_cap.at(at) - before_year.franchise - fr_year.get(year, ZERO),
                )
            fr_year[year] = fr_year.get(year, ZERO) + franchise
        elif reason not in reasons:
            reasons.append(reason)
        out.append(_with_charges(line, participation, franchise, reason))
    if len(out) > 1:
        out.sort(key=_number)
    return out, PatientCharges(
        participation=money(sum(pf_year.values(), ZERO)),
        franchise=money(sum(fr_year.values(), ZERO)),
        exemptions=tuple(reasons),
    )


_NO_YEAR = YearCharges(0)  # nothing taken that year (only its amounts are read)
_NO_DAY = DayCharges(date.min)


def _capped(amount: Decimal, day_left: Decimal | None, year_left: Decimal) -> Decimal:
    if day_left is None:
        return money(min(amount, max(year_left, ZERO)))
    return money(min(amount, max(year_left, ZERO), max(day_left, ZERO)))


def _number(item: PricedLine) -> int:
    return item.number


def _same(a: Decimal, b: Decimal) -> bool:
    """The same amount written the same way (0.00 is not 0)."""
    return a is b or (a == b and a.as_tuple() == b.as_tuple())


def _same_charges(a: PatientCharges, b: PatientCharges) -> bool:
    return (_same(a.participation, b.participation) and _same(a.franchise, b.franchise)
            and a.exemptions == b.exemptions)


def _with_charges(line: PricedLine, participation: Decimal, franchise: Decimal,
                  reason: str | None) -> PricedLine:
    """The line with these charges: the line itself when they are the ones it has."""
    if (reason == line.charge_exemption and _same(participation, line.participation)
            and _same(franchise, line.franchise)):
        return line
    return replace(line, participation=participation, franchise=franchise, charge_exemption=reason)
