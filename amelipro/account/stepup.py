"""Step-up for sensitive actions, on the web side: a password + second-factor confirmation
(``second_factor.verify_step_up``, page « Confirmer votre identité ») stays valid
``AMELIPRO_STEP_UP_MINUTES`` for the login session that made it.

Put it on any view that must be confirmed (bank account change; online signing)::

    @bp.route(...)
    @login_required
    @step_up_required            # second factor required (the default)
    def sign(): ...

Without a second factor enrolled, a GET goes to the enrolment page and a POST is refused
(ACC-008). Without a recent confirmation, a GET goes to « Confirmer votre identité » and comes
back; a POST is refused (ACC-009). ``@step_up_required(totp=False)`` accepts the password alone
from an account without a second factor.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from functools import wraps

from flask import current_app, flash, redirect, request, session, url_for
from flask_login import current_user

from amelipro.account import errors, profiles, second_factor
from amelipro.auth.views import login_policy
from amelipro.db import get_session, utcnow
from amelipro.errors import AmeliproError

KEY = "step_up"


def _bound() -> str:
    token = getattr(current_user, "session_token", "") or ""
    return hashlib.sha256(token.encode()).hexdigest()[:32]


def grant_step_up(until: datetime, with_totp: bool) -> None:
    session[KEY] = {"login": _bound(), "until": until.isoformat(), "totp": with_totp}


def has_step_up(totp: bool = True) -> bool:
    value = session.get(KEY)
    if not isinstance(value, dict) or value.get("login") != _bound():
        return False
    if totp and not value.get("totp"):
        return False
    try:
        return datetime.fromisoformat(value["until"]) > utcnow()
    except (KeyError, TypeError, ValueError):
        return False


def account_policy() -> profiles.AccountPolicy:
    cfg = current_app.config
    return profiles.AccountPolicy(login=login_policy(),
                                  cooling_off_days=cfg["BANK_COOLING_OFF_DAYS"],
                                  step_up_minutes=cfg["STEP_UP_MINUTES"])


def totp_enrolled() -> bool:
    return profiles.totp_enabled(get_session(), current_user)


def confirm_step_up(password: str, code: str) -> None:
    """Check the password (and the second factor when enrolled) typed on a page that asks for
    them inline (online signing), then grant the step-up as the « Confirmer » page does."""
    enrolled = totp_enrolled()
    until = second_factor.verify_step_up(get_session(), current_user, password, code,
                                    request.remote_addr or "", account_policy())
    grant_step_up(until, with_totp=enrolled)


def step_up_required(view=None, *, totp: bool = True):
    def decorate(view):
        @wraps(view)
        def wrapper(*args, **kwargs):
            if totp and not profiles.totp_enabled(get_session(), current_user):
                if request.method == "GET":
                    flash(f"{errors.TOTP_REQUIRED.message} {errors.TOTP_REQUIRED.hint}", "info")
                    return redirect(url_for("account.totp"))
                raise AmeliproError(errors.TOTP_REQUIRED)
            if not has_step_up(totp):
                if request.method == "GET":
                    return redirect(url_for("account.step_up", next=request.full_path.rstrip("?")))
                raise AmeliproError(errors.STEP_UP_REQUIRED)
            return view(*args, **kwargs)

        return wrapper

    return decorate(view) if view is not None else decorate
