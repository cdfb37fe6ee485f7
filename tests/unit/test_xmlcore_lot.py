"""Lots: one bad FSE rejects only itself; an unreadable or invalid lot is refused whole.
And the document mapping: CareSheet -> XML -> signed -> verified -> the same CareSheet."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
from lxml import etree

from amelipro.fse.document import (
    build_lot,
    care_sheet_from_xml,
    care_sheet_to_xml,
    document_bytes,
    field_path,
    read_lot_document,
)
from amelipro.fse.domain import LineKind
from amelipro.xmlcore.errors import LotError
from amelipro.xmlcore.lot import read_lot
from amelipro.xmlcore.safe import ParseLimits
from amelipro.xmlcore.schemas import get_registry
from tests.fixtures_pki import (
    RPPS_MEDECIN,
    RPPS_OTHER,
    sample_care_sheet,
    signed_fse,
    signed_lot_bytes,
)

F = "{urn:amelipro:fse:1}"
DS = "{http://www.w3.org/2000/09/xmldsig#}"
DATA = Path(__file__).resolve().parents[1] / "data" / "fse"


def lot_errors(data: bytes, policy, **kw) -> list[dict]:
    with pytest.raises(LotError) as info:
        read_lot(data, policy, **kw)
    return info.value.errors


def test_care_sheet_round_trip_through_signed_xml(pki, verify_policy):
    sheet = sample_care_sheet(7)
    doc = read_lot_document(signed_lot_bytes([signed_fse(pki.medecin, 7)]), verify_policy)
    assert [d.ok for d in doc.documents] == [True]
    assert doc.documents[0].sheet == sheet
    assert care_sheet_from_xml(care_sheet_to_xml(sheet)) == sheet


def test_round_trip_of_every_line_kind_and_optional_field():
    from dataclasses import replace
    from datetime import date
    from decimal import Decimal

    from amelipro.fse.domain import Amounts, Exemption, Line

    base = sample_care_sheet()
    day = base.invoice_date
    sheet = replace(
        base,
        exemption=Exemption.ALD,
        prescriber_rpps="10000000041",
        prescription_date=date(2026, 11, 1),
        professional=replace(base.professional, finess="2A0000001", specialty="pharmacien"),
        lines=(
            Line(1, LineKind.MEDICINE, day, "3400930000001", 2, Decimal("1"),
                 Amounts(Decimal("7.00"), Decimal("7.00"), 65, Decimal("4.55"))),
            Line(2, LineKind.DEVICE, day, "1234567", 1, Decimal("1"),
                 Amounts(Decimal("100.00"), Decimal("80.00"), 60, Decimal("48.00"))),
            Line(3, LineKind.NGAP, day, "AMI", 1, Decimal("1.5"),
                 Amounts(Decimal("4.73"), Decimal("4.73"), 60, Decimal("2.84"))),
            Line(4, LineKind.MEDICINE, day, "3400930000002", 1, Decimal("1"),
                 Amounts(Decimal("3.00"), Decimal("3.00"), 30, Decimal("0.90"))),
        ),
    )
    element = care_sheet_to_xml(sheet)
    assert get_registry().validate(element, "fse") == []
    assert care_sheet_from_xml(element) == sheet
    assert field_path(sheet, "code", 4) == "/FSE/Lignes/Medicament[2]/Code"
    assert field_path(sheet, "amounts.amo", 2) == "/FSE/Lignes/Dispositif/Montants/PartAMO"
    assert field_path(sheet, "patient.nir") == "/FSE/Patient/NIR"


def test_one_bad_fse_rejects_only_itself(pki, verify_policy):
    good = signed_fse(pki.medecin, 1)
    tampered = signed_fse(pki.medecin, 2)
    tampered.find(f"{F}Totaux/{F}PartAMO").text = "1.00"
    invalid = care_sheet_to_xml(sample_care_sheet(3))
    invalid.find(f"{F}Patient/{F}NIR").text = "12"
    invalid.find(f"{F}Patient/{F}Rang").text = "0"
    from amelipro.xmlcore.signature import sign_fse

    invalid = sign_fse(invalid, pki.medecin.key, pki.medecin.cert)
    foreign = signed_fse(pki.other, 4, rpps=RPPS_MEDECIN)
    unsigned = care_sheet_to_xml(sample_care_sheet(5))
    data = signed_lot_bytes([good, tampered, invalid, foreign, unsigned])
    doc = read_lot_document(data, verify_policy, token_rpps=RPPS_MEDECIN)
    codes = [[i.code for i in d.errors] for d in doc.documents]
    assert codes == [[], ["FSE-SIG-003"], ["XSD-004", "XSD-007"], ["FSE-SIG-014"], ["FSE-SIG-001"]]
    assert doc.header.number == "L-TEST-1" and doc.header.declared_count == 5
    nir_issue = doc.documents[2].errors[0]
    assert nir_issue.path == "/FSE/Patient/NIR"
    lines = data.decode().splitlines()
    assert ">12<" in lines[nir_issue.line - 1] or nir_issue.line > 1
    assert doc.documents[3].errors[0].path == "/FSE/Professionnel/RPPS"
    assert doc.documents[0].locate("code", 2)[0] == "/FSE/Lignes/ActeCCAM/Code"


def test_token_owner_must_be_the_professional(pki, verify_policy):
    doc = read_lot_document(signed_lot_bytes([signed_fse(pki.medecin)]), verify_policy,
                            token_rpps=RPPS_OTHER)
    assert [i.code for i in doc.documents[0].errors] == ["FSE-SIG-015"]


def test_duplicated_signed_element_in_a_lot(pki, verify_policy):
    fse = signed_fse(pki.medecin, 1)
    data = signed_lot_bytes([fse, copy.deepcopy(fse), signed_fse(pki.medecin, 2)])
    reading = read_lot(data, verify_policy)
    assert [[i.code for i in o.errors] for o in reading.outcomes] == [["FSE-SIG-013"], ["FSE-SIG-013"], []]


def test_lines_of_errors_point_into_the_lot(pki, verify_policy):
    element = signed_fse(pki.medecin)
    data = signed_lot_bytes([signed_fse(pki.medecin, 2), element])
    pretty = data.replace(b"><Entete>", b">\n\n<Entete>")
    reading = read_lot(pretty, verify_policy)
    assert reading.outcomes[1].ok
    doc = read_lot_document(pretty, verify_policy)
    _, line = doc.documents[1].locate("patient.nir")
    received = etree.fromstring(pretty)
    expected = received.findall(f"{F}FSE")[1].find(f"{F}Patient/{F}NIR").sourceline
    assert line == expected > 20  # after the first FSE (its certificate spans lines)


def test_a_single_fse_document_is_read_as_a_lot_of_one(pki, verify_policy):
    data = document_bytes(signed_fse(pki.medecin))
    reading = read_lot(data, verify_policy)
    assert reading.single and reading.outcomes[0].ok
    assert lot_errors(data, verify_policy, accept_single_fse=False)[0]["code"] == "XML-010"


@pytest.mark.parametrize(
    ("mutate", "code"),
    [
        (lambda lot: lot.find("{urn:amelipro:lot:1}Entete/{urn:amelipro:lot:1}NombreFSE").__setattr__("text", "3"),
         "LOT-001"),
        (lambda lot: lot.append(etree.Element(f"{F}Autre")), "LOT-002"),
        (lambda lot: lot.remove(lot.find("{urn:amelipro:lot:1}Entete")), "XSD-001"),
    ],
)
def test_invalid_lots_are_refused_whole(pki, verify_policy, mutate, code):
    lot = build_lot([signed_fse(pki.medecin)], number="L1", sender_rpps=RPPS_MEDECIN)
    mutate(lot)
    errors = lot_errors(document_bytes(lot), verify_policy)
    assert errors[0]["code"] == code
    assert errors[0].get("path") and errors[0].get("line")


def test_unreadable_and_foreign_documents_are_refused_whole(verify_policy):
    assert lot_errors(b"<Lot", verify_policy)[0]["code"] == "XML-003"
    assert lot_errors(b"<x/>", verify_policy)[0]["code"] == "XML-010"
    assert lot_errors((DATA / "hostile" / "xxe-file.xml").read_bytes(), verify_policy)[0]["code"] == "XML-006"
    assert lot_errors((DATA / "hostile" / "billion-laughs.xml").read_bytes(), verify_policy)[0]["code"] == "XML-005"
    assert lot_errors((DATA / "hostile" / "xinclude.xml").read_bytes(), verify_policy)[0]["code"] == "XML-009"
    assert lot_errors(b"<a/>" * 1, verify_policy, limits=ParseLimits(max_bytes=3))[0]["code"] == "XML-002"


def test_example_unsigned_lot_is_valid_but_its_fse_unsigned(verify_policy):
    reading = read_lot((DATA / "lot-valide.xml").read_bytes(), verify_policy)
    assert [[i.code for i in o.errors] for o in reading.outcomes] == [["FSE-SIG-001"]]
    assert reading.outcomes[0].line == 12


def test_signed_bytes_identify_identical_resends(pki, verify_policy):
    a = read_lot_document(signed_lot_bytes([signed_fse(pki.medecin, 1)]), verify_policy).documents[0]
    b = read_lot_document(signed_lot_bytes([signed_fse(pki.medecin_ec, 1)]), verify_policy).documents[0]
    assert a.sheet == b.sheet
    assert a.signed_bytes and b"SignatureValue" not in a.signed_bytes


def test_mutated_lots_only_ever_raise_lot_errors(pki, verify_policy):
    """Seeded fuzzing: whatever the bytes, a lot is refused whole (LotError) or read with
    per-FSE errors; no other exception can reach the HTTP layer as a 5xx."""
    import random

    base = signed_lot_bytes([signed_fse(pki.medecin, n) for n in (1, 2)]).decode()
    tokens = ["<", ">", "/", '"', "&amp;", "&#0;", 'Id="x"', ' Id="FSE-10000000017-000001"', "<!-- c -->",
              "<![CDATA[x]]>", "é", "<a>", "</a>", 'xmlns="urn:x"', "<ds:Signature/>", "9", " ", "Dig"]
    rng = random.Random(20261123)
    outcomes = {"refused": 0, "read": 0}
    for _ in range(300):
        text = base
        for _ in range(rng.randint(1, 3)):
            i = rng.randrange(len(text))
            if rng.random() < 0.5:
                text = text[:i] + text[i + rng.randint(1, 20):]
            else:
                text = text[:i] + rng.choice(tokens) + text[i:]
        try:
            doc = read_lot_document(text.encode(), verify_policy)
        except LotError as exc:
            assert exc.errors and all(e["code"] and e["message"] for e in exc.errors)
            outcomes["refused"] += 1
        else:
            assert all(d.ok or d.errors for d in doc.documents)
            outcomes["read"] += 1
    assert outcomes["refused"] and outcomes["read"]
