"""The portal's notices: a resident sees exactly the notices that reach their home — in the
list, by id and in the unread count on the home screen and the tab — and nothing else.
A notice not for them, not out yet, withdrawn, expired or another estate's is the same 404
as an id that does not exist. Opening a notice marks it read, once.

Whom a notice reaches is ``notice_targets.visible_to`` (the foundation's own tests check
the condition); these tests check what a resident sees in the pages built on it.
"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select, update

from models import Notice, NoticeAudience, NoticeReach, NoticeRead, Relation, User, utcnow
from propadmin.services import notices

from .factories import FACTORY_PASSWORD
from .helpers import CSRF_RE, login

NO_SUCH_ID = 999999999


class Home:
    """A resident living in ``unit``, with a portal account, signed in on their own client."""

    def __init__(self, app, make, db_session, unit, relation=Relation.owner):
        self.unit = unit
        self.user = make.user(roles=["tenant" if relation is Relation.tenant else "owner"])
        self.resident = make.resident(unit.building.estate, unit=unit, relation=relation)
        self.resident.user = self.user
        db_session.commit()
        self.client = app.test_client()
        assert login(self.client, self.user.username, FACTORY_PASSWORD).status_code == 302

    def listing(self) -> str:
        page = self.client.get("/portal/notices")
        assert page.status_code == 200
        return page.text

    def open(self, notice):
        return self.client.get(f"/portal/notices/{notice.id}")

    def sees(self, notice) -> bool:
        """In the list and openable by id, or neither (never one without the other)."""
        listed = f'href="/portal/notices/{notice.id}"' in self.listing()
        opened = self.open(notice).status_code
        assert opened in (200, 404)
        assert listed is (opened == 200), (listed, opened)
        return listed

    def unread_on_home(self) -> int:
        """The unread figure on the home screen's notices panel (0 when it shows none)."""
        page = self.client.get("/portal/").text
        found = re.search(r'class="unread-notices">未读公告：(\d+) 条', page)
        badge = re.search(r'id="unread-badge"><span class="sr-only">未读</span>(\d+)<', page)
        assert (found is None) is (badge is None), "the panel and the tab disagree"
        if found is None:
            return 0
        assert found.group(1) == badge.group(1), "the panel and the tab disagree"
        return int(found.group(1))


@pytest.fixture
def town(app, make, db_session):
    """An estate of two buildings: in the first an owner and a tenant, in the second an
    owner; and an owner in another estate."""
    estate = make.estate(timezone="Asia/Shanghai")
    first, second = make.building(estate, name="1栋"), make.building(estate, name="2栋")
    other = make.estate()
    people = {
        "owner1": Home(app, make, db_session, make.unit(first)),
        "tenant1": Home(app, make, db_session, make.unit(first), Relation.tenant),
        "owner2": Home(app, make, db_session, make.unit(second)),
        "outsider": Home(app, make, db_session, make.unit(make.building(other))),
    }
    return estate, first, other, people


def test_building_notice_reaches_that_buildings_residents_and_nobody_else(make, town):
    estate, first, _other, people = town
    notice = make.notice(
        estate,
        reach=NoticeReach.buildings,
        building_ids=[first.id],
        publish=True,
        title="1栋明日停水",
    )
    for name in ("owner1", "tenant1"):
        home = people[name]
        assert home.unread_on_home() == 1, name
        assert "1栋明日停水" in home.client.get("/portal/").text
        assert home.sees(notice), name
    for name in ("owner2", "outsider"):
        home = people[name]
        assert not home.sees(notice), name
        assert home.unread_on_home() == 0, name
        assert "1栋明日停水" not in home.client.get("/portal/").text
        assert "暂无公告" in home.listing()


def test_a_hidden_notice_is_the_same_404_as_no_notice(make, town):
    estate, first, _other, people = town
    notice = make.notice(estate, reach=NoticeReach.buildings, building_ids=[first.id], publish=True)
    owner2 = people["owner2"].client
    hidden, missing = (
        owner2.get(f"/portal/notices/{notice.id}"),
        owner2.get(f"/portal/notices/{NO_SUCH_ID}"),
    )
    assert hidden.status_code == missing.status_code == 404

    # The same page, but for the address it names (the language switch comes back to it)
    # and the sign-out form's CSRF token, which is signed with the second it was made in.
    def page(response, notice_id):
        text = response.text.replace(f"/notices/{notice_id}", "/notices/N")
        return CSRF_RE.sub('name="csrf_token" value="T"', text)

    assert page(hidden, notice.id) == page(missing, NO_SUCH_ID)
    assert owner2.get("/portal/notices/99999999999999999999").status_code == 404


def test_another_estates_notice_is_not_found(make, town):
    _estate, _first, other, people = town
    theirs = make.notice(other, publish=True, title="别的小区的公告")
    assert people["outsider"].sees(theirs)
    for name in ("owner1", "tenant1", "owner2"):
        assert not people[name].sees(theirs), name


@pytest.mark.parametrize(
    "audience, who",
    [
        (NoticeAudience.owners, {"owner1", "owner2"}),
        (NoticeAudience.tenants, {"tenant1"}),
        (NoticeAudience.everyone, {"owner1", "tenant1", "owner2"}),
    ],
)
def test_owners_only_and_tenants_only(make, town, audience, who):
    estate, _first, _other, people = town
    notice = make.notice(estate, audience=audience, publish=True)
    for name, home in people.items():
        assert home.unread_on_home() == (1 if name in who else 0), name
        assert home.sees(notice) is (name in who), name


def test_withdrawn_and_expired_notices_leave_the_portal(app, make, db_session, town):
    estate, _first, _other, people = town
    owner = people["owner1"]
    withdrawn = make.notice(estate, publish=True, title="将被撤回")
    expired = make.notice(estate, publish=True, title="将会过期")
    assert owner.sees(withdrawn) and owner.sees(expired)
    with app.test_request_context():
        notices.withdraw(db_session, withdrawn, by=withdrawn.author)
    # An expiry time that has come: the state the notice is in once its time passes.
    db_session.execute(
        update(Notice).where(Notice.id == expired.id).values(expires_at=utcnow() - timedelta(1))
    )
    db_session.commit()
    assert not owner.sees(withdrawn) and not owner.sees(expired)
    assert owner.unread_on_home() == 0
    listing = owner.listing()
    assert "将被撤回" not in listing and "将会过期" not in listing


def test_a_draft_is_not_in_the_portal(make, town):
    estate, _first, _other, people = town
    draft = make.notice(estate, title="还在草稿")
    assert not people["owner1"].sees(draft)
    assert people["owner1"].unread_on_home() == 0


def test_a_scheduled_notice_appears_once_it_is_published(app, make, db_session, town):
    estate, _first, _other, people = town
    owner = people["owner1"]
    notice = make.notice(estate, title="下周消防演练")
    at = utcnow() + timedelta(hours=1)
    with app.test_request_context():
        notices.schedule(db_session, notice, at, by=notice.author)
        db_session.commit()
    assert not owner.sees(notice)
    assert owner.unread_on_home() == 0
    with app.test_request_context():
        assert notices.publish_due(db_session) == []  # not yet
        assert [n.id for n in notices.publish_due(db_session, now=at)] == [notice.id]
        db_session.commit()
    assert owner.unread_on_home() == 1
    assert owner.sees(notice)
    assert "下周消防演练" in owner.listing()


def test_opening_a_notice_marks_it_read_once(make, db_session, town):
    estate, _first, _other, people = town
    owner = people["owner1"]
    first = make.notice(estate, publish=True, title="第一条")
    make.notice(estate, publish=True, title="第二条")
    assert owner.unread_on_home() == 2
    row = f'class="notice-row is-unread" href="/portal/notices/{first.id}"'
    assert row in owner.listing()
    for _ in range(2):
        page = owner.open(first)
        assert page.status_code == 200 and "第一条" in page.text
    reads = db_session.scalar(
        select(func.count(NoticeRead.id)).where(
            NoticeRead.notice_id == first.id, NoticeRead.resident_id == owner.resident.id
        )
    )
    assert reads == 1
    assert owner.unread_on_home() == 1
    listing = owner.listing()
    assert row not in listing and f'class="notice-row" href="/portal/notices/{first.id}"' in listing
    assert "未读公告：1 条" in listing
    # The others in the household still have it unread.
    assert people["tenant1"].unread_on_home() == 2


def test_moving_out_hides_the_notices(make, db_session, town):
    estate, _first, _other, people = town
    owner = people["owner1"]
    notice = make.notice(estate, publish=True, title="小区停电通知")
    assert owner.sees(notice)
    (occupancy,) = owner.resident.occupancies
    occupancy.end_date = utcnow().date() - timedelta(days=2)
    db_session.commit()
    assert not owner.sees(notice)
    assert owner.unread_on_home() == 0
    assert "尚未关联房屋" in owner.listing()


def test_an_account_without_a_resident_sees_an_empty_board(app, make, town):
    estate, *_rest = town
    notice = make.notice(estate, publish=True)
    user = make.user(roles=["owner"])
    client = app.test_client()
    assert login(client, user.username, FACTORY_PASSWORD).status_code == 302
    page = client.get("/portal/notices")
    assert page.status_code == 200 and "尚未关联房屋" in page.text
    assert client.get(f"/portal/notices/{notice.id}").status_code == 404


HOSTILE = (
    '<p>停水<script>alert("s")</script></p>'
    '<img src="https://example.com/x.png" onerror="alert(1)">'
    '<a href="javascript:alert(2)">点这里</a>'
    '<svg onload="alert(3)"><circle r="1"/></svg>'
    '<p onclick="alert(4)" style="background:url(javascript:alert(5))">完</p>'
)
SURVIVORS = ("<script", "alert(", "onerror", "onload", "onclick", "javascript:", "<svg", "style=")


@pytest.mark.parametrize("stored_raw", [False, True], ids=["saved", "written-raw"])
def test_a_hostile_body_is_served_inert(make, db_session, town, stored_raw):
    """Saved through the service (cleaned on save) or written straight into the table
    (an import, a hand edit): the page and the list serve it cleaned."""
    estate, _first, _other, people = town
    notice = make.notice(estate, publish=True, title="安全提示", body=HOSTILE)
    if stored_raw:
        db_session.execute(update(Notice).where(Notice.id == notice.id).values(body=HOSTILE))
        db_session.commit()
    owner = people["owner1"]
    for page in (owner.open(notice).text, owner.listing(), owner.client.get("/portal/").text):
        for bad in SURVIVORS:
            assert bad not in page, bad
    shown = owner.open(notice).text
    assert "停水" in shown and "点这里" in shown and "完" in shown
    assert '<img src="https://example.com/x.png">' in shown


def test_script_in_a_title_is_shown_as_text(make, town):
    estate, _first, _other, people = town
    notice = make.notice(estate, publish=True, title='<script>alert("t")</script>')
    owner = people["owner1"]
    for page in (owner.open(notice).text, owner.listing(), owner.client.get("/portal/").text):
        assert "<script>alert" not in page
        assert "&lt;script&gt;alert(" in page


def test_demo_owner2_cannot_open_the_first_buildings_notice(login_as, db_session, make, demo):
    """The demo's owner and tenant live in the first building, owner2 in the second."""

    def building_of(username):
        user = db_session.scalar(select(User).where(User.username == username))
        return next(o for o in user.resident.occupancies if o.is_current).unit.building

    first = building_of("owner")
    assert building_of("owner2").id != first.id
    notice = make.notice(
        first.estate,
        reach=NoticeReach.buildings,
        building_ids=[first.id],
        publish=True,
        title="一号楼电梯检修",
    )
    for username, status in (("owner", 200), ("tenant", 200), ("owner2", 404)):
        client = login_as(username)
        assert client.get(f"/portal/notices/{notice.id}").status_code == status, username
        listed = f'href="/portal/notices/{notice.id}"' in client.get("/portal/notices").text
        assert listed is (status == 200), username
