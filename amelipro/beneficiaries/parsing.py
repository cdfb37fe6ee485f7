"""Values typed by professionals or read from a beneficiaries file: NIR, dates, rank.

Each parser answers the value or raises the package's stable error (BEN-001, BEN-005,
BEN-007); the CSV import and the rights lookups share them.
"""

from __future__ import annotations

from datetime import date, datetime

from stdnum.exceptions import ValidationError
from stdnum.fr import nir as stdnum_nir

from amelipro.beneficiaries import errors
from amelipro.errors import AmeliproError


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


def parse_date(raw: str) -> date:
    """``AAAA-MM-JJ`` or ``JJ/MM/AAAA``; ValueError otherwise."""
    raw = raw.strip()
    if "/" in raw:
        return datetime.strptime(raw, "%d/%m/%Y").date()
    return date.fromisoformat(raw)


def parse_birth_date(value: date | str | None) -> date:
    """A ``date``, or ``AAAA-MM-JJ`` / ``JJ/MM/AAAA``; BEN-005 otherwise."""
    if isinstance(value, date):
        return value
    raw = (value or "").strip()
    try:
        if not raw:
            raise ValueError("empty")
        return parse_date(raw)
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
