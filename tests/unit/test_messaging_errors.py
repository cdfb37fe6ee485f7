"""The messagerie's error codes are pinned: removing or renaming one is a visible decision."""

from amelipro.errors import REGISTRY
from amelipro.messaging import errors  # noqa: F401 - declares the codes

EXPECTED = {
    "MSG-001", "MSG-002", "MSG-003", "MSG-004",
    "MSG-010", "MSG-011", "MSG-012", "MSG-013",
    "MSG-020", "MSG-021", "MSG-022",
    "MSG-030", "MSG-031", "MSG-032", "MSG-033", "MSG-034",
    "MSG-040", "MSG-041", "MSG-042",
}


def test_messaging_codes_are_pinned():
    assert {code for code in REGISTRY if code.startswith("MSG-")} == EXPECTED


def test_every_code_has_a_french_message_and_hint():
    for code in EXPECTED:
        entry = REGISTRY[code]
        assert entry.message and entry.message[-1] in ".!?»" and 400 <= entry.status < 600, code
        assert entry.hint, code
