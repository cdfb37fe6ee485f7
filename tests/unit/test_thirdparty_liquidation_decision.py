"""The liquidation's decision for one stored FSE, without a database: the care sheet rebuilt
from its stored columns, priced at the date of care (static reference values), checked
against the caisse's file, decided. One situation per row, with the real caisse codes."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from amelipro.beneficiaries.domain import Cover, CoverPeriod, EhpadStay, PatientRights, Period
from amelipro.reference.facts import MedicineFact
from amelipro.thirdparty.decision import CachedLookup, CaisseCode, code_catalogue, decide_stored
from amelipro.thirdparty.demo import DemoFse, demo_lookup, lines_json
from amelipro.thirdparty.states import ReturnStatus

D = Decimal
CARE = date(2026, 5, 11)
NIR = "180017512399901"
CIP_WITHDRAWN = "3400930000001"  # a box known to the reference, not reimbursable that day


@dataclass(frozen=True)
class Stored:
    """The columns of a claimed FSE the decision reads (``decision.StoredFseValues``)."""

    amo_claimed: Decimal = D("21.00")
    p_charged: Decimal = D("30.00")
    p_base: Decimal = D("30.00")
    id: int = 1
    element_id: str | None = "FSE1"
    invoice_number: str = "F-1"
    invoice_date: date | None = CARE
    first_care_date: date | None = CARE
    patient_nir: str = NIR
    patient_birth_date: date | None = date(1980, 5, 17)
    patient_rank: int = 1
    nature: str | None = "10"
    pathway: bool = True  # inside the care pathway
    exemption: str | None = "aucune"
    tiers_payant_amo: bool = True
    tiers_payant_amc: bool = False
    charged_sent: Decimal | None = D("30.00")
    base_sent: Decimal | None = D("30.00")
    amo_sent: Decimal | None = D("21.00")
    lines_json: str | None = lines_json(DemoFse(1, "F-1", CARE, datetime(2026, 5, 11, tzinfo=UTC), NIR))


def stored(*, code="G", kind="ngap", rate=70, amo="21.00", **changes) -> Stored:
    line = DemoFse(1, "F-1", CARE, datetime(2026, 5, 11, tzinfo=UTC), NIR, code=code, kind=kind,
                   rate=rate, amo=D(amo))
    return replace(Stored(amo_claimed=D(amo), amo_sent=D(amo), lines_json=lines_json(line)), **changes)


OPEN = PatientRights(nir=NIR, rank=1, birth_date=date(1980, 5, 17), rights=(Period(date(2020, 1, 1)),))
CLOSED = replace(OPEN, rights=(Period(date(2020, 1, 1), date(2026, 4, 30)),))
ALD = replace(OPEN, covers=(CoverPeriod(Cover.ALD, Period(date(2019, 6, 1)), "Diabète"),))
ALSACE = replace(OPEN, alsace_moselle=True)
IN_EHPAD = replace(OPEN, ehpad_stays=(EhpadStay(Period(date(2025, 1, 1)), "750000010", "EHPAD"),))
LOOKUP = demo_lookup()
LOOKUP.medicines[CIP_WITHDRAWN] = MedicineFact(CIP_WITHDRAWN, "Boîte retirée", False, None, D("4.50"))

PAID, ADJUSTED, REJECTED = ReturnStatus.PAID, ReturnStatus.ADJUSTED, ReturnStatus.REJECTED


@pytest.mark.parametrize("row, person, options, status, code, amo_paid", [
    pytest.param(stored(), OPEN, {}, PAID, "", "21.00", id="paid"),
    pytest.param(stored(amo="20.00"), OPEN, {}, ADJUSTED, CaisseCode.AMOUNT_RECOMPUTED, "21.00",
                 id="adjusted: the caisse pays its own price"),
    pytest.param(stored(), OPEN, {"already_paid": True}, REJECTED, CaisseCode.ALREADY_PAID, "0.00",
                 id="same care already paid"),
    pytest.param(stored(), None, {}, REJECTED, CaisseCode.PATIENT_UNKNOWN, "0.00",
                 id="unknown to the caisse's file"),
    pytest.param(stored(), CLOSED, {}, REJECTED, CaisseCode.RIGHTS_CLOSED, "0.00",
                 id="rights closed at the date of care"),
    pytest.param(stored(exemption="ald", rate=100, amo="30.00"), OPEN, {}, REJECTED,
                 CaisseCode.EXEMPTION_NOT_ON_FILE, "0.00", id="ALD not on file"),
    pytest.param(stored(exemption="ald", rate=100, amo="30.00"), ALD, {}, PAID, "", "30.00",
                 id="ALD on file, paid at 100 %"),
    pytest.param(stored(nature="13"), OPEN, {}, REJECTED, CaisseCode.NATURE_INCOMPATIBLE, "0.00",
                 id="Alsace-Moselle nature, patient not affiliated"),
    pytest.param(stored(nature="41", exemption="maternite"), OPEN, {"file": False}, REJECTED,
                 CaisseCode.NATURE_INCOMPATIBLE, "0.00", id="AT/MP nature under maternity"),
    pytest.param(stored(nature="30", exemption="atmp"), OPEN, {"file": False}, REJECTED,
                 CaisseCode.NATURE_INCOMPATIBLE, "0.00", id="maternity nature under AT/MP"),
    pytest.param(stored(code=CIP_WITHDRAWN, kind="medicament", amo="3.15"), OPEN, {}, REJECTED,
                 CaisseCode.NOT_REIMBURSABLE_AT_DATE, "0.00", id="medicine not reimbursable that day"),
    pytest.param(stored(code="ZZZ"), OPEN, {}, REJECTED, CaisseCode.NO_TARIFF, "0.00",
                 id="no tariff at the date of care"),
    pytest.param(stored(lines_json="not json"), OPEN, {}, REJECTED, CaisseCode.NO_TARIFF, "0.00",
                 id="stored lines unreadable"),
    pytest.param(stored(lines_json="[]"), OPEN, {}, REJECTED, CaisseCode.NO_TARIFF, "0.00",
                 id="no line to price"),
    pytest.param(stored(), IN_EHPAD, {}, PAID, "", "21.00",
                 id="EHPAD resident: the EHPAD rule applies at intake, not at liquidation"),
    pytest.param(stored(), None, {"file": False}, PAID, "", "21.00",
                 id="no caisse file: identity and rights not checked"),
    pytest.param(stored(code="ZZZ"), None, {"file": False}, REJECTED, CaisseCode.NO_TARIFF, "0.00",
                 id="no caisse file: prices still checked"),
])
def test_liquidation_decision_table(row, person, options, status, code, amo_paid):
    decision = decide_stored(row, "medecin_generaliste", CachedLookup(LOOKUP),
                             file_loaded=options.get("file", True), person=person,
                             already_paid=options.get("already_paid", False))
    assert decision.status is status
    assert decision.amo_paid == D(amo_paid)
    assert [c.code for c in decision.codes] == ([code] if code else [])
    assert decision.reject_code == (code if status is REJECTED else "")


def test_alsace_moselle_patient_is_paid_at_the_local_rate():
    decision = decide_stored(stored(nature="13", rate=90, amo="27.00"), "medecin_generaliste", LOOKUP,
                             file_loaded=True, person=ALSACE)
    assert (decision.status, decision.amo_paid) == (PAID, D("27.00"))


def test_every_caisse_code_is_in_the_catalogue():
    assert {str(c) for c in CaisseCode} <= set(code_catalogue())


def test_the_memo_asks_the_reference_once_per_code_and_day():
    asked = []

    class Counting:
        def act(self, code, at):
            asked.append((code, at))
            return LOOKUP.act(code, at)

    lookup = CachedLookup(Counting())
    for _ in range(3):
        decide_stored(stored(), "medecin_generaliste", lookup, file_loaded=True, person=OPEN)
    assert asked == [("G", CARE)]
