"""Paiements pages: dashboard, list and CSV, timeline, rejected FSE, statements, penalties;
a professional never sees another's payments."""

from __future__ import annotations

import re
from datetime import date

import pytest

from amelipro.thirdparty.liquidation import LiquidationConfig, run_liquidation
from amelipro.thirdparty.models import Payment, Virement
from amelipro.thirdparty.reconciliation import virement_reference

LIQ_DAY = date(2026, 5, 22)  # working day 8: 1 € penalty


@pytest.fixture
def world(app, make_professional, make_accepted_fse, tp_lookup, tp_session):
    app.config["THIRDPARTY_TODAY"] = "2026-05-29"
    a, b = make_professional(login="alice"), make_professional(login="bruno")
    paid = [make_accepted_fse(a, invoice_number=f"A-{i}") for i in range(3)]
    rejected = make_accepted_fse(a, invoice_number="A-REJ", code="ZZZ")
    make_accepted_fse(b, invoice_number="B-SECRET")
    run_liquidation(tp_session, LiquidationConfig(today=LIQ_DAY), lookup=tp_lookup)
    pending = make_accepted_fse(a, invoice_number="A-WAIT")  # acknowledged 11 May, unpaid
    with tp_session() as s:
        ids = {p.fse_id: p.id for p in s.query(Payment)}
        virements = {v.professional_id: v.id for v in s.query(Virement)}
    return {"a": a, "b": b, "paid": paid, "rejected": rejected, "pending": pending, "ids": ids,
            "virements": virements}


def _no_inline_code(html: str) -> None:
    assert not re.search(r"<script(?![^>]*\bsrc=)", html), "inline script"
    assert " style=" not in html and "<style" not in html, "inline style"


def test_dashboard_totals_and_charts(client, auth, world):
    auth.login("alice")
    resp = client.get("/paiements/")
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200
    _no_inline_code(html)
    assert "thirdparty/thirdparty.css" in html and "<svg" in html
    assert 'data-total="paye"' in html and "63,00" in html  # 3 × 21 € paid in May
    assert "21,00" in html  # rejected this month
    # the pending FSE was taken in on display: 14 working days on 29 May -> bucket 10–15
    assert re.search(r'data-bucket="10–15"><td>10–15</td><td class="num">1<', html)
    assert "B-SECRET" not in html
    assert re.search(r'data-testid="monthly".*?<th scope="col" class="num">décembre 2025</th>', html, re.S)
    assert html.count("63,00") >= 2  # May 2026 in the six-month chart table too


def test_list_filters_csv_and_isolation(client, auth, world):
    auth.login("alice")
    html = client.get("/paiements/factures").get_data(as_text=True)
    _no_inline_code(html)
    for n in ("A-0", "A-1", "A-2", "A-REJ", "A-WAIT"):
        assert n in html
    assert "B-SECRET" not in html
    only_rejected = client.get("/paiements/factures?statut=rejetee").get_data(as_text=True)
    assert "A-REJ" in only_rejected and "A-0" not in only_rejected
    late = client.get("/paiements/factures?retard=1").get_data(as_text=True)
    assert "A-WAIT" in late and "A-0" in late and "A-REJ" not in late
    resp = client.get("/paiements/factures.csv?statut=payee")
    assert resp.status_code == 200 and resp.content_type.startswith("text/csv")
    text = resp.get_data(as_text=True)
    assert text.count("\r\n") == 4 and "A-REJ" not in text and "B-SECRET" not in text
    assert ";1,00" in text  # day-8 penalty
    assert client.get("/paiements/factures?du=hier").status_code == 400


def test_rejected_fse_shows_code_hint_and_resubmission(client, auth, world):
    auth.login("alice")
    pid = world["ids"][world["rejected"]]
    html = client.get(f"/paiements/factures/{pid}").get_data(as_text=True)
    _no_inline_code(html)
    assert 'data-code="AMP 001"' in html and "Comment corriger" in html
    assert 'data-testid="resubmit"' in html
    assert 'data-event="reject"' in html


def test_timeline_of_a_paid_fse(client, auth, world):
    auth.login("alice")
    html = client.get(f"/paiements/factures/{world['ids'][world['paid'][0]]}").get_data(as_text=True)
    assert [e for e in re.findall(r'data-event="(\w+)"', html)] == ["acknowledge", "liquidate", "pay"]
    assert "1,00" in html  # penalty: paid on working day 8


def test_other_professional_gets_404_everywhere(client, auth, world):
    auth.login("bruno")
    assert "A-0" not in client.get("/paiements/factures").get_data(as_text=True)
    assert client.get(f"/paiements/factures/{world['ids'][world['paid'][0]]}").status_code == 404
    assert client.get(f"/paiements/virements/{world['virements'][world['a'].id]}").status_code == 404
    assert "A-0" not in client.get("/paiements/factures.csv").get_data(as_text=True)
    assert "A-0" not in client.get("/paiements/penalites?mois=2026-05").get_data(as_text=True)


def test_login_required(client):
    for path in ("/paiements/", "/paiements/factures", "/paiements/releves", "/paiements/penalites"):
        assert client.get(path).status_code in (302, 401)


def test_virement_page(client, auth, world):
    auth.login("alice")
    html = client.get(f"/paiements/virements/{world['virements'][world['a'].id]}").get_data(as_text=True)
    assert "63,00" in html and html.count("A-") >= 3 and "A-REJ" not in html


def test_statement_upload_and_match(client, auth, world):
    auth.login("alice")
    ref = virement_reference(world["a"].id, LIQ_DAY)
    csv_body = (
        "date;date_valeur;libelle;reference;montant\n"
        f"22/05/2026;22/05/2026;VIR CPAM;{ref};63,00\n"
        "23/05/2026;23/05/2026;MUTUELLE;;12,50\n"
    ).encode()
    token = auth.csrf("/paiements/releves")
    from io import BytesIO

    resp = client.post("/paiements/releves", data={
        "csrf_token": token, "statement_file": (BytesIO(csv_body), "releve.csv")},
        content_type="multipart/form-data")
    assert resp.status_code == 302
    html = client.get(resp.headers["Location"]).get_data(as_text=True)
    assert 'data-match="rapproche"' in html and 'data-match="inconnu"' in html
    again = client.post("/paiements/releves", data={
        "csrf_token": token, "statement_file": (BytesIO(csv_body), "releve.csv")},
        content_type="multipart/form-data")
    assert again.status_code == 302 and "deja=1" in again.headers["Location"]
    virement = client.get(f"/paiements/virements/{world['virements'][world['a'].id]}").get_data(as_text=True)
    assert "22/05/2026" in virement  # received on
    bad = client.post("/paiements/releves", data={
        "csrf_token": token, "statement_file": (BytesIO(b"date;montant\n2026-05-22;abc\n"), "x.csv")},
        content_type="multipart/form-data")
    assert bad.status_code == 422 and "TP-REL-003" in bad.get_data(as_text=True)
    # bruno cannot open alice's statement
    auth.logout()
    auth.login("bruno")
    assert client.get(resp.headers["Location"]).status_code == 404


def test_penalty_statement_and_export(client, auth, world):
    auth.login("alice")
    html = client.get("/paiements/penalites?mois=2026-05").get_data(as_text=True)
    _no_inline_code(html)
    # 3 paid on day 8 (1 € each) + the unpaid one at day 14 on 29 May (10 % of 21 €)
    assert "5,10" in html
    resp = client.get("/paiements/penalites.csv?mois=2026-05")
    text = resp.get_data(as_text=True)
    assert resp.status_code == 200 and "A-WAIT" in text and text.strip().endswith("5,10")
    assert client.get("/paiements/penalites?mois=2026-13").status_code == 400


def test_camt053_upload_matched_partial_unknown_and_missing(client, auth, world, tp_session):
    from io import BytesIO
    from pathlib import Path

    auth.login("alice")
    ref = virement_reference(world["a"].id, LIQ_DAY)
    data = (Path(__file__).resolve().parents[1] / "data" / "thirdparty" / "camt053_mixed.xml").read_text()
    for key, value in {"{{AMOUNT_1}}": "40.00", "{{REF_1}}": ref, "{{AMOUNT_2}}": "23.00",
                       "{{REF_2_SPACED}}": f"{ref[:9]} {ref[9:]}", "{{AMOUNT_6}}": "103.00",
                       "{{AMOUNT_6A}}": "40.00", "{{REF_6A}}": "AMP20990101000000001"}.items():
        data = data.replace(key, value)
    token = auth.csrf("/paiements/releves")
    resp = client.post("/paiements/releves", data={
        "csrf_token": token, "statement_file": (BytesIO(data.encode()), "releve.xml")},
        content_type="multipart/form-data")
    assert resp.status_code == 302
    html = client.get(resp.headers["Location"]).get_data(as_text=True)
    matches = re.findall(r'data-position="(\d+)" data-match="(\w+)"', html)
    # 40 € (partial), then 23 € completes the 63 € virement, unknown, debit, unknown ref,
    # then the same reference again for 40 € more: over-received, shown as a difference
    assert [m for _, m in matches] == ["partiel", "rapproche", "inconnu", "ignore", "inconnu", "partiel"]
    assert "40,00" in html
    assert "Aucun : tous les virements" in html


def test_empty_pages_for_a_new_professional(client, auth, make_professional):
    make_professional(login="nouveau")
    auth.login("nouveau")
    for path in ("/paiements/", "/paiements/factures", "/paiements/virements", "/paiements/releves",
                 "/paiements/penalites"):
        resp = client.get(path)
        assert resp.status_code == 200, path
    assert "0,00" in client.get("/paiements/").get_data(as_text=True)


def test_csv_export_neutralises_formulas(client, auth, make_professional, make_accepted_fse):
    pro = make_professional(login="formule")
    make_accepted_fse(pro, invoice_number='=HYPERLINK("http://x")')
    auth.login("formule")
    text = client.get("/paiements/factures.csv").get_data(as_text=True)
    assert "'=HYPERLINK" in text
    assert ";=HYPERLINK" not in text and ';"=HYPERLINK' not in text
