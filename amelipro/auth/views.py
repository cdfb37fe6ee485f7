"""Login, logout and "Logiciels connectés" (API tokens) pages."""

from __future__ import annotations

import re
from urllib.parse import unquote, urlsplit

from flask import (
    Blueprint,
    Flask,
    abort,
    current_app,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_login import current_user, login_required, login_user, logout_user
from flask_wtf import FlaskForm
from wtforms import DateField, PasswordField, StringField
from wtforms.validators import DataRequired, Length, Optional

from amelipro.account import second_factor
from amelipro.auth import practice, services
from amelipro.auth.models import Professional
from amelipro.clock import paris_today, utcnow
from amelipro.db import get_session
from amelipro.errors import AmeliproError
from amelipro.extensions import login_manager
from amelipro.fse.pricing import ConventionSector

bp = Blueprint("auth", __name__)
MFA_KEY = "mfa_pending"  # login waiting for its second factor (amelipro.account.views)


class LoginForm(FlaskForm):
    login = StringField("Identifiant", validators=[DataRequired(), Length(max=64)])
    password = PasswordField("Mot de passe", validators=[DataRequired(), Length(max=200)])


class TokenForm(FlaskForm):
    name = StringField("Nom du logiciel", validators=[DataRequired(), Length(max=100)])


class PracticeForm(FlaskForm):
    start = DateField("Premier jour", validators=[DataRequired(message="Date attendue (AAAA-MM-JJ).")])
    sector = StringField("Secteur conventionnel", validators=[DataRequired()])
    specialty = StringField("Spécialité", validators=[Optional(), Length(max=100)])


class EmptyForm(FlaskForm):
    """A form with only its CSRF token (revocation, logout)."""


def init_login(app: Flask) -> None:
    login_manager.init_app(app)
    login_manager.session_protection = "strong"
    login_manager.login_view = "auth.login"
    login_manager.login_message = "Connectez-vous pour accéder à cette page."
    login_manager.login_message_category = "info"

    @login_manager.user_loader
    def _load(session_token: str) -> Professional | None:
        pro = services.load_login_session(get_session(), session_token)
        if pro is not None:
            pro.session_token = session_token
        return pro


# Flask-Login's protocol on the model, kept here so the model stays free of web concerns.
Professional.is_authenticated = property(lambda self: True)
Professional.is_anonymous = property(lambda self: False)
Professional.is_active = property(lambda self: self.active)
Professional.get_id = lambda self: getattr(self, "session_token", None)


# Characters a browser drops from a URL (WHATWG URL parser) or that have no place in a path
# of this site: refused rather than cleaned, so what is checked is what the browser follows.
_UNSAFE_IN_NEXT = re.compile(r"[\x00-\x20\x7f\\]")


def safe_next(target: str) -> str | None:
    """``target`` when it is a path of this site, else None (then go to the home page).

    Checked after normalisation as a browser would do it: tabs and newlines are removed by
    browsers (``/\t/evil.example`` becomes ``//evil.example``) and a backslash counts as a
    slash, so a target holding either, any control character or a space is refused; so is
    anything with a scheme or a host (``//host``, ``https:``) or not starting with ``/``.
    """
    # An encoded control character or backslash (``%09``, ``%5C``) is harmless to a browser
    # but no page of this site needs one: refused as well, with the raw ones.
    if not target or len(target) > 2000 or _UNSAFE_IN_NEXT.search(unquote(target) + target):
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    return target


def login_policy() -> services.LoginPolicy:
    cfg = current_app.config
    return services.LoginPolicy(
        max_failures=cfg["LOGIN_MAX_FAILURES"],
        lock_minutes=cfg["LOGIN_LOCK_MINUTES"],
        session_hours=cfg["SESSION_HOURS"],
    )


@bp.route("/connexion", methods=["GET", "POST"])
def login():
    if current_user.is_authenticated:
        return redirect(url_for("main.home"))
    form = LoginForm()
    error = None
    status = 200
    if form.validate_on_submit():
        addr = request.remote_addr or ""
        try:
            pro = services.check_credentials(get_session(), form.login.data, form.password.data, addr,
                                             login_policy())
        except AmeliproError as exc:
            error, status = exc.error.message, exc.status
        else:
            target = safe_next(request.args.get("next", "")) or url_for("main.home")
            if second_factor.needs_second_factor(get_session(), pro):
                # Password right, second factor to give: nothing logged in until the code.
                session.clear()
                session[MFA_KEY] = {"pro": pro.id, "at": utcnow().isoformat(), "next": target}
                return redirect(url_for("account.login_code"))
            result = services.open_session(get_session(), pro, addr, login_policy())
            # A fresh session: nothing from before the login survives (no fixation).
            session.clear()
            result.professional.session_token = result.session_token
            login_user(result.professional)
            flash(f"Bienvenue, {result.professional.display_name}.", "success")
            return redirect(target)
    elif request.method == "POST":
        status = 400
    return render_template("auth/login.html", form=form, error=error), status


@bp.route("/deconnexion", methods=["POST"])
def logout():
    # CSRFProtect has already refused a forged request at this point.
    if current_user.is_authenticated:
        services.log_out(get_session(), current_user.session_token)
    logout_user()
    session.clear()
    flash("Vous êtes déconnecté.", "info")
    return redirect(url_for("auth.login"))


@bp.route("/logiciels", methods=["GET", "POST"])
@login_required
def tokens():
    form = TokenForm()
    if form.validate_on_submit():
        created = services.create_token(get_session(), current_user, form.name.data)
        # Post/Redirect/Get: the secret travels once in the (signed) session cookie, is shown
        # by the next GET and removed from the session there; F5 creates nothing.
        session["new_token_secret"] = created.secret
        return redirect(url_for("auth.tokens"))
    new_secret = session.pop("new_token_secret", None) if request.method == "GET" else None
    response = make_response(render_template(
        "auth/tokens.html",
        form=form,
        tokens=services.list_tokens(get_session(), current_user),
        new_secret=new_secret,
    ))
    if new_secret:
        response.headers["Cache-Control"] = "no-store"  # not kept for the Back button
    return response


@bp.route("/logiciels/<int:token_id>/revoquer", methods=["GET", "POST"])
@login_required
def revoke(token_id: int):
    if request.method == "GET":  # the confirmation step (works without JavaScript)
        token = services.get_token(get_session(), current_user, token_id)
        return render_template("auth/revoke.html", token=token, form=EmptyForm())
    token = services.revoke_token(get_session(), current_user, token_id)
    flash(f"Le jeton « {token.name} » est révoqué.", "success")
    return redirect(url_for("auth.tokens"))


# --- sectors and specialties (operators; shown on the account page, amelipro.account) -----------------------------------

def _operator() -> None:
    if not current_user.is_operator:
        abort(403)


@bp.get("/operateur/professionnels")
@login_required
def professionals():
    _operator()
    rows = practice.professionals_in_force(get_session(), paris_today())
    return render_template("auth/professionals.html", rows=rows)


@bp.route("/operateur/professionnels/<int:pro_id>", methods=["GET", "POST"])
@login_required
def professional_practice(pro_id: int):
    _operator()
    session = get_session()
    pro = practice.get_professional(session, pro_id)
    if pro is None:
        abort(404)
    form = PracticeForm()
    error, status = None, 200
    if form.validate_on_submit():
        try:
            change = practice.set_practice(session, pro, form.start.data, practice.parse_sector(form.sector.data),
                                           form.specialty.data or "", actor=current_user)
        except AmeliproError as exc:
            session.rollback()
            error, status = f"{exc.error.message} {exc.detail}".strip(), exc.status
        else:
            flash(f"{pro.display_name} : {change.period.sector.label} à partir du "
                  f"{change.period.start:%d/%m/%Y}.", "success")
            return redirect(url_for("auth.professional_practice", pro_id=pro.id))
    elif request.method == "POST":
        status = 400
    periods = practice.practice_history(session, pro.id).periods
    return render_template("auth/professional.html", pro=pro, periods=periods, form=form, error=error,
                           sectors=list(ConventionSector)), status
