"""The staff repair pages: the queue's order and filters, breaches shown, the masked
contact number and its audited reveal, taking, starting, resolving and assigning a job,
and a page's cost in queries. Estate B and hostile input: test_repairs_admin_guard.py."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from models import AuditLog, RepairRequest, RepairStatus, RepairUrgency, utcnow
from tests.factories import FACTORY_PASSWORD
from tests.helpers import csrf_from, login

PHONE = "13912345678"


class Office:
    """One estate of our own: two buildings, an admin, two repair workers."""

    def __init__(self, app, make, db_session):
        self.app, self.make, self.db = app, make, db_session
        self.estate = make.estate()
        self.building = make.building(self.estate, name="9栋")
        self.other_building = make.building(self.estate, name="10栋")
        self.unit = make.unit(self.building, number="202")
        self.admin = make.user(roles=["admin"], estates=[self.estate], display_name="王主管")
        self.worker = make.user(roles=["repair"], estates=[self.estate], display_name="李师傅")
        self.worker2 = make.user(roles=["repair"], estates=[self.estate], display_name="赵师傅")

    def repair(self, age_minutes: int = 10, unit=None, **fields):
        fields.setdefault("contact_phone", PHONE)
        fields.setdefault("contact_name", "张阿姨")
        repair = self.make.repair(
            unit if unit is not None else self.unit, by=self.admin, **fields
        )
        shift = timedelta(minutes=age_minutes)
        repair.submitted_at -= shift
        repair.respond_by -= shift
        repair.resolve_by -= shift
        self.db.commit()
        return repair

    def client(self, user):
        client = self.app.test_client()
        assert login(client, user.username, FACTORY_PASSWORD).status_code == 302
        return client


@pytest.fixture
def office(app, make, db_session):
    return Office(app, make, db_session)


def queue_ids(html: str) -> list[int]:
    return [int(x) for x in re.findall(r'data-repair="(\d+)"', html)]


def card(html: str, repair_id: int) -> str:
    start = html.index(f'data-repair="{repair_id}"')
    return html[html.rindex("<li", 0, start) : html.index("</li>", start)]


def move(client, repair, action, **data):
    page = client.get(f"/admin/repairs/{repair.id}").text
    version = re.search(r'name="version" value="(\d+)"', page).group(1)
    return client.post(
        f"/admin/repairs/{repair.id}/move",
        data={"csrf_token": csrf_from(page), "action": action, "version": version, **data},
    )


def test_queue_sorts_by_urgency_then_age_and_filters(office, db_session):
    low_old = office.repair(age_minutes=600, urgency=RepairUrgency.low, location="车库入口")
    normal_new = office.repair(age_minutes=5, urgency=RepairUrgency.normal, location="电梯厅")
    urgent_new = office.repair(age_minutes=1, urgency=RepairUrgency.urgent, location="楼顶水箱")
    normal_old = office.repair(age_minutes=100, urgency=RepairUrgency.normal, location="厨房")
    urgent_old = office.repair(age_minutes=30, urgency=RepairUrgency.urgent, location="配电间",
                               unit=office.make.unit(office.other_building, number="301"))
    closed = office.repair(location="已修好的窗户")
    closed.status = RepairStatus.closed
    db_session.commit()
    client = office.client(office.worker)

    html = client.get("/admin/repairs/").text
    assert queue_ids(html) == [urgent_old.id, urgent_new.id, normal_old.id, normal_new.id,
                               low_old.id]
    assert "已修好的窗户" not in html

    def listed(query):
        return queue_ids(client.get(f"/admin/repairs/?{query}").text)

    assert listed("status=closed") == [closed.id]
    assert closed.id in listed("status=all")
    assert listed("urgency=urgent") == [urgent_old.id, urgent_new.id]
    assert listed(f"building={office.other_building.id}") == [urgent_old.id]
    assert listed("q=厨") == [normal_old.id]
    assert listed("q=%25") == []  # a wildcard is a character, not "everything"
    assert listed("assignee=none") == queue_ids(html)
    with office.app.test_request_context():
        from propadmin.services import repairs
        repairs.assign(db_session, normal_new, office.worker2, by=office.admin)
        db_session.commit()
    assert listed(f"assignee={office.worker2.id}") == [normal_new.id]
    # filters that make no sense are left out rather than refused
    assert listed("urgency=panic&building=abc&page=-3&assignee=x") == queue_ids(html)


def test_the_queue_form_shows_the_chosen_filters(office):
    page = office.client(office.worker).get("/admin/repairs/?urgency=urgent&category=leak").text
    assert '<option value="urgent" selected>紧急</option>' in page
    assert '<option value="leak" selected>' in page
    assert page.count(" selected>") == 3  # and the status choice, nothing else


def test_breached_requests_stand_out_and_can_be_listed_alone(office):
    late = office.repair(age_minutes=5 * 60, urgency=RepairUrgency.urgent, location="漏电")
    fine = office.repair(age_minutes=1, urgency=RepairUrgency.urgent, location="门铃")
    client = office.client(office.worker)
    html = client.get("/admin/repairs/").text
    assert "breached" in card(html, late.id) and "超时" in card(html, late.id)
    assert "breached" not in card(html, fine.id)
    assert queue_ids(client.get("/admin/repairs/?breached=1").text) == [late.id]
    page = client.get(f"/admin/repairs/{late.id}").text
    assert 'class="breach" data-timer="respond"' in page


def test_contact_number_is_masked_and_the_admins_reveal_is_audited(office, db_session):
    repair = office.repair()
    worker = office.client(office.worker)
    page = worker.get(f"/admin/repairs/{repair.id}").text
    assert "139****5678" in page and PHONE not in page and "查看完整号码" not in page
    token = csrf_from(page)
    assert worker.post(f"/admin/repairs/{repair.id}/reveal",
                       data={"csrf_token": token}).status_code == 403

    admin = office.client(office.admin)
    page = admin.get(f"/admin/repairs/{repair.id}").text
    assert PHONE not in page and "查看完整号码" in page
    shown = admin.post(f"/admin/repairs/{repair.id}/reveal", data={"csrf_token": csrf_from(page)})
    assert shown.status_code == 200 and PHONE in shown.text
    entry = db_session.scalars(
        select(AuditLog).where(AuditLog.entity == "RepairRequest",
                               AuditLog.entity_id == str(repair.id), AuditLog.action == "read")
    ).one()
    assert entry.actor_id == office.admin.id and entry.changes == {"field": "contact_phone"}


def test_repair_staff_takes_starts_and_resolves_a_job(office, db_session):
    repair = office.repair()
    client = office.client(office.worker)
    page = client.get(f"/admin/repairs/{repair.id}").text
    assert "接这个单" in page and 'id="assignee"' not in page  # no choosing others
    assert move(client, repair, "assign").status_code == 302
    assert queue_ids(client.get("/admin/repairs/mine").text) == [repair.id]
    assert queue_ids(office.client(office.worker2).get("/admin/repairs/mine").text) == []
    assert move(client, repair, "start").status_code == 302
    done = move(client, repair, "resolve", fixed="yes", minutes_spent="45",
                materials="三通接头一个", cost="35.5", paid_by="estate", note="更换接头")
    assert done.status_code == 302
    db_session.refresh(repair)
    assert repair.status is RepairStatus.resolved and repair.minutes_spent == 45
    assert str(repair.cost) == "35.50" and repair.materials == "三通接头一个"
    page = client.get(f"/admin/repairs/{repair.id}").text
    assert "三通接头一个" in page and "更换接头" in page
    # still listed as mine until it is closed
    assert queue_ids(client.get("/admin/repairs/mine").text) == [repair.id]


def test_admin_assigns_to_the_estates_repair_staff_only(office, make, db_session):
    repair = office.repair()
    stranger = make.user(roles=["repair"], estates=[make.estate()], display_name="外区师傅")
    client = office.client(office.admin)
    page = client.get(f"/admin/repairs/{repair.id}").text
    options = re.search(r'<select[^>]*id="assignee".*?</select>', page, re.S).group(0)
    assert "李师傅" in options and "赵师傅" in options
    assert "外区师傅" not in options
    refused = move(client, repair, "assign", assignee=str(stranger.id))
    assert refused.status_code == 200 and 'data-error="assignee"' in refused.text
    assert move(client, repair, "assign", assignee=str(office.worker2.id)).status_code == 302
    db_session.refresh(repair)
    assert repair.assignee_id == office.worker2.id and repair.status is RepairStatus.assigned


def test_a_stale_page_does_not_win(office):
    repair = office.repair()
    client = office.client(office.worker)
    page = client.get(f"/admin/repairs/{repair.id}").text
    move(client, repair, "assign")
    stale = client.post(f"/admin/repairs/{repair.id}/move", data={
        "csrf_token": csrf_from(page), "action": "cancel", "version": "1", "note": "x",
    })
    assert stale.status_code == 200 and "alert-danger" in stale.text


def test_log_a_call_by_unit_label(office, db_session):
    client = office.client(office.worker)
    page = client.get("/admin/repairs/new").text
    answer = client.post("/admin/repairs/new", data={
        "csrf_token": csrf_from(page), "unit": "9-202", "source": "office",
        "urgency": "urgent", "category": "electrical", "description": "插座冒烟",
        "contact_name": "陈先生", "contact_phone": "139 1234 0000",
    })
    assert answer.status_code == 302
    repair = db_session.scalars(
        select(RepairRequest).where(RepairRequest.description == "插座冒烟")
    ).one()
    assert repair.unit_id == office.unit.id and repair.location == "9-202"
    assert repair.contact_phone_masked == "139****0000"
    assert repair.reported_by_id == office.worker.id
    assert repair.urgency is RepairUrgency.urgent
    assert queue_ids(client.get("/admin/repairs/").text)[0] == repair.id


def test_queries_per_queue_page_do_not_grow_with_rows(office, count_queries):
    client = office.client(office.admin)
    office.repair()
    client.get("/admin/repairs/")

    def cost() -> int:
        with count_queries() as queries:
            assert client.get("/admin/repairs/").status_code == 200
        return len(queries)

    few = cost()
    for n in range(12):
        unit = office.make.unit(office.other_building if n % 2 else office.building)
        repair = office.repair(unit=unit)
        if n % 3 == 0:
            with office.app.test_request_context():
                from propadmin.services import repairs
                repairs.assign(office.db, repair, office.worker, by=office.admin)
            office.db.commit()
    assert cost() == few


def test_reports_count_jobs_breaches_and_ratings(office, db_session):
    late = office.repair(age_minutes=3 * 24 * 60, urgency=RepairUrgency.urgent,
                         category="plumbing")
    office.repair(age_minutes=1, urgency=RepairUrgency.low, category="electrical")
    late.started_at = late.submitted_at + timedelta(hours=2)
    late.rating = 4
    db_session.commit()
    html = office.client(office.worker).get("/admin/repairs/reports").text
    month = (utcnow() + timedelta(hours=8)).strftime("%Y-%m")
    assert 'id="repair-data"' in html and "<script>" not in html.replace("<script type", "")
    row = re.search(rf"<tr><th scope=\"row\">{month}</th>.*?</tr>",
                    html.split('id="table-breaches"')[1], re.S).group(0)
    assert 'respond-late">1<' in row and 'resolve-late">1<' in row
    times = html.split('id="table-times"')[1]
    assert 'response">2.0<' in times
    assert 'avg-rating">4.0<' in html.split('id="table-ratings"')[1]


def test_worklist_tiles_open_the_filtered_queue(office):
    office.repair(age_minutes=10 * 60, urgency=RepairUrgency.urgent)
    client = office.client(office.admin)
    home = client.get("/admin/").text
    start = home.index('data-tile="repairs_breached"')
    tile = home[home.rindex("<a", 0, start): home.index("</a>", start)]
    assert '<span class="n">1</span>' in tile
    url = tile.split('href="', 1)[1].split('"', 1)[0].replace("&amp;", "&")
    assert len(queue_ids(client.get(url).text)) == 1
    assert 'data-tile="repairs_unassigned"' in home


def test_automatic_assignment_gives_the_job_to_the_least_busy_worker(office, db_session):
    from propadmin.services import repairs

    busy = office.repair()
    with office.app.test_request_context():
        repairs.assign(db_session, busy, office.worker, by=office.admin)
        db_session.commit()
    repair = office.repair()
    client = office.client(office.admin)
    page = client.get(f"/admin/repairs/{repair.id}").text
    assert "自动派单" in page
    answer = client.post(f"/admin/repairs/{repair.id}/move", data={
        "csrf_token": csrf_from(page), "action": "auto_assign", "version": str(repair.version),
    })
    assert answer.status_code == 302
    db_session.refresh(repair)
    assert repair.assignee_id == office.worker2.id  # worker already has a job
    # a repair worker never gets the button
    other = office.repair()
    assert "自动派单" not in office.client(office.worker).get(f"/admin/repairs/{other.id}").text
