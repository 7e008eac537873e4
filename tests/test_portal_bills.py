"""The portal's bills: each resident sees their own bills and nobody else's (404, not 403),
a tenant only the bills addressed to them, a family member only once the payer shares;
the home page shows what is owed; a bill explains its lines and says how to pay; receipts
print; hostile ids are "not found", never an error.

Bills are made here with unusual periods (2019-…), so the demo's own bills, whatever they
are, never get in the way: the checks compare before and after, or look for these."""

import itertools
import re
from datetime import date, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select, update

from models import (
    BillStatus,
    Occupancy,
    Payment,
    PaymentMethod,
    PaymentStatus,
    Relation,
    Resident,
    User,
)

from .factories import FACTORY_PASSWORD
from .helpers import csrf_from, login

MONTHS = itertools.count(1)
YESTERDAY = date.today() - timedelta(days=1)
NEXT_MONTH = date.today() + timedelta(days=30)
OWED = re.compile(r'class="owed-total[^"]*">([^<]+)<')


def period() -> str:
    """A period no other bill of the run uses (2019-01, 2019-02, ... then 2018-...)."""
    n = next(MONTHS)
    return f"{2019 - (n - 1) // 12}-{(n - 1) % 12 + 1:02d}"


def resident(db_session, username: str) -> Resident:
    return db_session.scalar(select(Resident).join(User).where(User.username == username))


def home(db_session, username: str, relation: Relation | None = None) -> Occupancy:
    """The user's current occupancy (of that relation)."""
    person = resident(db_session, username)
    return next(
        o
        for o in person.occupancies
        if o.is_current and (relation is None or o.relation == relation)
    )


def owner_bill(make, db_session, username="owner", **kwargs):
    occupancy = home(db_session, username, Relation.owner)
    kwargs.setdefault("payer", occupancy.resident)
    kwargs.setdefault("due_date", YESTERDAY)
    return make.bill(occupancy.unit, period=period(), **kwargs)


def pay(db_session, bill, amount: str, *, receipt_no: int, status=PaymentStatus.valid):
    payment = Payment(
        estate_id=bill.estate_id,
        unit_id=bill.unit_id,
        bill=bill,
        payer_id=bill.payer_id,
        amount=Decimal(amount),
        method=PaymentMethod.wechat,
        reference="WX-4200001",
        receipt_no=receipt_no,
        status=status,
        void_reason="重复收款" if status is PaymentStatus.voided else "",
    )
    if status is PaymentStatus.valid:
        bill.paid += Decimal(amount)
        bill.status = BillStatus.paid if bill.owed == 0 else BillStatus.partial
    db_session.add(payment)
    db_session.commit()
    return payment


def owed_on(page: str) -> Decimal:
    return Decimal(OWED.search(page).group(1).replace("¥", "").replace(",", ""))


def family_account(make, db_session, unit) -> tuple[Resident, str]:
    """An account for a family member of ``unit`` (one is made when there is none)."""
    family = next(
        (o.resident for o in unit.occupancies if o.relation == Relation.family and o.is_current),
        None,
    )
    if family is None:
        family = make.resident(unit=unit, relation=Relation.family, name="家属")
        db_session.execute(
            Occupancy.__table__.update()
            .where(Occupancy.resident_id == family.id)
            .values(is_payer=False)
        )
    user = make.user(roles=["owner"], estates=[unit.building.estate])
    family.user = user
    db_session.commit()
    return family, user.username


def signed_in(app, username, password=FACTORY_PASSWORD):
    client = app.test_client()
    assert login(client, username, password).status_code == 302
    return client


# -- who sees which bill -----------------------------------------------------------------
def test_home_shows_the_amount_owed_and_the_open_bills(login_as, make, db_session):
    owner = login_as("owner")
    before = owed_on(owner.get("/portal/").text)
    unpaid = owner_bill(make, db_session, amounts=("100.00", "23.45"))
    partial = owner_bill(make, db_session, amounts=("200.00",), due_date=NEXT_MONTH)
    pay(db_session, partial, "50.00", receipt_no=900001)
    paid = owner_bill(make, db_session, amounts=("80.00",))
    pay(db_session, paid, "80.00", receipt_no=900002)

    page = owner.get("/portal/").text
    assert owed_on(page) == before + Decimal("273.45")
    assert f'href="/portal/bills/{unpaid.id}"' in page  # one tap from home to the bill
    assert "逾期" in page and "缴费" in page
    listing = owner.get("/portal/bills").text
    assert owed_on(listing) == owed_on(page)
    owed_part, history = listing.split('id="history"')
    assert f"/portal/bills/{unpaid.id}" in owed_part and f"/portal/bills/{partial.id}" in owed_part
    assert f"/portal/bills/{paid.id}" in history and "¥80.00" in history


def test_another_owner_cannot_open_or_list_the_bill(login_as, make, db_session):
    bill = owner_bill(make, db_session, amounts=("321.09",))
    payment = pay(db_session, bill, "21.09", receipt_no=900011)
    owner2 = login_as("owner2")
    before = owed_on(owner2.get("/portal/").text)
    assert owner2.get(f"/portal/bills/{bill.id}").status_code == 404
    assert owner2.get(f"/portal/bills/{bill.id}/receipts/{payment.id}").status_code == 404
    assert f"/portal/bills/{bill.id}" not in owner2.get("/portal/bills").text
    assert f"/portal/bills/{bill.id}" not in owner2.get("/portal/").text
    assert owed_on(owner2.get("/portal/").text) == before
    owner = login_as("owner")
    assert owner.get(f"/portal/bills/{bill.id}").status_code == 200
    assert owner.get(f"/portal/bills/{bill.id}/receipts/{payment.id}").status_code == 200


def test_a_tenant_sees_only_the_bills_addressed_to_them(login_as, make, db_session):
    lease = home(db_session, "tenant", Relation.tenant)
    landlord = next(o.resident for o in lease.unit.occupancies if o.relation == Relation.owner)
    theirs = make.bill(lease.unit, period=period(), payer=lease.resident, due_date=YESTERDAY)
    older = make.bill(lease.unit, period=period(), payer=landlord, due_date=YESTERDAY)
    tenant = login_as("tenant")
    listing = tenant.get("/portal/bills").text
    assert f"/portal/bills/{theirs.id}" in listing
    assert f"/portal/bills/{older.id}" not in listing
    assert tenant.get(f"/portal/bills/{older.id}").status_code == 404
    assert tenant.get(f"/portal/bills/{theirs.id}").status_code == 200


def test_a_family_member_sees_the_bills_once_the_payer_shares(app, login_as, make, db_session):
    occupancy = home(db_session, "owner", Relation.owner)
    bill = owner_bill(make, db_session, amounts=("66.00",))
    _family, username = family_account(make, db_session, occupancy.unit)
    family = signed_in(app, username)
    assert family.get(f"/portal/bills/{bill.id}").status_code == 404
    assert f"/portal/bills/{bill.id}" not in family.get("/portal/").text

    owner = login_as("owner")
    profile = owner.get("/portal/profile").text
    assert "让家庭成员查看账单" in profile
    token = csrf_from(profile)
    answer = owner.post(
        "/portal/bills/sharing",
        data={"occupancy": occupancy.id, "share": "1", "csrf_token": token},
    )
    assert answer.status_code == 302
    assert "家庭成员现在可以查看" in owner.get(answer.location).text
    assert family.get(f"/portal/bills/{bill.id}").status_code == 200
    assert f"/portal/bills/{bill.id}" in family.get("/portal/bills").text

    owner.post(
        "/portal/bills/sharing",
        data={"occupancy": occupancy.id, "share": "0", "csrf_token": token},
    )
    assert family.get(f"/portal/bills/{bill.id}").status_code == 404


def test_only_the_payer_can_switch_sharing(app, login_as, make, db_session):
    occupancy = home(db_session, "owner", Relation.owner)
    family, username = family_account(make, db_session, occupancy.unit)
    client = signed_in(app, username)
    token = csrf_from(client.get("/portal/profile").text)
    assert "让家庭成员查看账单" not in client.get("/portal/profile").text
    own = next(o for o in family.occupancies if o.unit_id == occupancy.unit_id)
    for target in (own.id, occupancy.id):
        answer = client.post(
            "/portal/bills/sharing", data={"occupancy": target, "share": "1", "csrf_token": token}
        )
        assert answer.status_code == 404
    db_session.expire_all()
    assert db_session.get(Occupancy, occupancy.id).shares_bills is False


def test_a_voided_bill_disappears_from_the_portal(login_as, make, db_session):
    bill = owner_bill(make, db_session, amounts=("44.00",))
    owner = login_as("owner")
    before = owed_on(owner.get("/portal/").text)
    bill.status, bill.void_reason = BillStatus.void, "重复开单"
    db_session.commit()
    assert owner.get(f"/portal/bills/{bill.id}").status_code == 404
    assert f"/portal/bills/{bill.id}" not in owner.get("/portal/bills").text
    assert owed_on(owner.get("/portal/").text) == before - Decimal("44.00")


# -- a bill, its receipts ----------------------------------------------------------------
def test_a_bill_explains_its_lines_and_how_to_pay(login_as, make, db_session):
    bill = owner_bill(make, db_session, amounts=("120.50", "30.00"))
    payment = pay(db_session, bill, "50.50", receipt_no=900021)
    page = login_as("owner").get(f"/portal/bills/{bill.id}").text
    for line in bill.lines:
        assert line.fee_item.name in page
    assert "每户 ¥120.50" in page and "单价自 2020-01-01 起执行" in page
    assert "¥150.50" in page and "¥100.00" in page  # amount, still owed
    assert f"/portal/bills/{bill.id}/receipts/{payment.id}" in page and "00900021" in page
    estate = bill.estate
    assert estate.name in page and estate.address in page
    for method in ("现金", "微信支付", "支付宝", "银行转账"):
        assert method in page


def test_a_receipt_prints_and_a_voided_one_says_so(login_as, make, db_session):
    bill = owner_bill(make, db_session, amounts=("90.00",))
    valid = pay(db_session, bill, "40.00", receipt_no=900031)
    voided = pay(db_session, bill, "40.00", receipt_no=900032, status=PaymentStatus.voided)
    other = owner_bill(make, db_session, amounts=("10.00",))
    elsewhere = pay(db_session, other, "10.00", receipt_no=900033)
    owner = login_as("owner")
    page = owner.get(f"/portal/bills/{bill.id}/receipts/{valid.id}").text
    assert "00900031" in page and "¥40.00" in page and "已作废" not in page
    assert "微信支付" in page and "WX-4200001" in page
    page = owner.get(f"/portal/bills/{bill.id}/receipts/{voided.id}").text
    assert "已作废" in page and "重复收款" in page
    # A payment of another bill, even one's own, is not this bill's receipt.
    assert owner.get(f"/portal/bills/{bill.id}/receipts/{elsewhere.id}").status_code == 404


@pytest.mark.parametrize(
    "url",
    [
        "/portal/bills/abc",
        "/portal/bills/-1",
        "/portal/bills/0",
        "/portal/bills/99999999999999999999999",
        "/portal/bills/2147483648",
        "/portal/bills/1/receipts/abc",
        "/portal/bills/1/receipts/99999999999999999999999",
        "/portal/bills?page=99999999999999999999",
        "/portal/bills?page=-3",
        "/portal/bills?page=abc",
    ],
)
def test_hostile_addresses_are_not_found_never_an_error(login_as, url):
    status = login_as("owner").get(url).status_code
    assert status == (200 if "?page=" in url else 404)


@pytest.mark.parametrize(
    "occupancy",
    ["", "abc", "-1", "1.5", "9" * 40, "<script>", "1' OR '1'='1"],
)
def test_hostile_sharing_posts_are_not_found(login_as, db_session, occupancy):
    owner = login_as("owner")
    token = csrf_from(owner.get("/portal/profile").text)
    answer = owner.post(
        "/portal/bills/sharing", data={"occupancy": occupancy, "share": "1", "csrf_token": token}
    )
    assert answer.status_code == 404


def test_sharing_another_payers_unit_is_not_found(login_as, db_session):
    theirs = home(db_session, "owner2", Relation.owner)
    owner = login_as("owner")
    token = csrf_from(owner.get("/portal/profile").text)
    answer = owner.post(
        "/portal/bills/sharing", data={"occupancy": theirs.id, "share": "1", "csrf_token": token}
    )
    assert answer.status_code == 404
    db_session.expire_all()
    assert db_session.get(Occupancy, theirs.id).shares_bills is False


# -- years of bills ------------------------------------------------------------------------
def test_history_comes_a_page_at_a_time_in_constant_queries(
    login_as, make, db_session, count_queries
):
    owner = login_as("owner")
    owner.get("/portal/bills")  # warm up (session, translations)

    def paid_bills(n):
        for _ in range(n):
            bill = owner_bill(make, db_session, amounts=("10.00",))
            bill.paid, bill.status = Decimal("10.00"), BillStatus.paid
        db_session.commit()

    paid_bills(3)
    with count_queries() as few:
        owner.get("/portal/bills")
    paid_bills(30)
    with count_queries() as many:
        first = owner.get("/portal/bills").text
    assert len(many) == len(few)
    history = first.split('id="history"')[1]
    assert history.count('class="bill-row"') == 24
    assert "较早" in history
    second = owner.get("/portal/bills?page=2").text.split('id="history"')[1]
    assert 'class="bill-row"' in second and "较新" in second


def test_the_bill_pages_are_all_chinese(login_as, make, db_session):
    from .test_no_english import english_words

    bill = owner_bill(make, db_session, amounts=("12.00",))
    payment = pay(db_session, bill, "5.00", receipt_no=900041)
    voided = pay(db_session, bill, "1.00", receipt_no=900042, status=PaymentStatus.voided)
    owner = login_as("owner")
    for url in (
        "/portal/",
        "/portal/bills",
        f"/portal/bills/{bill.id}",
        f"/portal/bills/{bill.id}/receipts/{payment.id}",
        f"/portal/bills/{bill.id}/receipts/{voided.id}",
        "/portal/profile",
    ):
        page = owner.get(url, headers={"Accept-Language": "zh-CN"}).text
        assert english_words(page) - {"owner", "WX"} == set(), url


def test_the_tab_bar_leads_to_the_bills_and_marks_them_open(login_as, make, db_session):
    """账单 is a tab of its own at the bottom of every portal page; it is the current tab
    on the list, on a bill and on its receipt."""
    bill = owner_bill(make, db_session, amounts=("60.00",))
    payment = pay(db_session, bill, "60.00", receipt_no=900031)
    owner = login_as("owner")
    tab = re.compile(r'<a href="/portal/bills"\s*aria-current="page" class="active">')
    assert 'href="/portal/bills"' in owner.get("/portal/").text
    assert not tab.search(owner.get("/portal/").text)
    for url in (
        "/portal/bills",
        f"/portal/bills/{bill.id}",
        f"/portal/bills/{bill.id}/receipts/{payment.id}",
    ):
        assert tab.search(owner.get(url).text), url


def test_a_new_owner_does_not_see_the_previous_owners_bills(app, make, db_session):
    """A unit sold in September: the new owner answers for the bills from their day on;
    the previous owner's bill (and arrears) stay with the previous owner."""
    estate = make.estate()
    unit = make.unit(make.building(estate))
    old = make.resident(unit=unit, name="旧业主")
    db_session.execute(
        update(Occupancy).where(Occupancy.resident_id == old.id).values(end_date=date(2026, 9, 30))
    )
    old_bill = make.bill(
        unit, period="2026-08", amounts=("100.00",), payer=old, due_date=date(2026, 9, 15)
    )
    new = make.resident(estate, name="新业主")
    db_session.add(
        Occupancy(
            unit=unit,
            resident=new,
            relation=Relation.owner,
            start_date=date(2026, 10, 1),
            is_payer=True,
        )
    )
    user = make.user(roles=["owner"], estates=[estate])
    new.user = user
    db_session.commit()
    new_bill = make.bill(
        unit, period="2026-10", amounts=("80.00",), payer=new, due_date=date(2026, 11, 15)
    )
    client = signed_in(app, user.username)
    assert client.get(f"/portal/bills/{old_bill.id}").status_code == 404
    assert client.get(f"/portal/bills/{new_bill.id}").status_code == 200
    home = client.get("/portal/").text
    assert "¥80.00" in home and "¥100.00" not in home and "2026-08" not in home
