"""Settings read from the environment (prefix ``AMELIPRO_``), in the app factory only."""

from __future__ import annotations

import os
from pathlib import Path


# name -> (default, parser). Every setting is documented in the README's table.
def _bool(value: str) -> bool:
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _defaults(instance_path: Path) -> dict[str, object]:
    repo_shared = Path(__file__).resolve().parent.parent.parent / "shared" / "data"
    return {
        "DATABASE_URL": f"sqlite:///{instance_path / 'amelipro.sqlite3'}",
        "SECRET_KEY": None,  # generated and stored under instance/ when not given
        "REFERENCE_DIR": str(repo_shared) if repo_shared.is_dir() else "",
        "TRUST_STORE_DIR": str(instance_path / "pki" / "trust"),
        "PKI_DIR": str(instance_path / "pki"),
        "MAX_CONTENT_LENGTH": 20 * 1024 * 1024,
        "XML_MAX_BYTES": 20 * 1024 * 1024,
        "XML_MAX_DEPTH": 64,
        "SIGNATURE_MAX_AGE_DAYS": 90,  # an FSE signed longer ago is refused (FSE-SIG-017)
        "SIGNATURE_VERIFIER": "strict",  # "strict" (lxml C14N + cryptography) or "signxml" (the reference)
        "FSE_CHECK_RIGHTS": True,  # False only without a caisse file: skips rules FSE-R-006..010
        "FSE_PARALLEL_READ": True,  # a large lot read on two cores when one is idle (fse/parallel_read.py)
        "LOGIN_MAX_FAILURES": 5,
        "LOGIN_LOCK_MINUTES": 15,
        "SESSION_HOURS": 12,
        "SESSION_COOKIE_SECURE": False,
        # Database timeouts (docs/operations.md): no request waits on the database for ever.
        "DB_STATEMENT_TIMEOUT": 30000,  # ms, PostgreSQL statement_timeout (0: none)
        "DB_LOCK_TIMEOUT": 10000,  # ms, PostgreSQL lock_timeout (0: none)
        "DB_CONNECT_TIMEOUT": 5,  # s, PostgreSQL connection attempt
        "DB_POOL_TIMEOUT": 10,  # s, waiting for a free connection of the pool
        "SQLITE_BUSY_TIMEOUT": 30000,  # ms, SQLite waiting for the write lock
        "RETRY_AFTER_SECONDS": 5,  # Retry-After of every 409 and 503 that gives no better figure
        # A claim « en cours » left by a crashed request is taken over after this many seconds;
        # 0: derived from XML_MAX_BYTES (the largest lot accepted), see fse/idempotency.py.
        "IDEMPOTENCY_STALE_SECONDS": 0,
        # the professional's account (docs/compte.md)
        "SMTP_URL": "",  # empty: e-mails written as .eml files under instance/mail/
        "MAIL_FROM": "amelipro <ne-pas-repondre@amelipro.invalid>",
        "BASE_URL": "",  # links in e-mails; empty: the address of the request
        "BANK_COOLING_OFF_DAYS": 2,  # working days before a new bank account is in force
        "STEP_UP_MINUTES": 5,  # how long a password + code confirmation stays valid
        "OPERATOR_TOTP_REQUIRED": True,  # operators enrol a second factor before administering accounts
        # Reverse proxies in front of the app whose X-Forwarded-For/-Proto are believed
        # (0: none, the peer address is the client; see docs/security.md).
        "TRUSTED_PROXIES": 0,
        # Rights lookups (« Droits du patient », API): at most LIMIT per professional per WINDOW.
        "RIGHTS_LOOKUP_LIMIT": 100,
        "RIGHTS_LOOKUP_WINDOW_MINUTES": 60,
        "OPERATIONS_WORKER": "thread",  # operator jobs: "thread" (in the web process) or "cli" (amelipro operations work)
        "ONLINE_SIGNING_SECRET": None,  # encrypts online-signing keys; None: instance/online_signing_secret
    }


_PARSERS = {
    "MAX_CONTENT_LENGTH": int,
    "XML_MAX_BYTES": int,
    "XML_MAX_DEPTH": int,
    "SIGNATURE_MAX_AGE_DAYS": int,
    "FSE_CHECK_RIGHTS": _bool,
    "FSE_PARALLEL_READ": _bool,
    "LOGIN_MAX_FAILURES": int,
    "LOGIN_LOCK_MINUTES": int,
    "SESSION_HOURS": int,
    "SESSION_COOKIE_SECURE": _bool,
    "DB_STATEMENT_TIMEOUT": int,
    "DB_LOCK_TIMEOUT": int,
    "DB_CONNECT_TIMEOUT": int,
    "DB_POOL_TIMEOUT": int,
    "SQLITE_BUSY_TIMEOUT": int,
    "RETRY_AFTER_SECONDS": int,
    "IDEMPOTENCY_STALE_SECONDS": int,
    "BANK_COOLING_OFF_DAYS": int,
    "STEP_UP_MINUTES": int,
    "OPERATOR_TOTP_REQUIRED": _bool,
    "TRUSTED_PROXIES": int,
    "RIGHTS_LOOKUP_LIMIT": int,
    "RIGHTS_LOOKUP_WINDOW_MINUTES": int,
}


def load_settings(instance_path: Path, environ: dict[str, str] | None = None) -> dict[str, object]:
    """Defaults overridden by ``AMELIPRO_<NAME>`` environment variables."""
    environ = os.environ if environ is None else environ
    settings = _defaults(instance_path)
    for name in settings:
        raw = environ.get(f"AMELIPRO_{name}")
        if raw is not None:
            settings[name] = _PARSERS.get(name, str)(raw)
    return settings


def ensure_secret_key(instance_path: Path) -> str:
    """A random key kept in ``instance/secret_key`` so sessions survive restarts.

    Created atomically: several gunicorn workers starting together agree on one key.
    """
    import secrets
    import time

    path = instance_path / "secret_key"
    instance_path.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        for _ in range(50):
            key = path.read_text().strip()
            if key:
                return key
            time.sleep(0.02)
        raise RuntimeError(f"{path} is empty") from None
    key = secrets.token_hex(32)
    with os.fdopen(fd, "w") as handle:
        handle.write(key)
    return key
