"""An estate office for the staff notice tests (no tests of its own): two buildings with
residents, and an admin, a finance clerk and a repair worker of the estate; helpers to
post the editor and the moves as a browser would."""

from __future__ import annotations

import re

import pytest

from models import Relation
from tests.factories import FACTORY_PASSWORD
from tests.helpers import csrf_from, login


class Office:
    def __init__(self, app, make, db_session):
        self.app, self.make, self.db = app, make, db_session
        self.estate = make.estate(name="公告花园")
        self.first = make.building(self.estate, name="1栋")
        self.second = make.building(self.estate, name="2栋")
        self.u101 = make.unit(self.first, number="101")
        self.u102 = make.unit(self.first, number="102")
        self.u201 = make.unit(self.second, number="201")
        self.owner1 = make.resident(
            self.estate, unit=self.u101, name="甲业主", email="jia@example.com"
        )
        self.tenant1 = make.resident(
            self.estate, unit=self.u102, name="乙租户", relation=Relation.tenant
        )
        self.owner2 = make.resident(
            self.estate, unit=self.u201, name="丙业主", email="bing@example.com"
        )
        self.admin = make.user(roles=["admin"], estates=[self.estate], display_name="王主任")
        self.finance = make.user(roles=["finance"], estates=[self.estate], display_name="钱会计")
        self.repair = make.user(roles=["repair"], estates=[self.estate], display_name="李师傅")

    def client(self, user):
        client = self.app.test_client()
        assert login(client, user.username, FACTORY_PASSWORD).status_code == 302
        return client

    def notice(self, **fields):
        fields.setdefault("by", self.admin)
        return self.make.notice(self.estate, **fields)


@pytest.fixture
def office(app, make, db_session):
    return Office(app, make, db_session)


def editor_form(**changes) -> dict:
    form = {
        "title": "明日停水通知",
        "body": "<p>因管道检修，明日停水。</p>",
        "category": "outage",
        "priority": "normal",
        "reach": "estate",
        "audience": "everyone",
        "units": "",
        "publish_at": "",
        "expires_at": "",
    }
    form.update(changes)
    return form


def post_editor(client, url="/admin/notices/new", **changes):
    page = client.get(url)
    data = editor_form(**changes)
    if "version" not in data:
        found = re.search(r'name="version" value="(\d+)"', page.text)
        if found:
            data["version"] = found.group(1)
    return client.post(url, data={**data, "csrf_token": csrf_from(page.text)})


def notice_id_of(response) -> int:
    return int(re.search(r"/admin/notices/(\d+)$", response.location).group(1))


def move(client, notice_id, action, version=None, **data):
    page = client.get(f"/admin/notices/{notice_id}").text
    if version is None:
        found = re.search(r'name="version" value="(\d+)"', page)
        version = found.group(1) if found else "1"
    return client.post(
        f"/admin/notices/{notice_id}/move",
        data={"csrf_token": csrf_from(page), "action": action, "version": str(version), **data},
    )
