"""The home dashboard sums up the professional's own activity, never another's."""

from __future__ import annotations

import re
from datetime import date

from amelipro.thirdparty.demo import DemoFse, insert_accepted, nir_with_key
from amelipro.thirdparty.liquidation import LiquidationConfig, run_liquidation
from amelipro.thirdparty.tracking import track_accepted
from tests.fixtures_thirdparty import TP_ACK_AT, TP_CARE_DATE


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
    assert facts["FSE rejetées à corriger"] == "1" and "à corriger et renvoyer" in html
    assert facts["Déjà reçues"] == "1"
    client.post("/deconnexion", data={"csrf_token": auth.csrf("/")})
    auth.login("bruno")
    facts = _facts(client.get("/").get_data(as_text=True))
    assert (facts["Lots reçus"], facts["FSE acceptées"], facts["FSE rejetées à corriger"]) == ("1", "0", "4")


def test_rejected_fse_corrected_and_accepted_are_not_to_correct(client, auth, make_professional, store_lot,
                                                                 db_session):
    from amelipro.fse.models import StoredFse

    alice = make_professional(login="alice")
    _, (r1, r2, r3) = store_lot(alice, statuses=("rejetee", "rejetee", "rejetee"))
    _, (a1, a2) = store_lot(alice, statuses=("acceptee", "acceptee"))
    other = make_professional(login="bruno")
    _, (b1,) = store_lot(other, statuses=("acceptee",))
    # a1 is the corrected resubmission of r1 (linked); a2 carries r2's invoice number again;
    # bruno's accepted FSE with r3's number is not alice's correction.
    db_session.get(StoredFse, a1).corrects_id = r1
    db_session.get(StoredFse, a2).invoice_number = db_session.get(StoredFse, r2).invoice_number
    db_session.get(StoredFse, b1).invoice_number = db_session.get(StoredFse, r3).invoice_number
    db_session.commit()
    auth.login("alice")
    html = client.get("/").get_data(as_text=True)
    assert _facts(html)["FSE rejetées à corriger"] == "1"
    assert "à corriger et renvoyer" in html


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


def test_operator_home_watches_the_whole_service(app, client, auth, make_professional, store_lot,
                                                 make_accepted_fse, reference_demo, db_session):
    from amelipro import audit

    app.config["THIRDPARTY_TODAY"] = "2026-05-29"
    alice, bruno = make_professional(login="alice"), make_professional(login="bruno")
    make_professional(login="ops", rpps=None, role="operator")
    store_lot(alice, statuses=("acceptee", "rejetee"))
    store_lot(bruno, statuses=("acceptee", "acceptee", "acceptee", "rejetee"))
    make_accepted_fse(alice, invoice_number="TP-1")  # acknowledged 11 May, due 21 May: overdue
    make_accepted_fse(bruno, invoice_number="TP-2")
    audit.record(db_session, "lot.refused", actor_login="alice", status=422)
    db_session.commit()
    for _ in range(2):
        auth.login("alice", password="faux-mot-de-passe")
    auth.login("ops")
    html = client.get("/").get_data(as_text=True)
    facts = _facts(html)
    assert facts["Lots enregistrés"] == "2" and facts["FSE acceptées"] == "4" and facts["FSE rejetées"] == "2"
    assert facts["Lots refusés (ARL négatif)"] == "1"
    # every accepted tiers-payant FSE not yet liquidated, whoever sent it: 1 + 3 stored, 2 made
    assert facts["FSE à liquider"] == "6" and "la plus ancienne reçue le 11/05/2026" in html
    assert facts["Dernière liquidation"] == "jamais"
    assert re.fullmatch(r"\d\d/\d\d/\d{4} \d\d:\d\d", facts["BDPM (médicaments)"])
    assert "Référentiels : derniers imports réussis" in html
    assert facts["Connexions échouées"] == "2"
    assert "Facturation : 30 derniers jours" not in html  # no professional activity of its own
    # a professional never sees the service-wide panels
    auth.logout()
    auth.login("alice")
    html = client.get("/").get_data(as_text=True)
    assert "tous les professionnels" not in html and "Connexions échouées" not in html


def test_operator_backlog_after_liquidation(app, client, auth, make_professional, make_accepted_fse,
                                            tp_lookup, tp_session):
    app.config["THIRDPARTY_TODAY"] = "2026-05-29"
    pro = make_professional(login="alice")
    make_professional(login="ops", rpps=None, role="operator")
    for i in range(3):
        make_accepted_fse(pro, invoice_number=f"A-{i}")
    run_liquidation(tp_session, LiquidationConfig(today=date(2026, 5, 22)), lookup=tp_lookup)
    with tp_session() as s:  # an FSE recorded before payments came with their lot (no payment)
        insert_accepted(s, [DemoFse(professional_id=pro.id, invoice_number="A-LATER", care_date=TP_CARE_DATE,
                                    received_at=TP_ACK_AT, nir=nir_with_key("1800175999001"))])
        s.commit()
    auth.login("ops")
    facts = _facts(client.get("/").get_data(as_text=True))
    assert facts["FSE à liquider"] == "1" and facts["Dernière liquidation"] == "22/05/2026"
    assert facts["En retard de paiement"] == "0"  # the unfollowed one has no due date yet
    # once followed (taken in by the backfill), it is late: due 21 May
    with tp_session() as s:
        track_accepted(s, professional_id=pro.id)
    facts = _facts(client.get("/").get_data(as_text=True))
    assert facts["FSE à liquider"] == "1" and facts["En retard de paiement"] == "1"


def test_operator_home_reports_failed_imports(client, auth, make_professional, reference_demo, db_session):
    from amelipro.db import utcnow
    from amelipro.reference.models import ImportRun

    make_professional(login="ops", rpps=None, role="operator")
    db_session.add(ImportRun(dataset="lpp", status="failed", started_at=utcnow(), finished_at=utcnow(),
                             anomalies='[{"file": "", "line": 0, "skipped": true, "reason": "import interrompu"}]'))
    db_session.commit()
    auth.login("ops")
    html = client.get("/").get_data(as_text=True)
    facts = _facts(html)
    assert facts["Imports échoués (20 derniers)"] == "1"
    assert 'href="/referentiels/imports"' in html
