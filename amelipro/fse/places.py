"""Where an error is, said in words for a web page: « ligne 2 — ECG (DEQP003), montants ».

The XPath (``path``) stays in the downloadable ARL and the API's JSON; pages say the place
from the rule's field (``field``, "lines[2].amounts.charged", or ``path`` for rule errors
not yet placed) and, when the FSE's lines are known, the line's label and code. Pure module.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from amelipro.issues import Issue

#: The care sheet's fields, in words (a rule's field path, without the line).
FIELD_WORDS = {
    "": "feuille de soins",
    "id": "feuille de soins",
    "lines": "lignes de soins",
    "invoice_number": "numéro de facture",
    "invoice_date": "date de facture",
    "patient": "patient",
    "patient.nir": "NIR du patient",
    "patient.rank": "rang du bénéficiaire",
    "patient.birth_date": "date de naissance du patient",
    "exemption": "exonération",
    "nature": "nature d'assurance",
    "professional": "professionnel",
    "professional.specialty": "spécialité du professionnel",
    "prescriber_rpps": "prescripteur (RPPS)",
    "prescription_date": "date de prescription",
    "tiers_payant_amc": "tiers payant complémentaire",
    "tiers_payant_amo": "tiers payant obligatoire",
    "totals": "totaux",
    "care_date": "date des soins",
    "care_time": "heure des soins",
    "code": "code",
    "quantity": "quantité",
    "coefficient": "coefficient",
    "amounts": "montants",
    "amounts.charged": "montant facturé",
    "amounts.base": "base de remboursement",
    "amounts.rate": "taux",
    "amounts.amo": "part AMO",
    "second_act": "second acte du jour",
    "modifiers": "modificateurs",
}

_LINE = re.compile(r"^lines\[(\d+)\]\.?(.*)$")
_IN_LOT = re.compile(r"^/Lot/FSE\[(\d+)\]")


def _xpath_words(path: str) -> str:
    """A lot-level error placed by XPath only (schema, signature): which FSE of the lot."""
    found = _IN_LOT.match(path)
    if found:
        return f"feuille de soins n° {found.group(1)} du lot"
    return "lot" if path.startswith("/Lot") else "document"


def _field_words(field: str) -> str:
    if field in FIELD_WORDS:
        return FIELD_WORDS[field]
    head = field.split(".")[0]
    return FIELD_WORDS.get(head, "feuille de soins")


def place(error: Issue | Mapping[str, Any], lines: Sequence[Mapping[str, Any]] | None = None) -> str:
    """The place of one error in words; the line's label and code when ``lines`` has it."""
    fields = error if isinstance(error, Mapping) else vars(error)
    field = fields.get("field")
    if field is None:
        path = str(fields.get("path") or "")
        if path.startswith("/"):  # an XPath: never shown on a page
            return _xpath_words(path)
        field = path
    match = _LINE.match(str(field))
    if not match:
        return _field_words(str(field))
    number, rest = int(match.group(1)), match.group(2)
    said = f"ligne {number}"
    line = next((entry for entry in lines or () if entry.get("number") == number), None)
    if line is not None and line.get("code"):
        label = line.get("label")
        said += f" — {label} ({line['code']})" if label else f" — {line['code']}"
    return f"{said}, {_field_words(rest)}" if rest else said
