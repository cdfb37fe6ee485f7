"""The XML core's stable codes: removing or renumbering one is a visible decision."""

from amelipro.errors import REGISTRY
from amelipro.xmlcore import errors as xml_errors

EXPECTED = {
    "XML-001": 400, "XML-002": 413, "XML-003": 400, "XML-004": 400, "XML-005": 400,
    "XML-006": 400, "XML-007": 400, "XML-008": 400, "XML-009": 400, "XML-010": 422,
    **{f"XSD-{n:03d}": 422 for n in range(1, 13)},
    "LOT-001": 422, "LOT-002": 422,
    **{f"FSE-SIG-{n:03d}": 422 for n in range(1, 21) if n != 15}, "FSE-SIG-015": 403,
}


def test_codes_are_pinned():
    mine = {c: e.status for c, e in REGISTRY.items() if c.startswith(("XML-", "XSD-", "LOT-", "FSE-SIG-"))}
    assert mine == EXPECTED
    assert {e.code for e in xml_errors.CODES} == set(EXPECTED)


def test_every_code_has_a_french_message_and_hint():
    for error in xml_errors.CODES:
        assert error.message and error.hint, error.code
