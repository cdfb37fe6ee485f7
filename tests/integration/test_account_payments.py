"""Bank accounts and tiers payant: liquidation pays only to an account in force and records it;
Paiements pages and the returns feed show it masked; statements credited elsewhere are flagged."""

from __future__ import annotations

from datetime import date
from io import BytesIO
from pathlib import Path

from sqlalchemy import select

from amelipro.account.banking import BankInput, register_bank_account
from amelipro.account.models import BankAccount
from amelipro.auth.models import Professional
from amelipro.thirdparty.liquidation import (
    LiquidationConfig,
    pending_count,
    pending_count_all,
    run_liquidation,
)
from amelipro.thirdparty.models import BankStatementLine, Payment, Virement
from amelipro.thirdparty.reconciliation import virement_reference
from amelipro.thirdparty.states import PaymentStatus

LIQ_DAY = date(2026, 5, 22)
NEXT_LIQ = date(2026, 5, 29)
NEW = BankInput("Nouveau compte", "FR1420041010050500013M02606", "PSSTFRPPLYO")
CAMT = Path(__file__).resolve().parents[1] / "data" / "thirdparty" / "camt053_mixed.xml"


def test_no_bank_account_no_payment_until_one_is_in_force(app, make_professional, make_accepted_fse,
                                                          tp_lookup, tp_session):
    without = make_professional("sans.compte", bank=False)
    paid = make_professional("avec.compte")
    waiting = make_accepted_fse(without)
    make_accepted_fse(paid)
    result = run_liquidation(tp_session, LiquidationConfig(today=LIQ_DAY), lookup=tp_lookup)
    assert result.claimed == 1
    with tp_session() as s:
        payment = s.scalar(select(Payment).where(Payment.fse_id == waiting))
        assert payment.status is PaymentStatus.ACCEPTED and payment.virement_id is None
        assert pending_count(s, LIQ_DAY) == 0 and pending_count_all(s) == 1
        # an account whose cooling-off ends after the liquidation day does not count yet
        register_bank_account(s, without.id, NEW, NEXT_LIQ, "test")
        s.commit()
    assert run_liquidation(tp_session, LiquidationConfig(today=LIQ_DAY), lookup=tp_lookup).claimed == 0
    assert run_liquidation(tp_session, LiquidationConfig(today=NEXT_LIQ), lookup=tp_lookup).claimed == 1
    with tp_session() as s:
        virement = s.scalar(select(Virement).where(Virement.professional_id == without.id))
        assert virement.bank_account.iban == NEW.iban


def test_each_virement_records_the_account_in_force_that_day(client, auth, api_token, make_professional,
                                                            make_accepted_fse, tp_lookup, tp_session):
    pro = make_professional("deux.comptes")
    make_accepted_fse(pro, invoice_number="V-1")
    run_liquidation(tp_session, LiquidationConfig(today=LIQ_DAY), lookup=tp_lookup)
    with tp_session() as s:
        register_bank_account(s, pro.id, NEW, date(2026, 5, 26), "test")  # after a cooling-off
        s.commit()
    make_accepted_fse(pro, invoice_number="V-2", nir="180017512399901")
    run_liquidation(tp_session, LiquidationConfig(today=NEXT_LIQ), lookup=tp_lookup)
    with tp_session() as s:
        accounts = {v.value_date: v.bank_account.iban for v in s.scalars(
            select(Virement).where(Virement.professional_id == pro.id))}
    assert accounts == {LIQ_DAY: "FR7630006000011234567890189", NEXT_LIQ: NEW.iban}
    auth.login("deux.comptes")
    page = client.get("/paiements/virements").get_data(as_text=True)
    assert "FR76 •••• 0189" in page and "FR14 •••• 2606" in page and "3000600001" not in page
    with tp_session() as s:
        payment_id = s.scalar(select(Payment.id).where(Payment.invoice_number == "V-2"))
    detail = client.get(f"/paiements/factures/{payment_id}").get_data(as_text=True)
    assert 'data-testid="payment-account">FR14 •••• 2606<' in detail
    headers = {"Authorization": f"Bearer {api_token(pro)}"}
    feed = client.get("/api/v1/returns", headers=headers).get_json()
    assert [r["virement"]["bank_account"] for r in feed["returns"]] == ["FR76 •••• 0189", "FR14 •••• 2606"]
    xml = client.get("/api/v1/returns", headers={**headers, "Accept": "application/xml"}).get_data(as_text=True)
    assert "<Compte>FR14 •••• 2606</Compte>" in xml
    virements = client.get("/api/v1/virements", headers=headers).get_json()["virements"]
    assert {v["bank_account"] for v in virements} == {"FR76 •••• 0189", "FR14 •••• 2606"}


def test_returns_feed_xml_with_the_account_is_valid(app, make_professional, make_accepted_fse, tp_lookup,
                                                    tp_session):
    from lxml import etree

    from amelipro.thirdparty import rsp
    from amelipro.thirdparty.services import returns_since

    pro = make_professional()
    make_accepted_fse(pro)
    run_liquidation(tp_session, LiquidationConfig(today=LIQ_DAY), lookup=tp_lookup)
    with tp_session() as s:
        records, cursor = returns_since(s, s.get(Professional, pro.id), 0)
    assert records[0].bank_account == "FR76 •••• 0189"
    xsd = Path(__file__).resolve().parents[2] / "xsd" / rsp.RSP_XSD
    doc = etree.fromstring(rsp.feed_xml(records, cursor))
    etree.XMLSchema(etree.parse(str(xsd))).assertValid(doc)
    assert doc.find(f".//{{{rsp.RSP_NS}}}Compte").text == "FR76 •••• 0189"


def _upload(client, auth, data: bytes, name: str):
    token = auth.csrf("/paiements/releves")
    return client.post("/paiements/releves", data={"csrf_token": token, "statement_file": (BytesIO(data), name)},
                       content_type="multipart/form-data")


def _camt(iban: str, ref: str) -> bytes:
    data = CAMT.read_text().replace("FR7630001007941234567890185", iban)
    for key, value in {"{{AMOUNT_1}}": "21.00", "{{REF_1}}": ref, "{{AMOUNT_2}}": "23.00",
                       "{{REF_2_SPACED}}": "X", "{{AMOUNT_6}}": "103.00",
                       "{{AMOUNT_6A}}": "40.00", "{{REF_6A}}": "AMP20990101000000001"}.items():
        data = data.replace(key, value)
    return data.encode()


def test_statement_credited_to_another_account_is_flagged(client, auth, make_professional,
                                                          make_accepted_fse, tp_lookup, tp_session):
    pro = make_professional("releve")
    make_accepted_fse(pro)
    run_liquidation(tp_session, LiquidationConfig(today=LIQ_DAY), lookup=tp_lookup)
    ref = virement_reference(pro.id, LIQ_DAY)
    auth.login("releve")
    own = _upload(client, auth, _camt("FR7630006000011234567890189", ref), "own.xml")
    assert own.status_code == 302
    html = client.get(own.headers["Location"]).get_data(as_text=True)
    assert 'data-testid="other-account"' not in html
    other = _upload(client, auth, _camt("FR7630001007941234567890185", ref + " "), "other.xml")
    assert other.status_code == 302
    html = client.get(other.headers["Location"]).get_data(as_text=True)
    assert 'data-testid="other-account"' in html and "Autre compte" in html
    with tp_session() as s:
        flags = {(line.statement_id, line.amount > 0, line.other_account)
                 for line in s.scalars(select(BankStatementLine))}
    first, second = sorted({statement for statement, _, _ in flags})
    assert (first, True, True) not in flags
    assert (second, True, True) in flags and (second, False, True) not in flags  # debits never
    statement_id = int(other.headers["Location"].split("/")[-1].split("?")[0])
    body = client.get(f"/paiements/releves/{statement_id}")
    assert body.status_code == 200


def test_masked_account_only(app, make_professional, tp_session):
    pro = make_professional()
    with tp_session() as s:
        account = s.scalar(select(BankAccount).where(BankAccount.professional_id == pro.id))
        assert account.masked == "FR76 •••• 0189"
