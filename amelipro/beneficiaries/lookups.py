"""Rights lookups by professionals (page, API, online billing): who may read what, when.

A professional reads a patient's rights for billing as from the carte Vitale (NIR and birth
date, rank when known); every lookup is recorded in the audit log and throttled
(:class:`LookupPolicy`), and the answer says what billing needs and nothing more
(:class:`BillingRights`). ``lookup_rights`` commits (the audit event).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from amelipro import audit, clock
from amelipro.beneficiaries import errors
from amelipro.beneficiaries.domain import CoverPeriod, PatientRights
from amelipro.beneficiaries.models import Beneficiary
from amelipro.beneficiaries.parsing import normalize_nir, parse_birth_date, parse_rank
from amelipro.beneficiaries.patient_file import to_rights, with_periods
from amelipro.errors import AmeliproError

LOOKUP_ACTION = "beneficiaries.lookup"
LOOKUP_THROTTLED_ACTION = "beneficiaries.lookup_throttled"


@dataclass(frozen=True)
class LookupPolicy:
    """At most ``limit`` rights lookups per professional in any ``window`` (settings
    ``RIGHTS_LOOKUP_LIMIT`` and ``RIGHTS_LOOKUP_WINDOW_MINUTES``); a recorded lookup can be
    shown again (Post/Redirect/Get) for ``show_again`` after it was made."""

    limit: int = 100
    window: timedelta = timedelta(minutes=60)
    show_again: timedelta = timedelta(minutes=30)

    @classmethod
    def from_config(cls, config) -> LookupPolicy:
        return cls(limit=int(config.get("RIGHTS_LOOKUP_LIMIT", 100)),
                   window=timedelta(minutes=int(config.get("RIGHTS_LOOKUP_WINDOW_MINUTES", 60))))


@dataclass(frozen=True)
class BillingRights:
    """What billing needs of one beneficiary at the date of care, and nothing more: no name,
    no medical detail of an exemption, no period history, no EHPAD name."""

    rank: int
    age: int
    regime: str
    caisse: str
    centre: str
    alsace_moselle: bool
    rights_open: bool
    exemptions: tuple[CoverPeriod, ...]
    ehpad_resident: bool


@dataclass(frozen=True)
class RightsLookup:
    """The answer to one recorded lookup (``lookup_id``: its audit event)."""

    lookup_id: int
    nir: str
    at: date
    beneficiaries: tuple[BillingRights, ...]


class UnknownPatientError(AmeliproError):
    """BEN-002 for a recorded lookup: unknown NIR, or a birth date or rank that does not
    match (the same answer for all three). ``lookup_id``: the lookup's audit event."""

    def __init__(self, lookup_id: int) -> None:
        super().__init__(errors.UNKNOWN, cpam_code="0250 050")
        self.lookup_id = lookup_id


def _billing_rights(person: PatientRights, at: date) -> BillingRights:
    state = person.at(at)
    return BillingRights(
        rank=person.rank, age=state.age, regime=person.regime, caisse=person.caisse,
        centre=person.centre, alsace_moselle=person.alsace_moselle, rights_open=state.open,
        exemptions=tuple(state.covers), ehpad_resident=state.ehpad is not None,
    )


def _lookups_since(session: Session, professional_id: int, since: datetime) -> int:
    return session.scalar(
        select(func.count(audit.AuditEvent.id)).where(
            audit.AuditEvent.actor_id == professional_id, audit.AuditEvent.action == LOOKUP_ACTION,
            audit.AuditEvent.at >= since)
    ) or 0


def lookup_rights(
    session: Session,
    professional,
    nir: str,
    birth_date: date | str | None,
    rank: int | str | None = None,
    at: date | None = None,
    *,
    policy: LookupPolicy | None = None,
) -> RightsLookup:
    """A professional reads a patient's rights for billing, as from the carte Vitale.

    Requires the NIR and the birth date (and the rank when known): a birth date or a rank
    that does not match answers exactly like an unknown NIR (BEN-002), so the file cannot
    be used to find out who is insured or when they were born. Every lookup is recorded in
    the audit log (who: ``professional``, whom: NIR and rank, when, at which date of care,
    found or not) and commits; a professional past ``policy.limit`` lookups in
    ``policy.window`` gets BEN-006 (429) and nothing is read. Errors: BEN-001 (NIR),
    BEN-005 (birth date), BEN-007 (rank), BEN-002 (unknown or mismatch), BEN-006.
    """
    policy = policy or LookupPolicy()
    at = at or clock.paris_today()
    if _lookups_since(session, professional.id, clock.utcnow() - policy.window) >= policy.limit:
        audit.record(session, LOOKUP_THROTTLED_ACTION, actor_id=professional.id,
                     actor_login=professional.login)
        session.commit()
        raise AmeliproError(errors.LOOKUPS_THROTTLED,
                            f"au plus {policy.limit} consultations en {_minutes(policy.window)}")
    nir = normalize_nir(nir)
    birth = parse_birth_date(birth_date)
    wanted_rank = parse_rank(rank)
    stmt = select(Beneficiary).where(Beneficiary.nir == nir, Beneficiary.birth_date == birth)
    if wanted_rank is not None:
        stmt = stmt.where(Beneficiary.rank == wanted_rank)
    people = [to_rights(r) for r in session.scalars(stmt.order_by(Beneficiary.rank).options(*with_periods()))]
    event = audit.record(session, LOOKUP_ACTION, actor_id=professional.id, actor_login=professional.login,
                         nir=nir, rank=wanted_rank, at=at.isoformat(), found=[p.rank for p in people])
    session.commit()
    if not people:
        raise UnknownPatientError(event.id)
    return RightsLookup(event.id, nir, at, tuple(_billing_rights(p, at) for p in people))


def _minutes(window: timedelta) -> str:
    minutes = int(window.total_seconds() // 60)
    return f"{minutes} minute(s)"


def recorded_lookup(session: Session, professional, lookup_id: int, *,
                    policy: LookupPolicy | None = None) -> RightsLookup:
    """A lookup the professional made a moment ago, read again to show it (the page after
    the form's redirect): no new lookup, nothing recorded. Another professional's lookup,
    an old one or an unknown id: BEN-008 (404); a lookup that found nobody: BEN-002."""
    policy = policy or LookupPolicy()
    event = session.get(audit.AuditEvent, lookup_id) if 0 < lookup_id < 2**31 else None
    if (event is None or event.action != LOOKUP_ACTION or event.actor_id != professional.id
            or event.at < clock.utcnow() - policy.show_again):
        raise AmeliproError(errors.LOOKUP_NOT_FOUND)
    detail = event.detail_dict
    ranks = detail.get("found") or []
    if not ranks:
        raise AmeliproError(errors.UNKNOWN, cpam_code="0250 050")
    at = date.fromisoformat(detail["at"])
    rows = session.scalars(select(Beneficiary).where(Beneficiary.nir == detail["nir"],
                                                     Beneficiary.rank.in_(ranks))
                           .order_by(Beneficiary.rank).options(*with_periods()))
    people = tuple(_billing_rights(to_rights(r), at) for r in rows)
    return RightsLookup(event.id, detail["nir"], at, people)


def lookup_json(result: RightsLookup) -> dict:
    """The API's answer to a lookup (what the page shows too)."""
    return {
        "nir": result.nir,
        "at": result.at.isoformat(),
        "beneficiaries": [
            {
                "rank": b.rank,
                "age": b.age,
                "regime": b.regime,
                "caisse": b.caisse,
                "centre": b.centre,
                "alsace_moselle": b.alsace_moselle,
                "rights_open": b.rights_open,
                "exemptions": [
                    {"type": c.cover.value, "label": c.cover.label, "start": c.period.start.isoformat(),
                     "end": c.period.end.isoformat() if c.period.end else None}
                    for c in b.exemptions
                ],
                "ehpad_resident": b.ehpad_resident,
            }
            for b in result.beneficiaries
        ],
    }

