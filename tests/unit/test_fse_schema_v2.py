"""FSE version 2 (xsd/fse/2): optional time of care and second-act flag on lines, picked by
the FSE's version attribute; version 1 documents unchanged."""

from __future__ import annotations

from dataclasses import replace
from datetime import time

from lxml import etree

from amelipro.fse.document import care_sheet_from_xml, care_sheet_to_xml
from amelipro.xmlcore import errors
from amelipro.xmlcore.schemas import FSE_NS, fse_schema_name, get_registry
from tests.fixtures_pki import sample_care_sheet

F = f"{{{FSE_NS}}}"


def _v2():
    care = sample_care_sheet(1)
    lines = (replace(care.lines[0], care_time=time(21, 30)), replace(care.lines[1], second_act=True))
    return replace(care, lines=lines)


def test_a_sheet_without_the_new_fields_is_written_as_version_1_unchanged():
    root = care_sheet_to_xml(sample_care_sheet(1))
    assert root.get("version") == "1" and fse_schema_name(root) == "fse"
    assert get_registry().validate(root, "fse") == []
    assert root.find(f".//{F}Heure") is None and root.find(f".//{F}SecondActe") is None


def test_version_2_round_trip():
    care = _v2()
    root = care_sheet_to_xml(care)
    assert root.get("version") == "2" and fse_schema_name(root) == "fse2"
    assert get_registry().validate(root, "fse2") == []
    assert root.findtext(f"{F}Lignes/{F}ActeNGAP/{F}Heure") == "21:30"
    assert root.findtext(f"{F}Lignes/{F}ActeCCAM/{F}SecondActe") == "true"
    back = care_sheet_from_xml(root)
    assert back.lines[0].care_time == time(21, 30) and back.lines[1].second_act is True
    assert back == care


def test_version_2_time_is_checked_by_the_schema():
    root = care_sheet_to_xml(_v2())
    root.find(f"{F}Lignes/{F}ActeNGAP/{F}Heure").text = "24:10"
    issues = get_registry().validate(root, fse_schema_name(root))
    assert [i.code for i in issues] == [errors.XSD_PATTERN.code]
    assert issues[0].path == "/FSE/Lignes/ActeNGAP/Heure"


def test_version_1_refuses_the_new_fields_and_unknown_versions_are_reported():
    root = care_sheet_to_xml(_v2())
    root.set("version", "1")
    assert fse_schema_name(root) == "fse"
    codes = {i.code for i in get_registry().validate(root, fse_schema_name(root))}
    assert errors.XSD_UNEXPECTED.code in codes
    other = care_sheet_to_xml(sample_care_sheet(1))
    other.set("version", "3")
    assert get_registry().validate(other, fse_schema_name(other))  # a located error, no exception
    assert etree.QName(other).localname == "FSE"
