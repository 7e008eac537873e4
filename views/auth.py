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
from limits import parse
from sqlalchemy import select

from models import AccessPurpose, Estate
from propadmin import audit
from propadmin.extensions import db, limiter
from propadmin.i18n import set_language
from propadmin.permissions import public
from propadmin.services import ServiceError
from propadmin.services.access_codes import code_for, open_code, use_code
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
    remember_device,
    start_session,
)

from .forms import (
    AccessCodeForm,
    ForgotPasswordForm,
    LanguageForm,
    LoginForm,
    ResetPasswordForm,
)
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
        if not count_sign_in_attempt(account, candidate):
            db.session.commit()  # the warning to the account holder, if one was queued
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
            forget_sign_in_attempts(account, user)
            start_session(user)
            audit.record(db.session, "login", "User", user.id, result="ok")
            db.session.commit()
            response = redirect(safe_next(form.next.data) or home_url())
            remember_device(response, user)
            return response
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
    return render_template("auth/forgot_password.html", form=form, offices=_estate_offices())


def _estate_offices() -> list[tuple[str, str]]:
    """Each estate's name and office phone: the forgot-password page is public, so
    nothing more."""
    rows = db.session.execute(
        select(Estate.name, Estate.phone).where(Estate.phone != "").order_by(Estate.name)
    )
    return [(name, phone) for name, phone in rows]


# -- one-time codes: activating an invited account, and resets handed out by the office --
# The verified code's id is kept in the session between entering it and choosing the
# password, so the code (or a mailed token) is never in an address the browser keeps.
def _may_try_a_code() -> bool:
    """Count a try at a code from this client address; False once over the limit.
    Codes name no account, so the address is what is throttled."""
    limit = parse(current_app.config["ACCESS_CODE_LIMIT_PER_ADDRESS"])
    prefix = current_app.config.get("RATELIMIT_KEY_PREFIX") or "propadmin"
    return limiter.limiter.hit(limit, prefix, "access-code", request.remote_addr or "")


def _enter_code(purpose: AccessPurpose, template: str):
    form = AccessCodeForm()
    status = 200
    if form.validate_on_submit():
        if not _may_try_a_code():
            form.code.errors.append(
                _("Too many attempts. Please wait a few minutes and try again.")
            )
            return render_template(template, form=form), 429
        try:
            row = code_for(db.session, form.code.data, purpose)
        except ServiceError as exc:
            form.code.errors.append(exc.message)
            status = 400
        else:
            session["access_code"] = row.id
            return redirect(url_for("auth.set_password"))
    return render_template(template, form=form), status


@bp.route("/activate", methods=["GET", "POST"])
@public
def activate():
    return _enter_code(AccessPurpose.activate, "auth/activate.html")


@bp.route("/activate/<token>")
@public
def activate_link(token: str):
    """The mailed link: the token leaves the address before any page is shown."""
    session["activation_token"] = token
    return redirect(url_for("auth.set_password"))


def _code_from_link():
    """The access code of a mailed link opened just now, if any: (id, error)."""
    token = session.pop("activation_token", None)
    if token is None:
        return None, None
    if not _may_try_a_code():
        return None, _("Too many attempts. Please wait a few minutes and try again.")
    try:
        return code_for(db.session, token, AccessPurpose.activate).id, None
    except ServiceError as exc:
        return None, exc.message


@bp.route("/reset-code", methods=["GET", "POST"])
@public
def reset_code():
    return _enter_code(AccessPurpose.reset, "auth/reset_code.html")


@bp.route("/set-password", methods=["GET", "POST"], endpoint="set_password")
@public
def set_password_with_code():
    from_link, problem = _code_from_link()
    if problem:
        flash(problem, "error")
        return redirect(url_for("auth.activate"))
    if from_link:
        session["access_code"] = from_link
    row = open_code(db.session, session.get("access_code"))
    if row is None:
        session.pop("access_code", None)
        flash(_("Enter your one-time code first; it may have expired or been used."), "warning")
        return redirect(url_for("auth.activate"))
    user = row.user
    activating = row.purpose is AccessPurpose.activate
    form = ResetPasswordForm()
    if form.validate_on_submit():
        try:
            use_code(db.session, row, form.password.data)
        except ServiceError as exc:
            db.session.rollback()
            if exc.field == "code":
                session.pop("access_code", None)
                flash(exc.message, "error")
                return redirect(url_for("auth.activate" if activating else "auth.reset_code"))
            form.password.errors.append(exc.message)
        else:
            start_session(user)
            audit.record(db.session, "login", "User", user.id, result="ok")
            db.session.commit()
            if activating:
                flash(_("Your account is ready. Welcome!"), "success")
            else:
                flash(_("Your password has been changed."), "success")
            return redirect(home_url())
    return render_template("auth/set_password.html", form=form, user=user, activating=activating)


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
    if request.endpoint in ("auth.reset_password", "auth.activate_link", "auth.set_password"):
        response.headers["Referrer-Policy"] = "no-referrer"
    return response
