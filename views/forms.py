"""Forms for the sign-in pages and the portal."""

from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import EmailField, HiddenField, PasswordField, StringField, TelField
from wtforms.validators import DataRequired, Email, EqualTo, Length, Optional


class LoginForm(FlaskForm):
    username = StringField(
        _l("Mobile number, user name or e-mail"), validators=[DataRequired(), Length(max=254)]
    )
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=128)])
    next = HiddenField()


class ForgotPasswordForm(FlaskForm):
    email = EmailField(_l("E-mail"), validators=[DataRequired(), Email(), Length(max=254)])


class AccessCodeForm(FlaskForm):
    # Its length is checked by the service, which says what a code looks like.
    code = StringField(
        _l("One-time code"), validators=[DataRequired(message=_l("Enter the code you were given."))]
    )


class ResetPasswordForm(FlaskForm):
    password = PasswordField(_l("New password"), validators=[DataRequired()])
    confirm = PasswordField(
        _l("Repeat the new password"),
        validators=[DataRequired(), EqualTo("password", message=_l("The passwords differ."))],
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # The rules, before the first try (services/accounts.py validate_password).
        self.password.description = _(
            "At least %(n)d characters. Not a common password, and not made of your name, "
            "user name, e-mail or mobile number.",
            n=current_app.config["PASSWORD_MIN_LENGTH"],
        )


class ChangePasswordForm(ResetPasswordForm):
    current = PasswordField(_l("Current password"), validators=[DataRequired()])


# Number fields bring up the phone keypad.
PHONE = {"inputmode": "tel", "autocomplete": "tel"}


class ContactForm(FlaskForm):
    mobile = TelField(_l("Mobile"), validators=[Optional(), Length(max=32)], render_kw=PHONE)
    email = EmailField(_l("E-mail for notices"), validators=[Optional(), Length(max=254)])
    emergency_contact = StringField(
        _l("Emergency contact"), validators=[Optional(), Length(max=64)]
    )
    emergency_phone = TelField(
        _l("Emergency phone"),
        validators=[Optional(), Length(max=32)],
        render_kw={"inputmode": "tel"},
    )


class LanguageForm(FlaskForm):
    lang = HiddenField(validators=[DataRequired()])
    next = HiddenField()
