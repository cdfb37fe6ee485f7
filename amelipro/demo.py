"""Demo accounts (``amelipro demo seed``) and their PKI holders. Idempotent."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from amelipro.account.banking import BankInput, register_bank_account
from amelipro.account.models import AccountProfile, AccountStatus, BankAccount
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


# Demo e-mail addresses (the .invalid domain never delivers) and bank accounts (valid keys, fake
# accounts), in force from long ago so that the demo liquidation pays at once.
DEMO_EMAILS = {a.login: f"{a.login}@amelipro.invalid" for a in DEMO_ACCOUNTS}
DEMO_BANK = {
    "medecin.demo": BankInput("Dr Claire Martin", "FR7630006000011234567890189", "AGRIFRPP882"),
    "pharmacien.demo": BankInput("Pharmacie de la Gare", "FR1420041010050500013M02606", "PSSTFRPPLYO"),
    "infirmier.demo": BankInput("Sophie Durand", "FR3330002005500000157841Z25", "CRLYFRPP"),
}
DEMO_BANK_SINCE = date(2020, 1, 2)


@dataclass(frozen=True)
class SeedResult:
    created: tuple[str, ...]
    existing: tuple[str, ...]


def seed_demo_accounts(session: Session) -> SeedResult:
    created, existing = [], []
    for account in DEMO_ACCOUNTS:
        pro = session.scalar(select(Professional).where(Professional.login == account.login))
        if pro is not None:
            existing.append(account.login)
        else:
            pro = create_professional(session, account)
            created.append(account.login)
        _seed_account(session, pro)
    return SeedResult(tuple(created), tuple(existing))


def _seed_account(session: Session, pro: Professional) -> None:
    """The demo account's e-mail address and bank account, when it has none yet. Commits."""
    if session.get(AccountProfile, pro.id) is None:
        session.add(AccountProfile(professional_id=pro.id, email=DEMO_EMAILS[pro.login],
                                   status=AccountStatus.ACTIVE, totp_last_step=0))
    bank = DEMO_BANK.get(pro.login)
    if bank and session.scalar(select(BankAccount.id).where(BankAccount.professional_id == pro.id)) is None:
        register_bank_account(session, pro.id, bank, DEMO_BANK_SINCE, "demo")
    session.commit()


def demo_pki_holders() -> list[DemoHolder]:
    holders = [
        DemoHolder(a.login, f"{a.first_name} {a.last_name}", a.rpps, a.structure or "amelipro démo")
        for a in DEMO_ACCOUNTS
        if a.rpps
    ]
    holders.append(DemoHolder("gateway", "Passerelle amelipro (accusés de réception)", None, "amelipro"))
    return holders
