"""``GET /healthz``: 200 ``{"status": "ok"}`` without signing in while the database answers,
503 without details when it does not (DESIGN.md's contract)."""

import pytest

from propadmin import create_app


def test_healthy_without_signing_in(app):
    response = app.test_client().get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok"}
    assert response.headers["Cache-Control"] == "no-store"


@pytest.mark.parametrize(
    "unreachable",
    [
        "postgresql+psycopg://postgres@127.0.0.1:1/propadmin",  # nothing listens on port 1
        "sqlite:////nonexistent-directory/propadmin.db",
    ],
    ids=["postgresql", "sqlite"],
)
def test_503_without_details_while_the_database_is_down(unreachable):
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": unreachable})
    response = app.test_client().get("/healthz")
    assert response.status_code == 503
    assert response.get_json() == {"status": "unavailable"}
    body = response.get_data(as_text=True)
    assert "127.0.0.1" not in body and "nonexistent" not in body and "Error" not in body
