"""The tiers-payant error codes are pinned: removing or renaming one is a visible decision."""

from amelipro.errors import REGISTRY
from amelipro.thirdparty import errors  # noqa: F401 - declares the codes

EXPECTED = {
    "TP-STA-001", "TP-STA-002", "TP-STA-003", "TP-STA-004", "TP-STA-005", "TP-STA-006",
    "TP-STA-007", "TP-STA-008", "TP-STA-009",
    "TP-REL-001", "TP-REL-002", "TP-REL-003", "TP-REL-004", "TP-REL-005", "TP-REL-006",
    "TP-API-001", "TP-API-002", "TP-API-003", "TP-API-404",
    "TP-CFG-001",
}


def test_thirdparty_codes_are_pinned():
    assert {code for code in REGISTRY if code.startswith("TP-")} == EXPECTED


def test_every_code_has_a_french_message():
    for code in EXPECTED:
        entry = REGISTRY[code]
        assert entry.message and entry.message[-1] in ".!?»" and 400 <= entry.status < 600
