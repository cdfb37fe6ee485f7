"""The FSE XML document (urn:amelipro:fse:1) ↔ the frozen values of ``domain.py``.

Two versions share the namespace, chosen by the FSE's ``version`` attribute (the schema
registry picks ``xsd/fse/1`` or ``xsd/fse/2``): version 2 adds, on lines, an optional time of
care (``Heure``) and a flag for a distinct second act of the same day (``SecondActe``). A
care sheet that uses neither is written as version 1, byte for byte as before.

Reading: :func:`read_lot_documents_each` is the submission service's call (FSE by FSE, the
lot's tree never whole), :func:`read_lot_document` the same answers at once (the whole tree
kept): safe parse, lot schema, each FSE's signature verified, its *signed content* validated
against fse.xsd and mapped to a :class:`CareSheet`, the certificate's RPPS compared to the
FSE's professional (and to the API token's owner when given). Only the verified signed
element is read (:func:`care_sheet_from_xml`).

Writing: :func:`care_sheet_to_xml` (unsigned FSE element, for the demo generator and the
client), :func:`build_lot` and :func:`document_bytes`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time
from decimal import Decimal
from typing import TypeVar

from lxml import etree

from amelipro.fse.domain import (
    Amounts,
    CareSheet,
    Exemption,
    InsuranceNature,
    Line,
    LineKind,
    PatientRef,
    ProfessionalRef,
    Totals,
)
from amelipro.xmlcore import errors as xml_errors
from amelipro.xmlcore.lot import (
    FseOutcome,
    LotHeader,
    LotReading,
    read_lot,
    read_lot_each,
    read_lot_share,
)
from amelipro.xmlcore.safe import DEFAULT_LIMITS, ParseLimits
from amelipro.xmlcore.schemas import FSE_NS, FSE_TAG, LOT_NS, LOT_TAG, SchemaRegistry, XmlIssue
from amelipro.xmlcore.signature import VerifyPolicy, VerifyResult, check_signer

F = f"{{{FSE_NS}}}"
_F_LEN = len(F)
_F_ANY = f"{F}*"
L = f"{{{LOT_NS}}}"
T = TypeVar("T")

LINE_TAGS: dict[LineKind, str] = {
    LineKind.NGAP: "ActeNGAP",
    LineKind.CCAM: "ActeCCAM",
    LineKind.MEDICINE: "Medicament",
    LineKind.DEVICE: "Dispositif",
}
LINE_KINDS: dict[str, LineKind] = {f"{F}{tag}": kind for kind, tag in LINE_TAGS.items()}

#: CareSheet field -> path below /FSE (the names used in error paths)
FIELD_PATHS: dict[str, str] = {
    "id": "",
    "invoice_number": "Facture/Numero",
    "invoice_date": "Facture/Date",
    "professional": "Professionnel",
    "professional.rpps": "Professionnel/RPPS",
    "professional.am_number": "Professionnel/NumeroAM",
    "professional.specialty": "Professionnel/Specialite",
    "professional.finess": "Professionnel/FINESS",
    "patient": "Patient",
    "patient.nir": "Patient/NIR",
    "patient.birth_date": "Patient/DateNaissance",
    "patient.rank": "Patient/Rang",
    "patient.regime": "Patient/Regime",
    "patient.caisse": "Patient/Caisse",
    "patient.centre": "Patient/Centre",
    "nature": "Assurance/Nature",
    "pathway": "Assurance/ParcoursSoins",
    "exemption": "Assurance/Exoneration",
    "prescriber_rpps": "Prescription/RPPS",
    "prescription_date": "Prescription/Date",
    "tiers_payant_amo": "TiersPayant/AMO",
    "tiers_payant_amc": "TiersPayant/AMC",
    "lines": "Lignes",
    "totals": "Totaux",
    "totals.charged": "Totaux/Facture",
    "totals.base": "Totaux/Base",
    "totals.amo": "Totaux/PartAMO",
}
#: Line field -> path below the line element
LINE_FIELD_PATHS: dict[str, str] = {
    "": "",
    "care_date": "DateSoins",
    "care_time": "Heure",
    "code": "Code",
    "coefficient": "Coefficient",
    "quantity": "Quantite",
    "second_act": "SecondActe",
    "amounts": "Montants",
    "amounts.charged": "Montants/Facture",
    "amounts.base": "Montants/Base",
    "amounts.rate": "Montants/Taux",
    "amounts.amo": "Montants/PartAMO",
}


# --- paths ---------------------------------------------------------------------------------

def field_path(sheet: CareSheet, field: str, line_number: int | None = None) -> str:
    """The path (as in error reports) of a CareSheet field, or of a line's field.

    ``field_path(sheet, "patient.nir")`` → ``/FSE/Patient/NIR``;
    ``field_path(sheet, "code", 3)`` → ``/FSE/Lignes/Medicament[2]/Code`` (the 3rd line,
    2nd medicine; the index is written only when several lines have that kind).
    """
    if line_number is None:
        rel = FIELD_PATHS[field]
        return "/FSE" + (f"/{rel}" if rel else "")
    line = sheet.lines[line_number - 1]
    same = [ln for ln in sheet.lines if ln.kind == line.kind]
    step = LINE_TAGS[line.kind]
    if len(same) > 1:
        step += f"[{same.index(line) + 1}]"
    rel = LINE_FIELD_PATHS[field]
    return f"/FSE/Lignes/{step}" + (f"/{rel}" if rel else "")


def walk(root: etree._Element, path: str) -> tuple[etree._Element, bool]:
    """The element of ``root`` (an FSE) at a path produced by :func:`field_path`, as far as
    it goes: (the deepest element reached, whether the whole path was found). The one walker
    from a path to an element (and so to its line)."""
    steps = path.strip("/").split("/")
    if not steps or steps[0] != "FSE":
        return root, False
    node = root
    for step in steps[1:]:
        name, _, index = step.partition("[")
        found = node.findall(f"{F}{name}")
        k = int(index.rstrip("]")) - 1 if index else 0
        if not 0 <= k < len(found):
            return node, False
        node = found[k]
    return node, True


def _find_path(root: etree._Element, path: str) -> etree._Element | None:
    """The element of ``root`` (an FSE) at a path produced by :func:`field_path`, or None."""
    node, complete = walk(root, path)
    return node if complete else None


# --- XML -> CareSheet ----------------------------------------------------------------------

def _children(element: etree._Element) -> dict:
    """The direct children of an element by tag, the first of a tag winning (read in
    reverse order): one dict, built by a plain iteration (no tag filter, no wrapper object
    per element: mapping 1,000 FSE costs a few ms, where ElementPath, XPath or a filtered
    ``iterchildren`` cost several times more). Only FSE-namespace tags are looked up; the
    other children (another namespace, comments: their ``tag`` is not a string) are never
    read from it."""
    return {child.tag: child for child in element[::-1]}


def _texts(element: etree._Element | None, name: str) -> dict:
    """The texts of a required group's children by tag (as :func:`_children`), each read
    once (lxml builds a new string at each access)."""
    if element is None:
        raise ValueError(f"missing {name}")
    return {child.tag: child.text for child in element[::-1]}


def _text(texts: dict, tag: str) -> str:
    """A required text (``tag`` in the FSE namespace), stripped."""
    text = texts.get(tag)
    if text is None:
        raise ValueError(f"missing {tag[_F_LEN:]}")
    return text.strip()


def _opt(texts: dict, tag: str) -> str | None:
    text = texts.get(tag)
    return text.strip() if text else None


def _bool(value: str) -> bool:
    return value in ("true", "1")


def _date(value: str) -> date:
    return date.fromisoformat(value)


def _member(members: dict[str, T], kind: Callable[[str], T], value: str) -> T:
    """An enum member by value (a dict look-up; the enum's own error when there is none)."""
    found = members.get(value)
    return found if found is not None else kind(value)


# The tags read, in the FSE namespace (one string each, not a concatenation per look-up).
(_PROFESSIONNEL, _PATIENT, _FACTURE, _ASSURANCE, _TIERS_PAYANT, _TOTAUX, _LIGNES, _PRESCRIPTION,
 _MONTANTS, _NUMERO, _DATE, _RPPS, _NUMERO_AM, _SPECIALITE, _FINESS, _NIR, _DATE_NAISSANCE, _RANG,
 _REGIME, _CAISSE, _CENTRE, _NATURE, _PARCOURS, _EXONERATION, _AMO, _AMC, _BASE, _TAUX, _PART_AMO,
 _DATE_SOINS, _CODE, _QUANTITE, _COEFFICIENT, _HEURE, _SECOND_ACTE) = (F + name for name in (
    "Professionnel", "Patient", "Facture", "Assurance", "TiersPayant", "Totaux", "Lignes", "Prescription",
    "Montants", "Numero", "Date", "RPPS", "NumeroAM", "Specialite", "FINESS", "NIR", "DateNaissance", "Rang",
    "Regime", "Caisse", "Centre", "Nature", "ParcoursSoins", "Exoneration", "AMO", "AMC", "Base", "Taux",
    "PartAMO", "DateSoins", "Code", "Quantite", "Coefficient", "Heure", "SecondActe"))
_NATURES = {member.value: member for member in InsuranceNature}
_EXEMPTIONS = {member.value: member for member in Exemption}
_ONE = Decimal("1")


def care_sheet_from_xml(signed: etree._Element) -> CareSheet:
    """Map a *verified, schema-valid* signed FSE element to a CareSheet.

    Each element's children are read in one pass (a dict by tag); the errors raised (and
    their order) are those of a field-by-field reading: ValueError for a missing element."""
    if signed.tag != FSE_TAG:
        raise ValueError("not an FSE element")
    fse = _children(signed)
    pro = _texts(fse.get(_PROFESSIONNEL), "Professionnel")  # in this order: the first missing one is reported
    pat = _texts(fse.get(_PATIENT), "Patient")
    facture = _texts(fse.get(_FACTURE), "Facture")
    assurance = _texts(fse.get(_ASSURANCE), "Assurance")
    tp = _texts(fse.get(_TIERS_PAYANT), "TiersPayant")
    totals = _texts(fse.get(_TOTAUX), "Totaux")
    lines = []
    number = 0
    lignes = fse.get(_LIGNES)
    for el in lignes if lignes is not None else ():
        tag = el.tag
        if not isinstance(tag, str):
            continue
        number += 1
        line = _children(el)
        texts = {child_tag: child.text for child_tag, child in line.items()}
        montants = line.get(_MONTANTS)
        amounts = None
        if montants is not None:
            montants = _texts(montants, "Montants")
            amounts = Amounts(
                charged=Decimal(_text(montants, _FACTURE)),
                base=Decimal(_text(montants, _BASE)),
                rate=int(_text(montants, _TAUX)),
                amo=Decimal(_text(montants, _PART_AMO)),
            )
        coefficient = _opt(texts, _COEFFICIENT)
        hour = _opt(texts, _HEURE)
        second = _opt(texts, _SECOND_ACTE)
        lines.append(Line(
            number=number,
            kind=LINE_KINDS[tag],
            care_date=_date(_text(texts, _DATE_SOINS)),
            code=_text(texts, _CODE),
            quantity=int(_text(texts, _QUANTITE)),
            coefficient=Decimal(coefficient) if coefficient else _ONE,
            amounts=amounts,
            care_time=time.fromisoformat(hour) if hour else None,
            second_act=_bool(second) if second else False,
        ))
    prescription = fse.get(_PRESCRIPTION)
    if prescription is not None:
        prescription = _texts(prescription, "Prescription")
    return CareSheet(
        id=signed.get("Id", ""),
        invoice_number=_text(facture, _NUMERO),
        invoice_date=_date(_text(facture, _DATE)),
        professional=ProfessionalRef(
            rpps=_text(pro, _RPPS),
            am_number=_text(pro, _NUMERO_AM),
            specialty=_text(pro, _SPECIALITE),
            finess=_opt(pro, _FINESS),
        ),
        patient=PatientRef(
            nir=_text(pat, _NIR),
            birth_date=_date(_text(pat, _DATE_NAISSANCE)),
            rank=int(_text(pat, _RANG)),
            regime=_text(pat, _REGIME),
            caisse=_text(pat, _CAISSE),
            centre=_text(pat, _CENTRE),
        ),
        nature=_member(_NATURES, InsuranceNature, _text(assurance, _NATURE)),
        pathway=_bool(_text(assurance, _PARCOURS)),
        exemption=_member(_EXEMPTIONS, Exemption, _text(assurance, _EXONERATION)),
        tiers_payant_amo=_bool(_text(tp, _AMO)),
        tiers_payant_amc=_bool(_text(tp, _AMC)),
        lines=tuple(lines),
        totals=Totals(
            charged=Decimal(_text(totals, _FACTURE)),
            base=Decimal(_text(totals, _BASE)),
            amo=Decimal(_text(totals, _PART_AMO)),
        ),
        prescriber_rpps=_opt(prescription, _RPPS) if prescription is not None else None,
        prescription_date=_date(_text(prescription, _DATE)) if prescription is not None else None,
    )


# --- CareSheet -> XML ----------------------------------------------------------------------

def _money(value: Decimal) -> str:
    return format(Decimal(value).quantize(Decimal("0.01")), "f")


def _coefficient(value: Decimal) -> str:
    value = Decimal(value)
    return format(value.normalize(), "f") if value == value.to_integral() else format(value, "f")


def _sub(parent: etree._Element, name: str, text: str | None = None) -> etree._Element:
    el = etree.SubElement(parent, f"{F}{name}")
    if text is not None:
        el.text = text
    return el


def care_sheet_to_xml(sheet: CareSheet) -> etree._Element:
    """The unsigned FSE element of a CareSheet (sign it with ``xmlcore.signature.sign_fse``).

    A line without amounts is written without ``Montants`` (schema-invalid on purpose: the
    demo generator uses it to build invalid FSE). Version 2 only when a line has a time of
    care or the second-act flag."""
    version = "2" if any(ln.care_time is not None or ln.second_act for ln in sheet.lines) else "1"
    root = etree.Element(FSE_TAG, nsmap={None: FSE_NS}, Id=sheet.id, version=version)
    facture = _sub(root, "Facture")
    _sub(facture, "Numero", sheet.invoice_number)
    _sub(facture, "Date", sheet.invoice_date.isoformat())
    pro = _sub(root, "Professionnel")
    _sub(pro, "RPPS", sheet.professional.rpps)
    _sub(pro, "NumeroAM", sheet.professional.am_number)
    _sub(pro, "Specialite", str(sheet.professional.specialty))
    if sheet.professional.finess:
        _sub(pro, "FINESS", sheet.professional.finess)
    pat = _sub(root, "Patient")
    _sub(pat, "NIR", sheet.patient.nir)
    _sub(pat, "DateNaissance", sheet.patient.birth_date.isoformat())
    _sub(pat, "Rang", str(sheet.patient.rank))
    _sub(pat, "Regime", sheet.patient.regime)
    _sub(pat, "Caisse", sheet.patient.caisse)
    _sub(pat, "Centre", sheet.patient.centre)
    assurance = _sub(root, "Assurance")
    _sub(assurance, "Nature", sheet.nature.value)
    _sub(assurance, "ParcoursSoins", "true" if sheet.pathway else "false")
    _sub(assurance, "Exoneration", sheet.exemption.value)
    if sheet.prescriber_rpps or sheet.prescription_date:
        prescription = _sub(root, "Prescription")
        _sub(prescription, "RPPS", sheet.prescriber_rpps or "")
        _sub(prescription, "Date", sheet.prescription_date.isoformat() if sheet.prescription_date else "")
    tp = _sub(root, "TiersPayant")
    _sub(tp, "AMO", "true" if sheet.tiers_payant_amo else "false")
    _sub(tp, "AMC", "true" if sheet.tiers_payant_amc else "false")
    lignes = _sub(root, "Lignes")
    for line in sheet.lines:
        el = _sub(lignes, LINE_TAGS[line.kind])
        _sub(el, "DateSoins", line.care_date.isoformat())
        if line.care_time is not None:
            _sub(el, "Heure", line.care_time.strftime("%H:%M"))
        _sub(el, "Code", line.code)
        if line.kind == LineKind.NGAP:
            _sub(el, "Coefficient", _coefficient(line.coefficient))
        _sub(el, "Quantite", str(line.quantity))
        if line.second_act:
            _sub(el, "SecondActe", "true")
        if line.amounts is not None:
            montants = _sub(el, "Montants")
            _sub(montants, "Facture", _money(line.amounts.charged))
            _sub(montants, "Base", _money(line.amounts.base))
            _sub(montants, "Taux", str(line.amounts.rate))
            _sub(montants, "PartAMO", _money(line.amounts.amo))
    totaux = _sub(root, "Totaux")
    _sub(totaux, "Facture", _money(sheet.totals.charged))
    _sub(totaux, "Base", _money(sheet.totals.base))
    _sub(totaux, "PartAMO", _money(sheet.totals.amo))
    return root


def build_lot(fses: Iterable[etree._Element], *, number: str, sender_rpps: str,
              software: str = "amelipro", created_at: datetime | None = None,
              lot_id: str | None = None) -> etree._Element:
    """A lot element around (signed) FSE elements; the lot itself is not signed."""
    items = list(fses)
    root = etree.Element(LOT_TAG, nsmap={None: LOT_NS}, Id=lot_id or f"LOT-{_safe_id(number)}", version="1")
    header = etree.SubElement(root, f"{L}Entete")
    etree.SubElement(header, f"{L}Numero").text = number
    when = (created_at or datetime.now(UTC)).astimezone(UTC).replace(microsecond=0)
    etree.SubElement(header, f"{L}DateCreation").text = when.strftime("%Y-%m-%dT%H:%M:%SZ")
    sender = etree.SubElement(header, f"{L}Emetteur")
    etree.SubElement(sender, f"{L}RPPS").text = sender_rpps
    etree.SubElement(sender, f"{L}Logiciel").text = software
    etree.SubElement(header, f"{L}NombreFSE").text = str(len(items))
    for item in items:
        root.append(item)
    return root


def _safe_id(value: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "-_." else "-" for ch in value)


def document_bytes(element: etree._Element) -> bytes:
    return etree.tostring(element, xml_declaration=True, encoding="UTF-8")


# --- reading a lot for the submission service ---------------------------------------------

@dataclass(frozen=True)
class FseDocument:
    """One FSE of a received lot: its CareSheet when readable, and its errors so far
    (signature, schema, signer). ``ok`` means it may go on to the business rules."""

    position: int
    element_id: str | None
    line: int | None
    sheet: CareSheet | None
    verified: VerifyResult | None
    errors: tuple[XmlIssue, ...]

    @property
    def ok(self) -> bool:
        return self.sheet is not None and not self.errors

    @property
    def signed_bytes(self) -> bytes | None:
        """The signed content (canonical), e.g. to store or to detect an identical resend."""
        if self.verified is None:
            return None
        return etree.tostring(self.verified.signed, method="c14n", exclusive=True)

    def locate(self, field: str, line_number: int | None = None) -> tuple[str, int | None]:
        """(path, line in the received document) of a CareSheet field, for rule errors."""
        if self.sheet is None:
            return "/FSE", self.line
        path = field_path(self.sheet, field, line_number)
        if self.verified is None:
            return path, self.line
        el = _find_path(self.verified.signed, path)
        return path, (self.verified.line_of(el) if el is not None else self.line)

    def issue(self, error, detail: str = "", field: str | None = None,
              line_number: int | None = None) -> XmlIssue:
        """An :class:`XmlIssue` for ``error`` (an ``amelipro.errors.ErrorCode``) located at a
        CareSheet field: what the rules helper returns for this FSE."""
        path, line = self.locate(field, line_number) if field is not None else (None, None)
        return XmlIssue.of(error, detail, path, line)


@dataclass(frozen=True)
class LotDocument:
    lot_id: str | None
    header: LotHeader | None  # None when a single FSE was sent
    digest: str
    documents: tuple[FseDocument, ...]


def read_lot_document(data: bytes, policy: VerifyPolicy, *, token_rpps: str | None = None,
                      limits: ParseLimits = DEFAULT_LIMITS, registry: SchemaRegistry | None = None,
                      now: datetime | None = None, accept_single_fse: bool = True) -> LotDocument:
    """Read a received lot (or single FSE) up to CareSheets.

    Raises ``amelipro.xmlcore.errors.LotError`` (``.issues``; ``.errors``: their dicts) when the lot is
    refused whole: answer a negative ARL. Otherwise every FSE has its CareSheet or errors.
    The whole tree is kept (``FseDocument.locate``): :func:`read_lot_documents_each` reads a
    lot FSE by FSE.
    """
    reading: LotReading = read_lot(data, policy, limits=limits, registry=registry, now=now,
                                   accept_single_fse=accept_single_fse)
    documents = tuple(fse_document(outcome, token_rpps) for outcome in reading.outcomes)
    return LotDocument(reading.lot_id, reading.header, reading.digest, documents)


def read_lot_documents_each(data: bytes, policy: VerifyPolicy, visit: Callable[[FseDocument], T], *,
                            token_rpps: str | None = None, limits: ParseLimits = DEFAULT_LIMITS,
                            registry: SchemaRegistry | None = None,
                            now: datetime | None = None) -> tuple[LotDocument, list[T]]:
    """:func:`read_lot_document`, FSE by FSE (``xmlcore.lot.read_lot_each``): ``visit(document)``
    for each FSE in order, its result kept; each FSE's received element is emptied once
    visited (``visit`` keeps nothing of its tree: see :func:`source_lines`). The lot
    (``documents`` empty) and the results."""
    reading, results = read_lot_each(data, policy, lambda outcome: visit(fse_document(outcome, token_rpps)),
                                     limits=limits, registry=registry, now=now)
    return LotDocument(reading.lot_id, reading.header, reading.digest, ()), results


def read_lot_documents_share(data: bytes, policy: VerifyPolicy, visit: Callable[[FseDocument], T],
                             share: tuple[int, int], *, token_rpps: str | None = None,
                             limits: ParseLimits = DEFAULT_LIMITS, registry: SchemaRegistry | None = None,
                             now: datetime | None = None) -> tuple[LotDocument, list[T | None]] | None:
    """:func:`read_lot_documents_each` for one share of the lot's FSE (``xmlcore.lot.read_lot_share``):
    the other shares' results are ``None``; None when the lot is not read in shares."""
    read = read_lot_share(data, policy, lambda outcome: visit(fse_document(outcome, token_rpps)), share,
                          limits=limits, registry=registry, now=now)
    if read is None:
        return None
    reading, results = read
    return LotDocument(reading.lot_id, reading.header, reading.digest, ()), results


def fse_document(outcome: FseOutcome, token_rpps: str | None) -> FseDocument:
    """One FSE of a lot read: its signed content mapped to a CareSheet, its signer checked."""
    sheet = None
    issues = list(outcome.errors)
    if outcome.ok:
        try:
            sheet = care_sheet_from_xml(outcome.signed)
        except (ValueError, KeyError, ArithmeticError) as exc:  # schema-valid but unmappable
            issues.append(XmlIssue.of(xml_errors.XSD_INVALID, type(exc).__name__, "/FSE", outcome.line))
            return FseDocument(outcome.position, outcome.element_id, outcome.line, None,
                               outcome.verified, tuple(issues))
        signer_issues = check_signer(outcome.verified, sheet.professional.rpps, token_rpps)
        if signer_issues:  # locate only when there is something to report
            doc = FseDocument(outcome.position, outcome.element_id, outcome.line, sheet,
                              outcome.verified, ())
            path, line = doc.locate("professional.rpps")
            issues.extend(replace(i, path=path, line=line) for i in signer_issues)
    return FseDocument(outcome.position, outcome.element_id, outcome.line, sheet,
                       outcome.verified, tuple(issues))
