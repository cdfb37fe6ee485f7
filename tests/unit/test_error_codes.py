"""The foundation's error codes are pinned: removing or renaming one is a visible decision."""

import amelipro.auth.errors  # noqa: F401 - declares the AUTH codes
from amelipro.errors import REGISTRY

FOUNDATION_CODES = {
    "GEN-000", "GEN-400", "GEN-404", "GEN-405", "GEN-413", "GEN-CSRF", "GEN-DATE", "GEN-NUM",
    "GEN-BODY", "GEN-DB",
    "AUTH-001", "AUTH-002", "AUTH-010", "AUTH-011", "AUTH-013", "AUTH-014", "AUTH-015",
    "AUTH-020", "AUTH-021",
}


def test_foundation_codes_pinned():
    declared = {c for c in REGISTRY if c.startswith(("GEN-", "AUTH-"))}
    assert declared == FOUNDATION_CODES


def test_every_code_has_a_french_message():
    for entry in REGISTRY.values():
        assert entry.message and entry.message[0].isupper(), entry.code
        assert 100 <= entry.status < 600
