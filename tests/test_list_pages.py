"""Every admin list reads its page the same way (views/admin/listing.py): a constant number
of statements however many rows, pages in a total order, a capped count, and rows drawn with
one delete form per page while the row links, checkboxes and delete still work."""

import re

import pytest
import sqlalchemy as sa

from models import Resident
from propadmin.extensions import db
from tests.factories import FACTORY_PASSWORD
from tests.helpers import login


@pytest.fixture
def estate(make):
    return make.estate()


@pytest.fixture
def office(app, make, estate):
    """A client signed in as the estate's admin (and only there)."""
    user = make.user(roles=["admin"], estates=[estate])
    client = app.test_client()
    assert login(client, user.username, FACTORY_PASSWORD).status_code == 302
    return client


def add_households(make, estate, n: int, name: str = "测试住户") -> None:
    building = make.building(estate)
    for _ in range(n):
        make.resident(unit=make.unit(building), name=name)


def row_ids(page) -> list[str]:
    return re.findall(r'name="rowid" class="action-checkbox" value="(\d+)"', page.text)


@pytest.mark.parametrize("path", ["/admin/resident/", "/admin/unit/", "/admin/occupancy/"])
def test_statements_per_list_page_do_not_grow_with_rows(office, make, estate, count_queries, path):
    add_households(make, estate, 5)
    with count_queries() as few:
        assert office.get(path).status_code == 200
    add_households(make, estate, 55)
    with count_queries() as many:
        page = office.get(path)
        assert page.status_code == 200
    with count_queries() as deep:
        assert office.get(path + "?page=2").status_code == 200
    assert len(row_ids(page)) == 20
    # A full page costs the same however many rows follow; a page that is not full (here
    # the only one, of 5 rows) tells the count itself and skips counting; a page after the
    # first reads its keys before its rows.
    assert len(many) == len(few) + 1 and len(deep) == len(many) + 1, (
        len(few),
        len(many),
        len(deep),
    )


def test_a_page_that_is_not_full_gives_the_count_without_counting(
    office, make, estate, count_queries
):
    """The list's count (in its tab, and for the pager) is right on the last page and on
    a search finding a few, and only a full page sends a count statement."""
    add_households(make, estate, 25, name="计数")
    with count_queries() as last:
        page = office.get("/admin/resident/?page=1")
    assert len(row_ids(page)) == 5
    assert "(25)" in page.text
    assert not any("count(" in q.lower() for q in last)
    with count_queries() as first:
        page = office.get("/admin/resident/")
    assert "(25)" in page.text and any("estate_count" in q for q in first)
    make.resident(estate, name="独一")
    with count_queries() as found:
        page = office.get("/admin/resident/", query_string={"search": "独一"})
    assert len(row_ids(page)) == 1 and "(1)" in page.text
    assert not any("count(" in q.lower() for q in found)
    page = office.get("/admin/resident/", query_string={"search": "无此人"})
    assert "(" not in re.search(r'class="nav-link active">([^<]*)<', page.text).group(1)


def test_the_whole_register_is_counted_from_the_kept_counts(
    office, make, estate, count_queries
):
    """A full first page of the unfiltered resident list reads its count from the counts
    the database keeps for the reader's estates (not another estate's residents), and a
    search or filter is counted over its own rows."""
    add_households(make, estate, 25, name="计数")
    add_households(make, make.estate(), 7, name="计数")  # another estate's
    with count_queries() as queries:
        page = office.get("/admin/resident/")
    assert len(row_ids(page)) == 20 and "(25)" in page.text
    assert any("estate_count" in q for q in queries)
    assert not any(re.search(r"count\(", q, re.I) and "FROM resident" in q for q in queries)
    searched = office.get("/admin/resident/", query_string={"search": "计数"})
    assert len(row_ids(searched)) == 20 and "(25)" in searched.text


def test_pages_of_equal_names_neither_overlap_nor_skip(office, make, estate, db_session):
    add_households(make, estate, 25, name="王芳")
    first = row_ids(office.get("/admin/resident/"))
    second = row_ids(office.get("/admin/resident/?page=1"))
    assert len(first) == 20 and len(second) == 5
    ids = db_session.scalars(sa.select(Resident.id).where(Resident.estate_id == estate.id))
    assert sorted(first + second) == sorted(str(i) for i in ids)


def test_one_delete_form_serves_every_row(office, make, estate, db_session):
    add_households(make, estate, 3)
    page = office.get("/admin/resident/").text
    assert page.count('action="/admin/resident/delete/"') == 1
    ids = re.findall(r'form="list-delete-form" name="id" value="(\d+)"', page)
    assert len(ids) == 3
    for rid in ids:  # the row's name, eye and pencil lead to the row; its box selects it
        assert f'href="/admin/resident/details/?id={rid}"' in page
        assert f'href="/admin/resident/details/?id={rid}&amp;url=/admin/resident/' in page
        assert f'href="/admin/resident/edit/?id={rid}&amp;url=/admin/resident/' in page
        assert f'name="rowid" class="action-checkbox" value="{rid}"' in page
    form = page[
        page.index('id="list-delete-form"') : page.index(
            "</form>", page.index('id="list-delete-form"')
        )
    ]
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', form)[1]
    back = re.search(r'name="url" type="hidden" value="([^"]+)"', form)[1]
    # A click on the second row's button submits the form with that row's id.
    response = office.post(
        "/admin/resident/delete/", data={"id": ids[1], "url": back, "csrf_token": token}
    )
    assert response.status_code == 302
    db_session.expire_all()
    left = {
        str(i)
        for i in db_session.scalars(sa.select(Resident.id).where(Resident.estate_id == estate.id))
    }
    assert left == {ids[0], ids[2]}


def test_a_long_list_is_counted_up_to_a_point(office, make, estate, monkeypatch):
    monkeypatch.setattr("views.admin.residents.ResidentView.count_cap", 3)
    add_households(make, estate, 5)
    page = office.get("/admin/resident/")
    assert "(3+)" in page.text
    assert len(row_ids(page)) == 5
    assert office.get("/admin/resident/?page=999").status_code == 200  # still opens


def test_a_deep_page_of_an_estate_is_read_from_the_index(app, office, make, estate, db_session):
    """The page's keys come from (estate_id, name, id), not from sorting the register."""
    add_households(make, estate, 3)
    with app.app_context():
        engine = db.engine.engine
    seen = []

    def record(conn, cursor, statement, parameters, context, executemany):
        seen.append((statement, parameters))

    sa.event.listen(engine, "before_cursor_execute", record)
    try:
        assert office.get("/admin/resident/?page=999").status_code == 200
    finally:
        sa.event.remove(engine, "before_cursor_execute", record)
    ((keys, params),) = [
        (s, p) for s, p in seen if re.match(r"SELECT resident.id AS \w+\s+FROM resident", s)
    ]
    assert "LIMIT" in keys and "OFFSET" in keys
    conn = db_session.connection()
    if conn.dialect.name == "sqlite":
        plan = " ".join(
            row[-1] for row in conn.exec_driver_sql("EXPLAIN QUERY PLAN " + keys, params)
        )
        assert "ix_resident_estate_name" in plan, plan
        assert "TEMP B-TREE" not in plan, plan
    else:
        # PostgreSQL plans by table size (a few test rows: sorting them looks cheapest), so
        # scans and sorts are priced out first: an index must then give the order.
        conn.exec_driver_sql("SET LOCAL enable_seqscan = off")
        conn.exec_driver_sql("SET LOCAL enable_sort = off")
        plan = " ".join(row[0] for row in conn.exec_driver_sql("EXPLAIN " + keys, params))
        assert "ix_resident_estate_name" in plan, plan
        assert "Sort" not in plan, plan


def _table_rows(page) -> str:
    """The list's rows, with the spaces beside tags left out (the browser ignores them)."""
    body = re.search(r"</thead>(.*?)</table>", page.text, flags=re.S).group(1)
    return re.sub(r"\s*<", "<", re.sub(r">\s*", ">", body)).strip()


def test_rows_written_in_python_match_the_templates_rows_on_every_list(
    login_as, monkeypatch
):
    """Most lists' rows are written by FastList.rows_html rather than the template's loop:
    on every admin list of the demo estate they are the same cells, links, checkboxes and
    delete buttons, escaped alike, as the loop draws."""
    from views.admin.listing import FastList

    admin = login_as("admin")
    lists = sorted(set(re.findall(r'href="(/admin/[a-z_]+/)"', admin.get("/admin/").text)))
    compared, checked = 0, []
    for path in lists:
        fast = admin.get(path)
        if fast.status_code != 200 or "</thead>" not in fast.text or "<td" not in _table_rows(
            fast
        ).replace('<td colspan="999">', ""):
            continue  # not a model list, or no row to compare
        monkeypatch.setattr(FastList, "fast_rows", False)
        drawn = admin.get(path)
        monkeypatch.setattr(FastList, "fast_rows", True)
        assert _table_rows(fast) == _table_rows(drawn), path
        compared += 1
        checked.append(path)
    assert compared >= 20 and "/admin/bill/" in checked, lists


def test_a_cell_with_markup_characters_is_escaped_in_python_written_rows(office, make, estate):
    make.resident(estate, name='<b>"洛"&amp;</b>')
    page = office.get("/admin/resident/")
    assert "&lt;b&gt;&#34;洛&#34;&amp;amp;&lt;/b&gt;" in page.text
    assert '<b>"洛"' not in page.text


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_hidden_fields_are_written_as_their_widgets_write_them(app, database_url):
    """The list page's hidden fields come from hidden_input, not WTForms' widget: the same
    markup, the value escaped, the CSRF token the form would carry."""
    from wtforms import HiddenField

    from views.admin.fields import AdminForm
    from views.admin.page_forms import hidden_input

    class PageForm(AdminForm):  # as the list's delete and mass-action forms are built
        url = HiddenField()
        action = HiddenField()

    awkward = '/admin/resident/?search="<b>&x=1\''
    with app.test_request_context("/admin/resident/"):
        form = PageForm(formdata=None)
        assert hidden_input(form.url, awkward) == form.url(value=awkward)
        assert hidden_input(form.action) == form.action()
        assert hidden_input(form.csrf_token) == form.csrf_token()
        assert "&lt;b&gt;&amp;x=1&#39;" in hidden_input(form.url, awkward)


def test_a_list_page_builds_no_wtforms_form(office, make, estate, monkeypatch):
    """The page's delete and mass-action forms are only hidden fields to draw: they are
    written from the form classes (PageForm) instead of building two WTForms forms for
    every list page (some 270 µs of a 5 ms page on the benchmark's register), and a
    delete from the page still carries the token the form checks."""
    from wtforms.form import BaseForm

    add_households(make, estate, 2)
    built = []
    real_init = BaseForm.__init__

    def counting(self, *args, **kwargs):
        built.append(type(self).__name__)
        real_init(self, *args, **kwargs)

    monkeypatch.setattr(BaseForm, "__init__", counting)
    page = office.get("/admin/resident/").text
    assert built == []
    form = page[page.index('id="list-delete-form"') : page.index("</form>", page.index(
        'id="list-delete-form"'))]
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', form)[1]
    rid = re.findall(r'form="list-delete-form" name="id" value="(\d+)"', page)[0]
    response = office.post(
        "/admin/resident/delete/", data={"id": rid, "url": "/admin/resident/", "csrf_token": token}
    )
    assert response.status_code == 302 and "DeleteForm" in built  # the POST checks a real form
    actions = page[page.index('id="action_form"') : page.index("</form>", page.index(
        'id="action_form"'))]
    assert f'name="csrf_token" type="hidden" value="{token}"' in actions
    assert 'id="action" name="action" type="hidden" value=""' in actions


@pytest.mark.parametrize("csrf", [True, False])
def test_page_forms_draw_their_fields_as_wtforms_does(app, csrf):
    """PageForm's fields give the markup of the WTForms fields they stand for, called with a
    value or without and drawn as they are, and the form has a CSRF field exactly when the
    WTForms form would (the templates test ``csrf_token is defined``)."""
    from views.admin.page_forms import PageForm
    from views.admin.residents import ResidentView

    view = next(v for v in app.extensions["admin"][0]._views if isinstance(v, ResidentView))
    app.config["WTF_CSRF_ENABLED"] = csrf
    awkward = '/admin/resident/?search="<b>&x=1\''
    with app.test_request_context("/admin/resident/"):
        for form_class in (view._delete_form_class, view._action_form_class):
            real, light = form_class(formdata=None), PageForm.of(form_class)
            assert light is not None
            names = [f.name for f in real]
            for name in names:
                if name == "csrf_token":
                    assert light.csrf_token.__html__() == real.csrf_token()
                    assert str(light.csrf_token) == str(real.csrf_token)
                    assert light.csrf_token._value() == real.csrf_token._value()
                    continue
                ours, theirs = getattr(light, name), getattr(real, name)
                assert ours(value=awkward) == theirs(value=awkward)
                assert ours() == theirs() and ours.__html__() == theirs.__html__()
                assert (ours.id, ours.name, ours._value()) == (theirs.id, theirs.name, "")
            assert hasattr(light, "csrf_token") is csrf and ("csrf_token" in names) is csrf


def _list_links(page) -> list[str]:
    return re.findall(r'href="(/admin/resident/\?[^"]*)"', page.text)


@pytest.mark.parametrize(
    "path",
    [
        "/admin/resident/?page=1",
        "/admin/resident/?page=2&sort=0&desc=1",
        "/admin/resident/?search=__page__&page=1&sort=1",
        "/admin/resident/?search=__page__+__sort__",
    ],
)
def test_list_links_filled_into_one_address_are_flask_admins(
    office, make, estate, monkeypatch, path
):
    """The pager's pages, the sort headers and the page sizes are filled into one address
    built per request (FastList.get_url): they are the addresses Flask-Admin builds one by
    one, also when the search itself holds the placeholders the page and sort go into."""
    from flask_admin.base import BaseView

    from views.admin.listing import FastList

    add_households(make, estate, 45, name="__page__ __sort__ 住户")
    builds = []
    build = BaseView.get_url

    def counted(view, endpoint, **kwargs):
        if endpoint == ".index_view":
            builds.append(kwargs)
        return build(view, endpoint, **kwargs)

    monkeypatch.setattr(BaseView, "get_url", counted)
    filled = _list_links(office.get(path))
    filled_builds = len(builds)
    monkeypatch.setattr(FastList, "list_url_shapes", False)
    built = _list_links(office.get(path))
    assert filled == built
    if "__page__" not in path:  # built once per shape, not once per link
        assert filled_builds < len(builds) - filled_builds, (filled_builds, len(builds))
    assert len(filled) >= 3, filled  # the sort headers and pages are there to compare
    if "search" not in path or "page=1" in path:
        pages = {m for link in filled for m in re.findall(r"[?&]page=(\d+)", link)}
        assert {"1", "2"} <= pages, filled  # page 2 and 3 (0-based 1, 2) are offered


def test_the_first_page_is_read_in_one_statement_with_the_same_rows_on_every_list(
    login_as, monkeypatch, count_queries
):
    """A list's first page reads its rows at once (LIMIT over the sort), not its keys and
    then its rows: on every admin list of the demo estate it shows the same rows, in the
    same order, with the same count, as reading the keys first does, and one statement
    fewer where the keys were read."""
    from views.admin.listing import FastList

    admin = login_as("admin")
    lists = sorted(set(re.findall(r'href="(/admin/[a-z_]+/)"', admin.get("/admin/").text)))
    compared, fewer = [], []
    for path in lists:
        with count_queries() as at_once:
            first = admin.get(path)
        if first.status_code != 200 or "</thead>" not in first.text:
            continue  # not a model list
        monkeypatch.setattr(FastList, "first_page_at_once", False)
        with count_queries() as keys_first:
            second = admin.get(path)
        monkeypatch.setattr(FastList, "first_page_at_once", True)
        assert _table_rows(first) == _table_rows(second), path
        tab = r'class="nav-link active"[^>]*>([^<]*)<'  # "列表 (12)": the count
        assert re.findall(tab, first.text) == re.findall(tab, second.text), path
        assert len(at_once) <= len(keys_first), path
        compared.append(path)
        if len(at_once) < len(keys_first):
            fewer.append(path)
    assert len(compared) >= 20 and "/admin/bill/" in compared and "/admin/resident/" in fewer


def test_a_row_action_of_a_views_own_is_drawn_by_its_macro(office, make, estate, monkeypatch):
    """The list template imports the row actions' macros only for a list that has an action
    other than view, edit and delete: such a list still draws it, through its macro, and
    the usual lists draw their buttons without the import."""
    from jinja2 import Template

    from views.admin.residents import ResidentView

    imported = []
    make_module = Template.make_module

    def spied(self, *args, **kwargs):
        imported.append(self.name)
        return make_module(self, *args, **kwargs)

    monkeypatch.setattr(Template, "make_module", spied)
    resident = make.resident(estate, name="弹窗")
    usual = office.get("/admin/resident/")
    assert f'href="/admin/resident/details/?id={resident.id}' in usual.text
    assert 'data-toggle="modal"' not in usual.text
    assert "admin/model/layout.html" in imported  # (the spy sees the list's imports)
    assert "admin/model/row_actions.html" not in imported, imported
    monkeypatch.setattr(ResidentView, "details_modal", True)
    imported.clear()
    page = office.get("/admin/resident/")
    assert page.status_code == 200
    assert "admin/model/row_actions.html" in imported, imported
    # view_row_popup (row_actions.html): a modal button to the row's page.
    button = re.search(
        rf'<a class="icon" data-target="#fa_modal_window" title="[^"]*" '
        rf'href="/admin/resident/details/\?id={resident.id}&amp;url=[^"]*modal=True"',
        page.text,
    )
    assert button, _table_rows(page)
