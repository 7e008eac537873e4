"""Error pages in the reader's language, and one page that needs nothing at all.

The usual pages extend the site layout, which reads the signed-in user (a database query)
and their language. While the database does not answer, that would fail inside the error
handler and leave the reader with the WSGI server's bare page; those requests get a
self-contained bilingual page instead, with ``503`` and ``Retry-After``.
"""

from __future__ import annotations

import sys
from pathlib import Path

from flask import Response, current_app, render_template, request
from flask_wtf.csrf import CSRFError
from sqlalchemy import text
from sqlalchemy.exc import InterfaceError, OperationalError, SQLAlchemyError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from propadmin import WROTE
from propadmin.crypto import TamperedValue
from propadmin.extensions import db

_STANDALONE = Path(__file__).resolve().parent.parent / "templates" / "errors" / "unavailable.html"
RETRY_AFTER_SECONDS = 30


def standalone_page(code: int) -> Response:
    """The page that renders without the database, the user or the translations."""
    body = _STANDALONE.read_text(encoding="utf-8").replace("CODE", str(code), 1)
    response = Response(body, code, mimetype="text/html")
    if code == 503:
        response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


def _rollback() -> None:
    try:
        db.session.rollback()
    except Exception:  # noqa: BLE001 — the connection may be gone; the page matters more
        current_app.logger.warning("rollback after an error failed", exc_info=True)


def _database_answers() -> bool:
    """``SELECT 1`` after the rollback (a connection checked, or opened, afresh): after an
    unexpected database error, tells an outage (the error was a symptom) from a mistake."""
    try:
        db.session.execute(text("SELECT 1"))
    except SQLAlchemyError:
        _rollback()
        return False
    _rollback()
    return True


def _page(code: int, template: str = "errors/error.html"):
    def handler(error):
        if code >= 500:
            # The failed transaction (if that was the error) must not break the page too.
            _rollback()
            # A failure of another kind (a session left unusable by a lost connection,
            # say) while the database does not answer is the outage too.
            if getattr(error, "original_exception", None) and not _database_answers():
                return standalone_page(503)
        try:
            return render_template(template, code=code, error=error), code
        except (OperationalError, InterfaceError, PoolTimeout):
            _rollback()
            current_app.logger.warning("error page for %s without the database", request.path)
            return standalone_page(503)

    return handler


# SQLite reports a mistake in a statement as an OperationalError too; only these mean the
# database cannot be used right now.
_SQLITE_UNAVAILABLE = (
    "unable to open database",
    "database is locked",
    "disk i/o error",
    "database or disk is full",
)


def _is_unavailable(error) -> bool:
    orig = getattr(error, "orig", None)
    if orig is not None and type(orig).__module__.startswith("sqlite3"):
        return any(words in str(orig).lower() for words in _SQLITE_UNAVAILABLE)
    return True


def _database_unavailable(error):
    """The database did not answer (down, restarting, out of connections)."""
    if not _is_unavailable(error):
        # A mistake in a statement: logged with its trace like any other failure.
        current_app.log_exception(sys.exc_info())
        return _page(500)(error)
    current_app.logger.error(
        "database unavailable on %s %s: %s", request.method, request.path, type(error).__name__
    )
    _rollback()
    return standalone_page(503)


def _tampered(error):
    current_app.logger.error("encrypted value failed authentication on %s", request.path)
    _rollback()
    return render_template("errors/error.html", code=500, error=error, tampered=True), 500


def _only_read(session) -> bool:
    """Whether the session's open transaction sent nothing but SELECTs and holds no
    change waiting to be flushed."""
    if not session.in_transaction() or session.new or session.dirty or session.deleted:
        return False
    return session.connection().info.get(WROTE) is False


def _end_session(exc) -> None:
    """Close the request's database session ahead of Flask-SQLAlchemy's teardown, which
    would let an error out of the WSGI call (the server's bare 500, after the page was
    made) when the connection was lost under the request: its rollback then fails.

    A request that only read ends its transaction with COMMIT rather than ROLLBACK (the
    same for a transaction that wrote nothing): psycopg discards every statement it
    prepared on a connection at each ROLLBACK, so PostgreSQL planned each page's
    statements afresh on every request. Anything that wrote, or failed, is rolled back."""
    try:
        session = db.session()
        if exc is None and _only_read(session):
            session.expire_on_commit = False  # it is closed next: nothing to expire
            session.commit()
        db.session.remove()
    except SQLAlchemyError:
        current_app.logger.warning("closing the session failed: the connection was lost")
        try:
            db.session().invalidate()  # the pool drops the dead connection
        except SQLAlchemyError:
            pass
        db.session.registry.clear()


def init_app(app) -> None:
    # Teardowns run in the reverse order of registration: this one before Flask-SQLAlchemy's.
    app.teardown_appcontext(_end_session)
    for code in (400, 403, 404, 405, 413, 429, 500):
        app.register_error_handler(code, _page(code))
    app.register_error_handler(CSRFError, _page(400))
    app.register_error_handler(TamperedValue, _tampered)
    for unavailable in (OperationalError, InterfaceError, PoolTimeout):
        app.register_error_handler(unavailable, _database_unavailable)
