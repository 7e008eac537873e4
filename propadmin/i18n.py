"""Language and time zone: the user's choice, then Accept-Language, then Chinese."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from flask import current_app, has_request_context, request, session
from flask_babel import format_datetime, get_locale
from flask_login import current_user

from .extensions import db

# What Accept-Language offers → our locale names (Flask-Admin ships zh_Hans_CN).
ACCEPTED = {"zh": "zh_Hans_CN", "en": "en"}


def select_locale() -> str:
    default = current_app.config["BABEL_DEFAULT_LOCALE"]
    if not has_request_context():
        return default
    if current_user and current_user.is_authenticated and current_user.locale:
        return current_user.locale
    chosen = session.get("lang")
    if chosen in current_app.config["LANGUAGES"]:
        return chosen
    best = request.accept_languages.best_match(list(ACCEPTED))
    return ACCEPTED.get(best, default) if best else default


def select_timezone() -> str:
    return current_app.config["BABEL_DEFAULT_TIMEZONE"]


def localtime(value: datetime | None, tz: str | None = None, fmt: str = "yyyy-MM-dd HH:mm"):
    """Show a stored UTC time in the estate's zone (default Asia/Shanghai)."""
    if value is None:
        return ""
    zone = ZoneInfo(tz or current_app.config["BABEL_DEFAULT_TIMEZONE"])
    return format_datetime(value.astimezone(zone).replace(tzinfo=None), fmt, rebase=False)


def set_language(code: str) -> bool:
    if code not in current_app.config["LANGUAGES"]:
        return False
    session["lang"] = code
    if current_user.is_authenticated:
        current_user.locale = code
        db.session.commit()
    return True


def init_app(app, babel) -> None:
    babel.init_app(
        app,
        locale_selector=select_locale,
        timezone_selector=select_timezone,
        default_translation_directories=str(app.root_path + "/translations"),
    )
    app.jinja_env.filters["localtime"] = localtime
    from .services.bill_explain import explain, yuan

    app.jinja_env.filters["yuan"] = yuan
    app.jinja_env.filters["explain_line"] = explain
    app.jinja_env.globals["get_locale"] = get_locale
    from .services.repair_labels import JINJA_GLOBALS

    app.jinja_env.globals.update(JINJA_GLOBALS)
    from .services.notice_labels import JINJA_GLOBALS as NOTICE_GLOBALS

    app.jinja_env.globals.update(NOTICE_GLOBALS)
