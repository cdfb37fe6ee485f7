"""Dated configuration: AMO rates, patient charges and billing permissions.

Values live in ``amelipro/fse/data/charges.json``, ``rates.json`` and ``majorations.json``: each value has a
validity period (``from``/``to`` inclusive), a ``status`` (``sourced`` or ``unconfirmed``)
and a ``source``. A care sheet is priced with the values in force **on the date of care**.
Entries with ``"active": false`` document proposals (e.g. the 2026 doubling) and are never
applied until an operator activates them. Another file with the same layout can be loaded
with :func:`load_billing_config` (e.g. an operator's copy with the 2026 values confirmed).
"""

from __future__ import annotations

import enum
import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, time
from decimal import Decimal, InvalidOperation
from functools import cache
from pathlib import Path
from typing import Any, Generic, TypeVar

T = TypeVar("T")

DATA_DIR = Path(__file__).resolve().parent / "data"
STATUSES = frozenset({"sourced", "unconfirmed"})


class BillingConfigError(ValueError):
    """The dated configuration is malformed (overlap, gap, bad value): fix the file."""


@dataclass(frozen=True)
class Dated(Generic[T]):
    start: date
    end: date | None  # inclusive; None: still in force
    value: T
    status: str = "sourced"
    source: str = ""

    def covers(self, at: date) -> bool:
        return self.start <= at and (self.end is None or at <= self.end)


_MEMO_DATES = 4096  # bound on the dates a timeline remembers (a lot asks a handful)


@dataclass(frozen=True)
class Timeline(Generic[T]):
    """Non-overlapping dated values of one setting.

    The entry in force on a date is remembered (pricing asks the same few dates of care
    thousands of times per lot); the memo is no part of the value (not compared, not hashed).
    """

    name: str
    entries: tuple[Dated[T], ...]
    _memo: dict[date, Dated[T] | None] = field(default_factory=dict, init=False, repr=False,
                                               compare=False, hash=False)

    def entry_at(self, at: date) -> Dated[T] | None:
        memo = self._memo
        try:
            return memo[at]
        except KeyError:
            pass
        found = next((e for e in self.entries if e.covers(at)), None)
        if len(memo) >= _MEMO_DATES:
            memo.clear()
        memo[at] = found
        return found

    def at(self, at: date) -> T:
        entry = self.entry_at(at)
        if entry is None:
            raise BillingConfigError(f"{self.name}: no value in force on {at.isoformat()}")
        return entry.value

    def get(self, at: date, default: T | None = None) -> T | None:
        entry = self.entry_at(at)
        return default if entry is None else entry.value


@dataclass(frozen=True)
class ActRate:
    pathway: int
    outside_pathway: int


@dataclass(frozen=True)
class AlsaceMoselleRates:
    acts: int
    lpp: int
    medicines: Mapping[int, int]  # general-scheme rate -> local-scheme rate


@dataclass(frozen=True)
class ChargeExemptions:
    under_age: int
    covers: frozenset[str]  # Cover values (c2s, ame, maternite)
    natures: frozenset[str]  # InsuranceNature values (30)


@dataclass(frozen=True)
class ParticipationConfig:
    professions: frozenset[str]
    unit: Timeline[Decimal]
    day_cap: Timeline[Decimal]
    year_cap: Timeline[Decimal]


@dataclass(frozen=True)
class FranchiseConfig:
    paramedical_professions: frozenset[str]
    medicine_box: Timeline[Decimal]
    paramedical_act: Timeline[Decimal]
    paramedical_day_cap: Timeline[Decimal]
    transport: Timeline[Decimal]
    transport_day_cap: Timeline[Decimal]
    year_cap: Timeline[Decimal]


class Condition(enum.StrEnum):
    AGE_UNDER = "age_under"
    SUNDAY_OR_HOLIDAY = "sunday_or_holiday"
    NIGHT = "night"
    HOME_VISIT = "home_visit"
    CARE_PATHWAY = "care_pathway"




@dataclass(frozen=True)
class Majoration:
    code: str
    label: str
    condition: Condition
    acts: frozenset[str]
    values: Timeline[Decimal]
    age: int | None = None
    hours: tuple[tuple[time, time | None], ...] = ()  # [start, end); end None: midnight
    visits: frozenset[str] = frozenset()

    def value_at(self, at: date) -> Decimal | None:
        return self.values.get(at)

    def entry_at(self, at: date) -> Dated[Decimal] | None:
        return self.values.entry_at(at)

    def describe(self) -> str:
        """The condition in French, for people (reference pages, error details)."""
        if self.condition == Condition.AGE_UNDER:
            return f"Patient de moins de {self.age} ans à la date des soins."
        if self.condition == Condition.SUNDAY_OR_HOLIDAY:
            return "Soins un dimanche ou un jour férié."
        if self.condition == Condition.NIGHT:
            return f"Soins entre {self.hours_text()} ; l'heure des soins est obligatoire."
        if self.condition == Condition.HOME_VISIT:
            return f"Visite à domicile justifiée ({', '.join(sorted(self.visits))}) le même jour."
        return "Patient adressé par son médecin traitant (parcours de soins coordonnés)."

    def hours_text(self) -> str:
        parts = []
        for start, end in self.hours:
            parts.append(f"{_h(start)} et {'minuit' if end is None else _h(end)}")
        return " ou ".join(parts)

    def in_hours(self, at: time) -> bool:
        return any(start <= at and (end is None or at < end) for start, end in self.hours)


def _h(value: time) -> str:
    if value == time(0, 0):
        return "minuit"
    return f"{value.hour} h" + (f" {value.minute:02d}" if value.minute else "")


@dataclass(frozen=True)
class BillingConfig:
    """Everything pricing and the rules read from configuration."""

    participation: ParticipationConfig
    franchise: FranchiseConfig
    exemptions: ChargeExemptions
    act_rates: Mapping[str, Timeline[ActRate]]  # by profession
    pathway_min_age: Timeline[int]
    lpp_rate: Timeline[int]
    exempt_rate: Timeline[int]
    prevention_rate: Timeline[int]
    alsace_moselle: Timeline[AlsaceMoselleRates]
    line_kinds: Mapping[str, frozenset[str]]  # profession -> LineKind values
    ngap_keys: Mapping[str, frozenset[str]]  # letter key -> professions
    prescription_kinds: frozenset[str]
    prescription_professions: frozenset[str]
    ngap_key_values: Mapping[str, Timeline[Decimal]] = field(default_factory=dict)
    majorations: Mapping[str, Majoration] = field(default_factory=dict)  # by NGAP key

    def majoration(self, key: str) -> Majoration | None:
        return self.majorations.get(key)

    def ngap_key_value(self, key: str, at: date) -> Decimal | None:
        timeline = self.ngap_key_values.get(key)
        return None if timeline is None else timeline.get(at)

    def unconfirmed(self) -> list[str]:
        """Names of the settings holding at least one unconfirmed value (for the docs)."""
        out = []
        for name, timeline in self._timelines():
            if any(e.status == "unconfirmed" for e in timeline.entries):
                out.append(name)
        return out

    def _timelines(self) -> Iterable[tuple[str, Timeline[Any]]]:
        for cfg in (self.participation, self.franchise):
            for value in vars(cfg).values():
                if isinstance(value, Timeline):
                    yield value.name, value
        for timeline in (
            *self.act_rates.values(), self.pathway_min_age, self.lpp_rate, self.exempt_rate,
            self.prevention_rate, self.alsace_moselle, *self.ngap_key_values.values(),
            *(m.values for m in self.majorations.values()),
        ):
            yield timeline.name, timeline


# --- loading -----------------------------------------------------------------------------

def _date(raw: Any, name: str) -> date:
    try:
        return date.fromisoformat(raw)
    except (TypeError, ValueError) as exc:
        raise BillingConfigError(f"{name}: invalid date {raw!r}") from exc


def _money(raw: Any, name: str) -> Decimal:
    if not isinstance(raw, str):  # never floats: "2.00", not 2.0
        raise BillingConfigError(f"{name}: amounts are strings, got {raw!r}")
    try:
        value = Decimal(raw)
    except InvalidOperation as exc:
        raise BillingConfigError(f"{name}: invalid amount {raw!r}") from exc
    if value < 0 or value != value.quantize(Decimal("0.01")):
        raise BillingConfigError(f"{name}: invalid amount {raw!r}")
    return value


def _rate(raw: Any, name: str) -> int:
    if not isinstance(raw, int) or isinstance(raw, bool) or not 0 <= raw <= 100:
        raise BillingConfigError(f"{name}: invalid rate {raw!r}")
    return raw


def _timeline(name: str, raw: Any, parse: Callable[[Any, str], T]) -> Timeline[T]:
    if not isinstance(raw, list) or not raw:
        raise BillingConfigError(f"{name}: a non-empty list of dated values is required")
    entries: list[Dated[T]] = []
    for item in raw:
        if not item.get("active", True):
            continue
        status = item.get("status", "")
        if status not in STATUSES:
            raise BillingConfigError(f"{name}: status must be one of {sorted(STATUSES)}")
        end = None if item.get("to") is None else _date(item["to"], name)
        entry = Dated(_date(item.get("from"), name), end, parse(item.get("value"), name),
                      status, str(item.get("source", "")))
        if entry.end is not None and entry.end < entry.start:
            raise BillingConfigError(f"{name}: period ends before it starts")
        entries.append(entry)
    entries.sort(key=lambda e: e.start)
    for before, after in zip(entries, entries[1:], strict=False):
        if before.end is None or before.end >= after.start:
            raise BillingConfigError(
                f"{name}: periods overlap at {after.start.isoformat()}"
            )
    return Timeline(name, tuple(entries))


def _act_rate(raw: Any, name: str) -> ActRate:
    if not isinstance(raw, dict):
        raise BillingConfigError(f"{name}: expected {{pathway, outside_pathway}}")
    return ActRate(_rate(raw.get("pathway"), name), _rate(raw.get("outside_pathway"), name))


def _alsace(raw: Any, name: str) -> AlsaceMoselleRates:
    if not isinstance(raw, dict) or not isinstance(raw.get("medicines"), dict):
        raise BillingConfigError(f"{name}: expected {{acts, lpp, medicines}}")
    medicines = {int(k): _rate(v, name) for k, v in raw["medicines"].items()}
    return AlsaceMoselleRates(_rate(raw.get("acts"), name), _rate(raw.get("lpp"), name), medicines)


def _names(raw: Any, name: str) -> frozenset[str]:
    if not isinstance(raw, list) or not all(isinstance(x, str) for x in raw):
        raise BillingConfigError(f"{name}: a list of names is required")
    return frozenset(raw)


# --- majorations (loading) -----------------------------------------------------------------------------

def _time(raw: Any, name: str) -> time | None:
    if raw == "24:00":
        return None
    try:
        return time.fromisoformat(raw)
    except (TypeError, ValueError) as exc:
        raise BillingConfigError(f"{name}: invalid time {raw!r}") from exc


def build_majorations(raw: Mapping[str, Any]) -> dict[str, Majoration]:
    out: dict[str, Majoration] = {}
    for code, item in raw["majorations"].items():
        name = f"majorations.{code}"
        try:
            condition = Condition(item["condition"])
        except ValueError as exc:
            raise BillingConfigError(f"{name}: unknown condition {item['condition']!r}") from exc
        hours = tuple((_time(a, name) or time(0, 0), _time(b, name)) for a, b in item.get("hours", ()))
        if condition == Condition.NIGHT and not hours:
            raise BillingConfigError(f"{name}: a night majoration needs its hours")
        if condition == Condition.AGE_UNDER and not isinstance(item.get("age"), int):
            raise BillingConfigError(f"{name}: an age condition needs 'age'")
        out[code] = Majoration(
            code=code, label=str(item["label"]), condition=condition,
            acts=frozenset(item["acts"]), values=_timeline(name, item["values"], _money),
            age=item.get("age"), hours=hours, visits=frozenset(item.get("visits", ())),
        )
    return out


def build_billing_config(charges: Mapping[str, Any], rates: Mapping[str, Any],
                         majorations: Mapping[str, Any] | None = None) -> BillingConfig:
    """Validate the documents (already parsed from JSON) into a :class:`BillingConfig`;
    without ``majorations``, the packaged ``majorations.json``."""
    if majorations is None:
        majorations = _read_json(DATA_DIR / "majorations.json")
    pf = charges["participation_forfaitaire"]
    fr = charges["franchise"]
    ex = charges["exemptions"]
    presc = rates["prescription"]
    return BillingConfig(
        participation=ParticipationConfig(
            professions=_names(pf["professions"], "participation.professions"),
            unit=_timeline("participation_forfaitaire.unit", pf["unit"], _money),
            day_cap=_timeline("participation_forfaitaire.day_cap", pf["day_cap"], _money),
            year_cap=_timeline("participation_forfaitaire.year_cap", pf["year_cap"], _money),
        ),
        franchise=FranchiseConfig(
            paramedical_professions=_names(fr["paramedical_professions"], "franchise.professions"),
            medicine_box=_timeline("franchise.medicine_box", fr["medicine_box"], _money),
            paramedical_act=_timeline("franchise.paramedical_act", fr["paramedical_act"], _money),
            paramedical_day_cap=_timeline(
                "franchise.paramedical_day_cap", fr["paramedical_day_cap"], _money
            ),
            transport=_timeline("franchise.transport", fr["transport"], _money),
            transport_day_cap=_timeline("franchise.transport_day_cap", fr["transport_day_cap"], _money),
            year_cap=_timeline("franchise.year_cap", fr["year_cap"], _money),
        ),
        exemptions=ChargeExemptions(
            under_age=int(ex["under_age"]),
            covers=_names(ex["covers"], "exemptions.covers"),
            natures=_names(ex["natures"], "exemptions.natures"),
        ),
        act_rates={
            profession: _timeline(f"acts.{profession}", raw, _act_rate)
            for profession, raw in rates["acts"].items()
        },
        pathway_min_age=_timeline("pathway_min_age", rates["pathway_min_age"], lambda v, n: int(v)),
        lpp_rate=_timeline("lpp", rates["lpp"], _rate),
        exempt_rate=_timeline("exempt", rates["exempt"], _rate),
        prevention_rate=_timeline("prevention", rates["prevention"], _rate),
        alsace_moselle=_timeline("alsace_moselle", rates["alsace_moselle"], _alsace),
        line_kinds={
            k: _names(v, f"line_kinds.{k}") for k, v in rates["line_kinds"].items() if k != "about"
        },
        ngap_keys={
            k: _names(v, f"ngap_keys.{k}") for k, v in rates["ngap_keys"].items() if k != "about"
        },
        prescription_kinds=_names(presc["kinds"], "prescription.kinds"),
        prescription_professions=_names(presc["professions"], "prescription.professions"),
        ngap_key_values={
            k: _timeline(f"ngap_key_values.{k}", v, _money)
            for k, v in rates.get("ngap_key_values", {}).items() if k != "about"
        },
        majorations=build_majorations(majorations),
    )


def load_billing_config(directory: Path | str | None = None) -> BillingConfig:
    """Read ``charges.json`` and ``rates.json`` from ``directory`` (default: the packaged ones)."""
    if directory is None:
        return default_billing_config()
    return _load(Path(directory))


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise BillingConfigError(f"cannot read billing configuration {path}: {exc}") from exc


def _load(directory: Path) -> BillingConfig:
    """The files of ``directory``; ``majorations.json`` is the packaged one when absent."""
    charges = _read_json(directory / "charges.json")
    rates = _read_json(directory / "rates.json")
    own = directory / "majorations.json"
    majorations = _read_json(own if own.exists() else DATA_DIR / "majorations.json")
    try:
        return build_billing_config(charges, rates, majorations)
    except (KeyError, TypeError) as exc:
        raise BillingConfigError(f"missing or malformed setting: {exc}") from exc


@cache
def default_billing_config() -> BillingConfig:
    """The packaged configuration, read once per process."""
    return _load(DATA_DIR)
