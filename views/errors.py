"""Error pages in the reader's language."""

from flask import render_template
from flask_wtf.csrf import CSRFError


def _page(code: int, template: str = "errors/error.html"):
    def handler(error):
        return render_template(template, code=code, error=error), code

    return handler


def init_app(app) -> None:
    for code in (400, 403, 404, 405, 429, 500):
        app.register_error_handler(code, _page(code))
    app.register_error_handler(CSRFError, _page(400))
