"""Error pages in the reader's language."""

from flask import current_app, render_template, request
from flask_wtf.csrf import CSRFError

from propadmin.crypto import TamperedValue
from propadmin.extensions import db


def _page(code: int, template: str = "errors/error.html"):
    def handler(error):
        if code >= 500:
            # The failed transaction (if that was the error) must not break the page too.
            db.session.rollback()
        return render_template(template, code=code, error=error), code

    return handler


def _tampered(error):
    current_app.logger.error("encrypted value failed authentication on %s", request.path)
    db.session.rollback()
    return render_template("errors/error.html", code=500, error=error, tampered=True), 500


def init_app(app) -> None:
    for code in (400, 403, 404, 405, 413, 429, 500):
        app.register_error_handler(code, _page(code))
    app.register_error_handler(CSRFError, _page(400))
    app.register_error_handler(TamperedValue, _tampered)
