"""The staff home shows each role its own work (待办): every tile is a count that opens the
list behind it, and a role sees no tile for a list it cannot open."""

from sqlalchemy import select

from models import MailStatus, OutboxMessage
from views.admin.worklist import Filter

TILE = 'data-tile="failed_mail"'


def test_failed_mail_tile_counts_and_opens_the_filtered_outbox(login_as, make):
    failed, sent = MailStatus.failed, MailStatus.sent
    make.outbox_message(recipient="owner@example.com", subject="缴费通知一", status=failed)
    make.outbox_message(recipient="finance@example.com", subject="缴费通知二", status=sent)
    admin = login_as("admin")
    home = admin.get("/admin/").text
    start = home.index(TILE)
    tile = home[home.rindex("<a", 0, start) : home.index("</a>", start)]
    assert '<span class="n">1</span>' in tile and "发送失败的邮件" in tile
    url = tile.split('href="', 1)[1].split('"', 1)[0].replace("&amp;", "&")
    listed = admin.get(url).text
    assert "缴费通知一" in listed and "缴费通知二" not in listed


def test_a_role_sees_no_tile_for_a_list_it_cannot_open(login_as, make):
    make.outbox_message(status=MailStatus.failed)
    for role in ("finance", "repair"):
        assert TILE not in login_as(role).get("/admin/").text


def test_the_tile_counts_only_the_users_estates(login_as, make, db_session):
    other = make.user(estates=[make.estate()])
    make.outbox_message(recipient=other.email, status=MailStatus.failed)
    home = login_as("admin").get("/admin/").text
    start = home.index(TILE)
    tile = home[home.rindex("<a", 0, start) : home.index("</a>", start)]
    assert '<span class="n">0</span>' in tile
    theirs = select(OutboxMessage.user_id).where(OutboxMessage.recipient == other.email)
    assert db_session.scalar(theirs) == other.id  # the message is theirs, just not ours


def test_figures_open_their_lists_for_those_who_may(login_as):
    admin_home = login_as("admin").get("/admin/").text
    assert 'class="figure" href="/admin/resident/"' in admin_home
    repair_home = login_as("repair").get("/admin/").text
    assert 'href="/admin/resident/"' not in repair_home
    assert 'class="figure" href="/admin/unit/"' in repair_home


def test_leases_ending_soon_open_the_tenants_to_call(login_as, db_session, make, demo):
    from datetime import date, timedelta

    from models import Estate, Relation

    estate = db_session.get(Estate, demo)
    unit = make.unit(building=estate.buildings[0], number="5501")
    soon = make.resident(estate, unit=unit, relation=Relation.tenant, name="租约将满")
    later = make.resident(estate, unit=make.unit(building=estate.buildings[0], number="5502"),
                          relation=Relation.tenant, name="租约还长")
    soon.occupancies[0].end_date = date.today() + timedelta(days=10)
    later.occupancies[0].end_date = date.today() + timedelta(days=200)
    db_session.commit()
    admin = login_as("admin")
    home = admin.get("/admin/").text
    start = home.index('data-tile="leases_ending"')
    tile = home[home.rindex("<a", 0, start) : home.index("</a>", start)]
    assert "30 天内到期的租约" in tile and '<span class="n">0</span>' not in tile
    url = tile.split('href="', 1)[1].split('"', 1)[0].replace("&amp;", "&")
    listed = admin.get(url).text
    assert "租约将满" in listed and "租约还长" not in listed


def test_choice_filters_offer_labels_and_filter_by_them(app, login_as, db_session, demo):
    from models import ParkingKind, ParkingSpace
    from views.admin.worklist import list_url

    db_session.add_all([
        ParkingSpace(estate_id=demo, code="OWN-1", kind=ParkingKind.owned),
        ParkingSpace(estate_id=demo, code="RENT-1", kind=ParkingKind.rented),
    ])
    db_session.commit()
    admin = login_as("admin")
    view = next(v for v in app.extensions["propadmin.admin"]._views if v.endpoint == "parking")
    with app.test_request_context():
        url = list_url(view, [Filter("kind", "equals", "owned")])
    listed = admin.get(url).text
    assert "OWN-1" in listed and "RENT-1" not in listed
    assert '["owned", "\\u81ea\\u6709"]' in listed  # the choice reads 自有
