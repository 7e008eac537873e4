"""A bill is due, overdue and reminded by its estate's calendar, not by the server's
clock (which runs on UTC): the worklist, the dashboard, the reminders and the portal
agree. An estate on Kiritimati (UTC+14) is a day ahead of UTC for most of the day."""

from datetime import timedelta

import pytest

from models import Estate
from propadmin.services.reminders import payers_due, preview_reminders
from propadmin.services.today import estate_today, office_today

from .factories import FACTORY_PASSWORD
from .helpers import login


@pytest.fixture
def far_east(make):
    """An estate on UTC+14 with a payer owing two bills: one due yesterday there (overdue)
    and one due today there (not yet)."""
    estate = make.estate(timezone="Pacific/Kiritimati")
    unit = make.unit(make.building(estate))
    payer = make.resident(unit=unit, name="远东业主", email="far@example.com")
    today = estate_today(estate)
    late = make.bill(
        unit, period="2025-01", amounts=("30.00",), payer=payer, due_date=today - timedelta(days=1)
    )
    due = make.bill(unit, period="2025-02", amounts=("40.00",), payer=payer, due_date=today)
    return estate, payer, late, due


def test_today_is_the_estates_own_date(app, db_session, far_east):
    estate, *_ = far_east
    with app.app_context():
        assert office_today(db_session, [estate.id]) == estate_today(estate)
    assert estate_today(Estate(timezone="No/Such_Zone")) == estate_today(None)


def test_overdue_is_counted_by_the_estates_calendar_everywhere(app, make, db_session, far_east):
    estate, payer, late, due = far_east
    clerk = make.user(roles=["finance"], estates=[estate])
    client = app.test_client()
    assert login(client, clerk.username, FACTORY_PASSWORD).status_code == 302
    home = client.get("/admin/").text
    assert '<span class="n">1</span><span class="l">逾期账单数</span>' in home
    with app.app_context():
        today = office_today(db_session, [estate.id])
        due_now = payers_due(db_session, today=today, estate_ids=[estate.id])
        preview = preview_reminders(db_session, today=today, estate_ids=[estate.id])
    assert [(d.payer.name, [b.id for b in d.bills]) for d in due_now] == [("远东业主", [late.id])]
    assert (preview.payers, preview.amount) == (1, late.owed)
    # The send page's count (it works out today the same way).
    page = client.get("/admin/bill_reminder/send/").text
    assert "¥30.00" in page and "¥70.00" not in page
