"""While the database does not answer, every page says so plainly — the app's own
bilingual page with 503 and Retry-After, never the WSGI server's bare 500 and never a
driver message — and /healthz says 503 (DESIGN.md's contract)."""

import pytest
import sqlalchemy as sa

from propadmin.extensions import db
from propadmin.permissions import public

UNREACHABLE = "postgresql+psycopg://postgres@127.0.0.1:1/propadmin"  # nothing listens on 1


@pytest.fixture
def database_gone(app):
    """From here on, the app's database does not answer (the fixture puts it back)."""
    with app.app_context():
        dead = sa.create_engine(UNREACHABLE, poolclass=sa.pool.NullPool)
        db.engines[None] = dead
    yield
    dead.dispose()


@pytest.mark.parametrize("path", ["/portal/", "/portal/bills", "/no-such-page", "/admin/"])
def test_signed_in_pages_say_unavailable_while_the_database_is_down(app, login_as, path, request):
    client = login_as("owner")
    assert client.get("/portal/").status_code == 200
    request.getfixturevalue("database_gone")

    response = client.get(path)

    assert response.status_code == 503
    assert response.headers["Retry-After"] == "30"
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
    assert response.headers["Cache-Control"] == "no-store"
    page = response.get_data(as_text=True)
    assert "系统暂时无法使用" in page and "Temporarily unavailable" in page
    for detail in ("127.0.0.1", "psycopg", "OperationalError", "Traceback", "port 1"):
        assert detail not in page


def test_health_check_says_503_while_the_database_is_down(app, login_as, database_gone):
    response = app.test_client().get("/healthz")
    assert response.status_code == 503
    assert response.get_json() == {"status": "unavailable"}


def test_the_sign_in_page_still_shows_while_the_database_is_down(app, database_gone):
    # Nothing on it needs the database: a resident can see the site is up and try later.
    assert app.test_client().get("/login").status_code == 200


def _failing_with(app, error):
    @public
    def view():
        raise error

    app.add_url_rule("/failing", "failing", view)


def test_another_database_error_during_an_outage_is_the_outage(app, database_gone):
    """E.g. a session left unusable by a connection lost mid-request, on a page whose
    error page needs nothing from the database: the reader learns the site is down for a
    moment, not that it is broken."""
    _failing_with(app, sa.exc.PendingRollbackError("rolled back after a lost connection"))
    app.config["PROPAGATE_EXCEPTIONS"] = False  # as in production
    response = app.test_client().get("/failing")
    assert response.status_code == 503
    assert "系统暂时无法使用" in response.get_data(as_text=True)


def test_the_same_error_while_the_database_answers_is_a_failure(app):
    _failing_with(app, sa.exc.InvalidRequestError("a mistake in the code"))
    app.config["PROPAGATE_EXCEPTIONS"] = False
    response = app.test_client().get("/failing")
    assert response.status_code == 500
    assert "系统出现错误" in response.get_data(as_text=True)


def test_a_connection_lost_under_the_request_does_not_break_its_answer(app):
    """PostgreSQL stopping mid-request makes the session's closing rollback fail after the
    page was made: the page still goes out (under gunicorn it became a bare 500)."""

    @public
    def lost():
        session = db.session()
        close = session.close

        def close_on_a_dead_connection():
            session.close = close
            close()
            raise sa.exc.OperationalError("ROLLBACK", {}, Exception("terminating connection"))

        session.close = close_on_a_dead_connection
        return "saved"

    app.add_url_rule("/lost", "lost", lost)
    response = app.test_client().get("/lost")
    assert response.status_code == 200 and response.text == "saved"
    assert app.test_client().get("/healthz").status_code == 200
