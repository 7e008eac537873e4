"""The admin menu bar is drawn once per reader's permissions, language and page and reused
(views/admin/menu_cache.py): it never shows one user's menu to another, and a permission
taken away disappears on the next page. ``can()`` answers as Flask-Principal does."""

import re

import pytest
from flask_login import login_user, logout_user
from flask_principal import ActionNeed, Identity, Permission
from sqlalchemy import select

from models import Estate, Role, User
from propadmin.extensions import principal
from propadmin.permissions import PERMISSIONS, UnknownPermission, can

from .factories import FACTORY_PASSWORD
from .helpers import login

# The menu bar's items (its last part, the user's own menu, is not cached).
NAVBAR = re.compile(r'<ul class="nav navbar-nav mr-auto">.*?id="user-menu"', re.S)


def menu_links(html: str) -> set[str]:
    """The admin pages the menu bar links to."""
    navbar = NAVBAR.search(html).group(0)
    return set(re.findall(r'href="(/admin/[^"]*)"', navbar))


def navbar(html: str) -> str:
    return NAVBAR.search(html).group(0)


@pytest.fixture
def readers(app, demo, make, db_session):
    """Two staff members of the demo estate: one reads residents, one reads bills."""
    estate = db_session.get(Estate, demo)
    office = make.role(permissions=("dashboard.view", "residents.view"), estate_id=demo)
    cashier = make.role(permissions=("dashboard.view", "billing.view"), estate_id=demo)
    clerk = make.user(roles=[office.name], estates=[estate])
    teller = make.user(roles=[cashier.name], estates=[estate])
    return clerk, teller, office


def signed_in(app, user):
    client = app.test_client()
    assert login(client, user.username, FACTORY_PASSWORD).status_code == 302
    return client


def test_each_reader_sees_their_own_menu_in_turn(app, readers):
    clerk, teller, _ = readers
    clerk_client, teller_client = signed_in(app, clerk), signed_in(app, teller)
    for _ in range(2):  # the second round is drawn from the cache
        clerk_menu = menu_links(clerk_client.get("/admin/").text)
        teller_menu = menu_links(teller_client.get("/admin/").text)
        assert "/admin/resident/" in clerk_menu and "/admin/resident/" not in teller_menu
        assert not any(link.startswith("/admin/bill") for link in clerk_menu)
        assert any(link.startswith("/admin/bill") for link in teller_menu)


def test_the_cached_menu_is_the_menu_drawn_afresh(app, readers, login_as):
    clerk, teller, _ = readers
    pages = ("/admin/", "/admin/resident/", "/admin/bill/")
    clients = {
        "clerk": signed_in(app, clerk),
        "teller": signed_in(app, teller),
        "finance": login_as("finance"),
        "admin": login_as("admin"),
    }
    cached = {}
    for _ in range(2):
        for who, client in clients.items():
            for page in pages:
                response = client.get(page)
                if response.status_code == 200:
                    cached[who, page] = navbar(response.text)
    app.extensions["propadmin.admin"].menu_cache.clear()
    for (who, page), html in cached.items():
        assert navbar(clients[who].get(page).text) == html, (who, page)
    assert cached["admin", "/admin/resident/"] != cached["clerk", "/admin/resident/"]
    # the page shown is marked active in the menu
    assert cached["finance", "/admin/"] != cached["finance", "/admin/resident/"]


def test_a_permission_taken_away_leaves_the_menu_at_once(app, readers, db_session):
    clerk, _, office = readers
    client = signed_in(app, clerk)
    assert "/admin/resident/" in menu_links(client.get("/admin/").text)
    role = db_session.get(Role, office.id)
    role.set_permissions({"dashboard.view"})
    db_session.commit()
    assert "/admin/resident/" not in menu_links(client.get("/admin/").text)
    assert client.get("/admin/resident/").status_code == 403


def test_the_menu_speaks_the_readers_language(app, readers):
    clerk, _, _ = readers
    client = signed_in(app, clerk)
    chinese = navbar(client.get("/admin/", headers={"Accept-Language": "zh-CN"}).text)
    english = navbar(client.get("/admin/", headers={"Accept-Language": "en"}).text)
    assert "住户" in chinese and "Residents" not in chinese
    assert "Residents" in english and "住户" not in english


def test_can_answers_as_flask_principal(app, readers, make, db_session):
    clerk, _, _ = readers
    admin = db_session.scalar(select(User).where(User.username == "admin"))
    superuser = make.user(superuser=True)
    for user in (clerk, admin, superuser):
        with app.test_request_context():
            user = db_session.get(User, user.id)
            login_user(user)
            principal.set_identity(Identity(user.id))
            answers = {p: can(p) for p in PERMISSIONS}
            assert answers == {p: Permission(ActionNeed(p)).can() for p in PERMISSIONS}
            logout_user()  # signed out in the request: nothing, as before
            assert not any(can(p) for p in PERMISSIONS)
        if user is clerk:
            assert {p for p, yes in answers.items() if yes} == {"dashboard.view", "residents.view"}
        if user.is_superuser:
            assert all(answers.values())
    with app.test_request_context():
        assert not can("residents.view")  # anonymous
        with pytest.raises(UnknownPermission):
            can("residents.veiw")


def test_the_signed_in_account_is_loaded_without_an_object_per_grant(app, demo, make, db_session):
    """Every request reads the account's permissions as names in the account's own
    statement: an estate admin holds dozens of grants, and an ORM object for each on every
    request cost more than the page's rows. Two roles' grants still add up, and a grant
    given takes effect on the next page."""
    from sqlalchemy import event

    from models import RolePermission

    estate = db_session.get(Estate, demo)
    office = make.role(permissions=("dashboard.view", "residents.view"), estate_id=demo)
    wide = make.role(permissions=sorted(p for p in PERMISSIONS if p.startswith("billing.")))
    clerk = make.user(roles=[office.name, wide.name], estates=[estate])
    client = signed_in(app, clerk)
    grants_built = []

    def count(target, context):
        grants_built.append(target)

    event.listen(RolePermission, "load", count)
    try:
        links = menu_links(client.get("/admin/").text)
        assert "/admin/resident/" in links and any(u.startswith("/admin/bill") for u in links)
        assert grants_built == []
        assert client.get("/admin/repairs/").status_code == 403
        db_session.get(Role, office.id).set_permissions(
            {"dashboard.view", "residents.view", "repairs.view"}
        )
        db_session.commit()
        assert client.get("/admin/repairs/").status_code == 200
    finally:
        event.remove(RolePermission, "load", count)
