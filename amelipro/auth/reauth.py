"""Re-authentication before a sensitive action (signing and sending a care sheet online).

One small entry point, :func:`confirm_identity`, checks what the person types again (today the
password; a second factor is to be checked here too once accounts have one) and records the
moment in the caller's session store; :func:`recently_confirmed` says whether that moment is
within the configured window (``REAUTH_MINUTES``). Failures count as login failures, so the
login throttle applies to them too.

No Flask here: the store is any mutable mapping (the Flask session in the views).
"""

from __future__ import annotations

from collections.abc import Mapping, MutableMapping
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from amelipro import audit
from amelipro.auth import errors as auth_errors
from amelipro.auth import services
from amelipro.auth.models import LoginFailure, Professional
from amelipro.db import utcnow
from amelipro.errors import AmeliproError

REAUTH_REQUIRED = auth_errors.REAUTH_REQUIRED

STORE_KEY = "amelipro.reauth"


def confirm_identity(session: Session, pro: Professional, password: str, store: MutableMapping,
                     *, addr: str = "", policy: services.LoginPolicy | None = None) -> None:
    """Check ``password`` (and, later, the second factor) for ``pro``; on success record now in
    ``store``. Raises ``AUTH-001`` (wrong) or ``AUTH-002`` (too many failures); commits the
    failure count and the audit entry."""
    policy = policy or services.LoginPolicy()
    if services._recent_failures(session, pro.login, addr, policy) >= policy.max_failures:
        audit.record(session, "reauth.throttled", actor_id=pro.id, actor_login=pro.login)
        session.commit()
        raise AmeliproError(auth_errors.THROTTLED)
    if not services._verify_password(pro.password_hash, password or ""):
        session.add(LoginFailure(login=pro.login, remote_addr=addr))
        audit.record(session, "reauth.failed", actor_id=pro.id, actor_login=pro.login)
        session.commit()
        raise AmeliproError(auth_errors.BAD_CREDENTIALS)
    audit.record(session, "reauth.succeeded", actor_id=pro.id, actor_login=pro.login)
    session.commit()
    store[STORE_KEY] = {"at": utcnow().isoformat(), "who": pro.id}


def recently_confirmed(store: Mapping, pro: Professional, minutes: int) -> bool:
    """True when ``pro`` confirmed their identity less than ``minutes`` ago in this session."""
    entry = store.get(STORE_KEY)
    if not isinstance(entry, dict) or entry.get("who") != pro.id:
        return False
    try:
        at = datetime.fromisoformat(str(entry.get("at")))
    except ValueError:
        return False
    now = utcnow()
    return at <= now < at + timedelta(minutes=max(0, minutes))


def forget(store: MutableMapping) -> None:
    store.pop(STORE_KEY, None)
