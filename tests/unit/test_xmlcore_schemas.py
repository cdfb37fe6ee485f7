"""Schema registry: the published XSD, all errors at once with code, French reason, path, line."""

from __future__ import annotations

from pathlib import Path

from lxml import etree

from amelipro.xmlcore.safe import parse_untrusted
from amelipro.xmlcore.schemas import SchemaRegistry, element_path, get_registry

DATA = Path(__file__).resolve().parents[1] / "data" / "fse"


def read(name: str) -> etree._Element:
    return parse_untrusted((DATA / name).read_bytes())


def test_the_registry_is_built_once():
    assert get_registry() is get_registry()


def test_valid_example_documents():
    registry = get_registry()
    assert registry.validate(read("fse-valide.xml"), "fse") == []
    assert registry.is_valid(read("fse-valide.xml"), "fse")
    assert registry.validate(read("lot-valide.xml"), "lot") == []


def test_every_schema_error_is_reported_at_once_with_path_and_line():
    issues = get_registry().validate(read("fse-invalide-schema.xml"), "fse")
    found = {(i.code, i.path, i.line) for i in issues}
    assert found == {
        ("XSD-003", "/FSE/Patient/Rang", 15),
        ("XSD-001", "/FSE/Patient/Caisse", 17),
        ("XSD-005", "/FSE/Assurance/Nature", 21),
        ("XSD-004", "/FSE/Lignes/ActeNGAP/Code", 32),
        ("XSD-004", "/FSE/Lignes/ActeNGAP/Montants/Facture", 36),
        ("XSD-007", "/FSE/Lignes/ActeNGAP/Montants/Taux", 38),
        ("XSD-007", "/FSE/Lignes/ActeCCAM/Montants/Taux", 49),
    }
    for issue in issues:
        assert issue.message and issue.hint and issue.detail
    by_path = {i.path: i for i in issues}
    assert "« x »" in by_path["/FSE/Patient/Rang"].detail
    assert "Regime" in by_path["/FSE/Patient/Caisse"].detail
    assert "10, 13, 30, 41, 90" in by_path["/FSE/Assurance/Nature"].detail
    assert "maximum 100" in by_path["/FSE/Lignes/ActeNGAP/Montants/Taux"].detail
    assert set(issues[0].as_dict()) == {"code", "message", "hint", "detail", "path", "line"}


def test_missing_and_unexpected_attributes_and_decimals():
    root = read("fse-valide.xml")
    del root.attrib["Id"]
    root.set("extra", "1")
    ns = "{urn:amelipro:fse:1}"
    root.find(f"{ns}Lignes/{ns}ActeNGAP/{ns}Coefficient").text = "1.255"
    root.remove(root.find(f"{ns}Totaux"))
    codes = {i.code: i for i in get_registry().validate(root, "fse")}
    assert set(codes) == {"XSD-009", "XSD-010", "XSD-008", "XSD-002"}
    assert codes["XSD-002"].path == "/FSE" and "Totaux" in codes["XSD-002"].detail


def test_element_paths_index_same_named_siblings():
    root = etree.fromstring(b"<FSE><Lignes><A/><B/><A><Code/></A></Lignes></FSE>")
    assert element_path(root[0][2][0]) == "/FSE/Lignes/A[2]/Code"
    assert element_path(root[0][1]) == "/FSE/Lignes/B"
    assert element_path(root[0][1], root[0]) == "/Lignes/B"


def test_validating_an_element_inside_another_document():
    lot = read("lot-valide.xml")
    fse = lot[1]
    assert get_registry().validate(fse, "fse") == []
    fse.find("{urn:amelipro:fse:1}Patient/{urn:amelipro:fse:1}NIR").text = "123"
    issues = get_registry().validate(fse, "fse")
    assert [(i.code, i.path) for i in issues] == [("XSD-004", "/FSE/Patient/NIR")]
    assert issues[0].line == fse.find("{urn:amelipro:fse:1}Patient/{urn:amelipro:fse:1}NIR").sourceline


def test_a_registry_on_another_directory(tmp_path):
    import shutil

    shutil.copytree(Path(__file__).resolve().parents[2] / "xsd", tmp_path / "xsd")
    registry = SchemaRegistry(tmp_path / "xsd")
    assert registry.is_valid(read("fse-valide.xml"), "fse")


def test_length_errors_in_the_lot_envelope():
    lot = read("lot-valide.xml")
    lot.find("{urn:amelipro:lot:1}Entete/{urn:amelipro:lot:1}Emetteur/{urn:amelipro:lot:1}Logiciel").text = "x" * 101
    issues = get_registry().validate(lot, "lot")
    assert [(i.code, i.path) for i in issues] == [("XSD-006", "/Lot/Entete/Emetteur/Logiciel")]


def test_lxml_error_types_map_to_codes_when_xmlschema_is_silent():
    """The fallback used if xmlschema ever disagrees with lxml: every lxml type has a code."""
    from amelipro.xmlcore.schemas import _lxml_code

    assert _lxml_code("SCHEMAV_CVC_IDC").code == "XSD-011"
    assert _lxml_code("SCHEMAV_CVC_PATTERN_VALID").code == "XSD-004"
    assert _lxml_code("SCHEMAV_SOMETHING_NEW").code == "XSD-012"


def test_fallback_to_lxml_errors(monkeypatch):
    registry = SchemaRegistry()
    monkeypatch.setattr(registry, "_explain", lambda *a: [])
    root = read("fse-invalide-schema.xml")
    issues = registry.validate(root, "fse")
    assert {i.code for i in issues} >= {"XSD-003", "XSD-004", "XSD-005", "XSD-007"}
    assert all(i.line for i in issues)
