"""The submission's own codes are pinned: removing or renaming one is a visible decision."""

import amelipro.fse.lot_errors  # noqa: F401 - declares the FSE-LOT and FSE-IDEM codes
from amelipro.errors import REGISTRY, RETIRED

SUBMISSION_CODES = {
    "FSE-LOT-001", "FSE-LOT-002", "FSE-LOT-006", "FSE-LOT-007", "FSE-LOT-008", "FSE-LOT-009",
    "FSE-LOT-010",
    "FSE-IDEM-001", "FSE-IDEM-002", "FSE-IDEM-003",
}


def test_submission_codes_pinned():
    declared = {c for c in REGISTRY if c.startswith(("FSE-LOT-", "FSE-IDEM-"))}
    assert declared == SUBMISSION_CODES and not declared & RETIRED
    assert {"FSE-LOT-003", "FSE-LOT-004", "FSE-LOT-005"} <= RETIRED


def test_submission_codes_have_hints_where_the_user_can_act():
    for code in SUBMISSION_CODES - {"FSE-LOT-006", "FSE-LOT-007"}:
        assert REGISTRY[code].hint, code
