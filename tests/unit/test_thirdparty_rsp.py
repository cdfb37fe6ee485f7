"""RSP returns: JSON form and XML form valid against xsd/rsp/1/rsp.xsd."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from lxml import etree

from amelipro.thirdparty.rsp import RSP_NS, ReturnCode, ReturnRecord, feed_json, feed_xml

XSD = Path(__file__).resolve().parents[2] / "xsd" / "rsp" / "1" / "rsp.xsd"

PAID = ReturnRecord(
    cursor=7, fse_id=12, invoice_number="F-2026-0001", status="paye",
    liquidated_on=date(2026, 6, 2), care_date=date(2026, 5, 28), charged=Decimal("30"),
    base=Decimal("30.00"), amo_claimed=Decimal("21.00"), amo_paid=Decimal("21.00"),
    virement_reference="AMP20260602000042001", value_date=date(2026, 6, 2),
)
REJECTED = ReturnRecord(
    cursor=9, fse_id=13, invoice_number="F-2026-0002", status="rejete",
    liquidated_on=date(2026, 6, 2), care_date=None, charged=Decimal("30.00"),
    base=Decimal("30.00"), amo_claimed=Decimal("21.00"), amo_paid=Decimal("0"),
    codes=(ReturnCode("0250 050", "Assuré inconnu de la caisse.", "Vérifiez le NIR."),),
)


@pytest.fixture(scope="module")
def schema():
    return etree.XMLSchema(etree.parse(str(XSD)))


def test_xml_feed_is_valid(schema):
    xml = feed_xml([PAID, REJECTED], 9)
    doc = etree.fromstring(xml)
    schema.assertValid(doc)
    ns = {"r": RSP_NS}
    assert doc.get("suivant") == "9"
    assert doc.xpath("r:Retour[1]/r:Montants/r:Facture/text()", namespaces=ns) == ["30.00"]
    assert doc.xpath("r:Retour[2]/r:Motifs/r:Motif/r:Code/text()", namespaces=ns) == ["0250 050"]
    assert doc.xpath("r:Retour[2]/r:Virement", namespaces=ns) == []


def test_empty_feed_is_valid(schema):
    schema.assertValid(etree.fromstring(feed_xml([], 0)))


def test_schema_refuses_a_bad_status(schema):
    doc = etree.fromstring(feed_xml([PAID], 7))
    doc.find(f"{{{RSP_NS}}}Retour/{{{RSP_NS}}}Statut").text = "perdu"
    assert not schema.validate(doc)


def test_json_feed():
    body = feed_json([PAID, REJECTED], 9)
    assert body["next"] == "9"
    first, second = body["returns"]
    assert first["cursor"] == "7" and first["status"] == "paye"
    assert first["amounts"] == {"charged": "30.00", "base": "30.00", "amo_claimed": "21.00",
                                "amo_paid": "21.00"}
    assert first["virement"] == {"reference": "AMP20260602000042001", "value_date": "2026-06-02",
                                 "bank_account": None}
    with_account = feed_json([replace(PAID, bank_account="FR76 •••• 0189")], 9)["returns"][0]
    assert with_account["virement"]["bank_account"] == "FR76 •••• 0189"
    assert second["codes"][0]["code"] == "0250 050" and second["virement"] is None
