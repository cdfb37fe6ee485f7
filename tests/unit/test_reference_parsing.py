"""Pure parsing helpers of the reference importers."""

from datetime import date
from decimal import Decimal

import pytest

from amelipro.errors import REGISTRY
from amelipro.reference.importers import ehpad_match, parse_ehpad_annex
from amelipro.reference.importers.files import csv_records, tab_rows
from amelipro.reference.parsing import (
    DbfField,
    decode_bytes,
    ean13_valid,
    fold,
    parse_date,
    parse_decimal,
    parse_rate,
    read_dbf,
    search_text,
    tokens,
    write_dbf,
)


@pytest.mark.parametrize(
    ("raw", "value"),
    [("1,16", "1.16"), ("14.77", "14.77"), ("1,466,29", "1466.29"), ("12,760,74", "12760.74"),
     ("1.234,56", "1234.56"), (" 2,5 ", "2.50"), ("", None)],
)
def test_parse_decimal(raw, value):
    assert parse_decimal(raw) == (None if value is None else Decimal(value))


@pytest.mark.parametrize("raw", ["abc", "1,2,x", "NaN"])
def test_parse_decimal_rejects_garbage(raw):
    with pytest.raises(ValueError):
        parse_decimal(raw)


@pytest.mark.parametrize(("raw", "rate"), [("65%", 65), ("65 %", 65), ("100%", 100), ("15 %", 15), ("", None)])
def test_parse_rate(raw, rate):
    assert parse_rate(raw) == rate


@pytest.mark.parametrize("raw", ["65", "abc%", "150%"])
def test_parse_rate_rejects(raw):
    with pytest.raises(ValueError):
        parse_rate(raw)


def test_parse_date_and_impossible_dates():
    assert parse_date("02/01/2003") == date(2003, 1, 2)
    assert parse_date("09-07-2026") == date(2026, 7, 9)
    assert parse_date("2024-12-22") == date(2024, 12, 22)
    assert parse_date("") is None
    for bad in ("29/11/2924", "31/02/2019", "2019", "00/00/0000"):
        with pytest.raises(ValueError):
            parse_date(bad)


def test_ean13_valid():
    assert ean13_valid("3400935955838")
    assert ean13_valid("3400930065891")
    assert not ean13_valid("3400935955839")
    assert not ean13_valid("340093595583")
    assert not ean13_valid("34009359558AB")


def test_decode_mixed_encodings():
    assert decode_bytes("Présentation".encode()) == ("Présentation", "utf-8")
    assert decode_bytes("l’enfant".encode("cp1252")) == ("l’enfant", "cp1252")


def test_tab_rows_decode_pad_and_report_with_line_numbers(tmp_path):
    path = tmp_path / "CIS_bdpm.txt"
    path.write_bytes("60234100\tDOLIPRANE\tcomprimé\n\n60234101\n60234102\tl’enfant".encode("cp1252"))
    reported = []
    rows = list(tab_rows(path, lambda *a: reported.append(a), 3, lambda cols: len(cols) >= 2))
    assert rows == [(1, ["60234100", "DOLIPRANE", "comprimé"]), (4, ["60234102", "l’enfant", ""])]
    assert reported == [("CIS_bdpm.txt", 3, "ligne illisible (1 colonnes)")]


def test_csv_records_number_lines_after_the_header(tmp_path):
    path = tmp_path / "ngap.csv"
    path.write_text('code,description\nG,"Consultation, généraliste"\nTCG,Téléconsultation\n', encoding="utf-8")
    assert [(no, row["code"], row["description"]) for no, row in csv_records(path)] == [
        (2, "G", "Consultation, généraliste"), (3, "TCG", "Téléconsultation")]


def test_fold_and_tokens():
    assert fold("PARACÉTAMOL Œuf µg") == "paracetamol oeuf ug"
    assert tokens("Dolip 1000mg, comprimé-sécable") == ["dolip", "1000mg", "comprime", "secable"]
    assert search_text("Lit médical", "1241763") == "lit medical 1241763"


def test_dbf_round_trip(tmp_path):
    fields = [DbfField("CODE_TIPS", "C", 13), DbfField("DEBUTVALID", "D", 8), DbfField("TARIF", "N", 10, 2)]
    rows = [{"CODE_TIPS": "1241763", "DEBUTVALID": date(2024, 1, 1), "TARIF": Decimal("12.50")},
            {"CODE_TIPS": "1322792", "DEBUTVALID": None, "TARIF": None}]
    write_dbf(tmp_path / "t.dbf", fields, rows)
    read_fields, records = read_dbf(tmp_path / "t.dbf")
    assert [f.name for f in read_fields] == ["CODE_TIPS", "DEBUTVALID", "TARIF"]
    assert list(records) == rows


def test_parse_ehpad_annex_parts_and_conditions():
    text = (
        "# Article ANNEXE\n\nPréambule.\n\nI.-Petit matériel et fournitures médicales\n\n"
        "Abaisse-langue sauf si le matériel est compris dans la rémunération de l'acte.\n\nCrachoir.\n\n"
        "II. - Matériel médical amortissable\n\nLit médical et accessoires.\n"
    )
    cats = parse_ehpad_annex(text)
    assert [(c["part"], c["label"]) for c in cats] == [
        ("I", "Abaisse-langue"), ("I", "Crachoir"), ("II", "Lit médical et accessoires")]
    assert cats[0]["condition"].startswith("sauf si")


@pytest.mark.parametrize(
    ("label", "category"),
    [
        ("Lit médical, lit standard, location hebdomadaire, lit et accessoires.", "Lit médical et accessoires"),
        ("Lit, compresseur et surmatelas pneumatique, location hebdomadaire.",
         "Compresseur pour surmatelas pneumatique à pression alternée"),
        ("Escarres, coussin en gel, s/classe IB", "Coussin d'aide à la prévention d'escarres"),
        ("Pansements hydrocolloïdes, boîte de 5.", "Articles pour pansements"),
        ("Drainage, sonde vésic intermitt stérile, femme. B/1", "Sonde vésicale pour hétérosondage intermittent"),
        ("Nut orale, mél poly hyperprot.hyperénerg, DIJON CEREALES",
         "Nutriment pour supplémentation orale et nutriment pour supplémentation entérale"),
        ("Nutrition entérale, sonde en PVC naso-gastrique ou naso-jéjunale.",
         "Sondes naso-gastriques ou naso-entérale"),
        ("Aliment sans gluten, farine, 500g.", None),
        ("LOC HEBDO COURTE DUREE DISCONTINUE", None),
    ],
)
def test_ehpad_seed_rules(label, category):
    hit = ehpad_match(label, "Titre I")
    assert (hit[0] if hit else None) == category
    if hit:
        assert label[:20] in hit[1]


def test_reference_error_codes_pinned():
    import amelipro.reference.errors  # noqa: F401

    assert sorted(c for c in REGISTRY if c.startswith("REF-")) == [
        "REF-001", "REF-002", "REF-003", "REF-004", "REF-010", "REF-020", "REF-021", "REF-022", "REF-023",
        "REF-024", "REF-025",
    ]
