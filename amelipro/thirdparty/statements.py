"""Bank statements: ISO 20022 camt.053 (XML) and a simple CSV, read into frozen values.

camt.053 is untrusted XML: it is parsed only through ``amelipro.xmlcore.safe`` (no DTD, no
entities, no network, size and depth limits); this module reads the resulting tree. The
layout followed is camt.053.001.02 (the version French banks send); later versions
(.001.04 to .001.08) differ only in where the transaction amount and status sit, and are
read as well.

CSV: a header line, ``;`` ``,`` or tab separated, UTF-8 or Windows-1252, columns
``date;date_valeur;libelle;reference;montant`` (French names, accents optional), or
``credit``/``debit`` columns instead of ``montant``; amounts like ``1 234,56`` or ``-12.50``.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation

from amelipro.errors import AmeliproError
from amelipro.thirdparty import errors

CAMT053_PREFIX = "urn:iso:std:iso:20022:tech:xsd:camt.053."
CAMT053_NS = CAMT053_PREFIX + "001.02"
MAX_LINES = 100_000


@dataclass(frozen=True)
class StatementLine:
    position: int  # 1-based: entry number (camt) or line number in the file (CSV)
    booking_date: date
    value_date: date
    amount: Decimal  # credit > 0, debit < 0
    currency: str = "EUR"
    reference: str = ""  # EndToEndId / creditor reference / "reference" column
    label: str = ""  # unstructured remittance information / "libelle" column
    counterparty: str = ""
    bank_reference: str = ""  # AcctSvcrRef

    @property
    def is_credit(self) -> bool:
        return self.amount > 0

    @property
    def search_text(self) -> str:
        return f"{self.reference} {self.label}"


@dataclass(frozen=True)
class BankStatement:
    format: str  # "camt.053" | "csv"
    statement_id: str
    iban: str
    sha256: str
    lines: tuple[StatementLine, ...]
    skipped: tuple[str, ...] = field(default=())  # what was left aside and why (French)

    @property
    def period_start(self) -> date:
        return min(line.value_date for line in self.lines)

    @property
    def period_end(self) -> date:
        return max(line.value_date for line in self.lines)


class StatementError(AmeliproError):
    """A statement that cannot be read; ``problems`` lists every bad line at once."""

    def __init__(self, error, detail: str = "", problems: list[dict] | None = None) -> None:
        extra = {"problems": problems} if problems else {}
        super().__init__(error, detail, **extra)
        self.problems = problems or []


def read_statement(data: bytes, filename: str = "") -> BankStatement:
    """Detect the format (XML or CSV) and read the statement."""
    if not data or not data.strip():
        raise StatementError(errors.STATEMENT_EMPTY)
    head = data.lstrip(b"\xef\xbb\xbf \t\r\n")[:1]
    if head == b"<":
        return read_camt053(data)
    if b"\x00" in data[:4096]:  # a binary file (PDF, spreadsheet...): not a text statement
        raise StatementError(errors.STATEMENT_UNREADABLE, filename[:100])
    return read_csv(data)


# --- camt.053 ---------------------------------------------------------------------------


def _safe_parse(data: bytes):
    """The project's parser for untrusted XML; its refusals are re-raised as they are."""
    from amelipro.xmlcore.safe import parse_untrusted

    return parse_untrusted(data)


def read_camt053(data: bytes) -> BankStatement:
    root = _safe_parse(data)
    return camt053_from_tree(root, hashlib.sha256(data).hexdigest())


def _local(tag) -> str:
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


class _Reader:
    """Namespace-bound helpers over an lxml element."""

    def __init__(self, ns: str) -> None:
        self.ns = ns

    def path(self, *names: str) -> str:
        return "/".join(f"{{{self.ns}}}{n}" for n in names)

    def find(self, el, *names: str):
        return el.find(self.path(*names)) if el is not None else None

    def text(self, el, *names: str) -> str:
        found = self.find(el, *names)
        return (found.text or "").strip() if found is not None else ""

    def findall(self, el, *names: str) -> list:
        return el.findall(self.path(*names)) if el is not None else []


def camt053_from_tree(root, sha256: str = "") -> BankStatement:
    """Read a parsed camt.053 document (the tree comes from the safe parser)."""
    ns = root.tag[1:].split("}", 1)[0] if str(root.tag).startswith("{") else ""
    if _local(root.tag) != "Document" or not ns.startswith(CAMT053_PREFIX):
        raise StatementError(errors.STATEMENT_FORMAT, f"racine {_local(root.tag)!r}, espace {ns!r}")
    r = _Reader(ns)
    statements = r.findall(root, "BkToCstmrStmt", "Stmt")
    if not statements:
        raise StatementError(errors.STATEMENT_EMPTY, "aucun élément Stmt")
    lines: list[StatementLine] = []
    problems: list[dict] = []
    skipped: list[str] = []
    stmt_ids, ibans = [], []
    position = 0
    for stmt in statements:
        stmt_ids.append(r.text(stmt, "Id"))
        ibans.append(r.text(stmt, "Acct", "Id", "IBAN"))
        for entry in r.findall(stmt, "Ntry"):
            position += 1
            where = f"Stmt[{len(stmt_ids)}]/Ntry[{position}]"
            line_no = entry.sourceline
            try:
                status = r.text(entry, "Sts") or r.text(entry, "Sts", "Cd")
                if status and status != "BOOK":
                    skipped.append(f"Opération {position} non comptabilisée (statut {status}).")
                    continue
                lines.extend(_camt_entry_lines(r, entry, position))
            except (ValueError, InvalidOperation) as exc:
                problems.append({"path": where, "line": line_no, "reason": str(exc)})
    if problems:
        raise StatementError(errors.STATEMENT_LINE, f"{len(problems)} opération(s) illisible(s)", problems)
    if not lines:
        raise StatementError(errors.STATEMENT_EMPTY)
    return BankStatement(
        format="camt.053",
        statement_id=",".join(filter(None, stmt_ids)),
        iban=next((i for i in ibans if i), ""),
        sha256=sha256,
        lines=tuple(lines),
        skipped=tuple(skipped),
    )


def _camt_date(r: _Reader, el, name: str) -> date | None:
    text = r.text(el, name, "Dt")
    if text:
        return date.fromisoformat(text[:10])
    text = r.text(el, name, "DtTm")
    if text:
        return datetime.fromisoformat(text.replace("Z", "+00:00")).date()
    return None


def _camt_amount(r: _Reader, amt_el, sign_text: str) -> tuple[Decimal, str]:
    if amt_el is None or not (amt_el.text or "").strip():
        raise ValueError("montant absent (Amt)")
    amount = Decimal(amt_el.text.strip())
    if amount < 0:
        raise ValueError("montant négatif : le sens est donné par CdtDbtInd")
    if sign_text not in ("CRDT", "DBIT"):
        raise ValueError(f"CdtDbtInd invalide : {sign_text!r}")
    return (amount if sign_text == "CRDT" else -amount), amt_el.get("Ccy", "EUR")


def _camt_entry_lines(r: _Reader, entry, position: int) -> list[StatementLine]:
    sign = r.text(entry, "CdtDbtInd")
    amount, currency = _camt_amount(r, r.find(entry, "Amt"), sign)
    booking = _camt_date(r, entry, "BookgDt")
    value = _camt_date(r, entry, "ValDt") or booking
    if value is None:
        raise ValueError("date de valeur absente (ValDt/BookgDt)")
    booking = booking or value
    bank_ref = r.text(entry, "AcctSvcrRef")
    details = r.findall(entry, "NtryDtls", "TxDtls")

    def describe(tx) -> dict:
        e2e = r.text(tx, "Refs", "EndToEndId")
        creditor_ref = r.text(tx, "RmtInf", "Strd", "CdtrRefInf", "Ref")
        refs = [x for x in (e2e, creditor_ref) if x and x.upper() != "NOTPROVIDED"]
        return {
            "reference": " ".join(refs),
            "label": " ".join(u.text.strip() for u in r.findall(tx, "RmtInf", "Ustrd") if u.text),
            "counterparty": r.text(tx, "RltdPties", "Dbtr", "Nm") or r.text(tx, "RltdPties", "Dbtr", "Pty", "Nm"),
        }

    entry_label = r.text(entry, "AddtlNtryInf")
    if len(details) <= 1:
        info = describe(details[0]) if details else {"reference": "", "label": "", "counterparty": ""}
        return [StatementLine(position, booking, value, amount, currency, info["reference"],
                              info["label"] or entry_label, info["counterparty"], bank_ref)]
    # Batch booking: one line per transaction, each with its own amount.
    out = []
    for tx in details:
        amt_el = r.find(tx, "AmtDtls", "TxAmt", "Amt")
        if amt_el is None:
            amt_el = r.find(tx, "Amt")
        tx_sign = r.text(tx, "CdtDbtInd") or sign
        tx_amount, tx_currency = _camt_amount(r, amt_el, tx_sign)
        info = describe(tx)
        out.append(StatementLine(position, booking, value, tx_amount, tx_currency, info["reference"],
                                 info["label"] or entry_label, info["counterparty"],
                                 r.text(tx, "Refs", "AcctSvcrRef") or bank_ref))
    return out


# --- CSV --------------------------------------------------------------------------------

_ALIASES = {
    "date": "booking_date", "date_operation": "booking_date", "date_comptable": "booking_date",
    "booking_date": "booking_date",
    "date_valeur": "value_date", "valeur": "value_date", "value_date": "value_date",
    "libelle": "label", "label": "label", "libelle_operation": "label",
    "reference": "reference", "ref": "reference",
    "montant": "amount", "amount": "amount", "montant_eur": "amount",
    "credit": "credit", "debit": "debit",
    "devise": "currency", "currency": "currency",
    "tiers": "counterparty", "emetteur": "counterparty",
}


def _normalise_header(name: str) -> str:
    plain = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().strip().lower()
    plain = re.sub(r"[^a-z0-9]+", "_", plain).strip("_")
    return _ALIASES.get(plain, plain)


def parse_amount(text: str) -> Decimal:
    """'1 234,56' / '1234.56' / '-12,00' / '+5' -> Decimal (never float)."""
    raw = text.strip().replace("\u00a0", "").replace("\u202f", "").replace(" ", "").replace("€", "")
    if not raw:
        raise ValueError("montant vide")
    if "," in raw and "." in raw:  # 1.234,56 (French thousands) or 1,234.56
        raw = raw.replace(".", "").replace(",", ".") if raw.rfind(",") > raw.rfind(".") else raw.replace(",", "")
    else:
        raw = raw.replace(",", ".")
    # ASCII digits only, at most 10 before the decimal point (the amounts' columns hold 12).
    if not re.fullmatch(r"[+-]?[0-9]{1,10}(\.[0-9]{1,2})?", raw):
        raise ValueError(f"montant invalide : {text.strip()!r}")
    return Decimal(raw).quantize(Decimal("0.01"))


def parse_date(text: str) -> date:
    raw = text.strip()
    for fmt in ("%Y-%m-%d", "%d/%m/%Y", "%d/%m/%y", "%d.%m.%Y"):
        try:
            return datetime.strptime(raw, fmt).date()
        except ValueError:
            continue
    raise ValueError(f"date invalide : {raw!r}")


def read_csv(data: bytes) -> BankStatement:
    """A bank's CSV export; a file the csv reader cannot read at all (a field over its
    128 KiB limit, a NUL byte...) is TP-REL-002, never a crash."""
    try:
        return _read_csv(data)
    except csv.Error:
        raise StatementError(errors.STATEMENT_FORMAT,
                             "CSV illisible : champ trop long, octet nul ou guillemets non refermés") from None


def _read_csv(data: bytes) -> BankStatement:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = data.decode("cp1252", errors="replace")
    # Line endings as Windows (CRLF), Unix (LF) or old Mac (CR alone) exports write them.
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    sample = text[:4096]
    delimiter = max((";", ",", "\t"), key=sample.split("\n", 1)[0].count)
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    try:
        header = next(reader)
    except StopIteration:
        raise StatementError(errors.STATEMENT_EMPTY) from None
    columns = [_normalise_header(h) for h in header]
    has_amount = "amount" in columns or ("credit" in columns or "debit" in columns)
    if "booking_date" not in columns and "value_date" not in columns or not has_amount:
        raise StatementError(
            errors.STATEMENT_FORMAT, f"en-tête lu : {delimiter.join(header)[:200]!r}"
        )
    lines: list[StatementLine] = []
    problems: list[dict] = []
    for row_no, row in enumerate(reader, start=2):
        if not any(cell.strip() for cell in row):
            continue
        if len(lines) >= MAX_LINES:
            raise StatementError(errors.STATEMENT_FORMAT, f"plus de {MAX_LINES} lignes")
        values = dict(zip(columns, row, strict=False))
        try:
            booking_text = values.get("booking_date") or values.get("value_date") or ""
            booking = parse_date(booking_text)
            value = parse_date(values["value_date"]) if values.get("value_date", "").strip() else booking
            if values.get("amount", "").strip():
                amount = parse_amount(values["amount"])
            else:
                credit = values.get("credit", "").strip()
                debit = values.get("debit", "").strip()
                if not credit and not debit:
                    raise ValueError("montant absent")
                amount = parse_amount(credit) if credit else -abs(parse_amount(debit))
        except ValueError as exc:
            problems.append({"line": row_no, "reason": str(exc)})
            continue
        lines.append(StatementLine(
            position=row_no, booking_date=booking, value_date=value, amount=amount,
            currency=(values.get("currency") or "EUR").strip() or "EUR",
            reference=(values.get("reference") or "").strip(),
            label=(values.get("label") or "").strip(),
            counterparty=(values.get("counterparty") or "").strip(),
        ))
    if problems:
        raise StatementError(errors.STATEMENT_LINE, f"{len(problems)} ligne(s) invalide(s)", problems)
    if not lines:
        raise StatementError(errors.STATEMENT_EMPTY)
    return BankStatement(format="csv", statement_id="", iban="", sha256=hashlib.sha256(data).hexdigest(),
                         lines=tuple(lines))
