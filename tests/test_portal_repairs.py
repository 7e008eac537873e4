"""The portal's repairs: a resident reports for a home of theirs (with or without photos),
follows their own requests and nobody else's (404, never 403: the portal does not confirm
that an id exists), confirms, reopens, cancels and rates from the request's page.

Who sees what (views/portal_repairs.py): only the resident who reported a request sees it
in the portal. An owner does not see their tenant's reports, nor the payer a family
member's; owners, tenants and family members may each report for a unit they live in now.

Hostile input — too long, a wrong urgency, another estate's or another resident's unit, a
stale page — is a message on the form, never a 500; script typed into a request is shown
as text."""

from __future__ import annotations

import io
from decimal import Decimal

import pytest
from PIL import Image
from sqlalchemy import func, select

from models import Relation, RepairEvent, RepairRequest, RepairStatus, RepairUrgency
from propadmin.services import repairs
from propadmin.services.repairs import RepairResult

from .factories import FACTORY_PASSWORD
from .helpers import csrf_from, login
from .test_repair_photos import jpeg, post_multipart

SCRIPT = '<script>alert("x")</script><img src=x onerror=alert(1)>'


class Home:
    """A resident living in a unit of their own estate, signed in on their own client."""

    def __init__(self, app, make, db_session, unit, relation=Relation.owner, estate=None):
        self.unit = unit
        self.user = make.user(roles=["tenant" if relation is Relation.tenant else "owner"])
        self.resident = make.resident(unit.building.estate, unit=unit, relation=relation)
        self.resident.user = self.user
        db_session.commit()
        self.client = app.test_client()
        assert login(self.client, self.user.username, FACTORY_PASSWORD).status_code == 302

    def report(self, photos=(), **fields):
        token = csrf_from(self.client.get("/portal/repairs/new").text)
        data = {
            "csrf_token": token,
            "location": "厨房水槽下方",
            "description": "水管接头漏水，地面有积水。",
            "urgency": "urgent",
            "category": "plumbing",
            "unit": str(self.unit.id),
            **fields,
        }
        return post_multipart(self.client, "/portal/repairs/new", data, photos)

    def move(self, repair, action, version=None, **fields):
        page = self.client.get(f"/portal/repairs/{repair.id}")
        data = {
            "csrf_token": csrf_from(page.text),
            "action": action,
            "expected_version": str(repair.version if version is None else version),
            **fields,
        }
        return self.client.post(f"/portal/repairs/{repair.id}/move", data=data)


@pytest.fixture
def estate(make):
    return make.estate(timezone="Asia/Shanghai")


@pytest.fixture
def unit(make, estate):
    return make.unit(make.building(estate))


@pytest.fixture
def owner(app, make, db_session, unit):
    return Home(app, make, db_session, unit)


@pytest.fixture
def staff(make, estate):
    worker = make.user(roles=["repair"], estates=[estate], display_name="李师傅")
    boss = make.user(roles=["admin"], estates=[estate])
    return worker, boss


def their_repairs(db_session, home: Home) -> list[RepairRequest]:
    db_session.expire_all()
    return db_session.scalars(
        select(RepairRequest)
        .where(RepairRequest.reporter_id == home.resident.id)
        .order_by(RepairRequest.id)
    ).all()


def count(db_session, model) -> int:
    return db_session.scalar(select(func.count(model.id)))


# -- reporting -------------------------------------------------------------------------
def test_report_without_photos_lands_on_its_page_and_in_the_list(owner, db_session):
    form = owner.client.get("/portal/repairs/new").text
    assert 'accept="image/*"' in form and "最多 4 张照片" in form
    assert f'type="hidden" name="unit" value="{owner.unit.id}"' in form  # the one home
    sent = owner.report()
    assert sent.status_code == 302
    (repair,) = their_repairs(db_session, owner)
    assert sent.location.endswith(f"/portal/repairs/{repair.id}")
    assert repair.unit_id == owner.unit.id and repair.urgency is RepairUrgency.urgent
    assert repair.contact_phone == owner.resident.mobile  # their own mobile by default
    assert repair.reported_by_id == owner.user.id
    page = owner.client.get(sent.location).text
    assert "您的报修已提交给物业服务中心。" in page
    assert "厨房水槽下方" in page and "已报修" in page and "尚未派单" in page
    assert "取消报修" in page  # the reporter may cancel while it waits
    listing = owner.client.get("/portal/repairs").text
    assert f'href="/portal/repairs/{repair.id}"' in listing
    home = owner.client.get("/portal/").text
    assert "处理中的报修：1 项" in home and 'href="/portal/repairs"' in home


def test_report_with_a_photo_shows_it(owner, db_session):
    sent = owner.report([(jpeg(gps=True), "leak.jpg")], contact_phone="139 0000 1111")
    assert sent.status_code == 302
    (repair,) = their_repairs(db_session, owner)
    assert repair.contact_phone == "13900001111"
    (photo,) = repair.photos
    page = owner.client.get(sent.location).text
    url = f"/portal/repairs/{repair.id}/photos/{photo.id}"
    assert f'src="{url}"' in page
    served = owner.client.get(url)
    assert served.status_code == 200 and served.mimetype == "image/jpeg"
    assert Image.open(io.BytesIO(served.data)).size == (photo.width, photo.height)


def test_empty_list_has_a_big_report_button(owner):
    page = owner.client.get("/portal/repairs").text
    assert "您还没有报修记录" in page and 'class="button primary big-report"' in page
    assert "没有处理中的报修。" in owner.client.get("/portal/").text


def test_open_requests_come_first(owner, db_session, staff):
    worker, boss = staff
    for where in ("阳台", "客厅", "卧室"):
        owner.report(location=where)
    first, second, third = their_repairs(db_session, owner)
    with owner.client.application.test_request_context():
        repairs.cancel(db_session, third, by=owner.user)
        db_session.commit()
    page = owner.client.get("/portal/repairs").text
    assert page.index("客厅") < page.index("阳台") < page.index("卧室")


def test_script_is_shown_as_text(owner, db_session):
    owner.report(location=SCRIPT[:120], description=SCRIPT)
    (repair,) = their_repairs(db_session, owner)
    for url in ("/portal/repairs", f"/portal/repairs/{repair.id}"):
        page = owner.client.get(url).text
        assert "<script>alert" not in page and "<img src=x" not in page
        assert "&lt;script&gt;alert(" in page


# -- hostile input: a message on the form, nothing saved -------------------------------
@pytest.fixture
def elsewhere(app, make, db_session, estate):
    """Another estate's unit, and another resident's unit in the same estate."""
    other_estate_unit = make.unit(make.building(make.estate()))
    neighbour = Home(app, make, db_session, make.unit(make.building(estate)))
    return other_estate_unit, neighbour


@pytest.mark.parametrize(
    "fields, field_id",
    [
        ({"location": "很" * 129}, "location"),
        ({"description": "漏" * 2001}, "description"),
        ({"location": "   "}, "location"),
        ({"description": ""}, "description"),
        ({"urgency": "critical"}, "urgency"),
        ({"category": "dragons"}, "category"),
        ({"unit": "abc"}, "unit"),
        ({"unit": "99999999999999999999"}, "unit"),
        ({"contact_phone": "call me maybe"}, "contact_phone"),
    ],
)
def test_hostile_fields_are_form_errors(owner, db_session, fields, field_id):
    page = owner.report(**fields)
    assert page.status_code == 200
    assert 'class="error"' in page.text
    assert their_repairs(db_session, owner) == []


def test_another_estates_or_residents_unit_is_refused(owner, db_session, elsewhere):
    other_estate_unit, neighbour = elsewhere
    for unit_id in (other_estate_unit.id, neighbour.unit.id):
        page = owner.report(unit=str(unit_id))
        assert page.status_code == 200 and "不是有效的选择" in page.text
    assert their_repairs(db_session, owner) == []


def test_a_resident_with_two_homes_chooses(app, make, db_session, owner, estate):
    second = make.unit(make.building(estate))
    from models import Occupancy

    db_session.add(Occupancy(unit=second, resident=owner.resident, relation=Relation.owner))
    db_session.commit()
    form = owner.client.get("/portal/repairs/new").text
    assert '<select id="unit" name="unit">' in form
    assert f'<option selected value="{owner.unit.id}">' in form
    assert owner.report(unit=str(second.id)).status_code == 302
    assert their_repairs(db_session, owner)[0].unit_id == second.id


# -- whose requests ---------------------------------------------------------------------
def test_another_resident_gets_404_for_the_request_its_photos_and_moves(
    app, make, db_session, owner
):
    owner.report([(jpeg(), "a.jpg")])
    (repair,) = their_repairs(db_session, owner)
    photo = repair.photos[0]
    owner2 = Home(app, make, db_session, make.unit(make.building(repair.estate)))
    owner2.report([(jpeg(), "b.jpg")])
    (theirs,) = their_repairs(db_session, owner2)
    assert owner2.client.get(f"/portal/repairs/{repair.id}").status_code == 404
    assert owner2.client.get(f"/portal/repairs/{repair.id}/photos/{photo.id}").status_code == 404
    # their own request's id with someone else's photo: not found either
    url = f"/portal/repairs/{theirs.id}/photos/{photo.id}"
    assert owner2.client.get(url).status_code == 404
    token = csrf_from(owner2.client.get("/portal/repairs").text)
    moved = owner2.client.post(
        f"/portal/repairs/{repair.id}/move",
        data={"csrf_token": token, "action": "cancel", "expected_version": repair.version},
    )
    assert moved.status_code == 404
    assert f"/portal/repairs/{repair.id}" not in owner2.client.get("/portal/repairs").text
    db_session.refresh(repair)
    assert repair.status is RepairStatus.submitted
    for bad in ("0", "2147483648", "99999999999999999999"):
        assert owner.client.get(f"/portal/repairs/{bad}").status_code == 404
        assert owner.client.get(f"/portal/repairs/{repair.id}/photos/{bad}").status_code == 404


def test_tenant_and_family_report_for_their_home_and_see_only_their_own(
    app, make, db_session, owner
):
    tenant = Home(app, make, db_session, owner.unit, relation=Relation.tenant)
    family = Home(app, make, db_session, owner.unit, relation=Relation.family)
    assert tenant.report(location="租户的卫生间").status_code == 302
    assert family.report(location="家人的阳台").status_code == 302
    (by_tenant,) = their_repairs(db_session, tenant)
    (by_family,) = their_repairs(db_session, family)
    assert by_tenant.unit_id == by_family.unit_id == owner.unit.id
    for other, repair in ((owner, by_tenant), (owner, by_family), (tenant, by_family)):
        assert other.client.get(f"/portal/repairs/{repair.id}").status_code == 404
    assert "租户的卫生间" not in owner.client.get("/portal/repairs").text


# -- the moves --------------------------------------------------------------------------
def advance(app, db_session, repair, worker, boss, *, to="resolved"):
    """Staff take the job through the services, as their pages would."""
    with app.test_request_context():
        repairs.assign(db_session, repair, worker, by=boss)
        repairs.start(db_session, repair, by=worker)
        if to == "resolved":
            repairs.resolve(
                db_session, repair,
                RepairResult(fixed=True, minutes_spent=40, materials="生料带、接头",
                             cost=Decimal("0.00"), note="已更换接头"),
                by=worker,
            )
        db_session.commit()


def test_resident_cancels_a_waiting_request(owner, db_session):
    owner.report()
    (repair,) = their_repairs(db_session, owner)
    done = owner.move(repair, "cancel", note="自己修好了")
    assert done.status_code == 302
    db_session.refresh(repair)
    assert repair.status is RepairStatus.cancelled
    page = owner.client.get(f"/portal/repairs/{repair.id}").text
    assert "报修已取消。" in page and "自己修好了" in page and "确定取消" not in page


def test_confirm_close_and_rate(app, owner, db_session, staff):
    worker, boss = staff
    owner.report()
    (repair,) = their_repairs(db_session, owner)
    advance(app, db_session, repair, worker, boss)
    page = owner.client.get(f"/portal/repairs/{repair.id}").text
    assert "李师傅" in page and "维修结果" in page and "生料带、接头" in page
    assert "已更换接头" in page and "确认完成" in page and "重新打开报修" in page
    assert "取消报修" not in page.split('id="timeline"')[0]  # too late to cancel
    assert owner.move(repair, "close").status_code == 302
    db_session.refresh(repair)
    assert repair.status is RepairStatus.closed
    assert "请为本次维修评分" in owner.client.get(f"/portal/repairs/{repair.id}").text

    refused = owner.move(repair, "rate", rating="6", comment="")
    assert refused.status_code == 200 and "请选择 1 到 5 星。" in refused.text
    assert owner.move(repair, "rate", rating="5", comment="很快就修好了").status_code == 302
    db_session.refresh(repair)
    assert repair.rating == 5 and repair.rating_comment == "很快就修好了"
    page = owner.client.get(f"/portal/repairs/{repair.id}").text
    assert "您的评价" in page and "很快就修好了" in page and "提交评价" not in page


def test_reopen_needs_a_reason_and_goes_back_to_the_worker(app, owner, db_session, staff):
    worker, boss = staff
    owner.report()
    (repair,) = their_repairs(db_session, owner)
    advance(app, db_session, repair, worker, boss)
    refused = owner.move(repair, "reopen", note="  ")
    assert refused.status_code == 200 and "请填写原因。" in refused.text
    db_session.refresh(repair)
    assert repair.status is RepairStatus.resolved
    assert owner.move(repair, "reopen", note="还在滴水").status_code == 302
    db_session.refresh(repair)
    assert repair.status is RepairStatus.assigned and repair.assignee_id == worker.id
    assert "还在滴水" in owner.client.get(f"/portal/repairs/{repair.id}").text


def test_a_stale_page_or_a_move_not_allowed_is_refused_with_a_message(
    app, owner, db_session, staff
):
    worker, boss = staff
    owner.report()
    (repair,) = their_repairs(db_session, owner)
    shown = repair.version
    with app.test_request_context():
        repairs.assign(db_session, repair, worker, by=boss)
        db_session.commit()
    # still cancellable, but not from the page shown before it was assigned
    stale = owner.move(repair, "cancel", version=shown)
    assert stale.status_code == 200 and "刚才有其他人修改了这张报修单" in stale.text
    with app.test_request_context():
        repairs.start(db_session, repair, by=worker)
        db_session.commit()
    for action in ("close", "cancel"):  # not resolved yet; too late to cancel
        refused = owner.move(repair, action)
        assert refused.status_code == 200 and 'class="flash flash-error"' in refused.text
    assert owner.move(repair, "dance").status_code == 400
    assert owner.move(repair, "start").status_code == 400  # staff moves are not portal moves
    db_session.refresh(repair)
    assert repair.status is RepairStatus.in_progress
    events = db_session.scalar(
        select(func.count(RepairEvent.id)).where(RepairEvent.repair_id == repair.id)
    )
    assert events == 3


def test_posts_without_csrf_are_refused(owner, db_session):
    assert owner.client.post(
        "/portal/repairs/new", data={"location": "x", "description": "y", "urgency": "low"}
    ).status_code == 400
    owner.report()
    (repair,) = their_repairs(db_session, owner)
    moved = owner.client.post(
        f"/portal/repairs/{repair.id}/move", data={"action": "cancel", "expected_version": "1"}
    )
    assert moved.status_code == 400
    db_session.refresh(repair)
    assert repair.status is RepairStatus.submitted


def test_the_contract_fields_alone_report(owner, db_session):
    """DESIGN.md's fields (location, description, urgency) are enough."""
    token = csrf_from(owner.client.get("/portal/repairs/new").text)
    sent = owner.client.post("/portal/repairs/new", data={
        "csrf_token": token, "location": "楼道", "description": "灯不亮", "urgency": "low",
    })
    assert sent.status_code == 302
    (repair,) = their_repairs(db_session, owner)
    assert repair.unit_id == owner.unit.id and repair.urgency is RepairUrgency.low
