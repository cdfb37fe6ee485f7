"""amelipro: billing gateway for French health professionals."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # importing the package must not import Flask: the pure core lives in it
    from flask import Flask


def create_app(config: dict[str, Any] | None = None) -> Flask:
    """Build the application: settings, database, security, blueprints, commands."""
    from flask import Flask

    app = Flask(__name__, instance_relative_config=False)
    configure_settings(app, config)
    configure_database(app)
    configure_security(app)
    configure_errors(app)
    configure_routing(app)
    configure_blueprints(app)
    configure_templates(app)
    configure_cli(app)
    return app


def configure_settings(app: Flask, config: dict[str, Any] | None) -> None:
    from amelipro.config import ensure_secret_key, load_settings

    instance = Path(
        (config or {}).get("INSTANCE_PATH") or Path.cwd() / "instance"
    ).resolve()
    app.instance_path = str(instance)
    app.config.update(load_settings(instance))
    if config:
        app.config.update(config)
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = ensure_secret_key(instance)
    app.config.update(
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        REMEMBER_COOKIE_HTTPONLY=True,
        WTF_CSRF_TIME_LIMIT=None,
    )


def configure_database(app: Flask) -> None:
    from amelipro import db

    db.init_app(app)


def configure_security(app: Flask) -> None:
    from amelipro import uploads
    from amelipro.auth.views import init_login
    from amelipro.extensions import csrf

    csrf.init_app(app)
    uploads.init_app(app)  # first of the request hooks: bodies whole or refused
    init_login(app)
    hops = int(app.config.get("TRUSTED_PROXIES") or 0)
    if hops < 0:
        raise ValueError("AMELIPRO_TRUSTED_PROXIES must be 0 or more")
    if hops:
        from werkzeug.middleware.proxy_fix import ProxyFix

        # The client address is the one the n-th proxy from the app saw; nothing a client
        # writes in X-Forwarded-For beyond that is believed.
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops)

    @app.after_request
    def _security_headers(response):
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers.setdefault(
            "Content-Security-Policy",
            "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
            "frame-ancestors 'none'; form-action 'self'",
        )
        return response


def configure_errors(app: Flask) -> None:
    from amelipro import errors

    errors.init_app(app)


def configure_routing(app: Flask) -> None:
    """``<int:...>`` in every route stops at 2^31 - 1 (ids are 32-bit integers on
    PostgreSQL): a larger id is a page that does not exist (404), never an overflow in the
    database (500)."""
    from werkzeug.routing import IntegerConverter

    from amelipro.errors import MAX_QUERY_INT

    class DatabaseIdConverter(IntegerConverter):
        def __init__(self, url_map, *args, **kwargs) -> None:
            kwargs.setdefault("max", MAX_QUERY_INT)
            super().__init__(url_map, *args, **kwargs)

    app.url_map.converters["int"] = DatabaseIdConverter


def configure_blueprints(app: Flask) -> None:
    from amelipro import home
    from amelipro.api import bp as api_bp
    from amelipro.auth.views import bp as auth_bp
    from amelipro.views import bp as main_bp
    from amelipro.views import security_panel

    app.register_blueprint(main_bp)
    app.register_blueprint(auth_bp)
    app.register_blueprint(api_bp)
    for register in _capability_blueprints():
        register(app)
    home.add_panel(app, security_panel)  # last: the operators' home ends with it


def _capability_blueprints():
    """Capability packages expose ``register(app)`` in their ``web`` module (in this order)."""
    from amelipro.account import web as account
    from amelipro.beneficiaries import web as beneficiaries
    from amelipro.fse import web as fse
    from amelipro.messaging import web as messaging
    from amelipro.operations import web as operations
    from amelipro.reference import web as reference
    from amelipro.thirdparty import web as thirdparty

    return (reference.register, fse.register, thirdparty.register, beneficiaries.register,
            operations.register, account.register, messaging.register)


def configure_templates(app: Flask) -> None:
    from amelipro import filters

    filters.init_app(app)


def configure_cli(app: Flask) -> None:
    from amelipro.cli import register_commands

    register_commands(app)
