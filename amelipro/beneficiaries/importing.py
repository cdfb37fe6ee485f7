"""Importing the caisse's file: a CSV of periods, or people given as values. Commits.

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
from pathlib import Path
from typing import IO

from sqlalchemy import select
from sqlalchemy.orm import Session
from stdnum import luhn

from amelipro import audit, clock
from amelipro.beneficiaries import errors
from amelipro.beneficiaries.domain import Cover, CoverPeriod, EhpadStay, PatientRights, Period
from amelipro.beneficiaries.models import Beneficiary
from amelipro.beneficiaries.models import CoverPeriod as CoverRow
from amelipro.beneficiaries.models import EhpadStay as EhpadRow
from amelipro.beneficiaries.models import RightsPeriod as RightsRow
from amelipro.beneficiaries.parsing import normalize_nir, parse_date
from amelipro.beneficiaries.patient_file import IN_CHUNK, with_periods
from amelipro.errors import AmeliproError

CSV_COLUMNS = (
    "nir", "rang", "date_naissance", "nom", "prenom", "regime", "caisse", "centre",
    "alsace_moselle", "type", "debut", "fin", "detail", "finess",
)
REQUIRED_COLUMNS = ("nir", "rang", "date_naissance", "type", "debut")
PERIOD_TYPES = ("droits", *(c.value for c in Cover), "ehpad")


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
    for start in range(0, len(nirs), IN_CHUNK):
        chunk = nirs[start:start + IN_CHUNK]
        for row in session.scalars(select(Beneficiary).where(Beneficiary.nir.in_(chunk)).options(*with_periods())):
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
        row.updated_at = clock.utcnow()
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


def _delimiter(first_line: str) -> str:
    return ";" if first_line.count(";") >= first_line.count(",") else ","


def _header(text: str) -> list[str]:
    first = text.splitlines()[0] if text.strip() else ""
    return [h.strip().lower() for h in next(csv.reader([first], delimiter=_delimiter(first)), [])]


def _decode(data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace")


def _bool(raw: str) -> bool:
    return raw.strip().lower() in {"1", "oui", "o", "true", "vrai", "x"}


def parse_csv(data: bytes) -> tuple[list[PatientRights], list[ImportProblem], int]:
    """Pure: the people of the file, the rows skipped (with why), and the number of rows."""
    text = _decode(data)
    if not text.strip():
        raise AmeliproError(errors.CSV_UNREADABLE, "fichier vide")
    reader = csv.DictReader(io.StringIO(text, newline=""), delimiter=_delimiter(text.splitlines()[0]))
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
        birth = parse_date(row.get("date_naissance", ""))
    except ValueError as exc:
        raise ValueError(f"date de naissance invalide « {row.get('date_naissance')} »") from exc
    kind = row.get("type", "").lower()
    if kind not in PERIOD_TYPES:
        raise ValueError(f"type de période inconnu « {kind} » (attendu : {', '.join(PERIOD_TYPES)})")
    try:
        start = parse_date(row.get("debut", ""))
        end = parse_date(row["fin"]) if row.get("fin") else None
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

