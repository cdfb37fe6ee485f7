"""The account package's error codes are pinned: removing or renaming one is a visible decision."""

import amelipro.account.errors  # noqa: F401 - declares the ACC codes
from amelipro.errors import REGISTRY

ACCOUNT_CODES = {
    "ACC-001", "ACC-002", "ACC-003", "ACC-004", "ACC-005", "ACC-006", "ACC-007", "ACC-008",
    "ACC-009", "ACC-010", "ACC-011", "ACC-012", "ACC-013", "ACC-014", "ACC-404",
}


def test_account_codes_pinned():
    assert {c for c in REGISTRY if c.startswith("ACC-")} == ACCOUNT_CODES


def test_account_messages_are_french():
    for code in ACCOUNT_CODES:
        entry = REGISTRY[code]
        assert entry.message[0].isupper() and entry.message.endswith((".", "?"))
