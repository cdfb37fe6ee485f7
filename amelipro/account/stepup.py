"""Step-up for sensitive actions, on the web side: a password + second-factor confirmation
(``services.verify_step_up``) stays valid ``AMELIPRO_STEP_UP_MINUTES`` for the login session
that made it.

Use on any view that must be confirmed (bank account change; online signing)::

    @bp.route(...)
    @login_required
    @step_up_required
    def sign(): ...

A GET without a valid step-up is redirected to « Confirmer votre identité » and comes back;
a POST is refused with ACC-009 (the form is shown again after the confirmation).
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from functools import wraps

from flask import redirect, request, session, url_for
from flask_login import current_user

from amelipro.account import errors
from amelipro.db import utcnow
from amelipro.errors import AmeliproError

KEY = "step_up"


def _bound() -> str:
    token = getattr(current_user, "session_token", "") or ""
    return hashlib.sha256(token.encode()).hexdigest()[:32]


def grant_step_up(until: datetime) -> None:
    session[KEY] = {"login": _bound(), "until": until.isoformat()}


def has_step_up() -> bool:
    value = session.get(KEY)
    if not isinstance(value, dict) or value.get("login") != _bound():
        return False
    try:
        return datetime.fromisoformat(value["until"]) > utcnow()
    except (KeyError, TypeError, ValueError):
        return False


def clear_step_up() -> None:
    session.pop(KEY, None)


def step_up_required(view):
    @wraps(view)
    def wrapper(*args, **kwargs):
        if not has_step_up():
            if request.method == "GET":
                return redirect(url_for("account.step_up", next=request.full_path.rstrip("?")))
            raise AmeliproError(errors.STEP_UP_REQUIRED)
        return view(*args, **kwargs)

    return wrapper
