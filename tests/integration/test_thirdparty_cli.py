"""`amelipro thirdparty liquidate` and `amelipro thirdparty demo`."""

from __future__ import annotations

from sqlalchemy import func, select

from amelipro.thirdparty.models import Payment, RspReturn


def test_demo_then_liquidate(runner, make_professional, tp_session):
    pro = make_professional(login="cli.medecin")
    out = runner.invoke(args=["thirdparty", "demo", "cli.medecin", "--count", "7",
                              "--first-day", "2026-05-04"])
    assert out.exit_code == 0, out.output
    assert "7 FSE acceptées créées" in out.output
    out = runner.invoke(args=["thirdparty", "liquidate", "--date", "2026-06-01", "--batch-size", "3"])
    assert out.exit_code == 0, out.output
    # the demo FSE came with their payments, as a recorded lot does: nothing left to take in
    assert "FSE suivies : 0 nouvelles ; à liquider : 7." in out.output
    assert "Liquidées : 7" in out.output
    with tp_session() as s:
        assert s.scalar(select(func.count()).select_from(RspReturn)) == 7
        assert s.scalar(select(func.count()).select_from(Payment)
                        .where(Payment.professional_id == pro.id)) == 7
    again = runner.invoke(args=["thirdparty", "liquidate"])
    assert again.exit_code == 0 and "Liquidées : 0" in again.output


def test_liquidation_on_a_past_date_pays_only_what_was_received_by_then(runner, make_professional, tp_session):
    make_professional(login="cli.medecin")
    # one FSE a day from 4 May, each received the day after its care: 5 May ... 11 May
    out = runner.invoke(args=["thirdparty", "demo", "cli.medecin", "--count", "7",
                              "--first-day", "2026-05-04"])
    assert out.exit_code == 0, out.output
    with tp_session() as s:
        received = sorted(s.scalars(select(Payment.acknowledged_on)))
    cutoff = received[2]  # the third one's day
    out = runner.invoke(args=["thirdparty", "liquidate", "--date", cutoff.isoformat()])
    assert out.exit_code == 0, out.output
    assert "à liquider : 3." in out.output and "Liquidées : 3" in out.output
    with tp_session() as s:
        paid_days = list(s.scalars(select(Payment.acknowledged_on).join(RspReturn, RspReturn.payment_id == Payment.id)))
        assert sorted(paid_days) == received[:3]
        assert all(day <= cutoff for day in paid_days)


def test_bad_arguments(runner):
    assert runner.invoke(args=["thirdparty", "liquidate", "--date", "01/06/2026"]).exit_code != 0
    out = runner.invoke(args=["thirdparty", "demo", "personne"])
    assert out.exit_code != 0 and "Professionnel inconnu" in out.output
