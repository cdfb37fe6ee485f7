"""Use cases of the beneficiaries file: rights at a date, CSV import, demo set.

Only ``import_beneficiaries`` (and the imports built on it) commits. Reads return frozen
:class:`PatientRights` values that the FSE rules and pricing question at the date of care.

CSV layout (one row per period; identity columns repeated; ``;`` or ``,`` separated,
UTF-8 or Windows-1252)::

    nir;rang;date_naissance;nom;prenom;regime;caisse;centre;alsace_moselle;type;debut;fin;detail;finess

``type`` is ``droits`` (rights open), ``ald``, ``maternite``, ``atmp``, ``c2s``, ``ame`` or
``ehpad`` (``detail`` = the EHPAD's name, ``finess`` its FINESS); ``fin`` empty = open-ended;
dates as ``AAAA-MM-JJ`` or ``JJ/MM/AAAA``. Importing a person replaces all their periods, so
importing the same file twice gives the same file.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import IO

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload
from stdnum import luhn
from stdnum.exceptions import ValidationError
from stdnum.fr import nir as stdnum_nir

from amelipro import audit
from amelipro.beneficiaries import errors
from amelipro.beneficiaries.domain import (
    Cover,
    CoverPeriod,
    EhpadStay,
    PatientRights,
    Period,
    RightsAt,
)
from amelipro.beneficiaries.models import Beneficiary
from amelipro.beneficiaries.models import CoverPeriod as CoverRow
from amelipro.beneficiaries.models import EhpadStay as EhpadRow
from amelipro.beneficiaries.models import RightsPeriod as RightsRow
from amelipro.db import utcnow
from amelipro.errors import AmeliproError

CSV_COLUMNS = (
    "nir", "rang", "date_naissance", "nom", "prenom", "regime", "caisse", "centre",
    "alsace_moselle", "type", "debut", "fin", "detail", "finess",
)
REQUIRED_COLUMNS = ("nir", "rang", "date_naissance", "type", "debut")
PERIOD_TYPES = ("droits", *(c.value for c in Cover), "ehpad")
_IN_CHUNK = 500


# --- NIR ---------------------------------------------------------------------------------

def normalize_nir(value: str) -> str:
    """The NIR without spaces, upper case (2A/2B), key checked; BEN-001 otherwise."""
    compact = stdnum_nir.compact(value or "").upper()
    try:
        return stdnum_nir.validate(compact)
    except ValidationError as exc:
        raise AmeliproError(errors.NIR_INVALID, f"« {value} »") from exc


def format_nir(value: str) -> str:
    """'282081939881409' -> '2 82 08 19 398 814 09' (display only)."""
    return stdnum_nir.format(value) if len(value) == 15 else value


# --- reading -----------------------------------------------------------------------------

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


def _loaded():
    return (selectinload(Beneficiary.rights_periods), selectinload(Beneficiary.covers),
            selectinload(Beneficiary.ehpad_stays))


def find_rights(session: Session, nir: str, rank: int = 1) -> PatientRights | None:
    """The file's record for (NIR, rank), with every period; None when unknown."""
    row = session.scalar(
        select(Beneficiary).where(Beneficiary.nir == nir, Beneficiary.rank == rank).options(*_loaded())
    )
    return None if row is None else to_rights(row)


def find_rights_many(session: Session, keys: Iterable[tuple[str, int]]) -> dict[tuple[str, int], PatientRights]:
    """Records for many (NIR, rank) pairs in a few queries (a lot of FSE at once)."""
    wanted = set(keys)
    nirs = sorted({nir for nir, _rank in wanted})
    out: dict[tuple[str, int], PatientRights] = {}
    for start in range(0, len(nirs), _IN_CHUNK):
        chunk = nirs[start:start + _IN_CHUNK]
        rows = session.scalars(select(Beneficiary).where(Beneficiary.nir.in_(chunk)).options(*_loaded()))
        for row in rows:
            if (row.nir, row.rank) in wanted:
                out[(row.nir, row.rank)] = to_rights(row)
    return out


@dataclass(frozen=True)
class PersonAt:
    rights: PatientRights
    at: RightsAt


@dataclass(frozen=True)
class RightsAnswer:
    """Everyone under one NIR (ranks), answered at one date."""

    nir: str
    at: date
    people: tuple[PersonAt, ...]


def rights_at(session: Session, nir: str, at: date) -> RightsAnswer:
    """Rights of every beneficiary under ``nir`` on ``at``; BEN-001 / BEN-002 otherwise."""
    nir = normalize_nir(nir)
    rows = session.scalars(
        select(Beneficiary).where(Beneficiary.nir == nir).order_by(Beneficiary.rank).options(*_loaded())
    ).all()
    if not rows:
        raise AmeliproError(errors.UNKNOWN, f"NIR {format_nir(nir)}.", cpam_code="0250 050")
    people = tuple(PersonAt(r, r.at(at)) for r in map(to_rights, rows))
    return RightsAnswer(nir, at, people)


def rights_json(answer: RightsAnswer) -> dict:
    """The API's answer (also what the page shows)."""
    def period(p: Period) -> dict:
        return {"start": p.start.isoformat(), "end": p.end.isoformat() if p.end else None}

    return {
        "nir": answer.nir,
        "at": answer.at.isoformat(),
        "beneficiaries": [
            {
                "rank": person.rights.rank,
                "last_name": person.rights.last_name,
                "first_name": person.rights.first_name,
                "birth_date": person.rights.birth_date.isoformat(),
                "age": person.at.age,
                "regime": person.rights.regime,
                "caisse": person.rights.caisse,
                "centre": person.rights.centre,
                "alsace_moselle": person.rights.alsace_moselle,
                "rights_open": person.at.open,
                "exemptions": [
                    {"type": c.cover.value, "label": c.cover.label, "detail": c.detail,
                     **period(c.period)}
                    for c in person.at.covers
                ],
                "ehpad": None if person.at.ehpad is None else {
                    "finess": person.at.ehpad.finess, "name": person.at.ehpad.name,
                    **period(person.at.ehpad.period),
                },
                "periods": {
                    "rights": [period(p) for p in person.rights.rights],
                    "exemptions": [{"type": c.cover.value, "detail": c.detail, **period(c.period)}
                                   for c in person.rights.covers],
                    "ehpad": [{"finess": s.finess, "name": s.name, **period(s.period)}
                              for s in person.rights.ehpad_stays],
                },
            }
            for person in answer.people
        ],
    }


# --- writing -----------------------------------------------------------------------------

@dataclass(frozen=True)
class ImportProblem:
    line: int  # 1-based line of the file (the header is line 1)
    reason: str  # French


@dataclass(frozen=True)
class ImportResult:
    created: int
    updated: int
    periods: int
    rows: int = 0
    skipped: tuple[ImportProblem, ...] = field(default_factory=tuple)


IDENTITY_COLUMNS = {
    "nom": "last_name", "prenom": "first_name", "regime": "regime", "caisse": "caisse",
    "centre": "centre", "alsace_moselle": "alsace_moselle",
}


def import_beneficiaries(session: Session, people: Iterable[PatientRights], *,
                         actor: str = "cli", rows: int = 0,
                         skipped: tuple[ImportProblem, ...] = (),
                         identity_fields: Iterable[str] | None = None) -> ImportResult:
    """Create or replace each person (identity and every period), in one transaction.

    ``identity_fields``: the identity attributes to overwrite on people already in the file
    (a CSV without a ``nom`` column must not blank the names); None: all of them.
    """
    fields = set(IDENTITY_COLUMNS.values()) if identity_fields is None else set(identity_fields)
    people = list(people)
    existing: dict[tuple[str, int], Beneficiary] = {}
    nirs = sorted({p.nir for p in people})
    for start in range(0, len(nirs), _IN_CHUNK):
        chunk = nirs[start:start + _IN_CHUNK]
        for row in session.scalars(select(Beneficiary).where(Beneficiary.nir.in_(chunk)).options(*_loaded())):
            existing[(row.nir, row.rank)] = row
    created = updated = periods = 0
    for person in people:
        row = existing.get((person.nir, person.rank))
        if row is None:
            row = Beneficiary(nir=person.nir, rank=person.rank)
            session.add(row)
            existing[(person.nir, person.rank)] = row
            created += 1
            update = set(IDENTITY_COLUMNS.values())
        else:
            updated += 1
            update = fields
        row.birth_date = person.birth_date
        for name in update:
            setattr(row, name, getattr(person, name))
        row.updated_at = utcnow()
        row.rights_periods = [RightsRow(start_date=p.start, end_date=p.end) for p in person.rights]
        row.covers = [CoverRow(cover=c.cover, start_date=c.period.start, end_date=c.period.end,
                               detail=c.detail[:200]) for c in person.covers]
        row.ehpad_stays = [EhpadRow(start_date=s.period.start, end_date=s.period.end,
                                    finess=s.finess, name=s.name[:200]) for s in person.ehpad_stays]
        periods += len(person.rights) + len(person.covers) + len(person.ehpad_stays)
    session.flush()
    audit.record(session, "beneficiaries.imported", actor_login=actor, created=created,
                 updated=updated, periods=periods, skipped=len(skipped))
    session.commit()
    return ImportResult(created, updated, periods, rows, tuple(skipped))


def import_csv(session: Session, source: str | Path | bytes | IO[bytes], *,
               actor: str = "cli") -> ImportResult:
    """Import a CSV file (path, bytes or binary stream); bad rows are skipped and reported."""
    if isinstance(source, (str, Path)):
        try:
            data = Path(source).read_bytes()
        except OSError as exc:
            raise AmeliproError(errors.CSV_UNREADABLE, str(exc)) from exc
    elif isinstance(source, bytes):
        data = source
    else:
        data = source.read()
    people, problems, rows = parse_csv(data)
    header = set(_header(_decode(data)))
    fields = [attr for column, attr in IDENTITY_COLUMNS.items() if column in header]
    return import_beneficiaries(session, people, actor=actor, rows=rows, skipped=tuple(problems),
                                identity_fields=fields)


def _header(text: str) -> list[str]:
    first = text.splitlines()[0] if text.strip() else ""
    delimiter = ";" if first.count(";") >= first.count(",") else ","
    return [h.strip().lower() for h in next(csv.reader([first], delimiter=delimiter), [])]


def _decode(data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace")


def _parse_date(raw: str) -> date:
    raw = raw.strip()
    if "/" in raw:
        return datetime.strptime(raw, "%d/%m/%Y").date()
    return date.fromisoformat(raw)


def _bool(raw: str) -> bool:
    return raw.strip().lower() in {"1", "oui", "o", "true", "vrai", "x"}


def parse_csv(data: bytes) -> tuple[list[PatientRights], list[ImportProblem], int]:
    """Pure: the people of the file, the rows skipped (with why), and the number of rows."""
    text = _decode(data)
    if not text.strip():
        raise AmeliproError(errors.CSV_UNREADABLE, "fichier vide")
    first = text.splitlines()[0]
    delimiter = ";" if first.count(";") >= first.count(",") else ","
    reader = csv.DictReader(io.StringIO(text, newline=""), delimiter=delimiter)
    header = [h.strip().lower() for h in (reader.fieldnames or [])]
    missing = [c for c in REQUIRED_COLUMNS if c not in header]
    if missing:
        raise AmeliproError(errors.CSV_HEADER, "colonnes manquantes : " + ", ".join(missing))
    reader.fieldnames = header
    people: dict[tuple[str, int], dict] = {}
    problems: list[ImportProblem] = []
    rows = 0
    for number, raw in enumerate(reader, start=2):
        rows += 1
        row = {k: (v or "").strip() for k, v in raw.items() if k is not None}
        try:
            _add_row(people, row)
        except (ValueError, AmeliproError) as exc:
            reason = exc.detail if isinstance(exc, AmeliproError) else str(exc)
            if isinstance(exc, AmeliproError):
                reason = f"{exc.error.message} {exc.detail}".strip()
            problems.append(ImportProblem(number, reason))
    return [_person(key, value) for key, value in people.items()], problems, rows


def _add_row(people: dict[tuple[str, int], dict], row: dict[str, str]) -> None:
    nir = normalize_nir(row.get("nir", ""))
    try:
        rank = int(row.get("rang") or "1")
    except ValueError as exc:
        raise ValueError(f"rang invalide « {row.get('rang')} »") from exc
    if not 1 <= rank <= 99:
        raise ValueError(f"rang invalide « {rank} »")
    try:
        birth = _parse_date(row.get("date_naissance", ""))
    except ValueError as exc:
        raise ValueError(f"date de naissance invalide « {row.get('date_naissance')} »") from exc
    kind = row.get("type", "").lower()
    if kind not in PERIOD_TYPES:
        raise ValueError(f"type de période inconnu « {kind} » (attendu : {', '.join(PERIOD_TYPES)})")
    try:
        start = _parse_date(row.get("debut", ""))
        end = _parse_date(row["fin"]) if row.get("fin") else None
    except ValueError as exc:
        raise ValueError(f"date de période invalide « {row.get('debut')} » / « {row.get('fin')} »") from exc
    if end is not None and end < start:
        raise ValueError(f"période du {start.isoformat()} au {end.isoformat()} : la fin précède le début")
    finess = row.get("finess", "")
    if kind == "ehpad" and finess and not (len(finess) == 9 and luhn.is_valid(finess.replace("2A", "20").replace("2B", "20"))):
        raise ValueError(f"FINESS invalide « {finess} »")
    identity = {
        "birth_date": birth, "last_name": row.get("nom", ""), "first_name": row.get("prenom", ""),
        "regime": row.get("regime") or "01", "caisse": row.get("caisse", ""),
        "centre": row.get("centre", ""), "alsace_moselle": _bool(row.get("alsace_moselle", "")),
    }
    entry = people.get((nir, rank))
    if entry is None:
        entry = people[(nir, rank)] = {"identity": identity, "rights": [], "covers": [], "ehpad": []}
    elif entry["identity"]["birth_date"] != birth:
        raise ValueError(f"date de naissance différente pour le NIR {nir} rang {rank}")
    period = Period(start, end)
    if kind == "droits":
        entry["rights"].append(period)
    elif kind == "ehpad":
        entry["ehpad"].append(EhpadStay(period, finess, row.get("detail", "")))
    else:
        entry["covers"].append(CoverPeriod(Cover(kind), period, row.get("detail", "")))


def _person(key: tuple[str, int], entry: dict) -> PatientRights:
    nir, rank = key
    return PatientRights(nir=nir, rank=rank, **entry["identity"], rights=tuple(entry["rights"]),
                         covers=tuple(entry["covers"]), ehpad_stays=tuple(entry["ehpad"]))


def to_csv(people: Iterable[PatientRights]) -> str:
    """The CSV form of some people (the demo file, exports); ``parse_csv`` reads it back."""
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\n")
    writer.writerow(CSV_COLUMNS)

    def write(person: PatientRights, kind: str, period: Period, detail: str = "", finess: str = ""):
        writer.writerow([
            person.nir, person.rank, person.birth_date.isoformat(), person.last_name,
            person.first_name, person.regime, person.caisse, person.centre,
            "oui" if person.alsace_moselle else "non", kind, period.start.isoformat(),
            period.end.isoformat() if period.end else "", detail, finess,
        ])

    for person in people:
        for p in person.rights:
            write(person, "droits", p)
        for c in person.covers:
            write(person, c.cover.value, c.period, c.detail)
        for s in person.ehpad_stays:
            write(person, "ehpad", s.period, s.name, s.finess)
    return out.getvalue()


# --- demo set ----------------------------------------------------------------------------

def _nir(body: str) -> str:
    return body + stdnum_nir.calc_check_digits(body)


def _finess(body: str) -> str:
    return body + luhn.calc_check_digit(body)


DEMO_EHPAD_FINESS = _finess("75000001")
DEMO_EHPAD_NAME = "EHPAD Les Tilleuls (démonstration)"


def demo_beneficiaries(today: date) -> tuple[PatientRights, ...]:
    """A varied demo file with valid NIR keys; periods placed around ``today``."""
    since = date(2020, 1, 1)
    open_ = (Period(since),)

    def person(body: str, birth: date, last: str, first: str, *, rank: int = 1,
               caisse: str = "751", rights: tuple[Period, ...] = open_, covers=(), ehpad=(),
               alsace: bool = False) -> PatientRights:
        return PatientRights(nir=_nir(body), rank=rank, birth_date=birth, last_name=last,
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


# --- the file as the liquidation reads it ----------------------------------------------------

class SqlPatientFile:
    """The caisse's file for ``amelipro.thirdparty`` liquidation: ``patient(nir, rank, at)``.

    Answers are cached per (NIR, rank); call :meth:`prefetch` with a batch's keys to load them
    in a few queries instead of one per FSE. ``loaded`` is False when the file is empty (then
    the liquidation skips identity checks, as without a file).
    """

    def __init__(self, session: Session) -> None:
        self.session = session
        self.loaded = session.scalar(select(Beneficiary.id).limit(1)) is not None
        self._cache: dict[tuple[str, int], PatientRights | None] = {}

    def prefetch(self, keys: Iterable[tuple[str, int]]) -> None:
        missing = {k for k in keys if k not in self._cache}
        if not missing:
            return
        found = find_rights_many(self.session, missing)
        for key in missing:
            self._cache[key] = found.get(key)

    def rights(self, nir: str, rank: int) -> PatientRights | None:
        key = (nir, rank)
        if key not in self._cache:
            self._cache[key] = find_rights(self.session, nir, rank)
        return self._cache[key]

    def patient(self, nir: str, rank: int, at: date):
        from amelipro.thirdparty.decision import PatientOnFile

        person = self.rights(nir, rank)
        if person is None:
            return None
        return PatientOnFile(
            rights_open=person.is_open(at),
            covers=frozenset(c.cover.value for c in person.covers_at(at)),
            alsace_moselle=person.alsace_moselle,
        )


def patient_file_for_liquidation(session: Session) -> SqlPatientFile:
    return SqlPatientFile(session)
