"""Blueprint of the account package and its operator panel on the home page."""

from __future__ import annotations

from flask import Flask

from amelipro import home


def register(app: Flask) -> None:
    from amelipro.account import views

    app.register_blueprint(views.bp)
    home.add_panel(app, _operator_panel)


def _operator_panel(session, user):
    from amelipro import clock
    from amelipro.account import bank_changes, operators, profiles
    from amelipro.account.models import AccountStatus

    if not user.is_operator:
        return None
    pending = operators.count_accounts(session, AccountStatus.PENDING)
    locked = operators.count_accounts(session, AccountStatus.LOCKED)
    unpaid = bank_changes.professionals_without_account(session, clock.paris_today())
    own_totp = profiles.totp_enabled(session, user)
    return home.Panel(
        title="Comptes des professionnels",
        endpoint="account.operator_accounts",
        facts=(
            home.Fact("Demandes en attente", str(pending), alert=bool(pending)),
            home.Fact("Comptes verrouillés", str(locked)),
            home.Fact("Sans compte bancaire en vigueur", str(unpaid),
                      "la liquidation ne les paie pas" if unpaid else "", alert=bool(unpaid)),
            home.Fact("Votre double authentification", "activée" if own_totp else "à activer",
                      "" if own_totp else "obligatoire pour administrer les comptes",
                      alert=not own_totp),
        ),
        note="La liquidation ne paie aucun professionnel sans compte bancaire en vigueur : "
             "ses FSE restent en attente." if unpaid else "",
    )
