"""The one error shape: each source's dict form keeps the keys, and their order, it wrote."""

from __future__ import annotations

import json

from amelipro.fse.errors import INVOICE_DUPLICATE
from amelipro.fse.rules.core import RuleViolation
from amelipro.issues import FORM, FORM_RULE, INVOICE, LOT_REFUSAL, RULE_PLACED, Issue
from amelipro.xmlcore import errors as xml_errors
from amelipro.xmlcore.schemas import XmlIssue


def keys(issue: Issue) -> list[str]:
    return list(issue.as_dict())


def test_xml_issue_writes_only_what_it_knows():
    assert XmlIssue is Issue
    bare = Issue("XSD-012", "Document non conforme au schéma.")
    assert keys(bare) == ["code", "message"]
    full = Issue.of(xml_errors.XSD_MISSING, "NIR", "/FSE/Patient", 7)
    assert keys(full) == ["code", "message", "hint", "detail", "path", "line"]


def test_rule_violation_keeps_its_order_before_and_after_placing():
    rule = RuleViolation("FSE-R-010", "m", "h", "lines[2].amounts", "d", line=2, cpam_code="A12",
                         expected={"amo": "1.00"})
    assert keys(rule.issue()) == ["code", "message", "hint", "path", "detail", "line", "cpam_code", "expected"]
    placed = rule.issue().laid_out(RULE_PLACED, path="/Lot/FSE[1]/Lignes", line=40,
                                   field="lines[2].amounts", fse_line=2)
    assert keys(placed) == ["code", "message", "hint", "path", "detail", "cpam_code", "expected",
                            "fse_line", "field", "line"]
    unlocated = RuleViolation("FSE-R-001", "m", "", "", "").issue().laid_out(RULE_PLACED, path="/FSE", field="")
    assert unlocated.as_dict() == {"code": "FSE-R-001", "message": "m", "hint": "", "path": "/FSE",
                                   "detail": "", "field": ""}


def test_other_sources_orders():
    reused = Issue.of(INVOICE_DUPLICATE, "déjà", "/Lot/FSE[2]/Facture/Numero", None,
                      field="invoice_number", extras=(("original_position", 1),), layout=INVOICE)
    assert keys(reused) == ["code", "message", "hint", "field", "path", "detail", "original_position"]
    refusal = Issue.of(xml_errors.SIG_MISSING, path="/Lot/FSE[1]", line=3, fse=1, element_id="",
                       layout=LOT_REFUSAL)
    assert keys(refusal) == ["code", "message", "hint", "path", "line", "fse", "element_id"]
    form = Issue.of(xml_errors.XSD_VALUE, field="patient.nir", layout=FORM)
    assert keys(form) == ["code", "message", "hint", "field"]
    form_rule = Issue("FSE-R-3", "m", "h", "", field="care_date", extras=(("cpam_code", None),),
                      layout=FORM_RULE)
    assert keys(form_rule) == ["code", "message", "hint", "detail", "field"]


def test_stored_form_round_trips_exactly():
    stored = {"code": "FSE-R-7", "message": "m", "hint": "", "path": "/Lot/FSE[1]", "detail": "",
              "cpam_code": "A1", "expected": {"amo": "2.00"}, "fse_line": 1, "field": "lines[1].code",
              "line": 12}
    again = Issue.from_dict(json.loads(json.dumps(stored)))
    assert json.dumps(again.as_dict()) == json.dumps(stored)
    assert (again.field, again.line, again.cpam_code, again.extra("expected")) == \
        ("lines[1].code", 12, "A1", {"amo": "2.00"})
    assert Issue.from_any(again) is again
