"""Append-only audit log: who did what, when, from where.

Rows are only ever inserted (``record``); the app has no code path that updates or
deletes them, and on PostgreSQL a trigger refuses UPDATE and DELETE.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from flask import has_request_context, request
from sqlalchemy import ForeignKey, String, Text, func, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from amelipro.clock import PARIS
from amelipro.db import Base, UTCDateTime, utcnow
from amelipro.filters import date_fr, number


class AuditEvent(Base):
    __tablename__ = "audit_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("professional.id"), index=True)
    actor_login: Mapped[str] = mapped_column(String(64), default="")
    action: Mapped[str] = mapped_column(String(64), index=True)
    remote_addr: Mapped[str] = mapped_column(String(64), default="")
    detail: Mapped[str] = mapped_column(Text, default="{}")

    @property
    def detail_dict(self) -> dict[str, Any]:
        return json.loads(self.detail or "{}")


def client_addr() -> str:
    return (request.remote_addr or "") if has_request_context() else "cli"


def record(
    session: Session,
    action: str,
    *,
    actor_id: int | None = None,
    actor_login: str = "",
    **detail: Any,
) -> AuditEvent:
    """Add an event to the caller's transaction (the caller's service commits)."""
    event = AuditEvent(
        action=action,
        actor_id=actor_id,
        actor_login=actor_login,
        remote_addr=client_addr(),
        detail=json.dumps(detail, ensure_ascii=False, sort_keys=True, default=str),
    )
    session.add(event)
    return event


def count_since(session: Session, since: datetime, actions: tuple[str, ...]) -> dict[str, int]:
    """How many events of each action since ``since`` (0 for an action that did not happen)."""
    rows = session.execute(select(AuditEvent.action, func.count(AuditEvent.id))
                           .where(AuditEvent.at >= since, AuditEvent.action.in_(actions))
                           .group_by(AuditEvent.action)).all()
    counts = dict.fromkeys(actions, 0)
    counts.update({action: int(n) for action, n in rows})
    return counts


# ---------------------------------------------------------------- the journal, in words

def _n(d: dict[str, Any], key: str) -> str:
    return number(d.get(key, 0))


# One French sentence per kind of event: (label of the kind, sentence from the details).
# A kind not listed here (added by another package later) still reads as a sentence:
# see ``_generic``. Add a line here when you add a kind.
EVENT_KINDS: dict[str, tuple[str, Callable[[dict[str, Any]], str]]] = {
    "login.succeeded": ("Connexion réussie", lambda d: "s'est connecté(e)."),
    "login.failed": ("Connexion échouée", lambda d: "a échoué à se connecter (identifiant ou mot de passe faux)."),
    "login.throttled": ("Connexion bloquée", lambda d: "a été bloqué(e) après trop d'échecs de connexion."),
    "logout": ("Déconnexion", lambda d: "s'est déconnecté(e)."),
    "professional.created": ("Compte créé", lambda d: f"a créé le compte « {d.get('login', '?')} »."),
    "token.created": ("Jeton d'API créé",
                      lambda d: f"a créé le jeton d'API « {d.get('name', '')} » (n° {d.get('token_id', '?')})."),
    "token.revoked": ("Jeton d'API révoqué", lambda d: f"a révoqué le jeton d'API n° {d.get('token_id', '?')}."),
    "lot.submitted": ("Lot envoyé", lambda d: (
        f"a envoyé le lot n° {d.get('lot_id', '?')} : {_n(d, 'fse')} feuille(s) de soins, "
        f"{_n(d, 'accepted')} acceptée(s), {_n(d, 'rejected')} refusée(s)"
        + (f", {_n(d, 'duplicates')} en double" if d.get("duplicates") else "") + ".")),
    "lot.refused": ("Lot refusé", lambda d: (
        "a envoyé un lot refusé à la réception"
        + (f" ({len(d['codes'])} erreur(s))" if d.get("codes") else "") + ".")),
    "reference.import": ("Import de référentiel", lambda d: (
        f"a importé le référentiel {_DATASETS.get(d.get('dataset', ''), d.get('dataset', '?'))} "
        f"(import n° {d.get('run_id', '?')}) : {_n(d, 'created')} créé(s), {_n(d, 'changed')} modifié(s), "
        f"{_n(d, 'closed')} clos, {_n(d, 'skipped')} ligne(s) écartée(s).")),
    "reference.ehpad.add": ("Rattachement EHPAD ajouté",
                            lambda d: f"a rattaché le code LPP {d.get('lpp_code', '?')} à une catégorie EHPAD"
                            + (f" (motif : {d['reason']})." if d.get("reason") else ".")),
    "reference.ehpad.remove": ("Rattachement EHPAD retiré",
                               lambda d: f"a retiré le rattachement EHPAD du code LPP {d.get('lpp_code', '?')}."),
    "beneficiaries.imported": ("Import des droits des patients", lambda d: (
        f"a importé le fichier des droits : {_n(d, 'created')} patient(s) créé(s), {_n(d, 'updated')} mis à jour, "
        f"{_n(d, 'periods')} période(s), {_n(d, 'skipped')} ligne(s) écartée(s).")),
    "operations.started": ("Opération lancée",
                           lambda d: f"a lancé l'opération n° {d.get('job_id', '?')} : {d.get('operation', '?')}."),
    "operations.finished": ("Opération terminée",
                            lambda d: f"— opération n° {d.get('job_id', '?')} ({d.get('operation', '?')}) terminée."),
    "operations.failed": ("Opération échouée",
                          lambda d: f"— opération n° {d.get('job_id', '?')} ({d.get('operation', '?')}) échouée."),
    "thirdparty.statement_import": ("Relevé bancaire importé", lambda d: (
        f"a importé le relevé bancaire n° {d.get('statement', '?')} ({_n(d, 'lines')} ligne(s)).")),
}

_DATASETS = {"bdpm": "des médicaments (BDPM)", "lpp": "LPP", "ccam": "CCAM", "ngap": "NGAP",
             "ehpad": "de la liste EHPAD"}

# Words of detail keys, for the generic sentence of an unknown kind.
_KEY_WORDS = {"id": "n°", "lot": "lot", "fse": "feuille de soins", "token": "jeton", "run": "import",
              "name": "nom", "count": "nombre", "status": "état", "reason": "motif", "code": "code",
              "codes": "codes", "source": "origine", "job": "tâche", "payment": "paiement",
              "created": "créés", "updated": "mis à jour", "skipped": "écartés"}


def _words(key: str) -> str:
    return " ".join(_KEY_WORDS.get(w, w) for w in key.replace(".", "_").split("_") if w)


def _plain(value: Any) -> str:
    if isinstance(value, bool):
        return "oui" if value else "non"
    if isinstance(value, int | float):
        return number(value)
    if isinstance(value, list | tuple):
        return ", ".join(_plain(v) for v in value[:10]) + (" …" if len(value) > 10 else "")
    if isinstance(value, dict):
        return ", ".join(f"{_words(k)} {_plain(v)}" for k, v in value.items())
    return str(value)


def _generic(action: str, detail: dict[str, Any]) -> str:
    """A kind this module does not know yet: its words, then its details, as plain French."""
    said = f"a effectué l'opération « {' '.join(action.replace('.', '_').split('_'))} »"
    facts = [f"{_words(k)} : {_plain(v)}" for k, v in sorted(detail.items()) if v not in (None, "", [], {})]
    return said + (f" ({' ; '.join(facts)})." if facts else ".")


def kind_label(action: str) -> str:
    known = EVENT_KINDS.get(action)
    return known[0] if known else " ".join(action.replace(".", "_").split("_")).capitalize()


def sentence(event: AuditEvent) -> str:
    """« medecin.demo s'est connecté(e). » — who, then what, in French."""
    try:
        detail = event.detail_dict
    except ValueError:
        detail = {}
    if not isinstance(detail, dict):
        detail = {}
    who = event.actor_login or "Le système"
    if who == "cli":
        who = "La ligne de commande"
    known = EVENT_KINDS.get(event.action)
    try:
        what = known[1](detail) if known else _generic(event.action, detail)
    except (KeyError, TypeError, ValueError):  # details of an older shape: say what we can
        what = _generic(event.action, detail)
    return f"{who} {what}"


@dataclass(frozen=True)
class JournalFilter:
    action: str | None = None
    person: str | None = None  # login, exact
    start: date | None = None  # Paris days, inclusive
    end: date | None = None
    page: int = 1
    per_page: int = 50


@dataclass(frozen=True)
class JournalPage:
    events: list[AuditEvent]
    total: int
    filter: JournalFilter

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.filter.per_page))


def _paris_midnight(day: date) -> datetime:
    return datetime.combine(day, time(0), PARIS)


def _journal_stmt(f: JournalFilter):
    stmt = select(AuditEvent)
    if f.action:
        stmt = stmt.where(AuditEvent.action == f.action)
    if f.person:
        stmt = stmt.where(AuditEvent.actor_login == f.person)
    if f.start:
        stmt = stmt.where(AuditEvent.at >= _paris_midnight(f.start))
    if f.end:
        stmt = stmt.where(AuditEvent.at < _paris_midnight(f.end + timedelta(days=1)))
    return stmt


def journal(session: Session, f: JournalFilter) -> JournalPage:
    """One page of the journal, newest first, with the number of matching events."""
    stmt = _journal_stmt(f)
    total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    events = list(session.scalars(stmt.order_by(AuditEvent.id.desc())
                                  .offset((f.page - 1) * f.per_page).limit(f.per_page)))
    return JournalPage(events, int(total), f)


def journal_kinds(session: Session) -> list[tuple[str, str]]:
    """(action, label) of the known kinds and of any other kind present in the journal."""
    present = set(session.scalars(select(AuditEvent.action).distinct()))
    kinds = {a: kind_label(a) for a in (set(EVENT_KINDS) | present)}
    return sorted(kinds.items(), key=lambda item: item[1])


def journal_csv(session: Session, f: JournalFilter, limit: int = 100_000) -> str:
    """The filtered journal as CSV (semicolons, French dates, one sentence per event)."""
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    writer.writerow(["date", "personne", "type", "description", "adresse", "detail_json"])
    for e in session.scalars(_journal_stmt(f).order_by(AuditEvent.id.desc()).limit(limit)):
        writer.writerow([date_fr(e.at), _cell(e.actor_login), kind_label(e.action), _cell(sentence(e)),
                         e.remote_addr, _cell(e.detail)])
    return out.getvalue()


def _cell(text: str | None) -> str:
    """No formula injection in a spreadsheet: text starting like a formula is quoted."""
    text = text or ""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text
