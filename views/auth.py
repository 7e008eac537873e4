"""Sign in, sign out, forgotten and reset passwords, language choice."""

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
from flask_babel import gettext as _
from flask_login import current_user

from propadmin import audit
from propadmin.extensions import db, limiter
from propadmin.i18n import set_language
from propadmin.permissions import public
from propadmin.services import ServiceError
from propadmin.services.accounts import (
    authenticate,
    end_sessions,
    find_user,
    request_password_reset,
    set_password,
    user_for_reset_token,
)
from propadmin.sessions import (
    count_sign_in_attempt,
    end_session,
    forget_sign_in_attempts,
    start_session,
)

from .forms import ForgotPasswordForm, LanguageForm, LoginForm, ResetPasswordForm
from .util import home_url, safe_next

bp = Blueprint("auth", __name__)

# The reset token is moved from the URL into the session before the form is shown,
# so it does not linger in history, logs or Referer headers.
RESET_PLACEHOLDER = "new"


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(
    lambda: current_app.config["LOGIN_LIMIT_PER_ADDRESS"], methods=["POST"], scope="login-ip"
)
@public
def login():
    if current_user.is_authenticated:
        return redirect(home_url())
    form = LoginForm(next=request.args.get("next", ""))
    if form.validate_on_submit():
        candidate = find_user(db.session, form.username.data)
        # One counter per account, however it is named (user name or e-mail), counted
        # before the password is checked so that parallel guesses cannot slip through.
        account = f"user:{candidate.id}" if candidate else f"name:{form.username.data.lower()}"
        if not count_sign_in_attempt(account):
            abort(429)
        user = authenticate(db.session, form.username.data, form.password.data)
        if user is None:
            # What was typed is not stored: it may be a password in the wrong box.
            audit.record(
                db.session, "login", "User", candidate.id if candidate else "", result="failed"
            )
            db.session.commit()
            # One answer for unknown user, wrong password and disabled account.
            form.password.errors.append(_("User name or password is incorrect."))
        else:
            forget_sign_in_attempts(account)
            start_session(user)
            audit.record(db.session, "login", "User", user.id, result="ok")
            db.session.commit()
            return redirect(safe_next(form.next.data) or home_url())
    return render_template("auth/login.html", form=form)


@bp.route("/logout", methods=["POST"])
@public
def logout():
    if current_user.is_authenticated:
        end_sessions(db.session, current_user)
        audit.record(db.session, "logout", "User", current_user.id)
        db.session.commit()
    end_session()
    flash(_("You have signed out."), "info")
    return redirect(url_for("auth.login"))


@bp.route("/forgot-password", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["FORGOT_PASSWORD_LIMIT"], methods=["POST"])
@public
def forgot_password():
    form = ForgotPasswordForm()
    if form.validate_on_submit():
        request_password_reset(db.session, form.email.data)
        db.session.commit()
        flash(
            _(
                "If an account uses that address, a link to reset the password is on its way. "
                "It works once, for one hour."
            ),
            "info",
        )
        return redirect(url_for("auth.login"))
    return render_template("auth/forgot_password.html", form=form)


@bp.route("/reset-password/<token>", methods=["GET", "POST"])
@public
def reset_password(token: str):
    if token != RESET_PLACEHOLDER and request.method == "GET":
        session["reset_token"] = token
        return redirect(url_for("auth.reset_password", token=RESET_PLACEHOLDER))
    real_token = session.get("reset_token") if token == RESET_PLACEHOLDER else token
    user = user_for_reset_token(db.session, real_token or "")
    if user is None:
        session.pop("reset_token", None)
        return render_template("auth/reset_invalid.html"), 400
    form = ResetPasswordForm()
    if form.validate_on_submit():
        try:
            set_password(db.session, user, form.password.data)
        except ServiceError as exc:
            getattr(form, exc.field or "password").errors.append(exc.message)
        else:
            audit.record(db.session, "password", "User", user.id, event="reset")
            db.session.commit()
            session.pop("reset_token", None)
            if current_user.is_authenticated:
                end_session()
            flash(_("Your password has been changed. Please sign in."), "success")
            return redirect(url_for("auth.login"))
    return render_template("auth/reset_password.html", form=form, user=user)


@bp.route("/language", methods=["POST"])
@public
def language():
    form = LanguageForm()
    if form.validate_on_submit():
        set_language(form.lang.data)
    return redirect(safe_next(form.next.data) or url_for("auth.login"))


@bp.after_request
def _no_referrer(response):
    if request.endpoint == "auth.reset_password":
        response.headers["Referrer-Policy"] = "no-referrer"
    return response
