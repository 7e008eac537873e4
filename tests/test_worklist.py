"""The staff home shows each role its own work (待办): every tile is a count that opens the
list behind it, and a role sees no tile for a list it cannot open."""

from sqlalchemy import select

from models import MailStatus, OutboxMessage

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
