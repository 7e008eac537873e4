"""Forms for the sign-in pages and the portal."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import EmailField, HiddenField, PasswordField, StringField
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


class ChangePasswordForm(ResetPasswordForm):
    current = PasswordField(_l("Current password"), validators=[DataRequired()])


class ContactForm(FlaskForm):
    mobile = StringField(_l("Mobile"), validators=[Optional(), Length(max=32)])
    email = EmailField(_l("E-mail for notices"), validators=[Optional(), Length(max=254)])
    emergency_contact = StringField(
        _l("Emergency contact"), validators=[Optional(), Length(max=64)]
    )
    emergency_phone = StringField(_l("Emergency phone"), validators=[Optional(), Length(max=32)])


class LanguageForm(FlaskForm):
    lang = HiddenField(validators=[DataRequired()])
    next = HiddenField()
