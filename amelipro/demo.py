"""Demo accounts (``amelipro demo seed``) and their PKI holders. Idempotent."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from amelipro.auth.models import Profession, Professional, Role
from amelipro.auth.services import NewProfessional, create_professional
from amelipro.xmlcore.pki import DemoHolder

# Demo passwords are public on purpose (printed by `make run`); never use them elsewhere.
DEMO_ACCOUNTS: tuple[NewProfessional, ...] = (
    NewProfessional(
        login="medecin.demo", password="demo-medecin-2026", first_name="Claire", last_name="Martin",
        profession=Profession.MEDECIN_GENERALISTE, rpps="10000000017", am_number="751234567",
        structure="Cabinet médical du Parc, Paris 15e",
    ),
    NewProfessional(
        login="pharmacien.demo", password="demo-pharmacien-2026", first_name="Karim", last_name="Benali",
        profession=Profession.PHARMACIEN, rpps="10000000025", am_number="692345678",
        finess="999999998", structure="Pharmacie de la Gare, Lyon",
    ),
    NewProfessional(
        login="infirmier.demo", password="demo-infirmier-2026", first_name="Sophie", last_name="Durand",
        profession=Profession.INFIRMIER, rpps="10000000033", am_number="333456789",
        structure="Cabinet infirmier des Chartrons, Bordeaux",
    ),
    NewProfessional(
        login="operateur.demo", password="demo-operateur-2026", first_name="Opérateur", last_name="Démo",
        role=Role.OPERATOR, structure="amelipro",
    ),
    NewProfessional(
        login="caisse.demo", password="demo-caisse-2026", first_name="Agent", last_name="Caisse",
        role=Role.CAISSE, structure="CPAM de démonstration",
    ),
)


@dataclass(frozen=True)
class SeedResult:
    created: tuple[str, ...]
    existing: tuple[str, ...]


def seed_demo_accounts(session: Session) -> SeedResult:
    created, existing = [], []
    for account in DEMO_ACCOUNTS:
        if session.scalar(select(Professional.id).where(Professional.login == account.login)):
            existing.append(account.login)
            continue
        create_professional(session, account)
        created.append(account.login)
    return SeedResult(tuple(created), tuple(existing))


def demo_pki_holders() -> list[DemoHolder]:
    holders = [
        DemoHolder(a.login, f"{a.first_name} {a.last_name}", a.rpps, a.structure or "amelipro démo")
        for a in DEMO_ACCOUNTS
        if a.rpps
    ]
    holders.append(DemoHolder("gateway", "Passerelle amelipro (accusés de réception)", None, "amelipro"))
    return holders
