"""The staff notice pages against hostile input and another estate: every bad field is an
error by the field and nothing is saved; another estate's notice, buildings and units
are not found; a body's script, event handlers, javascript: links and SVG are inert in
the preview, even when the row was written past the service."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select, update

from models import Notice, NoticeStatus
from propadmin.services.notice_html import MAX_BODY
from tests.helpers import csrf_from

from . import test_notices_admin_kit as kit
from .estate_b_notices import estate_b_notices
from .test_notices_admin_kit import move, post_editor

office = kit.office  # the fixture


@pytest.fixture
def estate_b(office, make, db_session):
    estate = make.estate(name="翠湖花园")
    building = make.building(estate, name="翠9栋")
    unit = make.unit(building, number="7788")
    resident = make.resident(estate, unit=unit, name="欧阳翠湖")
    admin = make.user(roles=["admin"], estates=[estate], username="cuihu_admin2")
    ids = estate_b_notices(db_session, estate, unit, resident, admin)
    return {"estate": estate, "building": building, "unit": unit, **ids}


def count(db_session) -> int:
    return db_session.scalar(select(func.count(Notice.id)))


HOSTILE = {
    "title": {"title": "长" * 121},
    "body": {"body": "<p>" + "字" * (MAX_BODY + 10) + "</p>"},
    "building_ids": {"reach": "buildings", "building_ids": ["abc"]},
    "units": {"reach": "units", "units": "1-101, 不是房号"},
    "publish_at": {"publish_at": "2026-13-45T99:99"},
    "expires_at": {"expires_at": "明天"},
    "category": {"category": "<script>"},
    "priority": {"priority": "x" * 5000},
    "reach": {"reach": "everywhere"},
    "audience": {"audience": "0"},
}


@pytest.mark.parametrize("field", sorted(HOSTILE))
def test_hostile_input_is_an_error_by_its_field(office, db_session, field):
    admin = office.client(office.admin)
    before = count(db_session)
    response = post_editor(admin, **HOSTILE[field])
    assert response.status_code == 400
    assert f'data-error="{field}"' in response.text
    assert count(db_session) == before
    # and on a saved notice: it stays as it was
    notice = office.notice(title="原标题")
    response = post_editor(admin, f"/admin/notices/{notice.id}/edit", **HOSTILE[field])
    assert response.status_code == 400 and f'data-error="{field}"' in response.text
    db_session.expire_all()
    assert db_session.get(Notice, notice.id).title == "原标题"


def test_the_units_error_names_the_unknown_label(office, estate_b):
    admin = office.client(office.admin)
    response = post_editor(admin, reach="units", units="1-101，翠9-7788")
    assert "本小区没有房屋 翠9-7788" in response.text
    assert "欧阳翠湖" not in response.text


def test_another_estates_building_and_unit_are_field_errors(office, estate_b, db_session):
    admin = office.client(office.admin)
    before = count(db_session)
    response = post_editor(admin, reach="buildings", building_ids=[str(estate_b["building"].id)])
    assert response.status_code == 400 and 'data-error="building_ids"' in response.text
    assert "翠9栋" not in response.text
    response = post_editor(admin, reach="units", units="翠9-7788")
    assert response.status_code == 400 and 'data-error="units"' in response.text
    assert count(db_session) == before
    page = admin.get("/admin/notices/new").text
    reach = admin.post(
        "/admin/notices/reach",
        data={
            **kit.editor_form(reach="buildings"),
            "building_ids": [str(estate_b["building"].id)],
            "csrf_token": csrf_from(page),
        },
    )
    assert "building_ids" in reach.get_json()["errors"]


def test_another_estates_notice_is_not_found_on_every_page(office, estate_b, db_session):
    admin = office.client(office.admin)
    b_id = estate_b["notice"]
    listing = admin.get("/admin/notices/").text
    assert "翠湖" not in listing and f'data-notice="{b_id}"' not in listing
    shown = admin.get(f"/admin/notices/?estate={estate_b['estate'].id}").text
    assert 'data-notice="' not in shown
    for url in (f"/admin/notices/{b_id}", f"/admin/notices/{b_id}/edit"):
        assert admin.get(url).status_code == 404, url
    token = csrf_from(admin.get("/admin/notices/").text)
    for action in ("withdraw", "redraft", "resend", "publish"):
        response = admin.post(
            f"/admin/notices/{b_id}/move",
            data={"csrf_token": token, "action": action, "version": "1"},
        )
        assert response.status_code == 404, action
    edit = admin.post(
        f"/admin/notices/{b_id}/edit", data={**kit.editor_form(title="改掉"), "csrf_token": token}
    )
    assert edit.status_code == 404
    reach = admin.post(
        "/admin/notices/reach",
        data={**kit.editor_form(), "notice_id": str(b_id), "csrf_token": token},
    )
    assert reach.status_code == 404
    for huge in ("99999999999", "0"):
        assert admin.get(f"/admin/notices/{huge}").status_code == 404
    db_session.expire_all()
    notice = db_session.get(Notice, b_id)
    assert notice.status is NoticeStatus.published and notice.title.startswith("翠湖通知")


PAYLOADS = (
    "<script>alert(1)</script><p>正文</p>"
    '<img src="x" onerror="alert(2)"><img src="https://example.com/a.png" onload="alert(3)">'
    '<a href="javascript:alert(4)">点我</a><a href="JaVaScRiPt:alert(5)">再点</a>'
    '<svg onload="alert(6)"><script>alert(7)</script></svg>'
    '<svg><a xlink:href="javascript:alert(8)"><text>svg</text></a></svg>'
    '<iframe src="https://evil.example"></iframe><p style="color:red" onclick="alert(9)">x</p>'
)


def inert(html: str) -> list[str]:
    preview = html[html.index('class="phone-frame"') : html.index("notice-side")]
    found = [
        bad
        for bad in (
            "<script",
            "onerror",
            "onload",
            "onclick",
            "javascript:",
            "<svg",
            "<iframe",
            "style=",
            "alert(",
        )
        if bad.lower() in preview.lower()
    ]
    return found


def test_hostile_bodies_are_inert_in_the_preview(office, db_session):
    admin = office.client(office.admin)
    saved = post_editor(admin, body=PAYLOADS)
    assert saved.status_code == 302
    page = admin.get(saved.location).text
    assert "正文" in page and inert(page) == []
    assert re.search(r'<img src="https://example.com/a.png"', page)
    # a row written past the service (an import, a hand edit) is cleaned when shown
    notice = office.notice()
    db_session.execute(update(Notice).where(Notice.id == notice.id).values(body=PAYLOADS))
    db_session.commit()
    page = admin.get(f"/admin/notices/{notice.id}").text
    assert "正文" in page and inert(page) == []


def test_moves_refuse_nonsense(office, db_session):
    admin = office.client(office.admin)
    notice = office.notice()
    for action, version in (("fly", None), ("publish", "abc"), ("publish", "9" * 40), ("", None)):
        response = move(admin, notice.id, action, version=version)
        assert response.status_code in (200, 302, 400), (action, version)
    db_session.expire_all()
    assert db_session.get(Notice, notice.id).status is NoticeStatus.draft


def test_a_refused_form_shows_the_body_cleaned(office):
    """The editor loads the body into its editable area: what comes back with an error
    is the cleaned body, not what was posted."""
    response = post_editor(office.client(office.admin), title="", body=PAYLOADS)
    assert response.status_code == 400 and 'data-error="title"' in response.text
    editor = response.text[response.text.index('id="body"') :]
    editor = editor[: editor.index("</textarea>")]
    assert "正文" in editor
    assert "onerror" not in editor and "script" not in editor and "javascript" not in editor
