"""Paiements in Chromium: the demo doctor's tiers-payant FSE, accepted then liquidated on
22 May 2026 ("today" pinned to 29 May): totals and charts, list filtered by status, a payment's
timeline, its virement, a bank statement matched; the demo pharmacist sees none of it."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import pytest
from playwright.sync_api import expect

from amelipro.thirdparty.liquidation import LiquidationConfig, run_liquidation
from amelipro.thirdparty.reconciliation import virement_reference
from tests.browser.a11y import assert_accessible
from tests.fixtures_thirdparty import professionals_by_login

LIQ_DAY = date(2026, 5, 22)  # working day 8 after the 11 May acknowledgement: 1 € penalty each


@pytest.fixture
def payments(app, live_server, make_accepted_fse, tp_lookup, tp_session):
    """Doctor: 3 paid (63 €), 1 rejected (unknown code), 1 still pending; pharmacist: 1 paid."""
    app.config["THIRDPARTY_TODAY"] = "2026-05-29"
    pros = professionals_by_login(tp_session)
    doctor, pharmacist = pros["medecin.demo"], pros["pharmacien.demo"]
    for i in range(3):
        make_accepted_fse(doctor, invoice_number=f"CAB-{i}")
    make_accepted_fse(doctor, invoice_number="CAB-REJ", code="ZZZ")
    make_accepted_fse(pharmacist, invoice_number="PHA-SECRET")
    run_liquidation(tp_session, LiquidationConfig(today=LIQ_DAY), lookup=tp_lookup)
    make_accepted_fse(doctor, invoice_number="CAB-ATT")  # acknowledged 11 May, not paid yet
    return doctor


def test_dashboard_list_timeline_virement_statement_and_isolation(page, live_server, login, payments, tmp_path):
    login(page, "medecin.demo")
    page.get_by_role("navigation", name="Navigation principale").get_by_role("link", name="Paiements").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Paiements en tiers payant")
    expect(page.get_by_text("Mois de mai 2026 — situation au 29/05/2026.")).to_be_visible()
    totals = page.get_by_test_id("totals")
    expect(totals.locator("[data-total=paye] .amount")).to_have_text("63,00 €")
    expect(totals.locator("[data-total=paye] .count")).to_have_text("3 facture(s)")
    expect(totals.locator("[data-total=rejete] .amount")).to_have_text("21,00 €")
    expect(totals.locator("[data-total=en_attente] .count")).to_have_text("1 facture(s)")
    expect(totals.locator("[data-total=en_attente] .amount")).to_have_text("21,00 €")
    # Three server-drawn SVG charts, named for screen readers, coloured by thirdparty.css
    for name in ("Factures en attente par ancienneté (jours ouvrés)", "Paiements reçus par jour de valeur, mai 2026",
                 "Paiements reçus sur six mois (par mois de valeur)"):
        expect(page.get_by_role("img", name=name)).to_be_visible()
    ageing_bar = page.locator("svg.tp-chart rect.tp-age-2")  # 10–15 working days: the pending FSE
    expect(ageing_bar).to_have_count(1)
    assert ageing_bar.evaluate("e => getComputedStyle(e).fill") == "rgb(192, 86, 33)"
    assert float(ageing_bar.get_attribute("height")) > 0
    may_bar = page.get_by_role("img", name="Paiements reçus sur six mois (par mois de valeur)").locator("rect").last
    assert may_bar.evaluate("e => getComputedStyle(e).fill") == "rgb(29, 79, 145)"
    assert may_bar.bounding_box()["height"] > 10  # May, the only month paid, is the tallest bar
    expect(page.get_by_test_id("monthly").locator("td").last).to_have_text("63,00 €")
    expect(page.get_by_test_id("ageing").locator("tr[data-bucket='10–15'] td").nth(1)).to_have_text("1")
    expect(page.get_by_role("link", name="Facture CAB-REJ")).to_be_visible()
    assert_accessible(page)

    # The list filtered by status
    page.get_by_role("navigation", name="Paiements").get_by_role("link", name="Factures").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Factures en tiers payant")
    expect(page.get_by_test_id("summary")).to_have_text("5 facture(s), part AMO demandée 105,00 €.")
    assert_accessible(page)
    page.get_by_label("Statut").select_option(label="Rejetées")
    page.get_by_role("button", name="Filtrer").click()
    expect(page).to_have_url(re.compile(r"statut=rejetee"))
    rows = page.get_by_test_id("payments").locator("tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first.get_by_role("link")).to_have_text("CAB-REJ")
    page.get_by_label("Statut").select_option(label="Payées (y compris ajustées)")
    page.get_by_role("button", name="Filtrer").click()
    expect(page.get_by_test_id("summary")).to_have_text("3 facture(s), part AMO demandée 63,00 €.")
    expect(rows).to_have_count(3)
    expect(page.get_by_test_id("payments")).not_to_contain_text("CAB-REJ")
    expect(page.get_by_test_id("payments")).not_to_contain_text("CAB-ATT")
    with page.expect_download() as download:  # the CSV export keeps the filter
        page.get_by_role("link", name="Exporter en CSV").click()
    assert download.value.suggested_filename == "paiements-tiers-payant.csv"
    exported = Path(download.value.path()).read_text(encoding="utf-8-sig").splitlines()
    assert len(exported) == 4 and sorted(line.split(";")[1] for line in exported[1:]) == ["CAB-0", "CAB-1", "CAB-2"]

    # A paid FSE: its timeline, its penalty, its virement
    rows.get_by_role("link", name="CAB-0", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Facture CAB-0 Payée")
    timeline = page.get_by_test_id("timeline").locator("li")
    expect(timeline).to_have_count(3)
    assert [timeline.nth(i).get_attribute("data-event") for i in range(3)] == ["acknowledge", "liquidate", "pay"]
    expect(page.get_by_test_id("penalty")).to_have_text("1,00 € (forfait)")
    assert_accessible(page)
    reference = virement_reference(payments.id, LIQ_DAY)
    page.get_by_role("link", name=reference).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Virement {reference}")
    expect(page.get_by_test_id("amount")).to_have_text("63,00 €")
    fse_links = page.get_by_test_id("virement-fse").locator("tbody tr").get_by_role("link")
    expect(fse_links).to_have_text(["CAB-0", "CAB-1", "CAB-2"])
    assert_accessible(page)
    virement_url = page.url

    # The rejected one says why and how to resubmit
    page.goto(f"{live_server}/paiements/factures?statut=rejetee")
    page.get_by_role("link", name="CAB-REJ").click()
    reject = page.get_by_test_id("reject")
    expect(reject.get_by_role("heading")).to_have_text("Motif du rejet")
    expect(reject.locator("code[data-code]")).to_have_text("AMP 001")
    expect(reject).to_contain_text("Comment corriger :")
    expect(page.get_by_test_id("resubmit")).to_have_attribute("href", "/facturation/envoyer")
    payment_url = page.url

    # A bank statement (CSV): the caisse's credit matched, another credit unknown
    statement = tmp_path / "releve-mai.csv"
    statement.write_text("date;date_valeur;libelle;reference;montant\n"
                         f"22/05/2026;22/05/2026;VIR CPAM PARIS;{reference};63,00\n"
                         "23/05/2026;23/05/2026;MUTUELLE;;12,50\n", encoding="utf-8")
    page.get_by_role("link", name="← Factures").click()
    page.get_by_role("navigation", name="Paiements").get_by_role("link", name="Relevés bancaires").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Rapprochement bancaire")
    assert_accessible(page)
    page.get_by_label(re.compile(r"^Relevé bancaire")).set_input_files(statement)
    page.get_by_role("button", name="Rapprocher").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Rapprochement du relevé releve-mai.csv")
    lines = page.get_by_test_id("statement-lines").locator("tbody tr")
    expect(lines).to_have_count(2)
    expect(lines.nth(0)).to_have_attribute("data-match", "rapproche")
    expect(lines.nth(0).get_by_role("link")).to_have_text(reference)
    expect(lines.nth(1)).to_have_attribute("data-match", "inconnu")
    summary = page.get_by_test_id("match-summary")
    expect(summary.locator(".tp-total").nth(0)).to_have_text(re.compile(r"Rapprochés\s*1"))
    expect(summary.locator(".tp-total").nth(3)).to_have_text(re.compile(r"Crédits inconnus\s*1"))
    expect(page.get_by_test_id("missing")).to_contain_text("Aucun : tous les virements annoncés")
    assert_accessible(page)
    # The month's late-payment penalties: 3 × 1 € (paid on day 8) + 10 % of 21 € (day 14, unpaid)
    page.get_by_role("link", name="← Relevés bancaires").click()
    page.get_by_role("navigation", name="Paiements").get_by_role("link", name="Pénalités de retard").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Pénalités de retard — mai 2026")
    expect(page.get_by_test_id("penalty-total")).to_have_text("Total dû : 5,10 € pour 4 facture(s).")
    expect(page.get_by_test_id("penalties").locator("tbody tr").filter(has_text="CAB-ATT")).to_contain_text("impayée")
    assert_accessible(page)
    assert page.watch.failed == []
    assert page.watch.foreign == []

    # The demo pharmacist sees only his own payment; the doctor's pages answer 404
    page.get_by_role("button", name="Se déconnecter").click()
    login(page, "pharmacien.demo")
    page.goto(f"{live_server}/paiements/")
    expect(page.get_by_test_id("totals").locator("[data-total=paye] .count")).to_have_text("1 facture(s)")
    expect(page.get_by_text("Aucun rejet.")).to_be_visible()
    expect(page.locator("main")).not_to_contain_text("CAB-")
    assert_accessible(page)
    page.goto(f"{live_server}/paiements/factures")
    expect(page.get_by_test_id("payments").locator("tbody tr").get_by_role("link")).to_have_text(["PHA-SECRET"])
    page.goto(f"{live_server}/paiements/virements")
    expect(page.get_by_test_id("virements")).not_to_contain_text(reference)
    assert_accessible(page)
    for url in (payment_url, virement_url):
        page.goto(url)
        expect(page.get_by_role("alert")).to_contain_text(re.compile(r"introuvable", re.I))
        assert_accessible(page)
    assert page.watch.failed == [f"{payment_url} 404", f"{virement_url} 404"]
    assert page.watch.foreign == []
