"""HTTP layer: sign-in pages, the owner portal and the staff admin."""

from flask import redirect
from flask_login import current_user

from propadmin.permissions import public

from . import auth, errors, health, portal
from .admin import init_admin
from .util import home_url


@public
def index():
    if current_user.is_authenticated:
        return redirect(home_url())
    return redirect("/login")


def init_app(app) -> None:
    app.register_blueprint(auth.bp)
    app.register_blueprint(portal.bp)
    app.add_url_rule("/", "index", index)
    app.add_url_rule("/healthz", "healthz", health.healthz)
    errors.init_app(app)
    # Template helper: drop unset attributes (WTForms would print placeholder="None").
    app.jinja_env.filters["present"] = lambda attrs: {
        k: v for k, v in attrs.items() if v is not None and v is not False
    }
    init_admin(app)
