"""The portal home screen reads what it shows in a fixed, small number of statements,
however many bills, notices and repair requests the resident has; and loading the
account in one statement still lets a role change or a sign-out elsewhere take effect on
the very next request."""

from __future__ import annotations

import re
from itertools import count

import pytest
import sqlalchemy as sa
from sqlalchemy import update

from models import User
from propadmin.extensions import db

from .test_portal_notices import Home

# The account (with roles, grants, staff estates, resident record and estate), then the
# home screen in one: the homes, the bills owed and their total, the notice headlines with
# the unread count, and the open repair count.
HOME_STATEMENTS = 2

periods = (f"2025-{m:02d}" for m in count(1))


@pytest.fixture
def estate(make):
    return make.estate(timezone="Asia/Shanghai")


@pytest.fixture
def owner(app, make, db_session, estate):
    return Home(app, make, db_session, make.unit(make.building(estate)))


def add(make, estate, owner, *, bills: int, notices: int, repairs: int) -> None:
    for _ in range(bills):
        make.bill(owner.unit, period=next(periods), payer=owner.resident)
    for i in range(notices):
        make.notice(estate, publish=True, title=f"通知{i:03d}")
    for _ in range(repairs):
        make.repair(owner.unit, reporter=owner.resident)


def test_home_statements_do_not_grow_with_what_the_resident_has(make, estate, owner, count_queries):
    def home_statements() -> tuple[int, str]:
        owner.client.get("/portal/")  # warm: the first request of a client loads more
        with count_queries() as queries:
            page = owner.client.get("/portal/")
        assert page.status_code == 200
        return len(queries), page.text

    add(make, estate, owner, bills=1, notices=1, repairs=1)
    few, page = home_statements()
    assert "未读公告：1 条" in page and "处理中的报修：1 项" in page
    assert page.count('class="bill-row"') == 1

    add(make, estate, owner, bills=11, notices=9, repairs=5)
    many, page = home_statements()
    assert (few, many) == (HOME_STATEMENTS, HOME_STATEMENTS)
    # What the statements stand for is still on the page: the unread figure on the panel
    # and the tab, three headlines, the first five of twelve bills, six open repairs.
    assert "未读公告：10 条" in page
    assert re.search(r'id="unread-badge"><span class="sr-only">未读</span>10<', page)
    assert page.count('class="notice-head-row') == 3
    assert page.count('class="bill-row"') == 5
    assert "¥1,200.00" in page
    assert "处理中的报修：6 项" in page


def test_a_role_taken_away_counts_on_the_next_request(db_session, owner):
    assert owner.client.get("/portal/").status_code == 200
    user = db_session.get(User, owner.user.id)
    user.roles = []
    db_session.commit()
    assert owner.client.get("/portal/").status_code == 403


def test_a_session_ended_elsewhere_ends_here_on_the_next_request(db_session, owner):
    assert owner.client.get("/portal/").status_code == 200
    db_session.execute(update(User).where(User.id == owner.user.id).values(session_token="rotated"))
    db_session.commit()
    answer = owner.client.get("/portal/")
    assert answer.status_code == 302 and "/login" in answer.headers["Location"]


# PostgreSQL plans a few test rows by table size and reads them through the status index
# whatever the query says; SQLite's plan shows the access path.
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_the_home_screen_reads_the_residents_bills_by_index(app, make, estate, owner, db_session):
    """The bills a resident sees are found from the resident (the bills addressed to them,
    the bills of their units), not by testing the rule on every bill of the site."""
    for _ in range(3):
        neighbour = Home(app, make, db_session, make.unit(make.building(estate)))
        make.bill(neighbour.unit, period=next(periods), payer=neighbour.resident)
    make.bill(owner.unit, period=next(periods), payer=owner.resident)
    with app.app_context():
        engine = db.engine.engine
    seen = []

    def record(conn, cursor, statement, parameters, context, executemany):
        seen.append((statement, parameters))

    sa.event.listen(engine, "before_cursor_execute", record)
    try:
        page = owner.client.get("/portal/")
    finally:
        sa.event.remove(engine, "before_cursor_execute", record)
    assert page.text.count('class="bill-row"') == 1
    ((home, params),) = [(s, p) for s, p in seen if "FROM bill" in s]
    plan = " ".join(
        row[-1]
        for row in db_session.connection().exec_driver_sql("EXPLAIN QUERY PLAN " + home, params)
    )
    assert "SCAN bill" not in plan, plan
    assert "ix_bill_payer_id" in plan, plan


def test_the_home_statement_binds_only_who_reads_and_when(app, make, estate, owner):
    """Its constants (statuses, relations, priorities, limits) are written into its SQL:
    each bound value costs the driver and the database on every request, and only the
    resident, their estate's day and the moment change from one request to the next.
    The page still shows what the constants select."""
    from propadmin.services.portal_home import _statement

    with app.app_context():
        compiled = _statement().compile(dialect=db.engine.dialect)
    assert set(compiled.params) == {"seen_by", "seen_on", "seen_at"}
    assert "'void'" in compiled.string and "'published'" in compiled.string

    make.bill(owner.unit, period="2025-01", payer=owner.resident)
    make.notice(estate, publish=True, title="停水通知")
    make.repair(owner.unit, reporter=owner.resident)
    page = owner.client.get("/portal/").text
    assert page.count('class="bill-row"') == 1 and "停水通知" in page
    assert "处理中的报修：1 项" in page and "未读公告：1 条" in page
