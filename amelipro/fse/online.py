"""Online billing use cases: a care sheet typed in the browser (or sent as JSON), priced by the
gateway's own rules and pricing, kept as a draft, then signed server side and sent through the
very path of a lot from practice software (``services.submit_lot``).

- :func:`price_sheet`: what was typed → the identity and rights of the patient at the date of
  care, each line's base, rate and AMO part, the totals and patient charges after the caps,
  and every error with the form field it concerns. Nothing is stored.
- Drafts: :func:`save_draft`, :func:`get_draft`, :func:`list_drafts` (the professional's own).
- :func:`send_draft`: build the FSE XML, sign it with the professional's online-signing key,
  wrap it in a one-FSE lot and submit it, with an idempotency key tied to the draft.
- :func:`correct_fse`: a draft prefilled from a rejected FSE, keeping its invoice number so the
  corrected sheet is linked to it as resubmissions are.

Only the functions here commit.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, replace
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy.orm import Session
from stdnum.exceptions import ValidationError
from stdnum.fr import nir as stdnum_nir

from amelipro.auth.models import Profession, Professional
from amelipro.auth.practice import practice_history
from amelipro.beneficiaries.domain import PatientRights
from amelipro.beneficiaries.services import find_rights
from amelipro.errors import AmeliproError, ErrorCode
from amelipro.fse import history, intake
from amelipro.fse import online_errors as EL
from amelipro.fse.domain import (
    CareSheet,
    Exemption,
    InsuranceNature,
    Line,
    LineKind,
    PatientRef,
    ProfessionalRef,
    Totals,
)
from amelipro.fse.errors import AMOUNTS_MISSING, CARE_DATE_FUTURE
from amelipro.fse.online_models import Draft
from amelipro.issues import FORM, FORM_RULE, Issue, as_dicts

SOURCE = "en_ligne"  # Lot.source of a sheet entered online
ONLINE_PROFESSIONS = frozenset({
    Profession.MEDECIN_GENERALISTE, Profession.MEDECIN_SPECIALISTE, Profession.INFIRMIER, Profession.PHARMACIEN,
})
MAX_LINES = 30
MAX_QUANTITY = 999
MAX_COEFFICIENT = Decimal("99")
MAX_TEXT = 40  # characters of any typed field (codes, numbers, dates, NIR with spaces)
KINDS = tuple(k.value for k in LineKind)
KIND_LABELS = {"ngap": "Acte NGAP (lettre clé)", "ccam": "Acte CCAM", "medicament": "Médicament",
               "lpp": "Dispositif LPP"}
NATURE_LABELS = {"10": "Maladie", "13": "Alsace-Moselle", "30": "Maternité", "41": "AT/MP", "90": "Prévention"}
EXEMPTION_LABELS = {"aucune": "Aucune", "ald": "ALD", "maternite": "Maternité", "atmp": "AT/MP", "c2s": "C2S"}
PLACEHOLDER_INVOICE = "EL-CALCUL"


# --- what was typed ------------------------------------------------------------------------

@dataclass(frozen=True)
class LineInput:
    kind: str = "ngap"
    code: str = ""
    coefficient: str = "1"
    quantity: str = "1"
    care_date: str = ""  # empty: the sheet's date of care


@dataclass(frozen=True)
class SheetInput:
    """A care sheet as typed: raw strings, kept as they are in drafts (errors included)."""

    nir: str = ""
    birth_date: str = ""
    rank: str = "1"
    care_date: str = ""
    nature: str = "10"
    pathway: bool = True
    exemption: str = "aucune"
    prescriber_rpps: str = ""
    prescription_date: str = ""
    tiers_payant_amo: bool = True
    tiers_payant_amc: bool = False
    lines: tuple[LineInput, ...] = (LineInput(),)

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["lines"] = [asdict(line) for line in self.lines]
        return data

    @classmethod
    def from_json(cls, data: Any) -> SheetInput:
        """From the API's JSON (or a draft). Raises FSE-EL-007 when it is not a sheet at all."""
        if not isinstance(data, Mapping):
            raise AmeliproError(EL.SHEET_UNREADABLE)
        patient = data.get("patient") if isinstance(data.get("patient"), Mapping) else {}
        tp = data.get("tiers_payant") if isinstance(data.get("tiers_payant"), Mapping) else {}
        raw_lines = data.get("lines", [])
        if not isinstance(raw_lines, list):
            raise AmeliproError(EL.SHEET_UNREADABLE, "« lines » doit être une liste.")
        lines = []
        for item in raw_lines[:MAX_LINES + 1]:
            item = item if isinstance(item, Mapping) else {}
            lines.append(LineInput(
                kind=_text(item.get("kind"), "ngap"), code=_text(item.get("code")),
                coefficient=_text(item.get("coefficient"), "1"), quantity=_text(item.get("quantity"), "1"),
                care_date=_text(item.get("care_date")),
            ))
        return cls(
            nir=_text(patient.get("nir", data.get("nir"))),
            birth_date=_text(patient.get("birth_date", data.get("birth_date"))),
            rank=_text(patient.get("rank", data.get("rank")), "1"),
            care_date=_text(data.get("care_date")),
            nature=_text(data.get("nature"), "10"),
            pathway=_flag(data.get("pathway"), True),
            exemption=_text(data.get("exemption"), "aucune"),
            prescriber_rpps=_text(data.get("prescriber_rpps")),
            prescription_date=_text(data.get("prescription_date")),
            tiers_payant_amo=_flag(tp.get("amo", data.get("tiers_payant_amo")), True),
            tiers_payant_amc=_flag(tp.get("amc", data.get("tiers_payant_amc")), False),
            lines=tuple(lines),
        )

    @classmethod
    def from_draft(cls, draft: Draft) -> SheetInput:
        try:
            return cls.from_json(draft.data)
        except AmeliproError:
            return cls()


def _text(value: Any, default: str = "") -> str:
    """Any JSON scalar as the text typed (numbers as written); absent: ``default``.

    Long texts are kept (cut far above any field's limit) so the limit error can be shown."""
    if value is None:
        return default
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, int | float | Decimal):
        return str(value)
    if isinstance(value, str):
        return value[: MAX_TEXT * 4]
    return "?"


def _flag(value: Any, default: bool) -> bool:
    if value is None:
        return default
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "oui", "on", "yes")
    return bool(value)


# --- reading what was typed ---------------------------------------------------------------

def _err(error: ErrorCode, field_name: str, detail: str = "") -> Issue:
    return Issue.of(error, detail, field=field_name, layout=FORM)


_DATE_FR = re.compile(r"(\d{1,2})/(\d{1,2})/(\d{4})")


def parse_date(raw: str) -> date:
    raw = raw.strip()
    match = _DATE_FR.fullmatch(raw)
    if match:
        day, month, year = (int(g) for g in match.groups())
        return date(year, month, day)
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", raw):
        return date.fromisoformat(raw)
    raise ValueError(raw)


def compact_nir(raw: str) -> str:
    return re.sub(r"[\s.\-]", "", raw or "").upper()


class _Reader:
    def __init__(self) -> None:
        self.errors: list[Issue] = []

    def fail(self, error: ErrorCode, field_name: str, detail: str = "") -> None:
        self.errors.append(_err(error, field_name, detail))

    def short(self, raw: str, field_name: str) -> bool:
        if len(raw) > MAX_TEXT:
            self.fail(EL.TOO_LONG, field_name, f"{len(raw)} caractères reçus, {MAX_TEXT} au plus.")
            return False
        return True

    def date(self, raw: str, field_name: str, *, required: bool) -> date | None:
        if not self.short(raw, field_name):
            return None
        if not raw.strip():
            if required:
                self.fail(EL.REQUIRED, field_name)
            return None
        try:
            return parse_date(raw)
        except ValueError:
            self.fail(EL.DATE_UNREADABLE, field_name, f"« {raw.strip()} »")
            return None

    def integer(self, raw: str, field_name: str, high: int, low: int | None = None) -> int | None:
        if not self.short(raw, field_name):
            return None
        text = raw.strip()
        if not re.fullmatch(r"-?\d+", text):
            self.fail(EL.NUMBER_UNREADABLE if text else EL.REQUIRED, field_name, f"« {text} »" if text else "")
            return None
        value = int(text)
        if value > high or (low is not None and value < low):
            self.fail(EL.OUT_OF_RANGE, field_name, f"{value} : au plus {high}." if value > high
                      else f"{value} : au moins {low}.")
            return None
        return value  # (a quantity below 1 is the rules' FSE-R-012)

    def decimal(self, raw: str, field_name: str, high: Decimal) -> Decimal | None:
        if not self.short(raw, field_name):
            return None
        text = raw.strip().replace(",", ".")
        if not re.fullmatch(r"-?\d+(\.\d{1,2})?", text):
            self.fail(EL.NUMBER_UNREADABLE if text else EL.REQUIRED, field_name, f"« {raw.strip()} »" if text else "")
            return None
        value = Decimal(text)
        if value > high:
            self.fail(EL.OUT_OF_RANGE, field_name, f"{raw.strip()} : au plus {high}.")
            return None
        return value

    def choice(self, raw: str, field_name: str, allowed: Mapping[str, str]) -> str | None:
        if raw not in allowed:
            self.fail(EL.UNKNOWN_CHOICE, field_name, f"« {raw[:MAX_TEXT]} »")
            return None
        return raw


# --- the patient ----------------------------------------------------------------------------

@dataclass(frozen=True)
class PatientView:
    """What the caisse's file says of the patient at the date of care, or why not."""

    status: str  # ok | unknown | closed | invalid | incomplete
    reason: str = ""
    name: str = ""
    rank: int = 1
    at: date | None = None
    rights_open: bool = False
    exemptions: tuple[str, ...] = ()
    ehpad: str = ""
    caisse: str = ""
    rights: PatientRights | None = field(default=None, repr=False, compare=False)

    def to_json(self) -> dict[str, Any]:
        return {"status": self.status, "reason": self.reason, "name": self.name, "rank": self.rank,
                "at": self.at.isoformat() if self.at else None, "rights_open": self.rights_open,
                "exemptions": list(self.exemptions), "ehpad": self.ehpad or None, "caisse": self.caisse}


def lookup_patient(session: Session, nir: str, birth_date: date | None, rank: int | None,
                   at: date | None) -> PatientView:
    """The patient by NIR, rank *and* birth date (a different birth date is "unknown": the
    identity is never shown to someone who does not have the card)."""
    if not nir:
        return PatientView("incomplete", "Saisissez le NIR et la date de naissance lus sur la carte Vitale.")
    try:
        stdnum_nir.validate(nir)
    except ValidationError:
        return PatientView("invalid", "NIR illisible ou clé incorrecte : relisez la carte Vitale.")
    if birth_date is None or rank is None:
        return PatientView("incomplete", "Saisissez la date de naissance et le rang lus sur la carte Vitale.")
    rights = find_rights(session, nir, rank)
    if rights is None or rights.birth_date != birth_date:
        return PatientView("unknown", "Patient inconnu de la caisse pour ce NIR, ce rang et cette date de "
                                      "naissance : vérifiez la carte Vitale ou l'attestation de droits.",
                           rank=rank)
    name = f"{rights.first_name} {rights.last_name}".strip()
    if at is None:
        return PatientView("incomplete", "Saisissez la date des soins.", name=name, rank=rank, rights=rights)
    state = rights.at(at)
    exemptions = tuple(c.cover.label + (f" ({c.detail})" if c.detail else "") for c in state.covers)
    ehpad = (state.ehpad.name or "EHPAD") if state.ehpad else ""
    status, reason = "ok", ""
    if not state.open:
        status, reason = "closed", f"Aucun droit ouvert le {at:%d/%m/%Y} : la feuille ne peut pas être facturée."
    return PatientView(status, reason, name, rank, at, state.open, exemptions, ehpad, rights.caisse, rights)


# --- pricing ------------------------------------------------------------------------------

@dataclass(frozen=True)
class PricedSheet:
    input: SheetInput
    patient: PatientView
    lines: tuple[dict[str, Any], ...]  # one per typed line (number = its row, from 1)
    totals: dict[str, Decimal] | None
    errors: tuple[Issue, ...]
    sheet: CareSheet | None = None  # with the gateway's amounts, ready to sign

    @property
    def ok(self) -> bool:
        return self.sheet is not None and not self.errors

    def errors_for(self, field_name: str) -> list[Issue]:
        return [e for e in self.errors if e.field == field_name]

    def line(self, number: int) -> dict[str, Any]:
        return self.lines[number - 1] if 0 < number <= len(self.lines) else {}

    def to_json(self) -> dict[str, Any]:
        def money(value):
            return None if value is None else f"{value:.2f}"

        return {
            "ok": self.ok,
            "patient": self.patient.to_json(),
            "lines": [{k: (money(v) if isinstance(v, Decimal) else v) for k, v in line.items()}
                      for line in self.lines],
            "totals": None if self.totals is None else {k: money(v) for k, v in self.totals.items()},
            "errors": as_dicts(self.errors),
        }


def _field_of(path: str) -> str:
    """A rule's path in the care sheet → the form field it concerns."""
    if path == "invoice_date":
        return "care_date"
    if path.startswith("lines[") and "]" in path:
        index, _, rest = path[6:].partition("]")
        rest = rest.lstrip(".")
        if rest in ("code", "care_date", "quantity", "coefficient", "kind"):
            return f"lines[{index}].{rest}"
        return f"lines[{index}]"
    if path in ("lines",) or path.startswith(("patient.", "nature", "pathway", "exemption", "prescri",
                                              "tiers_payant")):
        return path
    return "sheet"


def price_sheet(session: Session, pro: Professional, inp: SheetInput, *, today: date, rule_config,
                invoice_number: str = PLACEHOLDER_INVOICE) -> PricedSheet:
    """Price and check what was typed, with the submission's own code; stores nothing."""
    reader = _Reader()
    nir = compact_nir(inp.nir) if reader.short(inp.nir, "patient.nir") else ""
    if not nir and len(inp.nir) <= MAX_TEXT:
        reader.fail(EL.REQUIRED, "patient.nir")
    birth = reader.date(inp.birth_date, "patient.birth_date", required=True)
    rank = reader.integer(inp.rank, "patient.rank", 9, low=1)
    care_date = reader.date(inp.care_date, "care_date", required=True)
    nature = reader.choice(inp.nature, "nature", NATURE_LABELS)
    exemption = reader.choice(inp.exemption, "exemption", EXEMPTION_LABELS)
    prescriber = re.sub(r"\s", "", inp.prescriber_rpps) if reader.short(inp.prescriber_rpps, "prescriber_rpps") else ""
    prescription_date = reader.date(inp.prescription_date, "prescription_date", required=False)
    if len(inp.lines) > MAX_LINES:
        reader.fail(EL.OUT_OF_RANGE, "lines", f"{len(inp.lines)} lignes : {MAX_LINES} au plus par feuille.")
    lines: list[Line] = []
    inherited: set[str] = set()  # line dates left empty: the sheet's date of care
    for number, item in enumerate(inp.lines[:MAX_LINES], start=1):
        before = len(reader.errors)
        kind = reader.choice(item.kind, f"lines[{number}].kind", KIND_LABELS)
        code = item.code.strip().upper().replace(" ", "") if reader.short(item.code, f"lines[{number}].code") else ""
        if not code and len(item.code) <= MAX_TEXT:
            reader.fail(EL.REQUIRED, f"lines[{number}].code")
        quantity = reader.integer(item.quantity, f"lines[{number}].quantity", MAX_QUANTITY)
        coefficient = Decimal("1")
        if kind == LineKind.NGAP.value:
            coefficient = reader.decimal(item.coefficient, f"lines[{number}].coefficient", MAX_COEFFICIENT)
        at = reader.date(item.care_date, f"lines[{number}].care_date", required=False)
        if at is None and not item.care_date.strip():
            at = care_date
            inherited.add(f"lines[{number}].care_date")
        if len(reader.errors) == before and kind and at is not None and coefficient is not None and quantity is not None:
            lines.append(Line(number=number, kind=LineKind(kind), care_date=at, code=code,
                              quantity=quantity, coefficient=coefficient))
    patient = lookup_patient(session, nir, birth, rank, care_date)
    errors = list(reader.errors)
    sheet = None
    priced_lines: dict[int, dict[str, Any]] = {}
    totals = None
    if birth is not None and rank is not None and care_date is not None and nature and exemption and nir:
        rights = patient.rights
        profession = pro.profession.value if pro.profession else ""
        sheet = CareSheet(
            id=f"FSE-{invoice_number}", invoice_number=invoice_number,
            invoice_date=today,  # the gateway dates the invoice: the day it is signed
            professional=ProfessionalRef(pro.rpps or "", pro.am_number or "", profession, pro.finess),
            patient=PatientRef(nir, birth, rank, (rights.regime if rights else "") or "01",
                               (rights.caisse if rights else "") or "000", (rights.centre if rights else "") or "0000"),
            nature=InsuranceNature(nature), pathway=inp.pathway, exemption=Exemption(exemption),
            tiers_payant_amo=inp.tiers_payant_amo, tiers_payant_amc=inp.tiers_payant_amc,
            lines=tuple(lines), totals=Totals(Decimal("0.00"), Decimal("0.00"), Decimal("0.00")),
            prescriber_rpps=prescriber or None, prescription_date=prescription_date,
        )
        ctx = intake.CheckContext(
            session=session, lookup=intake.lot_lookup(session, [sheet]), today=today,
            config=rule_config, rights={(nir, rank): rights} if rights is not None else {},
            profession=profession, practice=practice_history(session, pro.id),
            billed_care=history.load_billed_care(session, pro.id, [sheet]),
        )
        # Every rule, as the submission runs them, on the sheet as typed (no amounts yet: the
        # gateway's own pricing gives them, so the amount rules cannot fail once they are in)...
        rule_errors, computed = intake.check_sheet(ctx, sheet)
        rule_errors = [e for e in rule_errors if e.code != AMOUNTS_MISSING.code]
        pricing = computed.pricing
        # ...then the amounts a correct practice software would send, and the charges after the caps.
        sheet = replace(sheet, lines=tuple(replace(line, amounts=pricing.line(line.number).amounts)
                                           for line in sheet.lines), totals=pricing.totals)
        prior = history.load_ledger(session, pro.id, [sheet]).prior(sheet) if sheet.lines else None
        if prior is not None and (prior.years or prior.days):
            computed = intake.recharge(ctx, sheet, computed, prior)
        if not lines and inp.lines:
            rule_errors = [e for e in rule_errors if e.path != "lines"]  # the lines' own errors say why
        future = any(e.code == CARE_DATE_FUTURE.code for e in rule_errors)
        seen: set[tuple[str, str]] = set()
        for error in rule_errors:
            if future and error.path == "invoice_date":
                continue  # the gateway dates the invoice; the date of care is what to fix
            place = _field_of(error.path or "")
            out = error.laid_out(
                FORM_RULE, path=None, line=None, field="care_date" if place in inherited else place,
                extras=tuple((k, v) for k, v in error.extras if k not in ("expected", "received")))
            if (out.code, out.field) not in seen:
                seen.add((out.code, out.field))
                errors.append(out)
        pricing = computed.pricing
        for priced in pricing.lines:
            priced_lines[priced.number] = {
                "label": priced.label, "base": priced.base, "rate": priced.rate, "amo": priced.amo,
                "charged": priced.charged, "participation": priced.participation, "franchise": priced.franchise,
                "priced": priced.priced,
            }
        totals = {"charged": pricing.charged, "base": pricing.base, "amo": pricing.amo,
                  "participation": pricing.charges.participation, "franchise": pricing.charges.franchise,
                  "patient_charges": pricing.charges.total, "patient_share": pricing.patient_share}
    elif not errors:
        errors.append(_err(EL.REQUIRED, "sheet"))
    view_lines = tuple({"number": n, **priced_lines.get(n, {"priced": False})}
                       for n in range(1, min(len(inp.lines), MAX_LINES) + 1))
    return PricedSheet(inp, patient, view_lines, totals, tuple(errors), sheet)


# --- drafts -------------------------------------------------------------------------------
