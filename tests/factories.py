"""Factories for test data: ``make.unit()`` is a unit in a building in an estate, each
with unique names and numbers; pass what the test is about, leave the rest.

Tests get them as the ``make`` fixture. Everything goes through the test's
``db_session`` and the same services the app uses, and is committed, so requests (and,
in ``@pytest.mark.committed`` tests, other connections) see it at once.
"""

from __future__ import annotations

import itertools
from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import select

from models import (
    Bill,
    BillingMethod,
    BillLine,
    Building,
    Cycle,
    Estate,
    Facility,
    FacilityCategory,
    FeeItem,
    FeeKind,
    FeeRate,
    MailStatus,
    Meter,
    Notice,
    Occupancy,
    OutboxMessage,
    RateTier,
    Relation,
    RepairRequest,
    Resident,
    Role,
    Unit,
    User,
)

from .helpers import id_number

FACTORY_PASSWORD = "Factory-pass-4729"


class Sequence:
    """``Sequence("测试小区{}")()`` → 测试小区1, 测试小区2, ... (unique for the run)."""

    def __init__(self, template: str) -> None:
        self.template = template
        self.counter = itertools.count(1)

    def __call__(self) -> str:
        return self.template.format(next(self.counter))


ESTATE_NAME = Sequence("测试小区{}")
BUILDING_NAME = Sequence("{}栋")
UNIT_NUMBER = Sequence("{}01")
RESIDENT_SERIAL = itertools.count(1)
MOBILE_SERIAL = itertools.count(10_001)  # above the numbers tests spell out (177000099xx)
USERNAME = Sequence("staff{}")
ROLE_NAME = Sequence("custom{}")
FEE_NAME = Sequence("测试费{}")
METER_CODE = Sequence("M{:05d}")
FACILITY_CODE = Sequence("F{:05d}")


def resident_id_number() -> str:
    """A valid, unique fake ID-card number (Shenzhen Futian, born 1985-01-01: a region
    the demo's people never come from)."""
    n = next(RESIDENT_SERIAL)  # a thousand people per birthday, then the next day
    born = date(1985, 1, 1) + timedelta(days=n // 1000)
    return id_number(f"440304{born:%Y%m%d}{n % 1000:03d}")


def resident_mobile() -> str:
    """A valid, unique fake mobile number (the demo never uses the 177 prefix)."""
    return f"177{next(MOBILE_SERIAL):08d}"


class Factories:
    def __init__(self, app, session) -> None:
        self.app = app
        self.session = session

    def _save(self, *rows):
        self.session.add_all(rows)
        self.session.commit()
        return rows[0]

    def estate(self, **fields) -> Estate:
        fields.setdefault("name", ESTATE_NAME())
        fields.setdefault("address", "杭州市西湖区测试路 1 号")
        return self._save(Estate(**fields))

    def building(self, estate: Estate | None = None, **fields) -> Building:
        fields.setdefault("name", BUILDING_NAME())
        fields.setdefault("floors", 20)
        return self._save(Building(estate=estate or self.estate(), **fields))

    def unit(self, building: Building | None = None, **fields) -> Unit:
        fields.setdefault("number", UNIT_NUMBER())
        fields.setdefault("floor", 1)
        fields.setdefault("area", Decimal("89.50"))
        fields.setdefault("layout", "2室1厅")
        return self._save(Unit(building=building or self.building(), **fields))

    def resident(
        self,
        estate: Estate | None = None,
        *,
        unit: Unit | None = None,
        relation: Relation = Relation.owner,
        name: str = "测试住户",
        **details,
    ) -> Resident:
        """A resident with valid ID-card and mobile numbers, saved by the register's
        service (so encrypted and indexed); living in ``unit`` when given."""
        from propadmin.services.residents import ResidentDetails, save_resident

        if estate is None:
            estate = unit.building.estate if unit is not None else self.estate()
        details.setdefault("id_number", resident_id_number())
        details.setdefault("mobile", resident_mobile())
        with self.app.app_context():
            resident = save_resident(
                self.session, Resident(estate=estate), ResidentDetails(name=name, **details)
            )
        if unit is not None:
            self.session.add(
                Occupancy(unit=unit, resident=resident, relation=relation, is_payer=True)
            )
        self.session.commit()
        return resident

    def user(
        self,
        *,
        roles: tuple[str, ...] | list[str] = (),
        estates: tuple[Estate | str, ...] | list[Estate | str] = (),
        password: str = FACTORY_PASSWORD,
        **fields,
    ) -> User:
        """An account made by the accounts service, with roles and estates by name
        (or Estate); signs in with ``password``."""
        from propadmin.services.accounts import create_user

        username = fields.pop("username", None) or USERNAME()
        fields.setdefault("email", f"{username}@example.com")
        with self.app.app_context():
            user = create_user(
                self.session,
                username=username,
                password=password,
                roles=list(roles),
                estates=[e if isinstance(e, str) else e.name for e in estates],
                **fields,
            )
        self.session.commit()
        return user

    def role(self, permissions=("dashboard.view",), **fields) -> Role:
        fields.setdefault("name", ROLE_NAME())
        fields.setdefault("label", fields["name"])
        return self._save(Role(permissions=set(permissions), **fields))

    def outbox_message(self, recipient: str = "owner@example.com", **fields) -> OutboxMessage:
        fields.setdefault("subject", "您的物业管理系统密码已修改")
        fields.setdefault("body_text", "您的密码已修改。")
        fields.setdefault("body_html", "<p>您的密码已修改。</p>")
        fields.setdefault("kind", "password_changed")
        fields.setdefault("status", MailStatus.pending)
        # Like queue_mail: the recipient's account decides whose staff see the message.
        fields.setdefault(
            "user", self.session.scalar(select(User).where(User.email == recipient))
        )
        return self._save(OutboxMessage(recipient=recipient, **fields))

    # -- money ----------------------------------------------------------------------------
    def fee_item(
        self,
        estate: Estate | None = None,
        *,
        method: BillingMethod = BillingMethod.per_area,
        price: str | Decimal | None = "2.50",
        effective_from: date = date(2020, 1, 1),
        tiers: list[tuple[str | None, str]] | None = None,
        **fields,
    ) -> FeeItem:
        """A fee item with one rate (``price`` from ``effective_from``; none if None).
        ``tiers`` = [(up_to, price), ..., (None, price)] for a tiered item."""
        fields.setdefault("name", FEE_NAME())
        fields.setdefault("kind", FeeKind.property)
        fields.setdefault("cycle", Cycle.monthly)
        item = self._save(FeeItem(estate=estate or self.estate(), method=method, **fields))
        if price is not None:
            self.rate(item, price, effective_from=effective_from, tiers=tiers)
        return item

    def rate(
        self,
        item: FeeItem,
        price: str | Decimal,
        *,
        effective_from: date = date(2020, 1, 1),
        tiers: list[tuple[str | None, str]] | None = None,
    ) -> FeeRate:
        rate = FeeRate(fee_item=item, effective_from=effective_from, unit_price=Decimal(price))
        for position, (up_to, tier_price) in enumerate(tiers or ()):
            rate.tiers.append(
                RateTier(
                    position=position,
                    up_to=None if up_to is None else Decimal(up_to),
                    unit_price=Decimal(tier_price),
                )
            )
        return self._save(rate)

    def meter(self, item: FeeItem, unit: Unit | None = None, **fields) -> Meter:
        fields.setdefault("code", METER_CODE())
        return self._save(Meter(estate_id=item.estate_id, fee_item=item, unit=unit, **fields))

    def bill(
        self,
        unit: Unit,
        *,
        period: str = "2025-01",
        amounts: tuple[str | Decimal, ...] = ("100.00",),
        due_date: date = date(2026, 11, 15),
        payer: Resident | None = None,
        **fields,
    ) -> Bill:
        """A bill made directly (not by generation): one fixed-price line per amount."""
        estate_id = unit.building.estate_id
        bill = Bill(
            estate_id=estate_id,
            building_id=unit.building_id,
            unit=unit,
            period=period,
            due_date=due_date,
            payer=payer,
            payer_name=payer.name if payer is not None else "",
            **fields,
        )
        total = Decimal("0.00")
        for amount in amounts:
            item = self.fee_item(unit.building.estate, method=BillingMethod.fixed, price=amount)
            bill.lines.append(
                BillLine(
                    fee_item=item,
                    rate=item.rates[0],
                    method=BillingMethod.fixed,
                    quantity=Decimal(1),
                    unit_price=Decimal(amount),
                    amount=Decimal(amount),
                )
            )
            total += Decimal(amount)
        bill.amount = total
        return self._save(bill)

    # -- facilities and repairs -----------------------------------------------------------
    def facility(self, estate: Estate | None = None, **fields) -> Facility:
        fields.setdefault("code", FACILITY_CODE())
        fields.setdefault("name", "1号客梯")
        fields.setdefault("category", FacilityCategory.elevator)
        return self._save(Facility(estate=estate or self.estate(), **fields))

    def repair(
        self,
        unit: Unit | None = None,
        *,
        reporter: Resident | None = None,
        by: User | None = None,
        estate: Estate | None = None,
        **fields,
    ) -> RepairRequest:
        """A request made by the repair service (so with its targets and first event):
        for ``unit`` (a new one if neither unit nor estate is given), reported by
        ``reporter``'s account when they have one, else by ``by``."""
        from propadmin.services.repairs import NewRepair, submit

        if unit is None and estate is None:
            unit = self.unit()
        estate_id = estate.id if estate is not None else unit.building.estate_id
        fields.setdefault("location", "厨房水槽下方")
        fields.setdefault("description", "水管接头漏水，地面有积水。")
        if by is None:
            by = reporter.user if reporter is not None and reporter.user else self.user(
                roles=["admin"], estates=[self.session.get(Estate, estate_id)]
            )
        with self.app.test_request_context():
            repair = submit(
                self.session,
                NewRepair(estate_id=estate_id, unit=unit, reporter=reporter, **fields),
                by=by,
            )
        self.session.commit()
        return repair

    def notice(
        self,
        estate: Estate | None = None,
        *,
        by: User | None = None,
        publish: bool = False,
        **fields,
    ) -> Notice:
        """A notice saved by the notices service (so cleaned and checked), a draft unless
        ``publish``; ``fields`` are NoticeDraft's (buildings/units as ``building_ids`` /
        ``unit_ids``)."""
        from propadmin.services.notices import NoticeDraft, save
        from propadmin.services.notices import publish as publish_now

        estate = estate or self.estate()
        fields.setdefault("title", "明日停水通知")
        fields.setdefault("body", "<p>因管道检修，明日 9:00–17:00 停水。</p>")
        by = by or self.user(roles=["admin"], estates=[estate])
        with self.app.test_request_context():
            notice = save(self.session, NoticeDraft(**fields), by=by, estate=estate)
            if publish:
                publish_now(self.session, notice, by=by)
        self.session.commit()
        return notice
