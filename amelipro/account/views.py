"""Pages of the account: sign-up, e-mail links, password, second factor, coordonnées, bank
account, and the operators' account administration. Views parse, call a service, render."""

from __future__ import annotations

from datetime import datetime, timedelta

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_login import current_user, login_required, login_user

from amelipro import clock
from amelipro.account import (
    bank_changes,
    banking,
    errors,
    operators,
    passwords,
    practice_details,
    profiles,
    registration,
    second_factor,
)
from amelipro.account.forms import (
    BankForm,
    ChangePasswordForm,
    CodeForm,
    DetailsForm,
    EmptyForm,
    ForgotForm,
    ReasonForm,
    ResetForm,
    SignUpForm,
    StepUpForm,
    form_error,
)
from amelipro.account.models import LinkPurpose
from amelipro.account.stepup import account_policy, grant_step_up, step_up_required
from amelipro.auth import practice
from amelipro.auth import services as auth_services
from amelipro.auth.models import Professional
from amelipro.auth.views import MFA_KEY, login_policy, safe_next
from amelipro.db import get_session
from amelipro.domain import PROFESSION_LABELS
from amelipro.errors import AmeliproError

bp = Blueprint("account", __name__)
MFA_MINUTES = 5
ENROL_KEY = "totp_enrol_secret"
CODES_KEY = "totp_recovery_codes"


def external_url(endpoint: str, **values) -> str:
    base = current_app.config.get("BASE_URL") or ""
    if base:
        return base.rstrip("/") + url_for(endpoint, **values)
    return url_for(endpoint, _external=True, **values)


policy = account_policy


def addr() -> str:
    return request.remote_addr or ""


# --- sign-up and e-mail confirmation ---------------------------------------------------------

@bp.route("/compte/creer", methods=["GET", "POST"])
def signup():
    form = SignUpForm()
    problems: list[str] = []
    status = 200
    if form.validate_on_submit():
        try:
            registration.sign_up(get_session(), registration.SignUp(
                login=form.login.data, password=form.password.data, email=form.email.data,
                first_name=form.first_name.data, last_name=form.last_name.data,
                profession=form.profession.data, rpps=form.rpps.data,
                am_number=form.am_number.data, finess=form.finess.data or ""), external_url)
        except AmeliproError as exc:
            problems, status = exc.extra.get("problems") or [exc.error.message], exc.status
        else:
            return redirect(url_for("account.signup_sent"))
    elif request.method == "POST":
        problems, status = [form_error(form) or "Formulaire incomplet."], 400
    return render_template("account/signup.html", form=form, problems=problems,
                           professions=PROFESSION_LABELS), status


@bp.get("/compte/creer/envoye")
def signup_sent():
    return render_template("account/message.html", title="Demande enregistrée", message=(
        "Si ces informations permettent d'ouvrir un compte, un e-mail de confirmation vient "
        "d'être envoyé à l'adresse indiquée. Suivez son lien (valable 7 jours) ; votre compte "
        "sera ouvert après la vérification de vos identifiants par un opérateur."))


def _link_page(template: str, purpose, token: str, **context):
    """GET of an e-mail link: the page and its button, or the clear error (nothing changed)."""
    try:
        profiles.check_link(get_session(), token, purpose)
    except AmeliproError as exc:
        return _link_error(exc)
    return render_template(template, token=token, **context)


def _link_error(exc: AmeliproError):
    return render_template("account/link_error.html", error=exc), exc.status


def _confirm_page(purpose, token: str, title: str, button: str):
    return _link_page("account/confirm.html", purpose, token, form=EmptyForm(), title=title, button=button)


@bp.get("/compte/confirmer/<token>")
def confirm_email(token: str):
    return _confirm_page(LinkPurpose.CONFIRM_EMAIL, token, "Confirmer votre adresse e-mail",
                         "Confirmer mon adresse")


@bp.post("/compte/confirmer/<token>")
def confirm_email_post(token: str):
    try:
        pro = registration.confirm_email(get_session(), token, external_url)
    except AmeliproError as exc:
        return _link_error(exc)
    flash("Adresse e-mail confirmée." + ("" if pro.active else
          " Votre compte sera ouvert après la vérification de vos identifiants par un opérateur."),
          "success")
    return redirect(url_for("auth.login"))


# --- second step of the login ----------------------------------------------------------------

def _pending_pro() -> Professional | None:
    pending = session.get(MFA_KEY)
    if not isinstance(pending, dict):
        return None
    try:
        started = datetime.fromisoformat(pending["at"])
    except (KeyError, TypeError, ValueError):
        return None
    if clock.utcnow() - started > timedelta(minutes=MFA_MINUTES):
        return None
    pro = get_session().get(Professional, pending.get("pro"))
    return pro if pro is not None and pro.active else None


@bp.route("/connexion/code", methods=["GET", "POST"])
def login_code():
    pro = _pending_pro()
    if pro is None:
        session.pop(MFA_KEY, None)
        flash("Connectez-vous de nouveau.", "info")
        return redirect(url_for("auth.login"))
    form = CodeForm()
    error, status = None, 200
    if form.validate_on_submit():
        try:
            kind = second_factor.verify_second_factor(get_session(), pro, form.code.data, addr(), policy())
        except AmeliproError as exc:
            error, status = exc.error.message, exc.status
        else:
            target = session.get(MFA_KEY, {}).get("next") or url_for("main.home")
            session.clear()
            result = auth_services.open_session(get_session(), pro, addr(), login_policy())
            pro.session_token = result.session_token
            login_user(pro)
            if kind == "recovery":
                flash("Code de secours utilisé : il ne servira plus. S'il vous en reste peu, "
                      "demandez à un opérateur de réinitialiser votre double authentification.", "info")
            flash(f"Bienvenue, {pro.display_name}.", "success")
            return redirect(target)
    elif request.method == "POST":
        error, status = "Saisissez le code.", 400
    return render_template("account/login_code.html", form=form, error=error), status


# --- the account page ------------------------------------------------------------------------

@bp.get("/compte")
@login_required
def overview():
    db = get_session()
    today = clock.paris_today()
    return render_template(
        "account/overview.html", profile=profiles.profile_of(db, current_user.id),
        details=practice_details.current_details(db, current_user.id),
        in_force=banking.account_in_force(db, current_user.id, today),
        pending=banking.pending_bank_changes(db, current_user.id, today),
        recovery_left=second_factor.remaining_recovery_codes(db, current_user),
        periods=practice.practice_history(db, current_user.id).periods,
    )


@bp.route("/compte/mot-de-passe", methods=["GET", "POST"])
@login_required
def change_password():
    form = ChangePasswordForm()
    error, status = None, 200
    if form.validate_on_submit():
        try:
            revoked = passwords.change_password(
                get_session(), current_user, form.old_password.data, form.new_password.data,
                current_user.session_token, addr(), policy(), external_url)
        except AmeliproError as exc:
            error, status = exc.detail or exc.error.message, exc.status
        else:
            flash("Mot de passe changé." + (f" {revoked} autre(s) session(s) fermée(s)." if revoked else ""),
                  "success")
            return redirect(url_for("account.overview"))
    elif request.method == "POST":
        error, status = "Remplissez les deux champs.", 400
    return render_template("account/password.html", form=form, error=error), status


@bp.route("/mot-de-passe-oublie", methods=["GET", "POST"])
def forgot_password():
    form = ForgotForm()
    if form.validate_on_submit():
        passwords.request_password_reset(get_session(), form.identifier.data, external_url)
        return redirect(url_for("account.forgot_sent"))
    status = 400 if request.method == "POST" else 200
    return render_template("account/forgot.html", form=form), status


@bp.get("/mot-de-passe-oublie/envoye")
def forgot_sent():
    return render_template("account/message.html", title="Demande enregistrée", message=(
        "Si un compte ouvert correspond, un e-mail contenant un lien de réinitialisation "
        "(valable une heure) vient d'être envoyé à son adresse."))


@bp.route("/mot-de-passe/<token>", methods=["GET", "POST"])
def reset_password(token: str):
    if request.method == "GET":
        return _link_page("account/reset.html", LinkPurpose.RESET_PASSWORD, token,
                          form=ResetForm(), error=None)
    form = ResetForm()
    error, status = None, 400
    if form.validate_on_submit():
        try:
            passwords.reset_password(get_session(), token, form.new_password.data, external_url)
        except AmeliproError as exc:
            if exc.error in (errors.LINK_INVALID, errors.LINK_EXPIRED):
                return _link_error(exc)
            error, status = exc.detail or exc.error.message, exc.status
        else:
            flash("Mot de passe changé : connectez-vous avec le nouveau.", "success")
            return redirect(url_for("auth.login"))
    return render_template("account/reset.html", form=form, token=token, error=error), status


# --- coordonnées -----------------------------------------------------------------------------

@bp.route("/compte/coordonnees", methods=["GET", "POST"])
@login_required
def details():
    db = get_session()
    current = practice_details.current_details(db, current_user.id)
    email = profiles.email_of(db, current_user)
    form = DetailsForm(data={n: getattr(current, n, "") for n in practice_details.DETAIL_LIMITS} | {"email": email})
    problems, status = [], 200
    if form.validate_on_submit():
        data = practice_details.DetailsInput(**{n: form[n].data or "" for n in (*practice_details.DETAIL_LIMITS, "email")})
        try:
            sent = practice_details.update_details(db, current_user, data, external_url)
        except AmeliproError as exc:
            problems, status = exc.extra.get("problems") or [exc.error.message], exc.status
        else:
            flash("Coordonnées enregistrées." + (
                " Un lien de confirmation a été envoyé à la nouvelle adresse e-mail : elle "
                "remplacera l'ancienne quand vous l'aurez suivi." if sent else ""), "success")
            return redirect(url_for("account.details"))
    elif request.method == "POST":
        problems, status = [form_error(form)], 400
    return render_template("account/details.html", form=form, problems=problems, email=email,
                           history=practice_details.details_history(db, current_user.id)), status


@bp.get("/compte/email/<token>")
def confirm_email_change(token: str):
    return _confirm_page(LinkPurpose.CHANGE_EMAIL, token, "Confirmer votre nouvelle adresse e-mail",
                         "Confirmer la nouvelle adresse")


@bp.post("/compte/email/<token>")
def confirm_email_change_post(token: str):
    try:
        practice_details.confirm_email_change(get_session(), token)
    except AmeliproError as exc:
        return _link_error(exc)
    flash("Nouvelle adresse e-mail confirmée.", "success")
    return redirect(url_for("account.overview") if current_user.is_authenticated else url_for("auth.login"))


# --- second factor ---------------------------------------------------------------------------

@bp.route("/compte/double-authentification", methods=["GET", "POST"])
@login_required
def totp():
    db = get_session()
    if profiles.totp_enabled(db, current_user):
        return render_template("account/totp.html", enabled=True,
                               recovery_left=second_factor.remaining_recovery_codes(db, current_user))
    secret = session.get(ENROL_KEY)
    if not secret:
        secret = second_factor.new_totp_secret()
        session[ENROL_KEY] = secret
    form = CodeForm()
    error, status = None, 200
    if form.validate_on_submit():
        try:
            codes = second_factor.enrol_totp(db, current_user, secret, form.code.data)
        except AmeliproError as exc:
            error, status = exc.error.message, exc.status
        else:
            session.pop(ENROL_KEY, None)
            session[CODES_KEY] = codes
            return redirect(url_for("account.recovery_codes"))
    elif request.method == "POST":
        error, status = "Saisissez le code.", 400
    uri = second_factor.provisioning_uri(current_user, secret)
    return render_template("account/totp.html", enabled=False, form=form, error=error, secret=secret,
                           qr=second_factor.qr_svg(uri)), status


@bp.get("/compte/double-authentification/codes")
@login_required
def recovery_codes():
    codes = session.pop(CODES_KEY, None)
    if not codes:
        return redirect(url_for("account.totp"))
    return render_template("account/recovery_codes.html", codes=codes)


@bp.route("/compte/verification", methods=["GET", "POST"])
@login_required
def step_up():
    form = StepUpForm()
    target = safe_next(request.args.get("next", "")) or url_for("account.overview")
    enrolled = profiles.totp_enabled(get_session(), current_user)
    error, status = None, 200
    if form.validate_on_submit():
        try:
            until = second_factor.verify_step_up(get_session(), current_user, form.password.data,
                                            form.code.data or "", addr(), policy())
        except AmeliproError as exc:
            error, status = exc.error.message, exc.status
        else:
            grant_step_up(until, with_totp=enrolled)
            return redirect(target)
    elif request.method == "POST":
        error, status = "Saisissez votre mot de passe.", 400
    return render_template("account/step_up.html", form=form, error=error, enrolled=enrolled), status


# --- bank account ----------------------------------------------------------------------------

@bp.get("/compte/banque")
@login_required
def bank():
    db = get_session()
    today = clock.paris_today()
    return render_template(
        "account/bank.html", in_force=banking.account_in_force(db, current_user.id, today),
        pending=banking.pending_bank_changes(db, current_user.id, today),
        history=banking.bank_history(db, current_user.id), today=today,
        enrolled=profiles.totp_enabled(db, current_user), cancel_form=EmptyForm(),
        cooling_off=current_app.config["BANK_COOLING_OFF_DAYS"],
    )


@bp.route("/compte/banque/modifier", methods=["GET", "POST"])
@login_required
@step_up_required
def bank_change():
    form = BankForm()
    problems, status = [], 200
    if form.validate_on_submit():
        try:
            account = bank_changes.request_bank_change(
                get_session(), current_user, banking.BankInput(form.holder.data, form.iban.data, form.bic.data),
                clock.paris_today(), policy(), external_url)
        except AmeliproError as exc:
            problems, status = exc.extra.get("problems") or [exc.error.message], exc.status
        else:
            flash(f"Nouveau compte {account.masked} enregistré : il sera utilisé pour les virements "
                  f"à partir du {account.effective_on:%d/%m/%Y}. Vous pouvez annuler d'ici là.", "success")
            return redirect(url_for("account.bank"))
    elif request.method == "POST":
        problems, status = [form_error(form)], 400
    return render_template("account/bank_change.html", form=form, problems=problems,
                           cooling_off=current_app.config["BANK_COOLING_OFF_DAYS"]), status


@bp.post("/compte/banque/<int:account_id>/annuler")
@login_required
def bank_cancel(account_id: int):
    account = bank_changes.cancel_bank_change(get_session(), current_user, account_id,
                                          clock.paris_today(), external_url)
    flash(f"Changement vers le compte {account.masked} annulé.", "success")
    return redirect(url_for("account.bank"))


# --- operators -------------------------------------------------------------------------------

def _operator() -> Professional:
    if not current_user.is_operator:
        abort(404)
    return current_user


def _operator_ready():
    """Operators administer accounts only with their own second factor enrolled."""
    if current_app.config["OPERATOR_TOTP_REQUIRED"] and not profiles.totp_enabled(get_session(), current_user):
        flash("Activez d'abord votre double authentification : elle est obligatoire pour "
              "administrer les comptes.", "info")
        return redirect(url_for("account.totp"))
    return None


@bp.get("/operateur/comptes")
@login_required
def operator_accounts():
    _operator()
    gate = _operator_ready()
    if gate:
        return gate
    status = request.args.get("filtre", "")
    rows = operators.list_accounts(get_session(), status)
    return render_template("account/operator_accounts.html", rows=rows, status=status,
                           filters=operators.ACCOUNT_FILTERS)


@bp.get("/operateur/comptes/<int:pro_id>")
@login_required
def operator_account(pro_id: int):
    _operator()
    gate = _operator_ready()
    if gate:
        return gate
    db = get_session()
    row = operators.get_account(db, pro_id)
    today = clock.paris_today()
    return render_template("account/operator_account.html", row=row, form=EmptyForm(),
                           reason_form=ReasonForm(),
                           details=practice_details.current_details(db, pro_id),
                           in_force=banking.account_in_force(db, pro_id, today),
                           pending=banking.pending_bank_changes(db, pro_id, today))


@bp.post("/operateur/comptes/<int:pro_id>/<action>")
@login_required
def operator_action(pro_id: int, action: str):
    operator = _operator()
    gate = _operator_ready()
    if gate:
        return gate
    db = get_session()
    reason = (request.form.get("reason") or "")[:1000]
    if action == "approuver":
        operators.approve(db, operator, pro_id, external_url)
        message = "Compte approuvé."
    elif action == "refuser":
        operators.refuse(db, operator, pro_id, reason)
        message = "Demande refusée ; le motif a été envoyé par e-mail."
    elif action == "verrouiller":
        operators.lock(db, operator, pro_id, reason)
        message = "Compte verrouillé : ses sessions et ses jetons d'API ne fonctionnent plus."
    elif action == "deverrouiller":
        operators.unlock(db, operator, pro_id)
        message = "Compte déverrouillé."
    elif action == "reinitialiser-2fa":
        operators.reset_second_factor(db, operator, pro_id, reason)
        message = "Double authentification réinitialisée."
    else:
        abort(404)
    flash(message, "success")
    return redirect(url_for("account.operator_account", pro_id=pro_id))
