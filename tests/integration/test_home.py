"""The home dashboard sums up the professional's own activity, never another's."""

from __future__ import annotations

import re
from datetime import date

from amelipro.thirdparty.liquidation import LiquidationConfig, run_liquidation


def _facts(html: str) -> dict[str, str]:
    """{label: value} of the summary panels."""
    return {label: value for label, value in re.findall(
        r"<dt>([^<]+)</dt>\s*<dd><strong>([^<]+)</strong>", html)}


def test_billing_panel_counts_own_lots_only(client, auth, make_professional, store_lot):
    alice, bruno = make_professional(login="alice"), make_professional(login="bruno")
    store_lot(alice, statuses=("acceptee", "acceptee", "rejetee"))
    store_lot(alice, statuses=("doublon",))
    store_lot(bruno, statuses=("rejetee", "rejetee", "rejetee", "rejetee"))
    auth.login("alice")
    html = client.get("/").get_data(as_text=True)
    facts = _facts(html)
    assert facts["Lots reçus"] == "2"
    assert facts["FSE acceptées"] == "2" and "42,00" in html  # 2 × 21 € of AMO part
    assert facts["FSE rejetées"] == "1" and "à corriger et renvoyer" in html
    assert facts["Déjà reçues"] == "1"
    client.post("/deconnexion", data={"csrf_token": auth.csrf("/")})
    auth.login("bruno")
    facts = _facts(client.get("/").get_data(as_text=True))
    assert (facts["Lots reçus"], facts["FSE acceptées"], facts["FSE rejetées"]) == ("1", "0", "4")


def test_payments_panel(app, client, auth, make_professional, make_accepted_fse, tp_lookup, tp_session):
    app.config["THIRDPARTY_TODAY"] = "2026-05-29"
    alice, bruno = make_professional(login="alice"), make_professional(login="bruno")
    for i in range(3):
        make_accepted_fse(alice, invoice_number=f"A-{i}")
    make_accepted_fse(alice, invoice_number="A-REJ", code="ZZZ")
    make_accepted_fse(bruno, invoice_number="B-1")
    run_liquidation(tp_session, LiquidationConfig(today=date(2026, 5, 22)), lookup=tp_lookup)
    auth.login("alice")
    html = client.get("/").get_data(as_text=True)
    facts = _facts(html)
    assert facts["Payé"] == "63,00\u00a0€"  # 3 × 21 €
    assert facts["Rejeté"] == "21,00\u00a0€"
    assert facts["Pénalités de retard dues"] == "3,00\u00a0€"  # paid on working day 8: 1 € each
    assert 'href="/paiements/"' in html


def test_operator_without_rpps_sees_no_activity_panels(client, auth, make_professional):
    make_professional(login="ops", rpps=None, role="operator")
    auth.login("ops")
    html = client.get("/").get_data(as_text=True)
    assert "Tableau de bord" in html and "Lots reçus" not in html and "En attente" not in html


def test_payments_panel_takes_in_newly_accepted_fse(app, client, auth, make_professional, make_accepted_fse):
    app.config["THIRDPARTY_TODAY"] = "2026-05-29"
    alice = make_professional(login="alice")
    make_accepted_fse(alice, invoice_number="A-NEW")  # accepted, never liquidated nor displayed
    auth.login("alice")
    html = client.get("/").get_data(as_text=True)
    assert _facts(html)["En attente"] == "21,00\u00a0€" and "1 FSE" in html
