"""Whom a notice reaches, asked the three ways the module asks it — the recipients (mail,
read figures), the portal's ``visible_to`` and the editor's count — for every reach and
audience, over a street of residents chosen for the edges: owners, tenants, family members,
someone with homes in two buildings, someone who moved out yesterday or moves in tomorrow,
someone of another estate, someone registered here who lives in another estate's unit.

The expected sets are written by hand from the rule in ``notice_targets``'s docstring: a
notice reaches whoever lives, today, in a unit of the notice's estate that it covers, in the
relation it asks for; family members are "everyone living there", neither owners nor
tenants. They are not computed by the code under test.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import pytest
from sqlalchemy import select

from models import (
    Building,
    Estate,
    Notice,
    NoticeAudience,
    NoticeReach,
    Occupancy,
    Relation,
    Resident,
    Unit,
    utcnow,
)
from propadmin.services import notice_targets as targets
from propadmin.services import notices
from propadmin.services.today import estate_today

ALL, OWN, RENT = NoticeAudience.everyone, NoticeAudience.owners, NoticeAudience.tenants
owner, tenant, family = Relation.owner, Relation.tenant, Relation.family

# Who lives where. Units: u11, u12, u13 in building b1, u21, u22 in b2 (estate "home"),
# ux in the other estate. Dates: None, or days from today.
STREET = {
    "o11": ("home", [("u11", owner, None, None)]),
    "f11": ("home", [("u11", family, None, None)]),
    "o12": ("home", [("u12", owner, None, None)]),  # lets u12 to t12
    "t12": ("home", [("u12", tenant, -200, 165)]),
    "tf12": ("home", [("u12", family, -200, None)]),  # the tenant's child
    "two": ("home", [("u13", tenant, None, None), ("u22", owner, None, None)]),
    "o21": ("home", [("u21", owner, None, None)]),
    "gone": ("home", [("u21", tenant, -400, -1)]),  # moved out yesterday
    "leaving": ("home", [("u21", family, None, 0)]),  # today is their last day
    "coming": ("home", [("u22", tenant, 1, None)]),  # moves in tomorrow
    "outsider": ("other", [("ux", owner, None, None)]),
    "stray": ("home", [("ux", tenant, None, None)]),  # on our register, lives elsewhere
    "nobody": ("home", []),  # on the register, no home
}
ADDRESS = {  # the address a mail would go to (an account's, else the register's)
    "o11": "o11@example.com",
    "f11": "o11@example.com",  # shares the household's mailbox
    "t12": "t12@example.com",
    "two": "two@example.com",  # their account's
    "gone": "gone@example.com",
    "outsider": "outsider@example.com",
}
ACCOUNTS = {"o11", "two"}

CASES = {
    "estate-everyone": ("home", NoticeReach.estate, [], ALL,
                        {"o11", "f11", "o12", "t12", "tf12", "two", "o21", "leaving"}),
    "estate-owners": ("home", NoticeReach.estate, [], OWN, {"o11", "o12", "two", "o21"}),
    "estate-tenants": ("home", NoticeReach.estate, [], RENT, {"t12", "two"}),
    "b1-everyone": ("home", NoticeReach.buildings, ["b1"], ALL,
                    {"o11", "f11", "o12", "t12", "tf12", "two"}),
    # two owns in b2 and rents in b1: an owner of b2, a tenant of b1, not an owner of b1.
    "b1-owners": ("home", NoticeReach.buildings, ["b1"], OWN, {"o11", "o12"}),
    "b1-tenants": ("home", NoticeReach.buildings, ["b1"], RENT, {"t12", "two"}),
    "b2-everyone": ("home", NoticeReach.buildings, ["b2"], ALL, {"two", "o21", "leaving"}),
    "b2-owners": ("home", NoticeReach.buildings, ["b2"], OWN, {"two", "o21"}),
    "b2-tenants": ("home", NoticeReach.buildings, ["b2"], RENT, set()),
    "b1b2-owners": ("home", NoticeReach.buildings, ["b1", "b2"], OWN, {"o11", "o12", "two", "o21"}),
    "u12u22-everyone": ("home", NoticeReach.units, ["u12", "u22"], ALL,
                        {"o12", "t12", "tf12", "two"}),
    "u12u22-owners": ("home", NoticeReach.units, ["u12", "u22"], OWN, {"o12", "two"}),
    "u12u22-tenants": ("home", NoticeReach.units, ["u12", "u22"], RENT, {"t12"}),
    "u21-everyone": ("home", NoticeReach.units, ["u21"], ALL, {"o21", "leaving"}),
    "other-everyone": ("other", NoticeReach.estate, [], ALL, {"outsider", "stray"}),
    "other-tenants": ("other", NoticeReach.estate, [], RENT, {"stray"}),
}  # fmt: skip


@dataclass
class Street:
    estates: dict[str, Estate]
    places: dict[str, Building | Unit]
    people: dict[str, Resident]
    today: date


@pytest.fixture
def street(make, db_session) -> Street:
    estates = {"home": make.estate(), "other": make.estate()}
    b1, b2 = make.building(estates["home"]), make.building(estates["home"])
    places: dict = {"b1": b1, "b2": b2}
    places.update({name: make.unit(b1) for name in ("u11", "u12", "u13")})
    places.update({name: make.unit(b2) for name in ("u21", "u22")})
    places["ux"] = make.unit(make.building(estates["other"]))
    today = estate_today(estates["home"])
    assert today == estate_today(estates["other"])
    people = {}
    for name, (estate, stays) in STREET.items():
        email = ADDRESS.get(name, "") if name not in ACCOUNTS else ""
        resident = make.resident(estates[estate], name=f"住户{name}", email=email)
        for unit, relation, start, end in stays:
            db_session.add(
                Occupancy(
                    unit=places[unit],
                    resident=resident,
                    relation=relation,
                    start_date=None if start is None else today + timedelta(days=start),
                    end_date=None if end is None else today + timedelta(days=end),
                )
            )
        if name in ACCOUNTS:
            resident.user = make.user(roles=["owner"], username=f"acct_{name}", email=ADDRESS[name])
        people[name] = resident
    db_session.commit()
    return Street(estates, places, people, today)


def _notice(make, street: Street, case: str, **fields) -> Notice:
    estate, reach, chosen, audience, _expected = CASES[case]
    ids = [street.places[name].id for name in chosen]
    kind = "building_ids" if reach is NoticeReach.buildings else "unit_ids"
    return make.notice(
        street.estates[estate], reach=reach, audience=audience, **{kind: ids}, **fields
    )


def _reached(db_session, notice, today) -> set[int]:
    return set(db_session.scalars(targets.recipients(notice.id, today)))


def _sees(db_session, resident, notice, today) -> bool:
    clause = targets.visible_to(resident.id, today, utcnow())
    return db_session.scalar(select(Notice.id).where(Notice.id == notice.id, clause)) is not None


def test_recipients_portal_and_count_agree_for_every_reach_and_audience(make, db_session, street):
    """All the notices are out at once, as on a real board: one notice's chosen buildings
    or units must not leak into another's reach."""
    today = street.today
    board = {case: _notice(make, street, case, publish=True) for case in CASES}
    wrong = {}
    for case, notice in board.items():
        expected = CASES[case][-1]
        reached = _reached(db_session, notice, today)
        seeing = {n for n, r in street.people.items() if _sees(db_session, r, notice, today)}
        reach = targets.count(db_session, notice, today)
        found = (
            {n for n, r in street.people.items() if r.id in reached},
            seeing,
            (reach.residents, reach.accounts, reach.addresses),
        )
        want = (
            expected,
            expected,
            (
                len(expected),
                len(expected & ACCOUNTS),
                len({ADDRESS[n] for n in expected if n in ADDRESS}),
            ),
        )
        if found != want:
            wrong[case] = {"recipients, portal, count": found, "expected": want}
    assert wrong == {}


@pytest.mark.parametrize("case", ["estate-everyone", "b1-tenants"])
def test_an_unpublished_notice_reaches_people_but_nobody_sees_it(case, make, db_session, street):
    notice = _notice(make, street, case)  # a draft
    assert len(_reached(db_session, notice, street.today)) == len(CASES[case][-1]) > 0
    assert not any(_sees(db_session, r, notice, street.today) for r in street.people.values())


def test_tomorrow_the_leaver_is_gone_and_the_newcomer_is_in(make, db_session, street):
    notice = _notice(make, street, "u21-everyone", publish=True)
    tomorrow = street.today + timedelta(days=1)
    people = street.people
    assert _reached(db_session, notice, tomorrow) == {people["o21"].id}
    tenants = _notice(make, street, "u12u22-tenants", publish=True)
    assert _reached(db_session, tenants, tomorrow) == {people["t12"].id, people["coming"].id}
    assert _sees(db_session, people["coming"], tenants, tomorrow)
    assert not _sees(db_session, people["coming"], tenants, street.today)


def test_read_figures_count_only_the_residents_reached(make, db_session, street):
    people = street.people
    notice = _notice(make, street, "estate-everyone", publish=True)
    for name in ("o11", "f11", "gone", "outsider"):  # gone moved out; outsider not ours
        assert notices.mark_read(db_session, notice, people[name]) is True
    assert notices.mark_read(db_session, notice, people["o11"]) is False  # once
    db_session.commit()
    figures = targets.read_figures(db_session, notice, street.today)
    assert (figures.recipients, figures.read, figures.unread) == (8, 2, 6)
    assert figures.recipients == targets.count(db_session, notice, street.today).residents
    unread = set(db_session.scalars(targets.unread_recipients(notice.id, street.today)))
    assert unread == {people[n].id for n in ("o12", "t12", "tf12", "two", "o21", "leaving")}

    owners = _notice(make, street, "u12u22-owners", publish=True)
    for name in ("o12", "t12", "coming"):  # a tenant, and one not moved in yet
        notices.mark_read(db_session, owners, people[name])
    db_session.commit()
    figures = targets.read_figures(db_session, owners, street.today)
    assert (figures.recipients, figures.read, figures.unread) == (2, 1, 1)
    unread = set(db_session.scalars(targets.unread_recipients(owners.id, street.today)))
    assert unread == {people["two"].id}
