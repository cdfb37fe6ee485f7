"""Liquidation on the database: intake, paid / rejected / adjusted, virements, returns."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import func, select, text

from amelipro.beneficiaries.patient_file import StaticPatientFile
from amelipro.thirdparty.liquidation import LiquidationConfig, liquidate_batch, run_liquidation
from amelipro.thirdparty.models import Payment, PaymentTransition, RspReturn, Virement
from amelipro.thirdparty.states import PaymentStatus
from amelipro.thirdparty.tracking import track_accepted
from amelipro.thirdparty.virements import virement_views

D = Decimal
LIQ_DAY = date(2026, 5, 22)  # Friday, working day 8 after 11 May (Ascension on the 14th)


def test_paid_rejected_adjusted_and_virement(app, make_professional, make_accepted_fse,
                                             tp_lookup, tp_session):
    pro = make_professional()
    other = make_professional()
    paid = make_accepted_fse(pro)
    adjusted = make_accepted_fse(pro, amo=Decimal("22.00"))  # claims more than the tariff
    unknown_code = make_accepted_fse(pro, code="ZZZ")
    twice_a = make_accepted_fse(pro, nir="180017512300101", invoice_number="A-1")
    twice_b = make_accepted_fse(pro, nir="180017512300101", invoice_number="A-2")  # same care
    not_tp = make_accepted_fse(pro, tiers_payant_amo=False)
    other_paid = make_accepted_fse(other)

    result = run_liquidation(tp_session, LiquidationConfig(batch_size=3, today=LIQ_DAY),
                             lookup=tp_lookup)
    assert result.tracked == 0  # payments were created with the FSE (make_accepted_fse)
    assert result.claimed == 6 and result.batches == 2
    assert (result.paid, result.adjusted, result.rejected) == (3, 1, 2)

    with tp_session() as s:
        by_fse = {p.fse_id: p for p in s.scalars(select(Payment))}
        assert not_tp not in by_fse
        assert by_fse[paid].status is PaymentStatus.PAID and by_fse[paid].amo_paid == Decimal("21.00")
        assert by_fse[adjusted].status is PaymentStatus.ADJUSTED
        assert by_fse[adjusted].amo_paid == Decimal("21.00")
        assert by_fse[unknown_code].status is PaymentStatus.REJECTED
        assert by_fse[unknown_code].reject_code == "AMP 001"
        assert by_fse[twice_a].status is PaymentStatus.PAID
        assert by_fse[twice_b].status is PaymentStatus.REJECTED
        assert by_fse[twice_b].reject_code == "2900 005"
        assert by_fse[paid].acknowledged_on == date(2026, 5, 11)
        assert by_fse[paid].due_date == date(2026, 5, 21)
        assert by_fse[paid].paid_on == LIQ_DAY

        virements = {v.professional_id: v for v in s.scalars(select(Virement))}
        (mine,) = virement_views(s, pro)
        assert mine.amount == Decimal("63.00") and mine.fse_count == 3
        assert virement_views(s, other)[0].amount == Decimal("21.00")
        assert mine.reference == virements[pro.id].reference == f"AMP20260522{pro.id:06d}001"
        assert by_fse[other_paid].virement_id == virements[other.id].id

        history = s.scalars(select(PaymentTransition).where(
            PaymentTransition.payment_id == by_fse[twice_b].id).order_by(PaymentTransition.id)).all()
        assert [(t.event, t.to_status) for t in history] == [
            ("acknowledge", "acceptee"), ("liquidate", "liquidee"), ("reject", "rejetee")]
        assert "2900 005" in history[-1].cause

        cursors = s.scalars(select(RspReturn.cursor).order_by(RspReturn.cursor)).all()
        assert cursors == list(range(1, 7))
        codes = s.scalar(select(RspReturn.codes_json).where(RspReturn.fse_id == unknown_code))
        assert "AMP 001" in codes


def test_second_run_pays_nothing_again(app, make_professional, make_accepted_fse, tp_lookup,
                                       tp_session):
    pro = make_professional()
    for _ in range(4):
        make_accepted_fse(pro)
    first = run_liquidation(tp_session, LiquidationConfig(today=LIQ_DAY), lookup=tp_lookup)
    again = run_liquidation(tp_session, LiquidationConfig(today=LIQ_DAY), lookup=tp_lookup)
    assert first.claimed == 4 and again.claimed == 0 and again.tracked == 0
    with tp_session() as s:
        assert s.scalar(select(func.count()).select_from(RspReturn)) == 4
        assert [v.amount for v in virement_views(s, pro)] == [Decimal("84.00")]


def test_weekend_liquidation_is_valued_next_working_day(app, make_professional, make_accepted_fse,
                                                        tp_lookup, tp_session):
    pro = make_professional()
    make_accepted_fse(pro)
    run_liquidation(tp_session, LiquidationConfig(today=date(2026, 5, 23)), lookup=tp_lookup)
    with tp_session() as s:
        # Saturday 23 May -> Tuesday 26 May (Whit Monday 25 May is not a working day)
        assert s.scalar(select(Virement.value_date)) == date(2026, 5, 26)


def test_patient_file_rejects_unknown_patient_and_missing_exemption(
        app, make_professional, make_accepted_fse, tp_lookup, tp_session):
    from amelipro.beneficiaries.domain import Cover, CoverPeriod, PatientRights, Period

    pro = make_professional()
    known_nir = "180017512399901"
    unknown = make_accepted_fse(pro, nir="280017512399902")
    ald = make_accepted_fse(pro, nir=known_nir, exemption="ald", amo=Decimal("30.00"), rate=100)
    alsace = make_accepted_fse(pro, nir=known_nir, nature="13", invoice_number="AL-1",
                               care_date=date(2026, 5, 12))
    person = PatientRights(nir=known_nir, rank=1, birth_date=date(1980, 1, 1),
                           rights=(Period(date(2020, 1, 1)),),
                           covers=(CoverPeriod(Cover.C2S, Period(date(2020, 1, 1))),))
    patients = StaticPatientFile({(known_nir, 1): person})
    run_liquidation(tp_session, LiquidationConfig(today=LIQ_DAY), lookup=tp_lookup,
                    patients=patients)
    with tp_session() as s:
        codes = dict(s.execute(select(Payment.fse_id, Payment.reject_code)).all())
    assert codes == {unknown: "0250 050", ald: "0450 072", alsace: "0317 051"}


def test_corrected_resubmission_links_the_rejected_payment(app, make_professional,
                                                           make_accepted_fse, tp_lookup, tp_session):
    pro = make_professional()
    bad = make_accepted_fse(pro, code="ZZZ")
    run_liquidation(tp_session, LiquidationConfig(today=LIQ_DAY), lookup=tp_lookup)
    fixed = make_accepted_fse(pro, corrects_id=bad)
    run_liquidation(tp_session, LiquidationConfig(today=LIQ_DAY), lookup=tp_lookup)
    with tp_session() as s:
        old = s.scalar(select(Payment).where(Payment.fse_id == bad))
        new = s.scalar(select(Payment).where(Payment.fse_id == fixed))
        assert old.status is PaymentStatus.RESUBMITTED and old.replaced_by_fse_id == fixed
        assert new.status is PaymentStatus.PAID
        events = [t.event for t in old.transitions]
        assert events == ["acknowledge", "liquidate", "reject", "resubmit"]


def test_history_is_append_only(app, make_professional, make_accepted_fse, tp_session):
    pro = make_professional()
    make_accepted_fse(pro)
    with tp_session() as s:
        track_accepted(s)
    with tp_session() as s:
        with pytest.raises(Exception, match="append-only"):
            s.execute(text("UPDATE tp_transition SET cause = 'x'"))
            s.flush()
        s.rollback()
        with pytest.raises(Exception, match="append-only"):
            s.execute(text("DELETE FROM tp_transition"))
        s.rollback()


def test_empty_batch(app, tp_session, tp_lookup):
    with tp_session() as s:
        assert liquidate_batch(s, LiquidationConfig(), lookup=tp_lookup).claimed == 0


def test_medicine_not_reimbursable_at_the_date_of_care_is_rejected_0470_049(
        app, make_professional, make_accepted_fse, tp_lookup, tp_session):
    """A box delisted on the date of care (the reference changed after the FSE was accepted):
    0470 049 with its message and hint; a box without a known price: AMP 001."""
    from dataclasses import replace

    from amelipro.reference.facts import MedicineFact

    lookup = replace(tp_lookup, medicines={
        "3400935955838": MedicineFact("3400935955838", "DOLIPRANE 1000 mg", False, None, D("1.16")),
        "3400930000000": MedicineFact("3400930000000", "BOÎTE SANS PRIX", True, 65, None),
    })
    pro = make_professional()
    delisted = make_accepted_fse(pro, kind="medicament", code="3400935955838", amo=D("1.41"),
                                 charged=D("2.18"), base=D("2.18"), rate=65)
    no_price = make_accepted_fse(pro, kind="medicament", code="3400930000000", amo=D("1.41"),
                                 charged=D("2.18"), base=D("2.18"), rate=65)
    result = run_liquidation(tp_session, LiquidationConfig(today=LIQ_DAY), lookup=lookup)
    assert (result.paid, result.rejected) == (0, 2)
    with tp_session() as s:
        by_fse = {p.fse_id: p for p in s.scalars(select(Payment))}
        assert by_fse[delisted].reject_code == "0470 049"
        assert by_fse[no_price].reject_code == "AMP 001"
        codes = s.scalar(select(RspReturn.codes_json).where(RspReturn.fse_id == delisted))
        assert "0470 049" in codes and "interdite" in codes
