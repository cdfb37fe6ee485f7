"""An FSE submitted through the API is followed to paid in the returns feed and the UI;
a rejected one shows its code and hint, and its corrected resubmission is linked."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from amelipro.clock import paris_today
from amelipro.thirdparty.liquidation import LiquidationConfig, run_liquidation
from amelipro.thirdparty.models import Payment


def _post(client, env, body):
    return client.post("/api/v1/lots", data=body, headers={
        "Authorization": f"Bearer {env.token}", "Content-Type": "application/xml"})


def test_submitted_fse_followed_to_paid(client, auth, fse_env, tp_session):
    built = fse_env.sheets(3)
    resp = _post(client, fse_env, fse_env.lot(built.sheets))
    assert resp.status_code == 201, resp.data[:500]

    # accepted at once: pending in the API before any liquidation
    pending = client.get("/api/v1/payments", headers={"Authorization": f"Bearer {fse_env.token}"})
    body = pending.get_json()
    assert body["total"] == 3 and {p["status"] for p in body["payments"]} == {"acceptee"}

    result = run_liquidation(tp_session, LiquidationConfig(today=paris_today() + timedelta(days=1)))
    assert result.claimed == 3
    feed = client.get("/api/v1/returns", headers={"Authorization": f"Bearer {fse_env.token}"}).get_json()
    assert len(feed["returns"]) == 3
    assert {r["status"] for r in feed["returns"]} == {"paye"}, feed["returns"]
    assert all(r["amounts"]["amo_paid"] == r["amounts"]["amo_claimed"] for r in feed["returns"])

    auth.login(fse_env.doctor.login)
    with tp_session() as s:
        payment_id = s.scalar(select(Payment.id).order_by(Payment.id).limit(1))
    html = client.get(f"/paiements/factures/{payment_id}").get_data(as_text=True)
    assert 'data-status="payee"' in html and 'data-event="pay"' in html


def test_rejected_then_corrected_is_linked(client, auth, fse_env, tp_session, tp_lookup):
    """The caisse rejects (no tariff in its lookup); the corrected FSE points to the original."""
    from dataclasses import replace

    built = fse_env.sheets(1)
    original = built.sheets[0]
    assert _post(client, fse_env, fse_env.lot([original], number="L-1")).status_code == 201
    # the caisse's reference knows no act: the FSE is rejected with AMP 001
    from amelipro.reference.facts import StaticReferenceLookup

    run_liquidation(tp_session, LiquidationConfig(today=paris_today()), lookup=StaticReferenceLookup())
    corrected = replace(original, id=original.id + "C", invoice_number=original.invoice_number + "C")
    resp = _post(client, fse_env, fse_env.lot([corrected], number="L-2"))
    assert resp.status_code == 201, resp.data[:500]
    run_liquidation(tp_session, LiquidationConfig(today=paris_today()))
    with tp_session() as s:
        payments = s.scalars(select(Payment).order_by(Payment.id)).all()
    assert len(payments) == 2
    first, second = payments
    assert first.reject_code == "AMP 001"
    auth.login(fse_env.doctor.login)
    html = client.get(f"/paiements/factures/{first.id}").get_data(as_text=True)
    assert 'data-code="AMP 001"' in html and "Comment corriger" in html
    assert first.status.value == "renvoyee" and first.replaced_by_fse_id == second.fse_id
    assert second.status.value == "payee"
    assert 'data-testid="replaced-by"' in html
    html = client.get(f"/paiements/factures/{second.id}").get_data(as_text=True)
    assert 'data-testid="corrects"' in html
