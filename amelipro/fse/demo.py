"""``amelipro demo lot LOGIN --count N [--invalid SHARE] --out FILE``: a realistic signed lot.

Care sheets for a demo professional, with real codes and tariffs from the reference data
(consultations and CCAM acts for doctors, reimbursable medicines for pharmacists, NGAP acts
for nurses), demo patients of the caisse's file, amounts computed by the gateway's own
pricing at the date of care, each FSE signed with the professional's demo key
(``PKI_DIR/<login>/key.pem`` and ``cert.pem``, from ``amelipro pki init-demo``). A chosen
share is made invalid in varied ways (NIR key, amounts, future date, unknown code, invoice
dated before the care, exemption absent from the caisse's file).

A general practitioner's lot starts with an ordinary week's majorations: a Sunday
consultation (G + F), a home visit (VG + MD) and a child under 6 (G + MEG) when the caisse's
file has one.
"""

from __future__ import annotations

import random
import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import click
from flask import Flask, current_app
from flask.cli import with_appcontext
from sqlalchemy import select
from sqlalchemy.orm import Session

from amelipro.auth.models import Profession, Professional
from amelipro.beneficiaries.domain import PatientRights, age_on
from amelipro.fse import domain
from amelipro.fse.domain import CareSheet, Line, LineKind
from amelipro.fse.pricing import price_care_sheet
from amelipro.reference.facts import ReferenceLookup

# The demo doctor (medecin.demo) prescribes what pharmacists and nurses bill.
DEMO_PRESCRIBER_RPPS = "10000000017"
PRESCRIBED = frozenset({Profession.PHARMACIEN, Profession.INFIRMIER, Profession.MASSEUR_KINESITHERAPEUTE})
INVALID_KINDS = ("nir_key", "amounts", "future_date", "unknown_code", "invoice_before_care", "exemption")


@dataclass(frozen=True)
class DemoPatient:
    nir: str
    birth_date: date
    rank: int = 1
    regime: str = "01"
    caisse: str = "751"
    centre: str = "0000"
    rights: PatientRights | None = None


@dataclass(frozen=True)
class LineChoice:
    kind: LineKind
    code: str
    coefficient: Decimal = Decimal("1")
    max_quantity: int = 1


def nir_with_key(first13: str) -> str:
    number = int(first13.upper().replace("2A", "19").replace("2B", "18"))
    return f"{first13}{97 - number % 97:02d}"


def fallback_patients(rng: random.Random, count: int = 40) -> list[DemoPatient]:
    """Patients with valid NIR keys, when no caisse file is loaded."""
    out = []
    for i in range(count):
        sex = 1 + i % 2
        year = 1940 + rng.randrange(80)
        month = 1 + rng.randrange(12)
        first13 = f"{sex}{year % 100:02d}{month:02d}75{rng.randrange(1, 120):03d}{rng.randrange(1, 999):03d}"
        out.append(DemoPatient(nir_with_key(first13), date(year, month, 1 + rng.randrange(28))))
    return out


_XSD_NIR = re.compile(r"[1-478]\d{4}(\d{2}|2A|2B)\d{6}\d{2}")


def demo_patients(session: Session, at: date, rng: random.Random) -> list[DemoPatient]:
    """Patients of the caisse's file with rights open at ``at``, outside any EHPAD (else
    generated ones, unknown to the caisse)."""
    from amelipro.beneficiaries.models import Beneficiary
    from amelipro.beneficiaries.services import to_rights

    found = []
    for row in session.scalars(select(Beneficiary).order_by(Beneficiary.id).limit(5000)):
        rights = to_rights(row)
        if not (rights.is_open(at) and rights.ehpad_at(at) is None and _XSD_NIR.fullmatch(rights.nir)
                and re.fullmatch(r"\d{3}", rights.caisse or "") and re.fullmatch(r"\d{4}", rights.centre or "")
                and not rights.covers_at(at) and not rights.alsace_moselle):
            continue
        found.append(DemoPatient(rights.nir, rights.birth_date, rights.rank, rights.regime or "01",
                                 rights.caisse, rights.centre, rights))
    return found or fallback_patients(rng)


def line_choices(session: Session, profession: Profession, lookup: ReferenceLookup, at: date) -> list[LineChoice]:
    """Real codes with a tariff in force at ``at`` for this profession."""
    if profession == Profession.PHARMACIEN:
        from amelipro.reference import models as ref

        rows = session.execute(
            select(ref.MedicinePrice.cip13)
            .where(ref.MedicinePrice.reimbursable.is_(True), ref.MedicinePrice.price.is_not(None),
                   ref.MedicinePrice.rate_percent.in_((65, 30, 15, 100)))
            .order_by(ref.MedicinePrice.cip13).limit(400)
        ).scalars().all()
        choices = []
        for cip13 in rows:
            fact = lookup.medicine(cip13, at)
            if fact is not None and fact.reimbursable and fact.price and fact.rate_percent:
                choices.append(LineChoice(LineKind.MEDICINE, cip13, max_quantity=3))
            if len(choices) >= 60:
                break
        return choices
    if profession in (Profession.INFIRMIER, Profession.MASSEUR_KINESITHERAPEUTE):
        keys = [("AMI", "1"), ("AMI", "1.5"), ("AMI", "2")] if profession == Profession.INFIRMIER else [("AMK", "7.5")]
        return [LineChoice(LineKind.NGAP, key, Decimal(coef)) for key, coef in keys]
    choices = [LineChoice(LineKind.NGAP, "G")]
    for code in ("DEQP003", "YYYY010", "QZGA002"):
        fact = lookup.act(code, at)
        if fact is not None and fact.tariff:
            choices.append(LineChoice(LineKind.CCAM, code))
    return choices


def patient_ref(patient) -> domain.PatientRef:
    """The patient block of a care sheet for a demo patient or a beneficiary's rights (anything
    with ``nir``, ``birth_date``, ``rank``, ``regime``, ``caisse`` and ``centre``)."""
    return domain.PatientRef(patient.nir, patient.birth_date, patient.rank, patient.regime, patient.caisse,
                             patient.centre)


def plain_sheet(invoice: str, day: date, professional: domain.ProfessionalRef, patient,
                lines: tuple[Line, ...], *, sheet_id: str | None = None) -> CareSheet:
    """An everyday care sheet before pricing (sickness, within the care pathway, no exemption,
    tiers payant of the AMO part only, zero totals): ``_amounts`` fills its amounts."""
    zero = Decimal("0.00")
    return CareSheet(
        id=sheet_id or f"FSE-{invoice}",
        invoice_number=invoice,
        invoice_date=day,
        professional=professional,
        patient=patient_ref(patient),
        nature=domain.InsuranceNature.MALADIE,
        pathway=True,
        exemption=domain.Exemption.NONE,
        tiers_payant_amo=True,
        tiers_payant_amc=False,
        lines=lines,
        totals=domain.Totals(zero, zero, zero),
    )


def sample_care_sheet(n: int, rpps: str, care_date: date | None = None) -> CareSheet:
    """A fixed, self-consistent care sheet number ``n``: a G consultation and an ECG on
    ``care_date`` (yesterday by default) with their amounts, for XML tests and benchmarks."""
    day = care_date or date.today() - timedelta(days=1)
    d = Decimal
    return CareSheet(
        id=f"FSE-{rpps}-{n:06d}",
        invoice_number=f"2026-{n:06d}",
        invoice_date=day,
        professional=domain.ProfessionalRef(rpps=rpps, am_number="751234567", specialty="medecin_generaliste"),
        patient=domain.PatientRef(nir="185057800608436", birth_date=date(1985, 5, 12), rank=1, regime="01",
                                  caisse="751", centre="0000"),
        nature=domain.InsuranceNature.MALADIE,
        pathway=True,
        exemption=domain.Exemption.NONE,
        tiers_payant_amo=True,
        tiers_payant_amc=False,
        lines=(
            Line(1, LineKind.NGAP, day, "G", 1, d("1"), domain.Amounts(d("30.00"), d("30.00"), 70, d("21.00"))),
            Line(2, LineKind.CCAM, day, "DEQP003", 1, d("1"),
                 domain.Amounts(d("14.77"), d("14.77"), 70, d("10.34"))),
        ),
        totals=domain.Totals(d("44.77"), d("44.77"), d("31.34")),
    )


def _amounts(sheet: CareSheet, lookup: ReferenceLookup, rights: PatientRights | None) -> CareSheet:
    """Fill the amounts as the gateway computes them (a correct practice software)."""
    pricing = price_care_sheet(sheet, lookup, rights, sheet.professional.specialty)
    lines = tuple(replace(line, amounts=pricing.line(line.number).amounts) for line in sheet.lines)
    return replace(sheet, lines=lines, totals=pricing.totals)


def make_sheet(
    pro: Professional, patient: DemoPatient, choices: Sequence[LineChoice], invoice: str,
    care_date: date, rng: random.Random, lookup: ReferenceLookup,
) -> CareSheet:
    count = 1 if len(choices) == 1 or rng.random() < 0.6 else 2
    picked = rng.sample(list(choices), k=min(count, len(choices)))
    lines = tuple(
        Line(number=i, kind=c.kind, care_date=care_date, code=c.code,
             quantity=1 + rng.randrange(c.max_quantity), coefficient=c.coefficient)
        for i, c in enumerate(picked, start=1)
    )
    profession = pro.profession or Profession.MEDECIN_GENERALISTE
    professional = domain.ProfessionalRef(pro.rpps or "", pro.am_number or "", profession.value, pro.finess)
    sheet = plain_sheet(invoice, care_date, professional, patient, lines)
    if profession in PRESCRIBED:  # dispensed or given on a doctor's prescription
        sheet = replace(sheet, prescriber_rpps=DEMO_PRESCRIBER_RPPS,
                        prescription_date=care_date - timedelta(days=rng.randrange(1, 20)))
    return _amounts(sheet, lookup, patient.rights)


def make_invalid(sheet: CareSheet, kind: str, today: date, lookup: ReferenceLookup,
                 rights: PatientRights | None) -> CareSheet:
    if kind == "nir_key":
        nir = sheet.patient.nir
        bad_key = f"{(int(nir[13:]) % 97) + 1:02d}"
        return replace(sheet, patient=replace(sheet.patient, nir=nir[:13] + bad_key))
    if kind == "amounts":
        first = sheet.lines[0]
        assert first.amounts is not None
        wrong = replace(first.amounts, amo=first.amounts.amo + Decimal("1.00"))
        return replace(sheet, lines=(replace(first, amounts=wrong), *sheet.lines[1:]),
                       totals=replace(sheet.totals, amo=sheet.totals.amo + Decimal("1.00")))
    if kind == "future_date":
        later = today + timedelta(days=3)
        moved = replace(sheet, invoice_date=later,
                        lines=tuple(replace(line, care_date=later) for line in sheet.lines))
        return _amounts(moved, lookup, rights)
    if kind == "unknown_code":
        first = sheet.lines[0]
        code = {LineKind.MEDICINE: "3400999999997", LineKind.CCAM: "ZZZZ999",
                LineKind.DEVICE: "9999999"}.get(first.kind, "ZZZ")
        return replace(sheet, lines=(replace(first, code=code), *sheet.lines[1:]))
    if kind == "invoice_before_care":
        return replace(sheet, invoice_date=sheet.first_care_date - timedelta(days=2))
    if kind == "exemption":
        return _amounts(replace(sheet, exemption=domain.Exemption.ALD), lookup, rights)
    raise ValueError(kind)


GP_SCENARIOS = ("dimanche", "visite", "enfant")


def _last_sunday(today: date) -> date:
    return today - timedelta(days=(today.weekday() + 1) % 7 or 7)


def gp_scenario(sheet: CareSheet, kind: str, patients: Sequence[DemoPatient], today: date,
                seen: set[tuple[str, int, date]], lookup: ReferenceLookup) -> CareSheet | None:
    """A general practitioner's care sheet with its majorations (None: no patient fits).

    ``dimanche``: G + F on the last Sunday; ``visite``: VG + MD; ``enfant``: G + MEG for a
    patient under 6 on the date of care. ``seen`` (patient, day) is updated."""
    day = _last_sunday(today) if kind == "dimanche" else sheet.first_care_date
    seen.discard((sheet.patient.nir, sheet.patient.rank, sheet.first_care_date))  # replaced
    candidates = [p for p in patients if (p.nir, p.rank, day) not in seen]
    if kind == "enfant":
        candidates = [p for p in candidates if age_on(p.birth_date, day) < 6]
    else:
        candidates = [p for p in candidates if age_on(p.birth_date, day) >= 18]
    if not candidates:
        seen.add((sheet.patient.nir, sheet.patient.rank, sheet.first_care_date))  # kept as it was
        return None
    patient = candidates[0]
    seen.add((patient.nir, patient.rank, day))
    codes = {"dimanche": ("G", "F"), "visite": ("VG", "MD"), "enfant": ("G", "MEG")}[kind]
    lines = tuple(Line(number=i, kind=LineKind.NGAP, care_date=day, code=code)
                  for i, code in enumerate(codes, start=1))
    return _amounts(replace(sheet, patient=patient_ref(patient), invoice_date=day, lines=lines), lookup,
                    patient.rights)


@dataclass(frozen=True)
class DemoLot:
    sheets: tuple[CareSheet, ...]
    invalid: dict[int, str]  # position -> kind of error introduced


def build_sheets(session: Session, pro: Professional, count: int, invalid_share: float, *,
                 today: date, seed: int | None = None, lookup: ReferenceLookup | None = None) -> DemoLot:
    from amelipro.reference.queries import SqlReferenceLookup

    rng = random.Random(seed)
    lookup = lookup or SqlReferenceLookup(session)
    profession = pro.profession or Profession.MEDECIN_GENERALISTE
    patients = demo_patients(session, today - timedelta(days=1), rng)
    choices = line_choices(session, profession, lookup, today - timedelta(days=1))
    if not choices:
        raise click.ClickException(
            "Aucun code remboursable trouvé dans les référentiels : lancez « amelipro reference import »."
        )
    run = secrets.token_hex(3) if seed is None else f"{seed % 0xFFFFFF:06x}"
    n_invalid = round(count * invalid_share)
    invalid_positions = set(rng.sample(range(1, count + 1), k=n_invalid)) if n_invalid else set()
    sheets, invalid = [], {}
    seen = _days_billed(session, pro, today)  # one sheet per patient and day: no duplicate care
    for position in range(1, count + 1):
        patient = patients[rng.randrange(len(patients))]
        care_date = today - timedelta(days=1 + rng.randrange(5))
        while (patient.nir, patient.rank, care_date) in seen:
            care_date -= timedelta(days=1)
        seen.add((patient.nir, patient.rank, care_date))
        invoice = f"D{today:%y%m%d}-{run}-{position:05d}"
        sheet = make_sheet(pro, patient, choices, invoice, care_date, rng, lookup)
        if profession == Profession.MEDECIN_GENERALISTE and position <= len(GP_SCENARIOS):
            sheet = gp_scenario(sheet, GP_SCENARIOS[position - 1], patients, today, seen, lookup) or sheet
        if position in invalid_positions:
            kind = INVALID_KINDS[len(invalid) % len(INVALID_KINDS)]
            sheet = make_invalid(sheet, kind, today, lookup, patient.rights)
            invalid[position] = kind
        sheets.append(sheet)
    return DemoLot(tuple(sheets), invalid)


def _days_billed(session: Session, pro: Professional, today: date) -> set[tuple[str, int, date]]:
    """(NIR, rank, day) of the professional's recent accepted FSE (each demo FSE has one day)."""
    from amelipro.fse.models import FseStatus, StoredFse

    rows = session.execute(
        select(StoredFse.patient_nir, StoredFse.patient_rank, StoredFse.first_care_date,
               StoredFse.last_care_date)
        .where(StoredFse.professional_id == pro.id, StoredFse.status == FseStatus.ACCEPTED,
               StoredFse.last_care_date >= today - timedelta(days=400))
    )
    seen = set()
    for nir, rank, first, last in rows:
        day = first
        while day <= last:
            seen.add((nir, rank, day))
            day += timedelta(days=1)
    return seen


def write_lot(sheets: Sequence[CareSheet], pro: Professional, key_path: Path, cert_path: Path,
              lot_number: str) -> bytes:
    """Serialize, sign each FSE with the professional's key, and wrap them in a lot."""
    from amelipro.fse.document import build_lot, care_sheet_to_xml, document_bytes
    from amelipro.xmlcore.pki import load_cert, load_key
    from amelipro.xmlcore.signature import sign_fse

    key, cert = load_key(key_path), load_cert(cert_path)
    signed = [sign_fse(care_sheet_to_xml(sheet), key, cert) for sheet in sheets]
    return document_bytes(build_lot(signed, number=lot_number, sender_rpps=pro.rpps or "",
                                    software="amelipro démo"))


@click.command("lot", help="Écrit un lot signé de N FSE de démonstration pour LOGIN.")
@click.argument("login")
@click.option("--count", default=10, show_default=True, type=click.IntRange(1, 10000))
@click.option("--invalid", "invalid_share", default=0.0, show_default=True, type=click.FloatRange(0, 1),
              help="Part de FSE invalides (0 à 1).")
@click.option("--seed", type=int, default=None, help="Graine pour un lot reproductible.")
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False, path_type=Path))
@with_appcontext
def demo_lot(login: str, count: int, invalid_share: float, seed: int | None, out: Path) -> None:
    from amelipro.db import new_session

    pki = Path(current_app.config["PKI_DIR"]) / login
    key_path, cert_path = pki / "key.pem", pki / "cert.pem"
    if not key_path.exists() or not cert_path.exists():
        raise click.ClickException(f"Clé de démonstration absente ({pki}) : lancez « amelipro pki init-demo ».")
    with new_session() as session:
        pro = session.scalar(select(Professional).where(Professional.login == login))
        if pro is None:
            raise click.ClickException(f"Professionnel inconnu : {login}")
        if not pro.rpps:
            raise click.ClickException(f"{login} n'a pas de RPPS : il ne facture pas.")
        from amelipro.beneficiaries.models import Beneficiary

        if session.scalar(select(Beneficiary.id).limit(1)) is None:
            click.echo("Attention : le fichier des assurés est vide, les patients seront inconnus de la "
                       "caisse (lancez « amelipro beneficiaries demo »).", err=True)
        lot = build_sheets(session, pro, count, invalid_share, today=datetime.now(UTC).date(), seed=seed)
        data = write_lot(lot.sheets, pro, key_path, cert_path,
                         lot_number=f"DEMO-{datetime.now(UTC):%Y%m%d%H%M%S}")
    out.write_bytes(data)
    kinds = ", ".join(sorted(set(lot.invalid.values()))) or "aucune"
    click.echo(f"Lot écrit : {out} ({count} FSE dont {len(lot.invalid)} invalides : {kinds}).")


def register(app: Flask) -> None:
    """Adds ``lot`` to the ``demo`` command group."""
    from amelipro.cli import demo_group

    if "lot" not in demo_group.commands:
        demo_group.add_command(demo_lot)
