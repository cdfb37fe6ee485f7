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

from sqlalchemy import func, select
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
)
from amelipro.beneficiaries.models import Beneficiary
from amelipro.beneficiaries.models import CoverPeriod as CoverRow
from amelipro.beneficiaries.models import EhpadStay as EhpadRow
from amelipro.beneficiaries.models import RightsPeriod as RightsRow
from amelipro.clock import paris_today
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


# --- rights lookups by professionals (page, API, online billing) ----------------------------

LOOKUP_ACTION = "beneficiaries.lookup"
LOOKUP_THROTTLED_ACTION = "beneficiaries.lookup_throttled"


@dataclass(frozen=True)
class LookupPolicy:
    """At most ``limit`` rights lookups per professional in any ``window`` (settings
    ``RIGHTS_LOOKUP_LIMIT`` and ``RIGHTS_LOOKUP_WINDOW_MINUTES``); a recorded lookup can be
    shown again (Post/Redirect/Get) for ``show_again`` after it was made."""

    limit: int = 100
    window: timedelta = timedelta(minutes=60)
    show_again: timedelta = timedelta(minutes=30)

    @classmethod
    def from_config(cls, config) -> LookupPolicy:
        return cls(limit=int(config.get("RIGHTS_LOOKUP_LIMIT", 100)),
                   window=timedelta(minutes=int(config.get("RIGHTS_LOOKUP_WINDOW_MINUTES", 60))))


@dataclass(frozen=True)
class BillingRights:
    """What billing needs of one beneficiary at the date of care, and nothing more: no name,
    no medical detail of an exemption, no period history, no EHPAD name."""

    rank: int
    age: int
    regime: str
    caisse: str
    centre: str
    alsace_moselle: bool
    rights_open: bool
    exemptions: tuple[CoverPeriod, ...]
    ehpad_resident: bool


@dataclass(frozen=True)
class RightsLookup:
    """The answer to one recorded lookup (``lookup_id``: its audit event)."""

    lookup_id: int
    nir: str
    at: date
    beneficiaries: tuple[BillingRights, ...]


class UnknownPatientError(AmeliproError):
    """BEN-002 for a recorded lookup: unknown NIR, or a birth date or rank that does not
    match (the same answer for all three). ``lookup_id``: the lookup's audit event."""

    def __init__(self, lookup_id: int) -> None:
        super().__init__(errors.UNKNOWN, cpam_code="0250 050")
        self.lookup_id = lookup_id


def parse_birth_date(value: date | str | None) -> date:
    """A ``date``, or ``AAAA-MM-JJ`` / ``JJ/MM/AAAA``; BEN-005 otherwise."""
    if isinstance(value, date):
        return value
    raw = (value or "").strip()
    try:
        if not raw:
            raise ValueError("empty")
        return _parse_date(raw)
    except ValueError as exc:
        raise AmeliproError(errors.BIRTH_DATE_INVALID, f"« {raw[:20]} »" if raw else "") from exc


def parse_rank(value: int | str | None) -> int | None:
    """1..99, or None when not given; BEN-007 otherwise."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, bool) or not (isinstance(value, int) or (isinstance(value, str)
                                                                   and value.strip().isascii()
                                                                   and value.strip().isdigit())):
        raise AmeliproError(errors.RANK_INVALID, f"« {str(value)[:20]} »")
    rank = int(value)
    if not 1 <= rank <= 99:
        raise AmeliproError(errors.RANK_INVALID, f"« {rank} »")
    return rank


def _billing_rights(person: PatientRights, at: date) -> BillingRights:
    state = person.at(at)
    return BillingRights(
        rank=person.rank, age=state.age, regime=person.regime, caisse=person.caisse,
        centre=person.centre, alsace_moselle=person.alsace_moselle, rights_open=state.open,
        exemptions=tuple(state.covers), ehpad_resident=state.ehpad is not None,
    )


def _lookups_since(session: Session, professional_id: int, since: datetime) -> int:
    return session.scalar(
        select(func.count(audit.AuditEvent.id)).where(
            audit.AuditEvent.actor_id == professional_id, audit.AuditEvent.action == LOOKUP_ACTION,
            audit.AuditEvent.at >= since)
    ) or 0


def lookup_rights(
    session: Session,
    professional,
    nir: str,
    birth_date: date | str | None,
    rank: int | str | None = None,
    at: date | None = None,
    *,
    policy: LookupPolicy | None = None,
) -> RightsLookup:
    """A professional reads a patient's rights for billing, as from the carte Vitale.

    Requires the NIR and the birth date (and the rank when known): a birth date or a rank
    that does not match answers exactly like an unknown NIR (BEN-002), so the file cannot
    be used to find out who is insured or when they were born. Every lookup is recorded in
    the audit log (who: ``professional``, whom: NIR and rank, when, at which date of care,
    found or not) and commits; a professional past ``policy.limit`` lookups in
    ``policy.window`` gets BEN-006 (429) and nothing is read. Errors: BEN-001 (NIR),
    BEN-005 (birth date), BEN-007 (rank), BEN-002 (unknown or mismatch), BEN-006.
    """
    policy = policy or LookupPolicy()
    at = at or paris_today()
    if _lookups_since(session, professional.id, utcnow() - policy.window) >= policy.limit:
        audit.record(session, LOOKUP_THROTTLED_ACTION, actor_id=professional.id,
                     actor_login=professional.login)
        session.commit()
        raise AmeliproError(errors.LOOKUPS_THROTTLED,
                            f"au plus {policy.limit} consultations en {_minutes(policy.window)}")
    nir = normalize_nir(nir)
    birth = parse_birth_date(birth_date)
    wanted_rank = parse_rank(rank)
    stmt = select(Beneficiary).where(Beneficiary.nir == nir, Beneficiary.birth_date == birth)
    if wanted_rank is not None:
        stmt = stmt.where(Beneficiary.rank == wanted_rank)
    people = [to_rights(r) for r in session.scalars(stmt.order_by(Beneficiary.rank).options(*_loaded()))]
    event = audit.record(session, LOOKUP_ACTION, actor_id=professional.id, actor_login=professional.login,
                         nir=nir, rank=wanted_rank, at=at.isoformat(), found=[p.rank for p in people])
    session.commit()
    if not people:
        raise UnknownPatientError(event.id)
    return RightsLookup(event.id, nir, at, tuple(_billing_rights(p, at) for p in people))


def _minutes(window: timedelta) -> str:
    minutes = int(window.total_seconds() // 60)
    return f"{minutes} minute(s)"


def recorded_lookup(session: Session, professional, lookup_id: int, *,
                    policy: LookupPolicy | None = None) -> RightsLookup:
    """A lookup the professional made a moment ago, read again to show it (the page after
    the form's redirect): no new lookup, nothing recorded. Another professional's lookup,
    an old one or an unknown id: BEN-008 (404); a lookup that found nobody: BEN-002."""
    policy = policy or LookupPolicy()
    event = session.get(audit.AuditEvent, lookup_id) if 0 < lookup_id < 2**31 else None
    if (event is None or event.action != LOOKUP_ACTION or event.actor_id != professional.id
            or event.at < utcnow() - policy.show_again):
        raise AmeliproError(errors.LOOKUP_NOT_FOUND)
    detail = event.detail_dict
    ranks = detail.get("found") or []
    if not ranks:
        raise AmeliproError(errors.UNKNOWN, cpam_code="0250 050")
    at = date.fromisoformat(detail["at"])
    rows = session.scalars(select(Beneficiary).where(Beneficiary.nir == detail["nir"],
                                                     Beneficiary.rank.in_(ranks))
                           .order_by(Beneficiary.rank).options(*_loaded()))
    people = tuple(_billing_rights(to_rights(r), at) for r in rows)
    return RightsLookup(event.id, detail["nir"], at, people)


def lookup_json(result: RightsLookup) -> dict:
    """The API's answer to a lookup (what the page shows too)."""
    return {
        "nir": result.nir,
        "at": result.at.isoformat(),
        "beneficiaries": [
            {
                "rank": b.rank,
                "age": b.age,
                "regime": b.regime,
                "caisse": b.caisse,
                "centre": b.centre,
                "alsace_moselle": b.alsace_moselle,
                "rights_open": b.rights_open,
                "exemptions": [
                    {"type": c.cover.value, "label": c.cover.label, "start": c.period.start.isoformat(),
                     "end": c.period.end.isoformat() if c.period.end else None}
                    for c in b.exemptions
                ],
                "ehpad_resident": b.ehpad_resident,
            }
            for b in result.beneficiaries
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
