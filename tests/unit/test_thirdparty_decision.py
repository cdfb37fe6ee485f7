"""What the caisse decides at liquidation, one situation per row, with the real reject codes
where one exists (``data/caisse_codes.json``)."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from decimal import Decimal

import pytest

from amelipro.thirdparty.decision import DecisionInput, PatientOnFile, code_catalogue, decide

D = Decimal
ON_FILE = PatientOnFile(rights_open=True, covers=frozenset())
BASE = DecisionInput(amo_claimed=D("21.00"), charged=D("30.00"), base=D("30.00"), nature="10",
                     exemption="aucune", care_date=date(2026, 5, 11), priced_amo=D("21.00"),
                     priced_charged=D("30.00"), priced_base=D("30.00"), file_loaded=True, patient=ON_FILE)


@pytest.mark.parametrize("changes, status, code, amo_paid", [
    ({}, "paye", "", "21.00"),
    ({"priced_amo": D("20.50")}, "ajuste", "", "20.50"),  # AMP 002 carried, not a reject
    ({"already_paid": True}, "rejete", "2900 005", "0.00"),
    ({"patient": None}, "rejete", "0250 050", "0.00"),
    ({"patient": PatientOnFile(rights_open=False, covers=frozenset())}, "rejete", "AMP 003", "0.00"),
    ({"exemption": "ald"}, "rejete", "0450 072", "0.00"),
    ({"exemption": "ald", "patient": PatientOnFile(True, frozenset({"ald"}))}, "paye", "", "21.00"),
    ({"nature": "13"}, "rejete", "0317 051", "0.00"),
    ({"nature": "13", "patient": PatientOnFile(True, frozenset(), alsace_moselle=True)}, "paye", "", "21.00"),
    ({"nature": "41", "exemption": "maternite", "patient": PatientOnFile(True, frozenset({"maternite"}))},
     "rejete", "0317 051", "0.00"),
    ({"not_reimbursable": True, "priced_amo": None}, "rejete", "0470 049", "0.00"),
    ({"priced_amo": None}, "rejete", "AMP 001", "0.00"),
    # without the caisse's file, identity and rights are not checked, prices still are
    ({"file_loaded": False, "patient": None}, "paye", "", "21.00"),
    ({"file_loaded": False, "patient": None, "priced_amo": None}, "rejete", "AMP 001", "0.00"),
])
def test_decision_table(changes, status, code, amo_paid):
    decision = decide(replace(BASE, **changes))
    assert (decision.status, decision.reject_code, decision.amo_paid) == (status, code, D(amo_paid))
    if status == "ajuste":
        assert [c.code for c in decision.codes] == ["AMP 002"]


def test_the_first_reason_wins():
    # already paid outranks an unknown patient, which outranks a missing tariff
    worst = replace(BASE, already_paid=True, patient=None, priced_amo=None, not_reimbursable=True)
    assert decide(worst).reject_code == "2900 005"
    assert decide(replace(worst, already_paid=False)).reject_code == "0250 050"
    assert decide(replace(worst, already_paid=False, patient=ON_FILE)).reject_code == "0470 049"


def test_every_code_has_a_french_message_and_a_hint():
    for code in code_catalogue().values():
        assert code.message[0].isupper() and code.hint, code.code
