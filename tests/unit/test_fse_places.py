"""Error places in words on pages (the XPath stays in the ARL and the API)."""

from amelipro.fse.places import place

LINES = [{"number": 1, "code": "G", "label": "Consultation"}, {"number": 2, "code": "DEQP003", "label": "ECG"}]


def test_a_line_field_names_the_line_its_act_and_the_field():
    error = {"field": "lines[2].amounts", "path": "/Lot/FSE[1]/Lignes/ActeCCAM[1]/Montants"}
    assert place(error, LINES) == "ligne 2 — ECG (DEQP003), montants"
    assert place({"field": "lines[2].amounts.charged"}, LINES) == "ligne 2 — ECG (DEQP003), montant facturé"
    assert place({"field": "lines[2].amounts"}) == "ligne 2, montants"  # lines unknown
    assert place({"field": "lines[9].code"}, LINES) == "ligne 9, code"  # not among the lines
    assert place({"field": "lines[1]"}, LINES) == "ligne 1 — Consultation (G)"


def test_sheet_fields_and_xpaths_in_words():
    assert place({"field": "patient.nir"}) == "NIR du patient"
    assert place({"field": "prescription_date"}) == "date de prescription"
    assert place({"field": "patient.unknown_thing"}) == "patient"
    assert place({"field": "who.knows"}) == "feuille de soins"
    assert place({"path": "/Lot/FSE[3]/Signature"}) == "feuille de soins n° 3 du lot"
    assert place({"path": "/Lot/Entete"}) == "lot"
    assert place({"path": "/"}) == "document"
    assert place({"path": "lines[2].quantity"}, LINES) == "ligne 2 — ECG (DEQP003), quantité"
    assert "/" not in place({"path": "/Lot/FSE[1]/Lignes/ActeNGAP[2]/Code"})
