"""The forms of the account pages (Flask-WTF: CSRF on every POST)."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional


class SignUpForm(FlaskForm):
    login = StringField("Identifiant", validators=[DataRequired(), Length(max=64)])
    email = EmailField("Adresse e-mail", validators=[DataRequired(), Length(max=254)])
    first_name = StringField("Prénom", validators=[DataRequired(), Length(max=100)])
    last_name = StringField("Nom", validators=[DataRequired(), Length(max=100)])
    profession = StringField("Profession", validators=[DataRequired(), Length(max=40)])
    rpps = StringField("Numéro RPPS (11 chiffres)", validators=[DataRequired(), Length(max=11)])
    am_number = StringField("Numéro AM (9 caractères)", validators=[DataRequired(), Length(max=9)])
    finess = StringField("FINESS (pharmacies)", validators=[Optional(), Length(max=9)])
    password = PasswordField("Mot de passe", validators=[DataRequired(), Length(max=200)])


class EmptyForm(FlaskForm):
    """Only its CSRF token (confirmations, cancellations)."""


class CodeForm(FlaskForm):
    code = StringField("Code de vérification", validators=[DataRequired(), Length(max=20)])


class ChangePasswordForm(FlaskForm):
    old_password = PasswordField("Mot de passe actuel", validators=[DataRequired(), Length(max=200)])
    new_password = PasswordField("Nouveau mot de passe", validators=[DataRequired(), Length(max=200)])


class ForgotForm(FlaskForm):
    identifier = StringField("Identifiant ou adresse e-mail", validators=[DataRequired(), Length(max=254)])


class ResetForm(FlaskForm):
    new_password = PasswordField("Nouveau mot de passe", validators=[DataRequired(), Length(max=200)])


class StepUpForm(FlaskForm):
    password = PasswordField("Mot de passe", validators=[DataRequired(), Length(max=200)])
    code = StringField("Code de vérification", validators=[Optional(), Length(max=20)])


class DetailsForm(FlaskForm):
    practice_name = StringField("Nom du cabinet", validators=[Length(max=200)])
    address = StringField("Adresse", validators=[Length(max=300)])
    postcode = StringField("Code postal", validators=[Length(max=5)])
    city = StringField("Ville", validators=[Length(max=100)])
    phone = StringField("Téléphone", validators=[Length(max=20)])
    email = EmailField("Adresse e-mail", validators=[Length(max=254)])


class BankForm(FlaskForm):
    holder = StringField("Titulaire du compte", validators=[DataRequired(), Length(max=70)])
    iban = StringField("IBAN", validators=[DataRequired(), Length(max=50)])
    bic = StringField("BIC", validators=[DataRequired(), Length(max=11)])


class ReasonForm(FlaskForm):
    reason = TextAreaField("Motif", validators=[DataRequired(), Length(max=500)])


def form_error(form: FlaskForm) -> str:
    """The form's problems in French (WTForms' own messages are English)."""
    return "; ".join(
        f"{form[name].label.text.lower()} : {'trop long' if form[name].data else 'obligatoire'}"
        for name in form.errors if name != "csrf_token")
