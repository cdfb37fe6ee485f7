"""Pure helpers to read the raw reference files: encodings, French numbers and dates,
CIP13 check digits, text normalization for search, and a minimal dBase (.dbf) reader.

No database, no Flask: everything here is tested on plain values.
"""

from __future__ import annotations

import hashlib
import re
import struct
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from pathlib import Path


@dataclass(frozen=True)
class Anomaly:
    """A line the importer skipped or accepted with a defect, and why (in French)."""

    file: str
    line: int
    reason: str
    skipped: bool = True

    def as_dict(self) -> dict:
        return {"file": self.file, "line": self.line, "reason": self.reason, "skipped": self.skipped}


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def decode_bytes(raw: bytes) -> tuple[str, str]:
    """Decode a file whose encoding is not announced: UTF-8 when valid, else cp1252.

    The BDPM files come in both (CIS_CIP_bdpm.txt is UTF-8, the others cp1252).
    """
    if raw.startswith(b"\xef\xbb\xbf"):
        return raw[3:].decode("utf-8"), "utf-8-sig"
    try:
        return raw.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        return raw.decode("cp1252", errors="replace"), "cp1252"


def parse_decimal(value: str) -> Decimal | None:
    """'1,16' / '1.16' / '1 234,50' -> Decimal; '' -> None; raises ValueError on garbage."""
    value = (value or "").strip().replace("\u00a0", "").replace(" ", "")
    if not value:
        return None
    if "," in value:
        # '1,16'; '1.234,56' (thousands dot); '1,466,29' (the BDPM writes thousands with a comma
        # too: the last comma is the decimal one)
        whole, _, cents = value.rpartition(",")
        value = whole.replace(".", "").replace(",", "") + "." + cents
    try:
        amount = Decimal(value)
    except InvalidOperation as exc:
        raise ValueError(f"montant illisible : {value!r}") from exc
    if not amount.is_finite():
        raise ValueError(f"montant illisible : {value!r}")
    return amount.quantize(Decimal("0.01"))


_RATE_RE = re.compile(r"^(\d{1,3})\s*%$")


def parse_rate(value: str) -> int | None:
    """'65%' / '65 %' -> 65; '' -> None; raises ValueError otherwise."""
    value = (value or "").strip()
    if not value:
        return None
    match = _RATE_RE.match(value)
    if not match or int(match.group(1)) > 100:
        raise ValueError(f"taux illisible : {value!r}")
    return int(match.group(1))


_DATE_RE = re.compile(r"^(\d{1,2})[/-](\d{1,2})[/-](\d{4})$")
_ISO_RE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")
# Beyond this, a date in a reference file is a typo (e.g. 29/11/2924 in CIS_CIP_bdpm.txt).
MAX_PLAUSIBLE_YEAR = 2100
MIN_PLAUSIBLE_YEAR = 1900


def parse_date(value: str) -> date | None:
    """'JJ/MM/AAAA', 'JJ-MM-AAAA' or 'AAAA-MM-JJ' -> date; '' -> None; ValueError if impossible."""
    value = (value or "").strip()
    if not value:
        return None
    match = _DATE_RE.match(value)
    if match:
        day, month, year = (int(g) for g in match.groups())
    else:
        iso = _ISO_RE.match(value)
        if not iso:
            raise ValueError(f"date illisible : {value!r}")
        year, month, day = (int(g) for g in iso.groups())
    if not MIN_PLAUSIBLE_YEAR <= year <= MAX_PLAUSIBLE_YEAR:
        raise ValueError(f"date impossible : {value!r}")
    try:
        return date(year, month, day)
    except ValueError as exc:
        raise ValueError(f"date impossible : {value!r}") from exc


def ean13_valid(code: str) -> bool:
    """EAN-13 check digit (CIP13 codes are EAN-13 starting with 3400)."""
    if len(code) != 13 or not code.isdigit():
        return False
    total = sum(int(d) * (3 if i % 2 else 1) for i, d in enumerate(code[:12]))
    return (10 - total % 10) % 10 == int(code[12])


# ---- text normalization, shared by indexing and querying (both databases) ----

_TOKEN_RE = re.compile(r"[0-9a-z]+")


def fold(text: str) -> str:
    """Lower case without accents: 'Paracétamol ŒUF µg' -> 'paracetamol oeuf ug'."""
    if text.isascii():
        return text.lower()
    text = text.replace("œ", "oe").replace("Œ", "OE").replace("æ", "ae").replace("Æ", "AE")
    text = text.replace("µ", "u").replace("μ", "u").replace("ß", "ss")
    # NFKD splits letters from their accents (and '²' into '2'); what is not ASCII then goes.
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii").lower()


def tokens(text: str) -> list[str]:
    """Search tokens: folded, split on anything that is not a letter or a digit."""
    return _TOKEN_RE.findall(fold(text))


@lru_cache(maxsize=65536)
def _part_text(part: str) -> str:
    return " ".join(tokens(part))


def search_text(*parts: str) -> str:
    """Indexed text: the tokens of every part (names and holders repeat: cached)."""
    return " ".join(t for t in (_part_text(p) for p in parts if p) if t)


# ---- a minimal dBase III reader/writer (LPP official release: lpp_*_tot*.dbf) ----


@dataclass(frozen=True)
class DbfField:
    name: str
    kind: str  # C, N, D, L, F
    length: int
    decimals: int = 0


def read_dbf(path: Path, encoding: str = "cp850") -> tuple[list[DbfField], Iterator[dict[str, object]]]:
    """Fields and an iterator of records (dict name -> str/Decimal/date/bool/None).

    Deleted records are skipped. Dates that cannot be read are returned as the raw string
    so that the caller can report them.
    """
    data = path.read_bytes()
    if len(data) < 32:
        raise ValueError("fichier dBase tronqué")
    n_records, header_len, record_len = struct.unpack("<IHH", data[4:12])
    fields: list[DbfField] = []
    pos = 32
    while pos < header_len - 1 and data[pos] != 0x0D:
        raw = data[pos : pos + 32]
        name = raw[:11].split(b"\x00", 1)[0].decode("ascii", errors="replace").strip().upper()
        fields.append(DbfField(name, chr(raw[11]), raw[16], raw[17]))
        pos += 32

    def records() -> Iterator[dict[str, object]]:
        offset = header_len
        for _ in range(n_records):
            rec = data[offset : offset + record_len]
            offset += record_len
            if len(rec) < record_len:
                break
            if rec[:1] == b"*":
                continue
            out: dict[str, object] = {}
            cursor = 1
            for f in fields:
                raw_value = rec[cursor : cursor + f.length]
                cursor += f.length
                text = raw_value.decode(encoding, errors="replace").strip()
                out[f.name] = _dbf_value(f, text)
            yield out

    return fields, records()


def _dbf_value(f: DbfField, text: str) -> object:
    if f.kind == "C":
        return text
    if not text:
        return None
    if f.kind in ("N", "F"):
        try:
            return Decimal(text)
        except InvalidOperation:
            return text
    if f.kind == "D":
        try:
            return date(int(text[:4]), int(text[4:6]), int(text[6:8]))
        except ValueError:
            return text
    if f.kind == "L":
        return text.upper() in ("T", "Y", "O")
    return text


def write_dbf(path: Path, fields: list[DbfField], rows: list[dict[str, object]], encoding: str = "cp850") -> None:
    """Write a dBase III file (used to build small test releases in the official layout)."""
    header_len = 32 + 32 * len(fields) + 1
    record_len = 1 + sum(f.length for f in fields)
    today = date.today()
    out = bytearray(struct.pack("<BBBBIHH20x", 0x03, today.year - 1900, today.month, today.day,
                                len(rows), header_len, record_len))
    for f in fields:
        out += struct.pack("<11sc4xBB14x", f.name.encode("ascii"), f.kind.encode("ascii"), f.length, f.decimals)
    out += b"\x0d"
    for row in rows:
        out += b" "
        for f in fields:
            value = row.get(f.name)
            if value is None:
                text = ""
            elif f.kind == "D" and isinstance(value, date):
                text = value.strftime("%Y%m%d")
            elif f.kind == "N" and isinstance(value, Decimal):
                text = f"{value:.{f.decimals}f}"
            else:
                text = str(value)
            encoded = text.encode(encoding)[: f.length]
            out += encoded.rjust(f.length) if f.kind == "N" else encoded.ljust(f.length)
    out += b"\x1a"
    path.write_bytes(bytes(out))
