"""Bank statements (CSV, camt.053) and matching credits to virements."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from amelipro.thirdparty.reconciliation import (
    AnnouncedVirement,
    MatchStatus,
    find_references,
    reconcile,
    virement_reference,
)
from amelipro.thirdparty.statements import (
    StatementError,
    StatementLine,
    parse_amount,
    read_csv,
    read_statement,
)

DATA = Path(__file__).resolve().parents[1] / "data" / "thirdparty"

REF_1 = virement_reference(42, date(2026, 6, 2), 1)
REF_2 = virement_reference(42, date(2026, 6, 3), 1)
REF_6A = virement_reference(42, date(2026, 6, 5), 1)
REF_MISSING = virement_reference(42, date(2026, 6, 4), 1)
REF_LATER = virement_reference(42, date(2026, 6, 9), 1)

VIREMENTS = [
    AnnouncedVirement(1, REF_1, Decimal("150.00"), date(2026, 6, 2)),
    AnnouncedVirement(2, REF_2, Decimal("96.40"), date(2026, 6, 3)),
    AnnouncedVirement(3, REF_6A, Decimal("23.00"), date(2026, 6, 5)),
    AnnouncedVirement(4, REF_MISSING, Decimal("61.00"), date(2026, 6, 4)),
    AnnouncedVirement(5, REF_LATER, Decimal("30.00"), date(2026, 6, 9)),  # after the statement
]


def test_reference_format_and_search():
    assert REF_1 == "AMP20260602000042001" and len(REF_1) == 20
    assert find_references(f"VIR CPAM {REF_1[:8]} {REF_1[8:]}") == [REF_1]
    assert find_references(f"vir {REF_1.lower()}") == [REF_1]
    assert find_references("AMP2026") == []


@pytest.mark.parametrize(
    ("text", "amount"),
    [("1 234,56", "1234.56"), ("1234.56", "1234.56"), ("-12,00", "-12.00"), ("+5", "5.00"),
     ("1.234,50", "1234.50"), ("1,234.50", "1234.50"), ("\u00a0150,00 €", "150.00")],
)
def test_parse_amount(text, amount):
    assert parse_amount(text) == Decimal(amount)


@pytest.mark.parametrize("text", ["", "abc", "12,345", "1e3"])
def test_parse_amount_refuses(text):
    with pytest.raises(ValueError):
        parse_amount(text)


def _line(pos, amount, ref="", label="", day=date(2026, 6, 3)):
    return StatementLine(pos, day, day, Decimal(amount), reference=ref, label=label)


def test_reconcile_all_cases():
    lines = [
        _line(1, "150.00", ref=REF_1),  # matched
        _line(2, "90.00", label=f"VIR {REF_2}"),  # partial: 6.40 missing
        _line(3, "57.30", label="MUTUELLE"),  # unknown
        _line(4, "-120.00", label="LOYER"),  # debit
        _line(5, "150.00", ref=REF_1),  # double posting
        _line(6, "6.40", label=REF_2),  # completes virement 2
        _line(7, "23.00", label="CPAM PARIS SANS REF", day=date(2026, 6, 5)),  # by amount alone
    ]
    result = reconcile(lines, VIREMENTS, period_end=date(2026, 6, 5))
    statuses = [(m.line.position, m.status, m.virement_id, m.difference) for m in result.matches]
    assert statuses == [
        (1, MatchStatus.MATCHED, 1, Decimal("0.00")),
        (2, MatchStatus.PARTIAL, 2, Decimal("-6.40")),
        (3, MatchStatus.UNKNOWN, None, None),
        (4, MatchStatus.IGNORED, None, None),
        (5, MatchStatus.DUPLICATE, 1, Decimal("150.00")),
        (6, MatchStatus.MATCHED, 2, Decimal("0.00")),
        (7, MatchStatus.MATCHED, 3, Decimal("0.00")),
    ]
    assert result.matches[6].method == "montant" and result.matches[0].method == "reference"
    assert [v.id for v in result.missing] == [4]  # virement 5 is after the statement
    assert result.received[2] == Decimal("96.40")
    assert result.count(MatchStatus.UNKNOWN) == 1


def test_amount_only_needs_a_single_candidate():
    twins = [AnnouncedVirement(1, REF_1, Decimal("50.00"), date(2026, 6, 2)),
             AnnouncedVirement(2, REF_2, Decimal("50.00"), date(2026, 6, 3))]
    result = reconcile([_line(1, "50.00")], twins, period_end=date(2026, 6, 5))
    assert result.matches[0].status is MatchStatus.UNKNOWN


def test_previously_received_virement_is_not_missing_and_detects_duplicates():
    done = AnnouncedVirement(1, REF_1, Decimal("150.00"), date(2026, 6, 2), received=Decimal("150.00"))
    result = reconcile([_line(1, "150.00", ref=REF_1)], [done], period_end=date(2026, 6, 5))
    assert result.matches[0].status is MatchStatus.DUPLICATE
    assert result.missing == ()


def test_csv_statement():
    data = (
        "Date;Date valeur;Libellé;Référence;Montant\n"
        f"02/06/2026;02/06/2026;VIR CPAM PARIS;{REF_1};150,00\n"
        "03/06/2026;;PRLV LOYER;;-1 200,00\n"
        "\n"
        f"2026-06-03;2026-06-04;VIR CPAM {REF_2};;96,40\n"
    ).encode("cp1252")
    statement = read_statement(data)
    assert statement.format == "csv" and len(statement.lines) == 3
    assert statement.lines[1].amount == Decimal("-1200.00")
    assert statement.lines[1].value_date == date(2026, 6, 3)
    assert statement.lines[2].value_date == date(2026, 6, 4) and statement.lines[2].position == 5
    result = reconcile(statement.lines, VIREMENTS, period_end=statement.period_end)
    assert [m.status for m in result.matches] == [MatchStatus.MATCHED, MatchStatus.IGNORED,
                                                   MatchStatus.MATCHED]


def test_csv_credit_debit_columns_and_commas():
    data = b"date,libelle,credit,debit\n2026-06-02,VIR,150.00,\n2026-06-02,FRAIS,,3.50\n"
    statement = read_csv(data)
    assert [line.amount for line in statement.lines] == [Decimal("150.00"), Decimal("-3.50")]


def test_csv_reports_every_bad_line_at_once():
    data = b"date;montant\n2026-06-02;12,00\n31/02/2026;5\n2026-06-03;douze\n"
    with pytest.raises(StatementError) as info:
        read_csv(data)
    assert info.value.code == "TP-REL-003"
    assert [p["line"] for p in info.value.problems] == [3, 4]


@pytest.mark.parametrize(
    ("data", "code"),
    [(b"", "TP-REL-004"), (b"nom;prenom\nDupont;Jean\n", "TP-REL-002"), (b"date;montant\n", "TP-REL-004"),
     (b"PK\x03\x04\x00\x00binary spreadsheet", "TP-REL-001")],
)
def test_csv_refusals(data, code):
    with pytest.raises(StatementError) as info:
        read_statement(data)
    assert info.value.code == code


def camt_fixture() -> bytes:
    text = (DATA / "camt053_mixed.xml").read_text(encoding="utf-8")
    for key, value in {
        "{{AMOUNT_1}}": "150.00", "{{REF_1}}": REF_1, "{{AMOUNT_2}}": "90.00",
        "{{REF_2_SPACED}}": f"{REF_2[:11]} {REF_2[11:]}", "{{AMOUNT_6}}": "173.00",
        "{{AMOUNT_6A}}": "23.00", "{{REF_6A}}": REF_6A,
    }.items():
        text = text.replace(key, value)
    return text.encode("utf-8")


def test_camt053_statement_matched_partial_unknown():
    statement = read_statement(camt_fixture())
    assert statement.format == "camt.053"
    assert statement.iban == "FR7630001007941234567890185"
    assert len(statement.lines) == 6  # pending entry skipped, batch split in two
    assert len(statement.skipped) == 1 and "PDNG" in statement.skipped[0]
    first = statement.lines[0]
    assert first.reference == REF_1 and first.counterparty == "CPAM DE PARIS"
    assert first.bank_reference == "BQ-0001" and first.value_date == date(2026, 6, 2)
    assert statement.lines[3].amount == Decimal("-120.00")
    assert statement.lines[3].label == "PRLV LOYER CABINET"
    result = reconcile(statement.lines, VIREMENTS, period_end=statement.period_end)
    assert [(m.status, m.virement_id) for m in result.matches] == [
        (MatchStatus.MATCHED, 1),
        (MatchStatus.PARTIAL, 2),
        (MatchStatus.UNKNOWN, None),
        (MatchStatus.IGNORED, None),
        (MatchStatus.MATCHED, 3),
        (MatchStatus.DUPLICATE, 1),
    ]
    assert result.matches[1].difference == Decimal("-6.40")
    assert [v.id for v in result.missing] == [4]


def test_camt053_bad_entries_are_all_reported():
    data = camt_fixture().replace(b"<CdtDbtInd>DBIT</CdtDbtInd>", b"<CdtDbtInd>XXXX</CdtDbtInd>")
    data = data.replace(b'<Amt Ccy="EUR">57.30</Amt>', b'<Amt Ccy="EUR">cinquante</Amt>')
    with pytest.raises(StatementError) as info:
        read_statement(data)
    assert info.value.code == "TP-REL-003"
    assert len(info.value.problems) == 2
    assert all(p["line"] and p["path"].startswith("Stmt[1]/Ntry[") for p in info.value.problems)


def test_not_a_camt053_document():
    with pytest.raises(StatementError) as info:
        read_statement(b'<?xml version="1.0"?><Document xmlns="urn:iso:std:iso:20022:tech:xsd:pain.001.001.03"/>')
    assert info.value.code == "TP-REL-002"


@pytest.mark.parametrize(
    ("data", "code"),
    [
        (b'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY x "y">]><Document>&x;</Document>', "XML-005"),
        (b'<?xml version="1.0"?><!DOCTYPE d SYSTEM "file:///etc/passwd"><Document/>', "XML-006"),
        (b"<Document><unclosed></Document>", "XML-003"),
    ],
)
def test_hostile_camt053_is_refused_by_the_safe_parser(data, code):
    from amelipro.errors import AmeliproError

    with pytest.raises(AmeliproError) as info:
        read_statement(data)
    assert info.value.code == code


def test_camt053_version_08_layout():
    """Later versions: status in Sts/Cd, transaction amount directly in TxDtls/Amt."""
    xml = f"""<?xml version="1.0" encoding="UTF-8"?>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.08"><BkToCstmrStmt>
 <GrpHdr><MsgId>M1</MsgId><CreDtTm>2026-06-05T18:00:00</CreDtTm></GrpHdr>
 <Stmt><Id>S8</Id><Acct><Id><IBAN>FR7630001007941234567890185</IBAN></Id></Acct>
  <Ntry><Amt Ccy="EUR">173.00</Amt><CdtDbtInd>CRDT</CdtDbtInd><Sts><Cd>BOOK</Cd></Sts>
   <BookgDt><DtTm>2026-06-05T10:00:00+02:00</DtTm></BookgDt><ValDt><Dt>2026-06-05</Dt></ValDt>
   <NtryDtls>
    <TxDtls><Refs><EndToEndId>{REF_1}</EndToEndId></Refs><Amt Ccy="EUR">150.00</Amt><CdtDbtInd>CRDT</CdtDbtInd></TxDtls>
    <TxDtls><Refs><EndToEndId>{REF_6A}</EndToEndId></Refs><Amt Ccy="EUR">23.00</Amt><CdtDbtInd>CRDT</CdtDbtInd></TxDtls>
   </NtryDtls></Ntry>
  <Ntry><Amt Ccy="EUR">5.00</Amt><CdtDbtInd>CRDT</CdtDbtInd><Sts><Cd>PDNG</Cd></Sts>
   <ValDt><Dt>2026-06-05</Dt></ValDt></Ntry>
 </Stmt></BkToCstmrStmt></Document>""".encode()
    statement = read_statement(xml)
    assert [(line.amount, line.reference) for line in statement.lines] == [
        (Decimal("150.00"), REF_1), (Decimal("23.00"), REF_6A)]
    assert statement.lines[0].booking_date == date(2026, 6, 5) and len(statement.skipped) == 1
    result = reconcile(statement.lines, VIREMENTS, period_end=statement.period_end)
    assert [m.status for m in result.matches] == [MatchStatus.MATCHED, MatchStatus.MATCHED]
