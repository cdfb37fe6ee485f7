"""The ARL: built valid against arl.xsd, signed with the gateway key, read back."""

from __future__ import annotations

from amelipro.xmlcore.arl import (
    ArlError,
    ArlFse,
    ArlStatus,
    FseStatus,
    arl_bytes,
    negative_arl,
    positive_arl,
    read_arl,
)
from amelipro.xmlcore.safe import parse_untrusted
from amelipro.xmlcore.schemas import XmlIssue, get_registry
from amelipro.xmlcore.signature import verify_document

DIGEST = "a" * 64


def test_positive_arl_round_trip_and_signature(pki):
    arl = positive_arl(
        "ARL-1", DIGEST,
        [
            ArlFse(1, FseStatus.ACCEPTED, "FSE-1", "2026-1", reference="42"),
            ArlFse(2, FseStatus.REJECTED, "FSE-2", "2026-2", errors=(
                ArlError("XSD-004", "Format de la valeur incorrect.", "Corrigez", "NIR", "/FSE/Patient/NIR", 17),
                ArlError.from_any({"code": "FSE-SIG-003", "message": "Modifiée", "line": "9"}),
            )),
            ArlFse(3, FseStatus.DUPLICATE, "FSE-3", "2026-3", reference="41"),
        ],
        lot_number="L1", lot_reference="7",
    )
    data = arl_bytes(arl, pki.gateway.key, pki.gateway.cert)
    root = parse_untrusted(data)
    assert get_registry().validate(root, "arl") == []
    verify_document(root, pki.gateway.cert)
    back = read_arl(data)
    assert back.status == ArlStatus.POSITIVE
    assert (back.accepted, back.rejected, back.duplicates) == (1, 1, 1)
    assert back.fses[1].errors[0] == arl.fses[1].errors[0]
    assert back.fses[1].errors[1].line == 9
    assert back.fses == arl.fses and back.lot_number == "L1" and back.lot_reference == "7"


def test_negative_arl(pki):
    arl = negative_arl("ARL-2", DIGEST, [
        XmlIssue("XML-004", "Déclaration DOCTYPE refusée.", "Retirez", "", None, 1),
        {"code": "LOT-001", "message": "Nombre", "path": "/Lot/Entete/NombreFSE", "line": 9},
    ])
    data = arl_bytes(arl)
    root = parse_untrusted(data)
    assert get_registry().validate(root, "arl") == []
    back = read_arl(data)
    assert back.status == ArlStatus.NEGATIVE and [e.code for e in back.errors] == ["XML-004", "LOT-001"]
    assert back.errors[1].path == "/Lot/Entete/NombreFSE"


def test_error_texts_that_are_not_xml_do_not_break_the_arl():
    arl = negative_arl("ARL-3", DIGEST, [{"code": "XML-003", "message": "Mal formé \x00\x1b fin",
                                          "detail": "x" * 5000, "line": 0}])
    data = arl_bytes(arl)
    assert get_registry().is_valid(parse_untrusted(data), "arl")
    back = read_arl(data).errors[0]
    assert back.message == "Mal formé \ufffd\ufffd fin" and len(back.detail) == 2000 and back.line is None
