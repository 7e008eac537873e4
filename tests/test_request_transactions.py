"""How a request's database transaction ends: COMMIT when it only read (so the statements
psycopg prepared on the pooled connection stay prepared: a ROLLBACK makes it discard them
all, and PostgreSQL planned every page's statements afresh), ROLLBACK whenever it wrote
anything it did not commit itself, or failed."""

import pytest
import sqlalchemy as sa
from flask import abort

from models import Estate
from propadmin.extensions import db
from propadmin.permissions import public

from .helpers import DEMO_PASSWORD, login

POOLED = {"pool_size": 1, "max_overflow": 0, "pool_pre_ping": True}


@pytest.mark.committed
@pytest.mark.config(SQLALCHEMY_ENGINE_OPTIONS=POOLED)
@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_pages_that_only_read_keep_postgresqls_prepared_statements(app, demo):
    client = app.test_client()
    assert login(client, "owner", DEMO_PASSWORD).status_code == 302
    for _ in range(8):  # psycopg prepares a statement on its fifth run on a connection
        assert client.get("/portal/").status_code == 200
    with app.app_context(), db.engine.connect() as conn:  # the pool's one connection
        prepared = conn.exec_driver_sql("SELECT count(*) FROM pg_prepared_statements").scalar()
    assert prepared > 0


def _routes(app):
    @app.get("/test/flush-then-answer")
    @public
    def flush_then_answer():
        db.session.add(Estate(name="未提交小区", address="测试路 1 号"))
        db.session.flush()
        return "ok"

    @app.get("/test/flush-then-fail")
    @public
    def flush_then_fail():
        db.session.add(Estate(name="失败小区", address="测试路 2 号"))
        db.session.flush()
        abort(409)


@pytest.mark.committed
@pytest.mark.config(SQLALCHEMY_ENGINE_OPTIONS=POOLED)
def test_what_a_request_wrote_and_did_not_commit_is_rolled_back(app):
    _routes(app)
    client = app.test_client()
    assert client.get("/test/flush-then-answer").status_code == 200
    assert client.get("/test/flush-then-fail").status_code == 409
    with app.app_context():
        names = db.session.scalars(sa.select(Estate.name)).all()
    assert "未提交小区" not in names and "失败小区" not in names
